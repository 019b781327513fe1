// latentcl — one entry point for matrix products on the device.
//
// Row-major: C = alpha * op(A) * op(B) + beta * C with op(A) (m, k), op(B) (k, n),
// C (m, n). Offsets and leading dimensions are in elements. Backends: CLBlast
// (GPUs) and host BLAS run as a native kernel inside the same in-order queue
// (CPU devices that run native kernels, e.g. PoCL). LC_GEMM_AUTO is a fixed
// rule, never a timing: host BLAS on a CPU device with native kernels, else
// CLBlast; $LATENTCL_GEMM=clblast|host|auto overrides it.
#ifndef LATENTCL_GEMM_H
#define LATENTCL_GEMM_H

#include <stddef.h>

#include "latentcl/device.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct {
    cl_mem buf;
    size_t offset; // elements
    size_t ld;     // leading dimension (elements between rows as stored)
} lc_matrix;

lc_status lc_gemm(lc_device *dev, int trans_a, int trans_b, size_t m, size_t n, size_t k,
                  float alpha, lc_matrix a, lc_matrix b, float beta, lc_matrix c);

// `batch` products; matrix i starts at offset + i * stride (elements).
lc_status lc_gemm_strided_batched(lc_device *dev, int trans_a, int trans_b, size_t m, size_t n,
                                  size_t k, float alpha, lc_matrix a, size_t stride_a, lc_matrix b,
                                  size_t stride_b, float beta, lc_matrix c, size_t stride_c,
                                  size_t batch);

// The backend that lc_gemm uses on this device (never LC_GEMM_AUTO).
lc_gemm_backend lc_gemm_active_backend(const lc_device *dev);
const char *lc_gemm_backend_name(lc_gemm_backend b); // "clblast", "host", "auto"

// Forces a backend on an open device (tests, bench). LC_ERR_UNSUPPORTED if the
// device cannot run it (host BLAS needs native kernels).
lc_status lc_gemm_set_backend(lc_device *dev, lc_gemm_backend b);

// OpenBLAS threads the host backend uses on this device: lc_device_options.threads
// (--threads) when > 0, else $OPENBLAS_NUM_THREADS when set, else the CPU
// device's compute units (PoCL: one per core), at most the online cores. Set
// process-wide (openblas_set_num_threads) before the device's first host GEMM.
int lc_gemm_threads(const lc_device *dev);

#ifdef __cplusplus
}
#endif
#endif
