// Internals of GEMM dispatch shared by src/device/gemm*.c.
#ifndef LATENTCL_GEMM_INTERNAL_H
#define LATENTCL_GEMM_INTERNAL_H

#include "device/device_internal.h"
#include "latentcl/gemm.h"

// One validated call: `batch` products C_i = alpha * op(A_i) * op(B_i) + beta * C_i,
// matrix i at offset + i * stride. m, n, k, batch are all > 0 here.
typedef struct {
    int trans_a, trans_b;
    size_t m, n, k;
    float alpha, beta;
    lc_matrix a, b, c;
    size_t stride_a, stride_b, stride_c;
    size_t batch;
} lc_gemm_call;

// gemm_clblast.c
lc_status lc_gemm_run_clblast(lc_device *dev, const lc_gemm_call *g);
// "CLBlastInsufficientMemoryA", "CL_OUT_OF_RESOURCES", ...; "CLBlastUnknownStatus(-N)" otherwise.
const char *lc_clblast_status_name(int code);

// gemm_host.c
lc_status lc_gemm_run_host(lc_device *dev, const lc_gemm_call *g);
// The host GEMM's thread count for a device (dev->threads, else the automatic choice).
int lc_gemm_host_threads_for(const lc_device *dev);

#endif
