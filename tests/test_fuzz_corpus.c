// Every file of tests/fuzz/corpus/<target>/ through that fuzz target's code, in the
// ordinary test builds (so under ASan/UBSan in CI, with gcc, without libFuzzer): the
// seeds and every crash reproducer found by tools/fuzz.sh stay regression tests. The
// targets abort() when a reader breaks its contract, which fails this program.
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "test_util.h"

// Each target defines LLVMFuzzerTestOneInput (and maybe LLVMFuzzerInitialize): renamed per
// target so that all of them live in this one program.
#define LLVMFuzzerTestOneInput fuzz_safetensors_one
#include "fuzz/fuzz_safetensors.c"
#undef LLVMFuzzerTestOneInput
#define LLVMFuzzerTestOneInput fuzz_png_one
#include "fuzz/fuzz_png.c"
#undef LLVMFuzzerTestOneInput
#define LLVMFuzzerTestOneInput fuzz_idx_one
#include "fuzz/fuzz_idx.c"
#undef LLVMFuzzerTestOneInput
#define LLVMFuzzerTestOneInput fuzz_captions_one
#define LLVMFuzzerInitialize fuzz_captions_init
#include "fuzz/fuzz_captions.c"
#undef LLVMFuzzerTestOneInput
#undef LLVMFuzzerInitialize
#define LLVMFuzzerTestOneInput fuzz_tokenizer_one
#include "fuzz/fuzz_tokenizer.c"
#undef LLVMFuzzerTestOneInput
#define LLVMFuzzerTestOneInput fuzz_sequences_one
#include "fuzz/fuzz_sequences.c"
#undef LLVMFuzzerTestOneInput
#define LLVMFuzzerTestOneInput fuzz_config_one
#include "fuzz/fuzz_config.c"
#undef LLVMFuzzerTestOneInput
#define LLVMFuzzerTestOneInput fuzz_templates_one
#include "fuzz/fuzz_templates.c"
#undef LLVMFuzzerTestOneInput
// The CLI parsers are not in the library: compiled in here (this program has no main.c).
#include "../tools/cli/args.c"
#include "../tools/cli/train_opts.c"
#define LLVMFuzzerTestOneInput fuzz_cli_args_one
#define LLVMFuzzerInitialize fuzz_cli_args_init
#include "fuzz/fuzz_cli_args.c"
#undef LLVMFuzzerTestOneInput
#undef LLVMFuzzerInitialize

typedef int (*fuzz_fn)(const uint8_t *data, size_t size);

// Runs fn on every file of corpus/<target>; returns the number of files.
static int replay(const char *target, fuzz_fn fn) {
    char dir[1024];
    snprintf(dir, sizeof dir, "%s/tests/fuzz/corpus/%s", LATENTCL_SOURCE_DIR, target);
    struct dirent **names;
    int n = scandir(dir, &names, NULL, alphasort), count = 0;
    assert_true(n >= 0);
    for (int i = 0; i < n; i++) {
        if (names[i]->d_name[0] != '.') {
            char path[1400];
            snprintf(path, sizeof path, "%s/%s", dir, names[i]->d_name);
            size_t len = 0;
            uint8_t *data = test_read_file(path, &len);
            assert_non_null(data);
            // An exact-size copy, so that reading one byte past the input is caught.
            uint8_t *exact = malloc(len ? len : 1);
            assert_non_null(exact);
            memcpy(exact, data, len);
            free(data);
            fn(exact, len);
            free(exact);
            count++;
        }
        free(names[i]);
    }
    free(names);
    return count;
}

static void test_safetensors(void **state) {
    assert_true(replay("safetensors", fuzz_safetensors_one) >= 3);
}
static void test_png(void **state) { assert_true(replay("png", fuzz_png_one) >= 3); }
static void test_idx(void **state) { assert_true(replay("idx", fuzz_idx_one) >= 2); }
static void test_captions(void **state) {
    fuzz_captions_init(NULL, NULL);
    assert_true(replay("captions", fuzz_captions_one) >= 2);
}
static void test_tokenizer(void **state) {
    assert_true(replay("tokenizer", fuzz_tokenizer_one) >= 2);
}
static void test_sequences(void **state) {
    assert_true(replay("sequences", fuzz_sequences_one) >= 2);
}
static void test_config(void **state) { assert_true(replay("config", fuzz_config_one) >= 2); }
static void test_templates(void **state) {
    assert_true(replay("templates", fuzz_templates_one) >= 2);
}
static void test_cli_args(void **state) {
    fuzz_cli_args_init(NULL, NULL); // changes into the scratch folder (corpus paths are absolute)
    assert_true(replay("cli_args", fuzz_cli_args_one) >= 2);
}

// The seeds are valid files: the readers must accept them (a seed that fails to parse
// fuzzes only the error paths).
static void test_seeds_accepted(void **state) {
    char path[1024];
    lc_st_file *f = NULL;
    snprintf(path, sizeof path, "%s/tests/fuzz/corpus/safetensors/types.safetensors",
             LATENTCL_SOURCE_DIR);
    assert_ok(lc_st_open(&f, path));
    assert_int_equal(lc_st_count(f), 8);
    lc_st_close(f);
    lc_image img;
    snprintf(path, sizeof path, "%s/tests/fuzz/corpus/png/palette.png", LATENTCL_SOURCE_DIR);
    assert_ok(lc_png_read(&img, path));
    assert_int_equal(img.width, 4);
    assert_int_equal(img.channels, 3);
    lc_image_free(&img);
    lc_dataset d;
    snprintf(path, sizeof path, "%s/tests/fuzz/corpus/idx/images-idx3-ubyte.gz",
             LATENTCL_SOURCE_DIR);
    assert_ok(lc_idx_read_images(&d, path));
    assert_int_equal(d.n, 2);
    lc_dataset_free(&d);
}

// Found by fuzz_tokenizer: captions with no words made lc_vocab_build call qsort(NULL, 0).
static void test_vocab_from_wordless_captions(void **state) {
    const char *captions[] = {"", " ,; ", NULL};
    lc_vocab v;
    assert_ok(lc_vocab_build(&v, captions, 3, 1, 0));
    assert_int_equal(v.size, LC_TOK_SPECIALS);
    lc_vocab_free(&v);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_seeds_accepted),
        cmocka_unit_test(test_vocab_from_wordless_captions),
        cmocka_unit_test(test_safetensors),
        cmocka_unit_test(test_png),
        cmocka_unit_test(test_idx),
        cmocka_unit_test(test_captions),
        cmocka_unit_test(test_tokenizer),
        cmocka_unit_test(test_sequences),
        cmocka_unit_test(test_templates),
        cmocka_unit_test(test_config),
        cmocka_unit_test(test_cli_args),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
