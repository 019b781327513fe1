// safetensors: round trips, hostile files, conversions, and the PyPI package
// reading our files (and us reading its files) when the test venv exists.
#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "latentcl/checkpoint.h"
#include "test_util.h"

#define VENV_PYTHON LATENTCL_SOURCE_DIR "/.venv/bin/python"

static char *dir;

static int setup(void **state) { return test_open_tmpdir(&dir); }

static int teardown(void **state) { return test_close_tmpdir(&dir); }

static const char *tmp_path(const char *name) { return test_path(dir, name); }

// Files in dir whose name contains ".tmp." (leftovers of an atomic write).
static int count_temp_files(void) {
    DIR *d = opendir(dir);
    int n = 0;
    for (struct dirent *e; d && (e = readdir(d));)
        n += strstr(e->d_name, ".tmp.") != NULL;
    if (d) closedir(d);
    return n;
}

// Writes 8-byte length + header (exactly as given) + n_data bytes of data.
static const char *make_file(const char *name, const char *header, size_t n_data) {
    size_t hlen = strlen(header);
    size_t total = 8 + hlen + n_data;
    unsigned char *buf = calloc(1, total);
    for (int b = 0; b < 8; b++)
        buf[b] = (unsigned char)((uint64_t)hlen >> (8 * b));
    memcpy(buf + 8, header, hlen);
    for (size_t i = 0; i < n_data; i++)
        buf[8 + hlen + i] = (unsigned char)i;
    const char *path = tmp_path(name);
    assert_int_equal(test_write_file(path, buf, total), 0);
    free(buf);
    return path;
}

// Opening must fail with LC_ERR_FORMAT (or IO), leave *out NULL, and the
// message must name the file and contain `needle` when given.
static void expect_bad(const char *path, const char *needle) {
    lc_st_file *f = (lc_st_file *)0x1;
    lc_clear_error();
    lc_status s = lc_st_open(&f, path);
    if (s == LC_OK) fail_msg("%s opened but should have been refused", path);
    assert_null(f);
    const char *msg = lc_last_error();
    if (!strstr(msg, path)) fail_msg("message does not name the file: %s", msg);
    if (needle && !strstr(msg, needle)) fail_msg("message lacks '%s': %s", needle, msg);
}

static void expect_good(const char *path) {
    lc_st_file *f = NULL;
    assert_ok(lc_st_open(&f, path));
    lc_st_close(f);
}

// ---- round trips ------------------------------------------------------------------
static void test_round_trip_every_dtype(void **state) {
    float f32[6] = {1.5f, -2.0f, 0.0f, 3.25f, -1e-8f, 1e30f};
    int32_t i32[3] = {-7, 0, 2147483647};
    int64_t i64[2] = {INT64_MIN, 1234567890123LL};
    uint8_t u8[5] = {0, 1, 128, 254, 255};
    uint16_t f16[2] = {0x3c00, 0xc000};
    double f64[2] = {0.125, -3.5};
    float scalar = 42.0f;
    lc_st_tensor t[] = {
        {"encoder.0.weight", LC_DTYPE_F32, 2, {2, 3}, f32},
        {"ids", LC_DTYPE_I32, 1, {3}, i32},
        {"counter", LC_DTYPE_I64, 1, {2}, i64},
        {"bytes", LC_DTYPE_U8, 3, {1, 5, 1}, u8},
        {"half", LC_DTYPE_F16, 1, {2}, f16},
        {"double", LC_DTYPE_F64, 2, {1, 2}, f64},
        {"scalar", LC_DTYPE_F32, 0, {0}, &scalar},
        {"empty", LC_DTYPE_F32, 2, {0, 4}, NULL},
        {"ema/encoder.0.weight", LC_DTYPE_F32, 2, {2, 3}, f32},
    };
    int n = (int)(sizeof t / sizeof t[0]);
    lc_st_meta meta[] = {{"family", "vae"},
                         {"config", "{\"z\": 32, \"hidden\": [512, 256]}"},
                         {"step", "1200"},
                         {"note", "unicode \xc3\xa9\xe2\x82\xac"}};
    const char *path = tmp_path("all.safetensors");
    assert_ok(lc_st_write(path, t, n, meta, 4));
    assert_int_equal(count_temp_files(), 0);

    // Header length is a multiple of 8 and the header starts with '{'.
    size_t size = 0;
    unsigned char *raw = test_read_file(path, &size);
    assert_non_null(raw);
    uint64_t hlen = 0;
    for (int b = 7; b >= 0; b--)
        hlen = hlen << 8 | raw[b];
    assert_int_equal(hlen % 8, 0);
    assert_int_equal(raw[8], '{');
    assert_int_equal(size, 8 + hlen + 24 + 12 + 16 + 5 + 4 + 16 + 4 + 0 + 24);
    free(raw);

    lc_st_file *f = NULL;
    assert_ok(lc_st_open(&f, path));
    assert_int_equal(lc_st_count(f), n);
    const uint8_t *prev_end = NULL;
    for (int i = 0; i < n; i++) {
        const lc_st_tensor *r = lc_st_at(f, i);
        assert_string_equal(r->name, t[i].name); // header order kept
        assert_int_equal(r->dtype, t[i].dtype);
        assert_int_equal(r->ndim, t[i].ndim);
        for (int d = 0; d < r->ndim; d++)
            assert_int_equal(r->shape[d], t[i].shape[d]);
        size_t bytes = (size_t)lc_st_numel(r) * lc_dtype_size(r->dtype);
        if (bytes) assert_memory_equal(r->data, t[i].data, bytes);
        if (prev_end) assert_ptr_equal(r->data, prev_end); // contiguous in header order
        prev_end = (const uint8_t *)r->data + bytes;
        assert_ptr_equal(lc_st_find(f, t[i].name), r);
    }
    assert_null(lc_st_find(f, "missing"));
    assert_int_equal(lc_st_meta_count(f), 4);
    for (int i = 0; i < 4; i++) {
        assert_string_equal(lc_st_meta_get(f, meta[i].key), meta[i].value);
        assert_string_equal(lc_st_meta_at(f, i).key, meta[i].key);
    }
    assert_null(lc_st_meta_get(f, "absent"));

    float back[6];
    assert_ok(lc_st_read_f32(f, "encoder.0.weight", 2, (int64_t[]){2, 3}, back, 6));
    assert_memory_equal(back, f32, sizeof f32);
    float ids[3];
    assert_ok(lc_st_read_f32(f, "ids", 1, (int64_t[]){3}, ids, 3));
    assert_true(ids[0] == -7.0f && ids[2] == 2147483648.0f);
    float one;
    assert_ok(lc_st_read_f32(f, "scalar", 0, NULL, &one, 1));
    assert_true(one == 42.0f);
    // Wrong shape, wrong count and a missing name are errors naming the tensor.
    assert_int_equal(lc_st_read_f32(f, "encoder.0.weight", 2, (int64_t[]){3, 2}, back, 6),
                     LC_ERR_SHAPE);
    assert_non_null(strstr(lc_last_error(), "encoder.0.weight"));
    assert_non_null(strstr(lc_last_error(), "(2, 3)"));
    assert_int_equal(lc_st_read_f32(f, "encoder.0.weight", 2, NULL, back, 5), LC_ERR_SHAPE);
    assert_int_not_equal(lc_st_read_f32(f, "nope", 1, NULL, back, 1), LC_OK);
    assert_non_null(strstr(lc_last_error(), "nope"));
    lc_st_close(f);
}

static void test_empty_file_round_trip(void **state) {
    const char *path = tmp_path("empty.safetensors");
    assert_ok(lc_st_write(path, NULL, 0, NULL, 0));
    lc_st_file *f = NULL;
    assert_ok(lc_st_open(&f, path));
    assert_int_equal(lc_st_count(f), 0);
    assert_int_equal(lc_st_meta_count(f), 0);
    lc_st_close(f);
}

static void test_builder_and_names(void **state) {
    char name[64];
    assert_ok(lc_st_name(name, sizeof name, LC_ST_PREFIX_EXP_AVG_SQ, "dec.1.bias"));
    assert_string_equal(name, "optim/exp_avg_sq/dec.1.bias");
    assert_int_equal(lc_st_name(name, 8, LC_ST_PREFIX_MOMENTUM, "w"), LC_ERR_INVALID_ARG);

    lc_st_builder *b = NULL;
    assert_ok(lc_st_builder_new(&b));
    float w[4] = {1, 2, 3, 4};
    int64_t shape[2] = {2, 2};
    assert_ok(lc_st_builder_add_f32(b, NULL, "w", 2, shape, w));
    w[0] = 99; // the builder copied the data
    assert_ok(lc_st_builder_add_f32(b, LC_ST_PREFIX_EMA, "w", 2, shape, w));
    assert_ok(lc_st_builder_add_f32(b, LC_ST_PREFIX_EXP_AVG, "w", 2, shape, w));
    assert_ok(lc_st_builder_meta(b, LC_META_STEP, "1"));
    assert_ok(lc_st_builder_meta(b, LC_META_STEP, "2")); // replaced
    assert_ok(lc_st_builder_meta_int(b, LC_META_EPOCH, -3));
    assert_ok(lc_st_builder_meta(b, LC_META_FAMILY, "vae"));
    const char *path = tmp_path("builder.safetensors");
    assert_ok(lc_st_builder_save(b, path));
    lc_st_builder_free(b);

    lc_st_file *f = NULL;
    assert_ok(lc_st_open(&f, path));
    assert_int_equal(lc_st_count(f), 3);
    float back[4];
    assert_ok(lc_st_read_f32(f, "w", 2, shape, back, 4));
    assert_true(back[0] == 1.0f);
    assert_ok(lc_st_read_f32(f, "ema/w", 2, shape, back, 4));
    assert_true(back[0] == 99.0f);
    assert_non_null(lc_st_find(f, "optim/exp_avg/w"));
    assert_string_equal(lc_st_meta_get(f, "step"), "2");
    assert_int_equal(lc_st_meta_count(f), 3);
    int64_t v = 0;
    assert_ok(lc_st_meta_int(f, LC_META_STEP, &v));
    assert_int_equal(v, 2);
    assert_ok(lc_st_meta_int(f, LC_META_EPOCH, &v));
    assert_int_equal(v, -3);
    assert_int_equal(lc_st_meta_int(f, LC_META_FAMILY, &v), LC_ERR_FORMAT);
    assert_non_null(strstr(lc_last_error(), "'family' is 'vae', not an integer"));
    assert_int_equal(lc_st_meta_int(f, LC_META_RNG, &v), LC_ERR_FORMAT);
    assert_non_null(strstr(lc_last_error(), "'rng' is missing"));
    lc_st_close(f);

    // A failed add is remembered: save reports it and writes nothing.
    assert_ok(lc_st_builder_new(&b));
    assert_ok(lc_st_builder_add_f32(b, NULL, "w", 2, shape, w));
    assert_int_equal(lc_st_builder_add_f32(b, NULL, "w", 2, shape, w), LC_ERR_INVALID_ARG);
    assert_int_equal(lc_st_builder_save(b, tmp_path("never.safetensors")), LC_ERR_INVALID_ARG);
    assert_non_null(strstr(lc_last_error(), "twice"));
    assert_int_not_equal(access(tmp_path("never.safetensors"), F_OK), 0);
    lc_st_builder_free(b);
}

static void test_writer_refuses_bad_input(void **state) {
    float w[2] = {1, 2};
    const char *path = tmp_path("refuse.safetensors");
    lc_st_tensor dup[] = {{"a", LC_DTYPE_F32, 1, {1}, w}, {"a", LC_DTYPE_F32, 1, {1}, w}};
    assert_int_equal(lc_st_write(path, dup, 2, NULL, 0), LC_ERR_INVALID_ARG);
    lc_st_tensor neg[] = {{"a", LC_DTYPE_F32, 1, {-1}, w}};
    assert_int_equal(lc_st_write(path, neg, 1, NULL, 0), LC_ERR_INVALID_ARG);
    lc_st_tensor huge[] = {{"a", LC_DTYPE_F32, 3, {1LL << 40, 1LL << 40, 1LL << 40}, w}};
    assert_int_equal(lc_st_write(path, huge, 1, NULL, 0), LC_ERR_INVALID_ARG);
    lc_st_tensor bad_utf8[] = {{"a\xff", LC_DTYPE_F32, 1, {1}, w}};
    assert_int_equal(lc_st_write(path, bad_utf8, 1, NULL, 0), LC_ERR_INVALID_ARG);
    lc_st_tensor reserved[] = {{"__metadata__", LC_DTYPE_F32, 1, {1}, w}};
    assert_int_equal(lc_st_write(path, reserved, 1, NULL, 0), LC_ERR_INVALID_ARG);
    lc_st_tensor ok[] = {{"a", LC_DTYPE_F32, 1, {2}, w}};
    lc_st_meta dup_meta[] = {{"k", "1"}, {"k", "2"}};
    assert_int_equal(lc_st_write(path, ok, 1, dup_meta, 2), LC_ERR_INVALID_ARG);
    assert_int_not_equal(access(path, F_OK), 0);
    assert_int_equal(lc_st_write(tmp_path("no/such/dir/x.safetensors"), ok, 1, NULL, 0), LC_ERR_IO);
}

// A failed write leaves the old file as it was and no temp file behind.
static void test_atomic_replace(void **state) {
    float w[2] = {1, 2}, v[2] = {3, 4};
    const char *path = tmp_path("atomic.safetensors");
    lc_st_tensor first[] = {{"w", LC_DTYPE_F32, 1, {2}, w}};
    assert_ok(lc_st_write(path, first, 1, NULL, 0));
    size_t n0 = 0;
    char *before = test_read_file(path, &n0);
    lc_st_tensor bad[] = {{"w", LC_DTYPE_F32, 1, {2}, v}, {"w", LC_DTYPE_F32, 1, {2}, v}};
    assert_int_not_equal(lc_st_write(path, bad, 2, NULL, 0), LC_OK);
    lc_st_tensor no_data[] = {{"w", LC_DTYPE_F32, 1, {2}, NULL}};
    assert_int_not_equal(lc_st_write(path, no_data, 1, NULL, 0), LC_OK);
    size_t n1 = 0;
    char *after = test_read_file(path, &n1);
    assert_int_equal(n0, n1);
    assert_memory_equal(before, after, n0);
    assert_int_equal(count_temp_files(), 0);
    // A good write replaces it.
    lc_st_tensor second[] = {{"w", LC_DTYPE_F32, 1, {2}, v}};
    assert_ok(lc_st_write(path, second, 1, NULL, 0));
    lc_st_file *f = NULL;
    float back[2];
    assert_ok(lc_st_open(&f, path));
    assert_ok(lc_st_read_f32(f, "w", 1, (int64_t[]){2}, back, 2));
    assert_true(back[0] == 3.0f && back[1] == 4.0f);
    lc_st_close(f);
    assert_int_equal(count_temp_files(), 0);
    free(before);
    free(after);
}

// ---- conversions ------------------------------------------------------------------
static void test_conversions(void **state) {
    // Half: 1, -2, 65504 (max), 2^-24 (smallest subnormal), 2^-14 (smallest normal),
    // 0x3555 ~ 0.33325, -0, inf, nan.
    uint16_t f16[9] = {0x3c00, 0xc000, 0x7bff, 0x0001, 0x0400, 0x3555, 0x8000, 0x7c00, 0x7e00};
    // bfloat16: 1, -3.140625, 2^-133 (subnormal), -inf.
    uint16_t bf16[4] = {0x3f80, 0xc049, 0x0001, 0xff80};
    double f64[4] = {0.1, -2.5, 1e300, 1e-50};
    lc_st_tensor t[] = {{"h", LC_DTYPE_F16, 1, {9}, f16},
                        {"b", LC_DTYPE_BF16, 1, {4}, bf16},
                        {"d", LC_DTYPE_F64, 1, {4}, f64}};
    const char *path = tmp_path("conv.safetensors");
    assert_ok(lc_st_write(path, t, 3, NULL, 0));
    lc_st_file *f = NULL;
    assert_ok(lc_st_open(&f, path));
    float h[9], b[4], d[4];
    assert_ok(lc_st_read_f32(f, "h", 1, NULL, h, 9));
    assert_true(h[0] == 1.0f && h[1] == -2.0f && h[2] == 65504.0f);
    assert_true(h[3] == ldexpf(1, -24) && h[4] == ldexpf(1, -14));
    assert_float_equal(h[5], 0.333251953125f, 0.0f);
    assert_true(h[6] == 0.0f && signbit(h[6]));
    assert_true(isinf(h[7]) && h[7] > 0 && isnan(h[8]));
    assert_ok(lc_st_read_f32(f, "b", 1, NULL, b, 4));
    assert_true(b[0] == 1.0f && b[1] == -3.140625f && b[2] == ldexpf(1, -133));
    assert_true(isinf(b[3]) && b[3] < 0);
    assert_ok(lc_st_read_f32(f, "d", 1, NULL, d, 4));
    assert_true(d[0] == 0.1f && d[1] == -2.5f && isinf(d[2]) && d[3] == 0.0f);
    lc_st_close(f);

    // FP8 through the tensor view: E5M2 0x3c = 1.0, E4M3 0x38 = 1.0, 0x7f = NaN, 0x01 = 2^-9.
    uint8_t e5[2] = {0x3c, 0xbc}, e4[3] = {0x38, 0x7f, 0x01};
    lc_st_tensor v5 = {"e5", LC_DTYPE_F8_E5M2, 1, {2}, e5},
                 v4 = {"e4", LC_DTYPE_F8_E4M3, 1, {3}, e4};
    float o[3];
    assert_ok(lc_st_tensor_f32(&v5, o, 2));
    assert_true(o[0] == 1.0f && o[1] == -1.0f);
    assert_ok(lc_st_tensor_f32(&v4, o, 3));
    assert_true(o[0] == 1.0f && isnan(o[1]) && o[2] == ldexpf(1, -9));
}

// ---- hostile files ----------------------------------------------------------------
static void test_truncated_at_every_byte(void **state) {
    float w[3] = {1, 2, 3};
    int32_t k[2] = {5, 6};
    lc_st_tensor t[] = {{"w", LC_DTYPE_F32, 1, {3}, w}, {"k", LC_DTYPE_I32, 2, {1, 2}, k}};
    lc_st_meta meta[] = {{"family", "test"}};
    const char *good = tmp_path("good.safetensors");
    assert_ok(lc_st_write(good, t, 2, meta, 1));
    size_t size = 0;
    unsigned char *bytes = test_read_file(good, &size);
    assert_non_null(bytes);
    const char *cut = tmp_path("cut.safetensors");
    for (size_t n = 0; n < size; n++) {
        assert_int_equal(test_write_file(cut, bytes, n), 0);
        lc_st_file *f = NULL;
        lc_status s = lc_st_open(&f, cut);
        if (s == LC_OK) fail_msg("a file cut at byte %zu of %zu was accepted", n, size);
        assert_null(f);
    }
    // One byte too many is refused as well.
    unsigned char *longer = malloc(size + 1);
    memcpy(longer, bytes, size);
    longer[size] = 0;
    assert_int_equal(test_write_file(cut, longer, size + 1), 0);
    expect_bad(cut, "after the last tensor");
    free(longer);
    free(bytes);
}

static void test_header_length(void **state) {
    const char *path = tmp_path("hlen.safetensors");
    unsigned char buf[16] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, '{', '}'};
    assert_int_equal(test_write_file(path, buf, 10), 0);
    expect_bad(path, "header length");
    // 100 MB + 1: over the limit even before looking at the file size.
    uint64_t big = 100000001;
    for (int b = 0; b < 8; b++)
        buf[b] = (unsigned char)(big >> (8 * b));
    assert_int_equal(test_write_file(path, buf, 10), 0);
    expect_bad(path, "100 MB");
    // One more than the bytes that follow.
    memset(buf, 0, 8);
    buf[0] = 3;
    assert_int_equal(test_write_file(path, buf, 10), 0);
    expect_bad(path, "past the end");
    // Zero-length header, and files shorter than 8 bytes.
    buf[0] = 0;
    assert_int_equal(test_write_file(path, buf, 8), 0);
    expect_bad(path, "'{'");
    assert_int_equal(test_write_file(path, buf, 0), 0);
    expect_bad(path, "too short");
    assert_int_equal(test_write_file(path, buf, 7), 0);
    expect_bad(path, "too short");
    // Not a file at all: a folder, a FIFO (must not block), a missing path.
    expect_bad(dir, "not a regular file");
    assert_int_equal(mkfifo(tmp_path("fifo"), 0600), 0);
    expect_bad(tmp_path("fifo"), "not a regular file");
    expect_bad(tmp_path("does-not-exist.safetensors"), NULL);
    // The smallest valid file: "{}" padded, no data.
    expect_good(make_file("min.safetensors", "{}      ", 0));
}

static void test_offsets(void **state) {
    expect_good(make_file("ok.safetensors",
                          "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},"
                          "\"b\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}",
                          8));
    // Header order need not be offset order (the format's reader accepts it too).
    expect_good(make_file("swapped.safetensors",
                          "{\"b\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]},"
                          "\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}",
                          8));
    expect_bad(make_file("outside.safetensors",
                         "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", 4),
               "outside");
    expect_bad(make_file("far.safetensors",
                         "{\"a\":{\"dtype\":\"U8\",\"shape\":[4],"
                         "\"data_offsets\":[18446744073709551612,18446744073709551616]}}",
                         4),
               "data_offsets");
    expect_bad(make_file("overlap.safetensors",
                         "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
                         "\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}",
                         12),
               "overlap");
    expect_bad(make_file("same.safetensors",
                         "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},"
                         "\"b\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}",
                         4),
               "overlap");
    expect_bad(make_file("hole.safetensors",
                         "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},"
                         "\"b\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[8,12]}}",
                         12),
               "hole");
    expect_bad(make_file("start.safetensors",
                         "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}", 8),
               "hole");
    expect_bad(make_file("reversed.safetensors",
                         "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[8,4]}}", 8),
               "reversed");
    expect_bad(make_file("length.safetensors",
                         "{\"a\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,8]}}", 8),
               "12 bytes");
    expect_bad(make_file("three.safetensors",
                         "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4,8]}}", 4),
               "data_offsets");
    expect_bad(make_file("negative.safetensors",
                         "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[-4,0]}}", 4),
               "data_offsets");
    expect_bad(make_file("fraction.safetensors",
                         "{\"a\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,0.5]}}", 1),
               "data_offsets");
    expect_bad(make_file("trailing.safetensors",
                         "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}", 9),
               "after the last tensor");
}

static void test_dtype_and_shape(void **state) {
    expect_bad(make_file("dtype.safetensors",
                         "{\"w\":{\"dtype\":\"F33\",\"shape\":[1],\"data_offsets\":[0,4]}}", 4),
               "unknown dtype 'F33'");
    expect_bad(make_file("dtype2.safetensors",
                         "{\"w\":{\"dtype\":7,\"shape\":[1],\"data_offsets\":[0,4]}}", 4),
               "'w'");
    expect_bad(make_file("overflow.safetensors",
                         "{\"w\":{\"dtype\":\"F32\",\"shape\":[4294967296,4294967296,"
                         "4294967296],\"data_offsets\":[0,4]}}",
                         4),
               "overflow");
    // Each dim fits, the product fits in 64 bits, but times 4 bytes it does not.
    expect_bad(make_file("overflow2.safetensors",
                         "{\"w\":{\"dtype\":\"F32\",\"shape\":[4611686018427387904],"
                         "\"data_offsets\":[0,4]}}",
                         4),
               "shape");
    expect_bad(make_file("negdim.safetensors",
                         "{\"w\":{\"dtype\":\"F32\",\"shape\":[-1],\"data_offsets\":[0,4]}}", 4),
               "shape[0]");
    expect_bad(make_file("strdim.safetensors",
                         "{\"w\":{\"dtype\":\"F32\",\"shape\":[\"1\"],\"data_offsets\":[0,4]}}", 4),
               "shape[0]");
    expect_bad(make_file("manydims.safetensors",
                         "{\"w\":{\"dtype\":\"F32\",\"shape\":[1,1,1,1,1,1,1,1,1],"
                         "\"data_offsets\":[0,4]}}",
                         4),
               "dimensions");
    expect_bad(
        make_file("noshape.safetensors", "{\"w\":{\"dtype\":\"F32\",\"data_offsets\":[0,4]}}", 4),
        "missing shape");
    expect_bad(make_file("extra.safetensors",
                         "{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4],"
                         "\"x\":1}}",
                         4),
               "unexpected key");
    expect_bad(make_file("notobj.safetensors", "{\"w\":[1,2]}", 0), "'w'");
    // A zero-size tensor and a scalar are fine.
    expect_good(make_file("zero.safetensors",
                          "{\"z\":{\"dtype\":\"F32\",\"shape\":[0,5],\"data_offsets\":[0,0]},"
                          "\"s\":{\"dtype\":\"F64\",\"shape\":[],\"data_offsets\":[0,8]}}",
                          8));
}

static void test_names_json_metadata(void **state) {
    expect_bad(make_file("dup.safetensors",
                         "{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},"
                         "\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}",
                         8),
               "twice");
    expect_bad(make_file("utf8.safetensors",
                         "{\"w\xff\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}", 4),
               "w\\xff");
    expect_bad(make_file("overlong.safetensors",
                         "{\"\xc0\xaf\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}",
                         4),
               "UTF-8");
    expect_bad(make_file("surrogate.safetensors",
                         "{\"\xed\xa0\x80\":{\"dtype\":\"F32\",\"shape\":[1],"
                         "\"data_offsets\":[0,4]}}",
                         4),
               "UTF-8");
    expect_bad(make_file("emptyname.safetensors",
                         "{\"\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}", 4),
               "empty");
    expect_bad(make_file("ctrl.safetensors",
                         "{\"a\tb\x01\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}",
                         4),
               "control");
    expect_bad(make_file("json1.safetensors", "{\"w\": ", 0), "JSON");
    expect_bad(make_file("json2.safetensors", "{\"w\":{\"dtype\":\"F32\",}}", 0), "JSON");
    expect_bad(make_file("json3.safetensors", "{} x", 0), "after the JSON");
    expect_bad(make_file("json4.safetensors", "[]", 0), "'{'");
    expect_bad(make_file("json5.safetensors", "{}{}", 0), "after the JSON");
    expect_bad(make_file("meta1.safetensors", "{\"__metadata__\":{\"k\":1}}", 0), "not a string");
    expect_bad(make_file("meta2.safetensors", "{\"__metadata__\":{\"k\":{\"a\":\"b\"}}}", 0),
               "not a string");
    expect_bad(make_file("meta3.safetensors", "{\"__metadata__\":\"text\"}", 0), "__metadata__");
    expect_bad(make_file("meta4.safetensors", "{\"__metadata__\":[\"a\"]}", 0), "__metadata__");
    expect_bad(make_file("meta5.safetensors", "{\"__metadata__\":{\"k\":\"\xfe\"}}", 0), "UTF-8");
    expect_bad(make_file("meta6.safetensors", "{\"__metadata__\":{},\"__metadata__\":{}}", 0),
               "twice");
    expect_bad(make_file("meta7.safetensors", "{\"__metadata__\":{\"k\":\"a\",\"k\":\"b\"}}", 0),
               "twice");
    expect_good(make_file("meta8.safetensors", "{\"__metadata__\":{\"k\":\"\\u00e9\"}}  ", 0));
    // Deep nesting is refused by cJSON's depth limit, without a crash.
    char deep[5000] = "{\"__metadata__\":";
    size_t at = strlen(deep);
    for (int i = 0; i < 2000; i++)
        deep[at++] = '[';
    deep[at] = 0;
    expect_bad(make_file("deep.safetensors", deep, 0), NULL);
}

// ---- the PyPI safetensors package -----------------------------------------------------
static void test_pypi_reads_ours_and_we_read_its(void **state) {
    if (access(VENV_PYTHON, X_OK) != 0) {
        skip(); // created by tools/setup-debian.sh (numpy + safetensors)
        return;
    }
    float w[6] = {0.5f, -1.25f, 3.0f, 1e-3f, -7.0f, 2.0f};
    int32_t i32[2] = {-3, 4};
    int64_t i64[3] = {-1, 0, 1LL << 40};
    uint8_t u8[4] = {1, 2, 250, 0};
    float s = -0.75f;
    lc_st_tensor t[] = {{"enc.0.weight", LC_DTYPE_F32, 2, {2, 3}, w},
                        {"ids", LC_DTYPE_I32, 1, {2}, i32},
                        {"optim/exp_avg/enc.0.weight", LC_DTYPE_I64, 1, {3}, i64},
                        {"mask", LC_DTYPE_U8, 2, {2, 2}, u8},
                        {"temp", LC_DTYPE_F32, 0, {0}, &s},
                        {"none", LC_DTYPE_F32, 1, {0}, NULL}};
    lc_st_meta meta[] = {{"family", "vae"}, {"config", "{\"z\":32}"}, {"step", "7"}};
    const char *ours = tmp_path("ours.safetensors");
    const char *theirs = tmp_path("theirs.safetensors");
    assert_ok(lc_st_write(ours, t, 6, meta, 3));

    const char *script = tmp_path("check.py");
    char code[4096];
    snprintf(code, sizeof code,
             "import numpy as np, sys\n"
             "from safetensors import safe_open\n"
             "from safetensors.numpy import load_file, save_file\n"
             "d = load_file(%s)\n"
             "assert sorted(d) == sorted(['enc.0.weight','ids','optim/exp_avg/enc.0.weight',"
             "'mask','temp','none']), sorted(d)\n"
             "w = np.array([[0.5,-1.25,3.0],[1e-3,-7.0,2.0]], dtype=np.float32)\n"
             "assert d['enc.0.weight'].dtype == np.float32 and (d['enc.0.weight'] == w).all()\n"
             "assert d['ids'].dtype == np.int32 and d['ids'].tolist() == [-3, 4]\n"
             "assert d['optim/exp_avg/enc.0.weight'].tolist() == [-1, 0, 1 << 40]\n"
             "assert d['mask'].dtype == np.uint8 and d['mask'].tolist() == [[1,2],[250,0]]\n"
             "assert d['temp'].shape == () and float(d['temp']) == -0.75\n"
             "assert d['none'].shape == (0,)\n"
             "with safe_open(%s, framework='numpy') as f:\n"
             "    m = f.metadata()\n"
             "assert m == {'family':'vae','config':'{\"z\":32}','step':'7'}, m\n"
             "out = {'a': np.arange(6, dtype=np.float32).reshape(2,3) / 4,\n"
             "       'h': np.array([1.0, -2.5, 65504], dtype=np.float16),\n"
             "       'd': np.array([[0.1, -1e-3]], dtype=np.float64),\n"
             "       'i': np.array([7, -8], dtype=np.int64),\n"
             "       'u': np.array([255], dtype=np.uint8),\n"
             "       'b': np.array([True, False], dtype=np.bool_)}\n"
             "save_file(out, %s, metadata={'family': 'numpy', 'note': '\\u00e9'})\n",
             "sys.argv[1]", "sys.argv[1]", "sys.argv[2]");
    assert_int_equal(test_write_file(script, code, strlen(code)), 0);
    assert_int_equal(test_system("'%s' '%s' '%s' '%s'", VENV_PYTHON, script, ours, theirs), 0);

    lc_st_file *f = NULL;
    assert_ok(lc_st_open(&f, theirs));
    assert_int_equal(lc_st_count(f), 6);
    assert_string_equal(lc_st_meta_get(f, "family"), "numpy");
    assert_string_equal(lc_st_meta_get(f, "note"), "\xc3\xa9");
    float a[6], h[3], d[2], i[2], u[1], b[2];
    assert_ok(lc_st_read_f32(f, "a", 2, (int64_t[]){2, 3}, a, 6));
    for (int k = 0; k < 6; k++)
        assert_true(a[k] == (float)k / 4);
    assert_int_equal(lc_st_find(f, "h")->dtype, LC_DTYPE_F16);
    assert_ok(lc_st_read_f32(f, "h", 1, (int64_t[]){3}, h, 3));
    assert_true(h[0] == 1.0f && h[1] == -2.5f && h[2] == 65504.0f);
    assert_ok(lc_st_read_f32(f, "d", 2, (int64_t[]){1, 2}, d, 2));
    assert_true(d[0] == 0.1f && d[1] == -1e-3f);
    assert_ok(lc_st_read_f32(f, "i", 1, NULL, i, 2));
    assert_true(i[0] == 7.0f && i[1] == -8.0f);
    assert_ok(lc_st_read_f32(f, "u", 1, NULL, u, 1));
    assert_true(u[0] == 255.0f);
    assert_int_equal(lc_st_find(f, "b")->dtype, LC_DTYPE_BOOL);
    assert_ok(lc_st_read_f32(f, "b", 1, NULL, b, 2));
    assert_true(b[0] == 1.0f && b[1] == 0.0f);
    lc_st_close(f);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip_every_dtype),
        cmocka_unit_test(test_empty_file_round_trip),
        cmocka_unit_test(test_builder_and_names),
        cmocka_unit_test(test_writer_refuses_bad_input),
        cmocka_unit_test(test_atomic_replace),
        cmocka_unit_test(test_conversions),
        cmocka_unit_test(test_truncated_at_every_byte),
        cmocka_unit_test(test_header_length),
        cmocka_unit_test(test_offsets),
        cmocka_unit_test(test_dtype_and_shape),
        cmocka_unit_test(test_names_json_metadata),
        cmocka_unit_test(test_pypi_reads_ours_and_we_read_its),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
