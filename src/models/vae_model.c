// The AE/VAE object: its config (checked, as JSON and back), creation with
// PyTorch-default weights, loading from a run folder or checkpoint, and freeing.
#include <cjson/cJSON.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "latentcl/checkpoint.h"
#include "models/model_io.h"
#include "models/vae_internal.h"

void lc_vae_config_default(lc_vae_config *c, lc_vae_kind kind) {
    memset(c, 0, sizeof *c);
    c->kind = kind;
    c->net = LC_VAE_NET_MLP;
    c->channels = 1;
    c->height = c->width = 28;
    c->latent = 32;
    c->hidden1 = 512;
    c->hidden2 = 256;
    c->decoder = LC_VAE_BERNOULLI;
    c->sigma = 0.1;
    c->beta = 1.0;
}

const char *lc_vae_family(lc_vae_kind k) { return k == LC_VAE_KIND_AE ? "ae" : "vae"; }

lc_status lc_vae_kind_parse(lc_vae_kind *out, const char *family) {
    if (family && !strcmp(family, "ae"))
        *out = LC_VAE_KIND_AE;
    else if (family && !strcmp(family, "vae"))
        *out = LC_VAE_KIND_VAE;
    else
        return lc_fail(LC_ERR_INVALID_ARG, "family '%s' is not ae or vae", family ? family : "");
    return LC_OK;
}

lc_status lc_vae_config_check(const lc_vae_config *c) {
    if (c->kind != LC_VAE_KIND_AE && c->kind != LC_VAE_KIND_VAE)
        return lc_fail(LC_ERR_INVALID_ARG, "vae config: unknown kind %d", (int)c->kind);
    if (c->net != LC_VAE_NET_MLP && c->net != LC_VAE_NET_CONV)
        return lc_fail(LC_ERR_INVALID_ARG, "vae config: --model must be mlp or conv");
    if (c->channels < 1 || c->channels > 4 || c->height < 1 || c->width < 1 ||
        (int64_t)c->height * c->width > 1 << 20)
        return lc_fail(LC_ERR_INVALID_ARG, "vae config: image shape %d x %d x %d out of range",
                       c->channels, c->height, c->width);
    if (c->net == LC_VAE_NET_CONV && (c->height % 4 || c->width % 4))
        return lc_fail(LC_ERR_INVALID_ARG,
                       "--model conv needs image sides that are multiples of 4, not %d x %d",
                       c->height, c->width);
    if (c->latent < 1 || c->latent > 4096)
        return lc_fail(LC_ERR_INVALID_ARG, "--latent %d out of range (1..4096)", c->latent);
    if (c->hidden1 < 1 || c->hidden2 < 1 || c->hidden1 > 65536 || c->hidden2 > 65536)
        return lc_fail(LC_ERR_INVALID_ARG, "--hidden %d,%d out of range", c->hidden1, c->hidden2);
    if (c->decoder != LC_VAE_BERNOULLI && c->decoder != LC_VAE_GAUSSIAN)
        return lc_fail(LC_ERR_INVALID_ARG, "--decoder must be bernoulli or gaussian");
    if (!(c->sigma > 0 && c->sigma < 1e3))
        return lc_fail(LC_ERR_INVALID_ARG, "--sigma %g must be in (0, 1000)", c->sigma);
    if (!(c->beta >= 0 && c->beta < 1e6))
        return lc_fail(LC_ERR_INVALID_ARG, "--beta %g must be >= 0", c->beta);
    if (c->kl_warmup < 0)
        return lc_fail(LC_ERR_INVALID_ARG, "--kl-warmup %ld must be >= 0", c->kl_warmup);
    if (!(c->noise >= 0 && c->noise < 1e3))
        return lc_fail(LC_ERR_INVALID_ARG, "--noise %g must be >= 0", c->noise);
    if (c->kind == LC_VAE_KIND_AE && (c->beta != 1.0 || c->kl_warmup != 0))
        return lc_fail(LC_ERR_INVALID_ARG, "--beta and --kl-warmup are VAE options (train vae)");
    if (c->kind == LC_VAE_KIND_VAE && c->noise != 0)
        return lc_fail(LC_ERR_INVALID_ARG, "--noise (denoising) is an AE option (train ae)");
    return LC_OK;
}

// Members in a fixed order; only the ones that mean something for the kind.
lc_status lc_vae_config_to_json(char **out, const lc_vae_config *c) {
    *out = NULL;
    bool vae = c->kind == LC_VAE_KIND_VAE, gaussian = c->decoder == LC_VAE_GAUSSIAN;
    cJSON *j = cJSON_CreateObject(),
          *hidden = cJSON_CreateIntArray((const int[]){c->hidden1, c->hidden2}, 2);
    lc_status s = j && hidden ? LC_OK : lc_fail(LC_ERR_NOMEM, "out of memory");
    if (s == LC_OK) {
        s = MODEL_JSON_ADD(
            j, MJ_STR("model", c->net == LC_VAE_NET_CONV ? "conv" : "mlp"),
            MJ_NUM("channels", c->channels), MJ_NUM("height", c->height), MJ_NUM("width", c->width),
            MJ_NUM("latent", c->latent), MJ_ITEM("hidden", hidden),
            MJ_STR("decoder", gaussian ? "gaussian" : "bernoulli"),
            MJ_IF(gaussian, MJ_NUM("sigma", c->sigma)), MJ_IF(vae, MJ_NUM("beta", c->beta)),
            MJ_IF(vae, MJ_NUM("kl_warmup", c->kl_warmup)), MJ_IF(!vae, MJ_NUM("noise", c->noise)),
            MJ_STR("data", c->data));
        hidden = NULL; // handed over to j, or freed by MODEL_JSON_ADD
    }
    if (s != LC_OK) {
        cJSON_Delete(j);
        cJSON_Delete(hidden);
        return s;
    }
    return model_json_print(out, j);
}

static lc_status bad(const char *key, const char *want) {
    return lc_fail(LC_ERR_FORMAT, "vae config: member \"%s\" must be %s", key, want);
}

static lc_status get_int(const cJSON *v, const char *key, long lo, long hi, long *out) {
    return model_json_int(v, lo, hi, out) ? LC_OK : bad(key, "an integer in range");
}

lc_status lc_vae_config_from_json(lc_vae_config *c, lc_vae_kind kind, const char *json) {
    lc_vae_config_default(c, kind);
    cJSON *j = cJSON_Parse(json ? json : "");
    if (!cJSON_IsObject(j)) {
        cJSON_Delete(j);
        return lc_fail(LC_ERR_FORMAT, "vae config is not a JSON object: %.200s",
                       json ? json : "(none)");
    }
    lc_status s = LC_OK;
    long v = 0;
    for (const cJSON *it = j->child; s == LC_OK && it; it = it->next) {
        const char *k = it->string;
        if (!strcmp(k, "model")) {
            if (cJSON_IsString(it) && !strcmp(it->valuestring, "mlp"))
                c->net = LC_VAE_NET_MLP;
            else if (cJSON_IsString(it) && !strcmp(it->valuestring, "conv"))
                c->net = LC_VAE_NET_CONV;
            else
                s = bad(k, "\"mlp\" or \"conv\"");
        } else if (!strcmp(k, "decoder")) {
            if (cJSON_IsString(it) && !strcmp(it->valuestring, "bernoulli"))
                c->decoder = LC_VAE_BERNOULLI;
            else if (cJSON_IsString(it) && !strcmp(it->valuestring, "gaussian"))
                c->decoder = LC_VAE_GAUSSIAN;
            else
                s = bad(k, "\"bernoulli\" or \"gaussian\"");
        } else if (!strcmp(k, "channels") || !strcmp(k, "height") || !strcmp(k, "width") ||
                   !strcmp(k, "latent")) {
            s = get_int(it, k, 1, 1 << 20, &v);
            int *dst = !strcmp(k, "channels") ? &c->channels
                       : !strcmp(k, "height") ? &c->height
                       : !strcmp(k, "width")  ? &c->width
                                              : &c->latent;
            if (s == LC_OK) *dst = (int)v;
        } else if (!strcmp(k, "hidden")) {
            long a = 0, b2 = 0;
            if (!cJSON_IsArray(it) || cJSON_GetArraySize(it) != 2) s = bad(k, "[h1, h2]");
            if (s == LC_OK) s = get_int(cJSON_GetArrayItem(it, 0), k, 1, 65536, &a);
            if (s == LC_OK) s = get_int(cJSON_GetArrayItem(it, 1), k, 1, 65536, &b2);
            c->hidden1 = (int)a;
            c->hidden2 = (int)b2;
        } else if (!strcmp(k, "kl_warmup")) {
            s = get_int(it, k, 0, 2000000000L, &v);
            c->kl_warmup = v;
        } else if (!strcmp(k, "sigma") || !strcmp(k, "beta") || !strcmp(k, "noise")) {
            if (!cJSON_IsNumber(it)) s = bad(k, "a number");
            double *dst = !strcmp(k, "sigma")  ? &c->sigma
                          : !strcmp(k, "beta") ? &c->beta
                                               : &c->noise;
            *dst = it->valuedouble;
        } else if (!strcmp(k, "data")) {
            if (!cJSON_IsString(it) || strlen(it->valuestring) >= sizeof c->data)
                s = bad(k, "a string (a path of under 512 bytes)");
            else
                snprintf(c->data, sizeof c->data, "%s", it->valuestring);
        } else {
            s = lc_fail(LC_ERR_FORMAT, "vae config: unknown member \"%s\"", k);
        }
    }
    cJSON_Delete(j);
    LC_TRY(s);
    return lc_vae_config_check(c);
}

// ---- the object -----------------------------------------------------------------------

static lc_status create(lc_vae **out, lc_device *dev, const lc_vae_config *cfg, uint64_t seed) {
    *out = NULL;
    LC_TRY(lc_vae_config_check(cfg));
    lc_vae *m = calloc(1, sizeof *m);
    if (!m) return lc_fail(LC_ERR_NOMEM, "out of memory");
    m->dev = dev;
    m->cfg = *cfg;
    m->seed = seed;
    m->P = (int64_t)cfg->channels * cfg->height * cfg->width;
    lc_status s = lc_ctx_create(&m->ctx, dev);
    if (s == LC_OK) s = vae_declare(m);
    if (s == LC_OK) s = lc_params_alloc(&m->params, dev);
    if (s != LC_OK) {
        lc_vae_free(m);
        return s;
    }
    *out = m;
    return LC_OK;
}

lc_status lc_vae_new(lc_vae **out, lc_device *dev, const lc_vae_config *cfg, uint64_t seed) {
    LC_TRY(create(out, dev, cfg, seed));
    lc_status s = vae_init_weights(*out, seed);
    if (s != LC_OK) {
        lc_vae_free(*out);
        *out = NULL;
    }
    return s;
}

// The AE's code distribution, metadata "ae_code_stats" = {"mean":[..],"std":[..]}.
static lc_status load_code_stats(lc_vae *m, const lc_st_file *f) {
    const char *text = lc_st_meta_get(f, "ae_code_stats");
    if (!text) return LC_OK;
    cJSON *j = cJSON_Parse(text);
    const cJSON *mean = cJSON_GetObjectItemCaseSensitive(j, "mean"),
                *std = cJSON_GetObjectItemCaseSensitive(j, "std");
    int Z = m->cfg.latent;
    if (!cJSON_IsArray(mean) || !cJSON_IsArray(std) || cJSON_GetArraySize(mean) != Z ||
        cJSON_GetArraySize(std) != Z) {
        cJSON_Delete(j);
        return lc_fail(LC_ERR_FORMAT, "%s: metadata ae_code_stats malformed", lc_st_path(f));
    }
    float *mu = malloc((size_t)Z * sizeof *mu), *sd = malloc((size_t)Z * sizeof *sd);
    lc_status s = mu && sd ? LC_OK : lc_fail(LC_ERR_NOMEM, "out of memory");
    for (int i = 0; s == LC_OK && i < Z; i++) {
        const cJSON *a = cJSON_GetArrayItem(mean, i), *b = cJSON_GetArrayItem(std, i);
        if (!cJSON_IsNumber(a) || !cJSON_IsNumber(b) || !(b->valuedouble >= 0))
            s = lc_fail(LC_ERR_FORMAT, "%s: metadata ae_code_stats malformed", lc_st_path(f));
        else {
            mu[i] = (float)a->valuedouble;
            sd[i] = (float)b->valuedouble;
        }
    }
    cJSON_Delete(j);
    if (s == LC_OK) s = lc_vae_set_code_stats(m, mu, sd);
    free(mu);
    free(sd);
    return s;
}

lc_status lc_vae_load(lc_vae **out, lc_device *dev, const char *path, bool ema) {
    *out = NULL;
    char file[4096];
    lc_st_file *f;
    LC_TRY(model_checkpoint_open(&f, file, sizeof file, path, NULL, NULL));
    const char *family = lc_st_meta_get(f, LC_META_FAMILY);
    lc_vae_kind kind;
    lc_vae_config cfg;
    lc_status s = LC_OK;
    if (!family || lc_vae_kind_parse(&kind, family) != LC_OK)
        s = lc_fail(LC_ERR_FORMAT, "%s: a %s checkpoint, not an ae or vae", file,
                    family ? family : "(no family)");
    if (s == LC_OK) {
        s = lc_vae_config_from_json(&cfg, kind, lc_st_meta_get(f, LC_META_CONFIG));
        if (s != LC_OK) s = lc_fail_context(s, "%s", file);
    }
    lc_vae *m = NULL;
    if (s == LC_OK) s = create(&m, dev, &cfg, model_meta_seed(f));
    if (s == LC_OK) s = lc_train_params_load(&m->params, dev, f, ema ? LC_ST_PREFIX_EMA : "");
    if (s == LC_OK) s = load_code_stats(m, f);
    if (s == LC_OK) model_meta_step(&m->step, f);
    lc_st_close(f);
    if (s != LC_OK) {
        lc_vae_free(m);
        return s;
    }
    *out = m;
    return LC_OK;
}

void lc_vae_free(lc_vae *m) {
    if (!m) return;
    for (int s = 0; s < VAE_IDX_RING; s++) {
        if (m->ids_ev[s]) {
            clWaitForEvents(1, &m->ids_ev[s]);
            clReleaseEvent(m->ids_ev[s]);
        }
        lc_buffer_free(m->ids[s]);
        free(m->ids_host[s]);
    }
    lc_buffer_free(m->train_x);
    lc_buffer_free(m->test_x);
    free(m->test_host);
    free(m->test_labels);
    for (int i = 0; m->class_names && i < m->n_classes; i++)
        free(m->class_names[i]);
    free(m->class_names);
    free(m->code_mean);
    free(m->code_std);
    lc_params_free(&m->params);
    lc_ctx_free(m->ctx);
    free(m);
}

const lc_vae_config *lc_vae_get_config(const lc_vae *m) { return &m->cfg; }
lc_params *lc_vae_params(lc_vae *m) { return &m->params; }
int64_t lc_vae_step(const lc_vae *m) { return m->step; }
uint64_t lc_vae_seed(const lc_vae *m) { return m->seed; }
int64_t lc_vae_image_size(const lc_vae *m) { return m->P; }

lc_status lc_vae_set_code_stats(lc_vae *m, const float *mean, const float *std) {
    size_t Z = (size_t)m->cfg.latent;
    if (!m->code_mean) m->code_mean = malloc(Z * sizeof(float));
    if (!m->code_std) m->code_std = malloc(Z * sizeof(float));
    if (!m->code_mean || !m->code_std) return lc_fail(LC_ERR_NOMEM, "out of memory");
    memcpy(m->code_mean, mean, Z * sizeof(float));
    memcpy(m->code_std, std, Z * sizeof(float));
    return LC_OK;
}
