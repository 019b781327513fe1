// The diffusion model object: its config (as JSON in checkpoints), its network and
// parameters, the training data in the model's space, loading a run, and sampling in data
// space (images back to [0, 1], points de-standardised).
#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "latentcl/checkpoint.h"
#include "latentcl/nn.h"
#include "latentcl/rng.h"
#include "models/diffusion_internal.h"
#include "models/model_io.h"
#include "nn/init_default.h"

// ---- config ---------------------------------------------------------------------------

void lc_diffusion_config_default(lc_diffusion_config *c, lc_dif_net_kind net, bool tiny) {
    memset(c, 0, sizeof *c);
    c->net = net;
    c->T = 1000;
    c->schedule = LC_DIF_LINEAR;
    c->target = LC_DIF_PRED_EPS;
    c->p_uncond = 0.1;
    c->point_std[0] = c->point_std[1] = 1.0f;
    if (net == LC_DIF_NET_MLP) {
        c->channels = c->height = 1;
        c->width = 2;
        c->hidden = 128;
        c->depth = 3;
        c->time_dim = 32;
    } else {
        c->channels = 1;
        c->height = c->width = 28;
        int w0 = tiny ? 16 : 32;
        c->widths[0] = w0;
        c->widths[1] = 2 * w0;
        c->widths[2] = 4 * w0;
        c->depth = tiny ? 1 : 2;
        c->time_dim = w0;
    }
}

lc_status lc_diffusion_config_check(const lc_diffusion_config *c) {
    if (c->T < 2 || c->T > 100000)
        return lc_fail(LC_ERR_INVALID_ARG, "diffusion: T = %d (2..100000)", c->T);
    if (c->n_classes < 0 || c->n_classes > 100000)
        return lc_fail(LC_ERR_INVALID_ARG, "diffusion: %d classes", c->n_classes);
    if (!(c->p_uncond >= 0 && c->p_uncond < 1))
        return lc_fail(LC_ERR_INVALID_ARG, "diffusion: label dropout %g (0 <= p < 1)", c->p_uncond);
    if (c->time_dim < 2 || c->time_dim % 2)
        return lc_fail(LC_ERR_INVALID_ARG, "diffusion: time_dim %d (even, >= 2)", c->time_dim);
    if (c->net == LC_DIF_NET_MLP) {
        if (c->channels != 1 || c->height != 1 || c->width < 1 || c->width > 4096)
            return lc_fail(LC_ERR_INVALID_ARG, "diffusion mlp: points of shape %dx%dx%d",
                           c->channels, c->height, c->width);
        if (c->text_cond)
            return lc_fail(LC_ERR_INVALID_ARG, "diffusion mlp: text conditioning needs the unet");
        if (c->hidden < 1 || c->hidden > 65536 || c->depth < 1 || c->depth > DIF_MLP_MAX_DEPTH)
            return lc_fail(LC_ERR_INVALID_ARG, "diffusion mlp: hidden %d, depth %d (1..%d)",
                           c->hidden, c->depth, DIF_MLP_MAX_DEPTH);
        return LC_OK;
    }
    if (c->net != LC_DIF_NET_UNET) return lc_fail(LC_ERR_INVALID_ARG, "diffusion: unknown network");
    if (c->text_cond && c->n_classes)
        return lc_fail(LC_ERR_INVALID_ARG,
                       "diffusion: conditioned on classes or on text, not both");
    if (c->text_cond) LC_TRY(lc_text_config_check(&c->text));
    if (c->channels < 1 || c->channels > 4 || c->height < 4 || c->height % 4 || c->width < 4 ||
        c->width % 4)
        return lc_fail(LC_ERR_INVALID_ARG,
                       "diffusion unet: images %dx%dx%d (1..4 channels, sides multiples of 4)",
                       c->channels, c->height, c->width);
    for (int i = 0; i < 3; i++)
        if (c->widths[i] < 8 || c->widths[i] % 8 || c->widths[i] > 4096)
            return lc_fail(LC_ERR_INVALID_ARG,
                           "diffusion unet: width %d (multiples of 8 for GroupNorm(8))",
                           c->widths[i]);
    if (c->depth < 1 || c->depth > DIF_UNET_MAX_BLOCKS)
        return lc_fail(LC_ERR_INVALID_ARG, "diffusion unet: %d blocks per level (1..%d)", c->depth,
                       DIF_UNET_MAX_BLOCKS);
    return LC_OK;
}

lc_status lc_diffusion_config_to_json(char **out, const lc_diffusion_config *c) {
    cJSON *j = cJSON_CreateObject();
    if (!j) return lc_fail(LC_ERR_NOMEM, "out of memory");
    cJSON_AddStringToObject(j, "net", c->net == LC_DIF_NET_MLP ? "mlp" : "unet");
    cJSON_AddNumberToObject(j, "channels", c->channels);
    cJSON_AddNumberToObject(j, "height", c->height);
    cJSON_AddNumberToObject(j, "width", c->width);
    cJSON_AddNumberToObject(j, "T", c->T);
    cJSON_AddStringToObject(j, "schedule", lc_dif_schedule_name(c->schedule));
    cJSON_AddStringToObject(j, "prediction", c->target == LC_DIF_PRED_V ? "v" : "eps");
    cJSON_AddNumberToObject(j, "n_classes", c->n_classes);
    cJSON_AddStringToObject(j, "cond", c->text_cond ? "text" : c->n_classes ? "class" : "none");
    if (c->text_cond) {
        cJSON *t = cJSON_AddObjectToObject(j, "text");
        if (t) {
            cJSON_AddNumberToObject(t, "vocab", (double)c->text.vocab);
            cJSON_AddNumberToObject(t, "max_len", (double)c->text.max_len);
            cJSON_AddNumberToObject(t, "dim", (double)c->text.dim);
            cJSON_AddNumberToObject(t, "layers", c->text.layers);
            cJSON_AddNumberToObject(t, "heads", c->text.heads);
        }
    }
    cJSON_AddNumberToObject(j, "p_uncond", c->p_uncond);
    cJSON_AddNumberToObject(j, "hidden", c->hidden);
    cJSON_AddNumberToObject(j, "depth", c->depth);
    cJSON *w = cJSON_AddArrayToObject(j, "widths");
    for (int i = 0; w && i < 3; i++)
        cJSON_AddItemToArray(w, cJSON_CreateNumber(c->widths[i]));
    cJSON_AddNumberToObject(j, "time_dim", c->time_dim);
    cJSON *pm = cJSON_AddArrayToObject(j, "point_mean"),
          *ps = cJSON_AddArrayToObject(j, "point_std");
    for (int i = 0; pm && ps && i < 2; i++) {
        cJSON_AddItemToArray(pm, cJSON_CreateNumber(c->point_mean[i]));
        cJSON_AddItemToArray(ps, cJSON_CreateNumber(c->point_std[i]));
    }
    cJSON_AddStringToObject(j, "data", c->data);
    *out = cJSON_PrintUnformatted(j);
    cJSON_Delete(j);
    return *out ? LC_OK : lc_fail(LC_ERR_NOMEM, "out of memory");
}

static lc_status get_num(const cJSON *j, const char *k, double *v) {
    const cJSON *it = cJSON_GetObjectItemCaseSensitive(j, k);
    if (!cJSON_IsNumber(it))
        return lc_fail(LC_ERR_FORMAT, "diffusion config: \"%s\" missing or not a number", k);
    *v = it->valuedouble;
    return LC_OK;
}

static lc_status get_int(const cJSON *j, const char *k, int *v) {
    double d = 0;
    LC_TRY(get_num(j, k, &d));
    if (d != floor(d) || fabs(d) > 1e9)
        return lc_fail(LC_ERR_FORMAT, "diffusion config: \"%s\" is not an integer", k);
    *v = (int)d;
    return LC_OK;
}

static lc_status get_pair(const cJSON *j, const char *k, float *v, int count) {
    const cJSON *a = cJSON_GetObjectItemCaseSensitive(j, k);
    if (!cJSON_IsArray(a) || cJSON_GetArraySize(a) != count)
        return lc_fail(LC_ERR_FORMAT, "diffusion config: \"%s\" is not an array of %d", k, count);
    for (int i = 0; i < count; i++) {
        const cJSON *e = cJSON_GetArrayItem(a, i);
        if (!cJSON_IsNumber(e))
            return lc_fail(LC_ERR_FORMAT, "diffusion config: \"%s\" holds a non-number", k);
        v[i] = (float)e->valuedouble;
    }
    return LC_OK;
}

lc_status lc_diffusion_config_from_json(lc_diffusion_config *c, const char *json) {
    memset(c, 0, sizeof *c);
    cJSON *j = json ? cJSON_Parse(json) : NULL;
    if (!cJSON_IsObject(j)) {
        cJSON_Delete(j);
        return lc_fail(LC_ERR_FORMAT, "diffusion config: not a JSON object");
    }
    lc_status s = LC_OK;
    const cJSON *net = cJSON_GetObjectItemCaseSensitive(j, "net"),
                *sch = cJSON_GetObjectItemCaseSensitive(j, "schedule"),
                *pred = cJSON_GetObjectItemCaseSensitive(j, "prediction"),
                *data = cJSON_GetObjectItemCaseSensitive(j, "data");
    if (!cJSON_IsString(net) ||
        (strcmp(net->valuestring, "mlp") && strcmp(net->valuestring, "unet")))
        s = lc_fail(LC_ERR_FORMAT, "diffusion config: \"net\" is not mlp or unet");
    else
        c->net = strcmp(net->valuestring, "mlp") ? LC_DIF_NET_UNET : LC_DIF_NET_MLP;
    if (s == LC_OK &&
        (!cJSON_IsString(sch) || lc_dif_schedule_parse(&c->schedule, sch->valuestring)))
        s = lc_fail(LC_ERR_FORMAT, "diffusion config: \"schedule\" is not linear or cosine");
    if (s == LC_OK && (!cJSON_IsString(pred) ||
                       (strcmp(pred->valuestring, "eps") && strcmp(pred->valuestring, "v"))))
        s = lc_fail(LC_ERR_FORMAT, "diffusion config: \"prediction\" is not eps or v");
    else if (s == LC_OK)
        c->target = strcmp(pred->valuestring, "v") ? LC_DIF_PRED_EPS : LC_DIF_PRED_V;
    if (s == LC_OK) s = get_int(j, "channels", &c->channels);
    if (s == LC_OK) s = get_int(j, "height", &c->height);
    if (s == LC_OK) s = get_int(j, "width", &c->width);
    if (s == LC_OK) s = get_int(j, "T", &c->T);
    if (s == LC_OK) s = get_int(j, "n_classes", &c->n_classes);
    if (s == LC_OK) s = get_num(j, "p_uncond", &c->p_uncond);
    if (s == LC_OK) s = get_int(j, "hidden", &c->hidden);
    if (s == LC_OK) s = get_int(j, "depth", &c->depth);
    if (s == LC_OK) s = get_int(j, "time_dim", &c->time_dim);
    float w[3];
    if (s == LC_OK) s = get_pair(j, "widths", w, 3);
    for (int i = 0; s == LC_OK && i < 3; i++)
        c->widths[i] = (int)w[i];
    if (s == LC_OK) s = get_pair(j, "point_mean", c->point_mean, 2);
    if (s == LC_OK) s = get_pair(j, "point_std", c->point_std, 2);
    const cJSON *cond = cJSON_GetObjectItemCaseSensitive(j, "cond");
    c->text_cond = cJSON_IsString(cond) && !strcmp(cond->valuestring, "text");
    if (s == LC_OK && c->text_cond) {
        const cJSON *t = cJSON_GetObjectItemCaseSensitive(j, "text");
        int v = 0, len = 0, dim = 0;
        if (!cJSON_IsObject(t))
            s = lc_fail(LC_ERR_FORMAT, "diffusion config: cond text without \"text\"");
        if (s == LC_OK) s = get_int(t, "vocab", &v);
        if (s == LC_OK) s = get_int(t, "max_len", &len);
        if (s == LC_OK) s = get_int(t, "dim", &dim);
        if (s == LC_OK) s = get_int(t, "layers", &c->text.layers);
        if (s == LC_OK) s = get_int(t, "heads", &c->text.heads);
        c->text.vocab = v, c->text.max_len = len, c->text.dim = dim;
    }
    if (s == LC_OK && cJSON_IsString(data) && strlen(data->valuestring) < sizeof c->data)
        snprintf(c->data, sizeof c->data, "%s", data->valuestring);
    cJSON_Delete(j);
    LC_TRY(s);
    return lc_diffusion_config_check(c);
}

// ---- parameters -----------------------------------------------------------------------------

lc_status dif_add_layer(lc_diffusion *m, dif_layer *l, const char *name, int ndim,
                        const int64_t *wshape, int64_t bias) {
    char full[LC_PARAM_NAME_MAX];
    l->ndim = ndim;
    for (int i = 0; i < ndim; i++)
        l->wshape[i] = wshape[i];
    l->bshape[0] = bias;
    l->has_b = bias > 0;
    snprintf(full, sizeof full, "%s.weight", name);
    LC_TRY(lc_params_add(&m->params, full, ndim, wshape, &l->w));
    if (!l->has_b) return LC_OK;
    snprintf(full, sizeof full, "%s.bias", name);
    return lc_params_add(&m->params, full, 1, l->bshape, &l->b);
}

// Linear/conv layers as PyTorch's defaults; GroupNorm weight 1, bias 0 (".norm" layers);
// embeddings N(0, 1) as nn.Embedding.
static lc_status init_weights(lc_diffusion *m, uint64_t seed) {
    for (int i = 0; i < m->params.count; i++) {
        const lc_param_info *p = &m->params.items[i];
        size_t len = strlen(p->name);
        if (len < 7 || strcmp(p->name + len - 7, ".weight")) continue;
        if (!strncmp(p->name, "text.", 5)) continue; // the encoder's own initialisation below
        char layer[LC_PARAM_NAME_MAX];
        snprintf(layer, sizeof layer, "%.*s", (int)(len - 7), p->name);
        if (strstr(layer, "norm")) {
            float *ones = malloc(p->numel * sizeof *ones);
            if (!ones) return lc_fail(LC_ERR_NOMEM, "out of memory");
            for (size_t k = 0; k < p->numel; k++)
                ones[k] = 1.0f;
            lc_status s = lc_write(m->dev, m->params.data, p->offset * sizeof(float), ones,
                                   p->numel * sizeof(float));
            free(ones);
            LC_TRY(s);
        } else if (strstr(layer, "class_emb")) {
            float *z = malloc(p->numel * sizeof *z);
            if (!z) return lc_fail(LC_ERR_NOMEM, "out of memory");
            uint32_t ctr[4] = {0, (uint32_t)i, 0x696e6974 /* "init" */, 1};
            lc_rng_fill_host(z, p->numel, 1, seed, ctr);
            lc_status s = lc_write(m->dev, m->params.data, p->offset * sizeof(float), z,
                                   p->numel * sizeof(float));
            free(z);
            LC_TRY(s);
        } else {
            LC_TRY(lc_init_torch_default(m->dev, &m->params, layer, seed));
        }
    }
    if (m->cfg.text_cond) {
        LC_TRY(lc_text_encoder_reset(m->dev, &m->params, &m->text, seed));
        // Token and position embeddings as nn.Embedding's default N(0, 1), not CLIP's 0.02:
        // at that scale Adam (lr 1e-3) moves them by a large part of their size each step, the
        // caption features keep drifting and the U-Net learns to ignore them (measured on two
        // captioned patterns: no caption-image association after 1,500 steps).
        LC_TRY(lc_param_fill_normal(m->dev, &m->params, "text.token_embedding.weight", 1.0, seed));
        LC_TRY(
            lc_param_fill_normal(m->dev, &m->params, "text.position_embedding.weight", 1.0, seed));
    }
    return LC_OK;
}

lc_tensor *dif_param(lc_diffusion *m, size_t offset, int ndim, const int64_t *shape) {
    lc_tensor *t = NULL;
    if (lc_tensor_param_at(m->ctx, &t, &m->params, offset, ndim, shape) != LC_OK) return NULL;
    return t;
}

static lc_status create(lc_diffusion **out, lc_device *dev, const lc_diffusion_config *cfg,
                        const lc_vocab *vocab, uint64_t seed) {
    *out = NULL;
    LC_TRY(lc_diffusion_config_check(cfg));
    if (cfg->text_cond && (!vocab || vocab->size != cfg->text.vocab))
        return lc_fail(LC_ERR_INVALID_ARG,
                       "diffusion: a text-conditioned model needs its vocabulary (%lld words)",
                       (long long)cfg->text.vocab);
    lc_diffusion *m = calloc(1, sizeof *m);
    if (!m) return lc_fail(LC_ERR_NOMEM, "out of memory");
    m->dev = dev;
    m->cfg = *cfg;
    m->seed = seed;
    m->dim = (int64_t)cfg->channels * cfg->height * cfg->width;
    lc_status s = lc_dif_schedule_make(&m->sched, cfg->schedule, cfg->T);
    if (s == LC_OK && cfg->text_cond) s = model_vocab_copy(&m->vocab, vocab);
    if (s == LC_OK && cfg->text_cond) s = dif_set_captions(m, NULL, 0, NULL); // the empty row
    if (s == LC_OK) s = lc_ctx_create(&m->ctx, dev);
    if (s == LC_OK) s = cfg->net == LC_DIF_NET_MLP ? dif_mlp_declare(m) : dif_unet_declare(m);
    if (s == LC_OK) s = lc_params_alloc(&m->params, dev);
    if (s != LC_OK) {
        lc_diffusion_free(m);
        return s;
    }
    *out = m;
    return LC_OK;
}

static lc_status make(lc_diffusion **out, lc_device *dev, const lc_diffusion_config *cfg,
                      const lc_vocab *vocab, uint64_t seed) {
    LC_TRY(create(out, dev, cfg, vocab, seed));
    lc_status s = init_weights(*out, seed);
    if (s != LC_OK) {
        lc_diffusion_free(*out);
        *out = NULL;
    }
    return s;
}

lc_status lc_diffusion_new(lc_diffusion **out, lc_device *dev, const lc_diffusion_config *cfg,
                           uint64_t seed) {
    *out = NULL;
    if (cfg->text_cond)
        return lc_fail(LC_ERR_INVALID_ARG, "diffusion: a text model starts with its vocabulary "
                                           "(lc_diffusion_new_text)");
    return make(out, dev, cfg, NULL, seed);
}

lc_status lc_diffusion_new_text(lc_diffusion **out, lc_device *dev, const lc_diffusion_config *cfg,
                                const lc_vocab *vocab, uint64_t seed) {
    *out = NULL;
    if (!cfg->text_cond)
        return lc_fail(LC_ERR_INVALID_ARG, "lc_diffusion_new_text: the config is not text_cond");
    return make(out, dev, cfg, vocab, seed);
}

lc_status lc_diffusion_load(lc_diffusion **out, lc_device *dev, const char *path, bool ema) {
    *out = NULL;
    char file[4096];
    lc_st_file *f;
    LC_TRY(model_checkpoint_open(&f, file, sizeof file, path, LC_DIFFUSION_FAMILY,
                                 "not a diffusion model"));
    lc_diffusion_config cfg;
    lc_status s = lc_diffusion_config_from_json(&cfg, lc_st_meta_get(f, LC_META_CONFIG));
    if (s != LC_OK) s = lc_fail_context(s, "%s", file);
    lc_diffusion *m = NULL;
    lc_vocab vocab = {0};
    if (s == LC_OK && cfg.text_cond) {
        const char *text = lc_st_meta_get(f, "vocab");
        s = text ? lc_vocab_from_string(&vocab, text)
                 : lc_fail(LC_ERR_FORMAT,
                           "%s: a text-conditioned model without its vocabulary "
                           "(metadata \"vocab\")",
                           file);
    }
    if (s == LC_OK) s = create(&m, dev, &cfg, cfg.text_cond ? &vocab : NULL, 0);
    lc_vocab_free(&vocab);
    if (s == LC_OK) s = lc_train_params_load(&m->params, dev, f, ema ? LC_ST_PREFIX_EMA : "");
    if (s == LC_OK) model_meta_step(&m->step, f);
    lc_st_close(f);
    if (s != LC_OK) {
        lc_diffusion_free(m);
        return s;
    }
    *out = m;
    return LC_OK;
}

void lc_diffusion_free(lc_diffusion *m) {
    if (!m) return;
    lc_buffer_free(m->train_x);
    free(m->train_y);
    free(m->pics);
    free(m->batch_y);
    free(m->cond_ids);
    free(m->cond_eos);
    free(m->rows_ids);
    free(m->rows_eos);
    if (m->cfg.text_cond) lc_vocab_free(&m->vocab);
    lc_params_free(&m->params);
    lc_ctx_free(m->ctx);
    lc_dif_schedule_free(&m->sched);
    free(m);
}

const lc_diffusion_config *lc_diffusion_get_config(const lc_diffusion *m) { return &m->cfg; }
lc_params *lc_diffusion_params(lc_diffusion *m) { return &m->params; }
const lc_dif_schedule *lc_diffusion_schedule(const lc_diffusion *m) { return &m->sched; }
lc_ctx *lc_diffusion_ctx(lc_diffusion *m) { return m->ctx; }
int64_t lc_diffusion_dim(const lc_diffusion *m) { return m->dim; }
int64_t lc_diffusion_step(const lc_diffusion *m) { return m->step; }

lc_dif_net lc_diffusion_net(lc_diffusion *m) {
    lc_dif_net n;
    n.self = m;
    n.predict = m->cfg.net == LC_DIF_NET_MLP ? dif_mlp_predict : dif_unet_predict;
    n.dim = m->dim;
    n.n_classes = m->cfg.text_cond ? (int)m->n_cond : m->cfg.n_classes;
    n.target = m->cfg.target;
    return n;
}

// ---- data and sampling in data space ------------------------------------------------------

static lc_status keep_data(lc_diffusion *m, const float *model_x, const float *data_x,
                           const int32_t *labels, int64_t n) {
    if (n < 1 || n > INT32_MAX)
        return lc_fail(LC_ERR_INVALID_ARG, "diffusion: %lld training items", (long long)n);
    if (m->cfg.n_classes > 0) {
        if (!labels)
            return lc_fail(LC_ERR_INVALID_ARG, "diffusion: --cond class needs labelled data");
        for (int64_t i = 0; i < n; i++)
            if (labels[i] < 0 || labels[i] >= m->cfg.n_classes)
                return lc_fail(LC_ERR_INVALID_ARG, "diffusion: label %d of item %lld (%d classes)",
                               labels[i], (long long)i, m->cfg.n_classes);
        m->train_y = malloc((size_t)n * sizeof *m->train_y);
        if (!m->train_y) return lc_fail(LC_ERR_NOMEM, "out of memory");
        memcpy(m->train_y, labels, (size_t)n * sizeof *labels);
    }
    size_t bytes = (size_t)n * (size_t)m->dim * sizeof(float);
    LC_TRY(lc_buffer_alloc(&m->train_x, m->dev, bytes));
    LC_TRY(lc_write(m->dev, m->train_x, 0, model_x, bytes));
    m->n_train = n;
    m->n_pics = n < 2000 ? n : 2000;
    m->pics = malloc((size_t)m->n_pics * (size_t)m->dim * sizeof *m->pics);
    if (!m->pics) return lc_fail(LC_ERR_NOMEM, "out of memory");
    memcpy(m->pics, data_x, (size_t)m->n_pics * (size_t)m->dim * sizeof *m->pics);
    return LC_OK;
}

lc_status lc_diffusion_set_images(lc_diffusion *m, const lc_dataset *d) {
    const lc_diffusion_config *c = &m->cfg;
    if (c->net == LC_DIF_NET_MLP)
        return lc_fail(LC_ERR_INVALID_ARG, "diffusion: the mlp takes points, not images");
    if (d->channels != c->channels || d->height != c->height || d->width != c->width)
        return lc_fail(LC_ERR_SHAPE, "diffusion: images are %dx%dx%d, the model takes %dx%dx%d",
                       d->channels, d->height, d->width, c->channels, c->height, c->width);
    if (c->text_cond) {
        if (!d->captions)
            return lc_fail(LC_ERR_INVALID_ARG, "diffusion: --cond text needs captioned images "
                                               "(shapes, or a folder with captions.tsv)");
        if (d->n > INT32_MAX - 1)
            return lc_fail(LC_ERR_INVALID_ARG, "diffusion: %lld captions", (long long)d->n);
        LC_TRY(dif_set_captions(m, (const char *const *)d->captions, d->n, NULL));
        m->train_y = malloc((size_t)d->n * sizeof *m->train_y); // item i: its own caption
        if (!m->train_y) return lc_fail(LC_ERR_NOMEM, "out of memory");
        for (int64_t i = 0; i < d->n; i++)
            m->train_y[i] = (int32_t)i;
    }
    size_t count = (size_t)d->n * (size_t)m->dim;
    float *x = malloc(count * sizeof *x);
    if (!x) return lc_fail(LC_ERR_NOMEM, "out of memory");
    for (size_t i = 0; i < count; i++)
        x[i] = 2.0f * d->images[i] - 1.0f; // [0, 1] -> [-1, 1]
    lc_status s = keep_data(m, x, d->images, c->text_cond ? NULL : d->labels, d->n);
    free(x);
    return s;
}

lc_status lc_diffusion_set_points(lc_diffusion *m, const float *xy, const int32_t *labels,
                                  int64_t n) {
    if (m->cfg.net != LC_DIF_NET_MLP || m->dim != 2)
        return lc_fail(LC_ERR_INVALID_ARG, "diffusion: points need the mlp on 2-D data");
    if (n < 2)
        return lc_fail(LC_ERR_INVALID_ARG, "diffusion: %lld points (at least 2)", (long long)n);
    // standardise each coordinate, so every data set meets the same noise scale
    for (int d = 0; d < 2; d++) {
        double a = 0, q = 0;
        for (int64_t i = 0; i < n; i++)
            a += xy[2 * i + d];
        a /= (double)n;
        for (int64_t i = 0; i < n; i++)
            q += (xy[2 * i + d] - a) * (xy[2 * i + d] - a);
        double sd = sqrt(q / (double)n);
        m->cfg.point_mean[d] = (float)a;
        m->cfg.point_std[d] = (float)(sd > 1e-12 ? sd : 1.0);
    }
    float *x = malloc((size_t)n * 2 * sizeof *x);
    if (!x) return lc_fail(LC_ERR_NOMEM, "out of memory");
    for (int64_t i = 0; i < 2 * n; i++)
        x[i] = (xy[i] - m->cfg.point_mean[i % 2]) / m->cfg.point_std[i % 2];
    lc_status s = keep_data(m, x, xy, labels, n);
    free(x);
    return s;
}

static void to_data_space(const lc_diffusion *m, float *x, int64_t n) {
    if (m->cfg.net == LC_DIF_NET_MLP) {
        for (int64_t i = 0; i < n * m->dim; i++)
            x[i] = x[i] * m->cfg.point_std[i % 2] + m->cfg.point_mean[i % 2];
        return;
    }
    for (int64_t i = 0; i < n * m->dim; i++) {
        float v = 0.5f * (x[i] + 1.0f);
        x[i] = v < 0 ? 0 : v > 1 ? 1 : v;
    }
}

lc_status lc_diffusion_sample(lc_diffusion *m, float *x, int64_t n,
                              const lc_dif_sample_options *o) {
    lc_dif_net net = lc_diffusion_net(m);
    LC_TRY(lc_dif_sample(m->ctx, &m->sched, &net, x, n, o));
    to_data_space(m, x, n);
    if (o->traj) to_data_space(m, o->traj, (int64_t)o->traj_count * o->traj_n);
    return LC_OK;
}
