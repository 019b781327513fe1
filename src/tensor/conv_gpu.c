// The GPU path of the conv layout kernels (cl/conv_gpu.cl): which path runs, the chunk
// size, and the launches. Arguments follow the CPU kernels of cl/conv.cl one for one.
#include <stdlib.h>
#include <string.h>

#include "latentcl/gemm.h"
#include "tensor/conv_gpu.h"

// One im2col chunk at most this many floats (256 MB): a U-Net conv on a batch of 128
// 28x28 images fits whole, so each conv is one GEMM. $LATENTCL_CONV_GPU_CHUNK (floats)
// overrides it (tests: several chunks on small shapes).
#ifndef LC_CONV_GPU_CHUNK_FLOATS
#define LC_CONV_GPU_CHUNK_FLOATS ((size_t)64 << 20)
#endif

int lc_conv_gpu(lc_ctx *c) {
    const char *e = getenv("LATENTCL_CONV");
    if (e && !strcmp(e, "gpu")) return 1;
    if (e && !strcmp(e, "cpu")) return 0;
    return !lc_device_get_info(lc_ctx_dev(c))->is_cpu;
}

int lc_conv_gpu_chunk(lc_ctx *c, size_t rows, int Q, int N) {
    size_t budget = LC_CONV_GPU_CHUNK_FLOATS;
    const char *e = getenv("LATENTCL_CONV_GPU_CHUNK");
    if (e && atol(e) > 0) budget = (size_t)atol(e);
    size_t most = lc_device_get_info(lc_ctx_dev(c))->max_alloc / sizeof(float) / 2;
    if (most && budget > most) budget = most;
    size_t per_image = rows * (size_t)Q, nb = per_image ? budget / per_image : (size_t)N;
    return nb < 1 ? 1 : nb > (size_t)N ? N : (int)nb;
}

// One work item per element of a 3-D range (fastest dimension first, in groups of
// LC_LOCAL_ITEMS along it): no index divisions in the kernels.
lc_status lc_conv_gpu_launch_qon(lc_ctx *c, cl_kernel k, const char *name, int Q, int O, int N) {
    const size_t global[3] = {(size_t)Q, (size_t)O, (size_t)N}, local[3] = {LC_LOCAL_ITEMS, 1, 1};
    return lc_launch(lc_ctx_dev(c), k, name, 3, global, local);
}

// Work-groups per channel for the first pass: enough groups over all channels to fill
// a GPU (about 2048), each still summing at least 8 elements per item.
static int channel_sum_split(int O, size_t per_channel) {
    size_t want = (2048 + (size_t)O - 1) / (size_t)O,
           most = (per_channel + 8 * LC_LOCAL - 1) / (8 * LC_LOCAL);
    size_t s = want < most ? want : most;
    return s < 1 ? 1 : (int)s;
}

lc_status lc_conv_gpu_channel_sum(lc_ctx *c, cl_mem db, size_t dbo, int acc, cl_mem dy, size_t dyo,
                                  int N, int O, int Q) {
    int S = channel_sum_split(O, (size_t)N * Q), dboi = lc_i(dbo), dyoi = lc_i(dyo);
    cl_mem part;
    LC_TRY(lc_scratch(c, &part, (size_t)O * S));
    cl_kernel k;
    LC_TRY(lc_kernel(c, &k, "conv_gpu", "channel_sum_part"));
    LC_SET(k, 0, part);
    LC_SET(k, 1, dy);
    LC_SET(k, 2, dyoi);
    LC_SET(k, 3, N);
    LC_SET(k, 4, O);
    LC_SET(k, 5, Q);
    LC_SET(k, 6, S);
    LC_TRY(lc_launch_groups(c, k, "channel_sum_gpu", (size_t)O * S));
    LC_TRY(lc_kernel(c, &k, "conv_gpu", "channel_sum_fin"));
    LC_SET(k, 0, db);
    LC_SET(k, 1, dboi);
    LC_SET(k, 2, part);
    LC_SET(k, 3, O);
    LC_SET(k, 4, S);
    LC_SET(k, 5, acc);
    return lc_launch1(c, k, "channel_sum_gpu", (size_t)O);
}

// Slices of k for a weight gradient: enough GEMM tiles (64 x 64 as a guess) for about
// 264 work-groups (two per SM of a large GPU), each slice at least `least` long
// ($LATENTCL_CONV_GPU_SPLITK_MIN, default 1024; tests shorten it), at most 64 slices.
static size_t split_k(size_t m, size_t n, size_t k) {
    size_t least = 1024;
    const char *e = getenv("LATENTCL_CONV_GPU_SPLITK_MIN");
    if (e && atol(e) > 0) least = (size_t)atol(e);
    size_t tiles = ((m + 63) / 64) * ((n + 63) / 64), s = (264 + tiles - 1) / tiles;
    if (s > k / least) s = k / least;
    if (s > 64) s = 64;
    return s < 1 ? 1 : s;
}

lc_status lc_conv_gpu_gemm_nt(lc_ctx *c, size_t m, size_t n, size_t k, cl_mem a, size_t ao,
                              size_t lda, cl_mem b, size_t bo, size_t ldb, float beta, cl_mem y,
                              size_t yo, size_t ldy) {
    lc_device *dev = lc_ctx_dev(c);
    size_t S = split_k(m, n, k), kc = k / S, rest = k - S * kc, mn = m * n;
    if (S == 1)
        return lc_gemm(dev, 0, 1, m, n, k, 1.0f, (lc_matrix){a, ao, lda}, (lc_matrix){b, bo, ldb},
                       beta, (lc_matrix){y, yo, ldy});
    cl_mem part;
    LC_TRY(lc_scratch(c, &part, S * mn));
    // part[s] (m, n) = A[:, s kc : (s + 1) kc] B[:, s kc : (s + 1) kc]^T
    LC_TRY(lc_gemm_strided_batched(dev, 0, 1, m, n, kc, 1.0f, (lc_matrix){a, ao, lda}, kc,
                                   (lc_matrix){b, bo, ldb}, kc, 0.0f, (lc_matrix){part, 0, n}, mn,
                                   S));
    if (rest) // the last k - S kc columns join slice 0
        LC_TRY(lc_gemm(dev, 0, 1, m, n, rest, 1.0f, (lc_matrix){a, ao + S * kc, lda},
                       (lc_matrix){b, bo + S * kc, ldb}, 1.0f, (lc_matrix){part, 0, n}));
    cl_kernel kern;
    LC_TRY(lc_kernel(c, &kern, "conv_gpu", "sum_slices"));
    int yoi = lc_i(yo), ldyi = lc_i(ldy), mi = (int)m, ni = (int)n, Si = (int)S;
    LC_SET(kern, 0, y);
    LC_SET(kern, 1, yoi);
    LC_SET(kern, 2, ldyi);
    LC_SET(kern, 3, part);
    LC_SET(kern, 4, mi);
    LC_SET(kern, 5, ni);
    LC_SET(kern, 6, Si);
    LC_SET(kern, 7, beta);
    size_t global[2] = {n, m}, local[2] = {LC_LOCAL_ITEMS, 1};
    return lc_launch(dev, kern, "sum_slices_gpu", 2, global, local);
}
