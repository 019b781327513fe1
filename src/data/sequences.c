// Sequences for HMMs: text (one sequence per line, symbols = code points or
// whitespace tokens) and numeric CSV (one row per time step). Alphabets map
// symbols to indices.
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "data/data_util.h"
#include "latentcl/data.h"

#define TEXT_MAX_BYTES ((size_t)1 << 30)
enum { SYMBOL_MAX_BYTES = 256, ALPHABET_MAX = 1 << 20 };

void lc_alphabet_free(lc_alphabet *a) {
    if (!a) return;
    lc_strings_free(a->symbols, a->size);
    memset(a, 0, sizeof *a);
}

int lc_alphabet_index(const lc_alphabet *a, const char *symbol) {
    int lo = 0, hi = a->size - 1;
    while (lo <= hi) {
        int mid = lo + (hi - lo) / 2;
        int c = strcmp(a->symbols[mid], symbol);
        if (c == 0) return mid;
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid - 1;
    }
    return -1;
}

void lc_sequences_free(lc_sequences *s) {
    if (!s) return;
    free(s->offsets);
    free(s->symbols);
    free(s->values);
    lc_alphabet_free(&s->alphabet);
    lc_strings_free(s->column_names, s->dim);
    memset(s, 0, sizeof *s);
}

static uint64_t hash_u64(uint64_t h, uint64_t v) {
    uint8_t b[8];
    for (int i = 0; i < 8; i++)
        b[i] = (uint8_t)(v >> (8 * i));
    return lc_fnv1a64(h, b, 8);
}

uint64_t lc_sequences_checksum(const lc_sequences *s) {
    uint64_t h = LC_FNV1A64_INIT;
    h = hash_u64(h, (uint64_t)s->n);
    for (int64_t i = 0; s->offsets && i <= s->n; i++)
        h = hash_u64(h, (uint64_t)s->offsets[i]);
    for (int i = 0; i < s->alphabet.size; i++)
        h = lc_fnv1a64(h, s->alphabet.symbols[i], strlen(s->alphabet.symbols[i]) + 1);
    for (int64_t t = 0; s->symbols && t < s->n_steps; t++)
        h = hash_u64(h, (uint32_t)s->symbols[t]);
    h = hash_u64(h, (uint64_t)s->dim);
    for (size_t k = 0; s->values && k < (size_t)s->n_steps * (size_t)s->dim; k++) {
        uint32_t bits;
        memcpy(&bits, &s->values[k], 4);
        h = hash_u64(h, bits);
    }
    return h;
}

static int cmp_str(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

// Sorts and removes duplicates; the array keeps its allocation.
static void alphabet_normalise(lc_alphabet *a) {
    qsort(a->symbols, (size_t)a->size, sizeof(char *), cmp_str);
    int k = 0;
    for (int i = 0; i < a->size; i++) {
        if (k > 0 && !strcmp(a->symbols[k - 1], a->symbols[i]))
            free(a->symbols[i]);
        else
            a->symbols[k++] = a->symbols[i];
    }
    a->size = k;
}

static bool alphabet_push(lc_alphabet *a, int *cap, const char *s, size_t len) {
    if (a->size == *cap) {
        int c = *cap ? *cap * 2 : 64;
        char **p = realloc(a->symbols, (size_t)c * sizeof *p);
        if (!p) return false;
        a->symbols = p, *cap = c;
    }
    char *copy = strndup(s, len);
    if (!copy) return false;
    a->symbols[a->size++] = copy;
    return true;
}

lc_status lc_alphabet_from_spec(lc_alphabet *out, const char *spec, bool tokens) {
    memset(out, 0, sizeof *out);
    int cap = 0;
    size_t n = strlen(spec);
    if (!n) return lc_fail(LC_ERR_INVALID_ARG, "alphabet: empty");
    if (lc_utf8_check((const unsigned char *)spec, n) != n)
        return lc_fail(LC_ERR_INVALID_ARG, "alphabet \"%s\": invalid UTF-8", spec);
    lc_status s = LC_OK;
    if (tokens) { // comma-separated tokens
        for (const char *p = spec; s == LC_OK;) {
            const char *comma = strchr(p, ',');
            size_t len = comma ? (size_t)(comma - p) : strlen(p);
            if (len == 0 || len > SYMBOL_MAX_BYTES)
                s = lc_fail(LC_ERR_INVALID_ARG, "alphabet \"%s\": empty or long token", spec);
            else if (!alphabet_push(out, &cap, p, len))
                s = lc_fail(LC_ERR_NOMEM, "out of memory");
            if (!comma) break;
            p = comma + 1;
        }
    } else { // code points and ranges "a-z"; a '-' first or last is itself
        const unsigned char *p = (const unsigned char *)spec, *end = p + n;
        while (p < end && s == LC_OK) {
            uint32_t lo, hi;
            int k = lc_utf8_decode(&lo, p, (size_t)(end - p));
            p += k;
            hi = lo;
            if (p + 1 < end && *p == '-') {
                int k2 = lc_utf8_decode(&hi, p + 1, (size_t)(end - p - 1));
                p += 1 + k2;
                if (hi < lo)
                    s = lc_fail(LC_ERR_INVALID_ARG, "alphabet \"%s\": backwards range", spec);
            }
            if (s == LC_OK && (uint64_t)out->size + (hi - lo) + 1 > ALPHABET_MAX)
                s = lc_fail(LC_ERR_INVALID_ARG, "alphabet \"%s\": more than %d symbols", spec,
                            ALPHABET_MAX);
            for (uint32_t cp = lo; s == LC_OK && cp <= hi; cp++) {
                if (cp >= 0xD800 && cp <= 0xDFFF) continue;
                char buf[4];
                int len = lc_utf8_encode(buf, cp);
                if (!alphabet_push(out, &cap, buf, (size_t)len))
                    s = lc_fail(LC_ERR_NOMEM, "out of memory");
            }
        }
    }
    if (s != LC_OK) {
        lc_alphabet_free(out);
        return s;
    }
    alphabet_normalise(out);
    return LC_OK;
}

// ---- text ------------------------------------------------------------------------------

typedef struct {
    int64_t *offsets;
    int64_t n, cap;
    char **syms;  // symbol strings of every step until the alphabet is known; or
    int32_t *ids; // ids when the alphabet is fixed in advance
    int64_t n_steps, steps_cap;
} collector;

static void collector_free(collector *c) {
    free(c->offsets);
    lc_strings_free(c->syms, c->syms ? c->n_steps : 0);
    free(c->ids);
}

static bool push_offset(collector *c, int64_t v) {
    return lc_i64_push(&c->offsets, &c->n, &c->cap, v);
}

// Splits one line into symbols (each NUL-terminated in `out`, packed); returns count or -1
// for a token longer than SYMBOL_MAX_BYTES.
static int64_t split_line(char *line, size_t n, bool tokens, bool lowercase, lc_buf *out) {
    out->len = 0;
    int64_t count = 0;
    const unsigned char *p = (const unsigned char *)line, *end = p + n;
    while (p < end) {
        if (tokens) {
            while (p < end && (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\v' || *p == '\f'))
                p++;
            if (p >= end) break;
            const unsigned char *start = p;
            while (p < end && !(*p == ' ' || *p == '\t' || *p == '\r' || *p == '\v' || *p == '\f'))
                p++;
            if ((size_t)(p - start) > SYMBOL_MAX_BYTES) return -1;
            for (const unsigned char *q = start; q < p;) {
                uint32_t cp;
                int k = lc_utf8_decode(&cp, q, (size_t)(p - q));
                char buf[4];
                int len = lc_utf8_encode(buf, lowercase ? lc_fold_case(cp) : cp);
                if (!lc_buf_append(out, buf, (size_t)len)) return -2;
                q += k;
            }
        } else {
            uint32_t cp;
            int k = lc_utf8_decode(&cp, p, (size_t)(end - p));
            p += k;
            char buf[4];
            int len = lc_utf8_encode(buf, lowercase ? lc_fold_case(cp) : cp);
            if (!lc_buf_append(out, buf, (size_t)len)) return -2;
        }
        if (!lc_buf_append(out, "", 1)) return -2;
        count++;
    }
    return count;
}

static lc_status add_steps(collector *c, const lc_buf *syms, int64_t count,
                           const lc_alphabet *fixed, bool *dropped) {
    // With a fixed alphabet, every symbol must be in it or the line is dropped.
    *dropped = false;
    const char *p = syms->data;
    if (fixed) {
        for (int64_t i = 0; i < count; i++, p += strlen(p) + 1)
            if (lc_alphabet_index(fixed, p) < 0) return *dropped = true, LC_OK;
        p = syms->data;
    }
    if (c->n_steps + count > c->steps_cap) {
        int64_t cap = c->steps_cap ? c->steps_cap : 4096;
        while (cap < c->n_steps + count)
            cap *= 2;
        if (fixed) {
            int32_t *q = realloc(c->ids, (size_t)cap * sizeof *q);
            if (!q) return lc_fail(LC_ERR_NOMEM, "out of memory");
            c->ids = q;
        } else {
            char **q = realloc(c->syms, (size_t)cap * sizeof *q);
            if (!q) return lc_fail(LC_ERR_NOMEM, "out of memory");
            c->syms = q;
        }
        c->steps_cap = cap;
    }
    for (int64_t i = 0; i < count; i++, p += strlen(p) + 1) {
        if (fixed) {
            c->ids[c->n_steps++] = lc_alphabet_index(fixed, p);
        } else {
            if (!(c->syms[c->n_steps] = strdup(p))) return lc_fail(LC_ERR_NOMEM, "out of memory");
            c->n_steps++;
        }
    }
    return LC_OK;
}

// Maps the collected symbol strings to indices of the sorted set of distinct symbols.
static lc_status index_symbols(lc_sequences *out, collector *c) {
    out->symbols = malloc(((size_t)c->n_steps + 1) * sizeof(int32_t));
    char **sorted = malloc(((size_t)c->n_steps + 1) * sizeof(char *));
    if (!out->symbols || !sorted) {
        free(sorted);
        return lc_fail(LC_ERR_NOMEM, "out of memory");
    }
    memcpy(sorted, c->syms, (size_t)c->n_steps * sizeof(char *));
    qsort(sorted, (size_t)c->n_steps, sizeof(char *), cmp_str);
    int64_t distinct = 0;
    for (int64_t i = 0; i < c->n_steps; i++)
        if (i == 0 || strcmp(sorted[i - 1], sorted[i])) sorted[distinct++] = sorted[i];
    lc_status s = LC_OK;
    if (distinct > ALPHABET_MAX)
        s = lc_fail(LC_ERR_FORMAT, "more than %d distinct symbols", ALPHABET_MAX);
    if (s == LC_OK) {
        out->alphabet.symbols = lc_strings_dup((const char *const *)sorted, distinct);
        if (!out->alphabet.symbols)
            s = lc_fail(LC_ERR_NOMEM, "out of memory");
        else
            out->alphabet.size = (int)distinct;
    }
    free(sorted);
    for (int64_t i = 0; s == LC_OK && i < c->n_steps; i++)
        out->symbols[i] = lc_alphabet_index(&out->alphabet, c->syms[i]);
    return s;
}

lc_status lc_sequences_read_text(lc_sequences *out, const char *path, const lc_text_options *opt) {
    memset(out, 0, sizeof *out);
    lc_text_options none = {0};
    if (!opt) opt = &none;
    lc_alphabet fixed = {0};
    lc_status s = LC_OK;
    if (opt->alphabet && (s = lc_alphabet_from_spec(&fixed, opt->alphabet, opt->tokens)) != LC_OK)
        return s;
    char *text;
    size_t len;
    if ((s = lc_read_file(&text, &len, path, TEXT_MAX_BYTES)) != LC_OK) {
        lc_alphabet_free(&fixed);
        return s;
    }
    collector c = {0};
    lc_buf syms = {0};
    int64_t line_no = 0, empty_line = 0; // the first empty line not yet known to be trailing
    char *p = text, *end = text + len;
    if (!push_offset(&c, 0)) s = lc_fail(LC_ERR_NOMEM, "out of memory");
    char *line;
    size_t n;
    while (s == LC_OK && (line = lc_next_line(&p, end, &n))) {
        line_no++;
        size_t bad = lc_utf8_check((const unsigned char *)line, n);
        if (bad != n) {
            s = lc_fail(LC_ERR_FORMAT, "%s:%lld: invalid UTF-8 at byte %zu", path,
                        (long long)line_no, bad + 1);
            break;
        }
        if (memchr(line, '\0', n)) {
            s = lc_fail(LC_ERR_FORMAT, "%s:%lld: NUL byte", path, (long long)line_no);
            break;
        }
        int64_t count = split_line(line, n, opt->tokens, opt->lowercase, &syms);
        if (count == -1)
            s = lc_fail(LC_ERR_FORMAT, "%s:%lld: token longer than %d bytes", path,
                        (long long)line_no, SYMBOL_MAX_BYTES);
        else if (count < 0)
            s = lc_fail(LC_ERR_NOMEM, "out of memory");
        else if (count == 0) {
            if (!empty_line) empty_line = line_no;
        } else if (empty_line) {
            s = lc_fail(LC_ERR_FORMAT, "%s:%lld: empty line (one sequence per line)", path,
                        (long long)empty_line);
        } else {
            bool dropped;
            s = add_steps(&c, &syms, count, opt->alphabet ? &fixed : NULL, &dropped);
            if (s == LC_OK && dropped)
                out->n_dropped++;
            else if (s == LC_OK && !push_offset(&c, c.n_steps))
                s = lc_fail(LC_ERR_NOMEM, "out of memory");
        }
    }
    free(text);
    free(syms.data);
    if (s == LC_OK && c.n < 2)
        s = lc_fail(LC_ERR_FORMAT, "%s: no sequences%s", path,
                    out->n_dropped ? " left after the alphabet filter" : "");
    if (s == LC_OK) {
        out->n = c.n - 1;
        out->n_steps = c.n_steps;
        out->offsets = c.offsets;
        c.offsets = NULL;
        if (opt->alphabet) {
            out->alphabet = fixed;
            fixed = (lc_alphabet){0};
            out->symbols = c.ids;
            c.ids = NULL;
        } else {
            s = index_symbols(out, &c);
        }
    }
    collector_free(&c);
    lc_alphabet_free(&fixed);
    if (s != LC_OK) lc_sequences_free(out);
    return s;
}
