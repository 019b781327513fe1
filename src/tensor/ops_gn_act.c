// GroupNorm + shift + activation in one pass each way (cl/gn_act.cl; ops_gn_act.h).
#include "tensor/conv_gpu.h"
#include "tensor/ops_gn_act.h"
#include "tensor/tensor_internal.h"

// Node: in = {x, add, gamma, beta}; iv = N, C, G, S, act; saved[0] = stats (N G, 2).
static lc_status gn_act_bw(lc_ctx *c, lc_node *nd) {
    lc_tensor *x = nd->in[0], *add = nd->in[1], *gamma = nd->in[2], *beta = nd->in[3];
    int N = (int)nd->iv[0], C = (int)nd->iv[1], G = (int)nd->iv[2], S = (int)nd->iv[3],
        act = (int)nd->iv[4];
    cl_mem gy, part;
    size_t gyo;
    lc_grad_source(nd->out, &gy, &gyo);
    int wx = 0, ax = 0, wa = 0, aa = 0;
    cl_mem gx = x->buf, ga = x->buf;
    size_t gxo = 0, gao = 0;
    LC_TRY(lc_grad_target(c, x, &wx, &gx, &gxo, &ax));
    if (add) LC_TRY(lc_grad_target(c, add, &wa, &ga, &gao, &aa));
    if (!wx) gx = x->buf, gxo = 0;
    if (!wa) ga = x->buf, gao = 0;
    LC_TRY(lc_scratch(c, &part, (size_t)N * C * 2));
    // dz = dy act'(u) is kept between the kernel's two passes: in dx itself when dx is written
    // fresh (overwritten in place), else in a scratch (N, C, S); unused without an activation.
    cl_mem dzs = gx;
    int zo = lc_i(gxo);
    if (act && (!wx || ax)) {
        LC_TRY(lc_scratch(c, &dzs, (size_t)N * C * S));
        zo = 0;
    }
    cl_kernel k;
    int gpu = lc_conv_gpu(c); // cl/conv_gpu.cl: one work-group per row
    if (gpu)
        LC_TRY(lc_kernel(c, &k, "conv_gpu", "gn_act_bwd_g"));
    else
        LC_TRY(lc_kernel(c, &k, "gn_act", "gn_act_bwd"));
    int dxo = lc_i(gxo), dao = lc_i(gao), dyo = lc_i(gyo), xo = lc_i(x->off), has_add = add != NULL,
        ao = add ? lc_i(add->off) : 0, gmo = lc_i(gamma->off), bto = lc_i(beta->off);
    cl_mem ab = add ? add->buf : x->buf, stats = nd->saved[0]->buf;
    LC_SET(k, 0, gx);
    LC_SET(k, 1, dxo);
    LC_SET(k, 2, wx);
    LC_SET(k, 3, ax);
    LC_SET(k, 4, ga);
    LC_SET(k, 5, dao);
    LC_SET(k, 6, wa);
    LC_SET(k, 7, aa);
    LC_SET(k, 8, part);
    LC_SET(k, 9, dzs);
    LC_SET(k, 10, zo);
    LC_SET(k, 11, gy);
    LC_SET(k, 12, dyo);
    LC_SET(k, 13, x->buf);
    LC_SET(k, 14, xo);
    LC_SET(k, 15, ab);
    LC_SET(k, 16, ao);
    LC_SET(k, 17, has_add);
    LC_SET(k, 18, gamma->buf);
    LC_SET(k, 19, gmo);
    LC_SET(k, 20, beta->buf);
    LC_SET(k, 21, bto);
    LC_SET(k, 22, stats);
    LC_SET(k, 23, N);
    LC_SET(k, 24, C);
    LC_SET(k, 25, G);
    LC_SET(k, 26, S);
    LC_SET(k, 27, act);
    LC_TRY(gpu ? lc_launch_groups(c, k, "gn_act_bwd_gpu", (size_t)N * G)
               : lc_launch1(c, k, "gn_act_bwd", (size_t)N * G));
    lc_affine_grads ag;
    int wants_affine;
    LC_TRY(lc_affine_grad_targets(c, &ag, &wants_affine, gamma, beta, (size_t)C));
    if (!wants_affine) return LC_OK;
    LC_TRY(lc_kernel(c, &k, "gn_act", "gn_act_affine"));
    LC_TRY(lc_set_affine_grad_args(k, &ag));
    LC_SET(k, 6, part);
    LC_SET(k, 7, N);
    LC_SET(k, 8, C);
    return lc_launch1(c, k, "gn_act_affine", (size_t)C);
}

lc_status lc_group_norm_act(lc_ctx *c, lc_tensor **y, lc_tensor *x, lc_tensor *add, int groups,
                            lc_tensor *gamma, lc_tensor *beta, float eps, lc_act act) {
    *y = NULL;
    if (x->ndim < 2 || groups < 1 || x->shape[1] % groups)
        return lc_fail(LC_ERR_SHAPE, "group_norm_act: %d groups for x %s (C must divide)", groups,
                       lc_shape_str(x, (char[96]){0}, 96));
    int64_t N = x->shape[0], C = x->shape[1];
    if (!gamma || !beta || gamma->ndim != 1 || beta->ndim != 1 || gamma->shape[0] != C ||
        beta->shape[0] != C)
        return lc_shape_fail("group_norm_act", "gamma and beta must both be (C) for x", x,
                             gamma ? gamma : beta);
    if (add && (add->ndim != 2 || add->shape[0] != N || add->shape[1] != C))
        return lc_shape_fail("group_norm_act", "add must be (N, C) for x", x, add);
    if (act != LC_ACT_NONE && act != LC_ACT_SILU)
        return lc_fail(LC_ERR_INVALID_ARG, "group_norm_act: activation %d (NONE or SILU)",
                       (int)act);
    LC_TRY(lc_check_numel("group_norm_act", x));
    int S = (int)(x->numel / (size_t)N / (size_t)C), G = groups, a = act == LC_ACT_SILU;
    lc_tensor *stats, *in[4] = {x, add, gamma, beta};
    LC_TRY(lc_tensor_new(c, &stats, 2, (int64_t[]){N * G, 2}));
    LC_TRY(lc_tensor_out(c, y, x->ndim, x->shape, in, 4));
    cl_kernel k;
    int gpu = lc_conv_gpu(c); // cl/conv_gpu.cl: one work-group per row
    if (gpu)
        LC_TRY(lc_kernel(c, &k, "conv_gpu", "gn_act_fwd_g"));
    else
        LC_TRY(lc_kernel(c, &k, "gn_act", "gn_act_fwd"));
    int yo = lc_i((*y)->off), xo = lc_i(x->off), has_add = add != NULL,
        ao = add ? lc_i(add->off) : 0, gmo = lc_i(gamma->off), bto = lc_i(beta->off), n = (int)N,
        ch = (int)C;
    cl_mem ab = add ? add->buf : x->buf;
    LC_SET(k, 0, (*y)->buf);
    LC_SET(k, 1, yo);
    LC_SET(k, 2, x->buf);
    LC_SET(k, 3, xo);
    LC_SET(k, 4, ab);
    LC_SET(k, 5, ao);
    LC_SET(k, 6, has_add);
    LC_SET(k, 7, gamma->buf);
    LC_SET(k, 8, gmo);
    LC_SET(k, 9, beta->buf);
    LC_SET(k, 10, bto);
    LC_SET(k, 11, stats->buf);
    LC_SET(k, 12, n);
    LC_SET(k, 13, ch);
    LC_SET(k, 14, G);
    LC_SET(k, 15, S);
    LC_SET(k, 16, a);
    LC_SET(k, 17, eps);
    LC_TRY(gpu ? lc_launch_groups(c, k, "gn_act_fwd_gpu", (size_t)N * G)
               : lc_launch1(c, k, "gn_act_fwd", (size_t)N * G));
    lc_node *nd;
    LC_TRY(lc_record(c, &nd, "group_norm_act", gn_act_bw, *y, in, 4));
    if (nd) {
        int64_t v[5] = {N, C, G, S, a};
        for (int i = 0; i < 5; i++)
            nd->iv[i] = v[i];
        nd->saved[0] = stats;
    }
    return LC_OK;
}
