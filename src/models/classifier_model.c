// The classifier's public face (include/latentcl/classifier.h): the network of
// classifier.c plus its shape, class names, evaluation, the hooks of the shared
// training loop, and checkpoints.
#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "latentcl/classifier.h"
#include "models/classifier_net.h"
#include "models/model_io.h"

struct lc_classifier {
    lc_device *dev;
    lc_classifier_net *net;
    lc_classifier_kind kind;
    int channels, height, width, classes;
    char **class_names;             // (classes)
    char *data;                     // the --data source, or NULL
    const lc_dataset *train, *test; // while training: borrowed
};

const char *lc_classifier_kind_name(lc_classifier_kind k) {
    return k == LC_CLASSIFIER_CONV ? "conv" : "mlp";
}

lc_status lc_classifier_kind_parse(lc_classifier_kind *out, const char *name) {
    if (name && !strcmp(name, "mlp"))
        *out = LC_CLASSIFIER_MLP;
    else if (name && !strcmp(name, "conv"))
        *out = LC_CLASSIFIER_CONV;
    else
        return lc_fail(LC_ERR_INVALID_ARG, "unknown classifier model '%s' (mlp or conv)",
                       name ? name : "");
    return LC_OK;
}

static char *dup_str(const char *s) {
    size_t n = strlen(s) + 1;
    char *d = malloc(n);
    if (d) memcpy(d, s, n);
    return d;
}

// The model without initial weights (init = 0: they are about to be loaded).
static lc_status create(lc_classifier **out, lc_device *dev, lc_classifier_kind kind, int channels,
                        int height, int width, int classes, const char *const *names, int init,
                        uint64_t seed) {
    *out = NULL;
    lc_classifier *m = calloc(1, sizeof *m);
    if (!m) return lc_fail(LC_ERR_NOMEM, "out of memory for the classifier");
    m->dev = dev;
    m->kind = kind;
    m->channels = channels, m->height = height, m->width = width, m->classes = classes;
    lc_status s = lc_classifier_net_new(&m->net, dev, kind == LC_CLASSIFIER_CONV, channels, height,
                                        width, classes);
    if (s == LC_OK) {
        m->class_names = calloc((size_t)classes, sizeof *m->class_names);
        for (int k = 0; m->class_names && k < classes; k++) {
            char num[16];
            snprintf(num, sizeof num, "%d", k);
            m->class_names[k] = dup_str(names && names[k] ? names[k] : num);
            if (!m->class_names[k]) break;
        }
        if (!m->class_names || !m->class_names[classes - 1])
            s = lc_fail(LC_ERR_NOMEM, "out of memory for class names");
    }
    if (s == LC_OK && init) s = lc_classifier_net_init(m->net, seed);
    if (s != LC_OK) {
        lc_classifier_free(m);
        return s;
    }
    *out = m;
    return LC_OK;
}

lc_status lc_classifier_new(lc_classifier **out, lc_device *dev, lc_classifier_kind kind,
                            int channels, int height, int width, int classes,
                            const char *const *class_names, uint64_t seed) {
    return create(out, dev, kind, channels, height, width, classes, class_names, 1, seed);
}

lc_status lc_classifier_for_dataset(lc_classifier **out, lc_device *dev, lc_classifier_kind kind,
                                    const lc_dataset *d, uint64_t seed) {
    *out = NULL;
    if (!d->labels || d->n_classes < 2)
        return lc_fail(LC_ERR_INVALID_ARG,
                       "a classifier needs labelled images of at least 2 "
                       "classes; this dataset has %s",
                       d->labels ? "one class" : "no labels");
    return lc_classifier_new(out, dev, kind, d->channels, d->height, d->width, d->n_classes,
                             (const char *const *)d->class_names, seed);
}

void lc_classifier_free(lc_classifier *m) {
    if (!m) return;
    lc_classifier_net_free(m->net);
    for (int k = 0; m->class_names && k < m->classes; k++)
        free(m->class_names[k]);
    free(m->class_names);
    free(m->data);
    free(m);
}

lc_params *lc_classifier_params(lc_classifier *m) { return lc_classifier_net_params(m->net); }
lc_classifier_kind lc_classifier_get_kind(const lc_classifier *m) { return m->kind; }
int lc_classifier_classes(const lc_classifier *m) { return m->classes; }
const char *lc_classifier_class_name(const lc_classifier *m, int k) {
    return k >= 0 && k < m->classes ? m->class_names[k] : NULL;
}
void lc_classifier_input(const lc_classifier *m, int *channels, int *height, int *width) {
    *channels = m->channels, *height = m->height, *width = m->width;
}
int lc_classifier_feature_dim(const lc_classifier *m) {
    return lc_classifier_net_feature_dim(m->net);
}
const char *lc_classifier_data(const lc_classifier *m) { return m->data; }
lc_status lc_classifier_set_data(lc_classifier *m, const char *data) {
    char *d = data ? dup_str(data) : NULL;
    if (data && !d) return lc_fail(LC_ERR_NOMEM, "out of memory");
    free(m->data);
    m->data = d;
    return LC_OK;
}

// ---- inference --------------------------------------------------------------------

lc_status lc_classifier_logits(lc_classifier *m, float *logits, const float *images, int64_t n) {
    return lc_classifier_net_forward(m->net, logits, NULL, images, n);
}

lc_status lc_classifier_features(lc_classifier *m, float *features, const float *images,
                                 int64_t n) {
    return lc_classifier_net_forward(m->net, NULL, features, images, n);
}

static lc_status check_dataset(const lc_classifier *m, const lc_dataset *d, const char *what) {
    if (d->channels != m->channels || d->height != m->height || d->width != m->width)
        return lc_fail(LC_ERR_INVALID_ARG,
                       "%s images are %dx%dx%d (CxHxW); the classifier takes %dx%dx%d", what,
                       d->channels, d->height, d->width, m->channels, m->height, m->width);
    if (!d->labels || d->n_classes > m->classes)
        return lc_fail(LC_ERR_INVALID_ARG, "%s: %s; the classifier has %d classes", what,
                       d->labels ? "more classes than the model" : "no labels", m->classes);
    if (d->n < 1) return lc_fail(LC_ERR_INVALID_ARG, "%s: no images", what);
    return LC_OK;
}

enum { EVAL_BLOCK = 2000 }; // images whose logits are held on the host at once

// Accuracy and mean cross-entropy of n images with labels; confusion (K, K) added to.
static lc_status eval_arrays(lc_classifier *m, double *accuracy, double *loss, int64_t *confusion,
                             const float *images, const int32_t *labels, int64_t n) {
    int K = m->classes;
    size_t image = (size_t)m->channels * m->height * m->width;
    float *logits = malloc((size_t)(n < EVAL_BLOCK ? n : EVAL_BLOCK) * K * sizeof *logits);
    if (!logits) return lc_fail(LC_ERR_NOMEM, "out of memory for logits");
    int64_t correct = 0;
    double nll = 0;
    lc_status s = LC_OK;
    for (int64_t i = 0; i < n && s == LC_OK; i += EVAL_BLOCK) {
        int64_t b = n - i < EVAL_BLOCK ? n - i : EVAL_BLOCK;
        s = lc_classifier_logits(m, logits, images + (size_t)i * image, b);
        for (int64_t j = 0; s == LC_OK && j < b; j++) {
            const float *z = logits + j * K;
            int32_t y = labels[i + j];
            int best = 0;
            for (int k = 1; k < K; k++)
                if (z[k] > z[best]) best = k;
            double zmax = z[best], sum = 0;
            for (int k = 0; k < K; k++)
                sum += exp((double)z[k] - zmax);
            nll += zmax + log(sum) - (double)z[y]; // -log softmax(z)[y]
            correct += best == y;
            if (confusion) confusion[(size_t)y * K + best]++;
        }
    }
    free(logits);
    if (accuracy) *accuracy = (double)correct / (double)n;
    if (loss) *loss = nll / (double)n;
    return s;
}

lc_status lc_classifier_evaluate(lc_classifier *m, double *accuracy, double *loss,
                                 int64_t *confusion, const lc_dataset *d) {
    LC_TRY(check_dataset(m, d, "evaluation set"));
    for (int64_t i = 0; i < d->n; i++)
        if (d->labels[i] < 0 || d->labels[i] >= m->classes)
            return lc_fail(LC_ERR_INVALID_ARG,
                           "evaluation set: label %d of image %lld is not a "
                           "class of the model (0..%d)",
                           d->labels[i], (long long)i, m->classes - 1);
    if (confusion) memset(confusion, 0, (size_t)m->classes * m->classes * sizeof *confusion);
    return eval_arrays(m, accuracy, loss, confusion, d->images, d->labels, d->n);
}

// ---- the training loop's hooks ----------------------------------------------------------

static lc_status hook_step(void *self, lc_device *dev, cl_mem loss, const lc_batch *b) {
    (void)dev;
    lc_classifier *m = self;
    float *x;
    int32_t *y;
    LC_TRY(lc_classifier_net_batch(m->net, &x, &y, b->count));
    lc_dataset_gather(x, y, m->train, b->index, b->count);
    return lc_classifier_net_step(m->net, loss, b->count);
}

static lc_status hook_evaluate(void *self, lc_device *dev, lc_eval_split split,
                               const int64_t *index, int64_t count, lc_figures *out) {
    (void)dev;
    lc_classifier *m = self;
    double acc = NAN, loss = NAN;
    if (split == LC_EVAL_TEST) {
        LC_TRY(eval_arrays(m, &acc, &loss, NULL, m->test->images, m->test->labels, m->test->n));
    } else {
        lc_dataset val = {0};
        LC_TRY(lc_dataset_subset(&val, m->train, index, count));
        lc_status s = eval_arrays(m, &acc, &loss, NULL, val.images, val.labels, val.n);
        lc_dataset_free(&val);
        LC_TRY(s);
    }
    LC_TRY(lc_figures_add(out, NULL, "accuracy", acc)); // first: picks best.safetensors
    return lc_figures_add(out, NULL, "loss", loss);
}

static lc_status hook_config(void *self, char **out) {
    return lc_classifier_config_json(self, out);
}

lc_status lc_classifier_train(lc_train_result *res, lc_classifier *m, const lc_dataset *train,
                              const lc_dataset *test, const lc_train_options *o,
                              lc_progress_fn progress, void *user) {
    LC_TRY(check_dataset(m, train, "training set"));
    if (test) LC_TRY(check_dataset(m, test, "test set"));
    m->train = train;
    m->test = test;
    lc_train_model tm = {0};
    tm.family = LC_CLASSIFIER_FAMILY;
    tm.self = m;
    tm.params = lc_classifier_params(m);
    tm.n_train = train->n;
    tm.has_test = test != NULL;
    tm.higher_is_better = true;
    tm.step = hook_step;
    tm.evaluate = hook_evaluate;
    tm.config_json = hook_config;
    lc_status s = lc_train(res, m->dev, &tm, o, progress, user);
    m->train = m->test = NULL;
    return s;
}

// ---- checkpoints ----------------------------------------------------------------------

lc_status lc_classifier_config_json(const lc_classifier *m, char **out) {
    *out = NULL;
    cJSON *j = cJSON_CreateObject(), *names = cJSON_CreateArray();
    lc_status s = j && names ? LC_OK : lc_fail(LC_ERR_NOMEM, "out of memory");
    for (int k = 0; s == LC_OK && k < m->classes; k++)
        s = model_json_append_string(names, m->class_names[k]);
    if (s == LC_OK) {
        s = MODEL_JSON_ADD(j, MJ_STR("model", lc_classifier_kind_name(m->kind)),
                           MJ_NUM("channels", m->channels), MJ_NUM("height", m->height),
                           MJ_NUM("width", m->width), MJ_NUM("classes", m->classes),
                           MJ_ITEM("class_names", names), MJ_IF(m->data, MJ_STR("data", m->data)));
        names = NULL; // handed over to j, or freed by MODEL_JSON_ADD
    }
    if (s != LC_OK) {
        cJSON_Delete(j);
        cJSON_Delete(names);
        return s;
    }
    return model_json_print(out, j);
}

static int json_int(const cJSON *j, const char *key, int lo, int hi) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, key);
    if (!cJSON_IsNumber(v) || v->valuedouble != floor(v->valuedouble) || v->valuedouble < lo ||
        v->valuedouble > hi)
        return -1;
    return (int)v->valuedouble;
}

// Builds the (uninitialised) model a config describes.
static lc_status from_config(lc_classifier **out, lc_device *dev, const char *config,
                             const char *path) {
    cJSON *j = cJSON_Parse(config);
    if (!cJSON_IsObject(j)) {
        cJSON_Delete(j);
        return lc_fail(LC_ERR_FORMAT, "%s: metadata \"config\" is not a JSON object", path);
    }
    lc_classifier_kind kind = LC_CLASSIFIER_MLP;
    const cJSON *model = cJSON_GetObjectItemCaseSensitive(j, "model");
    int c = json_int(j, "channels", 1, 4), h = json_int(j, "height", 1, 4096),
        w = json_int(j, "width", 1, 4096), k = json_int(j, "classes", 2, 100000);
    lc_status s = LC_OK;
    if (!cJSON_IsString(model) || lc_classifier_kind_parse(&kind, model->valuestring) != LC_OK ||
        c < 0 || h < 0 || w < 0 || k < 0)
        s = lc_fail(LC_ERR_FORMAT,
                    "%s: classifier config lacks a valid model, channels, height, "
                    "width or classes: %s",
                    path, config);
    const cJSON *names = cJSON_GetObjectItemCaseSensitive(j, "class_names");
    const char **name_list = NULL;
    if (s == LC_OK && cJSON_IsArray(names) && cJSON_GetArraySize(names) == k) {
        name_list = calloc((size_t)k, sizeof *name_list);
        for (int i = 0; name_list && i < k; i++) {
            const cJSON *n = cJSON_GetArrayItem(names, i);
            name_list[i] = cJSON_IsString(n) ? n->valuestring : NULL;
        }
    }
    if (s == LC_OK) s = create(out, dev, kind, c, h, w, k, name_list, 0, 0);
    const cJSON *data = cJSON_GetObjectItemCaseSensitive(j, "data");
    if (s == LC_OK && cJSON_IsString(data)) s = lc_classifier_set_data(*out, data->valuestring);
    free(name_list);
    cJSON_Delete(j);
    return s;
}

lc_status lc_classifier_load(lc_classifier **out, lc_device *dev, const char *path,
                             const char *prefix) {
    *out = NULL;
    lc_st_file *f = NULL;
    LC_TRY(lc_st_open(&f, path));
    const char *family = lc_st_meta_get(f, LC_META_FAMILY);
    const char *config = lc_st_meta_get(f, LC_META_CONFIG);
    lc_status s = LC_OK;
    if (!family || strcmp(family, LC_CLASSIFIER_FAMILY))
        s = lc_fail(LC_ERR_INVALID_ARG, "%s holds a %s model, not a classifier", path,
                    family ? family : "(unknown family)");
    else if (!config)
        s = lc_fail(LC_ERR_FORMAT, "%s: no model config (metadata \"config\")", path);
    lc_classifier *m = NULL;
    if (s == LC_OK) s = from_config(&m, dev, config, path);
    if (s == LC_OK && prefix && !strcmp(prefix, LC_ST_PREFIX_EMA)) {
        char name[LC_PARAM_NAME_MAX + 8];
        snprintf(name, sizeof name, "%s%s", prefix, lc_classifier_params(m)->items[0].name);
        if (!lc_st_find(f, name))
            s = lc_fail(LC_ERR_INVALID_ARG, "%s has no EMA weights (train with --ema DECAY)", path);
    }
    if (s == LC_OK) s = lc_train_params_load(lc_classifier_params(m), dev, f, prefix);
    lc_st_close(f);
    if (s != LC_OK) {
        lc_classifier_free(m);
        return s;
    }
    *out = m;
    return LC_OK;
}
