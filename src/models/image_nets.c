// The conv image encoder and decoder of the conv VAE and the MMVAE (see image_nets.h).
#include <stdio.h>

#include "models/image_nets.h"

// prefix.n as nn.Sequential names its n-th module.
static const char *module(char *out, size_t cap, const char *prefix, int n) {
    snprintf(out, cap, "%s.%d", prefix, n);
    return out;
}

static int64_t flat_size(int64_t height, int64_t width) { return 64 * (height / 4) * (width / 4); }

lc_status image_encoder_declare(image_encoder *e, lc_params *p, const char *prefix,
                                int64_t channels, int64_t height, int64_t width, int64_t hidden) {
    char n[LC_LAYER_NAME_MAX];
    e->channels = channels, e->height = height, e->width = width;
    LC_TRY(
        lc_conv_declare(&e->conv[0], p, module(n, sizeof n, prefix, 0), channels, 32, 4, 2, 1, 1));
    LC_TRY(lc_conv_declare(&e->conv[1], p, module(n, sizeof n, prefix, 2), 32, 64, 4, 2, 1, 1));
    return lc_linear_declare(&e->fc, p, module(n, sizeof n, prefix, 5), flat_size(height, width),
                             hidden, 1);
}

lc_status image_decoder_declare(image_decoder *d, lc_params *p, const char *prefix, int64_t latent,
                                int64_t hidden, int64_t channels, int64_t height, int64_t width) {
    char n[LC_LAYER_NAME_MAX];
    d->channels = channels, d->height = height, d->width = width;
    LC_TRY(lc_linear_declare(&d->fc[0], p, module(n, sizeof n, prefix, 0), latent, hidden, 1));
    LC_TRY(lc_linear_declare(&d->fc[1], p, module(n, sizeof n, prefix, 2), hidden,
                             flat_size(height, width), 1));
    LC_TRY(lc_conv_transpose_declare(&d->conv[0], p, module(n, sizeof n, prefix, 5), 64, 32, 4, 2,
                                     1, 0, 1));
    return lc_conv_transpose_declare(&d->conv[1], p, module(n, sizeof n, prefix, 7), 32, channels,
                                     4, 2, 1, 0, 1);
}

lc_status image_encoder_reset(lc_device *dev, lc_params *p, const image_encoder *e, uint64_t seed) {
    LC_TRY(lc_conv_reset(dev, p, &e->conv[0], seed));
    LC_TRY(lc_conv_reset(dev, p, &e->conv[1], seed));
    return lc_linear_reset(dev, p, &e->fc, seed);
}

lc_status image_decoder_reset(lc_device *dev, lc_params *p, const image_decoder *d, uint64_t seed) {
    LC_TRY(lc_linear_reset(dev, p, &d->fc[0], seed));
    LC_TRY(lc_linear_reset(dev, p, &d->fc[1], seed));
    LC_TRY(lc_conv_reset(dev, p, &d->conv[0], seed));
    return lc_conv_reset(dev, p, &d->conv[1], seed);
}

lc_status image_encoder_forward(lc_ctx *ctx, lc_tensor **h, lc_params *p, const image_encoder *e,
                                lc_tensor *x) {
    int64_t B = x->shape[0];
    lc_tensor *t;
    LC_TRY(lc_reshape(ctx, &t, x, 4, (int64_t[]){B, e->channels, e->height, e->width}));
    LC_TRY(lc_conv_forward(ctx, &t, p, &e->conv[0], t, LC_ACT_RELU)); // (B, 32, H/2, W/2)
    LC_TRY(lc_conv_forward(ctx, &t, p, &e->conv[1], t, LC_ACT_RELU)); // (B, 64, H/4, W/4)
    LC_TRY(lc_reshape(ctx, &t, t, 2, (int64_t[]){B, flat_size(e->height, e->width)}));
    return lc_linear_forward(ctx, h, p, &e->fc, t, LC_ACT_RELU); // (B, hidden)
}

lc_status image_decoder_forward(lc_ctx *ctx, lc_tensor **logits, lc_params *p,
                                const image_decoder *d, lc_tensor *z) {
    int64_t B = z->shape[0];
    lc_tensor *h;
    LC_TRY(lc_linear_forward(ctx, &h, p, &d->fc[0], z, LC_ACT_RELU)); // (B, hidden)
    LC_TRY(lc_linear_forward(ctx, &h, p, &d->fc[1], h, LC_ACT_RELU)); // (B, 64 H/4 W/4)
    LC_TRY(lc_reshape(ctx, &h, h, 4, (int64_t[]){B, 64, d->height / 4, d->width / 4}));
    LC_TRY(lc_conv_forward(ctx, &h, p, &d->conv[0], h, LC_ACT_RELU)); // (B, 32, H/2, W/2)
    LC_TRY(lc_conv_forward(ctx, &h, p, &d->conv[1], h, LC_ACT_NONE)); // (B, C, H, W)
    return lc_reshape(ctx, logits, h, 2, (int64_t[]){B, d->channels * d->height * d->width});
}
