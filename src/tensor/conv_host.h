// Stride-1 convolutions on a CPU device as host tasks (conv_host.c): a direct
// AVX2 kernel over padded images, no im2col matrix and no GEMM call.
#ifndef LATENTCL_CONV_HOST_H
#define LATENTCL_CONV_HOST_H

#include "tensor/tensor_internal.h"

// x (N, C, H, W), w (O, C, KH, KW), stride 1, padding p on every side.
typedef struct {
    int N, C, H, W, O, KH, KW, p, OH, OW;
} lc_conv_host_shape;

// Whether the host path takes this conv: a CPU device running host tasks with
// the host GEMM backend (lc_host_tasks_ok), a CPU with AVX2 and FMA, stride 1,
// p <= min(KH, KW) - 1 (so the input gradient is a conv too), and
// LATENTCL_HOST_CONV not set to 0.
int lc_conv_host_usable(lc_ctx *c, int stride, int KH, int KW, int p);

// y (N, O, OH, OW) at yo = act(conv(x, w) + b); b may be NULL.
lc_status lc_conv_host_forward(lc_ctx *c, const lc_conv_host_shape *s, cl_mem y, size_t yo,
                               cl_mem x, size_t xo, cl_mem w, size_t wo, cl_mem b, size_t bo,
                               int act, float alpha);

// Gradients of y = act(conv(x, w) + b) from dy (upstream, (N, O, OH, OW)) and
// y itself (for act'): each target (buffer, offset, acc: add to it or
// overwrite) is skipped when its buffer is NULL.
typedef struct {
    cl_mem dy, y, x, w;
    size_t dyo, yo, xo, wo;
    cl_mem gx, gw, gb;
    size_t gxo, gwo, gbo;
    int accx, accw, accb;
    int act;
    float alpha;
} lc_conv_host_grads;
lc_status lc_conv_host_backward(lc_ctx *c, const lc_conv_host_shape *s,
                                const lc_conv_host_grads *g);

#endif
