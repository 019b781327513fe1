// Internals of the device floor shared by src/device/*.c.
#ifndef LATENTCL_DEVICE_INTERNAL_H
#define LATENTCL_DEVICE_INTERNAL_H

#include "latentcl/device.h"

typedef struct {
    char name[64];
    cl_kernel kernel;
} lc_kernel_entry;

typedef struct {
    char *name;   // program name (file name without .cl)
    char *source; // owned copy
    size_t length;
    cl_program program; // NULL until built
    lc_kernel_entry *kernels;
    int n_kernels, cap_kernels;
} lc_program_entry;

typedef struct {
    char name[64];
    cl_event event;
} lc_pending_event;

typedef struct {
    cl_mem mem;
    size_t bytes;
} lc_arena_block;

struct lc_device {
    lc_device_info info;
    cl_platform_id platform;
    cl_device_id device;
    cl_context context;
    cl_command_queue queue;
    int profiling;
    int host_buffers; // buffers wrap host memory we allocate (CPU device with native kernels)
    int threads;      // host GEMM / host conv threads, resolved when the device opens (never 0)
    lc_gemm_backend gemm;

    lc_program_entry *programs;
    int n_programs, cap_programs;
    lc_program_entry *libs; // NAME.clh: shared code that programs #include (never built alone)
    int n_libs, cap_libs;
    char build_options[256];

    char cache_dir[1024]; // "" when the cache is off
    char warning[1200];
    lc_device_counters counters;

    lc_pending_event *pending;
    int n_pending, cap_pending;
    lc_profile_row *rows;
    int n_rows, cap_rows;

    lc_arena_block *arena;
    int n_arena, cap_arena, arena_cursor;
};

// program.c
lc_status lc_programs_load(lc_device *dev); // embedded or $LATENTCL_KERNELS sources
void lc_programs_release(lc_device *dev);
void lc_cache_init(lc_device *dev); // choose and check the cache directory
// profile.c
lc_status lc_profile_flush(lc_device *dev);
void lc_profile_release(lc_device *dev);

// Grows *ptr (elements of size elem) to hold at least need; 0 on success.
int lc_grow(void **ptr, int *cap, int need, size_t elem);
#endif
