// Atomic file writing: write to a temporary file in the destination's folder,
// then flush, fsync and rename over the real name, so a crash or an error never
// leaves a half-written file under the real name.
#ifndef LATENTCL_IO_ATOMIC_FILE_H
#define LATENTCL_IO_ATOMIC_FILE_H

#include <stdio.h>

#include "latentcl/status.h"

typedef struct {
    FILE *file;      // write here
    char *path;      // the real name
    char *temp_path; // "<path>.tmp.XXXXXX" in the same folder
} lc_atomic_file;

// Creates the temporary file (mode 0644 subject to umask).
lc_status lc_atomic_open(lc_atomic_file *af, const char *path);
// Flushes, fsyncs, closes and renames to the real name; on failure removes the temp file.
lc_status lc_atomic_commit(lc_atomic_file *af);
// Closes and removes the temporary file (safe to call after a failed commit or twice).
void lc_atomic_abort(lc_atomic_file *af);

#endif
