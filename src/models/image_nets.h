// The conv image encoder and decoder that the conv VAE and the MMVAE share: the same layers,
// named as nn.Sequential numbers them under each model's prefix ("encoder" / "image_encoder").
//   encoder  x (B, C H W) -> Conv2d(C, 32, 4, 2, 1), ReLU, Conv2d(32, 64, 4, 2, 1), ReLU,
//            Flatten, Linear(64 H/4 W/4, hidden), ReLU -> (B, hidden)        (.0 .2 .5)
//   decoder  z (B, Z) -> Linear(Z, hidden), ReLU, Linear(hidden, 64 H/4 W/4), ReLU, Unflatten,
//            ConvTranspose2d(64, 32, 4, 2, 1), ReLU, ConvTranspose2d(32, C, 4, 2, 1)
//            -> logits (B, C H W)                                          (.0 .2 .5 .7)
// H and W must be multiples of 4 (the configs check).
#ifndef LATENTCL_IMAGE_NETS_H
#define LATENTCL_IMAGE_NETS_H

#include "latentcl/nn.h"

typedef struct {
    lc_conv conv[2];
    lc_linear fc;
    int64_t channels, height, width;
} image_encoder;

typedef struct {
    lc_linear fc[2];
    lc_conv conv[2];
    int64_t channels, height, width;
} image_decoder;

// Declare the parameters (in the order above: checkpoints and initial draws depend on it).
lc_status image_encoder_declare(image_encoder *e, lc_params *p, const char *prefix,
                                int64_t channels, int64_t height, int64_t width, int64_t hidden);
lc_status image_decoder_declare(image_decoder *d, lc_params *p, const char *prefix, int64_t latent,
                                int64_t hidden, int64_t channels, int64_t height, int64_t width);
// PyTorch's default initialisation of every layer.
lc_status image_encoder_reset(lc_device *dev, lc_params *p, const image_encoder *e, uint64_t seed);
lc_status image_decoder_reset(lc_device *dev, lc_params *p, const image_decoder *d, uint64_t seed);
// x (B, C H W) -> h (B, hidden).
lc_status image_encoder_forward(lc_ctx *ctx, lc_tensor **h, lc_params *p, const image_encoder *e,
                                lc_tensor *x);
// z (B, Z) -> logits (B, C H W).
lc_status image_decoder_forward(lc_ctx *ctx, lc_tensor **logits, lc_params *p,
                                const image_decoder *d, lc_tensor *z);

#endif
