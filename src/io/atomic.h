// Whole-file atomic writes on top of io/atomic_file.h (temp file in the same
// folder, fflush + fsync, rename): every writer of latentcl goes through these,
// so a crash never leaves a half-written file under the real name.
#ifndef LATENTCL_IO_ATOMIC_H
#define LATENTCL_IO_ATOMIC_H

#include <stddef.h>

#include "io/atomic_file.h"
#include "latentcl/status.h"

// Writes n bytes to path atomically. On failure the old file (if any) stays and no temp is left.
lc_status lc_write_file_atomic(const char *path, const void *bytes, size_t n);

// Appends n bytes to an open atomic file; an error names the real path.
lc_status lc_atomic_write(lc_atomic_file *af, const void *bytes, size_t n);

#endif
