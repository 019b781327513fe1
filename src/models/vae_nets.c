// The AE/VAE networks (shapes and names in include/latentcl/vae.h): the encoder
// x -> h -> (mu, logvar) and the decoder z -> logits, MLP or conv, built from the
// tensor floor's fused linear+activation and convolutions.
#include <stdio.h>
#include <string.h>

#include "models/vae_internal.h"
#include "nn/init_default.h"

static lc_status add_layer(lc_vae *m, vae_layer *l, const char *name, int ndim,
                           const int64_t *wshape, int64_t bias) {
    char full[LC_PARAM_NAME_MAX];
    l->ndim = ndim;
    for (int i = 0; i < ndim; i++)
        l->wshape[i] = wshape[i];
    l->bshape[0] = bias;
    snprintf(full, sizeof full, "%s.weight", name);
    LC_TRY(lc_params_add(&m->params, full, ndim, wshape, &l->w));
    snprintf(full, sizeof full, "%s.bias", name);
    return lc_params_add(&m->params, full, 1, l->bshape, &l->b);
}

static lc_status linear(lc_vae *m, vae_layer *l, const char *name, int64_t in, int64_t out) {
    int64_t w[2] = {out, in}; // PyTorch: (out, in)
    return add_layer(m, l, name, 2, w, out);
}

static lc_status conv(lc_vae *m, vae_layer *l, const char *name, int64_t in, int64_t out) {
    int64_t w[4] = {out, in, 4, 4}; // Conv2d: (out, in, kh, kw)
    return add_layer(m, l, name, 4, w, out);
}

static lc_status conv_t(lc_vae *m, vae_layer *l, const char *name, int64_t in, int64_t out) {
    int64_t w[4] = {in, out, 4, 4}; // ConvTranspose2d: (in, out, kh, kw)
    return add_layer(m, l, name, 4, w, out);
}

// The names follow nn.Sequential's numbering, ReLU/Flatten layers included.
lc_status vae_declare(lc_vae *m) {
    const lc_vae_config *c = &m->cfg;
    int64_t Z = c->latent, h1 = c->hidden1, h2 = c->hidden2;
    bool vae = c->kind == LC_VAE_KIND_VAE;
    if (c->net == LC_VAE_NET_MLP) {
        LC_TRY(linear(m, &m->enc_fc[0], "encoder.0", m->P, h1));
        LC_TRY(linear(m, &m->enc_fc[1], "encoder.2", h1, h2));
        if (vae) {
            LC_TRY(linear(m, &m->head_mu, "fc_mu", h2, Z));
            LC_TRY(linear(m, &m->head_logvar, "fc_logvar", h2, Z));
        } else {
            LC_TRY(linear(m, &m->head_mu, "encoder.4", h2, Z));
        }
        LC_TRY(linear(m, &m->dec_fc[0], "decoder.0", Z, h2));
        LC_TRY(linear(m, &m->dec_fc[1], "decoder.2", h2, h1));
        return linear(m, &m->dec_fc[2], "decoder.4", h1, m->P);
    }
    m->flat = 64 * (c->height / 4) * (c->width / 4);
    LC_TRY(conv(m, &m->enc_conv[0], "encoder.0", c->channels, 32));
    LC_TRY(conv(m, &m->enc_conv[1], "encoder.2", 32, 64));
    LC_TRY(linear(m, &m->enc_fc[0], "encoder.5", m->flat, h2));
    if (vae) {
        LC_TRY(linear(m, &m->head_mu, "fc_mu", h2, Z));
        LC_TRY(linear(m, &m->head_logvar, "fc_logvar", h2, Z));
    } else {
        LC_TRY(linear(m, &m->head_mu, "encoder.7", h2, Z));
    }
    LC_TRY(linear(m, &m->dec_fc[0], "decoder.0", Z, h2));
    LC_TRY(linear(m, &m->dec_fc[1], "decoder.2", h2, m->flat));
    LC_TRY(conv_t(m, &m->dec_conv[0], "decoder.5", 64, 32));
    return conv_t(m, &m->dec_conv[1], "decoder.7", 32, c->channels);
}

lc_status vae_init_weights(lc_vae *m, uint64_t seed) {
    for (int i = 0; i < m->params.count; i++) {
        const char *name = m->params.items[i].name;
        size_t len = strlen(name);
        if (len < 7 || strcmp(name + len - 7, ".weight")) continue;
        char layer[LC_PARAM_NAME_MAX];
        snprintf(layer, sizeof layer, "%.*s", (int)(len - 7), name);
        LC_TRY(lc_init_torch_default(m->dev, &m->params, layer, seed));
    }
    return LC_OK;
}

// act(x W^T + b) for a linear layer.
static lc_status dense(lc_vae *m, lc_tensor **y, lc_tensor *x, const vae_layer *l, lc_act act) {
    lc_tensor *w, *b;
    LC_TRY(lc_tensor_param_at(m->ctx, &w, &m->params, l->w, 2, l->wshape));
    LC_TRY(lc_tensor_param_at(m->ctx, &b, &m->params, l->b, 1, l->bshape));
    return lc_linear_act(m->ctx, y, x, w, b, act, 0.0f);
}

// conv 4x4 stride 2 pad 1 with its activation (encoder: fused into the conv's output
// pass), or the transposed conv that undoes its shape (decoder).
static lc_status conv_layer(lc_vae *m, lc_tensor **y, lc_tensor *x, const vae_layer *l, bool up,
                            lc_act act) {
    lc_tensor *w, *b, *h;
    LC_TRY(lc_tensor_param_at(m->ctx, &w, &m->params, l->w, 4, l->wshape));
    LC_TRY(lc_tensor_param_at(m->ctx, &b, &m->params, l->b, 1, l->bshape));
    if (!up) return lc_conv2d_act(m->ctx, y, x, w, b, 2, 1, act, 0.0f);
    LC_TRY(lc_conv_transpose2d(m->ctx, &h, x, w, b, 2, 1, 0));
    if (act == LC_ACT_NONE) {
        *y = h;
        return LC_OK;
    }
    return lc_unary(m->ctx, y, h, act, 0.0f, 0.0f);
}

lc_status vae_encoder(lc_vae *m, lc_tensor **mu, lc_tensor **logvar, lc_tensor *x) {
    const lc_vae_config *c = &m->cfg;
    int64_t B = x->shape[0];
    lc_tensor *h = x;
    if (c->net == LC_VAE_NET_MLP) {
        LC_TRY(dense(m, &h, h, &m->enc_fc[0], LC_ACT_RELU)); // (B, 512)
        LC_TRY(dense(m, &h, h, &m->enc_fc[1], LC_ACT_RELU)); // (B, 256)
    } else {
        int64_t img[4] = {B, c->channels, c->height, c->width}, flat[2] = {B, m->flat};
        LC_TRY(lc_reshape(m->ctx, &h, h, 4, img));
        LC_TRY(conv_layer(m, &h, h, &m->enc_conv[0], false, LC_ACT_RELU)); // (B, 32, H/2, W/2)
        LC_TRY(conv_layer(m, &h, h, &m->enc_conv[1], false, LC_ACT_RELU)); // (B, 64, H/4, W/4)
        LC_TRY(lc_reshape(m->ctx, &h, h, 2, flat));
        LC_TRY(dense(m, &h, h, &m->enc_fc[0], LC_ACT_RELU)); // (B, 256)
    }
    LC_TRY(dense(m, mu, h, &m->head_mu, LC_ACT_NONE)); // (B, Z)
    if (!logvar) return LC_OK;
    *logvar = NULL;
    if (c->kind != LC_VAE_KIND_VAE) return LC_OK;
    return dense(m, logvar, h, &m->head_logvar, LC_ACT_NONE); // (B, Z)
}

lc_status vae_decoder(lc_vae *m, lc_tensor **logits, lc_tensor *z) {
    const lc_vae_config *c = &m->cfg;
    int64_t B = z->shape[0];
    lc_tensor *h;
    LC_TRY(dense(m, &h, z, &m->dec_fc[0], LC_ACT_RELU)); // (B, 256)
    if (c->net == LC_VAE_NET_MLP) {
        LC_TRY(dense(m, &h, h, &m->dec_fc[1], LC_ACT_RELU));    // (B, 512)
        return dense(m, logits, h, &m->dec_fc[2], LC_ACT_NONE); // (B, P)
    }
    int64_t feat[4] = {B, 64, c->height / 4, c->width / 4}, flat[2] = {B, m->P};
    LC_TRY(dense(m, &h, h, &m->dec_fc[1], LC_ACT_RELU)); // (B, 64 H/4 W/4)
    LC_TRY(lc_reshape(m->ctx, &h, h, 4, feat));
    LC_TRY(conv_layer(m, &h, h, &m->dec_conv[0], true, LC_ACT_RELU)); // (B, 32, H/2, W/2)
    LC_TRY(conv_layer(m, &h, h, &m->dec_conv[1], true, LC_ACT_NONE)); // (B, C, H, W)
    return lc_reshape(m->ctx, logits, h, 2, flat);
}
