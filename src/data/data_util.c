// Strings, buffers, whole-file reads, UTF-8 and paths for the dataset readers.
#include "data/data_util.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

void lc_strings_free(char **s, int64_t n) {
    if (!s) return;
    for (int64_t i = 0; i < n; i++)
        free(s[i]);
    free(s);
}

char **lc_strings_dup(const char *const *s, int64_t n) {
    char **out = calloc((size_t)n + 1, sizeof(char *));
    for (int64_t i = 0; out && i < n; i++) {
        out[i] = strdup(s[i] ? s[i] : "");
        if (!out[i]) {
            lc_strings_free(out, i);
            return NULL;
        }
    }
    return out;
}

bool lc_buf_reserve(lc_buf *b, size_t extra) {
    if (b->len + extra + 1 <= b->cap) return true;
    size_t cap = b->cap ? b->cap : 64;
    while (cap < b->len + extra + 1) {
        if (cap > SIZE_MAX / 2) return false;
        cap *= 2;
    }
    char *p = realloc(b->data, cap);
    if (!p) return false;
    b->data = p;
    b->cap = cap;
    return true;
}

char *lc_next_line(char **p, char *end, size_t *n) {
    char *line = *p;
    if (line >= end) return NULL;
    char *nl = memchr(line, '\n', (size_t)(end - line));
    char *stop = nl ? nl : end;
    *n = (size_t)(stop - line);
    if (*n && line[*n - 1] == '\r') (*n)--;
    *p = stop + 1;
    return line;
}

bool lc_i64_push(int64_t **items, int64_t *n, int64_t *cap, int64_t v) {
    if (*n == *cap) {
        int64_t grown = *cap ? *cap * 2 : 256;
        int64_t *p = realloc(*items, (size_t)grown * sizeof *p);
        if (!p) return false;
        *items = p, *cap = grown;
    }
    (*items)[(*n)++] = v;
    return true;
}

bool lc_buf_append(lc_buf *b, const void *data, size_t n) {
    if (!lc_buf_reserve(b, n)) return false;
    memcpy(b->data + b->len, data, n);
    b->len += n;
    b->data[b->len] = '\0';
    return true;
}

lc_status lc_read_file(char **out, size_t *len, const char *path, size_t max_bytes) {
    *out = NULL;
    FILE *f = fopen(path, "rb");
    if (!f) return lc_fail(LC_ERR_IO, "%s: %s", path, strerror(errno));
    lc_buf b = {0};
    char chunk[65536];
    size_t got;
    while ((got = fread(chunk, 1, sizeof chunk, f)) > 0) {
        if (b.len + got > max_bytes) {
            fclose(f);
            free(b.data);
            return lc_fail(LC_ERR_FORMAT, "%s: larger than %zu bytes", path, max_bytes);
        }
        if (!lc_buf_append(&b, chunk, got)) {
            fclose(f);
            free(b.data);
            return lc_fail(LC_ERR_NOMEM, "%s: out of memory", path);
        }
    }
    int failed = ferror(f);
    fclose(f);
    if (failed) {
        free(b.data);
        return lc_fail(LC_ERR_IO, "%s: read error", path);
    }
    if (!b.data && !lc_buf_append(&b, "", 0))
        return lc_fail(LC_ERR_NOMEM, "%s: out of memory", path);
    *out = b.data;
    if (len) *len = b.len;
    return LC_OK;
}

int lc_utf8_decode(uint32_t *cp, const unsigned char *s, size_t n) {
    if (n == 0) return 0;
    unsigned char c = s[0];
    if (c < 0x80) return *cp = c, 1;
    int len;
    uint32_t v, min;
    if ((c & 0xE0) == 0xC0)
        len = 2, v = c & 0x1F, min = 0x80;
    else if ((c & 0xF0) == 0xE0)
        len = 3, v = c & 0x0F, min = 0x800;
    else if ((c & 0xF8) == 0xF0)
        len = 4, v = c & 0x07, min = 0x10000;
    else
        return 0;
    if ((size_t)len > n) return 0;
    for (int i = 1; i < len; i++) {
        if ((s[i] & 0xC0) != 0x80) return 0;
        v = v << 6 | (s[i] & 0x3F);
    }
    if (v < min || v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF)) return 0;
    *cp = v;
    return len;
}

int lc_utf8_encode(char out[4], uint32_t cp) {
    if (cp < 0x80) return out[0] = (char)cp, 1;
    if (cp < 0x800) {
        out[0] = (char)(0xC0 | cp >> 6), out[1] = (char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        out[0] = (char)(0xE0 | cp >> 12), out[1] = (char)(0x80 | (cp >> 6 & 0x3F));
        out[2] = (char)(0x80 | (cp & 0x3F));
        return 3;
    }
    out[0] = (char)(0xF0 | cp >> 18), out[1] = (char)(0x80 | (cp >> 12 & 0x3F));
    out[2] = (char)(0x80 | (cp >> 6 & 0x3F)), out[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}

size_t lc_utf8_check(const unsigned char *s, size_t n) {
    size_t i = 0;
    while (i < n) {
        uint32_t cp;
        int k = lc_utf8_decode(&cp, s + i, n - i);
        if (!k) return i;
        i += (size_t)k;
    }
    return n;
}

uint32_t lc_fold_case(uint32_t cp) {
    if (cp >= 'A' && cp <= 'Z') return cp + 32;
    if (cp == 0x178) return 0xFF;                                 // Y with diaeresis
    if ((cp >= 0xC0 && cp <= 0xDE && cp != 0xD7)) return cp + 32; // Latin-1
    if (cp >= 0x100 && cp <= 0x17F && cp != 0x130 && cp != 0x131 && cp != 0x138 && cp != 0x149 &&
        cp != 0x17F) { // Latin Extended-A
        bool odd_is_upper = (cp >= 0x139 && cp <= 0x148) || (cp >= 0x179 && cp <= 0x17E);
        if (odd_is_upper ? (cp % 2 == 1) : (cp % 2 == 0)) return cp + 1;
        return cp;
    }
    if (cp >= 0x391 && cp <= 0x3AB && cp != 0x3A2) return cp + 32; // Greek
    if (cp >= 0x410 && cp <= 0x42F) return cp + 32;                // Cyrillic
    if (cp >= 0x400 && cp <= 0x40F) return cp + 80;
    return cp;
}

char *lc_path_join(const char *dir, const char *name) {
    size_t a = strlen(dir), b = strlen(name);
    char *p = malloc(a + b + 2);
    if (!p) return NULL;
    memcpy(p, dir, a);
    size_t k = a;
    if (a && dir[a - 1] != '/') p[k++] = '/';
    memcpy(p + k, name, b + 1);
    return p;
}

bool lc_is_dir(const char *path) {
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

bool lc_is_file(const char *path) {
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}
