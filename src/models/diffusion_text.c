// Text-conditioned diffusion: the U-Net's condition is a caption. The shared text encoder
// (text.h) reads it, its pooled embedding goes through text_proj and is added to the time
// embedding (where a class embedding would go). The diffusion core stays generic: condition
// ids index a table of tokenised captions, whose last row is the empty caption "<bos><eos>"
// that stands for "no condition" (the dropped caption of classifier-free guidance).
#include <stdlib.h>
#include <string.h>

#include "latentcl/checkpoint.h"
#include "models/diffusion_internal.h"
#include "models/model_io.h"

enum { T2I_BATCH = 256 };

const lc_vocab *lc_diffusion_vocab(const lc_diffusion *m) {
    return m->cfg.text_cond ? &m->vocab : NULL;
}

lc_status dif_set_captions(lc_diffusion *m, const char *const *captions, int64_t n,
                           int64_t *n_unknown) {
    int64_t T = m->cfg.text.max_len;
    int32_t *ids = malloc((size_t)(n + 1) * (size_t)T * sizeof *ids),
            *eos = malloc((size_t)(n + 1) * sizeof *eos);
    if (!ids || !eos) {
        free(ids);
        free(eos);
        return lc_fail(LC_ERR_NOMEM, "out of memory for %lld captions", (long long)n);
    }
    const char *empty = "";
    lc_status s = n > 0 ? lc_text_batch(ids, eos, &m->vocab, captions, n, T, n_unknown) : LC_OK;
    if (s == LC_OK) s = lc_text_batch(ids + n * T, eos + n, &m->vocab, &empty, 1, T, NULL);
    if (s != LC_OK) {
        free(ids);
        free(eos);
        return s;
    }
    free(m->cond_ids);
    free(m->cond_eos);
    m->cond_ids = ids;
    m->cond_eos = eos;
    m->n_cond = n;
    if (n == 0 && n_unknown) *n_unknown = 0;
    return LC_OK;
}

lc_status lc_diffusion_set_prompts(lc_diffusion *m, const char *const *prompts, int64_t n,
                                   int64_t *n_unknown) {
    if (!m->cfg.text_cond)
        return lc_fail(LC_ERR_INVALID_ARG, "diffusion: a prompt needs a text-conditioned model");
    if (n < 1 || n > INT32_MAX - 1)
        return lc_fail(LC_ERR_INVALID_ARG, "diffusion: %lld prompts", (long long)n);
    // a prompt of which no word is known would be the empty caption in disguise
    for (int64_t i = 0; i < n; i++) {
        int32_t ids[LC_CAPTION_MAX_BYTES];
        int len = 0, known = 0;
        LC_TRY(lc_vocab_encode(ids, &len, &m->vocab, prompts[i] ? prompts[i] : "",
                               LC_CAPTION_MAX_BYTES));
        for (int k = 1; k < len - 1; k++)
            known += ids[k] >= LC_TOK_SPECIALS;
        if (!known)
            return lc_fail(LC_ERR_INVALID_ARG,
                           "prompt \"%s\": the model knows none of its words (its vocabulary "
                           "has %d words, e.g. \"%s\")",
                           prompts[i] ? prompts[i] : "", m->vocab.size - LC_TOK_SPECIALS,
                           m->vocab.size > LC_TOK_SPECIALS ? m->vocab.words[LC_TOK_SPECIALS] : "");
    }
    return dif_set_captions(m, prompts, n, n_unknown);
}

lc_status dif_text_embedding(lc_diffusion *m, lc_tensor **out, const int32_t *y, int64_t n) {
    int64_t T = m->cfg.text.max_len;
    if (n > m->rows_cap) {
        free(m->rows_ids);
        free(m->rows_eos);
        m->rows_ids = malloc((size_t)n * (size_t)T * sizeof *m->rows_ids);
        m->rows_eos = malloc((size_t)n * sizeof *m->rows_eos);
        m->rows_cap = m->rows_ids && m->rows_eos ? n : 0;
        if (!m->rows_cap) return lc_fail(LC_ERR_NOMEM, "out of memory");
    }
    for (int64_t i = 0; i < n; i++) {
        int64_t row = y ? y[i] : m->n_cond;
        if (row < 0 || row > m->n_cond)
            return lc_fail(LC_ERR_INVALID_ARG, "diffusion: caption %lld of %lld", (long long)row,
                           (long long)m->n_cond);
        memcpy(m->rows_ids + i * T, m->cond_ids + row * T, (size_t)T * sizeof *m->rows_ids);
        m->rows_eos[i] = m->cond_eos[row];
    }
    lc_tensor *ids, *eos, *emb, *w, *b;
    int64_t s2[2] = {n, T};
    LC_TRY(lc_tensor_from_host_i32(m->ctx, &ids, m->rows_ids, 2, s2));
    LC_TRY(lc_tensor_from_host_i32(m->ctx, &eos, m->rows_eos, 1, &n));
    LC_TRY(lc_text_encoder_forward(m->ctx, &emb, &m->params, &m->text, ids, eos)); // (n, D)
    const dif_layer *l = &m->unet.text_proj;
    w = dif_param(m, l->w, l->ndim, l->wshape);
    b = dif_param(m, l->b, 1, l->bshape);
    if (!w || !b) return lc_fail(LC_ERR_INVALID_ARG, "unet: text_proj view failed");
    return lc_linear_act(m->ctx, out, emb, w, b, LC_ACT_NONE, 0.0f);
}

lc_status dif_save_vocab(void *self, lc_st_builder *b) {
    lc_diffusion *m = self;
    return model_vocab_save(b, &m->vocab);
}

lc_status lc_diffusion_text_to_image(lc_diffusion *m, const char *const *captions, int64_t n,
                                     const lc_dif_sample_options *o, lc_dif_t2i_judge_fn judge,
                                     void *user) {
    if (!m->cfg.text_cond)
        return lc_fail(LC_ERR_INVALID_ARG, "text-to-image needs a text-conditioned model");
    int64_t B = n < T2I_BATCH ? n : T2I_BATCH;
    float *x = malloc((size_t)B * (size_t)m->dim * sizeof *x);
    int32_t *cls = malloc((size_t)B * sizeof *cls);
    lc_status s = x && cls ? LC_OK : lc_fail(LC_ERR_NOMEM, "out of memory");
    for (int64_t i = 0; i < B && s == LC_OK; i++)
        cls[i] = (int32_t)i;
    for (int64_t first = 0; s == LC_OK && first < n; first += B) {
        int64_t count = n - first < B ? n - first : B;
        lc_dif_sample_options so = *o;
        so.classes = cls; // sample i: prompt i of this batch
        so.cls = 0;
        so.seed = o->seed + (uint64_t)first; // every batch its own noise
        so.traj = NULL, so.traj_count = 0;
        s = lc_diffusion_set_prompts(m, captions + first, count, NULL);
        if (s == LC_OK) s = lc_diffusion_sample(m, x, count, &so);
        if (s == LC_OK) s = judge(user, x, captions + first, count);
    }
    free(x);
    free(cls);
    return s;
}
