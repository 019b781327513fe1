// safetensors writing: the dtype table, the header JSON, the atomic write and
// the copying builder. Reading lives in safetensors_read.c.
#include "latentcl/checkpoint.h"

#include <cjson/cJSON.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "io/atomic.h"
#include "util/utf8.h"

static const struct {
    const char *name;
    size_t size;
} dtype_table[LC_DTYPE_COUNT] = {
    [LC_DTYPE_F32] = {"F32", 4},         [LC_DTYPE_I32] = {"I32", 4},
    [LC_DTYPE_I64] = {"I64", 8},         [LC_DTYPE_U8] = {"U8", 1},
    [LC_DTYPE_F16] = {"F16", 2},         [LC_DTYPE_BF16] = {"BF16", 2},
    [LC_DTYPE_F64] = {"F64", 8},         [LC_DTYPE_I8] = {"I8", 1},
    [LC_DTYPE_I16] = {"I16", 2},         [LC_DTYPE_U16] = {"U16", 2},
    [LC_DTYPE_U32] = {"U32", 4},         [LC_DTYPE_U64] = {"U64", 8},
    [LC_DTYPE_BOOL] = {"BOOL", 1},       [LC_DTYPE_F8_E4M3] = {"F8_E4M3", 1},
    [LC_DTYPE_F8_E5M2] = {"F8_E5M2", 1},
};

const char *lc_dtype_name(lc_dtype t) {
    return (unsigned)t < LC_DTYPE_COUNT ? dtype_table[t].name : "?";
}

size_t lc_dtype_size(lc_dtype t) { return (unsigned)t < LC_DTYPE_COUNT ? dtype_table[t].size : 0; }

int lc_dtype_parse(lc_dtype *out, const char *name) {
    for (int t = 0; t < LC_DTYPE_COUNT; t++)
        if (name && !strcmp(name, dtype_table[t].name)) {
            *out = (lc_dtype)t;
            return 0;
        }
    return -1;
}

int64_t lc_st_numel(const lc_st_tensor *t) {
    int64_t n = 1;
    for (int d = 0; d < t->ndim; d++)
        n *= t->shape[d];
    return n;
}

lc_status lc_st_name(char *out, size_t cap, const char *prefix, const char *name) {
    int n = snprintf(out, cap, "%s%s", prefix ? prefix : "", name ? name : "");
    if (n < 0 || (size_t)n >= cap)
        return lc_fail(LC_ERR_INVALID_ARG, "tensor name '%s%s' is longer than %zu bytes",
                       prefix ? prefix : "", name ? name : "", cap ? cap - 1 : 0);
    return LC_OK;
}

// ---- checks shared by the writer and the builder ---------------------------------
static int is_bad_name(const char *s) {
    return !s || !*s || lc_utf8_valid_len(s, strlen(s)) != strlen(s);
}

// Validates dtype and shape; *bytes = numel * dtype size without overflow.
static lc_status tensor_bytes(const char *path, const char *name, lc_dtype dtype, int ndim,
                              const int64_t *shape, uint64_t *bytes) {
    if ((unsigned)dtype >= LC_DTYPE_COUNT)
        return lc_fail(LC_ERR_INVALID_ARG, "%s: tensor '%s': invalid dtype %d", path, name,
                       (int)dtype);
    if (ndim < 0 || ndim > LC_ST_MAX_DIMS || (ndim > 0 && !shape))
        return lc_fail(LC_ERR_INVALID_ARG, "%s: tensor '%s': %d dimensions (0..%d allowed)", path,
                       name, ndim, LC_ST_MAX_DIMS);
    uint64_t n = lc_dtype_size(dtype);
    for (int d = 0; d < ndim; d++) {
        if (shape[d] < 0 || __builtin_mul_overflow(n, (uint64_t)shape[d], &n))
            return lc_fail(LC_ERR_INVALID_ARG, "%s: tensor '%s': dimension %d is %" PRId64 "%s",
                           path, name, d, shape[d], shape[d] < 0 ? "" : " (size overflows)");
    }
    // cJSON and the format's reader keep offsets exact up to 2^53.
    if (n > ((uint64_t)1 << 53))
        return lc_fail(LC_ERR_INVALID_ARG, "%s: tensor '%s' is too large", path, name);
    *bytes = n;
    return LC_OK;
}

static cJSON *raw_u64(uint64_t v) {
    char text[32];
    snprintf(text, sizeof text, "%" PRIu64, v);
    return cJSON_CreateRaw(text);
}

// Builds the header object into *out.
static lc_status build_header(cJSON **out, const char *path, const lc_st_tensor *tensors,
                              int n_tensors, const lc_st_meta *meta, int n_meta,
                              uint64_t *data_bytes) {
    *out = NULL;
    cJSON *root = cJSON_CreateObject();
    if (!root) return lc_fail(LC_ERR_NOMEM, "%s: out of memory", path);
    if (n_meta > 0) {
        cJSON *m = cJSON_AddObjectToObject(root, "__metadata__");
        for (int i = 0; m && i < n_meta; i++)
            if (!cJSON_AddStringToObject(m, meta[i].key, meta[i].value)) m = NULL;
        if (!m) goto nomem;
    }
    uint64_t offset = 0;
    for (int i = 0; i < n_tensors; i++) {
        const lc_st_tensor *t = &tensors[i];
        uint64_t bytes = 0;
        lc_status s = tensor_bytes(path, t->name, t->dtype, t->ndim, t->shape, &bytes);
        if (s == LC_OK && bytes && !t->data)
            s = lc_fail(LC_ERR_INVALID_ARG, "%s: tensor '%s' has no data", path, t->name);
        if (s != LC_OK) {
            cJSON_Delete(root);
            return s;
        }
        cJSON *entry = cJSON_AddObjectToObject(root, t->name);
        cJSON *shape = entry ? cJSON_CreateArray() : NULL;
        cJSON *offsets = shape ? cJSON_CreateArray() : NULL;
        if (!offsets) {
            cJSON_Delete(shape);
            goto nomem;
        }
        cJSON_AddStringToObject(entry, "dtype", lc_dtype_name(t->dtype));
        // Adding copies the key (an allocation): a failure leaves the array unattached,
        // which would write a header without "shape" over a good file.
        if (!cJSON_AddItemToObject(entry, "shape", shape)) {
            cJSON_Delete(shape);
            cJSON_Delete(offsets);
            goto nomem;
        }
        if (!cJSON_AddItemToObject(entry, "data_offsets", offsets)) {
            cJSON_Delete(offsets);
            goto nomem;
        }
        for (int d = 0; d < t->ndim; d++)
            cJSON_AddItemToArray(shape, raw_u64((uint64_t)t->shape[d]));
        cJSON_AddItemToArray(offsets, raw_u64(offset));
        cJSON_AddItemToArray(offsets, raw_u64(offset + bytes));
        if (cJSON_GetArraySize(shape) != t->ndim || cJSON_GetArraySize(offsets) != 2 ||
            !cJSON_GetObjectItemCaseSensitive(entry, "dtype"))
            goto nomem;
        offset += bytes;
        if (offset > ((uint64_t)1 << 53)) {
            cJSON_Delete(root);
            return lc_fail(LC_ERR_INVALID_ARG, "%s: the tensors are too large in total", path);
        }
    }
    *data_bytes = offset;
    *out = root;
    return LC_OK;
nomem:
    cJSON_Delete(root);
    return lc_fail(LC_ERR_NOMEM, "%s: out of memory building the header", path);
}

static lc_status check_names(const char *path, const lc_st_tensor *tensors, int n_tensors,
                             const lc_st_meta *meta, int n_meta) {
    if (n_tensors < 0 || n_meta < 0 || (n_tensors && !tensors) || (n_meta && !meta))
        return lc_fail(LC_ERR_INVALID_ARG, "%s: invalid tensor or metadata list", path);
    for (int i = 0; i < n_tensors; i++) {
        const char *name = tensors[i].name;
        if (is_bad_name(name) || !strcmp(name, "__metadata__")) {
            char shown[256];
            lc_utf8_printable(shown, sizeof shown, name);
            return lc_fail(LC_ERR_INVALID_ARG,
                           "%s: tensor %d: name '%s' is empty, reserved or not valid UTF-8", path,
                           i, shown);
        }
        for (int j = 0; j < i; j++)
            if (!strcmp(tensors[j].name, name))
                return lc_fail(LC_ERR_INVALID_ARG, "%s: tensor '%s' appears twice", path, name);
    }
    for (int i = 0; i < n_meta; i++) {
        const char *k = meta[i].key, *v = meta[i].value;
        if (is_bad_name(k) || !v || lc_utf8_valid_len(v, strlen(v)) != strlen(v))
            return lc_fail(LC_ERR_INVALID_ARG,
                           "%s: metadata entry %d: key empty or key/value not valid UTF-8", path,
                           i);
        for (int j = 0; j < i; j++)
            if (!strcmp(meta[j].key, k))
                return lc_fail(LC_ERR_INVALID_ARG, "%s: metadata key '%s' appears twice", path, k);
    }
    return LC_OK;
}

lc_status lc_st_write(const char *path, const lc_st_tensor *tensors, int n_tensors,
                      const lc_st_meta *meta, int n_meta) {
    if (!path || !*path) return lc_fail(LC_ERR_INVALID_ARG, "lc_st_write: empty path");
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
    return lc_fail(LC_ERR_UNSUPPORTED, "%s: safetensors writing needs a little-endian host", path);
#endif
    lc_status s = check_names(path, tensors, n_tensors, meta, n_meta);
    if (s != LC_OK) return s;
    uint64_t data_bytes = 0;
    cJSON *root = NULL;
    s = build_header(&root, path, tensors, n_tensors, meta, n_meta, &data_bytes);
    if (s != LC_OK) return s;
    char *json = cJSON_PrintUnformatted(root);
    cJSON_Delete(root);
    if (!json) return lc_fail(LC_ERR_NOMEM, "%s: out of memory printing the header", path);

    // The header is padded with spaces so the data starts 8-byte aligned, as the format's writer
    // does.
    size_t len = strlen(json), padded = (len + 7) / 8 * 8;
    uint8_t prefix[8];
    for (int b = 0; b < 8; b++)
        prefix[b] = (uint8_t)((uint64_t)padded >> (8 * b));
    static const char spaces[8] = "        ";

    lc_atomic_file af;
    s = lc_atomic_open(&af, path);
    if (s == LC_OK) s = lc_atomic_write(&af, prefix, 8);
    if (s == LC_OK) s = lc_atomic_write(&af, json, len);
    if (s == LC_OK) s = lc_atomic_write(&af, spaces, padded - len);
    for (int i = 0; s == LC_OK && i < n_tensors; i++)
        s = lc_atomic_write(&af, tensors[i].data,
                            (size_t)lc_st_numel(&tensors[i]) * lc_dtype_size(tensors[i].dtype));
    free(json);
    if (s != LC_OK) {
        if (af.file) lc_atomic_abort(&af);
        return s;
    }
    return lc_atomic_commit(&af);
}

// ---- the builder ------------------------------------------------------------------
struct lc_st_builder {
    lc_st_tensor *tensors;
    int n, cap;
    lc_st_meta *meta;
    int n_meta, cap_meta;
    lc_status error; // the first failure, returned by save
    char message[512];
};

lc_status lc_st_builder_new(lc_st_builder **out) {
    *out = calloc(1, sizeof **out);
    return *out ? LC_OK : lc_fail(LC_ERR_NOMEM, "lc_st_builder_new: out of memory");
}

void lc_st_builder_free(lc_st_builder *b) {
    if (!b) return;
    for (int i = 0; i < b->n; i++) {
        free((void *)b->tensors[i].name);
        free((void *)b->tensors[i].data);
    }
    for (int i = 0; i < b->n_meta; i++) {
        free((void *)b->meta[i].key);
        free((void *)b->meta[i].value);
    }
    free(b->tensors);
    free(b->meta);
    free(b);
}

static lc_status builder_error(lc_st_builder *b, lc_status s) {
    if (b->error == LC_OK) {
        b->error = s;
        snprintf(b->message, sizeof b->message, "%s", lc_last_error());
    }
    return s;
}

lc_status lc_st_builder_add(lc_st_builder *b, const char *name, lc_dtype dtype, int ndim,
                            const int64_t *shape, const void *data) {
    if (!b) return lc_fail(LC_ERR_INVALID_ARG, "lc_st_builder_add: NULL builder");
    if (b->error != LC_OK) return b->error;
    uint64_t bytes = 0;
    lc_status s = tensor_bytes("checkpoint", name ? name : "(null)", dtype, ndim, shape, &bytes);
    if (s != LC_OK) return builder_error(b, s);
    if (is_bad_name(name) || !strcmp(name, "__metadata__"))
        return builder_error(
            b, lc_fail(LC_ERR_INVALID_ARG, "checkpoint: tensor name empty, reserved or not UTF-8"));
    for (int i = 0; i < b->n; i++)
        if (!strcmp(b->tensors[i].name, name))
            return builder_error(
                b, lc_fail(LC_ERR_INVALID_ARG, "checkpoint: tensor '%s' added twice", name));
    if (bytes && !data)
        return builder_error(
            b, lc_fail(LC_ERR_INVALID_ARG, "checkpoint: tensor '%s' has no data", name));
    if (b->n == b->cap) {
        int cap = b->cap ? 2 * b->cap : 16;
        lc_st_tensor *t = realloc(b->tensors, sizeof *t * (size_t)cap);
        if (!t) return builder_error(b, lc_fail(LC_ERR_NOMEM, "checkpoint: out of memory"));
        b->tensors = t;
        b->cap = cap;
    }
    char *name_copy = strdup(name);
    void *data_copy = malloc(bytes ? (size_t)bytes : 1);
    if (!name_copy || !data_copy) {
        free(name_copy);
        free(data_copy);
        return builder_error(b, lc_fail(LC_ERR_NOMEM, "checkpoint: out of memory for '%s'", name));
    }
    if (bytes) memcpy(data_copy, data, (size_t)bytes);
    lc_st_tensor *t = &b->tensors[b->n++];
    memset(t, 0, sizeof *t);
    t->name = name_copy;
    t->dtype = dtype;
    t->ndim = ndim;
    for (int d = 0; d < ndim; d++)
        t->shape[d] = shape[d];
    t->data = data_copy;
    return LC_OK;
}

lc_status lc_st_builder_add_f32(lc_st_builder *b, const char *prefix, const char *name, int ndim,
                                const int64_t *shape, const float *data) {
    char full[1024];
    lc_status s = lc_st_name(full, sizeof full, prefix, name);
    if (s != LC_OK) return b ? builder_error(b, s) : s;
    return lc_st_builder_add(b, full, LC_DTYPE_F32, ndim, shape, data);
}

lc_status lc_st_builder_meta(lc_st_builder *b, const char *key, const char *value) {
    if (!b) return lc_fail(LC_ERR_INVALID_ARG, "lc_st_builder_meta: NULL builder");
    if (b->error != LC_OK) return b->error;
    if (is_bad_name(key) || !value || lc_utf8_valid_len(value, strlen(value)) != strlen(value))
        return builder_error(
            b, lc_fail(LC_ERR_INVALID_ARG, "checkpoint: metadata key empty or not UTF-8"));
    char *v = strdup(value);
    if (!v) return builder_error(b, lc_fail(LC_ERR_NOMEM, "checkpoint: out of memory"));
    for (int i = 0; i < b->n_meta; i++)
        if (!strcmp(b->meta[i].key, key)) {
            free((void *)b->meta[i].value);
            b->meta[i].value = v;
            return LC_OK;
        }
    if (b->n_meta == b->cap_meta) {
        int cap = b->cap_meta ? 2 * b->cap_meta : 8;
        lc_st_meta *m = realloc(b->meta, sizeof *m * (size_t)cap);
        if (!m) {
            free(v);
            return builder_error(b, lc_fail(LC_ERR_NOMEM, "checkpoint: out of memory"));
        }
        b->meta = m;
        b->cap_meta = cap;
    }
    char *k = strdup(key);
    if (!k) {
        free(v);
        return builder_error(b, lc_fail(LC_ERR_NOMEM, "checkpoint: out of memory"));
    }
    b->meta[b->n_meta].key = k;
    b->meta[b->n_meta].value = v;
    b->n_meta++;
    return LC_OK;
}

lc_status lc_st_builder_meta_int(lc_st_builder *b, const char *key, int64_t value) {
    char text[32];
    snprintf(text, sizeof text, "%" PRId64, value);
    return lc_st_builder_meta(b, key, text);
}

lc_status lc_st_builder_save(lc_st_builder *b, const char *path) {
    if (!b) return lc_fail(LC_ERR_INVALID_ARG, "lc_st_builder_save: NULL builder");
    if (b->error != LC_OK)
        return lc_fail(b->error, "%s: not written: %s", path ? path : "?", b->message);
    return lc_st_write(path, b->tensors, b->n, b->meta, b->n_meta);
}
