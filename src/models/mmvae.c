// The multimodal VAE (MVAE, Wu and Goodman 2018), as the math reads:
//
//   prior          p(z) = N(0, I)
//   image expert   q(z|x) = N(mu_x, diag exp(logvar_x))      (the conv VAE's encoder)
//   text expert    q(z|y) = N(mu_y, diag exp(logvar_y))      (text encoder + two heads)
//   posterior      q(z|S) = p(z) prod_{s in S} q(z|s)        (product of Gaussian experts)
//   sample         z = mu + exp(logvar / 2) eps               (reparameterised)
//   decoders       p(x|z) Bernoulli(sigmoid(logits)) or Logistic(sigmoid(logits), s);
//                  p(y|z) = prod_t p(y_t | y_<t, z)
//   loss           sum over S in {xy, x, y} of -ELBO(S) = E_q(z|S)[-log p(S|z)] + beta KL
//                  (+ A [KL(q(z|x,y) || q(z|x)) + KL(q(z|x,y) || q(z|y))], JMVAE-kl, A > 0)
//
// Every term is in nats per item, averaged over the batch. The object, data and
// inference are in mmvae_model.c, mmvae_train.c and mmvae_infer.c.
#include <math.h>
#include <stdio.h>

#include "models/gauss_latent.h"
#include "models/mmvae_internal.h"

// ---- the networks --------------------------------------------------------------------------

lc_status mmvae_declare(lc_mmvae *m) {
    const lc_mmvae_config *c = &m->cfg;
    lc_params *p = &m->params;
    int64_t Z = c->latent, H = c->hidden, D = c->text.dim;
    // q(z|x): the conv image encoder (image_nets.h) and two heads
    LC_TRY(image_encoder_declare(&m->image_enc, p, "image_encoder", c->channels, c->height,
                                 c->width, H));
    LC_TRY(lc_linear_declare(&m->img_mu, p, "image_mu", H, Z, 1));
    LC_TRY(lc_linear_declare(&m->img_logvar, p, "image_logvar", H, Z, 1));
    // q(z|y)
    LC_TRY(lc_text_encoder_declare(&m->text_enc, p, "text", &c->text));
    LC_TRY(lc_linear_declare(&m->txt_mu, p, "text_mu", D, Z, 1));
    LC_TRY(lc_linear_declare(&m->txt_logvar, p, "text_logvar", D, Z, 1));
    // p(x|z): the conv image decoder
    LC_TRY(image_decoder_declare(&m->image_dec, p, "image_decoder", Z, H, c->channels, c->height,
                                 c->width));
    // p(y|z)
    return lc_text_decoder_declare(&m->text_dec, p, "text_decoder", &c->text, Z);
}

lc_status mmvae_init_weights(lc_mmvae *m, uint64_t seed) {
    lc_device *d = m->dev;
    lc_params *p = &m->params;
    // Each draw is keyed by its parameter's number, so the order of these calls is free.
    LC_TRY(image_encoder_reset(d, p, &m->image_enc, seed));
    LC_TRY(image_decoder_reset(d, p, &m->image_dec, seed));
    LC_TRY(lc_linear_reset(d, p, &m->img_mu, seed));
    LC_TRY(lc_linear_reset(d, p, &m->img_logvar, seed));
    LC_TRY(lc_linear_reset(d, p, &m->txt_mu, seed));
    LC_TRY(lc_linear_reset(d, p, &m->txt_logvar, seed));
    LC_TRY(lc_text_encoder_reset(d, p, &m->text_enc, seed));
    return lc_text_decoder_reset(d, p, &m->text_dec, seed);
}

lc_status mmvae_image_expert(lc_mmvae *m, lc_tensor **mu, lc_tensor **logvar, lc_tensor *x) {
    lc_tensor *h;
    LC_TRY(image_encoder_forward(m->ctx, &h, &m->params, &m->image_enc, x));       // (B, H)
    LC_TRY(lc_linear_forward(m->ctx, mu, &m->params, &m->img_mu, h, LC_ACT_NONE)); // (B, Z)
    return lc_linear_forward(m->ctx, logvar, &m->params, &m->img_logvar, h, LC_ACT_NONE);
}

lc_status mmvae_text_expert(lc_mmvae *m, lc_tensor **mu, lc_tensor **logvar, lc_tensor *ids,
                            lc_tensor *eos) {
    lc_tensor *h;
    LC_TRY(lc_text_encoder_forward(m->ctx, &h, &m->params, &m->text_enc, ids, eos)); // (B, D)
    LC_TRY(lc_linear_forward(m->ctx, mu, &m->params, &m->txt_mu, h, LC_ACT_NONE));   // (B, Z)
    return lc_linear_forward(m->ctx, logvar, &m->params, &m->txt_logvar, h, LC_ACT_NONE);
}

lc_status mmvae_image_decoder(lc_mmvae *m, lc_tensor **logits, lc_tensor *z) {
    return image_decoder_forward(m->ctx, logits, &m->params, &m->image_dec, z);
}

lc_status mmvae_text_decoder(lc_mmvae *m, lc_tensor **logits, lc_tensor *ids, lc_tensor *z) {
    return lc_text_decoder_forward(m->ctx, logits, &m->params, &m->text_dec, ids, z);
}

// Token cross-entropy summed over a caption's tokens (padding has zero target rows, so it
// adds nothing): -sum(log_softmax(logits) * target) / B.
lc_status mmvae_text_rec(lc_mmvae *m, lc_tensor **rec, lc_tensor *logits, lc_tensor *target) {
    int64_t B = logits->shape[0], V = logits->shape[2];
    lc_tensor *flat, *logp, *picked, *total;
    LC_TRY(lc_reshape(m->ctx, &flat, logits, 2, (int64_t[]){(int64_t)(logits->numel / V), V}));
    LC_TRY(lc_log_softmax(m->ctx, &logp, flat)); // (B*T, V)
    LC_TRY(lc_mul(m->ctx, &picked, logp, target));
    LC_TRY(lc_sum(m->ctx, &total, picked, LC_ALL_AXES)); // (1)
    return lc_scale(m->ctx, rec, total, -1.0f / (float)B);
}

// -log p(x|z) summed over an image's pixels, averaged over the batch (1). Logistic of scale
// s around m = sigmoid(logits): with u = (x - m) / s, -log p = softplus(u) + softplus(-u)
// + log s per pixel (the logistic density 1 / (s (2 + 2 cosh u)), in nats).
lc_status mmvae_image_rec(lc_mmvae *m, lc_tensor **rec, lc_tensor *logits, lc_tensor *x) {
    const lc_mmvae_config *c = &m->cfg;
    if (c->image_likelihood == LC_MMVAE_BERNOULLI)
        return lc_bce_logits(m->ctx, rec, logits, x, LC_REDUCE_BATCH_MEAN);
    int64_t B = logits->shape[0];
    float inv_s = (float)(1.0 / c->image_scale);
    const lc_unary_step up[2] = {{LC_ACT_SCALE, inv_s, 0.0f}, {LC_ACT_SOFTPLUS, 0.0f, 0.0f}};
    const lc_unary_step down[2] = {{LC_ACT_SCALE, -inv_s, 0.0f}, {LC_ACT_SOFTPLUS, 0.0f, 0.0f}};
    lc_tensor *mean, *d, *a, *b, *both, *total;
    LC_TRY(lc_sigmoid(m->ctx, &mean, logits)); // (B, P)
    LC_TRY(lc_sub(m->ctx, &d, x, mean));
    LC_TRY(lc_chain(m->ctx, &a, d, 2, up));
    LC_TRY(lc_chain(m->ctx, &b, d, 2, down));
    LC_TRY(lc_add(m->ctx, &both, a, b));
    LC_TRY(lc_sum(m->ctx, &total, both, LC_ALL_AXES)); // (1)
    const lc_unary_step per_item = {LC_ACT_SCALE, 1.0f / (float)B,
                                    (float)((double)m->P * log(c->image_scale))};
    return lc_chain(m->ctx, rec, total, 1, &per_item);
}

// ---- the product of Gaussian experts ---------------------------------------------------------

void lc_poe_host(float *mu, float *logvar, const float *const *mus, const float *const *logvars,
                 int n, int64_t count) {
    for (int64_t i = 0; i < count; i++) {
        double T = 1.0, num = 0.0; // the prior expert: precision 1, mean 0
        for (int e = 0; e < n; e++) {
            double t = exp(-(double)logvars[e][i]);
            T += t;
            num += (double)mus[e][i] * t;
        }
        mu[i] = (float)(num / T);
        logvar[i] = (float)-log(T);
    }
}

// Precisions T_e = exp(-logvar_e); T = 1 + sum T_e; logvar = -log T; mu = var sum mu_e T_e.
// Built from recorded ops, so gradients reach every expert.
lc_status lc_poe(lc_ctx *ctx, lc_tensor **mu, lc_tensor **logvar, lc_tensor *const *mus,
                 lc_tensor *const *logvars, int n) {
    if (n < 1) return lc_fail(LC_ERR_INVALID_ARG, "lc_poe: no experts");
    const lc_unary_step neg_exp[2] = {{LC_ACT_SCALE, -1.0f, 0.0f}, {LC_ACT_EXP, 0.0f, 0.0f}};
    const lc_unary_step one_plus_neg_log[3] = {
        {LC_ACT_SCALE, 1.0f, 1.0f}, {LC_ACT_LOG, 0.0f, 0.0f}, {LC_ACT_SCALE, -1.0f, 0.0f}};
    lc_tensor *T = NULL, *num = NULL;
    for (int e = 0; e < n; e++) {
        lc_tensor *t, *weighted;
        LC_TRY(lc_chain(ctx, &t, logvars[e], 2, neg_exp)); // precision of expert e
        LC_TRY(lc_mul(ctx, &weighted, mus[e], t));
        if (e == 0) {
            T = t;
            num = weighted;
        } else {
            LC_TRY(lc_add(ctx, &T, T, t));
            LC_TRY(lc_add(ctx, &num, num, weighted));
        }
    }
    lc_tensor *var;
    LC_TRY(lc_chain(ctx, logvar, T, 3, one_plus_neg_log)); // -log(1 + sum T_e)
    LC_TRY(lc_exp(ctx, &var, *logvar));
    return lc_mul(ctx, mu, num, var);
}

// ---- the ELBO ---------------------------------------------------------------------------------

static lc_status accumulate(lc_ctx *ctx, lc_tensor **sum, lc_tensor *term) {
    if (!*sum) {
        *sum = term;
        return LC_OK;
    }
    return lc_add(ctx, sum, *sum, term);
}

// KL(a || b) of diagonal Gaussians is 0.5 sum_d [lv_b - lv_a + (e^lv_a + (mu_a - mu_b)^2)
// / e^lv_b - 1] (lc_kl_gauss, one fused op with gradients to both sides, as JMVAE trains
// them: the joint posterior is also pulled towards the one-modality ones).
lc_status mmvae_align(lc_ctx *ctx, lc_tensor **align, lc_tensor *const *mus,
                      lc_tensor *const *logvars) {
    lc_tensor *to_x, *to_y;
    LC_TRY(lc_kl_gauss(ctx, &to_x, mus[0], logvars[0], mus[1], logvars[1], LC_REDUCE_BATCH_MEAN));
    LC_TRY(lc_kl_gauss(ctx, &to_y, mus[0], logvars[0], mus[2], logvars[2], LC_REDUCE_BATCH_MEAN));
    return lc_add(ctx, align, to_x, to_y);
}

lc_status mmvae_neg_elbo(lc_mmvae *m, lc_tensor **loss, lc_tensor **rec_x, lc_tensor **rec_y,
                         lc_tensor **kl, lc_tensor **align, const mmvae_batch *b, float beta,
                         bool only_joint) {
    lc_ctx *ctx = m->ctx;
    lc_tensor *mu_x, *lv_x, *mu_y, *lv_y;
    LC_TRY(mmvae_image_expert(m, &mu_x, &lv_x, b->x));          // q(z|x)
    LC_TRY(mmvae_text_expert(m, &mu_y, &lv_y, b->ids, b->eos)); // q(z|y)
    // The subsampled terms: given modalities -> the experts multiplied (and reconstructed).
    static const int given[3] = {MMVAE_X | MMVAE_Y, MMVAE_X, MMVAE_Y};
    *rec_x = *rec_y = *kl = *align = NULL;
    lc_tensor *post_mu[3] = {0}, *post_lv[3] = {0}; // q(z|S) of each term, for the alignment
    for (int k = 0; k < (only_joint ? 1 : 3); k++) {
        lc_tensor *mus[2], *lvs[2], *mu, *lv, *z, *t;
        int n = 0;
        if (given[k] & MMVAE_X) mus[n] = mu_x, lvs[n++] = lv_x;
        if (given[k] & MMVAE_Y) mus[n] = mu_y, lvs[n++] = lv_y;
        LC_TRY(lc_poe(ctx, &mu, &lv, mus, lvs, n)); // q(z|S) = p(z) prod q(z|s)
        post_mu[k] = mu;
        post_lv[k] = lv;
        LC_TRY(gauss_reparameterise(ctx, &z, mu, lv, b->eps[k])); // z ~ q(z|S)
        int rec = m->cfg.cross ? MMVAE_X | MMVAE_Y : given[k];
        if (rec & MMVAE_X) {
            lc_tensor *logits;
            LC_TRY(mmvae_image_decoder(m, &logits, z)); // p(x|z)
            LC_TRY(mmvae_image_rec(m, &t, logits, b->x));
            // x from the caption alone: a caption leaves details open, so this term may be
            // weighted down (it pulls the decoder towards the images' average)
            if (given[k] == MMVAE_Y && m->cfg.cross_image_weight != 1.0)
                LC_TRY(lc_scale(ctx, &t, t, (float)m->cfg.cross_image_weight));
            LC_TRY(accumulate(ctx, rec_x, t));
        }
        if (rec & MMVAE_Y) {
            lc_tensor *logits;
            LC_TRY(mmvae_text_decoder(m, &logits, b->ids, z)); // p(y|z)
            LC_TRY(mmvae_text_rec(m, &t, logits, b->target));
            LC_TRY(accumulate(ctx, rec_y, t));
        }
        LC_TRY(lc_kl_normal(ctx, &t, mu, lv, LC_REDUCE_BATCH_MEAN)); // KL(q(z|S) || p(z))
        LC_TRY(accumulate(ctx, kl, t));
    }
    lc_tensor *wy, *wkl, *sum;
    LC_TRY(lc_scale(ctx, &wy, *rec_y, (float)m->cfg.text_weight));
    LC_TRY(lc_scale(ctx, &wkl, *kl, beta));
    LC_TRY(lc_add(ctx, &sum, *rec_x, wy));
    // Off (A = 0) adds nothing, so such runs compute exactly what they did before the option.
    if (only_joint || !(m->cfg.align_weight > 0)) return lc_add(ctx, loss, sum, wkl);
    lc_tensor *elbo, *walign;
    LC_TRY(lc_add(ctx, &elbo, sum, wkl));
    LC_TRY(mmvae_align(ctx, align, post_mu, post_lv));
    LC_TRY(lc_scale(ctx, &walign, *align, (float)m->cfg.align_weight));
    return lc_add(ctx, loss, elbo, walign);
}
