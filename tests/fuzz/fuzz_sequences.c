// libFuzzer target: the sequence readers (HMM data). The first input byte picks the
// reader and its options; the rest is the file: bit 0 CSV (lc_sequences_read_csv) or
// text (lc_sequences_read_text), bit 1 tokens, bit 2 lowercase, bits 3-5 an alphabet.
#include <stdlib.h>

#include "fuzz_util.h"
#include "latentcl/data.h"

static const char *const alphabets[8] = {NULL,      "a-z", "acgt", "a-zA-Z0-9",
                                         "up,down", "é-ü", "z-a",  ""};

static void check(const lc_sequences *s) {
    if (s->n < 0 || s->offsets[0] != 0 || s->offsets[s->n] != s->n_steps) abort();
    for (int64_t i = 0; i < s->n; i++)
        if (lc_sequence_length(s, i) < 0) abort();
    if (s->symbols)
        for (int64_t t = 0; t < s->n_steps; t++)
            if (s->symbols[t] < 0 || s->symbols[t] >= s->alphabet.size) abort();
    for (int a = 0; a < s->alphabet.size; a++)
        if (lc_alphabet_index(&s->alphabet, s->alphabet.symbols[a]) != a) abort();
    (void)lc_sequences_checksum(s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1) return 0;
    uint8_t mode = data[0];
    lc_sequences s;
    lc_status st;
    if (mode & 1) {
        st = lc_sequences_read_csv(&s, fuzz_write("in.csv", data + 1, size - 1));
    } else {
        lc_text_options opt = {(mode >> 1) & 1, (mode >> 2) & 1, alphabets[(mode >> 3) & 7]};
        st = lc_sequences_read_text(&s, fuzz_write("in.txt", data + 1, size - 1), &opt);
    }
    if (st != LC_OK) return 0;
    check(&s);
    lc_sequences_free(&s);
    return 0;
}
