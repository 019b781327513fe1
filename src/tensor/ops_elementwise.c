// Elementwise ops (cl/elementwise.cl): unary chains, broadcast binary ops and
// the fused bias + activation. Forward and backward side by side.
#include <string.h>

#include "tensor/tensor_internal.h"

// --- unary chains: y = f_n(...f_1(x)) --------------------------------------
// Node: iv[0] = n, iv[1 + i] = act of step i; fv[2i], fv[2i + 1] = its alpha, beta.

typedef struct {
    cl_int8 ops;
    cl_float8 a, b;
    int n;
} chain_args;

static lc_status chain_pack(chain_args *ca, int n, const lc_unary_step *steps) {
    memset(ca, 0, sizeof *ca);
    if (n < 1 || n > LC_CHAIN_MAX)
        return lc_fail(LC_ERR_INVALID_ARG, "chain: %d steps (1..%d allowed)", n, LC_CHAIN_MAX);
    for (int i = 0; i < n; i++) {
        if ((int)steps[i].act < 0 || steps[i].act >= LC_ACT_COUNT)
            return lc_fail(LC_ERR_INVALID_ARG, "chain: unknown activation %d", (int)steps[i].act);
        ca->ops.s[i] = (cl_int)steps[i].act;
        ca->a.s[i] = steps[i].alpha;
        ca->b.s[i] = steps[i].beta;
    }
    ca->n = n;
    return LC_OK;
}

static void chain_store(lc_node *nd, const chain_args *ca) {
    nd->iv[0] = ca->n;
    for (int i = 0; i < ca->n; i++) {
        nd->iv[1 + i] = ca->ops.s[i];
        nd->fv[2 * i] = ca->a.s[i];
        nd->fv[2 * i + 1] = ca->b.s[i];
    }
}

static void chain_load(chain_args *ca, const lc_node *nd) {
    memset(ca, 0, sizeof *ca);
    ca->n = (int)nd->iv[0];
    for (int i = 0; i < ca->n; i++) {
        ca->ops.s[i] = (cl_int)nd->iv[1 + i];
        ca->a.s[i] = nd->fv[2 * i];
        ca->b.s[i] = nd->fv[2 * i + 1];
    }
}

static lc_status chain_bw(lc_ctx *c, lc_node *nd);

static lc_status launch_chain_fwd(lc_ctx *c, lc_tensor *y, lc_tensor *x, const chain_args *ca) {
    cl_kernel k;
    LC_TRY(lc_kernel(c, &k, "elementwise", "chain_fwd"));
    int yo = lc_i(y->off), xo = lc_i(x->off), n = lc_i(x->numel);
    LC_SET(k, 0, y->buf);
    LC_SET(k, 1, yo);
    LC_SET(k, 2, x->buf);
    LC_SET(k, 3, xo);
    LC_SET(k, 4, n);
    LC_SET(k, 5, ca->n);
    LC_SET(k, 6, ca->ops);
    LC_SET(k, 7, ca->a);
    LC_SET(k, 8, ca->b);
    return lc_launch1(c, k, "chain_fwd", (x->numel + 3) / 4);
}

lc_status lc_chain(lc_ctx *c, lc_tensor **y, lc_tensor *x, int n, const lc_unary_step *steps) {
    *y = NULL;
    chain_args ca;
    LC_TRY(chain_pack(&ca, n, steps));
    if (x->dtype != LC_F32) return lc_shape_fail("chain", "needs float32, got int32", x, NULL);
    LC_TRY(lc_check_numel("chain", x));
    LC_TRY(lc_tensor_out(c, y, x->ndim, x->shape, &x, 1));
    LC_TRY(launch_chain_fwd(c, *y, x, &ca));
    lc_node *nd;
    LC_TRY(lc_record(c, &nd, n == 1 ? "unary" : "chain", chain_bw, *y, &x, 1));
    if (nd) chain_store(nd, &ca);
    return LC_OK;
}

static lc_status chain_bw(lc_ctx *c, lc_node *nd) {
    lc_tensor *x = nd->in[0], *y = nd->out;
    int wants, acc;
    cl_mem gx, gy;
    size_t gxo, gyo;
    LC_TRY(lc_grad_target(c, x, &wants, &gx, &gxo, &acc));
    if (!wants) return LC_OK;
    lc_grad_source(y, &gy, &gyo);
    chain_args ca;
    chain_load(&ca, nd);
    cl_kernel k;
    LC_TRY(lc_kernel(c, &k, "elementwise", "chain_bwd"));
    int dxo = lc_i(gxo), dyo = lc_i(gyo), xo = lc_i(x->off), n = lc_i(x->numel);
    LC_SET(k, 0, gx);
    LC_SET(k, 1, dxo);
    LC_SET(k, 2, gy);
    LC_SET(k, 3, dyo);
    LC_SET(k, 4, x->buf);
    LC_SET(k, 5, xo);
    LC_SET(k, 6, n);
    LC_SET(k, 7, ca.n);
    LC_SET(k, 8, ca.ops);
    LC_SET(k, 9, ca.a);
    LC_SET(k, 10, ca.b);
    LC_SET(k, 11, acc);
    return lc_launch1(c, k, "chain_bwd", (x->numel + 3) / 4);
}

lc_status lc_unary(lc_ctx *c, lc_tensor **y, lc_tensor *x, lc_act act, float alpha, float beta) {
    lc_unary_step s = {act, alpha, beta};
    return lc_chain(c, y, x, 1, &s);
}

lc_status lc_relu(lc_ctx *c, lc_tensor **y, lc_tensor *x) {
    return lc_unary(c, y, x, LC_ACT_RELU, 0, 0);
}
lc_status lc_leaky_relu(lc_ctx *c, lc_tensor **y, lc_tensor *x, float slope) {
    return lc_unary(c, y, x, LC_ACT_LEAKY_RELU, slope, 0);
}
lc_status lc_silu(lc_ctx *c, lc_tensor **y, lc_tensor *x) {
    return lc_unary(c, y, x, LC_ACT_SILU, 0, 0);
}
lc_status lc_gelu(lc_ctx *c, lc_tensor **y, lc_tensor *x) {
    return lc_unary(c, y, x, LC_ACT_GELU, 0, 0);
}
lc_status lc_sigmoid(lc_ctx *c, lc_tensor **y, lc_tensor *x) {
    return lc_unary(c, y, x, LC_ACT_SIGMOID, 0, 0);
}
lc_status lc_tanh(lc_ctx *c, lc_tensor **y, lc_tensor *x) {
    return lc_unary(c, y, x, LC_ACT_TANH, 0, 0);
}
lc_status lc_exp(lc_ctx *c, lc_tensor **y, lc_tensor *x) {
    return lc_unary(c, y, x, LC_ACT_EXP, 0, 0);
}
lc_status lc_log(lc_ctx *c, lc_tensor **y, lc_tensor *x) {
    return lc_unary(c, y, x, LC_ACT_LOG, 0, 0);
}
lc_status lc_softplus(lc_ctx *c, lc_tensor **y, lc_tensor *x) {
    return lc_unary(c, y, x, LC_ACT_SOFTPLUS, 0, 0);
}
lc_status lc_scale(lc_ctx *c, lc_tensor **y, lc_tensor *x, float s) {
    return lc_unary(c, y, x, LC_ACT_SCALE, s, 0);
}

// --- broadcast binary ops: y = a op b, b repeated over a's leading dims ------
// iv[0] = op (0 add, 1 sub, 2 mul).

static lc_status binary_bw(lc_ctx *c, lc_node *nd) {
    lc_tensor *a = nd->in[0], *b = nd->in[1], *y = nd->out;
    int op = (int)nd->iv[0];
    cl_mem gy;
    size_t gyo;
    lc_grad_source(y, &gy, &gyo);
    int n = lc_i(a->numel), nb = lc_i(b->numel), dyo = lc_i(gyo);
    int wants, acc;
    cl_mem g;
    size_t go;
    LC_TRY(lc_grad_target(c, a, &wants, &g, &go, &acc));
    if (wants) {
        cl_kernel k;
        LC_TRY(lc_kernel(c, &k, "elementwise", "binary_bwd_a"));
        int dao = lc_i(go), bo = lc_i(b->off);
        LC_SET(k, 0, g);
        LC_SET(k, 1, dao);
        LC_SET(k, 2, gy);
        LC_SET(k, 3, dyo);
        LC_SET(k, 4, b->buf);
        LC_SET(k, 5, bo);
        LC_SET(k, 6, n);
        LC_SET(k, 7, nb);
        LC_SET(k, 8, op);
        LC_SET(k, 9, acc);
        LC_TRY(lc_launch1(c, k, "binary_bwd_a", (a->numel + 3) / 4));
    }
    LC_TRY(lc_grad_target(c, b, &wants, &g, &go, &acc));
    if (wants) {
        // db = column sums over the repeats of dy (times a for mul, negated for sub).
        cl_kernel k;
        LC_TRY(lc_kernel(c, &k, "elementwise", "colsum"));
        int oo = lc_i(go), ao = lc_i(a->off), rows = n / nb, mode = op == 2;
        float s = op == 1 ? -1.0f : 1.0f;
        LC_SET(k, 0, g);
        LC_SET(k, 1, oo);
        LC_SET(k, 2, gy);
        LC_SET(k, 3, dyo);
        LC_SET(k, 4, a->buf);
        LC_SET(k, 5, ao);
        LC_SET(k, 6, rows);
        LC_SET(k, 7, nb);
        LC_SET(k, 8, mode);
        LC_SET(k, 9, s);
        LC_SET(k, 10, acc);
        LC_TRY(lc_launch1(c, k, "colsum", ((size_t)nb + 3) / 4));
    }
    return LC_OK;
}

static lc_status binary(lc_ctx *c, lc_tensor **y, lc_tensor *a, lc_tensor *b, int op,
                        const char *name) {
    *y = NULL;
    if (!lc_trailing_match(a, b))
        return lc_shape_fail(name, "b must match the trailing dims of a:", a, b);
    if (a->dtype != LC_F32 || b->dtype != LC_F32)
        return lc_shape_fail(name, "needs float32 tensors:", a, b);
    LC_TRY(lc_check_numel(name, a));
    lc_tensor *in[2] = {a, b};
    LC_TRY(lc_tensor_out(c, y, a->ndim, a->shape, in, 2));
    cl_kernel k;
    LC_TRY(lc_kernel(c, &k, "elementwise", "binary_fwd"));
    int yo = lc_i((*y)->off), ao = lc_i(a->off), bo = lc_i(b->off), n = lc_i(a->numel),
        nb = lc_i(b->numel);
    LC_SET(k, 0, (*y)->buf);
    LC_SET(k, 1, yo);
    LC_SET(k, 2, a->buf);
    LC_SET(k, 3, ao);
    LC_SET(k, 4, b->buf);
    LC_SET(k, 5, bo);
    LC_SET(k, 6, n);
    LC_SET(k, 7, nb);
    LC_SET(k, 8, op);
    LC_TRY(lc_launch1(c, k, name, (a->numel + 3) / 4));
    lc_node *nd;
    LC_TRY(lc_record(c, &nd, name, binary_bw, *y, in, 2));
    if (nd) nd->iv[0] = op;
    return LC_OK;
}

lc_status lc_add(lc_ctx *c, lc_tensor **y, lc_tensor *a, lc_tensor *b) {
    return binary(c, y, a, b, 0, "add");
}
lc_status lc_sub(lc_ctx *c, lc_tensor **y, lc_tensor *a, lc_tensor *b) {
    return binary(c, y, a, b, 1, "sub");
}
lc_status lc_mul(lc_ctx *c, lc_tensor **y, lc_tensor *a, lc_tensor *b) {
    return binary(c, y, a, b, 2, "mul");
}

// --- fused bias + activation: y = act(x + b) ---------------------------------
// iv[0] = act; fv[0] = alpha. in = {x, b}.

// The launches of bias_act's backward: dx (+)= dz when want_dx, db (+)= column sums of dz when
// want_db, dz = dy * act'(x + b). x, y and b may be NULL for LC_ACT_NONE (dz = dy).
static lc_status bias_act_grads(lc_ctx *c, int op, float alpha, int rows, int cols, cl_mem gx,
                                size_t gxo, int want_dx, int acc_dx, cl_mem gb, size_t gbo,
                                int want_db, int acc_db, cl_mem gy, size_t gyo, const lc_tensor *x,
                                const lc_tensor *y, const lc_tensor *b) {
    if (!want_dx) gx = gy, gxo = 0;
    // Rows in chunks of at least 32, at most 64 chunks: the bias sums go through (chunks,
    // cols) partials. The chunking follows the shape alone, so the sums are reproducible.
    int chunk_rows = rows / 64 > 32 ? (rows + 63) / 64 : 32;
    int chunks = (rows + chunk_rows - 1) / chunk_rows;
    cl_mem partial = gy;
    if (want_db) LC_TRY(lc_scratch(c, &partial, (size_t)chunks * (size_t)cols));
    cl_kernel k;
    LC_TRY(lc_kernel(c, &k, "elementwise", "bias_act_bwd"));
    int dxo = lc_i(gxo), dyo = lc_i(gyo), xo = x ? lc_i(x->off) : 0, yo = y ? lc_i(y->off) : 0;
    int has_b = b != NULL, bo = b ? lc_i(b->off) : 0;
    cl_mem xb = x ? x->buf : gy, yb = y ? y->buf : gy, bb = b ? b->buf : xb;
    LC_SET(k, 0, gx);
    LC_SET(k, 1, dxo);
    LC_SET(k, 2, want_dx);
    LC_SET(k, 3, acc_dx);
    LC_SET(k, 4, partial);
    LC_SET(k, 5, want_db);
    LC_SET(k, 6, gy);
    LC_SET(k, 7, dyo);
    LC_SET(k, 8, xb);
    LC_SET(k, 9, xo);
    LC_SET(k, 10, yb);
    LC_SET(k, 11, yo);
    LC_SET(k, 12, bb);
    LC_SET(k, 13, bo);
    LC_SET(k, 14, rows);
    LC_SET(k, 15, cols);
    LC_SET(k, 16, chunk_rows);
    LC_SET(k, 17, has_b);
    LC_SET(k, 18, op);
    LC_SET(k, 19, alpha);
    LC_TRY(lc_launch1(c, k, "bias_act_bwd", (size_t)chunks * (((size_t)cols + 3) / 4)));
    if (!want_db) return LC_OK;
    // db (+)= the partials' column sums.
    LC_TRY(lc_kernel(c, &k, "elementwise", "colsum"));
    int zero = 0, dbo = lc_i(gbo), mode = 0;
    float one = 1.0f;
    LC_SET(k, 0, gb);
    LC_SET(k, 1, dbo);
    LC_SET(k, 2, partial);
    LC_SET(k, 3, zero);
    LC_SET(k, 4, partial);
    LC_SET(k, 5, zero);
    LC_SET(k, 6, chunks);
    LC_SET(k, 7, cols);
    LC_SET(k, 8, mode);
    LC_SET(k, 9, one);
    LC_SET(k, 10, acc_db);
    return lc_launch1(c, k, "bias_act_bwd_sum", ((size_t)cols + 3) / 4);
}

static lc_status bias_act_bw(lc_ctx *c, lc_node *nd) {
    lc_tensor *x = nd->in[0], *b = nd->in[1], *y = nd->out;
    int cols = lc_i(x->shape[x->ndim - 1]), rows = lc_i(x->numel / (size_t)cols);
    int want_dx, acc_dx, want_db = 0, acc_db = 0;
    cl_mem gx, gb = NULL, gy;
    size_t gxo, gbo = 0, gyo;
    LC_TRY(lc_grad_target(c, x, &want_dx, &gx, &gxo, &acc_dx));
    if (b) LC_TRY(lc_grad_target(c, b, &want_db, &gb, &gbo, &acc_db));
    if (!want_dx && !want_db) return LC_OK;
    lc_grad_source(y, &gy, &gyo);
    return bias_act_grads(c, (int)nd->iv[0], nd->fv[0], rows, cols, gx, gxo, want_dx, acc_dx, gb,
                          gbo, want_db, acc_db, gy, gyo, x, y, b);
}

lc_status lc_bias_grad(lc_ctx *c, cl_mem gb, size_t gbo, int acc, cl_mem gy, size_t gyo, int rows,
                       int cols) {
    return bias_act_grads(c, 0, 0.0f, rows, cols, NULL, 0, 0, 0, gb, gbo, 1, acc, gy, gyo, NULL,
                          NULL, NULL);
}

lc_status lc_bias_act(lc_ctx *c, lc_tensor **y, lc_tensor *x, lc_tensor *b, lc_act act,
                      float alpha) {
    *y = NULL;
    if ((int)act < 0 || act >= LC_ACT_COUNT || act == LC_ACT_SCALE)
        return lc_fail(LC_ERR_INVALID_ARG, "bias_act: activation %d not supported", (int)act);
    if (b && (b->ndim != 1 || b->shape[0] != x->shape[x->ndim - 1]))
        return lc_shape_fail("bias_act", "bias must be (C) for x (..., C):", x, b);
    LC_TRY(lc_check_numel("bias_act", x));
    lc_tensor *in[2] = {x, b};
    LC_TRY(lc_tensor_out(c, y, x->ndim, x->shape, in, 2));
    cl_kernel k;
    LC_TRY(lc_kernel(c, &k, "elementwise", "bias_act_fwd"));
    int yo = lc_i((*y)->off), xo = lc_i(x->off), bo = b ? lc_i(b->off) : 0, n = lc_i(x->numel),
        cols = lc_i(x->shape[x->ndim - 1]), has_b = b != NULL, op = (int)act;
    cl_mem bb = b ? b->buf : x->buf;
    LC_SET(k, 0, (*y)->buf);
    LC_SET(k, 1, yo);
    LC_SET(k, 2, x->buf);
    LC_SET(k, 3, xo);
    LC_SET(k, 4, bb);
    LC_SET(k, 5, bo);
    LC_SET(k, 6, n);
    LC_SET(k, 7, cols);
    LC_SET(k, 8, has_b);
    LC_SET(k, 9, op);
    LC_SET(k, 10, alpha);
    LC_TRY(lc_launch1(c, k, "bias_act_fwd", (x->numel + 3) / 4));
    lc_node *nd;
    LC_TRY(lc_record(c, &nd, "bias_act", bias_act_bw, *y, in, 2));
    if (nd) {
        nd->iv[0] = act;
        nd->fv[0] = alpha;
    }
    return LC_OK;
}
