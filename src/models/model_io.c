// Save/load pieces shared by the model families (src/models/model_io.h).
#include "models/model_io.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "latentcl/run.h"

static cJSON *member_value(const model_json_member *m) {
    switch (m->kind) {
    case MODEL_JSON_NUM: return cJSON_CreateNumber(m->num);
    case MODEL_JSON_STR: return cJSON_CreateString(m->str);
    case MODEL_JSON_BOOL: return cJSON_CreateBool(m->num != 0);
    default: return m->item;
    }
}

lc_status model_json_add(cJSON *obj, const model_json_member *members, size_t n) {
    size_t i = 0;
    for (; i < n; i++) {
        if (members[i].kind == MODEL_JSON_SKIP) continue;
        cJSON *v = member_value(&members[i]);
        if (!v || !cJSON_AddItemToObject(obj, members[i].key, v)) {
            if (v && members[i].kind != MODEL_JSON_ITEM) cJSON_Delete(v);
            break;
        }
    }
    if (i == n) return LC_OK;
    for (; i < n; i++) // the items this call was handed and did not place
        if (members[i].kind == MODEL_JSON_ITEM) cJSON_Delete(members[i].item);
    return lc_fail(LC_ERR_NOMEM, "out of memory");
}

lc_status model_json_append_string(cJSON *array, const char *str) {
    cJSON *item = cJSON_CreateString(str);
    if (item && cJSON_AddItemToArray(array, item)) return LC_OK;
    cJSON_Delete(item);
    return lc_fail(LC_ERR_NOMEM, "out of memory");
}

bool model_json_int(const cJSON *v, long lo, long hi, long *out) {
    if (!cJSON_IsNumber(v) || v->valuedouble != floor(v->valuedouble) || v->valuedouble < lo ||
        v->valuedouble > hi)
        return false;
    *out = (long)v->valuedouble;
    return true;
}

lc_status model_json_print(char **out, cJSON *obj) {
    *out = obj ? cJSON_PrintUnformatted(obj) : NULL;
    cJSON_Delete(obj);
    return *out ? LC_OK : lc_fail(LC_ERR_NOMEM, "out of memory");
}

lc_status model_text_config_json(cJSON **out, const lc_text_config *t) {
    *out = cJSON_CreateObject();
    if (!*out) return lc_fail(LC_ERR_NOMEM, "out of memory");
    lc_status s = MODEL_JSON_ADD(*out, MJ_NUM("vocab", t->vocab), MJ_NUM("max_len", t->max_len),
                                 MJ_NUM("dim", t->dim), MJ_NUM("layers", t->layers),
                                 MJ_NUM("heads", t->heads));
    if (s != LC_OK) {
        cJSON_Delete(*out);
        *out = NULL;
    }
    return s;
}

lc_status model_vocab_copy(lc_vocab *dst, const lc_vocab *src) {
    char *text = NULL;
    LC_TRY(lc_vocab_to_string(&text, src));
    lc_status s = lc_vocab_from_string(dst, text);
    free(text);
    return s;
}

lc_status model_vocab_save(lc_st_builder *b, const lc_vocab *v) {
    char *text;
    LC_TRY(lc_vocab_to_string(&text, v));
    lc_status s = lc_st_builder_meta(b, "vocab", text);
    free(text);
    return s;
}

lc_status model_checkpoint_open(lc_st_file **out, char *file, size_t cap, const char *path,
                                const char *family, const char *not_what) {
    *out = NULL;
    LC_TRY(lc_run_checkpoint_path(file, cap, path));
    lc_st_file *f;
    LC_TRY(lc_st_open(&f, file));
    const char *got = lc_st_meta_get(f, LC_META_FAMILY);
    if (family && (!got || strcmp(got, family))) {
        lc_status s =
            lc_fail(LC_ERR_FORMAT, "%s: a %s model, %s", file, got ? got : "(no family)", not_what);
        lc_st_close(f);
        return s;
    }
    *out = f;
    return LC_OK;
}

uint64_t model_meta_seed(const lc_st_file *f) {
    const char *rng = lc_st_meta_get(f, LC_META_RNG);
    cJSON *j = rng ? cJSON_Parse(rng) : NULL;
    const cJSON *s = cJSON_GetObjectItemCaseSensitive(j, "seed");
    uint64_t seed = cJSON_IsNumber(s) && s->valuedouble >= 0 ? (uint64_t)s->valuedouble : 0;
    cJSON_Delete(j);
    return seed;
}

void model_meta_step(int64_t *step, const lc_st_file *f) {
    int64_t v = 0;
    if (lc_st_meta_get(f, LC_META_STEP) && lc_st_meta_int(f, LC_META_STEP, &v) == LC_OK) *step = v;
}

lc_status model_check_images(const lc_dataset *d, const char *what, int channels, int height,
                             int width) {
    if (d->channels != channels || d->height != height || d->width != width)
        return lc_fail(LC_ERR_SHAPE, "the %s images are %d x %d x %d, the model takes %d x %d x %d",
                       what, d->channels, d->height, d->width, channels, height, width);
    if (d->n < 1) return lc_fail(LC_ERR_INVALID_ARG, "the %s set is empty", what);
    if (d->n > INT32_MAX) return lc_fail(LC_ERR_INVALID_ARG, "the %s set is too large", what);
    return LC_OK;
}

lc_status model_copy_term(lc_device *dev, cl_mem loss, int slot, const lc_tensor *t) {
    LC_CL(clEnqueueCopyBuffer(lc_device_queue(dev), t->buf, loss, t->off * sizeof(float),
                              (size_t)slot * sizeof(float), sizeof(float), 0, NULL, NULL),
          "copying a loss term");
    return LC_OK;
}
