// The multimodal VAE object: its config (checked, as JSON and back), creation with
// PyTorch-default weights, loading from a run folder or checkpoint (the vocabulary rides in
// the metadata), and freeing; template captions for labelled image sets.
#include <cjson/cJSON.h>
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "latentcl/checkpoint.h"
#include "models/mmvae_internal.h"
#include "models/model_io.h"

void lc_mmvae_config_default(lc_mmvae_config *c, int64_t vocab) {
    memset(c, 0, sizeof *c);
    c->channels = 3;
    c->height = c->width = 32;
    c->latent = 32;
    c->hidden = 256;
    lc_text_config_default(&c->text, vocab);
    c->beta = 1.0;
    c->text_weight = 1.0;
    // logistic, scale 0.3: on shapes-one images from captions judge 91% (Bernoulli: 75%)
    c->image_likelihood = LC_MMVAE_LOGISTIC;
    c->image_scale = 0.3;
    c->cross_image_weight = 1.0;
    c->align_weight = 0.0; // off: the plain MVAE
}

static const char *const likelihood_names[2] = {"bernoulli", "logistic"};

const char *lc_mmvae_likelihood_name(lc_mmvae_likelihood l) {
    return l == LC_MMVAE_LOGISTIC ? likelihood_names[1] : likelihood_names[0];
}

lc_status lc_mmvae_likelihood_parse(lc_mmvae_likelihood *out, const char *name) {
    for (int i = 0; i < 2; i++)
        if (name && !strcmp(name, likelihood_names[i])) {
            *out = (lc_mmvae_likelihood)i;
            return LC_OK;
        }
    return lc_fail(LC_ERR_INVALID_ARG, "image likelihood \"%s\": bernoulli or logistic",
                   name ? name : "(none)");
}

lc_status lc_mmvae_config_check(const lc_mmvae_config *c) {
    if (c->channels < 1 || c->channels > 4 || c->height < 4 || c->width < 4 || c->height % 4 ||
        c->width % 4 || (int64_t)c->height * c->width > 1 << 20)
        return lc_fail(LC_ERR_INVALID_ARG,
                       "mmvae config: image shape %d x %d x %d (sides must be multiples of 4)",
                       c->channels, c->height, c->width);
    if (c->latent < 1 || c->latent > 4096)
        return lc_fail(LC_ERR_INVALID_ARG, "--latent %d out of range (1..4096)", c->latent);
    if (c->hidden < 1 || c->hidden > 65536)
        return lc_fail(LC_ERR_INVALID_ARG, "--hidden %d out of range (1..65536)", c->hidden);
    if (!(c->beta >= 0 && c->beta < 1e6))
        return lc_fail(LC_ERR_INVALID_ARG, "--beta %g must be >= 0", c->beta);
    if (c->kl_warmup < 0)
        return lc_fail(LC_ERR_INVALID_ARG, "--kl-warmup %ld must be >= 0", c->kl_warmup);
    if (!(c->text_weight > 0 && c->text_weight < 1e6))
        return lc_fail(LC_ERR_INVALID_ARG, "--text-weight %g must be > 0", c->text_weight);
    if (c->image_likelihood != LC_MMVAE_BERNOULLI && c->image_likelihood != LC_MMVAE_LOGISTIC)
        return lc_fail(LC_ERR_INVALID_ARG, "mmvae config: unknown image likelihood %d",
                       (int)c->image_likelihood);
    if (!(c->image_scale >= 1e-4 && c->image_scale <= 10))
        return lc_fail(LC_ERR_INVALID_ARG, "--image-scale %g out of range (1e-4..10)",
                       c->image_scale);
    if (!(c->cross_image_weight >= 0 && c->cross_image_weight < 1e6))
        return lc_fail(LC_ERR_INVALID_ARG, "--cross-image-weight %g must be >= 0",
                       c->cross_image_weight);
    if (!(c->align_weight >= 0 && c->align_weight < 1e6))
        return lc_fail(LC_ERR_INVALID_ARG, "--align-weight %g must be >= 0", c->align_weight);
    return lc_text_config_check(&c->text);
}

lc_status lc_mmvae_config_to_json(char **out, const lc_mmvae_config *c) {
    *out = NULL;
    cJSON *j = cJSON_CreateObject(), *t = NULL;
    lc_status s = j ? model_text_config_json(&t, &c->text) : lc_fail(LC_ERR_NOMEM, "out of memory");
    if (s == LC_OK)
        s = MODEL_JSON_ADD(
            j, MJ_NUM("channels", c->channels), MJ_NUM("height", c->height),
            MJ_NUM("width", c->width), MJ_NUM("latent", c->latent), MJ_NUM("hidden", c->hidden),
            MJ_ITEM("text", t), MJ_NUM("beta", c->beta), MJ_NUM("kl_warmup", c->kl_warmup),
            MJ_NUM("text_weight", c->text_weight), MJ_BOOL("cross", c->cross),
            MJ_STR("image_likelihood", lc_mmvae_likelihood_name(c->image_likelihood)),
            MJ_NUM("image_scale", c->image_scale),
            MJ_NUM("cross_image_weight", c->cross_image_weight),
            // only when on: runs without the alignment keep their config bytes
            MJ_IF(c->align_weight != 0, MJ_NUM("align_weight", c->align_weight)),
            MJ_STR("data", c->data));
    if (s != LC_OK) {
        cJSON_Delete(j);
        return s;
    }
    return model_json_print(out, j);
}

static lc_status bad(const char *key, const char *want) {
    return lc_fail(LC_ERR_FORMAT, "mmvae config: member \"%s\" must be %s", key, want);
}

static lc_status get_int(const cJSON *v, const char *key, long lo, long hi, long *out) {
    return model_json_int(v, lo, hi, out) ? LC_OK : bad(key, "an integer in range");
}

static lc_status text_from_json(lc_text_config *t, const cJSON *j) {
    if (!cJSON_IsObject(j)) return bad("text", "an object");
    long v = 0;
    for (const cJSON *it = j->child; it; it = it->next) {
        const char *k = it->string;
        if (!strcmp(k, "vocab")) {
            LC_TRY(get_int(it, k, 1, 1 << 24, &v));
            t->vocab = v;
        } else if (!strcmp(k, "max_len")) {
            LC_TRY(get_int(it, k, 2, 4096, &v));
            t->max_len = v;
        } else if (!strcmp(k, "dim")) {
            LC_TRY(get_int(it, k, 1, 65536, &v));
            t->dim = v;
        } else if (!strcmp(k, "layers")) {
            LC_TRY(get_int(it, k, 0, LC_TEXT_MAX_LAYERS, &v));
            t->layers = (int)v;
        } else if (!strcmp(k, "heads")) {
            LC_TRY(get_int(it, k, 1, 1024, &v));
            t->heads = (int)v;
        } else {
            return lc_fail(LC_ERR_FORMAT, "mmvae config: unknown member \"text.%s\"", k);
        }
    }
    return LC_OK;
}

lc_status lc_mmvae_config_from_json(lc_mmvae_config *c, const char *json) {
    lc_mmvae_config_default(c, 0);
    c->image_likelihood = LC_MMVAE_BERNOULLI; // runs from before the member were Bernoulli
    cJSON *j = cJSON_Parse(json ? json : "");
    if (!cJSON_IsObject(j)) {
        cJSON_Delete(j);
        return lc_fail(LC_ERR_FORMAT, "mmvae config is not a JSON object: %.200s",
                       json ? json : "(none)");
    }
    lc_status s = LC_OK;
    long v = 0;
    for (const cJSON *it = j->child; s == LC_OK && it; it = it->next) {
        const char *k = it->string;
        if (!strcmp(k, "channels") || !strcmp(k, "height") || !strcmp(k, "width") ||
            !strcmp(k, "latent") || !strcmp(k, "hidden")) {
            s = get_int(it, k, 1, 1 << 20, &v);
            int *dst = !strcmp(k, "channels") ? &c->channels
                       : !strcmp(k, "height") ? &c->height
                       : !strcmp(k, "width")  ? &c->width
                       : !strcmp(k, "latent") ? &c->latent
                                              : &c->hidden;
            if (s == LC_OK) *dst = (int)v;
        } else if (!strcmp(k, "text")) {
            s = text_from_json(&c->text, it);
        } else if (!strcmp(k, "kl_warmup")) {
            s = get_int(it, k, 0, 2000000000L, &v);
            c->kl_warmup = v;
        } else if (!strcmp(k, "beta") || !strcmp(k, "text_weight") || !strcmp(k, "image_scale") ||
                   !strcmp(k, "cross_image_weight") || !strcmp(k, "align_weight")) {
            double *dst = !strcmp(k, "beta")                 ? &c->beta
                          : !strcmp(k, "text_weight")        ? &c->text_weight
                          : !strcmp(k, "image_scale")        ? &c->image_scale
                          : !strcmp(k, "cross_image_weight") ? &c->cross_image_weight
                                                             : &c->align_weight;
            if (!cJSON_IsNumber(it))
                s = bad(k, "a number");
            else
                *dst = it->valuedouble;
        } else if (!strcmp(k, "image_likelihood")) {
            if (!cJSON_IsString(it) ||
                lc_mmvae_likelihood_parse(&c->image_likelihood, it->valuestring) != LC_OK)
                s = bad(k, "\"bernoulli\" or \"logistic\"");
        } else if (!strcmp(k, "cross")) {
            if (!cJSON_IsBool(it))
                s = bad(k, "true or false");
            else
                c->cross = cJSON_IsTrue(it);
        } else if (!strcmp(k, "data")) {
            if (!cJSON_IsString(it) || strlen(it->valuestring) >= sizeof c->data)
                s = bad(k, "a string (a path of under 512 bytes)");
            else
                snprintf(c->data, sizeof c->data, "%s", it->valuestring);
        } else {
            s = lc_fail(LC_ERR_FORMAT, "mmvae config: unknown member \"%s\"", k);
        }
    }
    cJSON_Delete(j);
    LC_TRY(s);
    return lc_mmvae_config_check(c);
}

// ---- vocabulary and captions -------------------------------------------------------------------

static const char *const templates[4] = {"a %s", "a picture of a %s", "an image of a %s",
                                         "a %s in black and white"};

void lc_mmvae_captions_free(char **c, int64_t n) {
    for (int64_t i = 0; c && i < n; i++)
        free(c[i]);
    free(c);
}

lc_status lc_mmvae_template_captions(char ***out, const lc_dataset *d) {
    *out = NULL;
    if (!d->class_names || !d->labels || d->n_classes < 1)
        return lc_fail(LC_ERR_INVALID_ARG, "the image set has neither captions nor class names");
    char **c = calloc((size_t)d->n, sizeof *c);
    if (!c) return lc_fail(LC_ERR_NOMEM, "out of memory");
    for (int64_t i = 0; i < d->n; i++) {
        int32_t y = d->labels[i];
        const char *name = y >= 0 && y < d->n_classes && d->class_names[y] ? d->class_names[y] : "";
        char lower[256];
        size_t k = 0;
        for (; name[k] && k + 1 < sizeof lower; k++)
            lower[k] = (char)tolower((unsigned char)name[k]);
        lower[k] = 0;
        int len = snprintf(NULL, 0, templates[i % 4], lower);
        c[i] = malloc((size_t)len + 1);
        if (!c[i]) {
            lc_mmvae_captions_free(c, d->n);
            return lc_fail(LC_ERR_NOMEM, "out of memory");
        }
        snprintf(c[i], (size_t)len + 1, templates[i % 4], lower);
    }
    *out = c;
    return LC_OK;
}

lc_status lc_mmvae_build_vocab(lc_vocab *out, const lc_dataset *d) {
    char **made = NULL;
    if (!d->captions) LC_TRY(lc_mmvae_template_captions(&made, d));
    const char *const *caps = (const char *const *)(made ? made : d->captions);
    lc_status s = lc_vocab_build(out, caps, d->n, 1, 0);
    lc_mmvae_captions_free(made, d->n);
    return s;
}

// ---- the object ---------------------------------------------------------------------------------

static lc_status create(lc_mmvae **out, lc_device *dev, const lc_mmvae_config *cfg,
                        const lc_vocab *vocab, uint64_t seed) {
    *out = NULL;
    LC_TRY(lc_mmvae_config_check(cfg));
    if (vocab->size != cfg->text.vocab)
        return lc_fail(LC_ERR_INVALID_ARG, "mmvae: vocabulary of %d words, config says %lld",
                       vocab->size, (long long)cfg->text.vocab);
    lc_mmvae *m = calloc(1, sizeof *m);
    if (!m) return lc_fail(LC_ERR_NOMEM, "out of memory");
    m->dev = dev;
    m->cfg = *cfg;
    m->seed = seed;
    m->P = (int64_t)cfg->channels * cfg->height * cfg->width;
    lc_status s = model_vocab_copy(&m->vocab, vocab);
    if (s == LC_OK) s = lc_ctx_create(&m->ctx, dev);
    if (s == LC_OK) s = mmvae_declare(m);
    if (s == LC_OK) s = lc_params_alloc(&m->params, dev);
    if (s != LC_OK) {
        lc_mmvae_free(m);
        return s;
    }
    *out = m;
    return LC_OK;
}

lc_status lc_mmvae_new(lc_mmvae **out, lc_device *dev, const lc_mmvae_config *cfg,
                       const lc_vocab *vocab, uint64_t seed) {
    LC_TRY(create(out, dev, cfg, vocab, seed));
    lc_status s = mmvae_init_weights(*out, seed);
    if (s != LC_OK) {
        lc_mmvae_free(*out);
        *out = NULL;
    }
    return s;
}

lc_status lc_mmvae_load(lc_mmvae **out, lc_device *dev, const char *path, bool ema) {
    *out = NULL;
    char file[4096];
    lc_st_file *f;
    LC_TRY(model_checkpoint_open(&f, file, sizeof file, path, LC_MMVAE_FAMILY, "not an mmvae"));
    const char *vtext = lc_st_meta_get(f, "vocab");
    lc_mmvae_config cfg;
    lc_vocab vocab = {0};
    lc_status s = lc_mmvae_config_from_json(&cfg, lc_st_meta_get(f, LC_META_CONFIG));
    if (s != LC_OK) s = lc_fail_context(s, "%s", file);
    if (s == LC_OK && !vtext) s = lc_fail(LC_ERR_FORMAT, "%s: no vocabulary in the metadata", file);
    if (s == LC_OK) {
        s = lc_vocab_from_string(&vocab, vtext);
        if (s != LC_OK) s = lc_fail_context(s, "%s: vocab", file);
    }
    lc_mmvae *m = NULL;
    if (s == LC_OK) s = create(&m, dev, &cfg, &vocab, model_meta_seed(f));
    if (s == LC_OK) s = lc_train_params_load(&m->params, dev, f, ema ? LC_ST_PREFIX_EMA : "");
    if (s == LC_OK) model_meta_step(&m->step, f);
    lc_st_close(f);
    lc_vocab_free(&vocab);
    if (s != LC_OK) {
        lc_mmvae_free(m);
        return s;
    }
    *out = m;
    return LC_OK;
}

void lc_mmvae_free(lc_mmvae *m) {
    if (!m) return;
    free(m->train_x);
    free(m->train_ids);
    free(m->train_eos);
    free(m->test_x);
    lc_mmvae_captions_free(m->test_captions, m->n_test);
    free(m->test_ids);
    free(m->test_eos);
    free(m->batch_x);
    free(m->batch_eps);
    free(m->batch_target);
    free(m->batch_ids);
    free(m->batch_eos);
    lc_vocab_free(&m->vocab);
    lc_params_free(&m->params);
    lc_ctx_free(m->ctx);
    free(m);
}

const lc_mmvae_config *lc_mmvae_get_config(const lc_mmvae *m) { return &m->cfg; }
const lc_vocab *lc_mmvae_vocab(const lc_mmvae *m) { return &m->vocab; }
lc_params *lc_mmvae_params(lc_mmvae *m) { return &m->params; }
uint64_t lc_mmvae_seed(const lc_mmvae *m) { return m->seed; }
int64_t lc_mmvae_image_size(const lc_mmvae *m) { return m->P; }
