// Layers over the one parameter buffer (see include/latentcl/nn.h).
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "latentcl/nn.h"
#include "nn/init_default.h"

static lc_status set_name(char *dst, const char *name) {
    if (strlen(name) + 16 >= LC_LAYER_NAME_MAX)
        return lc_fail(LC_ERR_INVALID_ARG, "layer name too long: %s", name);
    strcpy(dst, name);
    return LC_OK;
}

static lc_status add(lc_params *p, const char *layer, const char *what, int ndim,
                     const int64_t *shape, size_t *off) {
    char name[LC_PARAM_NAME_MAX];
    snprintf(name, sizeof name, "%s%s%s", layer, *layer ? "." : "", what);
    return lc_params_add(p, name, ndim, shape, off);
}

static lc_status param(lc_ctx *ctx, lc_tensor **t, lc_params *p, size_t off, int ndim,
                       const int64_t *shape) {
    return lc_tensor_param_at(ctx, t, p, off, ndim, shape);
}

// --- linear ------------------------------------------------------------------------

lc_status lc_linear_declare(lc_linear *l, lc_params *p, const char *name, int64_t in, int64_t out,
                            int bias) {
    memset(l, 0, sizeof *l);
    LC_TRY(set_name(l->name, name));
    l->in = in, l->out = out, l->bias = bias != 0;
    LC_TRY(add(p, name, "weight", 2, (int64_t[]){out, in}, &l->w));
    if (l->bias) LC_TRY(add(p, name, "bias", 1, &l->out, &l->b));
    return LC_OK;
}

lc_status lc_linear_reset(lc_device *dev, lc_params *p, const lc_linear *l, uint64_t seed) {
    return lc_init_torch_default(dev, p, l->name, seed);
}

lc_status lc_linear_forward(lc_ctx *ctx, lc_tensor **y, lc_params *p, const lc_linear *l,
                            lc_tensor *x, lc_act act) {
    *y = NULL;
    if (x->shape[x->ndim - 1] != l->in)
        return lc_fail(LC_ERR_SHAPE, "linear %s: x %s, expected last dim %lld", l->name,
                       lc_shape_str(x, (char[96]){0}, 96), (long long)l->in);
    lc_tensor *w, *b = NULL, *x2 = x, *y2;
    LC_TRY(param(ctx, &w, p, l->w, 2, (int64_t[]){l->out, l->in}));
    if (l->bias) LC_TRY(param(ctx, &b, p, l->b, 1, &l->out));
    int64_t rows = (int64_t)(x->numel / (size_t)l->in);
    if (x->ndim != 2) LC_TRY(lc_reshape(ctx, &x2, x, 2, (int64_t[]){rows, l->in}));
    LC_TRY(lc_linear_act(ctx, &y2, x2, w, b, act, 0.01f));
    if (x->ndim == 2) {
        *y = y2;
        return LC_OK;
    }
    int64_t shape[LC_MAX_DIMS];
    memcpy(shape, x->shape, sizeof shape);
    shape[x->ndim - 1] = l->out;
    return lc_reshape(ctx, y, y2, x->ndim, shape);
}

// --- conv / transposed conv -----------------------------------------------------------

lc_status lc_conv_declare(lc_conv *l, lc_params *p, const char *name, int64_t in, int64_t out,
                          int64_t k, int stride, int pad, int bias) {
    memset(l, 0, sizeof *l);
    LC_TRY(set_name(l->name, name));
    l->in = in, l->out = out, l->k = k, l->stride = stride, l->pad = pad, l->bias = bias != 0;
    LC_TRY(add(p, name, "weight", 4, (int64_t[]){out, in, k, k}, &l->w));
    if (l->bias) LC_TRY(add(p, name, "bias", 1, &l->out, &l->b));
    return LC_OK;
}

lc_status lc_conv_transpose_declare(lc_conv *l, lc_params *p, const char *name, int64_t in,
                                    int64_t out, int64_t k, int stride, int pad, int out_pad,
                                    int bias) {
    memset(l, 0, sizeof *l);
    LC_TRY(set_name(l->name, name));
    l->in = in, l->out = out, l->k = k, l->stride = stride, l->pad = pad, l->out_pad = out_pad;
    l->bias = bias != 0, l->transposed = 1;
    LC_TRY(add(p, name, "weight", 4, (int64_t[]){in, out, k, k}, &l->w));
    if (l->bias) LC_TRY(add(p, name, "bias", 1, &l->out, &l->b));
    return LC_OK;
}

lc_status lc_conv_reset(lc_device *dev, lc_params *p, const lc_conv *l, uint64_t seed) {
    if (!l->transposed) return lc_init_torch_default(dev, p, l->name, seed);
    // PyTorch's fan_in of a transposed conv weight (in, out, k, k) is out * k * k.
    double bound = 1.0 / sqrt((double)(l->out * l->k * l->k));
    char name[LC_PARAM_NAME_MAX];
    snprintf(name, sizeof name, "%s.weight", l->name);
    LC_TRY(lc_param_fill_uniform(dev, p, name, bound, seed));
    if (!l->bias) return LC_OK;
    snprintf(name, sizeof name, "%s.bias", l->name);
    return lc_param_fill_uniform(dev, p, name, bound, seed);
}

lc_status lc_conv_forward(lc_ctx *ctx, lc_tensor **y, lc_params *p, const lc_conv *l, lc_tensor *x,
                          lc_act act) {
    *y = NULL;
    lc_tensor *w, *b = NULL, *h;
    int64_t ws[4] = {l->transposed ? l->in : l->out, l->transposed ? l->out : l->in, l->k, l->k};
    LC_TRY(param(ctx, &w, p, l->w, 4, ws));
    if (l->bias) LC_TRY(param(ctx, &b, p, l->b, 1, &l->out));
    int fusable = act == LC_ACT_NONE || act == LC_ACT_RELU || act == LC_ACT_LEAKY_RELU ||
                  act == LC_ACT_SIGMOID || act == LC_ACT_TANH;
    if (!l->transposed && fusable) // one pass for bias + activation, forward and backward
        return lc_conv2d_act(ctx, y, x, w, b, l->stride, l->pad, act, 0.01f);
    if (l->transposed)
        LC_TRY(lc_conv_transpose2d(ctx, &h, x, w, b, l->stride, l->pad, l->out_pad));
    else
        LC_TRY(lc_conv2d(ctx, &h, x, w, b, l->stride, l->pad));
    if (act == LC_ACT_NONE) {
        *y = h;
        return LC_OK;
    }
    return lc_unary(ctx, y, h, act, 0.01f, 0);
}

// --- norms -----------------------------------------------------------------------------

static lc_status norm_declare(lc_norm *l, lc_params *p, const char *name, int groups, int64_t C,
                              float eps) {
    memset(l, 0, sizeof *l);
    LC_TRY(set_name(l->name, name));
    l->channels = C, l->groups = groups, l->eps = eps;
    LC_TRY(add(p, name, "weight", 1, &C, &l->w));
    return add(p, name, "bias", 1, &C, &l->b);
}

lc_status lc_group_norm_declare(lc_norm *l, lc_params *p, const char *name, int groups, int64_t C,
                                float eps) {
    if (groups < 1 || C % groups)
        return lc_fail(LC_ERR_INVALID_ARG, "group norm %s: %d groups for %lld channels", name,
                       groups, (long long)C);
    return norm_declare(l, p, name, groups, C, eps);
}

lc_status lc_layer_norm_declare(lc_norm *l, lc_params *p, const char *name, int64_t C, float eps) {
    return norm_declare(l, p, name, 0, C, eps);
}

lc_status lc_norm_reset(lc_device *dev, lc_params *p, const lc_norm *l) {
    char name[LC_PARAM_NAME_MAX];
    snprintf(name, sizeof name, "%s.weight", l->name);
    LC_TRY(lc_param_fill_value(dev, p, name, 1.0f));
    snprintf(name, sizeof name, "%s.bias", l->name);
    return lc_param_fill_value(dev, p, name, 0.0f);
}

lc_status lc_norm_forward(lc_ctx *ctx, lc_tensor **y, lc_params *p, const lc_norm *l,
                          lc_tensor *x) {
    lc_tensor *g, *b;
    LC_TRY(param(ctx, &g, p, l->w, 1, &l->channels));
    LC_TRY(param(ctx, &b, p, l->b, 1, &l->channels));
    if (l->groups > 0) return lc_group_norm(ctx, y, x, l->groups, g, b, l->eps);
    return lc_layer_norm(ctx, y, x, g, b, l->eps);
}

// --- embedding -------------------------------------------------------------------------

lc_status lc_embed_declare(lc_embed *l, lc_params *p, const char *name, int64_t num, int64_t dim) {
    memset(l, 0, sizeof *l);
    LC_TRY(set_name(l->name, name));
    l->num = num, l->dim = dim;
    return add(p, name, "weight", 2, (int64_t[]){num, dim}, &l->w);
}

lc_status lc_embed_reset(lc_device *dev, lc_params *p, const lc_embed *l, uint64_t seed) {
    char name[LC_PARAM_NAME_MAX];
    snprintf(name, sizeof name, "%s.weight", l->name);
    return lc_param_fill_normal(dev, p, name, 1.0, seed);
}

lc_status lc_embed_forward(lc_ctx *ctx, lc_tensor **y, lc_params *p, const lc_embed *l,
                           lc_tensor *ids) {
    lc_tensor *w;
    LC_TRY(param(ctx, &w, p, l->w, 2, (int64_t[]){l->num, l->dim}));
    return lc_embedding(ctx, y, w, ids);
}

// --- multi-head self-attention ------------------------------------------------------------

lc_status lc_mha_declare(lc_mha *l, lc_params *p, const char *name, int64_t dim, int heads) {
    memset(l, 0, sizeof *l);
    if (heads < 1 || dim % heads)
        return lc_fail(LC_ERR_INVALID_ARG, "attention %s: %d heads for dim %lld", name, heads,
                       (long long)dim);
    LC_TRY(set_name(l->name, name));
    l->dim = dim, l->heads = heads;
    LC_TRY(add(p, name, "in_proj_weight", 2, (int64_t[]){3 * dim, dim}, &l->in_w));
    LC_TRY(add(p, name, "in_proj_bias", 1, (int64_t[]){3 * dim}, &l->in_b));
    char out[LC_PARAM_NAME_MAX];
    snprintf(out, sizeof out, "%s%sout_proj", name, *name ? "." : "");
    return lc_linear_declare(&l->out, p, out, dim, dim, 1);
}

lc_status lc_mha_reset(lc_device *dev, lc_params *p, const lc_mha *l, uint64_t seed) {
    char name[LC_PARAM_NAME_MAX];
    const char *sep = *l->name ? "." : "";
    snprintf(name, sizeof name, "%s%sin_proj_weight", l->name, sep);
    LC_TRY(lc_param_fill_uniform(dev, p, name, sqrt(6.0 / (double)(4 * l->dim)), seed));
    snprintf(name, sizeof name, "%s%sin_proj_bias", l->name, sep);
    LC_TRY(lc_param_fill_value(dev, p, name, 0.0f));
    LC_TRY(lc_linear_reset(dev, p, &l->out, seed));
    snprintf(name, sizeof name, "%s.bias", l->out.name);
    return lc_param_fill_value(dev, p, name, 0.0f);
}

lc_status lc_take_rows(lc_ctx *ctx, lc_tensor **y, lc_tensor *x, lc_tensor *rows) {
    lc_tensor *flat;
    int64_t C = x->shape[x->ndim - 1];
    LC_TRY(lc_reshape(ctx, &flat, x, 2, (int64_t[]){(int64_t)x->numel / C, C}));
    return lc_embedding(ctx, y, flat, rows);
}

lc_status lc_mha_forward(lc_ctx *ctx, lc_tensor **y, lc_params *p, const lc_mha *l, lc_tensor *x,
                         int causal) {
    return lc_mha_forward_rows(ctx, y, p, l, x, causal, NULL);
}

lc_status lc_mha_forward_rows(lc_ctx *ctx, lc_tensor **y, lc_params *p, const lc_mha *l,
                              lc_tensor *x, int causal, lc_tensor *rows) {
    *y = NULL;
    if (x->ndim != 3 || x->shape[2] != l->dim)
        return lc_fail(LC_ERR_SHAPE, "attention %s: x %s, expected (B, T, %lld)", l->name,
                       lc_shape_str(x, (char[96]){0}, 96), (long long)l->dim);
    int64_t B = x->shape[0], T = x->shape[1], C = l->dim, H = l->heads;
    lc_tensor *w, *b, *x2, *qkv, *qkv3, *o;
    LC_TRY(param(ctx, &w, p, l->in_w, 2, (int64_t[]){3 * C, C}));
    LC_TRY(param(ctx, &b, p, l->in_b, 1, (int64_t[]){3 * C}));
    LC_TRY(lc_reshape(ctx, &x2, x, 2, (int64_t[]){B * T, C}));
    LC_TRY(lc_linear_act(ctx, &qkv, x2, w, b, LC_ACT_NONE, 0)); // (B*T, 3C) = (B, T, 3, H, D)
    LC_TRY(lc_reshape(ctx, &qkv3, qkv, 3, (int64_t[]){B, T, 3 * C}));
    // The attention kernels read each head in place and write (B, T, H, D) = (B, T, C):
    // no head split/merge copies.
    LC_TRY(lc_attention_qkv(ctx, &o, qkv3, (int)H, causal)); // (B, T, C)
    // (R, C): the rows before the projection, which acts on each row alone
    if (rows) LC_TRY(lc_take_rows(ctx, &o, o, rows));
    return lc_linear_forward(ctx, y, p, &l->out, o, LC_ACT_NONE);
}

// --- MLP ---------------------------------------------------------------------------------

lc_status lc_mlp_declare(lc_mlp *m, lc_params *p, const char *prefix, int n_sizes,
                         const int64_t *sizes) {
    memset(m, 0, sizeof *m);
    if (n_sizes < 2 || n_sizes - 1 > LC_MLP_MAX)
        return lc_fail(LC_ERR_INVALID_ARG, "mlp %s: %d sizes (2..%d)", prefix, n_sizes,
                       LC_MLP_MAX + 1);
    for (int i = 0; i + 1 < n_sizes; i++) {
        char name[LC_LAYER_NAME_MAX];
        snprintf(name, sizeof name, "%s%s%d", prefix, *prefix ? "." : "", 2 * i);
        LC_TRY(lc_linear_declare(&m->layers[i], p, name, sizes[i], sizes[i + 1], 1));
        m->n++;
    }
    return LC_OK;
}

lc_status lc_mlp_reset(lc_device *dev, lc_params *p, const lc_mlp *m, uint64_t seed) {
    for (int i = 0; i < m->n; i++)
        LC_TRY(lc_linear_reset(dev, p, &m->layers[i], seed));
    return LC_OK;
}

lc_status lc_mlp_forward(lc_ctx *ctx, lc_tensor **y, lc_params *p, const lc_mlp *m, lc_tensor *x,
                         lc_act act, lc_act out_act) {
    lc_tensor *h = x;
    for (int i = 0; i < m->n; i++)
        LC_TRY(lc_linear_forward(ctx, &h, p, &m->layers[i], h, i + 1 < m->n ? act : out_act));
    *y = h;
    return LC_OK;
}
