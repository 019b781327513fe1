// Internal: PNG writing without the temp-file + fsync dance, for files written inside a
// temporary folder that is itself renamed into place (thousands of fsyncs would dominate).
#ifndef LATENTCL_IO_PNG_DIRECT_H
#define LATENTCL_IO_PNG_DIRECT_H

#include "latentcl/image.h"

// Writes path directly; on failure removes the partial file.
lc_status lc_png_write_direct(const char *path, const lc_image *img);

#endif
