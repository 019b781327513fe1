// GroupNorm and LayerNorm (cl/norm.cl): one kernel family, x seen as rows
// normalised together. Forward and backward side by side.
#include "tensor/tensor_internal.h"

// LayerNorm's dgamma, dbeta (L) (+)= sums over the R rows of dy * xhat and dy: partial sums
// over chunks of rows (float4 over channels), then the chunks added (cl/norm.cl).
static lc_status layer_norm_affine_bw(lc_ctx *c, const lc_affine_grads *ag, cl_mem gy, int dyo,
                                      const lc_tensor *x, cl_mem stats, int R, int L) {
    // ~64 chunks: enough work items for every core, few partial rows to add.
    int chunk_rows = (R + 63) / 64, chunks = (R + chunk_rows - 1) / chunk_rows;
    cl_mem partial;
    LC_TRY(lc_scratch(c, &partial, (size_t)chunks * 2 * (size_t)L));
    cl_kernel k;
    LC_TRY(lc_kernel(c, &k, "norm", "norm_affine_rows"));
    int xo = lc_i(x->off);
    LC_SET(k, 0, partial);
    LC_SET(k, 1, gy);
    LC_SET(k, 2, dyo);
    LC_SET(k, 3, x->buf);
    LC_SET(k, 4, xo);
    LC_SET(k, 5, stats);
    LC_SET(k, 6, R);
    LC_SET(k, 7, L);
    LC_SET(k, 8, chunk_rows);
    LC_TRY(lc_launch1(c, k, "norm_affine_rows", (size_t)chunks * (size_t)((L + 3) / 4)));
    LC_TRY(lc_kernel(c, &k, "norm", "norm_affine_sum"));
    LC_TRY(lc_set_affine_grad_args(k, ag));
    LC_SET(k, 6, partial);
    LC_SET(k, 7, chunks);
    LC_SET(k, 8, L);
    return lc_launch1(c, k, "norm_affine_sum", (size_t)L);
}

// Node: iv = R, L, G, cpg, S; saved[0] = stats (R, 2): mean, rstd. in = {x, gamma, beta}.
static lc_status norm_bw(lc_ctx *c, lc_node *nd) {
    lc_tensor *x = nd->in[0], *gamma = nd->in[1], *beta = nd->in[2];
    int R = (int)nd->iv[0], L = (int)nd->iv[1], G = (int)nd->iv[2], cpg = (int)nd->iv[3],
        S = (int)nd->iv[4], affine = gamma != NULL;
    cl_mem gy, stats = nd->saved[0]->buf;
    size_t gyo;
    lc_grad_source(nd->out, &gy, &gyo);
    int dyo = lc_i(gyo), xo = lc_i(x->off), gmo = affine ? lc_i(gamma->off) : 0;
    int wants, acc;
    cl_mem g;
    size_t go;
    LC_TRY(lc_grad_target(c, x, &wants, &g, &go, &acc));
    if (wants) {
        cl_kernel k;
        LC_TRY(lc_kernel(c, &k, "norm", "norm_bwd_x"));
        int dxo = lc_i(go);
        cl_mem gm = affine ? gamma->buf : x->buf;
        LC_SET(k, 0, g);
        LC_SET(k, 1, dxo);
        LC_SET(k, 2, gy);
        LC_SET(k, 3, dyo);
        LC_SET(k, 4, x->buf);
        LC_SET(k, 5, xo);
        LC_SET(k, 6, stats);
        LC_SET(k, 7, gm);
        LC_SET(k, 8, gmo);
        LC_SET(k, 9, affine);
        LC_SET(k, 10, R);
        LC_SET(k, 11, L);
        LC_SET(k, 12, G);
        LC_SET(k, 13, cpg);
        LC_SET(k, 14, S);
        LC_SET(k, 15, acc);
        LC_TRY(lc_launch1(c, k, "norm_bwd_x", (size_t)R));
    }
    if (!affine) return LC_OK;
    lc_affine_grads ag;
    LC_TRY(lc_affine_grad_targets(c, &ag, &wants, gamma, beta, (size_t)G * cpg));
    if (!wants) return LC_OK;
    if (G == 1 && S == 1) return layer_norm_affine_bw(c, &ag, gy, dyo, x, stats, R, L);
    cl_kernel k;
    LC_TRY(lc_kernel(c, &k, "norm", "norm_bwd_affine"));
    LC_TRY(lc_set_affine_grad_args(k, &ag));
    LC_SET(k, 6, gy);
    LC_SET(k, 7, dyo);
    LC_SET(k, 8, x->buf);
    LC_SET(k, 9, xo);
    LC_SET(k, 10, stats);
    LC_SET(k, 11, R);
    LC_SET(k, 12, L);
    LC_SET(k, 13, G);
    LC_SET(k, 14, cpg);
    LC_SET(k, 15, S);
    return lc_launch1(c, k, "norm_bwd_affine", (size_t)G * cpg);
}

static lc_status norm(lc_ctx *c, lc_tensor **y, lc_tensor *x, lc_tensor *gamma, lc_tensor *beta,
                      float eps, int R, int L, int G, int cpg, int S, const char *name) {
    LC_TRY(lc_check_numel(name, x));
    lc_tensor *stats, *in[3] = {x, gamma, beta};
    LC_TRY(lc_tensor_new(c, &stats, 2, (int64_t[]){R, 2}));
    LC_TRY(lc_tensor_out(c, y, x->ndim, x->shape, in, 3));
    cl_kernel k;
    LC_TRY(lc_kernel(c, &k, "norm", "norm_fwd"));
    int xo = lc_i(x->off), affine = gamma != NULL, gmo = affine ? lc_i(gamma->off) : 0,
        bto = affine ? lc_i(beta->off) : 0;
    cl_mem gm = affine ? gamma->buf : x->buf, bt = affine ? beta->buf : x->buf;
    LC_SET(k, 0, (*y)->buf);
    LC_SET(k, 1, x->buf);
    LC_SET(k, 2, xo);
    LC_SET(k, 3, gm);
    LC_SET(k, 4, gmo);
    LC_SET(k, 5, bt);
    LC_SET(k, 6, bto);
    LC_SET(k, 7, affine);
    LC_SET(k, 8, stats->buf);
    LC_SET(k, 9, R);
    LC_SET(k, 10, L);
    LC_SET(k, 11, G);
    LC_SET(k, 12, cpg);
    LC_SET(k, 13, S);
    LC_SET(k, 14, eps);
    LC_TRY(lc_launch1(c, k, name, (size_t)R));
    lc_node *nd;
    LC_TRY(lc_record(c, &nd, name, norm_bw, *y, in, 3));
    if (nd) {
        int64_t v[5] = {R, L, G, cpg, S};
        for (int i = 0; i < 5; i++)
            nd->iv[i] = v[i];
        nd->saved[0] = stats;
    }
    return LC_OK;
}

static int affine_ok(const lc_tensor *g, const lc_tensor *b, int64_t C) {
    if (!g && !b) return 1;
    return g && b && g->ndim == 1 && b->ndim == 1 && g->shape[0] == C && b->shape[0] == C;
}

lc_status lc_group_norm(lc_ctx *c, lc_tensor **y, lc_tensor *x, int groups, lc_tensor *gamma,
                        lc_tensor *beta, float eps) {
    *y = NULL;
    if (x->ndim < 2 || groups < 1 || x->shape[1] % groups)
        return lc_fail(LC_ERR_SHAPE, "group_norm: %d groups for x %s (C must divide)", groups,
                       lc_shape_str(x, (char[96]){0}, 96));
    int64_t C = x->shape[1];
    if (!affine_ok(gamma, beta, C))
        return lc_shape_fail("group_norm", "gamma and beta must both be (C) (or both NULL) for x",
                             x, gamma ? gamma : beta);
    int N = (int)x->shape[0], S = (int)(x->numel / (size_t)N / (size_t)C), cpg = (int)C / groups;
    return norm(c, y, x, gamma, beta, eps, N * groups, cpg * S, groups, cpg, S, "group_norm");
}

lc_status lc_layer_norm(lc_ctx *c, lc_tensor **y, lc_tensor *x, lc_tensor *gamma, lc_tensor *beta,
                        float eps) {
    *y = NULL;
    int64_t C = x->shape[x->ndim - 1];
    if (!affine_ok(gamma, beta, C))
        return lc_shape_fail("layer_norm", "gamma and beta must both be (C) (or both NULL) for x",
                             x, gamma ? gamma : beta);
    int R = (int)(x->numel / (size_t)C);
    return norm(c, y, x, gamma, beta, eps, R, (int)C, 1, (int)C, 1, "layer_norm");
}
