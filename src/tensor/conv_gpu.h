// The GPU path of the conv layout kernels and of GroupNorm + activation (cl/conv_gpu.cl):
// one work item per element, coalesced, and the whole batch in one im2col + GEMM where
// memory allows. ops_conv.c and ops_gn_act.c ask lc_conv_gpu() and hand over here.
#ifndef LATENTCL_CONV_GPU_H
#define LATENTCL_CONV_GPU_H

#include "tensor/tensor_internal.h"

// Whether the GPU variants run: $LATENTCL_CONV = gpu (always, also on a CPU device: the
// tests), cpu (never), auto or unset (when the device is not a CPU).
int lc_conv_gpu(lc_ctx *c);

// Images per im2col chunk on the GPU path: the whole batch when `rows` x Q x N floats
// fit LC_CONV_GPU_CHUNK_FLOATS (and half the device's largest buffer), else as
// many as fit, at least one.
int lc_conv_gpu_chunk(lc_ctx *c, size_t rows, int Q, int N);

// Launches k with one work item per element of (Q, O, N), Q fastest: the GPU layout
// kernels im2col_g (q, c, n), col2im_g (hw, c, n), cols_to_nchw_g and nchw_to_cols_g
// (q, o, n), whose arguments ops_conv.c sets as for the CPU ones.
lc_status lc_conv_gpu_launch_qon(lc_ctx *c, cl_kernel k, const char *name, int Q, int O, int N);
// db at dbo (+)= the sums over n and q of dy (N, O, Q) at dyo.
lc_status lc_conv_gpu_channel_sum(lc_ctx *c, cl_mem db, size_t dbo, int acc, cl_mem dy, size_t dyo,
                                  int N, int O, int Q);

// y (m, n) at yo (ld ldy) = beta y + A (m, k) B^T, B stored (n, k): a weight gradient,
// whose inner dimension runs over the whole batch (k ~ 10^5) while m x n is small.
// Split into slices of k (one batched GEMM into a scratch, then a sum in fixed order) so
// that a GPU gets enough tiles; a plain GEMM when k is short.
lc_status lc_conv_gpu_gemm_nt(lc_ctx *c, size_t m, size_t n, size_t k, cl_mem a, size_t ao,
                              size_t lda, cl_mem b, size_t bo, size_t ldb, float beta, cl_mem y,
                              size_t yo, size_t ldy);

#endif
