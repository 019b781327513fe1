// The caption tokenizer: words, vocabulary order, encode/decode, the text form.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "latentcl/data.h"
#include "test_util.h"

typedef struct {
    char words[16][80];
    int n;
} word_list;

static void collect(const char *w, size_t len, void *ctx) {
    word_list *l = ctx;
    if (l->n < 16) memcpy(l->words[l->n], w, len + 1), l->n++;
}

static void test_words(void **state) {
    word_list l = {0};
    lc_tokenize_words("  A small, RED circle--left of\tdon't 42 Été!", collect, &l);
    const char *want[] = {"a", "small", "red", "circle", "left", "of", "don't", "42", "Été"};
    assert_int_equal(l.n, 9);
    for (int i = 0; i < 9; i++)
        assert_string_equal(l.words[i], want[i]);
    l.n = 0;
    lc_tokenize_words("", collect, &l);
    lc_tokenize_words(".,;!", collect, &l);
    assert_int_equal(l.n, 0);
    char longword[200];
    memset(longword, 'x', 199);
    longword[199] = '\0';
    lc_tokenize_words(longword, collect, &l);
    assert_int_equal(l.n, 1);
    assert_int_equal(strlen(l.words[0]), 64); // cut at 64 bytes
}

static const char *const captions[] = {
    "a small red circle", "a large red square", "A blue circle.", "red red red", NULL,
};

static void test_build_encode_decode(void **state) {
    lc_vocab v;
    assert_ok(lc_vocab_build(&v, captions, 5, 1, 0));
    // specials, then by frequency (red 5, a 3, circle 2), ties alphabetical.
    const char *want[] = {"<pad>",  "<bos>", "<eos>", "<unk>", "red",   "a",
                          "circle", "blue",  "large", "small", "square"};
    assert_int_equal(v.size, 11);
    for (int i = 0; i < 11; i++)
        assert_string_equal(v.words[i], want[i]);
    assert_int_equal(lc_vocab_id(&v, "circle", 6), 6);
    assert_int_equal(lc_vocab_id(&v, "circles", 7), LC_TOK_UNK);
    assert_int_equal(lc_vocab_id(&v, "circ", 4), LC_TOK_UNK);
    int32_t ids[8];
    int len;
    assert_ok(lc_vocab_encode(ids, &len, &v, "A RED triangle", 8));
    int32_t expect[8] = {LC_TOK_BOS, 5, 4, LC_TOK_UNK, LC_TOK_EOS, 0, 0, 0};
    assert_int_equal(len, 5);
    assert_memory_equal(ids, expect, sizeof expect);
    char buf[64];
    assert_int_equal(lc_vocab_decode(buf, sizeof buf, &v, ids, 8), 11);
    assert_string_equal(buf, "a red <unk>");
    // Cut to fit: <bos> a red <eos>.
    assert_ok(lc_vocab_encode(ids, &len, &v, "a red blue square", 4));
    assert_int_equal(len, 4);
    assert_int_equal(ids[3], LC_TOK_EOS);
    assert_int_equal(lc_vocab_encode(ids, &len, &v, "x", 1), LC_ERR_INVALID_ARG);
    // decode truncates like snprintf and never writes past cap.
    assert_ok(lc_vocab_encode(ids, &len, &v, "a red blue square", 8));
    char tiny[5];
    assert_int_equal(lc_vocab_decode(tiny, sizeof tiny, &v, ids, 8), 17);
    assert_string_equal(tiny, "a re");
    lc_vocab_free(&v);
    // min_count and max_size.
    assert_ok(lc_vocab_build(&v, captions, 5, 2, 0));
    assert_int_equal(v.size, 7);
    lc_vocab_free(&v);
    assert_ok(lc_vocab_build(&v, captions, 5, 1, 5));
    assert_int_equal(v.size, 5);
    assert_string_equal(v.words[4], "red");
    lc_vocab_free(&v);
}

static void test_text_form(void **state) {
    lc_vocab v, back;
    assert_ok(lc_vocab_build(&v, captions, 5, 1, 0));
    char *text;
    assert_ok(lc_vocab_to_string(&text, &v));
    assert_int_equal(strncmp(text, "<pad>\n<bos>\n<eos>\n<unk>\nred\n", 28), 0);
    assert_ok(lc_vocab_from_string(&back, text));
    assert_int_equal(back.size, v.size);
    for (int i = 0; i < v.size; i++)
        assert_string_equal(back.words[i], v.words[i]);
    assert_int_equal(lc_vocab_id(&back, "square", 6), 10);
    free(text);
    lc_vocab_free(&back);
    lc_vocab_free(&v);
    const char *bad[] = {
        "",                                        // no specials
        "<pad>\n<bos>\n<eos>\n",                   // one missing
        "<pad>\n<bos>\n<unk>\n<eos>\n",            // wrong order
        "<pad>\n<bos>\n<eos>\n<unk>\nred",         // no final newline
        "<pad>\n<bos>\n<eos>\n<unk>\nred\nred\n",  // duplicate
        "<pad>\n<bos>\n<eos>\n<unk>\n\n",          // empty word
        "<pad>\n<bos>\n<eos>\n<unk>\ntwo words\n", // space
        "<pad>\n<bos>\n<eos>\n<unk>\n\xff\n",      // not UTF-8
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        if (lc_vocab_from_string(&back, bad[i]) != LC_ERR_FORMAT) fail_msg("accepted bad[%zu]", i);
        assert_null(back.words);
    }
}

static void test_shapes_vocabulary(void **state) {
    // Every word of the shapes captions ends up in a vocabulary built from enough of them.
    lc_dataset d;
    assert_ok(lc_shapes_generate(&d, NULL, 0, 2000, 1));
    lc_vocab v;
    assert_ok(lc_vocab_build(&v, (const char *const *)d.captions, d.n, 1, 0));
    for (int i = 0; i < LC_SHAPE_KINDS; i++)
        assert_int_not_equal(
            lc_vocab_id(&v, lc_shape_kind_names[i], strlen(lc_shape_kind_names[i])), LC_TOK_UNK);
    for (int i = 0; i < LC_COLOURS; i++)
        assert_int_not_equal(
            lc_vocab_id(&v, lc_shape_colour_names[i], strlen(lc_shape_colour_names[i])),
            LC_TOK_UNK);
    int32_t ids[24];
    int len;
    char back[200];
    for (int64_t i = 0; i < d.n; i++) { // encode -> decode gives the caption back
        assert_ok(lc_vocab_encode(ids, &len, &v, d.captions[i], 24));
        lc_vocab_decode(back, sizeof back, &v, ids, 24);
        assert_string_equal(back, d.captions[i]);
    }
    lc_vocab_free(&v);
    lc_dataset_free(&d);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_words),
        cmocka_unit_test(test_build_encode_decode),
        cmocka_unit_test(test_text_form),
        cmocka_unit_test(test_shapes_vocabulary),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
