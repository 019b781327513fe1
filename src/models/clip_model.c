// The CLIP object: config (checked, as JSON and back), creation, checkpoints with the
// vocabulary, training data and the shared training loop's hooks, evaluation (retrieval
// and zero-shot) — include/latentcl/clip.h.
#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "latentcl/checkpoint.h"
#include "latentcl/rng.h"
#include "models/clip_internal.h"
#include "models/model_io.h"

static char *dup_str(const char *s) {
    size_t n = strlen(s) + 1;
    char *d = malloc(n);
    if (d) memcpy(d, s, n);
    return d;
}

// ---- config ----------------------------------------------------------------------------------

void lc_clip_config_default(lc_clip_config *c, int64_t vocab) {
    memset(c, 0, sizeof *c);
    c->channels = 3;
    c->height = c->width = 32;
    c->hidden = 256;
    c->embed = 128;
    lc_text_config_default(&c->text, vocab);
    c->init_log_scale = log(1 / 0.07);
    c->max_scale = 100;
    c->shapes = 0;
    lc_templates_train(&c->templates);
}

lc_status lc_clip_config_check(const lc_clip_config *c) {
    if (c->channels < 1 || c->channels > 4 || c->height < 4 || c->width < 4 || c->height % 4 ||
        c->width % 4 || (int64_t)c->height * c->width > 1 << 20)
        return lc_fail(LC_ERR_INVALID_ARG,
                       "clip config: images %d x %d x %d (sides must be multiples of 4)",
                       c->channels, c->height, c->width);
    if (c->hidden < 1 || c->hidden > 65536 || c->embed < 1 || c->embed > 65536)
        return lc_fail(LC_ERR_INVALID_ARG, "clip config: hidden %d, embed %d out of range",
                       c->hidden, c->embed);
    if (!(c->max_scale > 0) || !isfinite(c->init_log_scale) || !isfinite(c->max_scale))
        return lc_fail(LC_ERR_INVALID_ARG, "clip config: max_scale %g, init_log_scale %g",
                       c->max_scale, c->init_log_scale);
    if (!(c->word_dropout >= 0 && c->word_dropout < 1))
        return lc_fail(LC_ERR_INVALID_ARG, "clip config: word_dropout %g (0 <= p < 1)",
                       c->word_dropout);
    if (c->shapes < 0 || c->shapes > 2)
        return lc_fail(LC_ERR_INVALID_ARG, "clip config: shapes %d (0, 1 or 2)", c->shapes);
    if (c->templates.n < 0 || c->templates.n > LC_TEMPLATES_MAX)
        return lc_fail(LC_ERR_INVALID_ARG, "clip config: %d templates", c->templates.n);
    return lc_text_config_check(&c->text);
}

lc_status lc_clip_config_to_json(char **out, const lc_clip_config *c) {
    *out = NULL;
    cJSON *j = cJSON_CreateObject(), *t = NULL, *tm = cJSON_CreateArray();
    lc_status s =
        j && tm ? model_text_config_json(&t, &c->text) : lc_fail(LC_ERR_NOMEM, "out of memory");
    for (int i = 0; s == LC_OK && i < c->templates.n; i++)
        s = model_json_append_string(tm, c->templates.items[i]);
    if (s == LC_OK) {
        s = MODEL_JSON_ADD(j, MJ_NUM("channels", c->channels), MJ_NUM("height", c->height),
                           MJ_NUM("width", c->width), MJ_NUM("hidden", c->hidden),
                           MJ_NUM("embed", c->embed), MJ_ITEM("text", t),
                           MJ_NUM("init_log_scale", c->init_log_scale),
                           MJ_NUM("max_scale", c->max_scale), MJ_NUM("shapes", c->shapes),
                           MJ_NUM("word_dropout", c->word_dropout), MJ_ITEM("templates", tm),
                           MJ_STR("data", c->data));
        t = tm = NULL; // handed over to j, or freed by MODEL_JSON_ADD
    }
    if (s != LC_OK) {
        cJSON_Delete(j), cJSON_Delete(t), cJSON_Delete(tm);
        return s;
    }
    return model_json_print(out, j);
}

static bool get_num(const cJSON *j, const char *key, double *v) {
    const cJSON *x = cJSON_GetObjectItemCaseSensitive(j, key);
    if (!cJSON_IsNumber(x)) return false;
    *v = x->valuedouble;
    return true;
}

static bool get_int(const cJSON *j, const char *key, int64_t *v) {
    double d;
    if (!get_num(j, key, &d) || d != floor(d) || fabs(d) > 1e15) return false;
    *v = (int64_t)d;
    return true;
}

lc_status lc_clip_config_from_json(lc_clip_config *c, const char *json) {
    lc_clip_config_default(c, 0);
    cJSON *j = json ? cJSON_Parse(json) : NULL;
    const cJSON *t = cJSON_GetObjectItemCaseSensitive(j, "text");
    const cJSON *tm = cJSON_GetObjectItemCaseSensitive(j, "templates");
    const cJSON *data = cJSON_GetObjectItemCaseSensitive(j, "data");
    int64_t ch, h, w, hid, emb, voc, len, dim, lay, heads, shp;
    bool ok = cJSON_IsObject(j) && cJSON_IsObject(t) && cJSON_IsArray(tm) &&
              get_int(j, "channels", &ch) && get_int(j, "height", &h) && get_int(j, "width", &w) &&
              get_int(j, "hidden", &hid) && get_int(j, "embed", &emb) &&
              get_int(t, "vocab", &voc) && get_int(t, "max_len", &len) && get_int(t, "dim", &dim) &&
              get_int(t, "layers", &lay) && get_int(t, "heads", &heads) &&
              get_int(j, "shapes", &shp) && get_num(j, "init_log_scale", &c->init_log_scale) &&
              get_num(j, "max_scale", &c->max_scale) && cJSON_GetArraySize(tm) <= LC_TEMPLATES_MAX;
    if (ok) {
        c->channels = (int)ch, c->height = (int)h, c->width = (int)w, c->hidden = (int)hid;
        c->embed = (int)emb, c->shapes = (int)shp;
        c->text = (lc_text_config){voc, len, dim, (int)lay, (int)heads};
        c->templates.n = 0;
        const cJSON *it;
        cJSON_ArrayForEach(it, tm) {
            if (!cJSON_IsString(it) || strlen(it->valuestring) >= LC_TEMPLATE_MAX_BYTES) {
                ok = false;
                break;
            }
            snprintf(c->templates.items[c->templates.n++], LC_TEMPLATE_MAX_BYTES, "%s",
                     it->valuestring);
        }
        if (cJSON_IsString(data)) snprintf(c->data, sizeof c->data, "%s", data->valuestring);
        if (cJSON_GetObjectItemCaseSensitive(j, "word_dropout") &&
            !get_num(j, "word_dropout", &c->word_dropout))
            ok = false;
    }
    cJSON_Delete(j);
    if (!ok) return lc_fail(LC_ERR_FORMAT, "not a CLIP config: %.200s", json ? json : "(none)");
    return lc_clip_config_check(c);
}

// ---- creation, loading -------------------------------------------------------------------------

static lc_status create(lc_clip **out, lc_device *dev, const lc_clip_config *cfg,
                        const lc_vocab *vocab, uint64_t seed, int init) {
    *out = NULL;
    LC_TRY(lc_clip_config_check(cfg));
    if (vocab->size != cfg->text.vocab)
        return lc_fail(LC_ERR_INVALID_ARG, "clip: vocabulary of %d words, config says %lld",
                       vocab->size, (long long)cfg->text.vocab);
    lc_clip *m = calloc(1, sizeof *m);
    if (!m) return lc_fail(LC_ERR_NOMEM, "out of memory");
    m->dev = dev;
    m->cfg = *cfg;
    m->seed = seed;
    lc_status s = model_vocab_copy(&m->vocab, vocab);
    if (s == LC_OK) s = lc_ctx_create(&m->ctx, dev);
    if (s == LC_OK) s = clip_build(m, init);
    if (s != LC_OK) {
        lc_clip_free(m);
        return s;
    }
    *out = m;
    return LC_OK;
}

lc_status lc_clip_new(lc_clip **out, lc_device *dev, const lc_clip_config *cfg,
                      const lc_vocab *vocab, uint64_t seed) {
    return create(out, dev, cfg, vocab, seed, 1);
}

lc_status lc_clip_load(lc_clip **out, lc_device *dev, const char *path, bool ema) {
    *out = NULL;
    char file[4096];
    lc_st_file *f;
    LC_TRY(model_checkpoint_open(&f, file, sizeof file, path, LC_CLIP_FAMILY, "not a clip model"));
    const char *vocab_text = lc_st_meta_get(f, "vocab");
    lc_clip_config cfg;
    lc_vocab vocab = {0};
    lc_status s = lc_clip_config_from_json(&cfg, lc_st_meta_get(f, LC_META_CONFIG));
    if (s != LC_OK) s = lc_fail_context(s, "%s", file);
    if (s == LC_OK && !vocab_text)
        s = lc_fail(LC_ERR_FORMAT, "%s: no vocabulary (metadata \"vocab\")", file);
    if (s == LC_OK) s = lc_vocab_from_string(&vocab, vocab_text);
    lc_clip *m = NULL;
    if (s == LC_OK) s = create(&m, dev, &cfg, &vocab, 0, 0);
    if (s == LC_OK && ema) {
        char name[LC_PARAM_NAME_MAX + 8];
        snprintf(name, sizeof name, "%slogit_scale", LC_ST_PREFIX_EMA);
        if (!lc_st_find(f, name))
            s = lc_fail(LC_ERR_INVALID_ARG, "%s has no EMA weights (train with --ema DECAY)", file);
    }
    if (s == LC_OK) s = lc_train_params_load(&m->params, dev, f, ema ? LC_ST_PREFIX_EMA : "");
    lc_vocab_free(&vocab);
    lc_st_close(f);
    if (s != LC_OK) {
        lc_clip_free(m);
        return s;
    }
    *out = m;
    return LC_OK;
}

void lc_clip_free(lc_clip *m) {
    if (!m) return;
    if (m->ctx) (void)lc_finish(m->dev);
    clip_ring_free(m);
    free(m->rows_ids);
    free(m->rows_eos);
    lc_vocab_free(&m->vocab);
    lc_params_free(&m->params);
    lc_ctx_free(m->ctx);
    free(m);
}

const lc_clip_config *lc_clip_get_config(const lc_clip *m) { return &m->cfg; }
const lc_vocab *lc_clip_vocab(const lc_clip *m) { return &m->vocab; }
lc_params *lc_clip_params(lc_clip *m) { return &m->params; }

// ---- data
// ----------------------------------------------------------------------------------------

static lc_status check_set(const lc_clip *m, const lc_dataset *d, const char *what) {
    const lc_clip_config *c = &m->cfg;
    if (d->channels != c->channels || d->height != c->height || d->width != c->width)
        return lc_fail(LC_ERR_INVALID_ARG,
                       "%s images are %dx%dx%d (CxHxW); the model takes %dx%dx%d", what,
                       d->channels, d->height, d->width, c->channels, c->height, c->width);
    if (d->n < 1) return lc_fail(LC_ERR_INVALID_ARG, "%s: no images", what);
    if (!d->captions && !(d->labels && d->class_names && c->templates.n > 0))
        return lc_fail(LC_ERR_INVALID_ARG, "%s: no captions and no class names to build them",
                       what);
    return LC_OK;
}

// The caption table: one row per item (captions) or per (class, template).
static lc_status build_rows(lc_clip *m, const lc_dataset *d) {
    int64_t T = m->cfg.text.max_len;
    const lc_templates *t = &m->cfg.templates;
    m->templated = d->captions == NULL;
    m->n_rows = m->templated ? (int64_t)d->n_classes * t->n : d->n;
    free(m->rows_ids), free(m->rows_eos);
    m->rows_ids = malloc((size_t)(m->n_rows * T) * sizeof *m->rows_ids);
    m->rows_eos = malloc((size_t)m->n_rows * sizeof *m->rows_eos);
    if (!m->rows_ids || !m->rows_eos) return lc_fail(LC_ERR_NOMEM, "out of memory for captions");
    if (!m->templated)
        return lc_text_batch(m->rows_ids, m->rows_eos, &m->vocab, (const char *const *)d->captions,
                             d->n, T, NULL);
    for (int64_t r = 0; r < m->n_rows; r++) {
        char buf[LC_TEMPLATE_MAX_BYTES + 256];
        LC_TRY(lc_template_fill(buf, sizeof buf, t->items[r % t->n], d->class_names[r / t->n]));
        const char *one = buf;
        LC_TRY(lc_text_batch(m->rows_ids + r * T, m->rows_eos + r, &m->vocab, &one, 1, T, NULL));
    }
    return LC_OK;
}

lc_status lc_clip_set_data(lc_clip *m, const lc_dataset *train, const lc_dataset *test) {
    LC_TRY(check_set(m, train, "training set"));
    if (test) LC_TRY(check_set(m, test, "test set"));
    for (int64_t i = 0; !train->captions && i < train->n; i++)
        if (train->labels[i] < 0 || train->labels[i] >= train->n_classes)
            return lc_fail(LC_ERR_INVALID_ARG, "training item %lld: label %d outside 0..%d",
                           (long long)i, train->labels[i], train->n_classes - 1);
    m->train = train;
    m->test = test;
    return build_rows(m, train);
}

// The caption row of training item i in this epoch.
static int64_t row_of(const lc_clip *m, int64_t item, const lc_batch *b) {
    if (!m->templated) return item;
    uint32_t key[2], out[4],
        ctr[4] = {(uint32_t)item, (uint32_t)(item >> 32), (uint32_t)b->epoch, 0x636c6970u};
    lc_seed_key(key, b->seed);
    lc_philox4x32_10(out, ctr, key);
    int M = m->cfg.templates.n;
    return (int64_t)m->train->labels[item] * M + (int64_t)(out[0] % (uint32_t)M);
}

// ---- the training loop's hooks
// ---------------------------------------------------------------------

static lc_status hook_step(void *self, lc_device *dev, cl_mem loss, const lc_batch *b) {
    (void)dev;
    lc_clip *m = self;
    // Data parallel (gathers_batch, include/latentcl/dist.h): this rank encodes its slice
    // b->index[0..count) of the global batch; the loss sees all B items, so every caption,
    // its group and its dropped words come from the whole batch (as in one process).
    const int64_t *all = b->global_index ? b->global_index : b->index;
    int64_t B = b->global_index ? b->global_count : b->count;
    int64_t first = b->global_index ? b->first : 0;
    clip_staging *st;
    LC_TRY(clip_stage(m, &st, B));
    int64_t T = m->cfg.text.max_len, Tb = 2;
    if (b->count > 0) lc_dataset_gather(st->x, NULL, m->train, b->index, b->count);
    // Only the positions up to the batch's longest caption: causal attention makes the
    // <eos> state blind to what follows, so the columns after it are dead work.
    for (int64_t i = 0; i < B; i++) {
        int64_t r = row_of(m, all[i], b);
        if (m->rows_eos[r] + 1 > Tb) Tb = m->rows_eos[r] + 1;
    }
    for (int64_t i = 0; i < B; i++) {
        int64_t r = row_of(m, all[i], b);
        memcpy(st->ids + i * Tb, m->rows_ids + r * T, (size_t)Tb * sizeof *st->ids);
        st->eos[i] = m->rows_eos[r];
    }
    // Positives by the true captions; then words dropped to <unk>, keyed by (seed, step,
    // position in the batch, word), so a resumed run drops the same ones.
    lc_caption_groups(st->groups, st->ids, B, Tb);
    double p = m->cfg.word_dropout;
    for (int64_t i = 0; p > 0 && i < B; i++) {
        uint32_t key[2], bits[4],
            ctr[4] = {(uint32_t)i, (uint32_t)b->step, (uint32_t)(b->step >> 32), 0x776f7264u};
        lc_seed_key(key, b->seed);
        for (int32_t w = 1; w < st->eos[i]; w++) {
            if ((w - 1) % 4 == 0) {
                ctr[3] = 0x776f7264u + (uint32_t)((w - 1) / 4);
                lc_philox4x32_10(bits, ctr, key);
            }
            if (lc_uniform_from_u32(bits[(w - 1) % 4]) < p) st->ids[i * Tb + w] = LC_TOK_UNK;
        }
    }
    return clip_step(m, loss, b->count, first, B, Tb);
}

enum { EVAL_PAIRS = 1000 };

static lc_status add_eval(lc_figures *out, const lc_clip_eval *ev) {
    static const char *const ks[3] = {"1", "5", "10"};
    char name[LC_FIGURE_NAME_MAX];
    for (int q = 0; q < 3; q++) { // recall_at_1_i2t first: it picks best.safetensors
        snprintf(name, sizeof name, "recall_at_%s_i2t", ks[q]);
        LC_TRY(lc_figures_add(out, NULL, name, ev->retrieval.recall_i2t[q]));
        snprintf(name, sizeof name, "recall_at_%s_t2i", ks[q]);
        LC_TRY(lc_figures_add(out, NULL, name, ev->retrieval.recall_t2i[q]));
    }
    if (!isnan(ev->zeroshot_accuracy))
        LC_TRY(lc_figures_add(out, NULL, "zeroshot_accuracy", ev->zeroshot_accuracy));
    return LC_OK;
}

static lc_status hook_evaluate(void *self, lc_device *dev, lc_eval_split split,
                               const int64_t *index, int64_t count, lc_figures *out) {
    (void)dev;
    lc_clip *m = self;
    lc_clip_eval ev;
    if (split == LC_EVAL_TEST) {
        LC_TRY(lc_clip_evaluate(m, &ev, m->test, EVAL_PAIRS, NULL));
        return add_eval(out, &ev);
    }
    lc_dataset val = {0};
    LC_TRY(lc_dataset_subset(&val, m->train, index, count < EVAL_PAIRS ? count : EVAL_PAIRS));
    lc_status s = lc_clip_evaluate(m, &ev, &val, EVAL_PAIRS, NULL);
    lc_dataset_free(&val);
    LC_TRY(s);
    return add_eval(out, &ev);
}

static lc_status hook_config(void *self, char **out) {
    lc_clip *m = self;
    return lc_clip_config_to_json(out, &m->cfg);
}

static lc_status hook_save_extra(void *self, lc_st_builder *b) {
    lc_clip *m = self;
    return model_vocab_save(b, &m->vocab);
}

lc_status lc_clip_train_model(lc_train_model *out, lc_clip *m) {
    if (!m->train)
        return lc_fail(LC_ERR_INVALID_ARG, "lc_clip_train_model: call lc_clip_set_data first");
    memset(out, 0, sizeof *out);
    out->family = LC_CLIP_FAMILY;
    out->self = m;
    out->params = &m->params;
    out->n_train = m->train->n;
    out->has_test = m->test != NULL;
    out->higher_is_better = true;
    out->step = hook_step;
    out->gathers_batch = true; // InfoNCE sees the whole global batch (include/latentcl/train.h)
    out->evaluate = hook_evaluate;
    out->config_json = hook_config;
    out->save_extra = hook_save_extra;
    return LC_OK;
}

// ---- evaluation
// ---------------------------------------------------------------------------------------

lc_status lc_clip_zeroshot(lc_clip *m, double *accuracy, int64_t *confusion, const lc_dataset *d,
                           const lc_templates *t, int64_t *n_unknown) {
    LC_TRY(check_set(m, d, "zero-shot set"));
    if (!d->labels || !d->class_names || d->n_classes < 2)
        return lc_fail(LC_ERR_INVALID_ARG, "zero-shot needs labelled images of named classes");
    if (!t || t->n < 1) return lc_fail(LC_ERR_INVALID_ARG, "zero-shot needs templates");
    int K = d->n_classes, M = t->n;
    int64_t E = m->cfg.embed;
    char **prompts = calloc((size_t)(K * M), sizeof *prompts);
    float *te = malloc((size_t)(K * M * E) * sizeof *te),
          *cls = calloc((size_t)(K * E), sizeof *cls);
    float *ue = malloc((size_t)CLIP_CHUNK * (size_t)E * sizeof *ue);
    float *sc = malloc((size_t)(CLIP_CHUNK * K) * sizeof *sc);
    lc_status s = prompts && te && cls && ue && sc ? LC_OK : lc_fail(LC_ERR_NOMEM, "out of memory");
    for (int64_t r = 0; s == LC_OK && r < (int64_t)K * M; r++) {
        char buf[LC_TEMPLATE_MAX_BYTES + 256];
        s = lc_template_fill(buf, sizeof buf, t->items[r % M], d->class_names[r / M]);
        if (s == LC_OK && !(prompts[r] = dup_str(buf))) s = lc_fail(LC_ERR_NOMEM, "out of memory");
    }
    if (s == LC_OK) s = lc_clip_embed_texts(m, te, (const char *const *)prompts, K * M, n_unknown);
    // Each class: the normalised mean of its templates' embeddings (prompt ensembling).
    for (int k = 0; s == LC_OK && k < K; k++) {
        double norm = 0;
        for (int64_t e = 0; e < E; e++) {
            double sum = 0;
            for (int j = 0; j < M; j++)
                sum += te[((int64_t)k * M + j) * E + e];
            cls[k * E + e] = (float)(sum / M);
            norm += (sum / M) * (sum / M);
        }
        for (int64_t e = 0; e < E; e++)
            cls[k * E + e] /= (float)sqrt(norm + 1e-24);
    }
    if (confusion) memset(confusion, 0, (size_t)K * K * sizeof *confusion);
    int64_t correct = 0, n_scored = 0;
    size_t image = lc_dataset_image_size(d);
    for (int64_t i = 0; s == LC_OK && i < d->n; i += CLIP_CHUNK) {
        int64_t b = d->n - i < CLIP_CHUNK ? d->n - i : CLIP_CHUNK;
        s = lc_clip_embed_images(m, ue, d->images + (size_t)i * image, b);
        if (s != LC_OK) break;
        lc_similarity_matrix(sc, ue, b, cls, K, E, LC_SIM_COSINE);
        for (int64_t j = 0; j < b; j++) {
            int32_t y = d->labels[i + j];
            if (y < 0 || y >= K) continue;
            int best = 0;
            for (int k = 1; k < K; k++)
                if (sc[j * K + k] > sc[j * K + best]) best = k;
            correct += best == y;
            n_scored++;
            if (confusion) confusion[(int64_t)y * K + best]++;
        }
    }
    lc_captions_free(prompts, (int64_t)K * M);
    free(te), free(cls), free(ue), free(sc);
    if (s == LC_OK && n_scored == 0)
        s = lc_fail(LC_ERR_INVALID_ARG, "zero-shot: no labelled images");
    if (s == LC_OK) *accuracy = (double)correct / (double)n_scored;
    return s;
}

lc_status lc_clip_evaluate(lc_clip *m, lc_clip_eval *out, const lc_dataset *d, int64_t n,
                           const lc_templates *zs) {
    memset(out, 0, sizeof *out);
    out->zeroshot_accuracy = NAN;
    LC_TRY(check_set(m, d, "evaluation set"));
    if (n <= 0 || n > d->n) n = d->n;
    int64_t E = m->cfg.embed, T = m->cfg.text.max_len;
    char **caps = NULL;
    LC_TRY(lc_clip_captions(&caps, d, &m->cfg.templates));
    float *u = malloc((size_t)(n * E) * sizeof *u), *v = malloc((size_t)(n * E) * sizeof *v);
    int32_t *ids = malloc((size_t)(n * T) * sizeof *ids), *eos = malloc((size_t)n * sizeof *eos);
    lc_status s = u && v && ids && eos ? LC_OK : lc_fail(LC_ERR_NOMEM, "out of memory");
    if (s == LC_OK) s = lc_clip_embed_images(m, u, d->images, n);
    if (s == LC_OK) s = lc_clip_embed_texts(m, v, (const char *const *)caps, n, NULL);
    if (s == LC_OK) s = lc_text_batch(ids, eos, &m->vocab, (const char *const *)caps, n, T, NULL);
    if (s == LC_OK) s = lc_retrieval_eval(&out->retrieval, u, v, n, E, ids, T, LC_SIM_COSINE);
    lc_captions_free(caps, d->n);
    free(u), free(v), free(ids), free(eos);
    if (s == LC_OK && d->labels && d->class_names && d->n_classes >= 2) {
        lc_templates def;
        lc_templates_zeroshot(&def);
        s = lc_clip_zeroshot(m, &out->zeroshot_accuracy, NULL, d, zs ? zs : &def, NULL);
        out->zeroshot_n = d->n;
    }
    return s;
}

// ---- shapes with a given number of shapes per image (the data layer's shapes-one/-two)

lc_status lc_clip_shapes(lc_dataset *out, lc_shapes_item *items, int64_t first, int64_t n,
                         uint64_t seed, int shapes) {
    return lc_shapes_generate_per_image(out, items, first, n, seed, shapes);
}
