// Using a trained multimodal VAE: posterior means of either modality (the retrieval
// embeddings), greedy captions from q(z|x), images from q(z|y), and the test figures
// (captions checked against the generator's attributes, retrieval recall both ways).
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "latentcl/rng.h"
#include "models/mmvae_internal.h"

// Runs fn over chunks of n items with gradients off (restored after).
#define NO_GRAD_BEGIN(m) int was_grad_ = lc_set_grad_enabled((m)->ctx, 0)
#define NO_GRAD_END(m) lc_set_grad_enabled((m)->ctx, was_grad_)

// q(z|x) x prior of B images: mu and logvar (B, Z) to host (logvar may be NULL).
static lc_status image_posterior(lc_mmvae *m, float *mu, float *logvar, const float *x, int64_t B) {
    lc_tensor *tx, *emu, *elv, *pmu, *plv;
    lc_step_begin(m->ctx);
    LC_TRY(lc_tensor_from_host(m->ctx, &tx, x, 2, (int64_t[]){B, m->P}));
    LC_TRY(mmvae_image_expert(m, &emu, &elv, tx));
    LC_TRY(lc_poe(m->ctx, &pmu, &plv, &emu, &elv, 1));
    LC_TRY(lc_tensor_to_host(m->ctx, mu, pmu));
    return logvar ? lc_tensor_to_host(m->ctx, logvar, plv) : LC_OK;
}

// q(z|y) x prior of B captions.
static lc_status text_posterior(lc_mmvae *m, float *mu, float *logvar, const char *const *captions,
                                int64_t B, int64_t *n_unknown) {
    int64_t T = m->cfg.text.max_len;
    int32_t *ids = malloc((size_t)(B * T) * sizeof *ids), *eos = malloc((size_t)B * sizeof *eos);
    lc_status s = ids && eos ? LC_OK : lc_fail(LC_ERR_NOMEM, "out of memory");
    int64_t unk = 0;
    if (s == LC_OK) s = lc_text_batch(ids, eos, &m->vocab, captions, B, T, &unk);
    if (n_unknown) *n_unknown += unk;
    lc_tensor *tids, *teos, *emu, *elv, *pmu, *plv;
    lc_step_begin(m->ctx);
    if (s == LC_OK) s = lc_tensor_from_host_i32(m->ctx, &tids, ids, 2, (int64_t[]){B, T});
    if (s == LC_OK) s = lc_tensor_from_host_i32(m->ctx, &teos, eos, 1, (int64_t[]){B});
    if (s == LC_OK) s = mmvae_text_expert(m, &emu, &elv, tids, teos);
    if (s == LC_OK) s = lc_poe(m->ctx, &pmu, &plv, &emu, &elv, 1);
    if (s == LC_OK) s = lc_tensor_to_host(m->ctx, mu, pmu);
    if (s == LC_OK && logvar) s = lc_tensor_to_host(m->ctx, logvar, plv);
    free(ids);
    free(eos);
    return s;
}

lc_status lc_mmvae_embed_images(lc_mmvae *m, float *out, const float *x, int64_t n) {
    int64_t Z = m->cfg.latent;
    NO_GRAD_BEGIN(m);
    lc_status s = LC_OK;
    for (int64_t i = 0; s == LC_OK && i < n; i += MMVAE_CHUNK) {
        int64_t B = n - i < MMVAE_CHUNK ? n - i : MMVAE_CHUNK;
        s = image_posterior(m, out + i * Z, NULL, x + i * m->P, B);
    }
    NO_GRAD_END(m);
    return s;
}

lc_status lc_mmvae_embed_texts(lc_mmvae *m, float *out, const char *const *captions, int64_t n,
                               int64_t *n_unknown) {
    int64_t Z = m->cfg.latent;
    if (n_unknown) *n_unknown = 0;
    NO_GRAD_BEGIN(m);
    lc_status s = LC_OK;
    for (int64_t i = 0; s == LC_OK && i < n; i += MMVAE_CHUNK) {
        int64_t B = n - i < MMVAE_CHUNK ? n - i : MMVAE_CHUNK;
        s = text_posterior(m, out + i * Z, NULL, captions + i, B, n_unknown);
    }
    NO_GRAD_END(m);
    return s;
}

lc_status lc_mmvae_decode_images(lc_mmvae *m, float *x, const float *z, int64_t n) {
    int64_t Z = m->cfg.latent;
    NO_GRAD_BEGIN(m);
    lc_status s = LC_OK;
    for (int64_t i = 0; s == LC_OK && i < n; i += MMVAE_CHUNK) {
        int64_t B = n - i < MMVAE_CHUNK ? n - i : MMVAE_CHUNK;
        lc_tensor *tz, *logits, *mean;
        lc_step_begin(m->ctx);
        s = lc_tensor_from_host(m->ctx, &tz, z + i * Z, 2, (int64_t[]){B, Z});
        if (s == LC_OK) s = mmvae_image_decoder(m, &logits, tz);
        if (s == LC_OK) s = lc_sigmoid(m->ctx, &mean, logits);
        if (s == LC_OK) s = lc_tensor_to_host(m->ctx, x + i * m->P, mean);
    }
    NO_GRAD_END(m);
    return s;
}

// ---- greedy captions --------------------------------------------------------------------------

// Greedy captions of B codes z (B, Z): text.h's decoding loop, then the words of each row.
static lc_status greedy(lc_mmvae *m, char **out, const float *z, int64_t B, int32_t *ids) {
    int64_t T = m->cfg.text.max_len, Z = m->cfg.latent;
    lc_tensor *tz;
    lc_step_begin(m->ctx);
    LC_TRY(lc_tensor_from_host(m->ctx, &tz, z, 2, (int64_t[]){B, Z}));
    LC_TRY(lc_text_decode_greedy(m->ctx, ids, &m->params, &m->text_dec, tz));
    for (int64_t i = 0; i < B; i++) {
        char buf[LC_CAPTION_MAX_BYTES * 2];
        lc_vocab_decode(buf, sizeof buf, &m->vocab, ids + i * T, (int)T);
        if (!(out[i] = strdup(buf))) return lc_fail(LC_ERR_NOMEM, "out of memory");
    }
    return LC_OK;
}

lc_status lc_mmvae_caption_codes(lc_mmvae *m, char **out, const float *z, int64_t n) {
    int64_t T = m->cfg.text.max_len, Z = m->cfg.latent;
    int64_t C = n < MMVAE_CHUNK ? n : MMVAE_CHUNK;
    for (int64_t i = 0; i < n; i++)
        out[i] = NULL;
    int32_t *ids = malloc((size_t)(C * T) * sizeof *ids);
    lc_status s = ids ? LC_OK : lc_fail(LC_ERR_NOMEM, "out of memory");
    NO_GRAD_BEGIN(m);
    for (int64_t i = 0; s == LC_OK && i < n; i += MMVAE_CHUNK) {
        int64_t B = n - i < MMVAE_CHUNK ? n - i : MMVAE_CHUNK;
        s = greedy(m, out + i, z + i * Z, B, ids);
    }
    NO_GRAD_END(m);
    free(ids);
    if (s != LC_OK)
        for (int64_t i = 0; i < n; i++) {
            free(out[i]);
            out[i] = NULL;
        }
    return s;
}

lc_status lc_mmvae_caption(lc_mmvae *m, char **out, const float *x, int64_t n) {
    float *z = malloc((size_t)(n * m->cfg.latent) * sizeof *z);
    if (!z) return lc_fail(LC_ERR_NOMEM, "out of memory");
    lc_status s = lc_mmvae_embed_images(m, z, x, n);
    if (s == LC_OK) s = lc_mmvae_caption_codes(m, out, z, n);
    free(z);
    return s;
}

// ---- text to image ---------------------------------------------------------------------------

static void count_word(const char *word, size_t len, void *ctx) {
    (void)word;
    (void)len;
    ++*(int64_t *)ctx;
}

lc_status lc_mmvae_generate(lc_mmvae *m, float *x, const char *prompt, int64_t n, bool sample,
                            uint64_t seed, int64_t *n_unknown) {
    int64_t Z = m->cfg.latent, words = 0, unk = 0;
    lc_tokenize_words(prompt, count_word, &words);
    if (n_unknown) *n_unknown = 0;
    float *mu = malloc((size_t)Z * sizeof *mu), *lv = malloc((size_t)Z * sizeof *lv),
          *z = malloc((size_t)(n * Z) * sizeof *z);
    lc_status s = mu && lv && z ? LC_OK : lc_fail(LC_ERR_NOMEM, "out of memory");
    NO_GRAD_BEGIN(m);
    if (s == LC_OK) s = text_posterior(m, mu, lv, &prompt, 1, &unk);
    NO_GRAD_END(m);
    if (n_unknown) *n_unknown = unk;
    if (s == LC_OK && (words == 0 || unk >= words))
        s = lc_fail(LC_ERR_INVALID_ARG, "the prompt \"%.200s\" has no word the model knows",
                    prompt);
    for (int64_t i = 0; s == LC_OK && i < n; i++) {
        float *row = z + i * Z;
        if (sample) {
            const uint32_t counter[4] = {0, (uint32_t)i, 0, MMVAE_DRAW_GEN};
            lc_rng_fill_host(row, (size_t)Z, 1, seed, counter);
        }
        for (int64_t d = 0; d < Z; d++)
            row[d] = mu[d] + (sample ? row[d] * expf(0.5f * lv[d]) : 0.0f);
    }
    if (s == LC_OK) s = lc_mmvae_decode_images(m, x, z, n);
    free(mu);
    free(lv);
    free(z);
    return s;
}

lc_status lc_mmvae_text_to_image(lc_mmvae *m, float *x, const char *const *captions, int64_t n,
                                 bool sample, uint64_t seed) {
    int64_t Z = m->cfg.latent;
    float *z = malloc((size_t)(n * Z) * sizeof *z), *lv = malloc((size_t)(n * Z) * sizeof *lv);
    lc_status s = z && lv ? LC_OK : lc_fail(LC_ERR_NOMEM, "out of memory");
    NO_GRAD_BEGIN(m);
    for (int64_t i = 0; s == LC_OK && i < n; i += MMVAE_CHUNK) {
        int64_t B = n - i < MMVAE_CHUNK ? n - i : MMVAE_CHUNK;
        s = text_posterior(m, z + i * Z, lv + i * Z, captions + i, B, NULL);
    }
    NO_GRAD_END(m);
    for (int64_t i = 0; s == LC_OK && sample && i < n; i++) {
        float eps[4096];
        const uint32_t counter[4] = {0, (uint32_t)i, 1, MMVAE_DRAW_GEN};
        lc_rng_fill_host(eps, (size_t)Z, 1, seed, counter);
        for (int64_t d = 0; d < Z; d++)
            z[i * Z + d] += eps[d] * expf(0.5f * lv[i * Z + d]);
    }
    if (s == LC_OK) s = lc_mmvae_decode_images(m, x, z, n);
    free(z);
    free(lv);
    return s;
}

// ---- evaluation -------------------------------------------------------------------------------

typedef struct {
    char *buf;
    size_t len, cap;
} words_buf;

static void add_word(const char *word, size_t len, void *ctx) {
    words_buf *w = ctx;
    if (w->len + len + 2 > w->cap) return; // over-long captions compare by their prefix
    if (w->len) w->buf[w->len++] = ' ';
    memcpy(w->buf + w->len, word, len);
    w->len += len;
    w->buf[w->len] = 0;
}

// The caption as its lowercase words joined by single spaces (malloc'ed).
static char *normalise(const char *caption) {
    size_t cap = strlen(caption) + 2;
    words_buf w = {malloc(cap), 0, cap};
    if (!w.buf) return NULL;
    w.buf[0] = 0;
    lc_tokenize_words(caption, add_word, &w);
    return w.buf;
}

// recall@1 and @5 of queries q (n, Z) against keys k (n, Z): a hit when one of the k
// nearest keys' normalised caption equals the query's.
static void recall(double *r1, double *r5, const float *q, const float *keys, char *const *norm,
                   int64_t n, int64_t Z) {
    int64_t h1 = 0, h5 = 0;
    for (int64_t i = 0; i < n; i++) {
        int64_t best[5];
        double bd[5];
        int nb = 0;
        for (int64_t j = 0; j < n; j++) {
            double d = 0;
            for (int64_t e = 0; e < Z; e++) {
                double t = (double)q[i * Z + e] - (double)keys[j * Z + e];
                d += t * t;
            }
            if (nb == 5 && d >= bd[4]) continue;
            int at = nb < 5 ? nb++ : 4;
            while (at > 0 && bd[at - 1] > d) {
                bd[at] = bd[at - 1];
                best[at] = best[at - 1];
                at--;
            }
            bd[at] = d;
            best[at] = j;
        }
        bool hit = false;
        for (int k = 0; k < nb; k++) {
            hit = hit || !strcmp(norm[best[k]], norm[i]);
            if (k == 0 && hit) h1++;
        }
        h5 += hit;
    }
    *r1 = n ? (double)h1 / (double)n : NAN;
    *r5 = n ? (double)h5 / (double)n : NAN;
}

lc_status lc_mmvae_evaluate(lc_mmvae *m, lc_mmvae_eval *out, const float *x,
                            const char *const *captions, const lc_shapes_item *items, int64_t n,
                            lc_progress_fn progress, void *user) {
    memset(out, 0, sizeof *out);
    if (n < 1) return lc_fail(LC_ERR_INVALID_ARG, "mmvae evaluate: no items");
    int64_t Z = m->cfg.latent;
    char **caps = calloc((size_t)n, sizeof *caps), **norm = calloc((size_t)n, sizeof *norm);
    float *zi = malloc((size_t)(n * Z) * sizeof *zi), *zt = malloc((size_t)(n * Z) * sizeof *zt);
    lc_status s = caps && norm && zi && zt ? LC_OK : lc_fail(LC_ERR_NOMEM, "out of memory");
    for (int64_t i = 0; s == LC_OK && i < n; i++)
        if (!(norm[i] = normalise(captions[i]))) s = lc_fail(LC_ERR_NOMEM, "out of memory");
    lc_progress p = lc_progress_init("eval");
    p.total = 3;
    if (s == LC_OK) s = lc_mmvae_embed_images(m, zi, x, n);
    if (s == LC_OK) s = lc_mmvae_caption_codes(m, caps, zi, n);
    p.step = 1;
    if (s == LC_OK && progress && progress(user, &p))
        s = lc_fail(LC_ERR_CANCELLED, "evaluation cancelled");
    int64_t exact = 0;
    for (int64_t i = 0; s == LC_OK && i < n; i++) {
        if (items) {
            exact += lc_shapes_caption_matches(&items[i], caps[i]);
        } else {
            char *c = normalise(caps[i]);
            if (!c) s = lc_fail(LC_ERR_NOMEM, "out of memory");
            exact += c && !strcmp(c, norm[i]);
            free(c);
        }
    }
    if (s == LC_OK) s = lc_mmvae_embed_texts(m, zt, captions, n, NULL);
    p.step = 2;
    if (s == LC_OK && progress && progress(user, &p))
        s = lc_fail(LC_ERR_CANCELLED, "evaluation cancelled");
    if (s == LC_OK) {
        out->caption_exact = (double)exact / (double)n;
        recall(&out->recall_at_1_i2t, &out->recall_at_5_i2t, zi, zt, norm, n, Z);
        recall(&out->recall_at_1_t2i, &out->recall_at_5_t2i, zt, zi, norm, n, Z);
        out->n = n;
        p.step = 3;
        if (progress) progress(user, &p);
    }
    lc_mmvae_captions_free(caps, caps ? n : 0);
    lc_mmvae_captions_free(norm, norm ? n : 0);
    free(zi);
    free(zt);
    return s;
}
