// Optimiser state and EMA weights in a checkpoint: optim/exp_avg/NAME,
// optim/exp_avg_sq/NAME, optim/momentum_buffer/NAME, ema/NAME, and the
// "optimizer" metadata entry (type, t, skipped, hyper-parameters) as JSON.
#include <cjson/cJSON.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "optim/optim_internal.h"

// The device buffer m under prefix + every parameter name.
static lc_status save_buffer(lc_optim *o, const lc_params *p, lc_st_builder *b, cl_mem m,
                             const char *prefix) {
    float *host = malloc(o->total * sizeof *host + 1);
    if (!host) return lc_fail(LC_ERR_NOMEM, "optimiser: out of memory saving %s", prefix);
    lc_status s = lc_read(o->dev, host, m, 0, o->total * sizeof *host);
    for (int i = 0; s == LC_OK && i < p->count; i++) {
        const lc_param_info *it = &p->items[i];
        s = lc_st_builder_add_f32(b, prefix, it->name, it->ndim, it->shape, host + it->offset);
    }
    free(host);
    return s;
}

static lc_status load_buffer(lc_optim *o, const lc_params *p, const lc_st_file *f, cl_mem m,
                             const char *prefix) {
    float *host = calloc(o->total + 1, sizeof *host); // padding stays 0
    if (!host) return lc_fail(LC_ERR_NOMEM, "optimiser: out of memory loading %s", prefix);
    lc_status s = LC_OK;
    for (int i = 0; s == LC_OK && i < p->count; i++) {
        const lc_param_info *it = &p->items[i];
        char name[LC_PARAM_NAME_MAX + 32];
        s = lc_st_name(name, sizeof name, prefix, it->name);
        if (s == LC_OK)
            s = lc_st_read_f32(f, name, it->ndim, it->shape, host + it->offset, it->numel);
    }
    if (s == LC_OK) s = lc_write(o->dev, m, 0, host, o->total * sizeof *host);
    free(host);
    return s;
}

lc_status lc_optim_save(lc_optim *o, const lc_params *p, lc_st_builder *b) {
    if (p->total != o->total)
        return lc_fail(LC_ERR_SHAPE, "optimiser made for %zu floats, saved with %zu", o->total,
                       p->total);
    int32_t st[OPTIM_NSTATE];
    LC_TRY(lc_read(o->dev, st, o->state, 0, sizeof st));
    if (o->cfg.kind == LC_OPTIM_SGD) {
        if (o->m1) LC_TRY(save_buffer(o, p, b, o->m1, LC_ST_PREFIX_MOMENTUM));
    } else {
        LC_TRY(save_buffer(o, p, b, o->m1, LC_ST_PREFIX_EXP_AVG));
        LC_TRY(save_buffer(o, p, b, o->m2, LC_ST_PREFIX_EXP_AVG_SQ));
    }
    if (o->ema) LC_TRY(save_buffer(o, p, b, o->ema, LC_ST_PREFIX_EMA));
    cJSON *j = cJSON_CreateObject();
    if (!j) return lc_fail(LC_ERR_NOMEM, "optimiser: out of memory");
    const lc_optim_config *c = &o->cfg;
    cJSON_AddStringToObject(j, "type", lc_optim_kind_name(c->kind));
    cJSON_AddNumberToObject(j, "t", st[ST_T]);
    cJSON_AddNumberToObject(j, "skipped", st[ST_SKIPPED]);
    if (c->kind == LC_OPTIM_SGD) {
        cJSON_AddNumberToObject(j, "momentum", c->momentum);
        cJSON_AddNumberToObject(j, "dampening", c->dampening);
        cJSON_AddBoolToObject(j, "nesterov", c->nesterov);
    } else {
        cJSON_AddNumberToObject(j, "beta1", c->beta1);
        cJSON_AddNumberToObject(j, "beta2", c->beta2);
        cJSON_AddNumberToObject(j, "eps", c->eps);
    }
    cJSON_AddNumberToObject(j, "weight_decay", c->weight_decay);
    cJSON_AddNumberToObject(j, "clip", c->clip);
    cJSON_AddNumberToObject(j, "ema", c->ema);
    cJSON_AddNumberToObject(j, "ema_warmup", c->ema_warmup);
    // A failed cJSON_Add* (out of memory) drops its member silently: all 10 must be there.
    char *text = cJSON_GetArraySize(j) == 10 ? cJSON_PrintUnformatted(j) : NULL;
    cJSON_Delete(j);
    if (!text) return lc_fail(LC_ERR_NOMEM, "optimiser: out of memory");
    lc_status s = lc_st_builder_meta(b, LC_META_OPTIMIZER, text);
    free(text);
    return s;
}

static lc_status meta_int(int64_t *out, const cJSON *j, const char *key, const char *path) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, key);
    if (!cJSON_IsNumber(v) || v->valuedouble < 0 || v->valuedouble > INT32_MAX ||
        v->valuedouble != floor(v->valuedouble))
        return lc_fail(LC_ERR_FORMAT, "%s: metadata optimizer.%s missing or not a count", path,
                       key);
    *out = (int64_t)v->valuedouble;
    return LC_OK;
}

lc_status lc_optim_load(lc_optim *o, const lc_params *p, const lc_st_file *f) {
    const char *path = lc_st_path(f);
    if (p->total != o->total)
        return lc_fail(LC_ERR_SHAPE, "optimiser made for %zu floats, loaded with %zu", o->total,
                       p->total);
    const char *text = lc_st_meta_get(f, LC_META_OPTIMIZER);
    if (!text)
        return lc_fail(LC_ERR_FORMAT, "%s: no optimizer state (metadata \"optimizer\")", path);
    cJSON *j = cJSON_Parse(text);
    if (!j) return lc_fail(LC_ERR_FORMAT, "%s: metadata \"optimizer\" is not JSON", path);
    const cJSON *type = cJSON_GetObjectItemCaseSensitive(j, "type");
    const char *want = lc_optim_kind_name(o->cfg.kind);
    int64_t t = 0, skipped = 0;
    lc_status s = LC_OK;
    if (!cJSON_IsString(type) || strcmp(type->valuestring, want))
        s = lc_fail(LC_ERR_FORMAT, "%s: optimizer state is %s, this run uses %s", path,
                    cJSON_IsString(type) ? type->valuestring : "?", want);
    if (s == LC_OK) s = meta_int(&t, j, "t", path);
    if (s == LC_OK) s = meta_int(&skipped, j, "skipped", path);
    cJSON_Delete(j);
    LC_TRY(s);
    if (o->cfg.kind == LC_OPTIM_SGD) {
        if (o->m1) LC_TRY(load_buffer(o, p, f, o->m1, LC_ST_PREFIX_MOMENTUM));
    } else {
        LC_TRY(load_buffer(o, p, f, o->m1, LC_ST_PREFIX_EXP_AVG));
        LC_TRY(load_buffer(o, p, f, o->m2, LC_ST_PREFIX_EXP_AVG_SQ));
    }
    if (o->ema) {
        char probe[LC_PARAM_NAME_MAX + 8];
        if (p->count) {
            LC_TRY(lc_st_name(probe, sizeof probe, LC_ST_PREFIX_EMA, p->items[0].name));
            if (!lc_st_find(f, probe))
                return lc_fail(LC_ERR_FORMAT,
                               "%s: no EMA weights (%s); the run was not trained with --ema", path,
                               probe);
        }
        LC_TRY(load_buffer(o, p, f, o->ema, LC_ST_PREFIX_EMA));
    }
    return optim_reset_state(o, t, skipped, true);
}
