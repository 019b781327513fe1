// The U-Net noise predictor for images (../shared/REFERENCE.md): a sinusoidal time embedding
// through an MLP (plus a class embedding), residual blocks with GroupNorm(8) + SiLU and the
// time added between their two convolutions, self-attention at the lowest resolution, a
// skip from each level of the way down to the same level on the way up. Down: 2 x 2 average
// pooling; up: nearest x2, then the skip is concatenated and the first block of the level
// takes both (w[l+1] + w[l] channels). The tiny 16/32/64 variant with one block per level
// has 239k parameters (class-conditional, 1 x 28 x 28), as the PyTorch reference
// (tools/bench/diffusion_reference.py) with the same state_dict names.
//
//   x (C, H, W) -> conv_in -> [down.0: blocks at w0, H] --skip0------------------------+
//     -> pool -> [down.1: blocks at w1, H/2] --skip1-------------------------+         |
//     -> pool -> [down.2: blocks at w2, H/4] -> mid.attn -> [up.2: w2]       |         |
//     -> x2 -> concat skip1 -> [up.1: blocks at w1] <------------------------+         |
//     -> x2 -> concat skip0 -> [up.0: blocks at w0] <----------------------------------+
//     -> GroupNorm, SiLU, conv_out -> eps (C, H, W)
#include <stdio.h>
#include <stdlib.h>

#include "models/diffusion_internal.h"
#include "tensor/ops_attn_cm.h"
#include "tensor/ops_gn_act.h"
#include "tensor/ops_upcat.h"

enum { GROUPS = 8 };

// ---- declaration ------------------------------------------------------------------------------

static lc_status conv(lc_diffusion *m, dif_layer *l, const char *name, int64_t in, int64_t out,
                      int k) {
    int64_t w[4] = {out, in, k, k};
    return dif_add_layer(m, l, name, 4, w, out);
}

static lc_status norm(lc_diffusion *m, dif_layer *l, const char *name, int64_t ch) {
    int64_t w[1] = {ch};
    return dif_add_layer(m, l, name, 1, w, ch);
}

static lc_status linear(lc_diffusion *m, dif_layer *l, const char *name, int64_t in, int64_t out) {
    int64_t w[2] = {out, in};
    return dif_add_layer(m, l, name, 2, w, out);
}

static lc_status resblock(lc_diffusion *m, dif_resblock *r, const char *name, int cin, int cout,
                          int tdim) {
    char n[LC_PARAM_NAME_MAX - 8];
    r->cin = cin;
    r->cout = cout;
    snprintf(n, sizeof n, "%s.norm1", name);
    LC_TRY(norm(m, &r->norm1, n, cin));
    snprintf(n, sizeof n, "%s.conv1", name);
    LC_TRY(conv(m, &r->conv1, n, cin, cout, 3));
    snprintf(n, sizeof n, "%s.temb", name);
    LC_TRY(linear(m, &r->temb, n, tdim, cout));
    snprintf(n, sizeof n, "%s.norm2", name);
    LC_TRY(norm(m, &r->norm2, n, cout));
    snprintf(n, sizeof n, "%s.conv2", name);
    LC_TRY(conv(m, &r->conv2, n, cout, cout, 3));
    r->has_skip = cin != cout;
    if (!r->has_skip) return LC_OK;
    snprintf(n, sizeof n, "%s.skip", name);
    return conv(m, &r->skip, n, cin, cout, 1);
}

lc_status dif_unet_declare(lc_diffusion *m) {
    const lc_diffusion_config *c = &m->cfg;
    dif_unet *u = &m->unet;
    const int *w = c->widths;
    int tdim = 4 * w[0];
    LC_TRY(linear(m, &u->time1, "time_mlp.0", c->time_dim, tdim));
    LC_TRY(linear(m, &u->time2, "time_mlp.2", tdim, tdim));
    if (c->n_classes > 0) {
        int64_t e[2] = {c->n_classes + 1, tdim}; // nn.Embedding(K + 1, 4 w0); row K = no class
        LC_TRY(lc_params_add(&m->params, "class_emb.weight", 2, e, &u->class_emb));
    }
    if (c->text_cond) { // the caption encoder (text.h) and its projection to the time embedding
        LC_TRY(lc_text_encoder_declare(&m->text, &m->params, "text", &c->text));
        LC_TRY(linear(m, &u->text_proj, "text_proj", c->text.dim, tdim));
    }
    LC_TRY(conv(m, &u->conv_in, "conv_in", c->channels, w[0], 3));
    char name[64];
    for (int l = 0; l < DIF_UNET_LEVELS; l++) {
        for (int b = 0; b < c->depth; b++) {
            snprintf(name, sizeof name, "down.%d.res.%d", l, b);
            LC_TRY(resblock(m, &u->down[l][b], name, b == 0 ? (l ? w[l - 1] : w[0]) : w[l], w[l],
                            tdim));
        }
    }
    u->attn.ch = w[2];
    LC_TRY(norm(m, &u->attn.norm, "mid.attn.norm", w[2]));
    LC_TRY(conv(m, &u->attn.qkv, "mid.attn.qkv", w[2], 3 * w[2], 1));
    LC_TRY(conv(m, &u->attn.proj, "mid.attn.proj", w[2], w[2], 1));
    for (int l = DIF_UNET_LEVELS - 1; l >= 0; l--) {
        for (int b = 0; b < c->depth; b++) {
            // the first block of levels 0 and 1 takes the upsampled path and the skip together
            int cin = b == 0 && l < DIF_UNET_LEVELS - 1 ? w[l + 1] + w[l] : w[l];
            snprintf(name, sizeof name, "up.%d.res.%d", l, b);
            LC_TRY(resblock(m, &u->up[l][b], name, cin, w[l], tdim));
        }
    }
    LC_TRY(norm(m, &u->norm_out, "norm_out", w[0]));
    return conv(m, &u->conv_out, "conv_out", w[0], c->channels, 3);
}

// ---- forward ----------------------------------------------------------------------------------

typedef struct {
    lc_diffusion *m;
    lc_ctx *ctx;
    lc_tensor *temb; // SiLU(time (+ class) embedding) (n, 4 w0)
    int64_t n;
} fwd;

static lc_status params_of(fwd *f, const dif_layer *l, lc_tensor **w, lc_tensor **b) {
    *w = dif_param(f->m, l->w, l->ndim, l->wshape);
    *b = l->has_b ? dif_param(f->m, l->b, 1, l->bshape) : NULL;
    if (!*w || (l->has_b && !*b))
        return lc_fail(LC_ERR_INVALID_ARG, "unet: a parameter view failed");
    return LC_OK;
}

static lc_status conv_f(fwd *f, lc_tensor **y, lc_tensor *x, const dif_layer *l, int stride) {
    lc_tensor *w, *b;
    LC_TRY(params_of(f, l, &w, &b));
    return lc_conv2d(f->ctx, y, x, w, b, stride, (int)(l->wshape[2] / 2));
}

// act(GroupNorm(x + add)) in one kernel each way; add (n, C) broadcast over H x W, or NULL.
static lc_status norm_act(fwd *f, lc_tensor **y, lc_tensor *x, lc_tensor *add, const dif_layer *l,
                          lc_act act) {
    lc_tensor *g, *b;
    LC_TRY(params_of(f, l, &g, &b));
    return lc_group_norm_act(f->ctx, y, x, add, GROUPS, g, b, 1e-5f, act);
}

static lc_status res_f(fwd *f, lc_tensor **y, lc_tensor *x, const dif_resblock *r) {
    lc_tensor *h, *p, *w, *b, *skip;
    LC_TRY(norm_act(f, &h, x, NULL, &r->norm1, LC_ACT_SILU));
    LC_TRY(conv_f(f, &h, h, &r->conv1, 1));
    LC_TRY(params_of(f, &r->temb, &w, &b));
    LC_TRY(lc_linear_act(f->ctx, &p, f->temb, w, b, LC_ACT_NONE, 0.0f)); // (n, cout)
    LC_TRY(norm_act(f, &h, h, p, &r->norm2, LC_ACT_SILU));               // the time added first
    LC_TRY(conv_f(f, &h, h, &r->conv2, 1));
    skip = x;
    if (r->has_skip) LC_TRY(conv_f(f, &skip, x, &r->skip, 1));
    return lc_add(f->ctx, y, h, skip);
}

// x + proj(attention(q, k, v)) over the H W positions, one head of width C. The qkv conv's
// (n, 3C, H, W) output is the channel-major layout lc_attention_cm reads as is, and its
// (n, C, H W) output is proj's input: no permutes, no batched GEMM calls.
static lc_status attn_f(fwd *f, lc_tensor **y, lc_tensor *x, const dif_attention *a) {
    int64_t n = x->shape[0], C = x->shape[1], T = x->shape[2] * x->shape[3];
    lc_tensor *h, *qkv, *r, *o, *o4, *p;
    LC_TRY(norm_act(f, &h, x, NULL, &a->norm, LC_ACT_NONE));
    LC_TRY(conv_f(f, &qkv, h, &a->qkv, 1)); // (n, 3C, H, W)
    int64_t s3[3] = {n, 3 * C, T};
    LC_TRY(lc_reshape(f->ctx, &r, qkv, 3, s3));
    LC_TRY(lc_attention_cm(f->ctx, &o, r)); // (n, C, T)
    LC_TRY(lc_reshape(f->ctx, &o4, o, 4, x->shape));
    LC_TRY(conv_f(f, &p, o4, &a->proj, 1));
    return lc_add(f->ctx, y, x, p);
}

lc_status dif_unet_predict(void *self, lc_ctx *ctx, lc_tensor **out, lc_tensor *x, const int32_t *t,
                           const int32_t *y, int64_t n) {
    lc_diffusion *m = self;
    const lc_diffusion_config *c = &m->cfg;
    const dif_unet *u = &m->unet;
    fwd f = {m, m->ctx, NULL, n};
    (void)ctx;
    // the conditioning: SiLU(time_mlp(sin/cos(t)) + class_emb[y] or text_proj(caption y))
    lc_tensor *feat, *e, *w, *b;
    LC_TRY(dif_time_features(f.ctx, &feat, t, n, c->time_dim));
    LC_TRY(params_of(&f, &u->time1, &w, &b));
    LC_TRY(lc_linear_act(f.ctx, &e, feat, w, b, LC_ACT_SILU, 0.0f));
    LC_TRY(params_of(&f, &u->time2, &w, &b));
    LC_TRY(lc_linear_act(f.ctx, &e, e, w, b, LC_ACT_NONE, 0.0f));
    if (c->n_classes > 0 && y) {
        int64_t es[2] = {c->n_classes + 1, 4 * c->widths[0]};
        lc_tensor *table = dif_param(m, u->class_emb, 2, es), *ce;
        if (!table) return lc_fail(LC_ERR_INVALID_ARG, "unet: class_emb view failed");
        LC_TRY(dif_class_embedding(f.ctx, &ce, table, y, n));
        LC_TRY(lc_add(f.ctx, &e, e, ce));
    }
    if (c->text_cond) { // + text_proj(the caption's embedding); y NULL: the empty caption
        lc_tensor *te;
        LC_TRY(dif_text_embedding(m, &te, y, n));
        LC_TRY(lc_add(f.ctx, &e, e, te));
    }
    LC_TRY(lc_silu(f.ctx, &f.temb, e));
    // down
    lc_tensor *h, *skips[DIF_UNET_LEVELS - 1];
    int64_t s4[4] = {n, c->channels, c->height, c->width};
    LC_TRY(lc_reshape(f.ctx, &h, x, 4, s4));
    LC_TRY(conv_f(&f, &h, h, &u->conv_in, 1));
    for (int l = 0; l < DIF_UNET_LEVELS; l++) {
        for (int bk = 0; bk < c->depth; bk++)
            LC_TRY(res_f(&f, &h, h, &u->down[l][bk]));
        if (l < DIF_UNET_LEVELS - 1) {
            skips[l] = h;
            LC_TRY(lc_avg_pool2d(f.ctx, &h, h, 2, 2));
        }
    }
    // attention at the lowest resolution
    LC_TRY(attn_f(&f, &h, h, &u->attn));
    // up
    for (int l = DIF_UNET_LEVELS - 1; l >= 0; l--) {
        if (l < DIF_UNET_LEVELS - 1) {
            LC_TRY(lc_upsample_concat(f.ctx, &h, h, skips[l], 2)); // x2, then the skip
        }
        for (int bk = 0; bk < c->depth; bk++)
            LC_TRY(res_f(&f, &h, h, &u->up[l][bk]));
    }
    LC_TRY(norm_act(&f, &h, h, NULL, &u->norm_out, LC_ACT_SILU));
    LC_TRY(conv_f(&f, &h, h, &u->conv_out, 1));
    int64_t s2[2] = {n, m->dim};
    return lc_reshape(f.ctx, out, h, 2, s2);
}
