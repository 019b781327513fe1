// Text and CSV sequences: symbols, tokens, case folding, alphabet filters, UTF-8
// checks, empty lines, numbers; the words list.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "latentcl/data.h"
#include "test_util.h"

static char *dir;

static int setup(void **state) { return test_open_tmpdir(&dir); }
static int teardown(void **state) { return test_close_tmpdir(&dir); }

static char *file_with(const char *name, const char *text, size_t n) {
    static char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    assert_int_equal(test_write_file(path, text, n ? n : strlen(text)), 0);
    return path;
}

// The symbols of sequence i joined into a string (code points: concatenated; tokens: with '|').
static void seq_text(char *buf, const lc_sequences *s, int64_t i, const char *sep) {
    buf[0] = '\0';
    for (int64_t t = s->offsets[i]; t < s->offsets[i + 1]; t++) {
        if (t > s->offsets[i]) strcat(buf, sep);
        strcat(buf, s->alphabet.symbols[s->symbols[t]]);
    }
}

static void test_code_points(void **state) {
    char *p = file_with("a.txt", "abca\r\nÉtÉ\nzß\n", 0);
    lc_sequences s;
    assert_ok(lc_sequences_read_text(&s, p, NULL));
    assert_int_equal(s.n, 3);
    assert_int_equal(s.n_steps, 4 + 3 + 2);
    assert_int_equal(lc_sequence_length(&s, 1), 3);
    // Sorted by code point: a b c t z É (U+C9) ß (U+DF)
    assert_int_equal(s.alphabet.size, 7);
    assert_string_equal(s.alphabet.symbols[0], "a");
    assert_string_equal(s.alphabet.symbols[5], "É");
    assert_string_equal(s.alphabet.symbols[6], "ß");
    assert_int_equal(lc_alphabet_index(&s.alphabet, "c"), 2);
    assert_int_equal(lc_alphabet_index(&s.alphabet, "q"), -1);
    char buf[256];
    seq_text(buf, &s, 1, "");
    assert_string_equal(buf, "ÉtÉ");
    lc_sequences_free(&s);
    lc_text_options lower = {.lowercase = true};
    assert_ok(lc_sequences_read_text(&s, p, &lower));
    seq_text(buf, &s, 1, "");
    assert_string_equal(buf, "été");
    lc_sequences_free(&s);
}

static void test_alphabet_filter(void **state) {
    char *p = file_with("b.txt", "Hello\nworld\ndon't\ncafé\nabc\n", 0);
    lc_text_options opt = {.lowercase = true, .alphabet = "a-z"};
    lc_sequences s;
    assert_ok(lc_sequences_read_text(&s, p, &opt));
    assert_int_equal(s.n, 3); // hello, world, abc
    assert_int_equal(s.n_dropped, 2);
    assert_int_equal(s.alphabet.size, 26); // the alphabet is the spec, not the data
    assert_int_equal(s.symbols[0], 'h' - 'a');
    lc_sequences_free(&s);
    lc_alphabet a;
    assert_ok(lc_alphabet_from_spec(&a, "a-cx-z-", false));
    assert_int_equal(a.size, 7); // - a b c x y z
    assert_string_equal(a.symbols[0], "-");
    lc_alphabet_free(&a);
    assert_int_equal(lc_alphabet_from_spec(&a, "z-a", false), LC_ERR_INVALID_ARG);
    assert_int_equal(lc_alphabet_from_spec(&a, "", false), LC_ERR_INVALID_ARG);
    assert_ok(lc_alphabet_from_spec(&a, "up,down,up", true));
    assert_int_equal(a.size, 2);
    lc_alphabet_free(&a);
    // Everything dropped: an error that says so.
    opt.alphabet = "0-9";
    assert_int_equal(lc_sequences_read_text(&s, p, &opt), LC_ERR_FORMAT);
    assert_non_null(strstr(lc_last_error(), "alphabet"));
}

static void test_tokens(void **state) {
    char *p = file_with("t.txt", "up down  up\n\tLEFT up\n", 0);
    lc_text_options opt = {.tokens = true, .lowercase = true};
    lc_sequences s;
    assert_ok(lc_sequences_read_text(&s, p, &opt));
    assert_int_equal(s.n, 2);
    assert_int_equal(s.alphabet.size, 3); // down left up
    char buf[256];
    seq_text(buf, &s, 0, "|");
    assert_string_equal(buf, "up|down|up");
    seq_text(buf, &s, 1, "|");
    assert_string_equal(buf, "left|up");
    lc_sequences_free(&s);
}

static void expect_error(const char *name, const char *text, size_t n, const lc_text_options *opt,
                         const char *needle) {
    char *p = file_with(name, text, n);
    lc_sequences s;
    lc_status st = lc_sequences_read_text(&s, p, opt);
    if (st == LC_OK) fail_msg("%s was accepted", name);
    if (!strstr(lc_last_error(), needle))
        fail_msg("message \"%s\" lacks \"%s\"", lc_last_error(), needle);
    assert_null(s.offsets);
    assert_null(s.symbols);
}

static void test_hostile_text(void **state) {
    expect_error("e1.txt", "abc\n\ndef\n", 0, NULL, "e1.txt:2: empty line");
    expect_error("e2.txt", "abc\n   \ndef\n", 0, &(lc_text_options){.tokens = true}, "e2.txt:2");
    expect_error("u1.txt", "abc\nab\xff\n", 0, NULL, "u1.txt:2: invalid UTF-8");
    expect_error("u2.txt", "ok\n\xc3\n", 0, NULL, "u2.txt:2");     // truncated sequence
    expect_error("u3.txt", "\xc0\xaf\n", 0, NULL, "u3.txt:1");     // overlong '/'
    expect_error("u4.txt", "\xed\xa0\x80\n", 0, NULL, "u4.txt:1"); // surrogate
    expect_error("n.txt", "ab\0c\n", 5, NULL, "n.txt:1: NUL");
    expect_error("empty.txt", "", 0, NULL, "no sequences");
    expect_error("blank.txt", "\n\n\n", 0, NULL, "no sequences");
    lc_sequences s;
    assert_int_equal(lc_sequences_read_text(&s, "/nonexistent/x.txt", NULL), LC_ERR_IO);
    // Blank lines at the very end are fine.
    char *p = file_with("trail.txt", "ab\ncd\n\n\r\n", 0);
    assert_ok(lc_sequences_read_text(&s, p, NULL));
    assert_int_equal(s.n, 2);
    lc_sequences_free(&s);
}

static void test_words(void **state) {
    FILE *f = fopen("/usr/share/dict/words", "rb");
    if (!f) skip();
    fclose(f);
    lc_data d;
    assert_ok(lc_data_open(&d, "words", NULL));
    assert_int_equal(d.kind, LC_DATA_SEQUENCES);
    assert_int_equal(d.sequences.n, 74585);
    assert_int_equal(d.sequences.n_dropped, 104334 - 74585);
    assert_int_equal(d.sequences.alphabet.size, 26);
    lc_data_free(&d);
}

static void test_csv(void **state) {
    char *p = file_with("a.csv", "x, y\n1,2\n3,4.5\n\n-1e3,0\n", 0);
    lc_sequences s;
    assert_ok(lc_sequences_read_csv(&s, p));
    assert_int_equal(s.dim, 2);
    assert_string_equal(s.column_names[1], "y");
    assert_int_equal(s.n, 2);
    assert_int_equal(s.n_steps, 3);
    assert_int_equal(lc_sequence_length(&s, 0), 2);
    assert_float_equal(s.values[3], 4.5f, 0);
    assert_float_equal(s.values[4], -1000.0f, 0);
    assert_null(s.symbols);
    lc_sequences_free(&s);
    // A seq column, anywhere; ids change -> new sequence.
    p = file_with("b.csv", "a,seq,b\r\n1,s1,2\r\n3,s1,4\r\n5,s2,6\r\n7,s3,8\r\n9,s3,10\r\n", 0);
    assert_ok(lc_sequences_read_csv(&s, p));
    assert_int_equal(s.dim, 2);
    assert_int_equal(s.n, 3);
    int64_t want[4] = {0, 2, 3, 5};
    assert_memory_equal(s.offsets, want, sizeof want);
    assert_float_equal(s.values[9], 10.0f, 0);
    lc_sequences_free(&s);
    // Through --data: a .csv file.
    lc_data d;
    assert_ok(lc_data_open(&d, p, NULL));
    assert_int_equal(d.kind, LC_DATA_SEQUENCES);
    assert_int_equal(d.sequences.n, 3);
    lc_data_free(&d);
}

static void expect_csv_error(const char *name, const char *text, const char *needle) {
    char *p = file_with(name, text, 0);
    lc_sequences s;
    if (lc_sequences_read_csv(&s, p) == LC_OK) fail_msg("%s was accepted", name);
    if (!strstr(lc_last_error(), needle))
        fail_msg("message \"%s\" lacks \"%s\"", lc_last_error(), needle);
    assert_null(s.values);
    assert_null(s.column_names);
}

static void test_hostile_csv(void **state) {
    expect_csv_error("nan.csv", "x,y\n1,2\n3,NaN\n", "nan.csv:3: column y");
    expect_csv_error("inf.csv", "x\n1\ninf\n", "inf.csv:3");
    expect_csv_error("text.csv", "x,y\n1,abc\n", "text.csv:2: column y: \"abc\"");
    expect_csv_error("partial.csv", "x,y\n1,2x\n", "partial.csv:2");
    expect_csv_error("emptyfield.csv", "x,y\n1,\n", "emptyfield.csv:2");
    expect_csv_error("fields.csv", "x,y\n1,2,3\n", "3 fields, the header has 2");
    expect_csv_error("huge.csv", "x\n1e300\n", "huge.csv:2");
    expect_csv_error("noheader.csv", "1,2\n3,4\n", "name the columns");
    expect_csv_error("onlyheader.csv", "x,y\n", "no data rows");
    expect_csv_error("empty.csv", "", "empty");
    expect_csv_error("seqonly.csv", "seq\n1\n", "no value columns");
    expect_csv_error("utf.csv", "x\n\xff\n", "utf.csv:2");
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_code_points), cmocka_unit_test(test_alphabet_filter),
        cmocka_unit_test(test_tokens),      cmocka_unit_test(test_hostile_text),
        cmocka_unit_test(test_words),       cmocka_unit_test(test_csv),
        cmocka_unit_test(test_hostile_csv),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
