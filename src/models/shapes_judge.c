// The shapes judge's network (shapes_judge.h): a conv trunk shared by one linear head
// per attribute, parameters named as the PyTorch module
//
//   trunk = nn.Sequential(Conv2d(3, 32, 3, padding=1), ReLU(), MaxPool2d(2),      # trunk.0
//                         Conv2d(32, 64, 3, padding=1), ReLU(), MaxPool2d(2),     # trunk.3
//                         Flatten(), Linear(64 * 8 * 8, 256), ReLU())             # trunk.7
//   heads = nn.ModuleDict({name: Linear(256, K) for name, K in heads})           # heads.NAME
//
// Two pools (not three) keep an 8x8 map before the dense layer: the relation of two
// shapes turns on a pixel or two near the diagonal, which a coarser map blurs.
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "latentcl/run.h"
#include "models/model_io.h"
#include "models/shapes_judge_internal.h"

const sj_head_info sj_heads[SJ_HEADS] = {
    [SJ_KIND1] = {"kind1", LC_SHAPE_KINDS},
    [SJ_COLOUR1] = {"colour1", LC_COLOURS},
    [SJ_SIZE1] = {"size1", LC_SIZES},
    [SJ_KIND2] = {"kind2", LC_SHAPE_KINDS + 1},
    [SJ_COLOUR2] = {"colour2", LC_COLOURS + 1},
    [SJ_SIZE2] = {"size2", LC_SIZES + 1},
    [SJ_RELATION] = {"relation", LC_RELATIONS + 1},
    [SJ_COUNT] = {"count", 2},
    [SJ_PLACE] = {"place", LC_PLACES + 1},
};

// ---- labels and their decoding -----------------------------------------------------------

void sj_labels(int32_t *labels, int64_t stride, const lc_shapes_item *item) {
    lc_shapes_item c;
    lc_shapes_canonical(&c, item);
    bool two = c.n_shapes == 2;
    labels[SJ_KIND1 * stride] = (int32_t)c.shape[0].kind;
    labels[SJ_COLOUR1 * stride] = (int32_t)c.shape[0].colour;
    labels[SJ_SIZE1 * stride] = (int32_t)c.shape[0].size;
    labels[SJ_KIND2 * stride] = two ? (int32_t)c.shape[1].kind : LC_SHAPE_KINDS;
    labels[SJ_COLOUR2 * stride] = two ? (int32_t)c.shape[1].colour : LC_COLOURS;
    labels[SJ_SIZE2 * stride] = two ? (int32_t)c.shape[1].size : LC_SIZES;
    labels[SJ_RELATION * stride] = two ? (int32_t)c.relation : LC_RELATIONS;
    labels[SJ_COUNT * stride] = two;
    labels[SJ_PLACE * stride] = two ? LC_PLACES : c.place;
}

// The most likely of the first `classes` entries of z (leaving out a "none" class).
static int argmax(const float *z, int classes) {
    int best = 0;
    for (int k = 1; k < classes; k++)
        if (z[k] > z[best]) best = k;
    return best;
}

static const int half_sizes[LC_SIZES] = {4, 7}; // as the generator draws them

void sj_decode(lc_shapes_item *out, const float *const *logits, int64_t i) {
    const float *z[SJ_HEADS];
    for (int h = 0; h < SJ_HEADS; h++)
        z[h] = logits[h] + i * sj_heads[h].classes;
    memset(out, 0, sizeof *out);
    // The count head decides; the other heads are read among their real classes.
    out->n_shapes = 1 + argmax(z[SJ_COUNT], 2);
    out->shape[0].kind = (lc_shape_kind)argmax(z[SJ_KIND1], LC_SHAPE_KINDS);
    out->shape[0].colour = (lc_shape_colour)argmax(z[SJ_COLOUR1], LC_COLOURS);
    out->shape[0].size = (lc_shape_size)argmax(z[SJ_SIZE1], LC_SIZES);
    out->shape[0].half_size = half_sizes[out->shape[0].size];
    if (out->n_shapes == 1) {
        out->place = argmax(z[SJ_PLACE], LC_PLACES);
        return;
    }
    out->shape[1].kind = (lc_shape_kind)argmax(z[SJ_KIND2], LC_SHAPE_KINDS);
    out->shape[1].colour = (lc_shape_colour)argmax(z[SJ_COLOUR2], LC_COLOURS);
    out->shape[1].size = (lc_shape_size)argmax(z[SJ_SIZE2], LC_SIZES);
    out->shape[1].half_size = half_sizes[out->shape[1].size];
    out->relation = (lc_shape_relation)argmax(z[SJ_RELATION], LC_RELATIONS);
}

// ---- the model ------------------------------------------------------------------------------

static lc_status declare(lc_shapes_judge *j) {
    lc_params *p = &j->params;
    LC_TRY(lc_conv_declare(&j->conv[0], p, "trunk.0", SJ_CHANNELS, 32, 3, 1, 1, 1));
    LC_TRY(lc_conv_declare(&j->conv[1], p, "trunk.3", 32, 64, 3, 1, 1, 1));
    LC_TRY(lc_linear_declare(&j->dense, p, "trunk.7", 64 * (SJ_SIZE / 4) * (SJ_SIZE / 4), SJ_HIDDEN,
                             1));
    for (int h = 0; h < SJ_HEADS; h++) {
        char name[LC_LAYER_NAME_MAX];
        snprintf(name, sizeof name, "heads.%s", sj_heads[h].name);
        LC_TRY(lc_linear_declare(&j->head[h], p, name, SJ_HIDDEN, sj_heads[h].classes, 1));
    }
    return LC_OK;
}

static lc_status init(lc_shapes_judge *j, uint64_t seed) {
    for (int i = 0; i < 2; i++)
        LC_TRY(lc_conv_reset(j->dev, &j->params, &j->conv[i], seed));
    LC_TRY(lc_linear_reset(j->dev, &j->params, &j->dense, seed));
    for (int h = 0; h < SJ_HEADS; h++)
        LC_TRY(lc_linear_reset(j->dev, &j->params, &j->head[h], seed));
    return LC_OK;
}

// The model, with initial weights when init is set (else they are about to be loaded).
static lc_status create(lc_shapes_judge **out, lc_device *dev, int with_init, uint64_t seed) {
    *out = NULL;
    lc_shapes_judge *j = calloc(1, sizeof *j);
    if (!j) return lc_fail(LC_ERR_NOMEM, "out of memory for the shapes judge");
    j->dev = dev;
    lc_status s = declare(j);
    if (s == LC_OK) s = lc_params_alloc(&j->params, dev);
    if (s == LC_OK) s = lc_ctx_create(&j->ctx, dev);
    if (s == LC_OK && with_init) s = init(j, seed);
    if (s != LC_OK) {
        lc_shapes_judge_free(j);
        return s;
    }
    *out = j;
    return LC_OK;
}

lc_status lc_shapes_judge_new(lc_shapes_judge **out, lc_device *dev, uint64_t seed) {
    return create(out, dev, 1, seed);
}

void lc_shapes_judge_free(lc_shapes_judge *j) {
    if (!j) return;
    // Pending uploads read the staging memory: let them finish before it is freed.
    if (j->ctx) (void)lc_finish(j->dev);
    lc_upload_ring_free(j->ring);
    lc_ctx_free(j->ctx);
    lc_params_free(&j->params);
    free(j);
}

lc_params *lc_shapes_judge_params(lc_shapes_judge *j) { return &j->params; }

// ---- forward ------------------------------------------------------------------------------

// x (N, 3, 32, 32) -> logits[h] (N, K_h) for every head.
static lc_status forward(lc_shapes_judge *j, lc_tensor **logits, lc_tensor *x) {
    lc_params *p = &j->params;
    int64_t N = x->shape[0];
    lc_tensor *c1, *p1, *c2, *p2, *flat, *hidden;
    LC_TRY(lc_conv_forward(j->ctx, &c1, p, &j->conv[0], x, LC_ACT_RELU));  // (N, 32, 32, 32)
    LC_TRY(lc_max_pool2d(j->ctx, &p1, c1, 2, 2));                          // (N, 32, 16, 16)
    LC_TRY(lc_conv_forward(j->ctx, &c2, p, &j->conv[1], p1, LC_ACT_RELU)); // (N, 64, 16, 16)
    LC_TRY(lc_max_pool2d(j->ctx, &p2, c2, 2, 2));                          // (N, 64, 8, 8)
    LC_TRY(lc_reshape(j->ctx, &flat, p2, 2, (int64_t[]){N, (int64_t)p2->numel / N}));
    LC_TRY(lc_linear_forward(j->ctx, &hidden, p, &j->dense, flat, LC_ACT_RELU)); // (N, 256)
    for (int h = 0; h < SJ_HEADS; h++)
        LC_TRY(lc_linear_forward(j->ctx, &logits[h], p, &j->head[h], hidden, LC_ACT_NONE));
    return LC_OK;
}

// ---- training step --------------------------------------------------------------------------

lc_status sj_batch(lc_shapes_judge *j, float **x, int32_t **labels, int64_t count) {
    lc_upload_slot *st;
    LC_TRY(lc_upload_slot_fill(&st, j->ring, j->steps, count, SJ_IMAGE, SJ_HEADS));
    *x = st->x;
    *labels = st->y;
    return LC_OK;
}

lc_status sj_step(lc_shapes_judge *j, cl_mem loss_out, int64_t count) {
    lc_upload_slot *st = &j->ring[j->steps % LC_UPLOAD_RING];
    if (count < 1 || count > st->cap || st->written)
        return lc_fail(LC_ERR_INVALID_ARG,
                       "shapes judge step: %lld images without a batch from sj_batch",
                       (long long)count);
    lc_step_begin(j->ctx);
    lc_set_training(j->ctx, 1);
    lc_set_grad_enabled(j->ctx, 1);
    lc_tensor *x, *y, *logits[SJ_HEADS], *loss = NULL;
    LC_TRY(lc_tensor_new(j->ctx, &x, 4, (int64_t[]){count, SJ_CHANNELS, SJ_SIZE, SJ_SIZE}));
    LC_TRY(lc_tensor_new_i32(j->ctx, &y, 2, (int64_t[]){SJ_HEADS, count}));
    LC_TRY(lc_upload_slot_send(st, j->dev, x, y, "uploading a shapes judge batch"));
    j->steps++;
    LC_TRY(forward(j, logits, x));
    for (int h = 0; h < SJ_HEADS; h++) {
        lc_tensor *row, *labels, *ce;
        LC_TRY(lc_slice0(j->ctx, &row, y, h, 1)); // (1, count)
        LC_TRY(lc_reshape(j->ctx, &labels, row, 1, (int64_t[]){count}));
        LC_TRY(lc_cross_entropy(j->ctx, &ce, logits[h], labels)); // mean over the batch
        if (loss)
            LC_TRY(lc_add(j->ctx, &loss, loss, ce));
        else
            loss = ce;
    }
    LC_TRY(lc_backward(j->ctx, loss));
    LC_CL(clEnqueueCopyBuffer(lc_device_queue(j->dev), loss->buf, loss_out,
                              loss->off * sizeof(float), 0, sizeof(float), 0, NULL, NULL),
          "copying the shapes judge's loss");
    return LC_OK;
}

// ---- reading images -----------------------------------------------------------------------

static lc_status check_images(int channels, int height, int width, int64_t n) {
    if (channels != SJ_CHANNELS || height != SJ_SIZE || width != SJ_SIZE)
        return lc_fail(LC_ERR_SHAPE,
                       "the shapes judge reads 3x32x32 (CxHxW) RGB images, not %dx%dx%d", channels,
                       height, width);
    if (n < 0) return lc_fail(LC_ERR_INVALID_ARG, "shapes judge: %lld images", (long long)n);
    return LC_OK;
}

lc_status lc_shapes_judge_predict(lc_shapes_judge *j, lc_shapes_item *out, const float *images,
                                  int64_t n, int channels, int height, int width) {
    LC_TRY(check_images(channels, height, width, n));
    float *host[SJ_HEADS] = {0};
    lc_status s = LC_OK;
    for (int h = 0; h < SJ_HEADS && s == LC_OK; h++)
        if (!(host[h] = malloc((size_t)SJ_CHUNK * sj_heads[h].classes * sizeof(float))))
            s = lc_fail(LC_ERR_NOMEM, "out of memory for the judge's logits");
    int was_grad = lc_set_grad_enabled(j->ctx, 0);
    lc_set_training(j->ctx, 0);
    for (int64_t i = 0; i < n && s == LC_OK; i += SJ_CHUNK) {
        int64_t m = n - i < SJ_CHUNK ? n - i : SJ_CHUNK;
        lc_step_begin(j->ctx);
        lc_tensor *x, *logits[SJ_HEADS];
        s = lc_tensor_from_host(j->ctx, &x, images + (size_t)i * SJ_IMAGE, 4,
                                (int64_t[]){m, SJ_CHANNELS, SJ_SIZE, SJ_SIZE});
        if (s == LC_OK) s = forward(j, logits, x);
        for (int h = 0; h < SJ_HEADS && s == LC_OK; h++)
            s = lc_tensor_to_host(j->ctx, host[h], logits[h]);
        for (int64_t k = 0; k < m && s == LC_OK; k++)
            sj_decode(&out[i + k], (const float *const *)host, k);
    }
    lc_set_grad_enabled(j->ctx, was_grad);
    lc_set_training(j->ctx, 1);
    for (int h = 0; h < SJ_HEADS; h++)
        free(host[h]);
    return s;
}

// ---- checkpoints --------------------------------------------------------------------------

lc_status sj_config_json(char **out) {
    *out = NULL;
    cJSON *c = cJSON_CreateObject(), *heads = cJSON_CreateObject();
    lc_status s = c && heads ? LC_OK : lc_fail(LC_ERR_NOMEM, "out of memory");
    for (int h = 0; s == LC_OK && h < SJ_HEADS; h++)
        s = MODEL_JSON_ADD(heads, MJ_NUM(sj_heads[h].name, sj_heads[h].classes));
    if (s == LC_OK) {
        s = MODEL_JSON_ADD(c, MJ_STR("model", "conv"), MJ_NUM("channels", SJ_CHANNELS),
                           MJ_NUM("height", SJ_SIZE), MJ_NUM("width", SJ_SIZE),
                           MJ_NUM("hidden", SJ_HIDDEN), MJ_ITEM("heads", heads),
                           MJ_STR("data", "shapes"));
        heads = NULL; // handed over to c, or freed by MODEL_JSON_ADD
    }
    if (s != LC_OK) {
        cJSON_Delete(c);
        cJSON_Delete(heads);
        return s;
    }
    return model_json_print(out, c);
}

static bool has_number(const cJSON *o, const char *key, double value) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    return cJSON_IsNumber(v) && v->valuedouble == value;
}

// One architecture so far: a config of another shape is a judge this build cannot read.
static lc_status check_config(const char *config, const char *file) {
    cJSON *c = config ? cJSON_Parse(config) : NULL;
    const cJSON *model = cJSON_GetObjectItemCaseSensitive(c, "model");
    const cJSON *heads = cJSON_GetObjectItemCaseSensitive(c, "heads");
    bool ok = cJSON_IsObject(c) && cJSON_IsString(model) && !strcmp(model->valuestring, "conv") &&
              has_number(c, "channels", SJ_CHANNELS) && has_number(c, "height", SJ_SIZE) &&
              has_number(c, "width", SJ_SIZE) && has_number(c, "hidden", SJ_HIDDEN) &&
              cJSON_IsObject(heads) && cJSON_GetArraySize(heads) == SJ_HEADS;
    for (int h = 0; ok && h < SJ_HEADS; h++)
        ok = has_number(heads, sj_heads[h].name, sj_heads[h].classes);
    cJSON_Delete(c);
    if (ok) return LC_OK;
    return lc_fail(LC_ERR_FORMAT,
                   "%s: the shapes judge config %.300s is not the conv judge of this build", file,
                   config ? config : "(none)");
}

lc_status lc_shapes_judge_load(lc_shapes_judge **out, lc_device *dev, const char *path) {
    *out = NULL;
    char file[4096];
    LC_TRY(lc_run_checkpoint_path(file, sizeof file, path));
    lc_st_file *f = NULL;
    LC_TRY(lc_st_open(&f, file));
    const char *family = lc_st_meta_get(f, LC_META_FAMILY);
    lc_status s = LC_OK;
    if (!family || strcmp(family, LC_SHAPES_JUDGE_FAMILY))
        s = lc_fail(LC_ERR_INVALID_ARG,
                    "%s holds a %s model, not a shapes judge (train one with `latentcl train "
                    "classifier --data shapes`)",
                    file, family ? family : "(unknown family)");
    if (s == LC_OK) s = check_config(lc_st_meta_get(f, LC_META_CONFIG), file);
    lc_shapes_judge *j = NULL;
    if (s == LC_OK) s = create(&j, dev, 0, 0);
    if (s == LC_OK) s = lc_train_params_load(&j->params, dev, f, "");
    lc_st_close(f);
    if (s != LC_OK) {
        lc_shapes_judge_free(j);
        return s;
    }
    *out = j;
    return LC_OK;
}
