// Convolutions (im2col + GEMM; stride 1 on a CPU device: conv_host.c), transposed
// convolutions, pooling and nearest upsampling (cl/conv.cl), NCHW. Forward and
// backward side by side.
#include "latentcl/gemm.h"
#include "tensor/conv_gpu.h"
#include "tensor/conv_host.h"
#include "tensor/tensor_internal.h"

typedef struct {
    int N, C, H, W, KH, KW, s, p, OH, OW; // the "image" side (N, C, H, W) and the grid (OH, OW)
} geom;

static lc_status gemm(lc_ctx *c, int ta, int tb, size_t m, size_t n, size_t k, cl_mem a, size_t ao,
                      size_t lda, cl_mem b, size_t bo, size_t ldb, float beta, cl_mem y, size_t yo,
                      size_t ldy) {
    if (!ta && tb && lc_conv_gpu(c)) // a weight gradient: split its long inner dimension
        return lc_conv_gpu_gemm_nt(c, m, n, k, a, ao, lda, b, bo, ldb, beta, y, yo, ldy);
    lc_matrix A = {a, ao, lda}, B = {b, bo, ldb}, C = {y, yo, ldy};
    return lc_gemm(lc_ctx_dev(c), ta, tb, m, n, k, 1.0f, A, B, beta, C);
}

// im2col and col2im take the geometry as ten int arguments from index `first`.
static lc_status set_geom_args(cl_kernel k, cl_uint first, const geom *g) {
    const int v[10] = {g->N, g->C, g->H, g->W, g->KH, g->KW, g->s, g->p, g->OH, g->OW};
    for (cl_uint i = 0; i < 10; i++)
        LC_SET(k, first + i, v[i]);
    return LC_OK;
}

// cols (C*KH*KW, N*OH*OW) from x (N, C, H, W) at xoff, or from x in the cols layout
// (C, N*H*W) when x_is_cols. The CPU and GPU kernels take the same arguments.
static lc_status im2col_from(lc_ctx *c, cl_mem cols, cl_mem x, size_t xoff, const geom *g,
                             int x_is_cols) {
    int gpu = lc_conv_gpu(c);
    cl_kernel k;
    LC_TRY(lc_kernel(c, &k, gpu ? "conv_gpu" : "conv", gpu ? "im2col_g" : "im2col"));
    int xo = lc_i(xoff), plane = g->H * g->W;
    int sn = x_is_cols ? plane : g->C * plane, sc = x_is_cols ? g->N * plane : plane;
    LC_SET(k, 0, cols);
    LC_SET(k, 1, x);
    LC_SET(k, 2, xo);
    LC_TRY(set_geom_args(k, 3, g));
    LC_SET(k, 13, sn);
    LC_SET(k, 14, sc);
    // GPU: one work item per (column q of an image, channel, image), q fastest.
    if (gpu) return lc_conv_gpu_launch_qon(c, k, "im2col_gpu", g->OH * g->OW, g->C, g->N);
    // CPU: one work item per (row of cols, image): OH runs of OW outputs.
    return lc_launch1(c, k, "im2col", (size_t)g->C * g->KH * g->KW * g->N);
}

static lc_status im2col(lc_ctx *c, cl_mem cols, cl_mem x, size_t xoff, const geom *g) {
    return im2col_from(c, cols, x, xoff, g, 0);
}

// wf (C, O, KH, KW) = w (O, C, KH, KW) at woff, each kernel turned by 180 degrees.
static lc_status flip_weights(lc_ctx *c, cl_mem wf, cl_mem w, size_t woff, int O, int C, int KK) {
    cl_kernel k;
    LC_TRY(lc_kernel(c, &k, "conv", "conv_flip_weights"));
    int wo = lc_i(woff);
    LC_SET(k, 0, wf);
    LC_SET(k, 1, w);
    LC_SET(k, 2, wo);
    LC_SET(k, 3, O);
    LC_SET(k, 4, C);
    LC_SET(k, 5, KK);
    return lc_launch1(c, k, "conv_flip_weights", (size_t)O * C * KK);
}

// x (N, C, H, W) at xoff (+)= col2im(cols) (+ b, NULL for none); the same arguments on
// the CPU and the GPU.
static lc_status col2im(lc_ctx *c, cl_mem x, size_t xoff, cl_mem cols, const geom *g, int acc,
                        const lc_tensor *b) {
    int gpu = lc_conv_gpu(c);
    cl_kernel k;
    LC_TRY(lc_kernel(c, &k, gpu ? "conv_gpu" : "conv", gpu ? "col2im_g" : "col2im"));
    int xo = lc_i(xoff), has_b = b != NULL, bo = b ? lc_i(b->off) : 0;
    cl_mem bb = b ? b->buf : cols;
    LC_SET(k, 0, x);
    LC_SET(k, 1, xo);
    LC_SET(k, 2, cols);
    LC_TRY(set_geom_args(k, 3, g));
    LC_SET(k, 13, acc);
    LC_SET(k, 14, bb);
    LC_SET(k, 15, bo);
    LC_SET(k, 16, has_b);
    // GPU: one work item per element of x, (hw, c, n); CPU: one per x plane.
    if (gpu) return lc_conv_gpu_launch_qon(c, k, "col2im_gpu", g->H * g->W, g->C, g->N);
    return lc_launch1(c, k, "col2im", (size_t)g->N * g->C);
}

// y (N, O, Q) (+)= act(src (O, N*Q) + b). The CPU and GPU kernels take the same arguments;
// they differ in the work items: one per plane (CPU) or one per element (GPU).
static lc_status cols_to_nchw(lc_ctx *c, cl_mem y, size_t yoff, cl_mem src, size_t soff, int N,
                              int O, int Q, const lc_tensor *b, int acc, int act, float alpha) {
    int gpu = lc_conv_gpu(c);
    cl_kernel k;
    LC_TRY(lc_kernel(c, &k, gpu ? "conv_gpu" : "conv", gpu ? "cols_to_nchw_g" : "cols_to_nchw"));
    int yo = lc_i(yoff), so = lc_i(soff), has_b = b != NULL, bo = b ? lc_i(b->off) : 0;
    cl_mem bb = b ? b->buf : src;
    LC_SET(k, 0, y);
    LC_SET(k, 1, yo);
    LC_SET(k, 2, src);
    LC_SET(k, 3, so);
    LC_SET(k, 4, N);
    LC_SET(k, 5, O);
    LC_SET(k, 6, Q);
    LC_SET(k, 7, bb);
    LC_SET(k, 8, bo);
    LC_SET(k, 9, has_b);
    LC_SET(k, 10, acc);
    LC_SET(k, 11, act);
    LC_SET(k, 12, alpha);
    if (gpu) return lc_conv_gpu_launch_qon(c, k, "cols_to_nchw_gpu", Q, O, N);
    return lc_launch1(c, k, "cols_to_nchw", (size_t)N * O);
}

// dst (O, N*Q) = y (N, O, Q) * act'(out) (out: the activation's output; unused for NONE).
static lc_status nchw_to_cols(lc_ctx *c, cl_mem dst, cl_mem y, size_t yoff, int N, int O, int Q,
                              cl_mem out, size_t out_off, int act, float alpha) {
    int gpu = lc_conv_gpu(c);
    cl_kernel k;
    LC_TRY(lc_kernel(c, &k, gpu ? "conv_gpu" : "conv", gpu ? "nchw_to_cols_g" : "nchw_to_cols"));
    int yo = lc_i(yoff), oo = out ? lc_i(out_off) : 0;
    cl_mem ob = out ? out : y;
    LC_SET(k, 0, dst);
    LC_SET(k, 1, y);
    LC_SET(k, 2, yo);
    LC_SET(k, 3, N);
    LC_SET(k, 4, O);
    LC_SET(k, 5, Q);
    LC_SET(k, 6, ob);
    LC_SET(k, 7, oo);
    LC_SET(k, 8, act);
    LC_SET(k, 9, alpha);
    if (gpu) return lc_conv_gpu_launch_qon(c, k, "nchw_to_cols_gpu", Q, O, N);
    return lc_launch1(c, k, "nchw_to_cols", (size_t)N * O);
}

// db (+)= the sums over n and q of dy (N, O, Q): g, go, acc from lc_grad_target.
static lc_status channel_sum_to(lc_ctx *c, cl_mem g, size_t go, int acc, cl_mem dy, size_t dyoff,
                                int N, int O, int Q) {
    if (lc_conv_gpu(c)) return lc_conv_gpu_channel_sum(c, g, go, acc, dy, dyoff, N, O, Q);
    cl_kernel k;
    LC_TRY(lc_kernel(c, &k, "conv", "channel_sum"));
    int dbo = lc_i(go), dyo = lc_i(dyoff);
    LC_SET(k, 0, g);
    LC_SET(k, 1, dbo);
    LC_SET(k, 2, dy);
    LC_SET(k, 3, dyo);
    LC_SET(k, 4, N);
    LC_SET(k, 5, O);
    LC_SET(k, 6, Q);
    LC_SET(k, 7, acc);
    return lc_launch1(c, k, "channel_sum", (size_t)O);
}

static lc_status channel_sum(lc_ctx *c, lc_tensor *b, cl_mem dy, size_t dyoff, int N, int O,
                             int Q) {
    int wants, acc;
    cl_mem g;
    size_t go;
    LC_TRY(lc_grad_target(c, b, &wants, &g, &go, &acc));
    if (!wants) return LC_OK;
    return channel_sum_to(c, g, go, acc, dy, dyoff, N, O, Q);
}

// The batch is processed in chunks of images whose im2col matrix (and the
// GEMM output next to it) stays in cache: `rows` = the larger of the two
// matrices' rows, Q = columns per image. The chunk's im2col is written and read
// back while hot instead of streaming a (C*KH*KW, N*OH*OW) matrix through
// memory; a chunk keeps at least CHUNK_MIN_COLS columns, as smaller GEMMs
// lose more to their fixed costs than the cache saves.
#ifndef LC_CONV_CHUNK_FLOATS              // (benchmarks may override these)
#define LC_CONV_CHUNK_FLOATS (512 * 1024) // 2 MB
#endif
#ifndef LC_CONV_CHUNK_MIN_COLS
#define LC_CONV_CHUNK_MIN_COLS 2048
#endif
enum { CHUNK_FLOATS = LC_CONV_CHUNK_FLOATS, CHUNK_MIN_COLS = LC_CONV_CHUNK_MIN_COLS };
static int chunk_images(lc_ctx *c, size_t rows, int Q, int N) {
    if (lc_conv_gpu(c)) return lc_conv_gpu_chunk(c, rows, Q, N); // a GPU wants one big GEMM
    size_t per_image = rows * (size_t)Q, nb = per_image ? CHUNK_FLOATS / per_image : (size_t)N;
    size_t least = ((size_t)CHUNK_MIN_COLS + Q - 1) / Q;
    if (nb < least) nb = least;
    return nb < 1 ? 1 : nb > (size_t)N ? N : (int)nb;
}

static void node_geom(lc_node *nd, const geom *g) {
    const int *v = &g->N;
    for (int i = 0; i < 10; i++)
        nd->iv[i] = v[i];
}
static geom get_geom(const lc_node *nd) {
    geom g;
    int *v = &g.N;
    for (int i = 0; i < 10; i++)
        v[i] = (int)nd->iv[i];
    return g;
}

// --- space to depth: x (N, C, H, W) -> (N, C*s*s, U, V) ------------------------------
// y[n, (c*s + i)*s + j, u, v] = x[n, c, u*s + i - p, v*s + j - p], 0 outside x.
// Node: iv = s, p.

// The forward and backward kernels take the same geometry after their two buffers.
static lc_status s2d_launch(lc_ctx *c, const char *kernel, cl_mem dst, size_t dsto, cl_mem src,
                            size_t srco, const lc_tensor *x, int s, int p, int U, int V, int acc,
                            size_t rows) {
    cl_kernel k;
    LC_TRY(lc_kernel(c, &k, "conv", kernel));
    int dst_off = lc_i(dsto), src_off = lc_i(srco);
    // N, C, H, W of x; block, padding; U, V of y
    const int geo[8] = {
        (int)x->shape[0], (int)x->shape[1], (int)x->shape[2], (int)x->shape[3], s, p, U, V};
    LC_SET(k, 0, dst);
    LC_SET(k, 1, dst_off);
    LC_SET(k, 2, src);
    LC_SET(k, 3, src_off);
    for (cl_uint i = 0; i < 8; i++)
        LC_SET(k, 4 + i, geo[i]);
    if (acc >= 0) LC_SET(k, 12, acc); // the backward's
    return lc_launch1(c, k, kernel, rows);
}

static lc_status s2d_bw(lc_ctx *c, lc_node *nd) {
    lc_tensor *x = nd->in[0], *y = nd->out;
    lc_unary_grads u;
    int wants;
    LC_TRY(lc_unary_grad_targets(c, nd, &u, &wants));
    if (!wants) return LC_OK;
    return s2d_launch(c, "space_to_depth_bwd", u.gx, u.gxo, u.gy, u.gyo, x, (int)nd->iv[0],
                      (int)nd->iv[1], (int)y->shape[2], (int)y->shape[3], u.acc,
                      (size_t)(x->shape[0] * x->shape[1] * x->shape[2]));
}

lc_status lc_space_to_depth(lc_ctx *c, lc_tensor **y, lc_tensor *x, int s, int p, int U, int V) {
    *y = NULL;
    if (x->ndim != 4) return lc_shape_fail("space_to_depth", "needs x (N, C, H, W), got", x, NULL);
    if (s < 1 || p < 0 || U < 1 || V < 1)
        return lc_fail(LC_ERR_INVALID_ARG, "space_to_depth: block %d, padding %d, out %d x %d", s,
                       p, U, V);
    int64_t shape[4] = {x->shape[0], x->shape[1] * s * s, U, V};
    if (shape[0] * shape[1] * U * V > INT_MAX || x->numel > INT_MAX)
        return lc_shape_fail("space_to_depth", "too large for 32-bit indexing:", x, NULL);
    LC_TRY(lc_tensor_out(c, y, 4, shape, &x, 1));
    LC_TRY(s2d_launch(c, "space_to_depth", (*y)->buf, (*y)->off, x->buf, x->off, x, s, p, U, V, -1,
                      (size_t)(shape[0] * shape[1] * U)));
    lc_node *nd;
    LC_TRY(lc_record(c, &nd, "space_to_depth", s2d_bw, *y, &x, 1));
    if (nd) nd->iv[0] = s, nd->iv[1] = p;
    return LC_OK;
}

// A stride-s conv whose square kernel K is a multiple of s is a stride-1 conv with a
// (K/s) x (K/s) kernel over the input and the weights both rearranged space to depth
// (s x s blocks into channels, the input padded): y[o, a, b] = sum over c, kh = s*a' + i,
// kw = s*b' + j of w[o, c, kh, kw] x[c, s*(a + a') + i - p, s*(b + b') + j - p]. On a CPU
// device that conv takes the direct host path (conv_host.c) instead of im2col + GEMM +
// col2im: CLIP's and the VAEs' 4x4 stride-2 convs.
static int s2d_path(lc_ctx *c, const geom *g) {
    return g->s > 1 && g->KH == g->KW && g->KH % g->s == 0 && !lc_conv_gpu(c) &&
           lc_conv_host_usable(c, 1, g->KH / g->s, g->KW / g->s, 0);
}

// --- conv2d: x (N, C, H, W), w (O, C, KH, KW) -> (N, O, OH, OW), act fused ---------
// Node: geometry of x, iv[10] = act; fv[0] = alpha; saved[0] = the im2col matrix
// when the batch was one chunk, else NULL: the backward recomputes each chunk's
// (cheaper than streaming a large matrix through memory twice).

// The input gradient of a stride-1 conv with a square kernel and p <= K - 1 is
// itself a stride-1 conv: dx = conv(dz, w turned by 180 degrees as (C, O, K, K),
// padding K - 1 - p). That reads dz's im2col and writes dx's columns: no col2im
// gather over C*K*K rows, and a GEMM whose inner dimension is O*K*K rather than
// O (small O made it memory bound). A 1x1 conv (p = 0) needs no im2col at all.
static int dx_as_conv(const geom *g) { return g->s == 1 && g->KH == g->KW && g->p <= g->KH - 1; }

// On a CPU device with the host GEMM backend, stride-1 convs run as host tasks
// (conv_host.c): a direct kernel over padded images, no im2col, no GEMM call.
static int host_path(lc_ctx *c, const geom *g) {
    // (LATENTCL_CONV=gpu forces the GPU kernels, also on a CPU device: they win.)
    return !lc_conv_gpu(c) && lc_conv_host_usable(c, g->s, g->KH, g->KW, g->p);
}
static lc_conv_host_shape host_shape(const geom *g, int O) {
    return (lc_conv_host_shape){g->N, g->C, g->H, g->W, O, g->KH, g->KW, g->p, g->OH, g->OW};
}

static lc_status conv_bw(lc_ctx *c, lc_node *nd) {
    lc_tensor *x = nd->in[0], *w = nd->in[1], *b = nd->in[2], *y = nd->out;
    geom g = get_geom(nd);
    int O = (int)w->shape[0], Q = g.OH * g.OW, P = g.H * g.W, KK = g.KH * g.KW,
        act = (int)nd->iv[10];
    size_t CKK = (size_t)g.C * KK, OKK = (size_t)O * KK, CHW = (size_t)g.C * P;
    cl_mem gy, dz, cols = NULL, dcols = NULL, wf = NULL, dxc = NULL;
    size_t gyo;
    lc_grad_source(y, &gy, &gyo);
    int wx, ww, wb = 0, accx, accw, accb = 0;
    cl_mem gx, gw, gb = NULL;
    size_t gxo, gwo, gbo = 0;
    LC_TRY(lc_grad_target(c, x, &wx, &gx, &gxo, &accx));
    LC_TRY(lc_grad_target(c, w, &ww, &gw, &gwo, &accw));
    if (b) LC_TRY(lc_grad_target(c, b, &wb, &gb, &gbo, &accb));
    if (host_path(c, &g)) {
        lc_conv_host_shape hs = host_shape(&g, O);
        lc_conv_host_grads hg = {.dy = gy,
                                 .dyo = gyo,
                                 .y = y->buf,
                                 .yo = y->off,
                                 .x = x->buf,
                                 .xo = x->off,
                                 .w = w->buf,
                                 .wo = w->off,
                                 .gx = wx ? gx : NULL,
                                 .gxo = gxo,
                                 .accx = accx,
                                 .gw = ww ? gw : NULL,
                                 .gwo = gwo,
                                 .accw = accw,
                                 .gb = wb ? gb : NULL,
                                 .gbo = gbo,
                                 .accb = accb,
                                 .act = act,
                                 .alpha = nd->fv[0]};
        return lc_conv_host_backward(c, &hs, &hg);
    }
    int as_conv = wx && dx_as_conv(&g);
    size_t rows = CKK > (size_t)O ? CKK : (size_t)O;
    if (as_conv && OKK > rows) rows = OKK;
    int nb = chunk_images(c, rows, Q > P ? Q : P, g.N);
    LC_TRY(lc_scratch(c, &dz, (size_t)O * nb * Q));
    if (ww && !nd->saved[0]) LC_TRY(lc_scratch(c, &cols, CKK * nb * Q));
    if (nd->saved[0]) cols = nd->saved[0]->buf; // the forward's, for the whole batch
    if (as_conv) {
        LC_TRY(lc_scratch(c, &dxc, (size_t)g.C * nb * P));
        if (KK > 1) {
            LC_TRY(lc_scratch(c, &wf, CKK * O));
            LC_TRY(lc_scratch(c, &dcols, OKK * nb * P));
            LC_TRY(flip_weights(c, wf, w->buf, w->off, O, g.C, KK));
        }
    } else if (wx) {
        LC_TRY(lc_scratch(c, &dcols, CKK * nb * Q));
    }
    for (int n0 = 0; n0 < g.N; n0 += nb) {
        geom gc = g;
        gc.N = g.N - n0 < nb ? g.N - n0 : nb;
        size_t mq = (size_t)gc.N * Q, mp = (size_t)gc.N * P;
        int first = n0 == 0; // later chunks add to what the first wrote
        // dz (O, m*Q) = dy * act'(y) for this chunk, in the GEMM's layout.
        LC_TRY(nchw_to_cols(c, dz, gy, gyo + (size_t)n0 * O * Q, gc.N, O, Q, y->buf,
                            y->off + (size_t)n0 * O * Q, act, nd->fv[0]));
        if (wb) LC_TRY(channel_sum_to(c, gb, gbo, accb || !first, dz, 0, 1, O, (int)mq));
        if (ww) { // dW (O, CKK) (+)= dz (O, mQ) cols^T
            // The forward's im2col spans the whole batch (CKK, N*Q) even when this
            // backward's chunks are smaller (the input gradient's rows set them).
            size_t co = nd->saved[0] ? (size_t)n0 * Q : 0,
                   cld = nd->saved[0] ? (size_t)g.N * Q : mq;
            if (!nd->saved[0]) LC_TRY(im2col(c, cols, x->buf, x->off + (size_t)n0 * CHW, &gc));
            LC_TRY(gemm(c, 0, 1, (size_t)O, CKK, mq, dz, 0, mq, cols, co, cld,
                        accw || !first ? 1.0f : 0.0f, gw, gwo, CKK));
        }
        if (as_conv) { // dx' (C, mP) = wf (C, OKK) im2col(dz) (OKK, mP); then to NCHW
            if (KK == 1) {
                LC_TRY(gemm(c, 1, 0, (size_t)g.C, mp, (size_t)O, w->buf, w->off, (size_t)g.C, dz, 0,
                            mq, 0.0f, dxc, 0, mp));
            } else { // dz's image side (m, O, OH, OW), x's grid (H, W)
                geom gd = {gc.N, O, g.OH, g.OW, g.KH, g.KW, 1, g.KH - 1 - g.p, g.H, g.W};
                LC_TRY(im2col_from(c, dcols, dz, 0, &gd, 1));
                LC_TRY(gemm(c, 0, 0, (size_t)g.C, mp, OKK, wf, 0, OKK, dcols, 0, mp, 0.0f, dxc, 0,
                            mp));
            }
            LC_TRY(cols_to_nchw(c, gx, gxo + (size_t)n0 * CHW, dxc, 0, gc.N, g.C, P, NULL, accx, 0,
                                0.0f));
        } else if (wx) { // dcols (CKK, mQ) = W^T dz; then back to x by gathering
            LC_TRY(gemm(c, 1, 0, CKK, mq, (size_t)O, w->buf, w->off, CKK, dz, 0, mq, 0.0f, dcols, 0,
                        mq));
            LC_TRY(col2im(c, gx, gxo + (size_t)n0 * CHW, dcols, &gc, accx, NULL));
        }
    }
    return LC_OK;
}

static int conv_act_ok(lc_act act) {
    return act == LC_ACT_NONE || act == LC_ACT_RELU || act == LC_ACT_LEAKY_RELU ||
           act == LC_ACT_SIGMOID || act == LC_ACT_TANH;
}

lc_status lc_conv2d_act(lc_ctx *c, lc_tensor **y, lc_tensor *x, lc_tensor *w, lc_tensor *b,
                        int stride, int pad, lc_act act, float alpha) {
    *y = NULL;
    if (x->ndim != 4 || w->ndim != 4 || x->shape[1] != w->shape[1])
        return lc_shape_fail("conv2d", "needs x (N, C, H, W) and weight (O, C, KH, KW), got", x, w);
    if (b && (b->ndim != 1 || b->shape[0] != w->shape[0]))
        return lc_shape_fail("conv2d", "bias must be (O) for weight", w, b);
    if (stride < 1 || pad < 0)
        return lc_fail(LC_ERR_INVALID_ARG, "conv2d: stride %d, padding %d", stride, pad);
    if (!conv_act_ok(act) || (act == LC_ACT_LEAKY_RELU && !(alpha > 0)))
        return lc_fail(LC_ERR_INVALID_ARG,
                       "conv2d: activation %d cannot be fused (use "
                       "NONE, RELU, LEAKY_RELU (slope > 0), SIGMOID, TANH)",
                       (int)act);
    geom g = {(int)x->shape[0],
              (int)x->shape[1],
              (int)x->shape[2],
              (int)x->shape[3],
              (int)w->shape[2],
              (int)w->shape[3],
              stride,
              pad,
              0,
              0};
    if (g.H + 2 * pad < g.KH || g.W + 2 * pad < g.KW)
        return lc_shape_fail("conv2d", "kernel larger than the padded input:", x, w);
    g.OH = (g.H + 2 * pad - g.KH) / stride + 1;
    g.OW = (g.W + 2 * pad - g.KW) / stride + 1;
    if (s2d_path(c, &g)) {
        int k = g.KH / stride;
        lc_tensor *xs, *ws;
        LC_TRY(lc_space_to_depth(c, &xs, x, stride, pad, g.OH + k - 1, g.OW + k - 1));
        LC_TRY(lc_space_to_depth(c, &ws, w, stride, 0, k, k));
        return lc_conv2d_act(c, y, xs, ws, b, 1, 0, act, alpha);
    }
    int O = (int)w->shape[0], Q = g.OH * g.OW;
    size_t CKK = (size_t)g.C * g.KH * g.KW, NQ = (size_t)g.N * Q, CHW = (size_t)g.C * g.H * g.W;
    if (CKK * NQ > (size_t)INT_MAX || (size_t)O * NQ > (size_t)INT_MAX)
        return lc_shape_fail("conv2d", "too large for 32-bit indexing:", x, w);
    LC_TRY(lc_check_numel("conv2d", x));
    lc_tensor *in[3] = {x, w, b};
    LC_TRY(lc_tensor_out(c, y, 4, (int64_t[]){g.N, O, g.OH, g.OW}, in, 3));
    int nb = chunk_images(c, CKK > (size_t)O ? CKK : (size_t)O, Q, g.N);
    lc_tensor *keep = NULL; // one chunk: keep its im2col for the backward
    cl_mem cols, tmp;
    if (host_path(c, &g)) {
        lc_conv_host_shape hs = host_shape(&g, O);
        LC_TRY(lc_conv_host_forward(c, &hs, (*y)->buf, (*y)->off, x->buf, x->off, w->buf, w->off,
                                    b ? b->buf : NULL, b ? b->off : 0, (int)act, alpha));
        nb = 0; // no chunks below
    } else if (nb == g.N && (*y)->requires_grad) {
        LC_TRY(lc_tensor_new(c, &keep, 2, (int64_t[]){(int64_t)CKK, (int64_t)NQ}));
        cols = keep->buf;
    } else {
        LC_TRY(lc_scratch(c, &cols, CKK * nb * Q));
    }
    if (nb) LC_TRY(lc_scratch(c, &tmp, (size_t)O * nb * Q));
    for (int n0 = 0; nb && n0 < g.N; n0 += nb) { // y[chunk] = act(W cols[chunk] + b)
        geom gc = g;
        gc.N = g.N - n0 < nb ? g.N - n0 : nb;
        size_t mq = (size_t)gc.N * Q;
        LC_TRY(im2col(c, cols, x->buf, x->off + (size_t)n0 * CHW, &gc));
        LC_TRY(
            gemm(c, 0, 0, (size_t)O, mq, CKK, w->buf, w->off, CKK, cols, 0, mq, 0.0f, tmp, 0, mq));
        LC_TRY(cols_to_nchw(c, (*y)->buf, (*y)->off + (size_t)n0 * O * Q, tmp, 0, gc.N, O, Q, b, 0,
                            (int)act, alpha));
    }
    lc_node *nd;
    LC_TRY(lc_record(c, &nd, "conv2d", conv_bw, *y, in, 3));
    if (nd) {
        node_geom(nd, &g);
        nd->iv[10] = act;
        nd->fv[0] = alpha;
        nd->saved[0] = keep;
    }
    return LC_OK;
}

lc_status lc_conv2d(lc_ctx *c, lc_tensor **y, lc_tensor *x, lc_tensor *w, lc_tensor *b, int stride,
                    int pad) {
    return lc_conv2d_act(c, y, x, w, b, stride, pad, LC_ACT_NONE, 0.0f);
}

// --- transposed conv: x (N, C, H, W), w (C, O, KH, KW) -> (N, O, OH, OW) ------------
// The adjoint of a conv from y's grid to x's: geometry g has the image side
// = y (N, O, OH, OW) and the grid = x's (H, W). Node: g. Both passes go chunk
// by chunk of images; the backward re-reads x in the GEMM's layout per chunk.

static lc_status convt_bw(lc_ctx *c, lc_node *nd) {
    lc_tensor *x = nd->in[0], *w = nd->in[1], *b = nd->in[2], *y = nd->out;
    geom g = get_geom(nd); // image = y, grid = x
    int Cin = (int)x->shape[1], Q = g.OH * g.OW;
    size_t OKK = (size_t)g.C * g.KH * g.KW, YI = (size_t)g.C * g.H * g.W;
    cl_mem gy;
    size_t gyo;
    lc_grad_source(y, &gy, &gyo);
    if (b) LC_TRY(channel_sum(c, b, gy, gyo, g.N, g.C, g.H * g.W));
    int wx, ww, accx, accw;
    cl_mem gx, gw, dcols, xc = NULL, dxc = NULL;
    size_t gxo, gwo;
    LC_TRY(lc_grad_target(c, x, &wx, &gx, &gxo, &accx));
    LC_TRY(lc_grad_target(c, w, &ww, &gw, &gwo, &accw));
    if (!wx && !ww) return LC_OK;
    int nb = chunk_images(c, OKK > (size_t)Cin ? OKK : (size_t)Cin, Q, g.N);
    LC_TRY(lc_scratch(c, &dcols, OKK * nb * Q));
    if (ww) LC_TRY(lc_scratch(c, &xc, (size_t)Cin * nb * Q));
    if (wx) LC_TRY(lc_scratch(c, &dxc, (size_t)Cin * nb * Q));
    for (int n0 = 0; n0 < g.N; n0 += nb) {
        geom gc = g;
        gc.N = g.N - n0 < nb ? g.N - n0 : nb;
        size_t mq = (size_t)gc.N * Q, xoff = (size_t)n0 * Cin * Q;
        LC_TRY(im2col(c, dcols, gy, gyo + (size_t)n0 * YI, &gc)); // (OKK, mQ)
        if (ww) { // dW (C, OKK) (+)= x' (C, mQ) dcols^T
            LC_TRY(nchw_to_cols(c, xc, x->buf, x->off + xoff, gc.N, Cin, Q, NULL, 0, 0, 0.0f));
            LC_TRY(gemm(c, 0, 1, (size_t)Cin, OKK, mq, xc, 0, mq, dcols, 0, mq,
                        accw || n0 > 0 ? 1.0f : 0.0f, gw, gwo, OKK));
        }
        if (wx) { // dx' (C, mQ) = W (C, OKK) dcols
            LC_TRY(gemm(c, 0, 0, (size_t)Cin, mq, OKK, w->buf, w->off, OKK, dcols, 0, mq, 0.0f, dxc,
                        0, mq));
            LC_TRY(cols_to_nchw(c, gx, gxo + xoff, dxc, 0, gc.N, Cin, Q, NULL, accx, 0, 0.0f));
        }
    }
    return LC_OK;
}

lc_status lc_conv_transpose2d(lc_ctx *c, lc_tensor **y, lc_tensor *x, lc_tensor *w, lc_tensor *b,
                              int stride, int pad, int out_pad) {
    *y = NULL;
    if (x->ndim != 4 || w->ndim != 4 || x->shape[1] != w->shape[0])
        return lc_shape_fail("conv_transpose2d",
                             "needs x (N, C, H, W) and weight (C, O, KH, KW), got", x, w);
    if (b && (b->ndim != 1 || b->shape[0] != w->shape[1]))
        return lc_shape_fail("conv_transpose2d", "bias must be (O) for weight", w, b);
    if (stride < 1 || pad < 0 || out_pad < 0 || out_pad >= stride)
        return lc_fail(LC_ERR_INVALID_ARG,
                       "conv_transpose2d: stride %d, padding %d, output "
                       "padding %d",
                       stride, pad, out_pad);
    int N = (int)x->shape[0], Cin = (int)x->shape[1], H = (int)x->shape[2], W = (int)x->shape[3];
    int O = (int)w->shape[1], KH = (int)w->shape[2], KW = (int)w->shape[3];
    int OH = (H - 1) * stride - 2 * pad + KH + out_pad,
        OW = (W - 1) * stride - 2 * pad + KW + out_pad;
    if (OH < 1 || OW < 1)
        return lc_shape_fail("conv_transpose2d", "output would be empty for", x, w);
    geom g = {N, O, OH, OW, KH, KW, stride, pad, H, W};
    size_t OKK = (size_t)O * KH * KW, NQ = (size_t)N * H * W;
    if (OKK * NQ > (size_t)INT_MAX)
        return lc_shape_fail("conv_transpose2d", "too large for 32-bit indexing:", x, w);
    LC_TRY(lc_check_numel("conv_transpose2d", x));
    lc_tensor *in[3] = {x, w, b};
    LC_TRY(lc_tensor_out(c, y, 4, (int64_t[]){N, O, OH, OW}, in, 3));
    int Q = H * W, nb = chunk_images(c, OKK > (size_t)Cin ? OKK : (size_t)Cin, Q, N);
    cl_mem cols, xc;
    LC_TRY(lc_scratch(c, &cols, OKK * nb * Q));
    LC_TRY(lc_scratch(c, &xc, (size_t)Cin * nb * Q));
    for (int n0 = 0; n0 < N; n0 += nb) {
        geom gc = g;
        gc.N = N - n0 < nb ? N - n0 : nb;
        size_t mq = (size_t)gc.N * Q;
        LC_TRY(nchw_to_cols(c, xc, x->buf, x->off + (size_t)n0 * Cin * Q, gc.N, Cin, Q, NULL, 0, 0,
                            0.0f));
        // cols (OKK, mQ) = W^T (OKK, C) x' (C, mQ); then gathered into y (+ b)
        LC_TRY(
            gemm(c, 1, 0, OKK, mq, (size_t)Cin, w->buf, w->off, OKK, xc, 0, mq, 0.0f, cols, 0, mq));
        LC_TRY(col2im(c, (*y)->buf, (*y)->off + (size_t)n0 * O * OH * OW, cols, &gc, 0, b));
    }
    lc_node *nd;
    LC_TRY(lc_record(c, &nd, "conv_transpose2d", convt_bw, *y, in, 3));
    if (nd) node_geom(nd, &g);
    return LC_OK;
}

// --- pooling: x (N, C, H, W) -> (N, C, (H - k) / s + 1, (W - k) / s + 1) ------------
// Node: iv = NC, H, W, k, s, OH, OW, is_max; saved[0] = argmax (int32).

static lc_status pool_bw(lc_ctx *c, lc_node *nd) {
    lc_unary_grads u;
    int wants;
    LC_TRY(lc_unary_grad_targets(c, nd, &u, &wants));
    if (!wants) return LC_OK;
    cl_kernel k;
    LC_TRY(lc_kernel(c, &k, "conv", "pool_bwd"));
    int dxo = lc_i(u.gxo), dyo = lc_i(u.gyo), v[8];
    for (int i = 0; i < 8; i++)
        v[i] = (int)nd->iv[i];
    LC_SET(k, 0, u.gx);
    LC_SET(k, 1, dxo);
    LC_SET(k, 2, u.gy);
    LC_SET(k, 3, dyo);
    LC_SET(k, 4, nd->saved[0]->buf);
    for (int i = 0; i < 8; i++)
        LC_TRY(lc_set_arg(k, (cl_uint)(5 + i), sizeof(int), &v[i], "pool"));
    LC_SET(k, 13, u.acc);
    return lc_launch1(c, k, "pool_bwd", (size_t)v[0]); // one per plane
}

static lc_status pool(lc_ctx *c, lc_tensor **y, lc_tensor *x, int k_, int s, int is_max,
                      const char *name) {
    *y = NULL;
    if (x->ndim != 4 || k_ < 1 || s < 1 || x->shape[2] < k_ || x->shape[3] < k_)
        return lc_fail(LC_ERR_SHAPE, "%s: window %d stride %d does not fit x %s", name, k_, s,
                       lc_shape_str(x, (char[96]){0}, 96));
    LC_TRY(lc_check_numel(name, x));
    int NC = (int)(x->shape[0] * x->shape[1]), H = (int)x->shape[2], W = (int)x->shape[3];
    int OH = (H - k_) / s + 1, OW = (W - k_) / s + 1;
    lc_tensor *arg;
    LC_TRY(lc_tensor_new_i32(c, &arg, 3, (int64_t[]){NC, OH, OW}));
    LC_TRY(lc_tensor_out(c, y, 4, (int64_t[]){x->shape[0], x->shape[1], OH, OW}, &x, 1));
    cl_kernel k;
    LC_TRY(lc_kernel(c, &k, "conv", "pool_fwd"));
    int xo = lc_i(x->off);
    LC_SET(k, 0, (*y)->buf);
    LC_SET(k, 1, arg->buf);
    LC_SET(k, 2, x->buf);
    LC_SET(k, 3, xo);
    LC_SET(k, 4, NC);
    LC_SET(k, 5, H);
    LC_SET(k, 6, W);
    LC_SET(k, 7, k_);
    LC_SET(k, 8, s);
    LC_SET(k, 9, OH);
    LC_SET(k, 10, OW);
    LC_SET(k, 11, is_max);
    LC_TRY(lc_launch1(c, k, name, (size_t)NC)); // one per plane
    lc_node *nd;
    LC_TRY(lc_record(c, &nd, name, pool_bw, *y, &x, 1));
    if (nd) {
        int64_t v[8] = {NC, H, W, k_, s, OH, OW, is_max};
        for (int i = 0; i < 8; i++)
            nd->iv[i] = v[i];
        nd->saved[0] = arg;
    }
    return LC_OK;
}

lc_status lc_max_pool2d(lc_ctx *c, lc_tensor **y, lc_tensor *x, int k, int stride) {
    return pool(c, y, x, k, stride, 1, "max_pool2d");
}
lc_status lc_avg_pool2d(lc_ctx *c, lc_tensor **y, lc_tensor *x, int k, int stride) {
    return pool(c, y, x, k, stride, 0, "avg_pool2d");
}

// --- nearest upsampling by an integer factor -------------------------------------
// Node: iv = NC, H, W, f.

static lc_status upsample_bw(lc_ctx *c, lc_node *nd) {
    lc_unary_grads u;
    int wants;
    LC_TRY(lc_unary_grad_targets(c, nd, &u, &wants));
    if (!wants) return LC_OK;
    cl_kernel k;
    LC_TRY(lc_kernel(c, &k, "conv", "upsample_bwd"));
    int dxo = lc_i(u.gxo), dyo = lc_i(u.gyo), NC = (int)nd->iv[0], H = (int)nd->iv[1],
        W = (int)nd->iv[2], f = (int)nd->iv[3];
    LC_SET(k, 0, u.gx);
    LC_SET(k, 1, dxo);
    LC_SET(k, 2, u.gy);
    LC_SET(k, 3, dyo);
    LC_SET(k, 4, NC);
    LC_SET(k, 5, H);
    LC_SET(k, 6, W);
    LC_SET(k, 7, f);
    LC_SET(k, 8, u.acc);
    return lc_launch1(c, k, "upsample_bwd", (size_t)NC); // one per plane
}

lc_status lc_upsample_nearest(lc_ctx *c, lc_tensor **y, lc_tensor *x, int f) {
    *y = NULL;
    if (x->ndim != 4 || f < 1)
        return lc_fail(LC_ERR_SHAPE, "upsample_nearest: factor %d for x %s", f,
                       lc_shape_str(x, (char[96]){0}, 96));
    LC_TRY(lc_check_numel("upsample_nearest", x));
    int NC = (int)(x->shape[0] * x->shape[1]), H = (int)x->shape[2], W = (int)x->shape[3];
    LC_TRY(lc_tensor_out(c, y, 4, (int64_t[]){x->shape[0], x->shape[1], H * f, W * f}, &x, 1));
    LC_TRY(lc_check_numel("upsample_nearest", *y));
    cl_kernel k;
    LC_TRY(lc_kernel(c, &k, "conv", "upsample_fwd"));
    int xo = lc_i(x->off);
    LC_SET(k, 0, (*y)->buf);
    LC_SET(k, 1, x->buf);
    LC_SET(k, 2, xo);
    LC_SET(k, 3, NC);
    LC_SET(k, 4, H);
    LC_SET(k, 5, W);
    LC_SET(k, 6, f);
    LC_TRY(lc_launch1(c, k, "upsample_nearest", (size_t)NC)); // one per plane
    lc_node *nd;
    LC_TRY(lc_record(c, &nd, "upsample_nearest", upsample_bw, *y, &x, 1));
    if (nd) {
        nd->iv[0] = NC;
        nd->iv[1] = H;
        nd->iv[2] = W;
        nd->iv[3] = f;
    }
    return LC_OK;
}
