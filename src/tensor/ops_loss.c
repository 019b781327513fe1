// Losses (cl/loss.cl). Each forward writes the loss and, in the same kernel,
// the gradient scaled by the reduction; the backward multiplies that saved
// gradient by the upstream gradient (one axpy per input).
#include "tensor/tensor_internal.h"

static size_t groups_for(size_t items) {
    size_t g = (items + LC_LOCAL - 1) / LC_LOCAL;
    if (g < 1) g = 1;
    return g > LC_REDUCE_GROUPS ? LC_REDUCE_GROUPS : g;
}

// Node: saved[i] = the gradient for in[i] (NULL: none).
static lc_status loss_bw(lc_ctx *c, lc_node *nd) {
    cl_mem gy;
    size_t gyo;
    lc_grad_source(nd->out, &gy, &gyo);
    for (int i = 0; i < 4; i++) {
        if (!nd->saved[i]) continue;
        int wants, acc;
        cl_mem g;
        size_t go;
        LC_TRY(lc_grad_target(c, nd->in[i], &wants, &g, &go, &acc));
        if (!wants) continue;
        LC_TRY(lc_axpy(c, g, go, nd->saved[i]->buf, 0, nd->in[i]->numel, 1.0f, gy, gyo, acc));
    }
    return LC_OK;
}

static float reduction_scale(const lc_tensor *x, lc_reduction red) {
    if (red == LC_REDUCE_SUM) return 1.0f;
    if (red == LC_REDUCE_BATCH_MEAN) return 1.0f / (float)x->shape[0];
    return 1.0f / (float)x->numel;
}

lc_status lc_cross_entropy(lc_ctx *c, lc_tensor **loss, lc_tensor *logits, lc_tensor *labels) {
    *loss = NULL;
    if (logits->ndim != 2 || labels->ndim != 1 || labels->shape[0] != logits->shape[0] ||
        labels->dtype != LC_I32 || logits->dtype != LC_F32)
        return lc_shape_fail("cross_entropy", "needs logits (N, K) float and labels (N) int32, got",
                             logits, labels);
    LC_TRY(lc_check_numel("cross_entropy", logits));
    int rows = lc_i(logits->shape[0]), K = lc_i(logits->shape[1]);
    lc_tensor *grad;
    LC_TRY(lc_tensor_new(c, &grad, 2, logits->shape));
    size_t groups = groups_for((size_t)rows);
    cl_mem partials;
    LC_TRY(lc_scratch(c, &partials, groups));
    int64_t one = 1;
    LC_TRY(lc_tensor_out(c, loss, 1, &one, &logits, 1));
    cl_kernel k;
    LC_TRY(lc_kernel(c, &k, "loss", "cross_entropy_fwd"));
    int lo = lc_i(logits->off), lbo = lc_i(labels->off);
    float scale = 1.0f / (float)rows;
    LC_SET(k, 0, partials);
    LC_SET(k, 1, grad->buf);
    LC_SET(k, 2, logits->buf);
    LC_SET(k, 3, lo);
    LC_SET(k, 4, labels->buf);
    LC_SET(k, 5, lbo);
    LC_SET(k, 6, rows);
    LC_SET(k, 7, K);
    LC_SET(k, 8, scale);
    LC_TRY(lc_launch_groups(c, k, "cross_entropy_fwd", groups));
    LC_TRY(lc_reduce_partials(c, (*loss)->buf, (*loss)->off, partials, (int)groups, scale));
    lc_node *nd;
    LC_TRY(lc_record(c, &nd, "cross_entropy", loss_bw, *loss, &logits, 1));
    if (nd) nd->saved[0] = grad;
    return LC_OK;
}

static lc_status pointwise(lc_ctx *c, lc_tensor **loss, lc_tensor *a, lc_tensor *b, int kind,
                           lc_reduction red, const char *name) {
    *loss = NULL;
    if (!lc_same_shape(a, b) || a->dtype != LC_F32 || b->dtype != LC_F32)
        return lc_shape_fail(name, "needs two float32 tensors of the same shape, got", a, b);
    if ((int)red < 0 || red > LC_REDUCE_BATCH_MEAN)
        return lc_fail(LC_ERR_INVALID_ARG, "%s: unknown reduction %d", name, (int)red);
    LC_TRY(lc_check_numel(name, a));
    lc_tensor *ga, *gb;
    LC_TRY(lc_tensor_new(c, &ga, a->ndim, a->shape));
    LC_TRY(lc_tensor_new(c, &gb, a->ndim, a->shape));
    size_t groups = groups_for((a->numel + 3) / 4);
    cl_mem partials;
    LC_TRY(lc_scratch(c, &partials, groups));
    int64_t one = 1;
    lc_tensor *in[2] = {a, b};
    LC_TRY(lc_tensor_out(c, loss, 1, &one, in, 2));
    float scale = reduction_scale(a, red);
    cl_kernel k;
    LC_TRY(lc_kernel(c, &k, "loss", "pointwise_loss_fwd"));
    int ao = lc_i(a->off), bo = lc_i(b->off), n = lc_i(a->numel);
    LC_SET(k, 0, partials);
    LC_SET(k, 1, ga->buf);
    LC_SET(k, 2, gb->buf);
    LC_SET(k, 3, a->buf);
    LC_SET(k, 4, ao);
    LC_SET(k, 5, b->buf);
    LC_SET(k, 6, bo);
    LC_SET(k, 7, n);
    LC_SET(k, 8, kind);
    LC_SET(k, 9, scale);
    LC_TRY(lc_launch_groups(c, k, name, groups));
    LC_TRY(lc_reduce_partials(c, (*loss)->buf, (*loss)->off, partials, (int)groups, scale));
    lc_node *nd;
    LC_TRY(lc_record(c, &nd, name, loss_bw, *loss, in, 2));
    if (nd) {
        nd->saved[0] = ga;
        nd->saved[1] = gb;
    }
    return LC_OK;
}

lc_status lc_bce_logits(lc_ctx *c, lc_tensor **loss, lc_tensor *x, lc_tensor *t, lc_reduction r) {
    return pointwise(c, loss, x, t, 0, r, "bce_logits");
}
lc_status lc_mse(lc_ctx *c, lc_tensor **loss, lc_tensor *p, lc_tensor *t, lc_reduction r) {
    return pointwise(c, loss, p, t, 1, r, "mse");
}
lc_status lc_kl_normal(lc_ctx *c, lc_tensor **loss, lc_tensor *mu, lc_tensor *lv, lc_reduction r) {
    return pointwise(c, loss, mu, lv, 2, r, "kl_normal");
}

// KL of two diagonal Gaussians: four inputs, four saved gradients (loss_bw).
lc_status lc_kl_gauss(lc_ctx *c, lc_tensor **loss, lc_tensor *mu1, lc_tensor *logvar1,
                      lc_tensor *mu2, lc_tensor *logvar2, lc_reduction red) {
    *loss = NULL;
    lc_tensor *in[4] = {mu1, logvar1, mu2, logvar2};
    for (int i = 1; i < 4; i++)
        if (!lc_same_shape(mu1, in[i]) || in[i]->dtype != LC_F32 || mu1->dtype != LC_F32)
            return lc_shape_fail("kl_gauss", "needs four float32 tensors of one shape, got", mu1,
                                 in[i]);
    if ((int)red < 0 || red > LC_REDUCE_BATCH_MEAN)
        return lc_fail(LC_ERR_INVALID_ARG, "kl_gauss: unknown reduction %d", (int)red);
    LC_TRY(lc_check_numel("kl_gauss", mu1));
    lc_tensor *g[4];
    for (int i = 0; i < 4; i++)
        LC_TRY(lc_tensor_new(c, &g[i], mu1->ndim, mu1->shape));
    size_t groups = groups_for(mu1->numel);
    cl_mem partials;
    LC_TRY(lc_scratch(c, &partials, groups));
    int64_t one = 1;
    LC_TRY(lc_tensor_out(c, loss, 1, &one, in, 4));
    float scale = reduction_scale(mu1, red);
    cl_kernel k;
    LC_TRY(lc_kernel(c, &k, "loss", "kl_gauss_fwd"));
    int o[4], n = lc_i(mu1->numel);
    for (int i = 0; i < 4; i++)
        o[i] = lc_i(in[i]->off);
    LC_SET(k, 0, partials);
    for (int i = 0; i < 4; i++)
        LC_SET(k, (cl_uint)(1 + i), g[i]->buf);
    for (int i = 0; i < 4; i++) {
        LC_SET(k, (cl_uint)(5 + 2 * i), in[i]->buf);
        LC_SET(k, (cl_uint)(6 + 2 * i), o[i]);
    }
    LC_SET(k, 13, n);
    LC_SET(k, 14, scale);
    LC_TRY(lc_launch_groups(c, k, "kl_gauss", groups));
    LC_TRY(lc_reduce_partials(c, (*loss)->buf, (*loss)->off, partials, (int)groups, scale));
    lc_node *nd;
    LC_TRY(lc_record(c, &nd, "kl_gauss", loss_bw, *loss, in, 4));
    if (nd)
        for (int i = 0; i < 4; i++)
            nd->saved[i] = g[i];
    return LC_OK;
}
