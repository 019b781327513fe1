// The diagonal-Gaussian latent that the VAE and the MMVAE share: the KL weight under warm-up
// and the reparameterised draw z = mu + exp(logvar / 2) eps.
#ifndef LATENTCL_GAUSS_LATENT_H
#define LATENTCL_GAUSS_LATENT_H

#include "latentcl/tensor.h"

// The KL weight of step `step`: beta, reached linearly over kl_warmup steps (0: from the start).
float gauss_beta_at(double beta, long kl_warmup, int64_t step);
// z = mu + exp(logvar / 2) eps, all (B, Z): gradients flow to mu and logvar, eps is a constant.
lc_status gauss_reparameterise(lc_ctx *ctx, lc_tensor **z, lc_tensor *mu, lc_tensor *logvar,
                               lc_tensor *eps);

#endif
