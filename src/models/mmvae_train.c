// The multimodal VAE in the shared training loop (include/latentcl/train.h): image-caption
// pairs held on the host (captions tokenised once), a step (gather, upload, the three ELBO
// terms, backward), evaluation, the pictures of each epoch and the vocabulary in the
// checkpoint.
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "latentcl/checkpoint.h"
#include "latentcl/rng.h"
#include "models/gauss_latent.h"
#include "models/mmvae_internal.h"
#include "models/model_io.h"

enum { N_PICS = 16, N_CAPTION_CHECK = 256 };

// ---- host batches ------------------------------------------------------------------------------

lc_status mmvae_scratch(lc_mmvae *m, int64_t B) {
    if (B <= m->batch_cap) return LC_OK;
    int64_t T = m->cfg.text.max_len, V = m->cfg.text.vocab, Z = m->cfg.latent;
    free(m->batch_x);
    free(m->batch_eps);
    free(m->batch_target);
    free(m->batch_ids);
    free(m->batch_eos);
    m->batch_x = malloc((size_t)(B * m->P) * sizeof(float));
    m->batch_eps = malloc((size_t)(3 * B * Z) * sizeof(float));
    m->batch_target = malloc((size_t)(B * T * V) * sizeof(float));
    m->batch_ids = malloc((size_t)(B * T) * sizeof(int32_t));
    m->batch_eos = malloc((size_t)B * sizeof(int32_t));
    if (!m->batch_x || !m->batch_eps || !m->batch_target || !m->batch_ids || !m->batch_eos) {
        m->batch_cap = 0;
        return lc_fail(LC_ERR_NOMEM, "mmvae: out of memory for a batch of %lld", (long long)B);
    }
    m->batch_cap = B;
    return LC_OK;
}

void mmvae_targets(float *target, const int32_t *ids, int64_t B, int64_t T, int64_t V) {
    memset(target, 0, (size_t)(B * T * V) * sizeof *target);
    for (int64_t i = 0; i < B; i++)
        for (int64_t t = 0; t + 1 < T; t++) {
            int32_t next = ids[i * T + t + 1]; // position t predicts token t + 1
            if (next != LC_TOK_PAD && next >= 0 && next < V) target[(i * T + t) * V + next] = 1.0f;
        }
}

void mmvae_normals(float *out, const int64_t *items, int64_t B, int64_t Z, uint64_t seed,
                   uint32_t ctr2, uint32_t purpose) {
    for (int64_t i = 0; i < B; i++) {
        const uint32_t counter[4] = {0, (uint32_t)items[i], ctr2, purpose};
        lc_rng_fill_host(out + i * Z, (size_t)Z, 1, seed, counter);
    }
}

lc_status mmvae_upload(lc_mmvae *m, mmvae_batch *b, const float *x, const int32_t *ids,
                       const int32_t *eos, const int64_t *items, int64_t B, uint32_t ctr2,
                       bool eval) {
    int64_t T = m->cfg.text.max_len, V = m->cfg.text.vocab, Z = m->cfg.latent;
    LC_TRY(mmvae_scratch(m, B));
    memset(b, 0, sizeof *b);
    mmvae_targets(m->batch_target, ids, B, T, V);
    LC_TRY(lc_tensor_from_host(m->ctx, &b->x, x, 2, (int64_t[]){B, m->P}));
    LC_TRY(lc_tensor_from_host_i32(m->ctx, &b->ids, ids, 2, (int64_t[]){B, T}));
    LC_TRY(lc_tensor_from_host_i32(m->ctx, &b->eos, eos, 1, (int64_t[]){B}));
    LC_TRY(lc_tensor_from_host(m->ctx, &b->target, m->batch_target, 2, (int64_t[]){B * T, V}));
    static const uint32_t purposes[3] = {MMVAE_DRAW_JOINT, MMVAE_DRAW_IMAGE, MMVAE_DRAW_TEXT};
    for (int k = 0; k < (eval ? 1 : 3); k++) {
        float *eps = m->batch_eps + (size_t)(k * B * Z);
        mmvae_normals(eps, items, B, Z, m->seed, ctr2, eval ? MMVAE_DRAW_EVAL : purposes[k]);
        LC_TRY(lc_tensor_from_host(m->ctx, &b->eps[k], eps, 2, (int64_t[]){B, Z}));
    }
    return LC_OK;
}

// ---- data ---------------------------------------------------------------------------------------

// Copies images and tokenises captions (or template captions) of d.
static lc_status take(lc_mmvae *m, const lc_dataset *d, float **x, int32_t **ids, int32_t **eos,
                      char ***keep_captions) {
    int64_t T = m->cfg.text.max_len;
    char **made = NULL;
    if (!d->captions) LC_TRY(lc_mmvae_template_captions(&made, d));
    const char *const *caps = (const char *const *)(made ? made : d->captions);
    size_t floats = (size_t)d->n * (size_t)m->P;
    *x = malloc(floats * sizeof(float));
    *ids = malloc((size_t)(d->n * T) * sizeof(int32_t));
    *eos = malloc((size_t)d->n * sizeof(int32_t));
    lc_status s = *x && *ids && *eos ? LC_OK : lc_fail(LC_ERR_NOMEM, "out of memory");
    if (s == LC_OK) {
        memcpy(*x, d->images, floats * sizeof(float));
        s = lc_text_batch(*ids, *eos, &m->vocab, caps, d->n, T, NULL);
    }
    if (s == LC_OK && keep_captions) {
        if (made) {
            *keep_captions = made;
            made = NULL;
        } else {
            char **c = calloc((size_t)d->n, sizeof *c);
            if (!c) s = lc_fail(LC_ERR_NOMEM, "out of memory");
            for (int64_t i = 0; s == LC_OK && i < d->n; i++)
                if (!(c[i] = strdup(d->captions[i]))) s = lc_fail(LC_ERR_NOMEM, "out of memory");
            if (s == LC_OK)
                *keep_captions = c;
            else
                lc_mmvae_captions_free(c, d->n);
        }
    }
    lc_mmvae_captions_free(made, d->n);
    return s;
}

lc_status lc_mmvae_set_data(lc_mmvae *m, const lc_dataset *train, const lc_dataset *test) {
    LC_TRY(model_check_images(train, "training", m->cfg.channels, m->cfg.height, m->cfg.width));
    if (test)
        LC_TRY(model_check_images(test, "test", m->cfg.channels, m->cfg.height, m->cfg.width));
    if (m->train_x) return lc_fail(LC_ERR_INVALID_ARG, "lc_mmvae_set_data: the model has data");
    LC_TRY(take(m, train, &m->train_x, &m->train_ids, &m->train_eos, NULL));
    m->n_train = train->n;
    if (test) {
        LC_TRY(take(m, test, &m->test_x, &m->test_ids, &m->test_eos, &m->test_captions));
        m->n_test = test->n;
    }
    return LC_OK;
}

// ---- the step ----------------------------------------------------------------------------------

static void gather(lc_mmvae *m, const float *x, const int32_t *ids, const int32_t *eos,
                   const int64_t *index, int64_t first, int64_t B) {
    int64_t T = m->cfg.text.max_len;
    for (int64_t i = 0; i < B; i++) {
        int64_t r = index ? index[i] : first + i;
        memcpy(m->batch_x + i * m->P, x + r * m->P, (size_t)m->P * sizeof(float));
        memcpy(m->batch_ids + i * T, ids + r * T, (size_t)T * sizeof(int32_t));
        m->batch_eos[i] = eos[r];
    }
}

static lc_status step(void *self, lc_device *dev, cl_mem loss, const lc_batch *b) {
    lc_mmvae *m = self;
    (void)dev;
    m->seed = b->seed;
    lc_step_begin(m->ctx);
    lc_set_grad_enabled(m->ctx, 1);
    lc_set_training(m->ctx, 1);
    LC_TRY(mmvae_scratch(m, b->count));
    gather(m, m->train_x, m->train_ids, m->train_eos, b->index, 0, b->count);
    mmvae_batch batch;
    LC_TRY(mmvae_upload(m, &batch, m->batch_x, m->batch_ids, m->batch_eos, b->index, b->count,
                        (uint32_t)b->step, false));
    lc_tensor *l, *rx, *ry, *kl, *align;
    LC_TRY(mmvae_neg_elbo(m, &l, &rx, &ry, &kl, &align, &batch,
                          gauss_beta_at(m->cfg.beta, m->cfg.kl_warmup, b->step), false));
    LC_TRY(lc_backward(m->ctx, l));
    LC_TRY(model_copy_term(m->dev, loss, 0, l));
    LC_TRY(model_copy_term(m->dev, loss, 1, rx));
    LC_TRY(model_copy_term(m->dev, loss, 2, ry));
    LC_TRY(model_copy_term(m->dev, loss, 3, kl));
    return align ? model_copy_term(m->dev, loss, 4, align) : LC_OK; // the 4th term when on
}

// ---- evaluation
// ----------------------------------------------------------------------------------

// The joint term's -ELBO and its parts over n items (rows index[i], or 0..n-1) of x/ids/eos.
static lc_status joint_elbo(lc_mmvae *m, double out[4], const float *x, const int32_t *ids,
                            const int32_t *eos, const int64_t *index, int64_t n) {
    memset(out, 0, 4 * sizeof(double));
    int64_t *items = malloc((size_t)MMVAE_CHUNK * sizeof *items);
    if (!items) return lc_fail(LC_ERR_NOMEM, "out of memory");
    lc_status s = mmvae_scratch(m, MMVAE_CHUNK);
    for (int64_t first = 0; s == LC_OK && first < n; first += MMVAE_CHUNK) {
        int64_t B = n - first < MMVAE_CHUNK ? n - first : MMVAE_CHUNK;
        for (int64_t i = 0; i < B; i++)
            items[i] = index ? index[first + i] : first + i;
        lc_step_begin(m->ctx);
        gather(m, x, ids, eos, items, 0, B);
        mmvae_batch b;
        lc_tensor *t[4], *no_align;
        float v[4];
        s = mmvae_upload(m, &b, m->batch_x, m->batch_ids, m->batch_eos, items, B, 0, true);
        if (s == LC_OK)
            s = mmvae_neg_elbo(m, &t[0], &t[1], &t[2], &t[3], &no_align, &b, 1.0f, true);
        for (int k = 0; s == LC_OK && k < 4; k++) {
            s = lc_tensor_to_host(m->ctx, &v[k], t[k]);
            out[k] += (double)v[k] * (double)B;
        }
    }
    for (int k = 0; k < 4; k++)
        out[k] /= (double)(n > 0 ? n : 1);
    free(items);
    return s;
}

// Fraction of the first (up to N_CAPTION_CHECK) test images whose greedy caption is the
// true one word for word.
static lc_status caption_match(lc_mmvae *m, double *out) {
    int64_t n = m->n_test < N_CAPTION_CHECK ? m->n_test : N_CAPTION_CHECK;
    char **caps = calloc((size_t)n, sizeof *caps);
    if (!caps) return lc_fail(LC_ERR_NOMEM, "out of memory");
    lc_status s = lc_mmvae_caption(m, caps, m->test_x, n);
    int64_t hits = 0;
    for (int64_t i = 0; s == LC_OK && i < n; i++) {
        char want[LC_CAPTION_MAX_BYTES * 2];
        int32_t *row = m->test_ids + i * m->cfg.text.max_len;
        lc_vocab_decode(want, sizeof want, &m->vocab, row, (int)m->cfg.text.max_len);
        hits += !strcmp(want, caps[i]);
    }
    *out = n > 0 ? (double)hits / (double)n : NAN;
    lc_mmvae_captions_free(caps, n);
    return s;
}

static lc_status evaluate(void *self, lc_device *dev, lc_eval_split split, const int64_t *index,
                          int64_t count, lc_figures *out) {
    lc_mmvae *m = self;
    (void)dev;
    int was = lc_set_grad_enabled(m->ctx, 0);
    lc_set_training(m->ctx, 0);
    double e[4];
    lc_status s = split == LC_EVAL_VAL
                      ? joint_elbo(m, e, m->train_x, m->train_ids, m->train_eos, index, count)
                      : joint_elbo(m, e, m->test_x, m->test_ids, m->test_eos, NULL, m->n_test);
    double match = NAN;
    if (s == LC_OK && split == LC_EVAL_TEST) s = caption_match(m, &match);
    lc_set_grad_enabled(m->ctx, was);
    LC_TRY(s);
    LC_TRY(lc_figures_add(out, NULL, "neg_elbo", e[0]));
    LC_TRY(lc_figures_add(out, NULL, "rec_x", e[1]));
    LC_TRY(lc_figures_add(out, NULL, "rec_y", e[2]));
    LC_TRY(lc_figures_add(out, NULL, "kl", e[3]));
    if (split == LC_EVAL_TEST) LC_TRY(lc_figures_add(out, NULL, "caption_match", match));
    return LC_OK;
}

// ---- pictures
// --------------------------------------------------------------------------------------

// captions.png: test images with their greedy captions; generated.png: images decoded from
// the mean of q(z|y) of the same images' true captions.
static lc_status epoch_end(void *self, lc_device *dev, const char *run_dir, int64_t epoch,
                           lc_optim *opt) {
    lc_mmvae *m = self;
    (void)dev;
    (void)epoch;
    (void)opt;
    if (!run_dir || m->n_test < 1) return LC_OK;
    int n = m->n_test < N_PICS ? (int)m->n_test : N_PICS;
    const lc_mmvae_config *c = &m->cfg;
    char path[4096], **caps = calloc((size_t)n, sizeof *caps);
    float *z = malloc((size_t)(n * c->latent) * sizeof *z),
          *x = malloc((size_t)n * (size_t)m->P * sizeof *x);
    lc_status s = caps && z && x ? LC_OK : lc_fail(LC_ERR_NOMEM, "out of memory");
    if (s == LC_OK) s = lc_mmvae_caption(m, caps, m->test_x, n);
    if (s == LC_OK) snprintf(path, sizeof path, "%s/captions.png", run_dir);
    if (s == LC_OK)
        s = lc_mmvae_write_captioned(path, m->test_x, caps, n, c->channels, c->height, c->width, 4);
    if (s == LC_OK) s = lc_mmvae_embed_texts(m, z, (const char *const *)m->test_captions, n, NULL);
    if (s == LC_OK) s = lc_mmvae_decode_images(m, x, z, n);
    if (s == LC_OK) snprintf(path, sizeof path, "%s/generated.png", run_dir);
    if (s == LC_OK)
        s = lc_mmvae_write_captioned(path, x, m->test_captions, n, c->channels, c->height, c->width,
                                     4);
    lc_mmvae_captions_free(caps, n);
    free(z);
    free(x);
    return s;
}

// ---- config and checkpoint extras
// ----------------------------------------------------------------

static lc_status config_json(void *self, char **out) {
    lc_mmvae *m = self;
    return lc_mmvae_config_to_json(out, &m->cfg);
}

static lc_status save_extra(void *self, lc_st_builder *b) {
    lc_mmvae *m = self;
    return model_vocab_save(b, &m->vocab);
}

lc_status lc_mmvae_train_model(lc_train_model *out, lc_mmvae *m) {
    if (!m->train_x)
        return lc_fail(LC_ERR_INVALID_ARG, "lc_mmvae_train_model: call lc_mmvae_set_data first");
    memset(out, 0, sizeof *out);
    out->family = LC_MMVAE_FAMILY;
    out->self = m;
    out->params = &m->params;
    out->n_train = m->n_train;
    out->n_terms = 3;
    out->term_names[0] = "rec_x";
    out->term_names[1] = "rec_y";
    out->term_names[2] = "kl";
    if (m->cfg.align_weight > 0) { // only then: runs without it keep their metrics' keys
        out->n_terms = 4;
        out->term_names[3] = "align";
    }
    out->has_test = m->test_x != NULL;
    out->higher_is_better = false;
    out->step = step;
    out->evaluate = evaluate;
    out->epoch_end = epoch_end;
    out->config_json = config_json;
    out->save_extra = save_extra;
    return LC_OK;
}
