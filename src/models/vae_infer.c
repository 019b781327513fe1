// Inference on host arrays: encode, decode, sample from the prior, reconstruct.
// Everything runs without gradients, VAE_CHUNK items at a time.
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "models/vae_internal.h"

static void no_grad(lc_vae *m) {
    lc_set_grad_enabled(m->ctx, 0);
    lc_set_training(m->ctx, 0);
}

lc_status lc_vae_encode(lc_vae *m, float *mean, float *logvar, const float *x, int64_t n) {
    no_grad(m);
    int64_t Z = m->cfg.latent;
    for (int64_t i = 0; i < n; i += VAE_CHUNK) {
        int64_t c = n - i < VAE_CHUNK ? n - i : VAE_CHUNK, shape[2] = {c, m->P};
        lc_step_begin(m->ctx);
        lc_tensor *xt, *mu, *lv;
        LC_TRY(lc_tensor_from_host(m->ctx, &xt, x + i * m->P, 2, shape));
        LC_TRY(vae_encoder(m, &mu, &lv, xt));
        LC_TRY(lc_tensor_to_host(m->ctx, mean + i * Z, mu));
        if (!logvar) continue;
        if (lv)
            LC_TRY(lc_tensor_to_host(m->ctx, logvar + i * Z, lv));
        else
            memset(logvar + i * Z, 0, (size_t)(c * Z) * sizeof(float));
    }
    return LC_OK;
}

lc_status lc_vae_decode(lc_vae *m, float *x, const float *z, int64_t n) {
    no_grad(m);
    int64_t Z = m->cfg.latent;
    for (int64_t i = 0; i < n; i += VAE_CHUNK) {
        int64_t c = n - i < VAE_CHUNK ? n - i : VAE_CHUNK, shape[2] = {c, Z};
        lc_step_begin(m->ctx);
        lc_tensor *zt, *logits, *mean;
        LC_TRY(lc_tensor_from_host(m->ctx, &zt, z + i * Z, 2, shape));
        LC_TRY(vae_decoder(m, &logits, zt));
        LC_TRY(lc_sigmoid(m->ctx, &mean, logits)); // the mean of p(x|z), either decoder
        LC_TRY(lc_tensor_to_host(m->ctx, x + i * m->P, mean));
    }
    return LC_OK;
}

lc_status lc_vae_prior_draws(lc_vae *m, float *z, int64_t n, uint64_t seed) {
    int64_t Z = m->cfg.latent;
    for (int64_t i = 0; i < n; i++) {
        float *zi = z + i * Z;
        vae_host_normals(zi, Z, seed, (uint32_t)i, 0, VAE_DRAW_PRIOR); // z ~ N(0, I)
        if (m->cfg.kind == LC_VAE_KIND_AE && m->code_mean)             // the AE's code cloud
            for (int64_t d = 0; d < Z; d++)
                zi[d] = m->code_mean[d] + m->code_std[d] * zi[d];
    }
    return LC_OK;
}

lc_status lc_vae_sample(lc_vae *m, float *x, int64_t n, uint64_t seed) {
    float *z = malloc((size_t)(n * m->cfg.latent) * sizeof *z + 1);
    if (!z) return lc_fail(LC_ERR_NOMEM, "out of memory for %lld codes", (long long)n);
    lc_status s = lc_vae_prior_draws(m, z, n, seed);
    if (s == LC_OK) s = lc_vae_decode(m, x, z, n);
    free(z);
    return s;
}

lc_status lc_vae_reconstruct(lc_vae *m, float *out, const float *x, int64_t n) {
    float *z = malloc((size_t)(n * m->cfg.latent) * sizeof *z + 1);
    if (!z) return lc_fail(LC_ERR_NOMEM, "out of memory for %lld codes", (long long)n);
    lc_status s = lc_vae_encode(m, z, NULL, x, n);
    if (s == LC_OK) s = lc_vae_decode(m, out, z, n);
    free(z);
    return s;
}
