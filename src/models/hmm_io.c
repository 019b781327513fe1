// HMM checkpoints: safetensors with hmmlearn's tensor names, so that
// `safetensors.numpy.load_file` gives arrays to assign to an hmmlearn model and a
// file written by hand with numpy loads here.
//   startprob (K), transmat (K, K), emissionprob (K, M) | means (K, D), covars (K, D)
//   metadata: family "hmm", emission, config (JSON), alphabet / column_names /
//   state_names (joined by '\n'), tokens ("true"/"false")
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "latentcl/checkpoint.h"
#include "models/hmm_internal.h"

static void strings_free(char **s, int n) {
    if (!s) return;
    for (int i = 0; i < n; i++)
        free(s[i]);
    free(s);
}

void lc_hmm_meta_free(lc_hmm_meta *m) {
    if (!m) return;
    strings_free(m->alphabet.symbols, m->alphabet.size);
    strings_free(m->column_names, m->n_columns);
    strings_free(m->state_names, m->n_states);
    memset(m, 0, sizeof *m);
}

// "a\nb\nc" from n strings (caller frees); NULL on allocation failure.
static char *join_lines(char *const *s, int n) {
    size_t len = 1;
    for (int i = 0; i < n; i++)
        len += strlen(s[i]) + 1;
    char *out = malloc(len), *p = out;
    if (!out) return NULL;
    *p = '\0';
    for (int i = 0; i < n; i++)
        p += sprintf(p, "%s%s", i ? "\n" : "", s[i]);
    return out;
}

// Splits text at '\n' into exactly n strings; -1 if the count differs or memory runs out.
static int split_lines(char ***out, const char *text, int n) {
    *out = calloc((size_t)(n > 0 ? n : 1), sizeof(char *));
    if (!*out) return -1;
    const char *p = text;
    for (int i = 0; i < n; i++) {
        const char *e = strchr(p, '\n');
        if (!e && i + 1 < n) return -1;
        size_t len = e ? (size_t)(e - p) : strlen(p);
        (*out)[i] = strndup(p, len);
        if (!(*out)[i]) return -1;
        p = e ? e + 1 : p + len;
        if (i + 1 == n && e) return -1; // more lines than expected
    }
    return 0;
}

static lc_status add(lc_st_builder *b, const char *name, int ndim, int64_t d0, int64_t d1,
                     const double *v) {
    size_t n = (size_t)d0 * (size_t)(ndim > 1 ? d1 : 1);
    float *f = malloc(n * sizeof(float));
    if (!f) return lc_fail(LC_ERR_NOMEM, "HMM: out of memory");
    for (size_t i = 0; i < n; i++)
        f[i] = (float)v[i];
    int64_t shape[2] = {d0, d1};
    lc_status s = lc_st_builder_add_f32(b, NULL, name, ndim, shape, f);
    free(f);
    return s;
}

lc_status lc_hmm_save(const char *path, const lc_hmm *h, const lc_hmm_meta *meta,
                      const char *config_json) {
    lc_st_builder *b;
    LC_TRY(lc_st_builder_new(&b));
    lc_status s = add(b, "startprob", 1, h->k, 0, h->startprob);
    if (s == LC_OK) s = add(b, "transmat", 2, h->k, h->k, h->transmat);
    if (s == LC_OK && h->emission == LC_HMM_CATEGORICAL)
        s = add(b, "emissionprob", 2, h->k, h->m, h->emissionprob);
    if (s == LC_OK && h->emission == LC_HMM_GAUSSIAN) s = add(b, "means", 2, h->k, h->d, h->means);
    if (s == LC_OK && h->emission == LC_HMM_GAUSSIAN)
        s = add(b, "covars", 2, h->k, h->d, h->covars);
    if (s == LC_OK) s = lc_st_builder_meta(b, LC_META_FAMILY, "hmm");
    if (s == LC_OK) s = lc_st_builder_meta(b, "emission", lc_hmm_emission_name(h->emission));
    if (s == LC_OK && config_json) s = lc_st_builder_meta(b, LC_META_CONFIG, config_json);
    if (s == LC_OK && meta) {
        char *text = NULL;
        if (meta->alphabet.size > 0 &&
            (text = join_lines(meta->alphabet.symbols, meta->alphabet.size)))
            s = lc_st_builder_meta(b, "alphabet", text);
        free(text), text = NULL;
        if (s == LC_OK && meta->column_names && meta->n_columns == h->d &&
            (text = join_lines(meta->column_names, h->d)))
            s = lc_st_builder_meta(b, "column_names", text);
        free(text), text = NULL;
        if (s == LC_OK && meta->state_names && meta->n_states == h->k &&
            (text = join_lines(meta->state_names, h->k)))
            s = lc_st_builder_meta(b, "state_names", text);
        free(text);
        if (s == LC_OK) s = lc_st_builder_meta(b, "tokens", meta->tokens ? "true" : "false");
    }
    if (s == LC_OK) s = lc_st_builder_save(b, path);
    lc_st_builder_free(b);
    return s;
}

// A tensor of exactly (d0) or (d0, d1) into doubles.
static lc_status get(const lc_st_file *f, const char *name, int ndim, int64_t d0, int64_t d1,
                     double *out) {
    int64_t shape[2] = {d0, d1};
    size_t n = (size_t)d0 * (size_t)(ndim > 1 ? d1 : 1);
    float *tmp = malloc(n * sizeof(float));
    if (!tmp) return lc_fail(LC_ERR_NOMEM, "HMM: out of memory");
    lc_status s = lc_st_read_f32(f, name, ndim, shape, tmp, n);
    for (size_t i = 0; s == LC_OK && i < n; i++)
        out[i] = tmp[i];
    free(tmp);
    return s;
}

static lc_status load(lc_hmm *h, lc_hmm_meta *meta, const lc_st_file *f, const char *path) {
    const lc_st_tensor *sp = lc_st_find(f, "startprob"), *em = lc_st_find(f, "emissionprob");
    const lc_st_tensor *mu = lc_st_find(f, "means"), *cv = lc_st_find(f, "covars");
    if (!sp || sp->ndim != 1 || sp->shape[0] < 1)
        return lc_fail(LC_ERR_FORMAT, "%s: no 1-D tensor 'startprob' (K)", path);
    int k = (int)sp->shape[0];
    if (em) {
        if (em->ndim != 2 || em->shape[0] != k || em->shape[1] < 1)
            return lc_fail(LC_ERR_FORMAT, "%s: 'emissionprob' must be (%d, M)", path, k);
        LC_TRY(lc_hmm_init(h, k, LC_HMM_CATEGORICAL, (int)em->shape[1]));
    } else if (mu && cv) {
        if (mu->ndim != 2 || mu->shape[0] != k || mu->shape[1] < 1)
            return lc_fail(LC_ERR_FORMAT, "%s: 'means' must be (%d, D)", path, k);
        LC_TRY(lc_hmm_init(h, k, LC_HMM_GAUSSIAN, (int)mu->shape[1]));
    } else {
        return lc_fail(LC_ERR_FORMAT, "%s: neither 'emissionprob' nor 'means' and 'covars'", path);
    }
    LC_TRY(get(f, "startprob", 1, k, 0, h->startprob));
    LC_TRY(get(f, "transmat", 2, k, k, h->transmat));
    if (em) LC_TRY(get(f, "emissionprob", 2, k, h->m, h->emissionprob));
    if (mu) {
        int d = h->d;
        LC_TRY(get(f, "means", 2, k, d, h->means));
        if (cv->ndim ==
            3) { // hmmlearn's covars_ of a diagonal model is (K, D, D): keep the diagonals
            if (cv->shape[0] != k || cv->shape[1] != d || cv->shape[2] != d)
                return lc_fail(LC_ERR_FORMAT, "%s: 'covars' must be (%d, %d) or (%d, %d, %d)", path,
                               k, d, k, d, d);
            size_t n = (size_t)k * d * d;
            float *full = malloc(n * sizeof(float));
            if (!full) return lc_fail(LC_ERR_NOMEM, "HMM: out of memory");
            lc_status s = lc_st_tensor_f32(cv, full, n);
            for (int i = 0; s == LC_OK && i < k; i++)
                for (int j = 0; j < d; j++)
                    h->covars[(size_t)i * d + j] = full[((size_t)i * d + j) * d + j];
            free(full);
            LC_TRY(s);
        } else {
            LC_TRY(get(f, "covars", 2, k, d, h->covars));
        }
    }
    LC_TRY(lc_hmm_validate(h));
    if (!meta) return LC_OK;
    const char *tokens = lc_st_meta_get(f, "tokens"), *alpha = lc_st_meta_get(f, "alphabet");
    meta->tokens = tokens && !strcmp(tokens, "true");
    if (alpha && h->emission == LC_HMM_CATEGORICAL) {
        meta->alphabet.size = h->m;
        if (split_lines(&meta->alphabet.symbols, alpha, h->m))
            return lc_fail(LC_ERR_FORMAT, "%s: metadata 'alphabet' does not hold %d symbols", path,
                           h->m);
        for (int i = 1; i < h->m; i++)
            if (strcmp(meta->alphabet.symbols[i - 1], meta->alphabet.symbols[i]) >= 0)
                return lc_fail(LC_ERR_FORMAT, "%s: metadata 'alphabet' is not sorted and unique",
                               path);
    }
    const char *cols = lc_st_meta_get(f, "column_names"),
               *states = lc_st_meta_get(f, "state_names");
    if (cols && h->emission == LC_HMM_GAUSSIAN && (meta->n_columns = h->d) &&
        split_lines(&meta->column_names, cols, h->d))
        return lc_fail(LC_ERR_FORMAT, "%s: metadata 'column_names' does not hold %d names", path,
                       h->d);
    if (states && (meta->n_states = h->k) && split_lines(&meta->state_names, states, h->k))
        return lc_fail(LC_ERR_FORMAT, "%s: metadata 'state_names' does not hold %d names", path,
                       h->k);
    return LC_OK;
}

lc_status lc_hmm_load(lc_hmm *h, lc_hmm_meta *meta, const char *path) {
    memset(h, 0, sizeof *h);
    if (meta) memset(meta, 0, sizeof *meta);
    lc_st_file *f;
    LC_TRY(lc_st_open(&f, path));
    const char *family = lc_st_meta_get(f, LC_META_FAMILY);
    lc_status s = family && strcmp(family, "hmm")
                      ? lc_fail(LC_ERR_FORMAT, "%s: a '%s' checkpoint, not an HMM", path, family)
                      : load(h, meta, f, path);
    lc_st_close(f);
    if (s != LC_OK) {
        if (meta) lc_hmm_meta_free(meta);
        lc_hmm_free(h);
        if (!strstr(lc_last_error(), path)) lc_fail_context(s, "%s", path);
    }
    return s;
}
