// The AE/VAE networks (shapes and names in include/latentcl/vae.h): the encoder
// x -> h -> (mu, logvar) and the decoder z -> logits, MLP or conv (the conv image nets of
// image_nets.c, shared with the MMVAE), built from nn.h's layers.
#include <stdio.h>
#include <string.h>

#include "models/vae_internal.h"
#include "nn/init_default.h"

// The names follow nn.Sequential's numbering, ReLU/Flatten layers included.
lc_status vae_declare(lc_vae *m) {
    const lc_vae_config *c = &m->cfg;
    lc_params *p = &m->params;
    int64_t Z = c->latent, h1 = c->hidden1, h2 = c->hidden2;
    bool vae = c->kind == LC_VAE_KIND_VAE, mlp = c->net == LC_VAE_NET_MLP;
    if (mlp) {
        LC_TRY(lc_linear_declare(&m->enc_fc[0], p, "encoder.0", m->P, h1, 1));
        LC_TRY(lc_linear_declare(&m->enc_fc[1], p, "encoder.2", h1, h2, 1));
    } else {
        LC_TRY(image_encoder_declare(&m->image_enc, p, "encoder", c->channels, c->height, c->width,
                                     h2));
    }
    if (vae) {
        LC_TRY(lc_linear_declare(&m->head_mu, p, "fc_mu", h2, Z, 1));
        LC_TRY(lc_linear_declare(&m->head_logvar, p, "fc_logvar", h2, Z, 1));
    } else { // the AE's code layer ends the encoder's Sequential
        LC_TRY(lc_linear_declare(&m->head_mu, p, mlp ? "encoder.4" : "encoder.7", h2, Z, 1));
    }
    if (!mlp)
        return image_decoder_declare(&m->image_dec, p, "decoder", Z, h2, c->channels, c->height,
                                     c->width);
    LC_TRY(lc_linear_declare(&m->dec_fc[0], p, "decoder.0", Z, h2, 1));
    LC_TRY(lc_linear_declare(&m->dec_fc[1], p, "decoder.2", h2, h1, 1));
    return lc_linear_declare(&m->dec_fc[2], p, "decoder.4", h1, m->P, 1);
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

lc_status vae_encoder(lc_vae *m, lc_tensor **mu, lc_tensor **logvar, lc_tensor *x) {
    lc_ctx *ctx = m->ctx;
    lc_params *p = &m->params;
    lc_tensor *h;
    if (m->cfg.net == LC_VAE_NET_MLP) {
        LC_TRY(lc_linear_forward(ctx, &h, p, &m->enc_fc[0], x, LC_ACT_RELU)); // (B, 512)
        LC_TRY(lc_linear_forward(ctx, &h, p, &m->enc_fc[1], h, LC_ACT_RELU)); // (B, 256)
    } else {
        LC_TRY(image_encoder_forward(ctx, &h, p, &m->image_enc, x)); // (B, 256)
    }
    LC_TRY(lc_linear_forward(ctx, mu, p, &m->head_mu, h, LC_ACT_NONE)); // (B, Z)
    if (!logvar) return LC_OK;
    *logvar = NULL;
    if (m->cfg.kind != LC_VAE_KIND_VAE) return LC_OK;
    return lc_linear_forward(ctx, logvar, p, &m->head_logvar, h, LC_ACT_NONE); // (B, Z)
}

lc_status vae_decoder(lc_vae *m, lc_tensor **logits, lc_tensor *z) {
    lc_ctx *ctx = m->ctx;
    lc_params *p = &m->params;
    if (m->cfg.net != LC_VAE_NET_MLP)
        return image_decoder_forward(ctx, logits, p, &m->image_dec, z);
    lc_tensor *h;
    LC_TRY(lc_linear_forward(ctx, &h, p, &m->dec_fc[0], z, LC_ACT_RELU));    // (B, 256)
    LC_TRY(lc_linear_forward(ctx, &h, p, &m->dec_fc[1], h, LC_ACT_RELU));    // (B, 512)
    return lc_linear_forward(ctx, logits, p, &m->dec_fc[2], h, LC_ACT_NONE); // (B, P)
}
