// IDX (MNIST layout) reading, plain and gzip; hostile headers and sizes; the real
// Fashion-MNIST when the Debian package is installed.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "latentcl/data.h"
#include "test_util.h"

static char *join(const char *dir, const char *name) {
    size_t n = strlen(dir) + strlen(name) + 2;
    char *p = malloc(n);
    snprintf(p, n, "%s/%s", dir, name);
    return p;
}

static void be32(uint8_t *b, uint32_t v) {
    b[0] = v >> 24, b[1] = v >> 16, b[2] = v >> 8, b[3] = v;
}

// An images file of n items h x w (pixel = item*7 + k) followed by `extra` bytes, declaring
// `declared` items; gzip-compressed if gz.
static void write_images(const char *dir, const char *name, uint32_t magic, uint32_t declared,
                         uint32_t n, uint32_t h, uint32_t w, int extra, int gz) {
    size_t len = 16 + (size_t)n * h * w + (size_t)extra;
    uint8_t *b = calloc(len, 1);
    be32(b, magic), be32(b + 4, declared), be32(b + 8, h), be32(b + 12, w);
    for (size_t k = 16; k < len; k++)
        b[k] = (uint8_t)((k - 16) * 7);
    char *p = join(dir, name);
    if (gz) {
        gzFile f = gzopen(p, "wb");
        assert_non_null(f);
        assert_int_equal(gzwrite(f, b, (unsigned)len), (int)len);
        gzclose(f);
    } else {
        assert_int_equal(test_write_file(p, b, len), 0);
    }
    free(p);
    free(b);
}

static void write_labels(const char *dir, const char *name, uint32_t magic, uint32_t n,
                         const uint8_t *labels, int gz) {
    uint8_t b[64];
    be32(b, magic), be32(b + 4, n);
    memcpy(b + 8, labels, n);
    char *p = join(dir, name);
    if (gz) {
        gzFile f = gzopen(p, "wb");
        gzwrite(f, b, 8 + n);
        gzclose(f);
    } else {
        assert_int_equal(test_write_file(p, b, 8 + n), 0);
    }
    free(p);
}

static const uint8_t labels3[3] = {4, 0, 9};

static void check_small(const char *dir, int fashion) {
    lc_dataset d;
    assert_ok(lc_mnist_load(&d, dir, LC_SPLIT_TRAIN, fashion));
    assert_int_equal(d.n, 3);
    assert_int_equal(d.channels, 1);
    assert_int_equal(d.height, 2);
    assert_int_equal(d.width, 3);
    for (int k = 0; k < 18; k++)
        assert_float_equal(d.images[k], (uint8_t)(k * 7) / 255.0f, 1e-7);
    for (int i = 0; i < 3; i++)
        assert_int_equal(d.labels[i], labels3[i]);
    assert_int_equal(d.n_classes, 10);
    assert_string_equal(d.class_names[9], fashion ? "Ankle boot" : "9");
    lc_dataset_free(&d);
    assert_null(d.images);
}

static void test_plain_and_gzip(void **state) {
    for (int gz = 0; gz < 2; gz++) {
        char *dir = test_tmpdir();
        write_images(dir, gz ? "train-images-idx3-ubyte.gz" : "train-images-idx3-ubyte", 0x803, 3,
                     3, 2, 3, 0, gz);
        write_labels(dir, gz ? "train-labels-idx1-ubyte.gz" : "train-labels-idx1-ubyte", 0x801, 3,
                     labels3, gz);
        check_small(dir, gz);
        // No test split files: an error naming what is missing.
        lc_dataset d;
        assert_int_equal(lc_mnist_load(&d, dir, LC_SPLIT_TEST, false), LC_ERR_IO);
        assert_non_null(strstr(lc_last_error(), "t10k-images-idx3-ubyte"));
        test_rmtree(dir);
        free(dir);
    }
}

static void expect_bad_images(uint32_t magic, uint32_t declared, uint32_t n, uint32_t h, uint32_t w,
                              int extra, int gz, const char *why) {
    char *dir = test_tmpdir();
    write_images(dir, "train-images-idx3-ubyte", magic, declared, n, h, w, extra, gz);
    write_labels(dir, "train-labels-idx1-ubyte", 0x801, 3, labels3, 0);
    lc_dataset d;
    lc_status s = lc_mnist_load(&d, dir, LC_SPLIT_TRAIN, false);
    if (s != LC_ERR_FORMAT) fail_msg("%s: got %s (%s)", why, lc_status_name(s), lc_last_error());
    assert_non_null(strstr(lc_last_error(), "train-images-idx3-ubyte"));
    assert_null(d.images);
    assert_null(d.labels);
    test_rmtree(dir);
    free(dir);
}

static void test_hostile_images(void **state) {
    expect_bad_images(0x801, 3, 3, 2, 3, 0, 0, "wrong magic");
    expect_bad_images(0x08030000, 3, 3, 2, 3, 0, 1, "byte-swapped magic");
    expect_bad_images(0x803, 4, 3, 2, 3, 0, 0, "fewer items than declared");
    expect_bad_images(0x803, 3, 3, 2, 3, 1, 0, "one byte too many");
    expect_bad_images(0x803, 3, 3, 2, 3, 5, 1, "trailing bytes in gzip");
    expect_bad_images(0x803, 0xFFFFFFFFu, 3, 2, 3, 0, 0, "huge count, tiny file");
    expect_bad_images(0x803, 3, 3, 0, 3, 0, 0, "zero height");
    expect_bad_images(0x803, 0, 0, 2, 3, 0, 0, "zero items");
    expect_bad_images(0x803, 3, 0, 70000, 70000, 0, 0, "huge sides");
    // A header cut short and an empty file.
    char *dir = test_tmpdir();
    char *p = join(dir, "x-idx3-ubyte");
    lc_dataset d;
    assert_int_equal(test_write_file(p, "\0\0\x08\x03\0\0", 6), 0);
    assert_int_equal(lc_idx_read_images(&d, p), LC_ERR_FORMAT);
    assert_int_equal(test_write_file(p, "", 0), 0);
    assert_int_equal(lc_idx_read_images(&d, p), LC_ERR_FORMAT);
    assert_int_equal(lc_idx_read_images(&d, "/nonexistent/x-idx3-ubyte"), LC_ERR_IO);
    free(p);
    test_rmtree(dir);
    free(dir);
}

static void test_truncated_gzip(void **state) {
    char *dir = test_tmpdir();
    write_images(dir, "a.gz", 0x803, 50, 50, 10, 10, 0, 1);
    char *p = join(dir, "a.gz"), *q = join(dir, "b.gz");
    size_t n;
    uint8_t *bytes = test_read_file(p, &n);
    for (size_t cut = 0; cut < n; cut += 1 + cut / 8) {
        assert_int_equal(test_write_file(q, bytes, cut), 0);
        lc_dataset d;
        if (lc_idx_read_images(&d, q) == LC_OK) fail_msg("gzip cut at %zu of %zu accepted", cut, n);
        assert_null(d.images);
    }
    // A flipped byte inside the deflate stream: a clean error, never a crash.
    bytes[n / 2] ^= 0x55;
    assert_int_equal(test_write_file(q, bytes, n), 0);
    lc_dataset d;
    lc_status s = lc_idx_read_images(&d, q);
    if (s == LC_OK) lc_dataset_free(&d); // a flip may by chance decode; never crash
    free(bytes);
    free(p);
    free(q);
    test_rmtree(dir);
    free(dir);
}

static void test_hostile_labels(void **state) {
    char *dir = test_tmpdir();
    write_images(dir, "train-images-idx3-ubyte", 0x803, 3, 3, 2, 3, 0, 0);
    lc_dataset d;
    uint8_t two[2] = {1, 2};
    write_labels(dir, "train-labels-idx1-ubyte", 0x801, 2, two, 0); // 2 labels for 3 images
    assert_int_equal(lc_mnist_load(&d, dir, LC_SPLIT_TRAIN, false), LC_ERR_FORMAT);
    assert_non_null(strstr(lc_last_error(), "2 labels for 3 images"));
    uint8_t big[3] = {1, 12, 2};
    write_labels(dir, "train-labels-idx1-ubyte", 0x801, 3, big, 0);
    assert_int_equal(lc_mnist_load(&d, dir, LC_SPLIT_TRAIN, false), LC_ERR_FORMAT);
    assert_non_null(strstr(lc_last_error(), "label 12"));
    write_labels(dir, "train-labels-idx1-ubyte", 0x803, 3, labels3, 0);
    assert_int_equal(lc_mnist_load(&d, dir, LC_SPLIT_TRAIN, false), LC_ERR_FORMAT);
    assert_non_null(strstr(lc_last_error(), "magic"));
    assert_null(d.images);
    test_rmtree(dir);
    free(dir);
}

static void test_real_fashion_mnist(void **state) {
    const char *dir = "/usr/share/datasets/fashion-mnist";
    char *probe = join(dir, "train-images-idx3-ubyte.gz");
    FILE *f = fopen(probe, "rb");
    free(probe);
    if (!f) skip();
    fclose(f);
    lc_data_options opt = {.split = LC_SPLIT_TRAIN};
    lc_data data;
    setenv("LATENTCL_DATA", "/nonexistent-latentcl-data", 1); // falls through to the system copy
    assert_ok(lc_data_open(&data, "fashion-mnist", &opt));
    unsetenv("LATENTCL_DATA");
    lc_dataset *d = &data.images;
    assert_int_equal(data.kind, LC_DATA_IMAGES);
    assert_int_equal(d->n, 60000);
    assert_int_equal(d->height, 28);
    assert_int_equal(d->width, 28);
    assert_int_equal(d->channels, 1);
    assert_string_equal(d->class_names[0], "T-shirt/top");
    int counts[10] = {0};
    for (int64_t i = 0; i < d->n; i++)
        counts[d->labels[i]]++;
    for (int c = 0; c < 10; c++)
        assert_int_equal(counts[c], 6000); // balanced classes
    double sum = 0;
    for (size_t i = 0; i < (size_t)d->n * 784; i++)
        sum += d->images[i];
    double mean = sum / ((double)d->n * 784);
    assert_true(mean > 0.28 && mean < 0.29); // the well-known mean pixel 0.2860
    lc_data_free(&data);
    opt.split = LC_SPLIT_TEST;
    assert_ok(lc_data_open(&data, "fashion-mnist", &opt));
    assert_int_equal(data.images.n, 10000);
    assert_non_null(strstr(data.source, "test"));
    lc_data_free(&data);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_plain_and_gzip),     cmocka_unit_test(test_hostile_images),
        cmocka_unit_test(test_truncated_gzip),     cmocka_unit_test(test_hostile_labels),
        cmocka_unit_test(test_real_fashion_mnist),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
