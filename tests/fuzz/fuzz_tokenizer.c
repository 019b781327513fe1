// libFuzzer target: the caption tokenizer. The input is read two ways: as a stored
// vocabulary (lc_vocab_from_string, which checkpoints carry in their metadata) and as
// captions (one per line) to tokenize, build a vocabulary from, encode and decode.
#include <stdlib.h>

#include "fuzz_util.h"
#include "latentcl/data.h"

static void count_word(const char *word, size_t len, void *ctx) {
    if (len == 0 || !word) abort();
    ++*(size_t *)ctx;
}

static void round_trip(const lc_vocab *v, const char *text) {
    int32_t ids[32];
    int len = 0;
    if (lc_vocab_encode(ids, &len, v, text, 32) != LC_OK) abort();
    if (len < 2 || len > 32) abort();
    for (int i = 0; i < 32; i++)
        if (ids[i] < 0 || ids[i] >= v->size) abort();
    char buf[512];
    (void)lc_vocab_decode(buf, sizeof buf, v, ids, 32);
    char *stored = NULL;
    if (lc_vocab_to_string(&stored, v) == LC_OK) {
        lc_vocab back;
        if (lc_vocab_from_string(&back, stored) != LC_OK || back.size != v->size) abort();
        lc_vocab_free(&back);
    }
    free(stored);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    char *text = fuzz_string(data, size);
    size_t words = 0;
    lc_tokenize_words(text, count_word, &words);

    lc_vocab v;
    if (lc_vocab_from_string(&v, text) == LC_OK) {
        round_trip(&v, text);
        lc_vocab_free(&v);
    }

    // Captions: the input's lines.
    char *lines[64];
    int64_t n = 0;
    for (char *p = text, *nl; n < 64 && p; p = nl ? nl + 1 : NULL) {
        nl = strchr(p, '\n');
        if (nl) *nl = 0;
        lines[n++] = p;
    }
    if (lc_vocab_build(&v, (const char *const *)lines, n, 1, (int)(size % 16)) == LC_OK) {
        round_trip(&v, lines[0]);
        lc_vocab_free(&v);
    }
    free(text);
    return 0;
}
