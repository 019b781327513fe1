// The noise-prediction MLP for 2-D points, and the conditioning inputs every network
// shares (sinusoidal time features, the class embedding):
//   e   = SiLU(time_embed(sin/cos features of t)) [+ class_emb[y]]       (n, H)
//   h_0 = SiLU(layers.0(x_t) + e)
//   h_k = SiLU(layers.k(h_{k-1}) + e),  k = 1..depth-1
//   eps = out(h_{depth-1})                                                (n, 2)
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "models/diffusion_internal.h"

lc_status dif_time_features(lc_ctx *ctx, lc_tensor **out, const int32_t *t, int64_t n, int dim) {
    float *f = malloc((size_t)n * sizeof *f);
    if (!f) return lc_fail(LC_ERR_NOMEM, "out of memory");
    for (int64_t i = 0; i < n; i++)
        f[i] = (float)t[i];
    lc_tensor *tt;
    lc_status s = lc_tensor_from_host(ctx, &tt, f, 1, &n);
    free(f);
    LC_TRY(s);
    return lc_time_embedding(ctx, out, tt, dim, 10000.0f); // [sin(t w_j), cos(t w_j)]
}

lc_status dif_class_embedding(lc_ctx *ctx, lc_tensor **out, lc_tensor *table, const int32_t *y,
                              int64_t n) {
    lc_tensor *ids;
    LC_TRY(lc_tensor_from_host_i32(ctx, &ids, y, 1, &n));
    return lc_embedding(ctx, out, table, ids); // row K of the table is "no class"
}

static lc_status linear(lc_diffusion *m, dif_layer *l, const char *name, int64_t in, int64_t out) {
    int64_t w[2] = {out, in}; // PyTorch: (out, in)
    return dif_add_layer(m, l, name, 2, w, out);
}

lc_status dif_mlp_declare(lc_diffusion *m) {
    const lc_diffusion_config *c = &m->cfg;
    int64_t H = c->hidden;
    LC_TRY(linear(m, &m->time0, "time_embed", c->time_dim, H));
    if (c->n_classes > 0) {
        int64_t e[2] = {c->n_classes + 1, H}; // nn.Embedding(K + 1, H); row K = no class
        LC_TRY(lc_params_add(&m->params, "class_emb.weight", 2, e, &m->class_emb));
    }
    char name[32];
    for (int k = 0; k < c->depth; k++) {
        snprintf(name, sizeof name, "layers.%d", k);
        LC_TRY(linear(m, &m->layers[k], name, k == 0 ? m->dim : H, H));
    }
    return linear(m, &m->out, "out", H, m->dim);
}

static lc_status apply(lc_diffusion *m, lc_tensor **y, lc_tensor *x, const dif_layer *l,
                       lc_act act) {
    lc_tensor *w = dif_param(m, l->w, l->ndim, l->wshape), *b = dif_param(m, l->b, 1, l->bshape);
    if (!w || !b) return lc_fail(LC_ERR_INVALID_ARG, "diffusion mlp: a parameter view failed");
    return lc_linear_act(m->ctx, y, x, w, b, act, 0.0f);
}

lc_status dif_mlp_predict(void *self, lc_ctx *ctx, lc_tensor **out, lc_tensor *x, const int32_t *t,
                          const int32_t *y, int64_t n) {
    lc_diffusion *m = self;
    (void)ctx; // the model's own context
    const lc_diffusion_config *c = &m->cfg;
    lc_tensor *feat, *e, *h;
    LC_TRY(dif_time_features(m->ctx, &feat, t, n, c->time_dim));
    LC_TRY(apply(m, &e, feat, &m->time0, LC_ACT_SILU)); // (n, H)
    if (c->n_classes > 0 && y) {
        lc_tensor *ce;
        int64_t es[2] = {c->n_classes + 1, c->hidden};
        lc_tensor *table = dif_param(m, m->class_emb, 2, es);
        if (!table) return lc_fail(LC_ERR_INVALID_ARG, "diffusion mlp: class_emb view failed");
        LC_TRY(dif_class_embedding(m->ctx, &ce, table, y, n));
        LC_TRY(lc_add(m->ctx, &e, e, ce));
    }
    h = x;
    for (int k = 0; k < c->depth; k++) {
        lc_tensor *z;
        LC_TRY(apply(m, &z, h, &m->layers[k], LC_ACT_NONE));
        LC_TRY(lc_add(m->ctx, &z, z, e));
        LC_TRY(lc_silu(m->ctx, &h, z));
    }
    return apply(m, out, h, &m->out, LC_ACT_NONE);
}
