// Training options: defaults, checks, and the --config JSON file (the same
// options as the command line; an unknown key is an error, not a silent typo).
#include <cjson/cJSON.h>
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "latentcl/train.h"

void lc_train_options_default(lc_train_options *o) {
    memset(o, 0, sizeof *o);
    o->epochs = 5;
    o->batch = 128;
    o->lr = 1e-3;
    o->optimizer = "adam";
    o->weight_decay = -1;
    o->momentum = 0.9;
    o->lr_schedule = "constant";
    o->log_every = 50;
    o->ema_warmup = 10;
}

lc_status lc_train_options_check(const lc_train_options *o) {
    lc_optim_kind k;
    lc_lr_kind lk;
    LC_TRY(lc_optim_kind_parse(&k, o->optimizer));
    LC_TRY(lc_lr_kind_parse(&lk, o->lr_schedule));
#define CHECK(cond, ...)                                                                           \
    if (!(cond)) return lc_fail(LC_ERR_INVALID_ARG, __VA_ARGS__)
    CHECK(o->epochs >= 1 || o->iters >= 1, "--epochs must be at least 1 (got %ld)", o->epochs);
    CHECK(o->iters >= 0, "--iters must be 0 or more (got %ld)", o->iters);
    CHECK(o->batch >= 1, "--batch must be at least 1 (got %ld)", o->batch);
    CHECK(isfinite(o->lr) && o->lr > 0, "--lr must be a positive number (got %g)", o->lr);
    CHECK(o->weight_decay == -1 || (o->weight_decay >= 0 && isfinite(o->weight_decay)),
          "--weight-decay must be 0 or more (got %g)", o->weight_decay);
    CHECK(o->momentum >= 0 && o->momentum < 1, "--momentum must be in [0, 1) (got %g)",
          o->momentum);
    CHECK(o->warmup >= 0, "--warmup must be 0 or more steps (got %ld)", o->warmup);
    CHECK(o->clip >= 0 && isfinite(o->clip), "--clip must be 0 (off) or a positive norm (got %g)",
          o->clip);
    CHECK(o->ema >= 0 && o->ema < 1, "--ema must be 0 (off) or a decay in (0, 1) (got %g)", o->ema);
    CHECK(o->ema_warmup >= 0 && o->ema_warmup <= INT32_MAX,
          "--ema-warmup must be 0 (off) or a number of steps (got %ld)", o->ema_warmup);
    CHECK(o->seed >= 0, "--seed must be 0 or more (got %ld)", o->seed);
    CHECK(o->save_every >= 0, "--save-every must be 0 or more steps (got %ld)", o->save_every);
    CHECK(o->val_split >= 0 && o->val_split < 1, "--val-split must be in [0, 1) (got %g)",
          o->val_split);
    CHECK(o->minutes >= 0 && isfinite(o->minutes), "--minutes must be 0 (off) or more (got %g)",
          o->minutes);
    CHECK(o->snapshot_every >= 0 && isfinite(o->snapshot_every),
          "--snapshot-every must be 0 (off) or a number of minutes (got %g)", o->snapshot_every);
    CHECK(!o->snapshot_every || o->out, "--snapshot-every needs --out RUN (where they go)");
    CHECK(o->log_every >= 1, "--log-every must be at least 1 (got %ld)", o->log_every);
    CHECK(!o->resume || o->out, "--resume needs --out RUN (the run to continue)");
    CHECK(!(o->resume && o->init), "--resume and --init do not go together (a resume loads RUN)");
    CHECK(!(o->resume && o->force), "--resume and --force do not go together");
#undef CHECK
    return LC_OK;
}

lc_status lc_train_optim_config(lc_optim_config *out, const lc_train_options *o) {
    lc_optim_kind k;
    LC_TRY(lc_optim_kind_parse(&k, o->optimizer));
    *out = lc_optim_defaults(k);
    if (o->weight_decay >= 0) out->weight_decay = o->weight_decay;
    if (k == LC_OPTIM_SGD) out->momentum = o->momentum;
    out->clip = o->clip;
    out->ema = o->ema;
    out->ema_warmup = (double)o->ema_warmup;
    out->skip_nonfinite = o->skip_nonfinite;
    return LC_OK;
}

int lc_train_option_keys(lc_cfg_key *k, lc_train_options *o) {
    int n = 0;
#define KEY(nm, ty, field) k[n++] = (lc_cfg_key){nm, ty, &o->field}
    KEY("epochs", LC_CFG_LONG, epochs);
    KEY("iters", LC_CFG_LONG, iters);
    KEY("batch", LC_CFG_LONG, batch);
    KEY("lr", LC_CFG_DOUBLE, lr);
    KEY("optimizer", LC_CFG_STRING, optimizer);
    KEY("weight-decay", LC_CFG_DOUBLE, weight_decay);
    KEY("momentum", LC_CFG_DOUBLE, momentum);
    KEY("lr-schedule", LC_CFG_STRING, lr_schedule);
    KEY("warmup", LC_CFG_LONG, warmup);
    KEY("clip", LC_CFG_DOUBLE, clip);
    KEY("ema", LC_CFG_DOUBLE, ema);
    KEY("ema-warmup", LC_CFG_LONG, ema_warmup);
    KEY("seed", LC_CFG_LONG, seed);
    KEY("device", LC_CFG_STRING, device);
    KEY("threads", LC_CFG_LONG, threads);
    KEY("save-every", LC_CFG_LONG, save_every);
    KEY("val-split", LC_CFG_DOUBLE, val_split);
    KEY("skip-nonfinite", LC_CFG_BOOL, skip_nonfinite);
    KEY("init", LC_CFG_STRING, init);
    KEY("config", LC_CFG_STRING, config);
    KEY("out", LC_CFG_STRING, out);
    KEY("resume", LC_CFG_BOOL, resume);
    KEY("force", LC_CFG_BOOL, force);
    KEY("log-every", LC_CFG_LONG, log_every);
    KEY("minutes", LC_CFG_DOUBLE, minutes);
    KEY("snapshot-every", LC_CFG_DOUBLE, snapshot_every);
#undef KEY
    return n;
}

void lc_cfg_strings_free(lc_cfg_strings *s) {
    for (int i = 0; i < s->count; i++)
        free(s->items[i]);
    free(s->items);
    s->items = NULL;
    s->count = 0;
}

static lc_status keep_string(const char **dst, lc_cfg_strings *keep, const char *value) {
    char *copy = strdup(value);
    char **grown = realloc(keep->items, (size_t)(keep->count + 1) * sizeof *grown);
    if (!copy || !grown) {
        free(copy);
        if (grown) keep->items = grown;
        return lc_fail(LC_ERR_NOMEM, "config: out of memory");
    }
    keep->items = grown;
    keep->items[keep->count++] = copy;
    *dst = copy;
    return LC_OK;
}

// "lr_schedule" and "lr-schedule" name the same key.
static bool same_key(const char *member, const char *key) {
    for (; *member && *key; member++, key++) {
        char a = *member == '_' ? '-' : *member, b = *key == '_' ? '-' : *key;
        if (a != b) return false;
    }
    return *member == *key;
}

static void known_list(char *buf, size_t cap, const lc_cfg_key *keys, int n) {
    size_t used = 0;
    buf[0] = '\0';
    for (int i = 0; i < n && used + 1 < cap; i++) {
        int w = snprintf(buf + used, cap - used, "%s%s", i ? ", " : "", keys[i].name);
        if (w < 0) break;
        used += (size_t)w;
    }
}

lc_status lc_cfg_apply_json(const lc_cfg_key *keys, int n_keys, const char *json, const char *what,
                            lc_cfg_strings *keep) {
    const char *end = NULL;
    cJSON *root = cJSON_ParseWithOpts(json, &end, 1);
    if (!root) {
        size_t at = end ? (size_t)(end - json) : 0;
        return lc_fail(LC_ERR_INVALID_ARG, "%s: not valid JSON (near byte %zu)", what, at);
    }
    lc_status s = LC_OK;
    if (!cJSON_IsObject(root))
        s = lc_fail(LC_ERR_INVALID_ARG, "%s: expected one JSON object", what);
    for (const cJSON *m = root->child; s == LC_OK && m && cJSON_IsObject(root); m = m->next) {
        for (const cJSON *prev = root->child; prev != m; prev = prev->next)
            if (same_key(prev->string, m->string))
                s = lc_fail(LC_ERR_INVALID_ARG, "%s: option \"%s\" given twice", what, m->string);
        if (s != LC_OK) break;
        const lc_cfg_key *k = NULL;
        for (int i = 0; i < n_keys && !k; i++)
            if (same_key(m->string, keys[i].name)) k = &keys[i];
        if (!k) {
            char known[1024];
            known_list(known, sizeof known, keys, n_keys);
            s = lc_fail(LC_ERR_INVALID_ARG, "%s: unknown option \"%s\" (known: %s)", what,
                        m->string, known);
            break;
        }
        switch (k->type) {
        case LC_CFG_BOOL:
            if (!cJSON_IsBool(m))
                s = lc_fail(LC_ERR_INVALID_ARG, "%s: \"%s\" must be true or false", what,
                            m->string);
            else
                *(bool *)k->value = cJSON_IsTrue(m);
            break;
        case LC_CFG_LONG: {
            double v = m->valuedouble;
            if (!cJSON_IsNumber(m) || v != floor(v) || fabs(v) > 9007199254740992.0)
                s = lc_fail(LC_ERR_INVALID_ARG, "%s: \"%s\" must be an integer", what, m->string);
            else
                *(long *)k->value = (long)v;
            break;
        }
        case LC_CFG_DOUBLE:
            if (!cJSON_IsNumber(m) || !isfinite(m->valuedouble))
                s = lc_fail(LC_ERR_INVALID_ARG, "%s: \"%s\" must be a number", what, m->string);
            else
                *(double *)k->value = m->valuedouble;
            break;
        case LC_CFG_STRING:
            if (cJSON_IsNull(m))
                *(const char **)k->value = NULL; // as if never given
            else if (!cJSON_IsString(m))
                s = lc_fail(LC_ERR_INVALID_ARG, "%s: \"%s\" must be a string", what, m->string);
            else
                s = keep_string((const char **)k->value, keep, m->valuestring);
            break;
        }
    }
    cJSON_Delete(root);
    return s;
}

lc_status lc_cfg_apply_file(const lc_cfg_key *keys, int n_keys, const char *path,
                            lc_cfg_strings *keep) {
    FILE *f = fopen(path, "rb");
    if (!f) return lc_fail(LC_ERR_IO, "cannot open config %s: %s", path, strerror(errno));
    char *text = NULL;
    size_t n = 0, cap = 0;
    lc_status s = LC_OK;
    for (;;) {
        if (n + 4096 + 1 > cap) {
            cap = cap ? cap * 2 : 8192;
            if (cap > ((size_t)64 << 20)) {
                s = lc_fail(LC_ERR_INVALID_ARG, "config %s: larger than 64 MiB", path);
                break;
            }
            char *t = realloc(text, cap);
            if (!t) {
                s = lc_fail(LC_ERR_NOMEM, "config %s: out of memory", path);
                break;
            }
            text = t;
        }
        size_t got = fread(text + n, 1, 4096, f);
        n += got;
        if (got < 4096) {
            if (ferror(f)) s = lc_fail(LC_ERR_IO, "reading config %s failed", path);
            break;
        }
    }
    fclose(f);
    if (s == LC_OK) {
        text[n] = '\0';
        if (strlen(text) != n)
            s = lc_fail(LC_ERR_INVALID_ARG, "config %s: contains a NUL byte", path);
    }
    if (s == LC_OK) s = lc_cfg_apply_json(keys, n_keys, text, path, keep);
    free(text);
    return s;
}

lc_status lc_train_options_load(lc_train_options *o, const char *path, lc_cfg_strings *keep) {
    lc_cfg_key keys[LC_TRAIN_OPTION_COUNT];
    int n = lc_train_option_keys(keys, o);
    // "config" inside a config file would be a second file: not a thing.
    lc_cfg_key usable[LC_TRAIN_OPTION_COUNT];
    int m = 0;
    for (int i = 0; i < n; i++)
        if (strcmp(keys[i].name, "config")) usable[m++] = keys[i];
    LC_TRY(lc_cfg_apply_file(usable, m, path, keep));
    o->config = path;
    return LC_OK;
}

lc_status lc_train_options_json(char **out, const lc_train_options *o) {
    lc_train_options copy = *o;
    lc_cfg_key keys[LC_TRAIN_OPTION_COUNT];
    int n = lc_train_option_keys(keys, &copy);
    cJSON *j = cJSON_CreateObject();
    if (!j) return lc_fail(LC_ERR_NOMEM, "out of memory");
    for (int i = 0; i < n; i++) {
        const lc_cfg_key *k = &keys[i];
        switch (k->type) {
        case LC_CFG_BOOL: cJSON_AddBoolToObject(j, k->name, *(bool *)k->value); break;
        case LC_CFG_LONG: cJSON_AddNumberToObject(j, k->name, (double)*(long *)k->value); break;
        case LC_CFG_DOUBLE: cJSON_AddNumberToObject(j, k->name, *(double *)k->value); break;
        case LC_CFG_STRING: {
            const char *v = *(const char **)k->value;
            if (v)
                cJSON_AddStringToObject(j, k->name, v);
            else
                cJSON_AddNullToObject(j, k->name);
            break;
        }
        }
    }
    // A failed cJSON_Add* (out of memory) drops its member silently: count them.
    *out = cJSON_GetArraySize(j) == n ? cJSON_PrintUnformatted(j) : NULL;
    cJSON_Delete(j);
    return *out ? LC_OK : lc_fail(LC_ERR_NOMEM, "out of memory");
}
