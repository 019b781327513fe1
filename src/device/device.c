// Opening a device: context, in-order queue, programs, cache; buffers,
// kernel launches and the per-step arena.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "device/device_internal.h"
#include "device/gemm_internal.h"

lc_status lc_device_handles(cl_platform_id *p, cl_device_id *d, int index);

int lc_grow(void **ptr, int *cap, int need, size_t elem) {
    if (need <= *cap) return 0;
    int ncap = *cap ? *cap : 8;
    while (ncap < need)
        ncap *= 2;
    void *n = realloc(*ptr, (size_t)ncap * elem);
    if (!n) return 1;
    memset((char *)n + (size_t)*cap * elem, 0, (size_t)(ncap - *cap) * elem);
    *ptr = n;
    *cap = ncap;
    return 0;
}

lc_status lc_cl_fail(int err, const char *call, const char *context) {
    // "clFoo(a, b)" -> "clFoo": the function name is what a reader needs.
    size_t n = strcspn(call, "(");
    if (context && *context)
        return lc_fail(LC_ERR_OPENCL, "%.*s failed: %s (%s)", (int)n, call, lc_cl_error_name(err),
                       context);
    return lc_fail(LC_ERR_OPENCL, "%.*s failed: %s", (int)n, call, lc_cl_error_name(err));
}

lc_status lc_set_arg(cl_kernel k, cl_uint i, size_t size, const void *value, const char *what) {
    cl_int err = clSetKernelArg(k, i, size, value);
    if (err != CL_SUCCESS) {
        char ctx[128];
        snprintf(ctx, sizeof ctx, "argument %u '%s'", i, what);
        return lc_cl_fail(err, "clSetKernelArg", ctx);
    }
    return LC_OK;
}

static lc_status gemm_from_env(lc_gemm_backend *out) {
    const char *g = getenv("LATENTCL_GEMM");
    *out = LC_GEMM_AUTO;
    if (!g || !*g || !strcmp(g, "auto")) return LC_OK;
    if (!strcmp(g, "clblast"))
        *out = LC_GEMM_CLBLAST;
    else if (!strcmp(g, "host"))
        *out = LC_GEMM_HOST;
    else
        return lc_fail(LC_ERR_INVALID_ARG, "LATENTCL_GEMM=%s: expected auto, clblast or host", g);
    return LC_OK;
}

lc_status lc_device_open(lc_device **out, const lc_device_options *opts) {
    *out = NULL;
    lc_device_options o = {0};
    o.profile = -1;
    if (opts) o = *opts;

    lc_gemm_backend gemm = o.gemm;
    if (gemm == LC_GEMM_AUTO) LC_TRY(gemm_from_env(&gemm));
    lc_device_info *list = NULL;
    int count = 0, index = -1;
    LC_TRY(lc_device_list(&list, &count));
    lc_status s = lc_device_resolve(&index, list, count, o.spec);
    if (s != LC_OK) {
        free(list);
        return s;
    }
    lc_device *dev = calloc(1, sizeof *dev);
    if (!dev) {
        free(list);
        return lc_fail(LC_ERR_NOMEM, "out of memory opening a device");
    }
    dev->info = list[index];
    free(list);

    if (o.profile < 0) {
        const char *p = getenv("LATENTCL_PROFILE");
        o.profile = p && *p && strcmp(p, "0") != 0;
    }
    dev->profiling = o.profile;
    // On a CPU device that runs native kernels (PoCL), every buffer wraps
    // host memory we allocated (CL_MEM_USE_HOST_PTR), so host code running
    // inside the queue (the host-BLAS GEMM) knows each buffer's address
    // without asking the runtime to translate handles (PoCL 3.1 fills a
    // native kernel's pointer slots in its own buffer order, not ours).
    dev->host_buffers = dev->info.is_cpu && dev->info.native_kernels;
    dev->threads = o.threads;
    // Resolved once (0: automatic reads the environment and the online cores), not on
    // every GEMM and conv task that asks.
    dev->threads = lc_gemm_host_threads_for(dev);
    dev->gemm = gemm;

    s = lc_device_handles(&dev->platform, &dev->device, index);
    if (s != LC_OK) goto fail;
    cl_int err;
    cl_context_properties props[] = {CL_CONTEXT_PLATFORM, (cl_context_properties)dev->platform, 0};
    dev->context = clCreateContext(props, 1, &dev->device, NULL, NULL, &err);
    if (err != CL_SUCCESS) {
        s = lc_cl_fail(err, "clCreateContext", dev->info.name);
        goto fail;
    }
    cl_command_queue_properties qp = dev->profiling ? CL_QUEUE_PROFILING_ENABLE : 0;
    // clCreateCommandQueue is deprecated in 2.0 but is the one call every 1.2+ driver has.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
    dev->queue = clCreateCommandQueue(dev->context, dev->device, qp, &err);
#pragma GCC diagnostic pop
    if (err != CL_SUCCESS) {
        s = lc_cl_fail(err, "clCreateCommandQueue", dev->info.name);
        goto fail;
    }
    snprintf(dev->build_options, sizeof dev->build_options, "-cl-std=CL1.2 -cl-mad-enable");
    lc_cache_init(dev);
    s = lc_programs_load(dev);
    if (s != LC_OK) goto fail;
    *out = dev;
    return LC_OK;
fail:
    lc_device_close(dev);
    return s;
}

void lc_device_close(lc_device *dev) {
    if (!dev) return;
    if (dev->queue) clFinish(dev->queue);
    lc_profile_release(dev);
    for (int i = 0; i < dev->n_arena; i++)
        lc_buffer_free(dev->arena[i].mem);
    free(dev->arena);
    lc_programs_release(dev);
    if (dev->queue) clReleaseCommandQueue(dev->queue);
    if (dev->context) clReleaseContext(dev->context);
    free(dev);
}

const lc_device_info *lc_device_get_info(const lc_device *dev) { return &dev->info; }
cl_context lc_device_context(const lc_device *dev) { return dev->context; }
cl_command_queue lc_device_queue(const lc_device *dev) { return dev->queue; }
cl_device_id lc_device_id(const lc_device *dev) { return dev->device; }
lc_device_counters lc_device_get_counters(const lc_device *dev) { return dev->counters; }
const char *lc_device_cache_dir(const lc_device *dev) { return dev->cache_dir; }
const char *lc_device_warning(const lc_device *dev) { return dev->warning; }
int lc_device_profiling(const lc_device *dev) { return dev->profiling; }

lc_status lc_launch(lc_device *dev, cl_kernel k, const char *name, cl_uint dims,
                    const size_t *global, const size_t *local) {
    size_t g[3];
    for (cl_uint i = 0; i < dims; i++) {
        g[i] = global[i];
        if (local && local[i]) g[i] = (g[i] + local[i] - 1) / local[i] * local[i];
        if (g[i] == 0) return LC_OK; // nothing to do: an empty launch is an error in OpenCL
    }
    cl_event ev = NULL;
    cl_int err = clEnqueueNDRangeKernel(dev->queue, k, dims, NULL, g, local, 0, NULL,
                                        dev->profiling ? &ev : NULL);
    if (err != CL_SUCCESS) return lc_cl_fail(err, "clEnqueueNDRangeKernel", name);
    if (ev) lc_device_profile_event(dev, name, ev);
    return LC_OK;
}

static void CL_CALLBACK free_host_memory(cl_mem m, void *host) {
    (void)m;
    free(host);
}

lc_status lc_buffer_alloc(cl_mem *out, lc_device *dev, size_t bytes) {
    cl_int err;
    size_t size = bytes ? bytes : 4;
    void *host = NULL;
    cl_mem_flags flags = CL_MEM_READ_WRITE;
    if (dev->host_buffers) {
        size_t padded = (size + 127) / 128 * 128; // whole cache lines, room for float16 loads
        if (posix_memalign(&host, 128, padded) != 0)
            return lc_fail(LC_ERR_NOMEM, "out of host memory for a %zu-byte buffer", bytes);
        flags |= CL_MEM_USE_HOST_PTR;
    }
    *out = clCreateBuffer(dev->context, flags, size, host, &err);
    if (err == CL_SUCCESS && host) {
        err = clSetMemObjectDestructorCallback(*out, free_host_memory, host);
        if (err != CL_SUCCESS) {
            clReleaseMemObject(*out);
            free(host);
            *out = NULL;
            return lc_cl_fail(err, "clSetMemObjectDestructorCallback", "host-backed buffer");
        }
    } else if (err != CL_SUCCESS) {
        free(host);
        *out = NULL;
        char ctx[64];
        snprintf(ctx, sizeof ctx, "%zu bytes", bytes);
        return lc_cl_fail(err, "clCreateBuffer", ctx);
    }
    return LC_OK;
}

void lc_buffer_free(cl_mem m) {
    if (m) clReleaseMemObject(m);
}

lc_status lc_write(lc_device *dev, cl_mem dst, size_t offset, const void *src, size_t bytes) {
    if (!bytes) return LC_OK;
    // Blocking: the caller's host memory may be reused as soon as we return.
    LC_CL(clEnqueueWriteBuffer(dev->queue, dst, CL_TRUE, offset, bytes, src, 0, NULL, NULL),
          "writing to a device buffer");
    return LC_OK;
}

lc_status lc_read(lc_device *dev, void *dst, cl_mem src, size_t offset, size_t bytes) {
    if (!bytes) return LC_OK;
    LC_CL(clEnqueueReadBuffer(dev->queue, src, CL_TRUE, offset, bytes, dst, 0, NULL, NULL),
          "reading a device buffer");
    return LC_OK;
}

lc_status lc_fill_zero(lc_device *dev, cl_mem dst, size_t offset, size_t bytes) {
    if (!bytes) return LC_OK;
    float zero = 0.0f;
    if (offset % 4 == 0 && bytes % 4 == 0) {
        LC_CL(
            clEnqueueFillBuffer(dev->queue, dst, &zero, sizeof zero, offset, bytes, 0, NULL, NULL),
            "zeroing a buffer");
    } else {
        unsigned char z = 0;
        LC_CL(clEnqueueFillBuffer(dev->queue, dst, &z, 1, offset, bytes, 0, NULL, NULL),
              "zeroing a buffer");
    }
    return LC_OK;
}

lc_status lc_finish(lc_device *dev) {
    LC_CL(clFinish(dev->queue), "waiting for the queue");
    return LC_OK;
}

lc_status lc_arena_alloc(cl_mem *out, lc_device *dev, size_t bytes) {
    int i = dev->arena_cursor;
    if (i < dev->n_arena && dev->arena[i].bytes >= bytes) {
        *out = dev->arena[i].mem;
        dev->arena_cursor++;
        return LC_OK;
    }
    if (i >= dev->n_arena) {
        if (lc_grow((void **)&dev->arena, &dev->cap_arena, i + 1, sizeof *dev->arena))
            return lc_fail(LC_ERR_NOMEM, "out of memory growing the arena");
        dev->n_arena = i + 1;
    }
    // The step's shape changed here (or this is the first step): replace the block.
    lc_buffer_free(dev->arena[i].mem);
    dev->arena[i].mem = NULL;
    dev->arena[i].bytes = 0;
    LC_TRY(lc_buffer_alloc(&dev->arena[i].mem, dev, bytes));
    dev->arena[i].bytes = bytes;
    *out = dev->arena[i].mem;
    dev->arena_cursor++;
    return LC_OK;
}

void lc_arena_reset(lc_device *dev) { dev->arena_cursor = 0; }

size_t lc_arena_bytes(const lc_device *dev) {
    size_t total = 0;
    for (int i = 0; i < dev->n_arena; i++)
        total += dev->arena[i].bytes;
    return total;
}
