// Host-BLAS GEMM backend for CPU devices: a host task (host_task.h) in the
// device's in-order queue, so it runs after the kernels before it and before
// those after it, with no clFinish, and calls OpenBLAS. On such devices every
// buffer wraps host memory (lc_buffer_alloc, CL_MEM_USE_HOST_PTR), so the
// arguments carry the matrices' addresses themselves: no cl_mem goes through
// the native kernel's mem list, whose pointer slots PoCL 3.1 fills in its own
// buffer order rather than the caller's (that swapped A and B).
//
// Threads: OpenBLAS runs single-threaded and a large product is split into
// bands of C over our own fork/join threads (lc_host_parallel). OpenBLAS's own
// workers spin for a while after each call (its THREAD_TIMEOUT, ~0.1 s by
// default, settable only by an environment variable read when the library
// loads); on a CPU device those spinning workers took the cores from the
// OpenCL kernels that follow every GEMM: measured on 2 cores, elementwise,
// norm and attention kernels of a CLIP step ran 1.5-1.7x slower beside them.
// Our threads end with their band.
#include <limits.h>
#include <stdlib.h>
#include <unistd.h>

#include <cblas.h>

#include "device/gemm_internal.h"
#include "device/host_task.h"

// Declared by OpenBLAS's cblas.h; repeated so that the intent is visible here.
void openblas_set_num_threads(int num_threads);

// Below this many flops a product runs on one thread: starting a thread costs
// ~20-50 us, the time of ~2 MFLOP here.
#define GEMM_SPLIT_FLOPS (4.0 * 1024 * 1024)

// The arguments block copied by clEnqueueNativeKernel.
typedef struct {
    const float *a, *b;
    float *c;
    int trans_a, trans_b;
    int m, n, k, lda, ldb, ldc;
    size_t off_a, off_b, off_c;
    size_t stride_a, stride_b, stride_c, batch;
    float alpha, beta;
    int threads;
} host_gemm_args;

// Product i restricted to rows [m0, m1) and columns [n0, n1) of C.
static void gemm_block(const host_gemm_args *g, size_t i, int m0, int m1, int n0, int n1) {
    if (m1 <= m0 || n1 <= n0) return;
    const float *a = g->a + g->off_a + i * g->stride_a;
    const float *b = g->b + g->off_b + i * g->stride_b;
    float *c = g->c + g->off_c + i * g->stride_c + (size_t)m0 * g->ldc + n0;
    a += g->trans_a ? (size_t)m0 : (size_t)m0 * g->lda; // row m0 of op(A)
    b += g->trans_b ? (size_t)n0 * g->ldb : (size_t)n0; // column n0 of op(B)
    cblas_sgemm(CblasRowMajor, g->trans_a ? CblasTrans : CblasNoTrans,
                g->trans_b ? CblasTrans : CblasNoTrans, m1 - m0, n1 - n0, g->k, g->alpha, a, g->lda,
                b, g->ldb, g->beta, c, g->ldc);
}

// Bounds of part t of n over [0, len), cut at multiples of `align`.
static int cut(int len, int t, int n, int align) {
    long units = (len + align - 1) / align, at = units * t / n * align;
    return at > len ? len : (int)at;
}

// Thread t's share: whole products when there are enough of them, else a band
// of every product's rows (or columns, for a short wide C). Each element of C
// is computed by one thread, and the bands follow from the shape and the thread
// count alone, so a run repeats bit for bit.
static void gemm_part(void *p, int t) {
    const host_gemm_args *g = p;
    int n = g->threads;
    if (g->batch >= (size_t)n) {
        for (size_t i = g->batch * t / n; i < g->batch * (t + 1) / n; i++)
            gemm_block(g, i, 0, g->m, 0, g->n);
        return;
    }
    for (size_t i = 0; i < g->batch; i++) {
        if (g->m >= g->n)
            gemm_block(g, i, cut(g->m, t, n, 8), cut(g->m, t + 1, n, 8), 0, g->n);
        else
            gemm_block(g, i, 0, g->m, cut(g->n, t, n, 16), cut(g->n, t + 1, n, 16));
    }
}

static void CL_CALLBACK host_gemm_run(void *p) {
    host_gemm_args *g = p;
    // OpenBLAS on this thread alone, whatever else in the process set (its thread count is
    // process-wide; setting it is a store).
    openblas_set_num_threads(1);
    double flops = 2.0 * g->m * g->n * g->k * (double)g->batch;
    if (g->threads > 1 && flops >= GEMM_SPLIT_FLOPS)
        lc_host_parallel(g->threads, gemm_part, g);
    else
        for (size_t i = 0; i < g->batch; i++)
            gemm_block(g, i, 0, g->m, 0, g->n);
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

static int fits_int(size_t v) { return v <= (size_t)INT_MAX; }

lc_status lc_gemm_run_host(lc_device *dev, const lc_gemm_call *g) {
    if (!fits_int(g->m) || !fits_int(g->n) || !fits_int(g->k) || !fits_int(g->a.ld) ||
        !fits_int(g->b.ld) || !fits_int(g->c.ld))
        return lc_fail(LC_ERR_UNSUPPORTED,
                       "host BLAS takes sizes and leading dimensions below 2^31");
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
        .threads = lc_gemm_host_threads_for(dev),
    };
    // The host memory behind each buffer (set by lc_buffer_alloc on this device).
    float *host[3];
    cl_mem bufs[3] = {g->a.buf, g->b.buf, g->c.buf};
    for (int i = 0; i < 3; i++)
        LC_TRY(lc_host_ptr(&host[i], bufs[i]));
    args.a = host[0], args.b = host[1], args.c = host[2];
    return lc_host_task(dev, "gemm (host)", host_gemm_run, &args, sizeof args, bufs, 3);
}
