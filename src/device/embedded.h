// The kernel sources of cl/, embedded at build time (tools/embed_kernels.cmake).
#ifndef LATENTCL_DEVICE_EMBEDDED_H
#define LATENTCL_DEVICE_EMBEDDED_H
#include <stddef.h>

typedef struct {
    const char *name;   // a program: file name without ".cl"; a library: "NAME.clh"
    const char *source; // NUL-terminated
    size_t length;
} lc_embedded_source;

extern const lc_embedded_source lc_embedded_sources[]; // ends with {NULL, NULL, 0}
extern const int lc_embedded_source_count;
#endif
