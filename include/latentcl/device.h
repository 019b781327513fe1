// latentcl — the OpenCL device floor: device choice, programs and their
// on-disk binary cache, the in-order queue, kernel launches, a per-step
// buffer arena and optional per-kernel profiling.
#ifndef LATENTCL_DEVICE_H
#define LATENTCL_DEVICE_H

#include <stddef.h>
#include <stdint.h>

#ifndef CL_TARGET_OPENCL_VERSION
#define CL_TARGET_OPENCL_VERSION 120
#endif
#include <CL/cl.h>

#include "latentcl/status.h"

#ifdef __cplusplus
extern "C" {
#endif

// What a device is and can do (filled by lc_device_list / lc_device_info).
typedef struct {
    int index;          // position in the flat list over all platforms
    char platform[128]; // platform name
    char platform_version[128];
    char name[128];    // device name
    char driver[64];   // driver version
    char version[128]; // device OpenCL version
    int is_gpu, is_cpu;
    unsigned compute_units;
    uint64_t global_mem; // bytes
    uint64_t local_mem;  // bytes
    uint64_t max_alloc;  // bytes, largest single buffer
    size_t max_work_group;
    int fp64, fp16;
    int native_kernels; // can run clEnqueueNativeKernel (PoCL can)
    int is_default;     // the device an empty spec picks
} lc_device_info;

// Every device of every platform. *out is malloc'ed (free()). LC_ERR_NO_PLATFORM
// if there is no OpenCL platform at all (the message suggests pocl-opencl-icd).
lc_status lc_device_list(lc_device_info **out, int *count);

// Which device a spec picks: NULL/"" = $LATENTCL_DEVICE, else the first GPU,
// else the first CPU; "gpu", "cpu", an index, or a case-insensitive substring
// of the device name. LC_ERR_NO_DEVICE with "no device 99 (see `latentcl devices`)".
lc_status lc_device_resolve(int *index, const lc_device_info *list, int count, const char *spec);

typedef enum { LC_GEMM_AUTO = 0, LC_GEMM_CLBLAST, LC_GEMM_HOST } lc_gemm_backend;

typedef struct {
    const char *spec;     // as lc_device_resolve
    int threads;          // host BLAS threads for CPU devices; 0 = automatic
    int profile;          // -1: from $LATENTCL_PROFILE, 0 off, 1 on
    lc_gemm_backend gemm; // LC_GEMM_AUTO: from $LATENTCL_GEMM, else the fixed rule
} lc_device_options;

typedef struct lc_device lc_device;

// Opens the chosen device: context, in-order queue, program cache. opts may be NULL.
lc_status lc_device_open(lc_device **out, const lc_device_options *opts);
void lc_device_close(lc_device *dev);

const lc_device_info *lc_device_get_info(const lc_device *dev);
cl_context lc_device_context(const lc_device *dev);
cl_command_queue lc_device_queue(const lc_device *dev);
cl_device_id lc_device_id(const lc_device *dev);

// The kernel `kernel` of program `program` (the file cl/<program>.cl). The
// program is compiled on first use (or loaded from the binary cache); kernel
// objects are created once and owned by the device. A build failure returns
// LC_ERR_BUILD with the program name and the build log in the message.
lc_status lc_device_kernel(cl_kernel *out, lc_device *dev, const char *program, const char *kernel);

// Builds every embedded (or $LATENTCL_KERNELS) program now.
lc_status lc_device_build_all(lc_device *dev);

// Builds a program from source text under a given name (tests; user kernels).
lc_status lc_device_build_source(lc_device *dev, const char *program, const char *source);

// Names of the programs available (embedded or from $LATENTCL_KERNELS).
int lc_device_program_count(const lc_device *dev);
const char *lc_device_program_name(const lc_device *dev, int i);

// What the program cache did since the device was opened.
typedef struct {
    uint64_t programs_built; // compiled from source (clBuildProgram on source)
    uint64_t cache_hits;     // loaded from a valid cached binary
    uint64_t cache_misses;   // no cache entry
    uint64_t cache_rejected; // an entry existed but was corrupt, truncated or stale
    uint64_t cache_writes;   // entries written
    int cache_enabled;       // 0 when LATENTCL_CACHE=off or the directory is unwritable
} lc_device_counters;
lc_device_counters lc_device_get_counters(const lc_device *dev);
const char *lc_device_cache_dir(const lc_device *dev); // "" when disabled
// A warning the caller should show once (e.g. unwritable cache directory); "" if none.
const char *lc_device_warning(const lc_device *dev);

// Enqueue a kernel (no wait). global is rounded up to a multiple of local when
// local != NULL. With profiling on, its time is added to the kernel's row.
lc_status lc_launch(lc_device *dev, cl_kernel k, const char *name, cl_uint dims,
                    const size_t *global, const size_t *local);

// Record an event for the profile under `name` (takes ownership of ev), or
// release it when profiling is off. For enqueues that are not lc_launch (GEMM).
void lc_device_profile_event(lc_device *dev, const char *name, cl_event ev);
int lc_device_profiling(const lc_device *dev);
// Per-kernel totals collected so far (waits for outstanding events).
typedef struct {
    char name[64];
    uint64_t calls;
    double total_ms;
} lc_profile_row;
lc_status lc_device_profile(lc_device *dev, lc_profile_row **rows, int *count); // free(*rows)

// Sets kernel argument i from a variable (checked): LC_ARG(k, 0, buf);
lc_status lc_set_arg(cl_kernel k, cl_uint i, size_t size, const void *value, const char *what);
#define LC_ARG(k, i, v) lc_set_arg((k), (i), sizeof(v), &(v), #v)

// Buffers. lc_buffer_alloc creates a device buffer (checked); lc_buffer_free is NULL-safe.
lc_status lc_buffer_alloc(cl_mem *out, lc_device *dev, size_t bytes);
void lc_buffer_free(cl_mem m);
lc_status lc_write(lc_device *dev, cl_mem dst, size_t offset, const void *src, size_t bytes);
lc_status lc_read(lc_device *dev, void *dst, cl_mem src, size_t offset, size_t bytes); // blocking
lc_status lc_fill_zero(lc_device *dev, cl_mem dst, size_t offset, size_t bytes);
lc_status lc_finish(lc_device *dev);

// The per-step arena: buffers handed out in the same order each step are the
// same buffers, so a training step allocates nothing after its first run.
// lc_arena_reset starts a new step; the buffers stay valid until the next reset.
lc_status lc_arena_alloc(cl_mem *out, lc_device *dev, size_t bytes);
void lc_arena_reset(lc_device *dev);
size_t lc_arena_bytes(const lc_device *dev); // total held

// Checked-call helper for library code: on failure records
// "<call>: <CL_ERROR_NAME> (<context>)" and returns LC_ERR_OPENCL.
lc_status lc_cl_fail(int err, const char *call, const char *context);
#define LC_CL(call, ctx)                                                                           \
    do {                                                                                           \
        cl_int e__ = (call);                                                                       \
        if (e__ != CL_SUCCESS) return lc_cl_fail(e__, #call, (ctx));                               \
    } while (0)
#define LC_TRY(expr)                                                                               \
    do {                                                                                           \
        lc_status s__ = (expr);                                                                    \
        if (s__ != LC_OK) return s__;                                                              \
    } while (0)

#ifdef __cplusplus
}
#endif
#endif
