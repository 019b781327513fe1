// The caption tokenizer: lowercase words, a vocabulary with <pad> <bos> <eos> <unk>
// first, encoding to fixed-length id rows and back, and a plain-text form of the
// vocabulary (one word per line) that a checkpoint stores in its metadata.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "data/data_util.h"
#include "latentcl/data.h"

static const char *const specials[LC_TOK_SPECIALS] = {"<pad>", "<bos>", "<eos>", "<unk>"};
enum { WORD_MAX = 64 }; // longer runs are cut: no caption word is that long

static bool is_word_byte(unsigned char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           c == '\'' || c >= 0x80;
}

void lc_tokenize_words(const char *text, void (*fn)(const char *word, size_t len, void *ctx),
                       void *ctx) {
    char word[WORD_MAX + 1];
    const unsigned char *p = (const unsigned char *)text;
    while (*p) {
        if (!is_word_byte(*p)) {
            p++;
            continue;
        }
        size_t len = 0;
        for (; is_word_byte(*p); p++)
            if (len < WORD_MAX) word[len++] = (char)(*p >= 'A' && *p <= 'Z' ? *p + 32 : *p);
        // Cutting may split a UTF-8 sequence; drop its partial tail.
        while (len && lc_utf8_check((const unsigned char *)word, len) != len)
            len--;
        word[len] = '\0';
        if (len) fn(word, len, ctx);
    }
}

// ---- building ------------------------------------------------------------------------

typedef struct {
    char *word;
    int64_t count;
} word_count;

typedef struct {
    word_count *items;
    size_t n, cap;
    bool failed;
} count_table; // a flat table, sorted later: vocabularies here are small

static int cmp_word(const void *a, const void *b) {
    return strcmp(((const word_count *)a)->word, ((const word_count *)b)->word);
}

static void count_word(const char *word, size_t len, void *ctx) {
    count_table *t = ctx;
    if (t->failed) return;
    if (t->n == t->cap) {
        size_t cap = t->cap ? t->cap * 2 : 256;
        word_count *p = realloc(t->items, cap * sizeof *p);
        if (!p) {
            t->failed = true;
            return;
        }
        t->items = p, t->cap = cap;
    }
    t->items[t->n].word = strndup(word, len);
    t->items[t->n].count = 1;
    if (!t->items[t->n].word)
        t->failed = true;
    else
        t->n++;
}

// Merges duplicate words in a sorted table, summing their counts.
static void merge_sorted(count_table *t) {
    size_t k = 0;
    for (size_t i = 0; i < t->n; i++) {
        if (k > 0 && !strcmp(t->items[k - 1].word, t->items[i].word)) {
            t->items[k - 1].count += t->items[i].count;
            free(t->items[i].word);
        } else {
            t->items[k++] = t->items[i];
        }
    }
    t->n = k;
}

static int cmp_frequency(const void *a, const void *b) {
    const word_count *x = a, *y = b;
    if (x->count != y->count) return x->count > y->count ? -1 : 1;
    return strcmp(x->word, y->word);
}

// Builds the lookup order (ids sorted by their words) and refuses duplicate words.
static lc_status finish_vocab(lc_vocab *v) {
    v->sorted = malloc((size_t)v->size * sizeof(int));
    word_count *pairs = malloc((size_t)v->size * sizeof *pairs);
    if (!v->sorted || !pairs) {
        free(pairs);
        return lc_fail(LC_ERR_NOMEM, "vocabulary: out of memory");
    }
    for (int i = 0; i < v->size; i++)
        pairs[i] = (word_count){v->words[i], i};
    qsort(pairs, (size_t)v->size, sizeof *pairs, cmp_word);
    for (int i = 0; i < v->size; i++)
        v->sorted[i] = (int)pairs[i].count;
    free(pairs);
    for (int i = 1; i < v->size; i++)
        if (!strcmp(v->words[v->sorted[i - 1]], v->words[v->sorted[i]]))
            return lc_fail(LC_ERR_FORMAT, "vocabulary: word \"%s\" appears twice",
                           v->words[v->sorted[i]]);
    return LC_OK;
}

void lc_vocab_free(lc_vocab *v) {
    if (!v) return;
    lc_strings_free(v->words, v->size);
    free(v->sorted);
    memset(v, 0, sizeof *v);
}

lc_status lc_vocab_build(lc_vocab *out, const char *const *captions, int64_t n, int min_count,
                         int max_size) {
    memset(out, 0, sizeof *out);
    count_table t = {0};
    size_t merge_at = 4096; // merge duplicates now and then to keep the table small
    for (int64_t i = 0; i < n && !t.failed; i++) {
        lc_tokenize_words(captions[i] ? captions[i] : "", count_word, &t);
        if (t.n > 0 && (t.n >= merge_at || i == n - 1)) { // qsort(NULL, 0) is undefined
            qsort(t.items, t.n, sizeof *t.items, cmp_word);
            merge_sorted(&t);
            if (2 * t.n > merge_at) merge_at = 2 * t.n;
        }
    }
    lc_status s = LC_OK;
    if (t.failed) {
        s = lc_fail(LC_ERR_NOMEM, "vocabulary: out of memory");
        goto done;
    }
    if (t.n > 0) qsort(t.items, t.n, sizeof *t.items, cmp_frequency);
    size_t keep = 0;
    while (keep < t.n && t.items[keep].count >= (min_count > 1 ? min_count : 1))
        keep++;
    if (max_size > 0 && keep + LC_TOK_SPECIALS > (size_t)max_size)
        keep = max_size > LC_TOK_SPECIALS ? (size_t)max_size - LC_TOK_SPECIALS : 0;
    out->size = (int)(keep + LC_TOK_SPECIALS);
    out->words = calloc((size_t)out->size, sizeof(char *));
    if (!out->words) {
        out->size = 0;
        s = lc_fail(LC_ERR_NOMEM, "vocabulary: out of memory");
        goto done;
    }
    for (int i = 0; i < LC_TOK_SPECIALS; i++)
        out->words[i] = strdup(specials[i]);
    for (size_t i = 0; i < keep; i++) {
        out->words[LC_TOK_SPECIALS + i] = t.items[i].word;
        t.items[i].word = NULL; // moved
    }
    for (int i = 0; i < out->size; i++)
        if (!out->words[i]) s = lc_fail(LC_ERR_NOMEM, "vocabulary: out of memory");
    if (s == LC_OK) s = finish_vocab(out);
done:
    for (size_t i = 0; i < t.n; i++)
        free(t.items[i].word);
    free(t.items);
    if (s != LC_OK) lc_vocab_free(out);
    return s;
}

int lc_vocab_id(const lc_vocab *v, const char *word, size_t len) {
    int lo = 0, hi = v->size - 1;
    while (lo <= hi) {
        int mid = (lo + hi) / 2;
        const char *w = v->words[v->sorted[mid]];
        int c = strncmp(w, word, len);
        if (c == 0) c = w[len] == '\0' ? 0 : 1;
        if (c == 0) return v->sorted[mid];
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid - 1;
    }
    return LC_TOK_UNK;
}

// ---- encoding ---------------------------------------------------------------------------

typedef struct {
    const lc_vocab *v;
    int32_t *ids;
    int len, room; // room: ids available for words (max_len - 2)
} encoder;

static void encode_word(const char *word, size_t len, void *ctx) {
    encoder *e = ctx;
    if (e->len - 1 < e->room) e->ids[e->len++] = lc_vocab_id(e->v, word, len);
}

lc_status lc_vocab_encode(int32_t *ids, int *len, const lc_vocab *v, const char *text,
                          int max_len) {
    if (max_len < 2) return lc_fail(LC_ERR_INVALID_ARG, "encode: max_len %d < 2", max_len);
    encoder e = {v, ids, 1, max_len - 2};
    ids[0] = LC_TOK_BOS;
    lc_tokenize_words(text ? text : "", encode_word, &e);
    ids[e.len++] = LC_TOK_EOS;
    if (len) *len = e.len;
    for (int i = e.len; i < max_len; i++)
        ids[i] = LC_TOK_PAD;
    return LC_OK;
}

int lc_vocab_decode(char *buf, size_t cap, const lc_vocab *v, const int32_t *ids, int n) {
    size_t used = 0;
    if (cap) buf[0] = '\0';
    for (int i = 0; i < n; i++) {
        int id = ids[i];
        if (id == LC_TOK_EOS) break;
        if (id == LC_TOK_PAD || id == LC_TOK_BOS) continue;
        const char *w = (id >= 0 && id < v->size) ? v->words[id] : specials[LC_TOK_UNK];
        int k = snprintf(cap > used ? buf + used : NULL, cap > used ? cap - used : 0, "%s%s",
                         used ? " " : "", w);
        used += (size_t)k;
    }
    return (int)used;
}

// ---- text form ----------------------------------------------------------------------------

lc_status lc_vocab_to_string(char **out, const lc_vocab *v) {
    lc_buf b = {0};
    for (int i = 0; i < v->size; i++)
        if (!lc_buf_append(&b, v->words[i], strlen(v->words[i])) || !lc_buf_append(&b, "\n", 1)) {
            free(b.data);
            return lc_fail(LC_ERR_NOMEM, "vocabulary: out of memory");
        }
    if (!b.data && !lc_buf_append(&b, "", 0)) return lc_fail(LC_ERR_NOMEM, "out of memory");
    *out = b.data;
    return LC_OK;
}

lc_status lc_vocab_from_string(lc_vocab *out, const char *text) {
    memset(out, 0, sizeof *out);
    size_t lines = 0;
    for (const char *p = text; *p; p++)
        lines += *p == '\n';
    if (lines > (1u << 24)) return lc_fail(LC_ERR_FORMAT, "vocabulary: too many words");
    out->words = calloc(lines + 1, sizeof(char *));
    if (!out->words) return lc_fail(LC_ERR_NOMEM, "vocabulary: out of memory");
    lc_status s = LC_OK;
    const char *p = text;
    while (*p && s == LC_OK) {
        const char *end = strchr(p, '\n');
        if (!end) {
            s = lc_fail(LC_ERR_FORMAT, "vocabulary: word %d has no line end", out->size + 1);
            break;
        }
        size_t len = (size_t)(end - p);
        if (len == 0 || len > WORD_MAX + 8 || lc_utf8_check((const unsigned char *)p, len) != len ||
            memchr(p, ' ', len) || memchr(p, '\t', len) || memchr(p, '\r', len))
            s = lc_fail(LC_ERR_FORMAT, "vocabulary: word %d is not a valid word", out->size + 1);
        else if (!(out->words[out->size++] = strndup(p, len)))
            s = lc_fail(LC_ERR_NOMEM, "vocabulary: out of memory");
        p = end + 1;
    }
    for (int i = 0; s == LC_OK && i < LC_TOK_SPECIALS; i++)
        if (i >= out->size || strcmp(out->words[i], specials[i]))
            s = lc_fail(LC_ERR_FORMAT, "vocabulary: entry %d must be %s", i, specials[i]);
    if (s == LC_OK) s = finish_vocab(out);
    if (s != LC_OK) lc_vocab_free(out);
    return s;
}
