// The Gaussian latent of the VAE and the MMVAE (see gauss_latent.h).
#include "models/gauss_latent.h"

float gauss_beta_at(double beta, long kl_warmup, int64_t step) {
    if (kl_warmup <= 0 || step + 1 >= kl_warmup) return (float)beta;
    return (float)(beta * (double)(step + 1) / (double)kl_warmup);
}

lc_status gauss_reparameterise(lc_ctx *ctx, lc_tensor **z, lc_tensor *mu, lc_tensor *logvar,
                               lc_tensor *eps) {
    const lc_unary_step half_exp[2] = {{LC_ACT_SCALE, 0.5f, 0.0f}, {LC_ACT_EXP, 0.0f, 0.0f}};
    lc_tensor *sigma, *noise;
    LC_TRY(lc_chain(ctx, &sigma, logvar, 2, half_exp)); // exp(logvar / 2)
    LC_TRY(lc_mul(ctx, &noise, sigma, eps));
    return lc_add(ctx, z, mu, noise);
}
