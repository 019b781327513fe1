// Host-BLAS GEMM backend for CPU devices: a native kernel enqueued in the
// device's in-order queue, so it runs after the kernels before it and before
// those after it, with no clFinish, and calls OpenBLAS. On such devices every
// buffer wraps host memory (lc_buffer_alloc, CL_MEM_USE_HOST_PTR), so the
// arguments carry the matrices' addresses themselves: no cl_mem goes through
// the native kernel's mem list, whose pointer slots PoCL 3.1 fills in its own
// buffer order rather than the caller's (that swapped A and B).
#include <limits.h>
#include <stdlib.h>
#include <unistd.h>

#include <cblas.h>

#include "device/gemm_internal.h"

// Declared by OpenBLAS's cblas.h; repeated so that the intent is visible here.
void openblas_set_num_threads(int num_threads);

typedef struct {
    int threads_applied; // OpenBLAS's thread count was set for this device
} host_state;

// The arguments block copied by clEnqueueNativeKernel.
typedef struct {
    const float *a, *b;
    float *c;
    int trans_a, trans_b;
    int m, n, k, lda, ldb, ldc;
    size_t off_a, off_b, off_c;
    size_t stride_a, stride_b, stride_c, batch;
    float alpha, beta;
} host_gemm_args;

static void CL_CALLBACK host_gemm_run(void *p) {
    const host_gemm_args *g = p;
    const float *a = g->a + g->off_a;
    const float *b = g->b + g->off_b;
    float *c = g->c + g->off_c;
    enum CBLAS_TRANSPOSE ta = g->trans_a ? CblasTrans : CblasNoTrans;
    enum CBLAS_TRANSPOSE tb = g->trans_b ? CblasTrans : CblasNoTrans;
    for (size_t i = 0; i < g->batch; i++)
        cblas_sgemm(CblasRowMajor, ta, tb, g->m, g->n, g->k, g->alpha, a + i * g->stride_a, g->lda,
                    b + i * g->stride_b, g->ldb, g->beta, c + i * g->stride_c, g->ldc);
}

int lc_gemm_host_threads_for(const lc_device *dev) {
    if (dev->threads > 0) return dev->threads;
    // A user who set OpenBLAS's own variable keeps that choice.
    const char *env = getenv("OPENBLAS_NUM_THREADS");
    if (env && atoi(env) > 0) return atoi(env);
    // Automatic: as many OpenBLAS threads as the CPU device has compute units
    // (PoCL's worker threads: one per core unless POCL_MAX_PTHREAD_COUNT says
    // fewer), never more than the online cores. The native kernel runs on one
    // PoCL worker while the others sleep (the queue is in order), so OpenBLAS
    // has those cores to itself; measured on 2 cores, 2 threads run a
    // 1024^3 SGEMM ~1.7x faster than 1 thread.
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    long n =
        dev->info.is_cpu && dev->info.compute_units > 0 ? (long)dev->info.compute_units : cores;
    if (cores > 0 && n > cores) n = cores;
    return n > 0 ? (int)n : 1;
}

// OpenBLAS's thread count is process-wide: set it once per device, before the
// first host GEMM is enqueued (never while one may be running on a worker).
static lc_status apply_threads(lc_device *dev) {
    host_state *st = dev->gemm_state;
    if (!st) {
        st = calloc(1, sizeof *st);
        if (!st) return lc_fail(LC_ERR_NOMEM, "out of memory for the host GEMM state");
        dev->gemm_state = st;
    }
    if (!st->threads_applied) {
        openblas_set_num_threads(lc_gemm_host_threads_for(dev));
        st->threads_applied = 1;
    }
    return LC_OK;
}

void lc_gemm_host_release(lc_device *dev) {
    free(dev->gemm_state);
    dev->gemm_state = NULL;
}

// Drops the reference lc_gemm_run_host took on a buffer, once its GEMM has run.
static void CL_CALLBACK release_after_gemm(cl_event ev, cl_int status, void *buf) {
    (void)ev;
    (void)status;
    clReleaseMemObject((cl_mem)buf);
}

static int fits_int(size_t v) { return v <= (size_t)INT_MAX; }

lc_status lc_gemm_run_host(lc_device *dev, const lc_gemm_call *g) {
    if (!fits_int(g->m) || !fits_int(g->n) || !fits_int(g->k) || !fits_int(g->a.ld) ||
        !fits_int(g->b.ld) || !fits_int(g->c.ld))
        return lc_fail(LC_ERR_UNSUPPORTED,
                       "host BLAS takes sizes and leading dimensions below 2^31");
    LC_TRY(apply_threads(dev));
    host_gemm_args args = {
        .trans_a = g->trans_a,
        .trans_b = g->trans_b,
        .m = (int)g->m,
        .n = (int)g->n,
        .k = (int)g->k,
        .lda = (int)g->a.ld,
        .ldb = (int)g->b.ld,
        .ldc = (int)g->c.ld,
        .off_a = g->a.offset,
        .off_b = g->b.offset,
        .off_c = g->c.offset,
        .stride_a = g->stride_a,
        .stride_b = g->stride_b,
        .stride_c = g->stride_c,
        .batch = g->batch,
        .alpha = g->alpha,
        .beta = g->beta,
    };
    // The host memory behind each buffer (set by lc_buffer_alloc on this device).
    void **ptrs[3] = {(void **)&args.a, (void **)&args.b, (void **)&args.c};
    cl_mem bufs[3] = {g->a.buf, g->b.buf, g->c.buf};
    for (int i = 0; i < 3; i++) {
        void *host = NULL;
        LC_CL(clGetMemObjectInfo(bufs[i], CL_MEM_HOST_PTR, sizeof host, &host, NULL),
              "host GEMM: the buffer's host memory");
        if (!host)
            return lc_fail(LC_ERR_UNSUPPORTED, "host GEMM needs buffers made by lc_buffer_alloc "
                                               "(this one has no host memory)");
        *ptrs[i] = host;
    }
    // The queue holds no reference to buffers passed by address: hold one on each until the
    // GEMM has run, or a buffer released meanwhile (a step that fails, an arena block
    // replaced) frees the memory OpenBLAS is about to write.
    for (int i = 0; i < 3; i++)
        clRetainMemObject(bufs[i]);
    cl_event ev = NULL;
    cl_int err = clEnqueueNativeKernel(dev->queue, host_gemm_run, &args, sizeof args, 0, NULL, NULL,
                                       0, NULL, &ev);
    if (err != CL_SUCCESS) {
        for (int i = 0; i < 3; i++)
            clReleaseMemObject(bufs[i]);
        return lc_cl_fail(err, "clEnqueueNativeKernel", "host GEMM (OpenBLAS)");
    }
    for (int i = 0; i < 3; i++) {
        err = clSetEventCallback(ev, CL_COMPLETE, release_after_gemm, bufs[i]);
        if (err != CL_SUCCESS) { // no callback: wait here instead
            clWaitForEvents(1, &ev);
            for (int j = i; j < 3; j++)
                clReleaseMemObject(bufs[j]);
            break;
        }
    }
    lc_device_profile_event(dev, "gemm (host)", ev); // releases it when not profiling
    return LC_OK;
}
