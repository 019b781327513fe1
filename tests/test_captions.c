// PNG folders with captions.tsv: good folders, and every kind of broken line.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "latentcl/data.h"
#include "latentcl/image.h"
#include "test_util.h"

static char *dir;

static int setup(void **state) { return test_open_tmpdir(&dir); }
static int teardown(void **state) { return test_close_tmpdir(&dir); }

static void png(const char *name, int w, int h, int c, uint8_t value) {
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    lc_image img = {w, h, c, malloc((size_t)w * h * c)};
    memset(img.pixels, value, (size_t)w * h * c);
    img.pixels[0] = 255;
    assert_ok(lc_png_write(path, &img));
    lc_image_free(&img);
}

static void tsv(const char *text) {
    char path[4096];
    snprintf(path, sizeof path, "%s/captions.tsv", dir);
    assert_int_equal(test_write_file(path, text, strlen(text)), 0);
}

static void test_folder_with_captions(void **state) {
    png("a.png", 4, 3, 1, 10);
    png("b.png", 4, 3, 3, 20);
    png("c.png", 4, 3, 1, 30);
    tsv("file\tcaption\tlabel\nb.png\tA Blue thing\t2\n\na.png\tgrey one\t0\r\nc.png\tlast\t5\n");
    lc_dataset d;
    assert_ok(lc_image_folder_load(&d, dir));
    assert_int_equal(d.n, 3);
    assert_int_equal(d.channels, 3); // one RGB image widens the set
    assert_int_equal(d.height, 3);
    assert_int_equal(d.width, 4);
    assert_string_equal(d.captions[0], "A Blue thing"); // the tsv's order
    assert_string_equal(d.captions[1], "grey one");
    assert_int_equal(d.labels[0], 2);
    assert_int_equal(d.labels[2], 5);
    assert_int_equal(d.n_classes, 6);
    // a.png (gray 10, first pixel 255) widened to three equal planes.
    float *a = d.images + 1 * 3 * 12;
    for (int c = 0; c < 3; c++) {
        assert_float_equal(a[c * 12 + 0], 1.0f, 1e-6);
        assert_float_equal(a[c * 12 + 5], 10 / 255.0f, 1e-6);
    }
    lc_dataset_free(&d);
    // Through --data DIR.
    lc_data data;
    assert_ok(lc_data_open(&data, dir, NULL));
    assert_int_equal(data.images.n, 3);
    lc_data_free(&data);
    lc_data_options test_split = {.split = LC_SPLIT_TEST};
    assert_int_equal(lc_data_open(&data, dir, &test_split), LC_ERR_UNSUPPORTED);
}

static void expect_bad(const char *tsv_text, const char *needle) {
    tsv(tsv_text);
    lc_dataset d;
    lc_status s = lc_image_folder_load(&d, dir);
    if (s == LC_OK) fail_msg("accepted: %s", tsv_text);
    if (!strstr(lc_last_error(), needle))
        fail_msg("message \"%s\" lacks \"%s\"", lc_last_error(), needle);
    assert_null(d.images);
    assert_null(d.captions);
}

static void test_hostile_captions(void **state) {
    png("a.png", 4, 3, 1, 10);
    png("b.png", 4, 3, 1, 20);
    png("big.png", 5, 3, 1, 20);
    expect_bad("a.png\tok\nmissing.png\tno such file\n", "captions.tsv:2: image");
    expect_bad("a.png\tok\nb.png no tab\n", "captions.tsv:2: no tab");
    expect_bad("a.png\t\n", "captions.tsv:1: empty caption");
    expect_bad("a.png\t   \n", "captions.tsv:1: empty caption");
    expect_bad("a.png\tx\tnot-a-number\n", "captions.tsv:1: label");
    expect_bad("a.png\tx\t-1\n", "captions.tsv:1: label");
    expect_bad("a.png\tx\t1\nb.png\ty\n", "captions.tsv:2: lacks a label");
    expect_bad("a.png\tx\t1\textra\n", "more than three");
    expect_bad("../a.png\tx\n", "captions.tsv:1: file name");
    expect_bad("/etc/passwd\tx\n", "captions.tsv:1: file name");
    expect_bad("\tx\n", "captions.tsv:1: file name");
    expect_bad("a.png\tcaf\xe9\n", "captions.tsv:1: invalid UTF-8");
    expect_bad("a.png\tx\nbig.png\ty\n", "big.png is 5x3 but");
    expect_bad("", "no images listed");
    expect_bad("file\tcaption\n\n", "no images listed");
    // A 10 kB caption is refused with its size; one of 1024 bytes is fine.
    char *line = malloc(20000);
    strcpy(line, "a.png\t");
    memset(line + 6, 'w', 10240);
    strcpy(line + 6 + 10240, "\n");
    expect_bad(line, "caption of 10240 bytes");
    strcpy(line + 6 + LC_CAPTION_MAX_BYTES, "\n");
    tsv(line);
    lc_dataset d;
    assert_ok(lc_image_folder_load(&d, dir));
    assert_int_equal(strlen(d.captions[0]), LC_CAPTION_MAX_BYTES);
    lc_dataset_free(&d);
    free(line);
    // A corrupt PNG: an error naming the file and the tsv line.
    char path[4096];
    snprintf(path, sizeof path, "%s/bad.png", dir);
    assert_int_equal(test_write_file(path, "\x89PNG\r\n\x1a\nxxxx", 12), 0);
    expect_bad("a.png\tok\nbad.png\tbroken\n", "captions.tsv:2");
    assert_non_null(strstr(lc_last_error(), "bad.png"));
}

static void test_folder_without_captions(void **state) {
    char *sub = malloc(strlen(dir) + 8);
    sprintf(sub, "%s/plain", dir);
    char *saved = dir;
    assert_int_equal(test_system("mkdir -p '%s'", sub), 0);
    dir = sub;
    png("z.png", 2, 2, 3, 1);
    png("m.PNG", 2, 2, 3, 2);
    lc_dataset d;
    assert_ok(lc_image_folder_load(&d, dir));
    assert_int_equal(d.n, 2);
    assert_null(d.captions);
    assert_null(d.labels);
    assert_float_equal(d.images[1], 2 / 255.0f, 1e-6); // m.PNG first (name order)
    lc_dataset_free(&d);
    dir = saved;
    // An empty folder: --data says what it looked for.
    snprintf(sub, strlen(saved) + 8, "%s/empty", saved);
    assert_int_equal(test_system("mkdir -p '%s'", sub), 0);
    lc_data data;
    assert_int_equal(lc_data_open(&data, sub, NULL), LC_ERR_FORMAT);
    assert_non_null(strstr(lc_last_error(), "looked for train-images-idx3-ubyte"));
    assert_int_equal(lc_data_open(&data, "/nonexistent/thing", NULL), LC_ERR_IO);
    assert_int_equal(lc_data_open(&data, "no-such-name", NULL), LC_ERR_IO);
    free(sub);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_folder_with_captions),
        cmocka_unit_test(test_hostile_captions),
        cmocka_unit_test(test_folder_without_captions),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
