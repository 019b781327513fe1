// safetensors reading: every length, offset, dtype, shape and name is checked
// before anything is trusted; a file either loads whole or not at all.
#include "latentcl/checkpoint.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <float.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/utf8.h"

struct named {
    const char *name;
    int index;
};

struct lc_st_file {
    char *path;
    uint8_t *bytes; // the whole file
    lc_st_tensor *tensors;
    int n;
    struct named *sorted; // tensors sorted by name, for lc_st_find
    lc_st_meta *meta;
    int n_meta;
};

// Tensor dims and offsets are JSON numbers: cJSON keeps them as doubles, exact up to 2^53.
#define EXACT_LIMIT 9007199254740992.0

void lc_st_close(lc_st_file *f) {
    if (!f) return;
    for (int i = 0; i < f->n; i++)
        free((void *)f->tensors[i].name);
    for (int i = 0; i < f->n_meta; i++) {
        free((void *)f->meta[i].key);
        free((void *)f->meta[i].value);
    }
    free(f->tensors);
    free(f->sorted);
    free(f->meta);
    free(f->bytes);
    free(f->path);
    free(f);
}

// ---- reading the bytes ---------------------------------------------------------
static lc_status read_whole_file(const char *path, uint8_t **out, uint64_t *size) {
    *out = NULL;
    // O_NONBLOCK so that a FIFO given by mistake is refused instead of blocking.
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) return lc_fail(LC_ERR_IO, "%s: %s", path, strerror(errno));
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return lc_fail(LC_ERR_IO, "%s: not a regular file", path);
    }
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
    FILE *fp = fdopen(fd, "rb");
    if (!fp) {
        close(fd);
        return lc_fail(LC_ERR_IO, "%s: %s", path, strerror(errno));
    }
    uint64_t n = (uint64_t)st.st_size;
    if (n < 8) {
        fclose(fp);
        return lc_fail(LC_ERR_FORMAT,
                       "%s: %" PRIu64 " bytes is too short for a safetensors file (8-byte header "
                       "length first)",
                       path, n);
    }
    // Check the header length before allocating the whole file, so a
    // non-safetensors file is refused before we read gigabytes of it.
    uint8_t len8[8];
    if (fread(len8, 1, 8, fp) != 8) {
        fclose(fp);
        return lc_fail(LC_ERR_IO, "%s: read failed", path);
    }
    uint64_t hlen = 0;
    for (int b = 7; b >= 0; b--)
        hlen = (hlen << 8) | len8[b];
    if (hlen > LC_ST_MAX_HEADER || hlen > n - 8) {
        fclose(fp);
        return lc_fail(LC_ERR_FORMAT,
                       "%s: header length %" PRIu64 " is %s (file is %" PRIu64 " bytes)", path,
                       hlen, hlen > LC_ST_MAX_HEADER ? "over the 100 MB limit" : "past the end", n);
    }
    if (n > SIZE_MAX / 2) {
        fclose(fp);
        return lc_fail(LC_ERR_NOMEM, "%s: too large to load", path);
    }
    uint8_t *buf = malloc((size_t)n + 1);
    if (!buf) {
        fclose(fp);
        return lc_fail(LC_ERR_NOMEM, "%s: out of memory for %" PRIu64 " bytes", path, n);
    }
    memcpy(buf, len8, 8);
    size_t got = fread(buf + 8, 1, (size_t)n - 8, fp);
    int extra = fgetc(fp); // the file must not have grown or shrunk under us
    fclose(fp);
    if (got != n - 8 || extra != EOF) {
        free(buf);
        return lc_fail(LC_ERR_IO, "%s: the file changed while it was read", path);
    }
    buf[n] = 0;
    *out = buf;
    *size = n;
    return LC_OK;
}

// ---- checking the header ----------------------------------------------------------
typedef struct {
    int index; // in header order
    uint64_t begin, end;
} span;

static int span_cmp(const void *a, const void *b) {
    const span *x = a, *y = b;
    if (x->begin != y->begin) return x->begin < y->begin ? -1 : 1;
    if (x->end != y->end) return x->end < y->end ? -1 : 1;
    return x->index - y->index;
}

// A JSON number that is an exact non-negative integer within 2^53.
static int json_count(const cJSON *item, uint64_t *out) {
    if (!cJSON_IsNumber(item)) return -1;
    double d = item->valuedouble;
    if (!(d >= 0) || d > EXACT_LIMIT || d != floor(d)) return -1;
    *out = (uint64_t)d;
    return 0;
}

static int valid_text(const char *s) { return s && lc_utf8_valid_len(s, strlen(s)) == strlen(s); }

// Reports "FILE: tensor 'NAME': what" with NAME made printable.
static lc_status bad_tensor(const char *path, const char *name, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;
static lc_status bad_tensor(const char *path, const char *name, const char *fmt, ...) {
    char shown[160], what[512];
    lc_utf8_printable(shown, sizeof shown, name);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    return lc_fail(LC_ERR_FORMAT, "%s: tensor '%s': %s", path, shown, what);
}

static lc_status parse_metadata(lc_st_file *f, const cJSON *m) {
    if (cJSON_IsNull(m)) return LC_OK;
    if (!cJSON_IsObject(m))
        return lc_fail(LC_ERR_FORMAT, "%s: __metadata__ is not an object of strings", f->path);
    int n = cJSON_GetArraySize(m);
    f->meta = calloc((size_t)n + 1, sizeof *f->meta);
    if (!f->meta) return lc_fail(LC_ERR_NOMEM, "%s: out of memory", f->path);
    for (const cJSON *e = m->child; e; e = e->next) {
        char shown[160];
        lc_utf8_printable(shown, sizeof shown, e->string);
        if (!cJSON_IsString(e) || !e->valuestring)
            return lc_fail(LC_ERR_FORMAT,
                           "%s: __metadata__ '%s' is not a string (metadata must map strings to "
                           "strings)",
                           f->path, shown);
        if (!valid_text(e->string) || !valid_text(e->valuestring))
            return lc_fail(LC_ERR_FORMAT, "%s: __metadata__ '%s' is not valid UTF-8", f->path,
                           shown);
        for (int j = 0; j < f->n_meta; j++)
            if (!strcmp(f->meta[j].key, e->string))
                return lc_fail(LC_ERR_FORMAT, "%s: __metadata__ key '%s' appears twice", f->path,
                               shown);
        lc_st_meta *slot = &f->meta[f->n_meta];
        slot->key = strdup(e->string);
        slot->value = strdup(e->valuestring);
        f->n_meta++; // counted before the check so close() frees a half-made pair
        if (!slot->key || !slot->value) return lc_fail(LC_ERR_NOMEM, "%s: out of memory", f->path);
    }
    return LC_OK;
}

// One header entry: {"dtype": "F32", "shape": [...], "data_offsets": [begin, end]}.
static lc_status parse_tensor(lc_st_file *f, const cJSON *e, lc_st_tensor *t, span *sp,
                              uint64_t data_size) {
    const char *name = e->string;
    if (!name || !*name) return bad_tensor(f->path, "", "empty tensor name");
    if (!valid_text(name)) return bad_tensor(f->path, name, "name is not valid UTF-8");
    if (!cJSON_IsObject(e)) return bad_tensor(f->path, name, "entry is not an object");
    const cJSON *dtype = NULL, *shape = NULL, *offsets = NULL;
    for (const cJSON *k = e->child; k; k = k->next) {
        const cJSON **slot = !strcmp(k->string, "dtype")          ? &dtype
                             : !strcmp(k->string, "shape")        ? &shape
                             : !strcmp(k->string, "data_offsets") ? &offsets
                                                                  : NULL;
        char shown[64];
        lc_utf8_printable(shown, sizeof shown, k->string);
        if (!slot) return bad_tensor(f->path, name, "unexpected key '%s'", shown);
        if (*slot) return bad_tensor(f->path, name, "key '%s' appears twice", shown);
        *slot = k;
    }
    if (!dtype || !shape || !offsets)
        return bad_tensor(f->path, name, "missing %s",
                          !dtype   ? "dtype"
                          : !shape ? "shape"
                                   : "data_offsets");
    if (!cJSON_IsString(dtype) || lc_dtype_parse(&t->dtype, dtype->valuestring) != 0) {
        char shown[64];
        lc_utf8_printable(shown, sizeof shown, cJSON_IsString(dtype) ? dtype->valuestring : "?");
        return bad_tensor(f->path, name, "unknown dtype '%s'", shown);
    }
    if (!cJSON_IsArray(shape)) return bad_tensor(f->path, name, "shape is not an array");
    int ndim = cJSON_GetArraySize(shape);
    if (ndim > LC_ST_MAX_DIMS)
        return bad_tensor(f->path, name, "%d dimensions (at most %d supported)", ndim,
                          LC_ST_MAX_DIMS);
    uint64_t numel = 1, bytes = 0;
    int overflow = 0, d = 0;
    for (const cJSON *k = shape->child; k; k = k->next, d++) {
        uint64_t dim;
        if (json_count(k, &dim) != 0)
            return bad_tensor(f->path, name, "shape[%d] is not a non-negative integer", d);
        t->shape[d] = (int64_t)dim;
        if (__builtin_mul_overflow(numel, dim, &numel)) overflow = 1;
    }
    t->ndim = ndim;
    if (overflow || numel > (uint64_t)INT64_MAX ||
        __builtin_mul_overflow(numel, (uint64_t)lc_dtype_size(t->dtype), &bytes))
        return bad_tensor(f->path, name, "shape product overflows");
    uint64_t b, en;
    if (!cJSON_IsArray(offsets) || cJSON_GetArraySize(offsets) != 2 ||
        json_count(offsets->child, &b) != 0 || json_count(offsets->child->next, &en) != 0)
        return bad_tensor(f->path, name, "data_offsets is not [begin, end] of integers");
    if (b > en)
        return bad_tensor(f->path, name, "data_offsets [%" PRIu64 ", %" PRIu64 "] are reversed", b,
                          en);
    if (en > data_size)
        return bad_tensor(f->path, name,
                          "data_offsets [%" PRIu64 ", %" PRIu64 "] lie outside the %" PRIu64
                          " data bytes of the file",
                          b, en, data_size);
    if (en - b != bytes)
        return bad_tensor(f->path, name,
                          "shape needs %" PRIu64 " bytes of %s but data_offsets span %" PRIu64,
                          bytes, lc_dtype_name(t->dtype), en - b);
    sp->begin = b;
    sp->end = en;
    t->name = strdup(name);
    if (!t->name) return lc_fail(LC_ERR_NOMEM, "%s: out of memory", f->path);
    return LC_OK;
}

static int named_cmp(const void *a, const void *b) {
    return strcmp(((const struct named *)a)->name, ((const struct named *)b)->name);
}

static lc_status sort_names(lc_st_file *f) {
    f->sorted = malloc(sizeof *f->sorted * ((size_t)f->n + 1));
    if (!f->sorted) return lc_fail(LC_ERR_NOMEM, "%s: out of memory", f->path);
    for (int i = 0; i < f->n; i++)
        f->sorted[i] = (struct named){f->tensors[i].name, i};
    qsort(f->sorted, (size_t)f->n, sizeof *f->sorted, named_cmp);
    for (int i = 1; i < f->n; i++)
        if (!strcmp(f->sorted[i].name, f->sorted[i - 1].name))
            return bad_tensor(f->path, f->sorted[i].name, "name appears twice");
    return LC_OK;
}

// Sorted by offset, the tensors must tile [0, data_size) exactly.
static lc_status check_tiling(const lc_st_file *f, span *spans, uint64_t data_size) {
    qsort(spans, (size_t)f->n, sizeof *spans, span_cmp);
    uint64_t at = 0;
    for (int i = 0; i < f->n; i++) {
        const span *s = &spans[i];
        const char *name = f->tensors[s->index].name;
        if (s->begin < at) {
            char other[160];
            lc_utf8_printable(other, sizeof other, f->tensors[spans[i - 1].index].name);
            return bad_tensor(f->path, name,
                              "data_offsets [%" PRIu64 ", %" PRIu64 "] overlap tensor '%s'",
                              s->begin, s->end, other);
        }
        if (s->begin > at)
            return bad_tensor(f->path, name,
                              "data_offsets [%" PRIu64 ", %" PRIu64 "] leave a hole of %" PRIu64
                              " bytes before it",
                              s->begin, s->end, s->begin - at);
        at = s->end;
    }
    if (at != data_size)
        return lc_fail(LC_ERR_FORMAT,
                       "%s: %" PRIu64 " bytes after the last tensor's data (the header accounts "
                       "for %" PRIu64 " of %" PRIu64 ")",
                       f->path, data_size - at, at, data_size);
    return LC_OK;
}

static lc_status parse_header(lc_st_file *f, const char *header, size_t hlen, const uint8_t *data,
                              uint64_t data_size) {
    // JSON has no raw control characters outside whitespace; refusing them also
    // keeps a NUL from cutting a name short inside cJSON.
    for (size_t i = 0; i < hlen; i++) {
        unsigned char c = (unsigned char)header[i];
        if (c < 0x20 && c != '\t' && c != '\n' && c != '\r')
            return lc_fail(LC_ERR_FORMAT, "%s: header byte %zu is a control character (0x%02x)",
                           f->path, i, c);
    }
    if (hlen == 0 || header[0] != '{')
        return lc_fail(LC_ERR_FORMAT, "%s: header does not start with '{' (not a safetensors file)",
                       f->path);
    const char *end = NULL;
    cJSON *root = cJSON_ParseWithLengthOpts(header, hlen, &end, 0);
    if (!root) {
        size_t at = end && end >= header && end <= header + hlen ? (size_t)(end - header) : 0;
        return lc_fail(LC_ERR_FORMAT, "%s: header is not valid JSON (near byte %zu of %zu)",
                       f->path, at, hlen);
    }
    for (const char *p = end; p < header + hlen; p++)
        if (*p != ' ' && *p != '\t' && *p != '\n' && *p != '\r') {
            cJSON_Delete(root);
            return lc_fail(LC_ERR_FORMAT, "%s: header has text after the JSON object (byte %zu)",
                           f->path, (size_t)(p - header));
        }
    lc_status s = LC_OK;
    if (!cJSON_IsObject(root))
        s = lc_fail(LC_ERR_FORMAT, "%s: header is not a JSON object", f->path);
    int count = s == LC_OK ? cJSON_GetArraySize(root) : 0;
    span *spans = calloc((size_t)count + 1, sizeof *spans);
    if (s == LC_OK) {
        f->tensors = calloc((size_t)count + 1, sizeof *f->tensors);
        if (!spans || !f->tensors) s = lc_fail(LC_ERR_NOMEM, "%s: out of memory", f->path);
    }
    const cJSON *metadata = NULL;
    for (const cJSON *e = s == LC_OK ? root->child : NULL; e && s == LC_OK; e = e->next) {
        if (e->string && !strcmp(e->string, "__metadata__")) {
            if (metadata) s = lc_fail(LC_ERR_FORMAT, "%s: __metadata__ appears twice", f->path);
            metadata = e;
            if (s == LC_OK) s = parse_metadata(f, e);
            continue;
        }
        spans[f->n].index = f->n;
        s = parse_tensor(f, e, &f->tensors[f->n], &spans[f->n], data_size);
        if (s == LC_OK) f->n++;
    }
    if (s == LC_OK) s = sort_names(f);
    if (s == LC_OK) s = check_tiling(f, spans, data_size);
    if (s == LC_OK) {
        // Everything else was checked field by field; this catches invalid
        // bytes anywhere else in the header (the format's reader requires UTF-8).
        size_t bad = lc_utf8_valid_len(header, hlen);
        if (bad != hlen)
            s = lc_fail(LC_ERR_FORMAT, "%s: header is not valid UTF-8 (byte %zu)", f->path, bad);
    }
    // Data pointers are set only after every check passed.
    for (int i = 0; s == LC_OK && i < f->n; i++)
        f->tensors[spans[i].index].data = data + spans[i].begin;
    free(spans);
    cJSON_Delete(root);
    return s;
}

lc_status lc_st_open(lc_st_file **out, const char *path) {
    *out = NULL;
    if (!path || !*path) return lc_fail(LC_ERR_INVALID_ARG, "lc_st_open: empty path");
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
    return lc_fail(LC_ERR_UNSUPPORTED, "%s: safetensors reading needs a little-endian host", path);
#endif
    lc_st_file *f = calloc(1, sizeof *f);
    if (!f || !(f->path = strdup(path))) {
        free(f);
        return lc_fail(LC_ERR_NOMEM, "%s: out of memory", path);
    }
    uint64_t size = 0;
    lc_status s = read_whole_file(path, &f->bytes, &size);
    if (s == LC_OK) {
        uint64_t hlen = 0;
        for (int b = 7; b >= 0; b--)
            hlen = (hlen << 8) | f->bytes[b];
        s = parse_header(f, (const char *)f->bytes + 8, (size_t)hlen, f->bytes + 8 + hlen,
                         size - 8 - hlen);
    }
    if (s != LC_OK) {
        lc_st_close(f);
        return s;
    }
    *out = f;
    return LC_OK;
}

// ---- lookups -------------------------------------------------------------------
const char *lc_st_path(const lc_st_file *f) { return f ? f->path : ""; }
int lc_st_count(const lc_st_file *f) { return f ? f->n : 0; }

const lc_st_tensor *lc_st_at(const lc_st_file *f, int i) {
    return f && i >= 0 && i < f->n ? &f->tensors[i] : NULL;
}

const lc_st_tensor *lc_st_find(const lc_st_file *f, const char *name) {
    if (!f || !name) return NULL;
    struct named key = {name, 0};
    const struct named *hit = bsearch(&key, f->sorted, (size_t)f->n, sizeof key, named_cmp);
    return hit ? &f->tensors[hit->index] : NULL;
}

int lc_st_meta_count(const lc_st_file *f) { return f ? f->n_meta : 0; }

lc_st_meta lc_st_meta_at(const lc_st_file *f, int i) {
    if (!f || i < 0 || i >= f->n_meta) return (lc_st_meta){NULL, NULL};
    return f->meta[i];
}

const char *lc_st_meta_get(const lc_st_file *f, const char *key) {
    for (int i = 0; f && key && i < f->n_meta; i++)
        if (!strcmp(f->meta[i].key, key)) return f->meta[i].value;
    return NULL;
}

lc_status lc_st_meta_int(const lc_st_file *f, const char *key, int64_t *out) {
    const char *text = lc_st_meta_get(f, key);
    if (!text)
        return lc_fail(LC_ERR_FORMAT, "%s: metadata '%s' is missing", lc_st_path(f),
                       key ? key : "(null)");
    char *end = NULL;
    errno = 0;
    long long v = strtoll(text, &end, 10);
    if (errno || end == text || *end || !*text)
        return lc_fail(LC_ERR_FORMAT, "%s: metadata '%s' is '%.40s', not an integer", lc_st_path(f),
                       key, text);
    *out = (int64_t)v;
    return LC_OK;
}

// ---- conversion to float32 ---------------------------------------------------------
static float bits_to_f32(uint32_t bits) {
    float v;
    memcpy(&v, &bits, 4);
    return v;
}

// IEEE half: 1 sign, 5 exponent (bias 15), 10 mantissa bits.
static float f16_to_f32(uint16_t h) {
    uint32_t sign = (uint32_t)(h >> 15) << 31, exp = (h >> 10) & 0x1f, man = h & 0x3ff;
    if (exp == 0x1f) return bits_to_f32(sign | 0x7f800000u | (man << 13)); // inf, nan
    if (exp == 0) { // zero or subnormal: man * 2^-24
        float v = (float)man * 0x1p-24f;
        return sign ? -v : v;
    }
    return bits_to_f32(sign | ((exp + 112) << 23) | (man << 13));
}

// OCP FP8 E4M3 ("fn": no infinities, S.1111.111 is NaN), bias 7.
static float f8e4m3_to_f32(uint8_t b) {
    int exp = (b >> 3) & 0xf, man = b & 7;
    float v = exp == 15 && man == 7 ? NAN
              : exp == 0            ? (float)man * 0x1p-9f
                                    : ldexpf(1.0f + (float)man / 8.0f, exp - 7);
    return (b & 0x80) ? -v : v;
}

static uint16_t load_u16(const uint8_t *p) {
    uint16_t v;
    memcpy(&v, p, 2);
    return v;
}

// Integer types: read each element with memcpy (the data may be unaligned).
#define CONVERT_INT(type)                                                                          \
    for (size_t i = 0; i < n; i++) {                                                               \
        type v;                                                                                    \
        memcpy(&v, src + i * sizeof v, sizeof v);                                                  \
        out[i] = (float)v;                                                                         \
    }

lc_status lc_st_tensor_f32(const lc_st_tensor *t, float *out, size_t n) {
    if (!t || (!out && n)) return lc_fail(LC_ERR_INVALID_ARG, "lc_st_tensor_f32: NULL argument");
    int64_t numel = lc_st_numel(t);
    if ((uint64_t)numel != n)
        return lc_fail(LC_ERR_SHAPE, "tensor '%s' has %" PRId64 " elements, not %zu", t->name,
                       numel, n);
    const uint8_t *src = t->data;
    switch (t->dtype) {
    case LC_DTYPE_F32:
        if (n) memcpy(out, src, n * 4);
        break;
    case LC_DTYPE_F64:
        for (size_t i = 0; i < n; i++) {
            double d;
            memcpy(&d, src + 8 * i, 8);
            // Beyond float's range the cast is undefined in C: saturate to infinity.
            out[i] = d > FLT_MAX ? INFINITY : d < -FLT_MAX ? -INFINITY : (float)d;
        }
        break;
    case LC_DTYPE_F16:
        for (size_t i = 0; i < n; i++)
            out[i] = f16_to_f32(load_u16(src + 2 * i));
        break;
    case LC_DTYPE_BF16: // the top half of a float32
        for (size_t i = 0; i < n; i++)
            out[i] = bits_to_f32((uint32_t)load_u16(src + 2 * i) << 16);
        break;
    case LC_DTYPE_F8_E5M2: // the top byte of a half
        for (size_t i = 0; i < n; i++)
            out[i] = f16_to_f32((uint16_t)(src[i] << 8));
        break;
    case LC_DTYPE_F8_E4M3:
        for (size_t i = 0; i < n; i++)
            out[i] = f8e4m3_to_f32(src[i]);
        break;
    case LC_DTYPE_BOOL:
        for (size_t i = 0; i < n; i++)
            out[i] = src[i] ? 1.0f : 0.0f;
        break;
    case LC_DTYPE_I8: CONVERT_INT(int8_t) break;
    case LC_DTYPE_U8: CONVERT_INT(uint8_t) break;
    case LC_DTYPE_I16: CONVERT_INT(int16_t) break;
    case LC_DTYPE_U16: CONVERT_INT(uint16_t) break;
    case LC_DTYPE_I32: CONVERT_INT(int32_t) break;
    case LC_DTYPE_U32: CONVERT_INT(uint32_t) break;
    case LC_DTYPE_I64: CONVERT_INT(int64_t) break;
    case LC_DTYPE_U64: CONVERT_INT(uint64_t) break;
    default:
        return lc_fail(LC_ERR_UNSUPPORTED, "tensor '%s': cannot convert %s to F32", t->name,
                       lc_dtype_name(t->dtype));
    }
    return LC_OK;
}

static void shape_text(char *out, size_t cap, int ndim, const int64_t *shape) {
    size_t o = (size_t)snprintf(out, cap, "(");
    for (int d = 0; d < ndim && o < cap; d++)
        o += (size_t)snprintf(out + o, cap - o, "%s%" PRId64, d ? ", " : "", shape[d]);
    if (o < cap) snprintf(out + o, cap - o, "%s)", ndim == 1 ? "," : "");
}

lc_status lc_st_read_f32(const lc_st_file *f, const char *name, int ndim, const int64_t *shape,
                         float *out, size_t n) {
    const lc_st_tensor *t = lc_st_find(f, name);
    if (!t)
        return lc_fail(LC_ERR_FORMAT, "%s: tensor '%s' is missing", lc_st_path(f),
                       name ? name : "(null)");
    int same = !shape || t->ndim == ndim;
    for (int d = 0; same && shape && d < ndim; d++)
        same = t->shape[d] == shape[d];
    if (!same) {
        char want[160], got[160];
        shape_text(want, sizeof want, ndim, shape);
        shape_text(got, sizeof got, t->ndim, t->shape);
        return lc_fail(LC_ERR_SHAPE, "%s: tensor '%s' has shape %s, expected %s", lc_st_path(f),
                       name, got, want);
    }
    lc_status s = lc_st_tensor_f32(t, out, n);
    return s == LC_OK ? s : lc_fail_context(s, "%s", lc_st_path(f));
}
