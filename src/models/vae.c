// The variational autoencoder (Kingma and Welling, 2014), as the math reads:
//
//   prior      p(z)   = N(0, I)
//   encoder    q(z|x) = N(mu(x), diag exp(logvar(x)))
//   sample     z = mu + exp(logvar / 2) * eps,  eps ~ N(0, I)   (reparameterised)
//   decoder    p(x|z) = Bernoulli(sigmoid(logits(z)))  or  N(sigmoid(logits(z)), sigma^2 I)
//   loss       -ELBO = E_q[-log p(x|z)] + KL(q(z|x) || p(z))   (the KL weighted by beta)
//
// Every term is in nats per image, averaged over the batch. The networks mu, logvar
// and logits are in vae_nets.c; evaluation (the IWAE bound) in vae_eval.c.
#include <math.h>

#include "models/gauss_latent.h"
#include "models/vae_internal.h"

// The KL weight of a step under --kl-warmup.
float vae_beta_at(const lc_vae_config *c, int64_t step) {
    return gauss_beta_at(c->beta, c->kl_warmup, step);
}

// -log p(x|z) summed over pixels, averaged over the batch.
lc_status vae_rec_loss(lc_vae *m, lc_tensor **rec, lc_tensor *logits, lc_tensor *x) {
    if (m->cfg.decoder == LC_VAE_BERNOULLI) // sum of BCE(sigmoid(logits), x)
        return lc_bce_logits(m->ctx, rec, logits, x, LC_REDUCE_BATCH_MEAN);
    // Gaussian: |x - mean|^2 / (2 sigma^2) + P log(sigma sqrt(2 pi))
    double s = m->cfg.sigma;
    lc_tensor *mean, *sq;
    LC_TRY(lc_sigmoid(m->ctx, &mean, logits));
    LC_TRY(lc_mse(m->ctx, &sq, mean, x, LC_REDUCE_BATCH_MEAN));
    float norm = (float)((double)m->P * (log(s) + 0.5 * log(2.0 * M_PI)));
    return lc_unary(m->ctx, rec, sq, LC_ACT_SCALE, (float)(1.0 / (2.0 * s * s)), norm);
}

// z = mu + sigma * eps with eps keyed by (seed, ctr2, item id, purpose).
static lc_status reparameterise(lc_vae *m, lc_tensor **z, lc_tensor *mu, lc_tensor *logvar,
                                cl_mem ids, uint32_t ctr2, uint32_t purpose) {
    lc_tensor *eps;
    LC_TRY(vae_normal_rows(m, &eps, ids, mu->shape[0], mu->shape[1], ctr2, purpose));
    return gauss_reparameterise(m->ctx, z, mu, logvar, eps);
}

lc_status vae_neg_elbo(lc_vae *m, lc_tensor **loss, lc_tensor **rec, lc_tensor **kl, lc_tensor *x,
                       cl_mem ids, uint32_t ctr2, uint32_t purpose, float beta) {
    lc_tensor *mu, *logvar, *z, *logits;
    LC_TRY(vae_encoder(m, &mu, &logvar, x));                            // q(z|x)
    LC_TRY(reparameterise(m, &z, mu, logvar, ids, ctr2, purpose));      // z ~ q(z|x)
    LC_TRY(vae_decoder(m, &logits, z));                                 // p(x|z)
    LC_TRY(vae_rec_loss(m, rec, logits, x));                            // E_q[-log p(x|z)]
    LC_TRY(lc_kl_normal(m->ctx, kl, mu, logvar, LC_REDUCE_BATCH_MEAN)); // KL(q || N(0, I))
    if (beta == 1.0f) return lc_add(m->ctx, loss, *rec, *kl);
    lc_tensor *weighted;
    LC_TRY(lc_scale(m->ctx, &weighted, *kl, beta));
    return lc_add(m->ctx, loss, *rec, weighted);
}
