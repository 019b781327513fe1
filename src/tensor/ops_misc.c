// Embedding, concat/split, permutes, dropout, attention and the time
// embedding (cl/misc.cl). Forward and backward side by side.
#include <math.h>
#include <string.h>

#include "tensor/ops_upcat.h"
#include "tensor/tensor_internal.h"

// --- embedding: weight (V, D), ids (S...) -> (S..., D) ------------------------------

static lc_status embed_bw(lc_ctx *c, lc_node *nd) {
    lc_tensor *w = nd->in[0], *ids = nd->in[1];
    int wants, acc;
    cl_mem g, gy;
    size_t go, gyo;
    LC_TRY(lc_grad_target(c, w, &wants, &g, &go, &acc));
    if (!wants) return LC_OK;
    lc_grad_source(nd->out, &gy, &gyo);
    cl_kernel k;
    LC_TRY(lc_kernel(c, &k, "misc", "embed_bwd"));
    int dwo = lc_i(go), dyo = lc_i(gyo), io = lc_i(ids->off), n = lc_i(ids->numel),
        V = (int)w->shape[0], D = (int)w->shape[1];
    LC_SET(k, 0, g);
    LC_SET(k, 1, dwo);
    LC_SET(k, 2, gy);
    LC_SET(k, 3, dyo);
    LC_SET(k, 4, ids->buf);
    LC_SET(k, 5, io);
    LC_SET(k, 6, n);
    LC_SET(k, 7, V);
    LC_SET(k, 8, D);
    LC_SET(k, 9, acc);
    return lc_launch1(c, k, "embed_bwd", (size_t)V);
}

lc_status lc_embedding(lc_ctx *c, lc_tensor **y, lc_tensor *w, lc_tensor *ids) {
    *y = NULL;
    if (w->ndim != 2 || ids->dtype != LC_I32 || ids->ndim >= LC_MAX_DIMS)
        return lc_shape_fail("embedding", "needs weight (V, D) and int32 ids, got", w, ids);
    int64_t shape[LC_MAX_DIMS];
    memcpy(shape, ids->shape, sizeof shape);
    shape[ids->ndim] = w->shape[1];
    LC_TRY(lc_tensor_out(c, y, ids->ndim + 1, shape, &w, 1));
    LC_TRY(lc_check_numel("embedding", *y));
    cl_kernel k;
    LC_TRY(lc_kernel(c, &k, "misc", "embed_fwd"));
    int wo = lc_i(w->off), io = lc_i(ids->off), n = lc_i(ids->numel), V = (int)w->shape[0],
        D = (int)w->shape[1];
    LC_SET(k, 0, (*y)->buf);
    LC_SET(k, 1, w->buf);
    LC_SET(k, 2, wo);
    LC_SET(k, 3, ids->buf);
    LC_SET(k, 4, io);
    LC_SET(k, 5, n);
    LC_SET(k, 6, V);
    LC_SET(k, 7, D);
    LC_TRY(lc_launch1(c, k, "embedding", (size_t)n * (((size_t)D + 3) / 4)));
    lc_tensor *in[2] = {w, ids};
    lc_node *nd;
    return lc_record(c, &nd, "embedding", embed_bw, *y, in, 2);
}

// --- block copies: concat and narrow along an axis ------------------------------------

static lc_status copy_block(lc_ctx *c, cl_mem dst, size_t dso, size_t dst_row, size_t dst_at,
                            cl_mem src, size_t sro, size_t src_row, size_t src_at, size_t outer,
                            size_t len, int acc) {
    cl_kernel k;
    LC_TRY(lc_kernel(c, &k, "misc", "copy_block"));
    int a = lc_i(dso), b = lc_i(dst_row), d = lc_i(dst_at), e = lc_i(sro), f = lc_i(src_row),
        g = lc_i(src_at), o = lc_i(outer), l = lc_i(len);
    LC_SET(k, 0, dst);
    LC_SET(k, 1, a);
    LC_SET(k, 2, b);
    LC_SET(k, 3, d);
    LC_SET(k, 4, src);
    LC_SET(k, 5, e);
    LC_SET(k, 6, f);
    LC_SET(k, 7, g);
    LC_SET(k, 8, o);
    LC_SET(k, 9, l);
    LC_SET(k, 10, acc);
    return lc_launch1(c, k, "copy_block", outer * ((len + 63) / 64));
}

// x as (outer, n * inner) around axis.
static void axis_split(const lc_tensor *x, int axis, size_t *outer, size_t *inner) {
    *outer = *inner = 1;
    for (int i = 0; i < axis; i++)
        *outer *= (size_t)x->shape[i];
    for (int i = axis + 1; i < x->ndim; i++)
        *inner *= (size_t)x->shape[i];
}

// Node (concat): iv[0] = axis.
static lc_status concat_bw(lc_ctx *c, lc_node *nd) {
    lc_tensor *y = nd->out;
    int axis = (int)nd->iv[0];
    size_t outer, inner, at = 0, row;
    axis_split(y, axis, &outer, &inner);
    row = (size_t)y->shape[axis] * inner;
    cl_mem gy;
    size_t gyo;
    lc_grad_source(y, &gy, &gyo);
    for (int i = 0; i < 2; i++) {
        lc_tensor *x = nd->in[i];
        size_t len = (size_t)x->shape[axis] * inner;
        int wants, acc;
        cl_mem g;
        size_t go;
        LC_TRY(lc_grad_target(c, x, &wants, &g, &go, &acc));
        if (wants) LC_TRY(copy_block(c, g, go, len, 0, gy, gyo, row, at, outer, len, acc));
        at += len;
    }
    return LC_OK;
}

lc_status lc_concat(lc_ctx *c, lc_tensor **y, lc_tensor *a, lc_tensor *b, int axis) {
    *y = NULL;
    int ax = axis < 0 ? axis + a->ndim : axis;
    int ok =
        a->ndim == b->ndim && ax >= 0 && ax < a->ndim && a->dtype == LC_F32 && b->dtype == LC_F32;
    for (int i = 0; ok && i < a->ndim; i++)
        if (i != ax && a->shape[i] != b->shape[i]) ok = 0;
    if (!ok) return lc_shape_fail("concat", "shapes do not agree off the axis:", a, b);
    int64_t shape[LC_MAX_DIMS];
    memcpy(shape, a->shape, sizeof shape);
    shape[ax] += b->shape[ax];
    lc_tensor *in[2] = {a, b};
    LC_TRY(lc_tensor_out(c, y, a->ndim, shape, in, 2));
    LC_TRY(lc_check_numel("concat", *y));
    size_t outer, inner;
    axis_split(*y, ax, &outer, &inner);
    size_t row = (size_t)shape[ax] * inner, la = (size_t)a->shape[ax] * inner,
           lb = (size_t)b->shape[ax] * inner;
    LC_TRY(copy_block(c, (*y)->buf, (*y)->off, row, 0, a->buf, a->off, la, 0, outer, la, 0));
    LC_TRY(copy_block(c, (*y)->buf, (*y)->off, row, la, b->buf, b->off, lb, 0, outer, lb, 0));
    lc_node *nd;
    LC_TRY(lc_record(c, &nd, "concat", concat_bw, *y, in, 2));
    if (nd) nd->iv[0] = ax;
    return LC_OK;
}

// Node (narrow): iv[0] = axis, iv[1] = start.
static lc_status narrow_bw(lc_ctx *c, lc_node *nd) {
    lc_tensor *x = nd->in[0], *y = nd->out;
    int axis = (int)nd->iv[0];
    int wants, acc;
    cl_mem g, gy;
    size_t go, gyo;
    LC_TRY(lc_grad_target(c, x, &wants, &g, &go, &acc));
    if (!wants) return LC_OK;
    if (!acc) { // this gradient covers only part of x: the rest is zero
        LC_TRY(lc_fill_zero(lc_ctx_dev(c), g, go * 4, x->numel * 4));
        acc = 1;
    }
    lc_grad_source(y, &gy, &gyo);
    size_t outer, inner;
    axis_split(x, axis, &outer, &inner);
    size_t row = (size_t)x->shape[axis] * inner, len = (size_t)y->shape[axis] * inner;
    return copy_block(c, g, go, row, (size_t)nd->iv[1] * inner, gy, gyo, len, 0, outer, len, acc);
}

static lc_status narrow(lc_ctx *c, lc_tensor **y, lc_tensor *x, int ax, int64_t start,
                        int64_t len) {
    int64_t shape[LC_MAX_DIMS];
    memcpy(shape, x->shape, sizeof shape);
    shape[ax] = len;
    LC_TRY(lc_tensor_out(c, y, x->ndim, shape, &x, 1));
    size_t outer, inner;
    axis_split(x, ax, &outer, &inner);
    size_t row = (size_t)x->shape[ax] * inner, l = (size_t)len * inner;
    LC_TRY(copy_block(c, (*y)->buf, (*y)->off, l, 0, x->buf, x->off, row, (size_t)start * inner,
                      outer, l, 0));
    lc_node *nd;
    LC_TRY(lc_record(c, &nd, "split", narrow_bw, *y, &x, 1));
    if (nd) {
        nd->iv[0] = ax;
        nd->iv[1] = start;
    }
    return LC_OK;
}

lc_status lc_split(lc_ctx *c, lc_tensor **a, lc_tensor **b, lc_tensor *x, int axis,
                   int64_t size_a) {
    *a = *b = NULL;
    int ax = axis < 0 ? axis + x->ndim : axis;
    if (ax < 0 || ax >= x->ndim || size_a < 1 || size_a >= x->shape[ax] || x->dtype != LC_F32)
        return lc_fail(LC_ERR_SHAPE, "split: %lld along axis %d of x %s", (long long)size_a, axis,
                       lc_shape_str(x, (char[96]){0}, 96));
    LC_TRY(lc_check_numel("split", x));
    LC_TRY(narrow(c, a, x, ax, 0, size_a));
    return narrow(c, b, x, ax, size_a, x->shape[ax] - size_a);
}

// --- permutes -------------------------------------------------------------------------

static lc_status permute_launch(lc_ctx *c, cl_mem y, size_t yoff, cl_mem x, size_t xoff,
                                size_t total, int n, const int64_t *ydim, const int64_t *xstride,
                                int acc) {
    // x's contiguous dim at y dim a, not y's last: the tiled transpose kernel
    int a = -1;
    for (int i = 0; i < n; i++)
        if (xstride[i] == 1 && ydim[i] > 1) a = i;
    int tiled = a >= 0 && a < n - 1 && ydim[n - 1] > 1;
    cl_kernel k;
    LC_TRY(lc_kernel(c, &k, "misc", tiled ? "permute_tile" : "permute"));
    cl_int8 d, s;
    memset(&d, 0, sizeof d);
    memset(&s, 0, sizeof s);
    for (int i = 0; i < n; i++) {
        d.s[i] = (cl_int)ydim[i];
        s.s[i] = (cl_int)xstride[i];
    }
    int yo = lc_i(yoff), xo = lc_i(xoff), t = lc_i(total);
    if (tiled) {
        size_t tiles = total / (size_t)(ydim[a] * ydim[n - 1]) * (size_t)((ydim[a] + 7) / 8) *
                       (size_t)((ydim[n - 1] + 7) / 8);
        LC_SET(k, 0, y);
        LC_SET(k, 1, yo);
        LC_SET(k, 2, x);
        LC_SET(k, 3, xo);
        LC_SET(k, 4, n);
        LC_SET(k, 5, d);
        LC_SET(k, 6, s);
        LC_SET(k, 7, a);
        LC_SET(k, 8, acc);
        return lc_launch1(c, k, "permute", tiles);
    }
    LC_SET(k, 0, y);
    LC_SET(k, 1, yo);
    LC_SET(k, 2, x);
    LC_SET(k, 3, xo);
    LC_SET(k, 4, t);
    LC_SET(k, 5, n);
    LC_SET(k, 6, d);
    LC_SET(k, 7, s);
    LC_SET(k, 8, acc);
    return lc_launch1(c, k, "permute", total);
}

static void strides_of(int64_t *st, const int64_t *shape, int n) {
    int64_t s = 1;
    for (int i = n - 1; i >= 0; i--) {
        st[i] = s;
        s *= shape[i];
    }
}

// Node: iv[0..n) = perm.
static lc_status permute_bw(lc_ctx *c, lc_node *nd) {
    lc_tensor *x = nd->in[0], *y = nd->out;
    lc_unary_grads u;
    int wants;
    LC_TRY(lc_unary_grad_targets(c, nd, &u, &wants));
    if (!wants) return LC_OK;
    // dx[x index] = dy[y index]: walk x's dims, reading dy with y's strides permuted back.
    int n = x->ndim;
    int64_t yst[LC_MAX_DIMS], src[LC_MAX_DIMS];
    strides_of(yst, y->shape, n);
    for (int i = 0; i < n; i++)
        src[nd->iv[i]] = yst[i]; // x dim perm[i] is y dim i
    return permute_launch(c, u.gx, u.gxo, u.gy, u.gyo, x->numel, n, x->shape, src, u.acc);
}

lc_status lc_permute(lc_ctx *c, lc_tensor **y, lc_tensor *x, const int *perm) {
    *y = NULL;
    int n = x->ndim, seen = 0;
    for (int i = 0; i < n; i++) {
        if (perm[i] < 0 || perm[i] >= n || (seen >> perm[i]) & 1)
            return lc_shape_fail("permute", "not a permutation of the dims of", x, NULL);
        seen |= 1 << perm[i];
    }
    LC_TRY(lc_check_numel("permute", x));
    int64_t shape[LC_MAX_DIMS], xst[LC_MAX_DIMS], src[LC_MAX_DIMS];
    strides_of(xst, x->shape, n);
    for (int i = 0; i < n; i++) {
        shape[i] = x->shape[perm[i]];
        src[i] = xst[perm[i]];
    }
    LC_TRY(lc_tensor_out(c, y, n, shape, &x, 1));
    LC_TRY(permute_launch(c, (*y)->buf, (*y)->off, x->buf, x->off, x->numel, n, shape, src, 0));
    lc_node *nd;
    LC_TRY(lc_record(c, &nd, "permute", permute_bw, *y, &x, 1));
    if (nd)
        for (int i = 0; i < n; i++)
            nd->iv[i] = perm[i];
    return LC_OK;
}

lc_status lc_transpose12(lc_ctx *c, lc_tensor **y, lc_tensor *x) {
    if (x->ndim != 4) return lc_shape_fail("transpose12", "needs 4 dims, got", x, NULL);
    return lc_permute(c, y, x, (const int[]){0, 2, 1, 3});
}

// --- dropout ---------------------------------------------------------------------------
// Node: iv = seed, step, call, rows, row_len; fv[0] = p; in[1] = sample ids or NULL.

enum { DROPOUT_PURPOSE = 0x64000000 }; // "d" in the top byte: apart from other draws

static lc_status dropout_launch(lc_ctx *c, cl_mem y, size_t yoff, cl_mem x, size_t xoff, int rows,
                                int row_len, float p, uint64_t seed, uint64_t step, uint32_t call,
                                const lc_tensor *ids, int acc) {
    cl_kernel k;
    LC_TRY(lc_kernel(c, &k, "misc", "dropout"));
    cl_uint k0 = (cl_uint)seed, k1 = (cl_uint)(seed >> 32), st = (cl_uint)step,
            cl_ = DROPOUT_PURPOSE | call;
    int yo = lc_i(yoff), xo = lc_i(xoff), io = ids ? lc_i(ids->off) : 0, has = ids != NULL;
    cl_mem ib = ids ? ids->buf : x;
    LC_SET(k, 0, y);
    LC_SET(k, 1, yo);
    LC_SET(k, 2, x);
    LC_SET(k, 3, xo);
    LC_SET(k, 4, rows);
    LC_SET(k, 5, row_len);
    LC_SET(k, 6, p);
    LC_SET(k, 7, k0);
    LC_SET(k, 8, k1);
    LC_SET(k, 9, st);
    LC_SET(k, 10, cl_);
    LC_SET(k, 11, ib);
    LC_SET(k, 12, io);
    LC_SET(k, 13, has);
    LC_SET(k, 14, acc);
    return lc_launch1(c, k, "dropout", (size_t)rows * (((size_t)row_len + 3) / 4));
}

static lc_status dropout_bw(lc_ctx *c, lc_node *nd) {
    lc_unary_grads u;
    int wants;
    LC_TRY(lc_unary_grad_targets(c, nd, &u, &wants));
    if (!wants) return LC_OK;
    return dropout_launch(c, u.gx, u.gxo, u.gy, u.gyo, (int)nd->iv[3], (int)nd->iv[4], nd->fv[0],
                          (uint64_t)nd->iv[0], (uint64_t)nd->iv[1], (uint32_t)nd->iv[2], nd->in[1],
                          u.acc);
}

lc_status lc_dropout(lc_ctx *c, lc_tensor **y, lc_tensor *x, float p, lc_tensor *ids) {
    *y = NULL;
    if (!(p >= 0 && p < 1)) return lc_fail(LC_ERR_INVALID_ARG, "dropout: p = %g", (double)p);
    if (ids && (ids->dtype != LC_I32 || ids->ndim != 1 || ids->shape[0] != x->shape[0]))
        return lc_shape_fail("dropout", "sample ids must be int32 (N) for x", x, ids);
    if (!lc_ctx_training(c) || p == 0) { // the identity: a view, no copy
        return lc_reshape(c, y, x, x->ndim, x->shape);
    }
    LC_TRY(lc_check_numel("dropout", x));
    uint64_t seed, step;
    uint32_t call;
    lc_ctx_rng(c, &seed, &step, &call);
    int rows = (int)x->shape[0], row_len = (int)(x->numel / (size_t)x->shape[0]);
    LC_TRY(lc_tensor_out(c, y, x->ndim, x->shape, &x, 1));
    LC_TRY(dropout_launch(c, (*y)->buf, (*y)->off, x->buf, x->off, rows, row_len, p, seed, step,
                          call, ids, 0));
    lc_tensor *in[2] = {x, ids};
    lc_node *nd;
    LC_TRY(lc_record(c, &nd, "dropout", dropout_bw, *y, in, 2));
    if (nd) {
        nd->iv[0] = (int64_t)seed;
        nd->iv[1] = (int64_t)step;
        nd->iv[2] = call;
        nd->iv[3] = rows;
        nd->iv[4] = row_len;
        nd->fv[0] = p;
    }
    return LC_OK;
}

// --- attention: softmax(q k^T / sqrt(D)) v over (B, H, T, D) ---------------------------

lc_status lc_attention(lc_ctx *c, lc_tensor **y, lc_tensor *q, lc_tensor *k, lc_tensor *v,
                       int causal) {
    *y = NULL;
    if (q->ndim != 4 || !lc_same_shape(q, k) || !lc_same_shape(q, v))
        return lc_shape_fail("attention", "q, k, v must be (B, H, T, D) alike, got", q,
                             lc_same_shape(q, k) ? v : k);
    int64_t BH = q->shape[0] * q->shape[1], T = q->shape[2], D = q->shape[3];
    int64_t s3[3] = {BH, T, D};
    lc_tensor *q3, *k3, *v3, *scores, *probs, *o;
    LC_TRY(lc_reshape(c, &q3, q, 3, s3));
    LC_TRY(lc_reshape(c, &k3, k, 3, s3));
    LC_TRY(lc_reshape(c, &v3, v, 3, s3));
    LC_TRY(lc_bmm(c, &scores, q3, k3, 0, 1)); // (BH, T, T)
    LC_TRY(lc_softmax_ex(c, &probs, scores, 0, 1.0f / sqrtf((float)D), causal, "attention"));
    LC_TRY(lc_bmm(c, &o, probs, v3, 0, 0)); // (BH, T, D)
    return lc_reshape(c, y, o, 4, q->shape);
}

// --- sinusoidal time embedding --------------------------------------------------------

lc_status lc_time_embedding(lc_ctx *c, lc_tensor **y, lc_tensor *t, int dim, float max_period) {
    *y = NULL;
    if (t->ndim != 1 || t->dtype != LC_F32 || dim < 2 || !(max_period > 1))
        return lc_fail(LC_ERR_SHAPE, "time_embedding: t %s (float, (N)), dim %d, period %g",
                       lc_shape_str(t, (char[96]){0}, 96), dim, (double)max_period);
    int n = (int)t->shape[0];
    LC_TRY(lc_tensor_new(c, y, 2, (int64_t[]){n, dim}));
    cl_kernel k;
    LC_TRY(lc_kernel(c, &k, "misc", "time_embed"));
    int to = lc_i(t->off);
    float lp = logf(max_period);
    LC_SET(k, 0, (*y)->buf);
    LC_SET(k, 1, t->buf);
    LC_SET(k, 2, to);
    LC_SET(k, 3, n);
    LC_SET(k, 4, dim);
    LC_SET(k, 5, lp);
    return lc_launch1(c, k, "time_embedding", (size_t)n * dim);
}

// --- upsample + concat (ops_upcat.h) ---------------------------------------------------
// Node: in = {a, b}; iv = N, Ca, Cb, H, W, f.
static lc_status upcat_bw(lc_ctx *c, lc_node *nd) {
    lc_tensor *a = nd->in[0], *b = nd->in[1];
    int wa, aa = 0, wb, ab = 0;
    cl_mem ga = NULL, gb = NULL, gy;
    size_t gao = 0, gbo = 0, gyo;
    LC_TRY(lc_grad_target(c, a, &wa, &ga, &gao, &aa));
    LC_TRY(lc_grad_target(c, b, &wb, &gb, &gbo, &ab));
    if (!wa && !wb) return LC_OK;
    lc_grad_source(nd->out, &gy, &gyo);
    if (!wa) ga = gy, gao = 0;
    if (!wb) gb = gy, gbo = 0;
    int dao = lc_i(gao), dbo = lc_i(gbo), dyo = lc_i(gyo), N = (int)nd->iv[0], Ca = (int)nd->iv[1],
        Cb = (int)nd->iv[2], H = (int)nd->iv[3], W = (int)nd->iv[4], f = (int)nd->iv[5];
    cl_kernel k;
    LC_TRY(lc_kernel(c, &k, "misc", "upcat_bwd"));
    LC_SET(k, 0, ga);
    LC_SET(k, 1, dao);
    LC_SET(k, 2, wa);
    LC_SET(k, 3, aa);
    LC_SET(k, 4, gb);
    LC_SET(k, 5, dbo);
    LC_SET(k, 6, wb);
    LC_SET(k, 7, ab);
    LC_SET(k, 8, gy);
    LC_SET(k, 9, dyo);
    LC_SET(k, 10, N);
    LC_SET(k, 11, Ca);
    LC_SET(k, 12, Cb);
    LC_SET(k, 13, H);
    LC_SET(k, 14, W);
    LC_SET(k, 15, f);
    return lc_launch1(c, k, "upsample_concat_bwd", (size_t)N * (Ca + Cb));
}

lc_status lc_upsample_concat(lc_ctx *c, lc_tensor **y, lc_tensor *a, lc_tensor *b, int f) {
    *y = NULL;
    if (a->ndim != 4 || b->ndim != 4 || f < 1 || b->shape[0] != a->shape[0] ||
        b->shape[2] != a->shape[2] * f || b->shape[3] != a->shape[3] * f)
        return lc_fail(LC_ERR_SHAPE,
                       "upsample_concat: a %s upsampled by %d does not match b %s in N, H, W",
                       lc_shape_str(a, (char[96]){0}, 96), f, lc_shape_str(b, (char[96]){0}, 96));
    if (a->dtype != LC_F32 || b->dtype != LC_F32)
        return lc_shape_fail("upsample_concat", "needs float32 tensors:", a, b);
    int64_t N = a->shape[0], Ca = a->shape[1], Cb = b->shape[1], H = a->shape[2], W = a->shape[3];
    lc_tensor *in[2] = {a, b};
    LC_TRY(lc_tensor_out(c, y, 4, (int64_t[]){N, Ca + Cb, H * f, W * f}, in, 2));
    LC_TRY(lc_check_numel("upsample_concat", *y));
    cl_kernel k;
    LC_TRY(lc_kernel(c, &k, "misc", "upcat_fwd"));
    int yo = lc_i((*y)->off), ao = lc_i(a->off), bo = lc_i(b->off), n = (int)N, ca = (int)Ca,
        cb = (int)Cb, h = (int)H, w = (int)W;
    LC_SET(k, 0, (*y)->buf);
    LC_SET(k, 1, yo);
    LC_SET(k, 2, a->buf);
    LC_SET(k, 3, ao);
    LC_SET(k, 4, b->buf);
    LC_SET(k, 5, bo);
    LC_SET(k, 6, n);
    LC_SET(k, 7, ca);
    LC_SET(k, 8, cb);
    LC_SET(k, 9, h);
    LC_SET(k, 10, w);
    LC_SET(k, 11, f);
    LC_TRY(lc_launch1(c, k, "upsample_concat", (size_t)N * (Ca + Cb)));
    lc_node *nd;
    LC_TRY(lc_record(c, &nd, "upsample_concat", upcat_bw, *y, in, 2));
    if (nd) {
        int64_t v[6] = {N, Ca, Cb, H, W, f};
        for (int i = 0; i < 6; i++)
            nd->iv[i] = v[i];
    }
    return LC_OK;
}
