// PNG in/out, grids and the bitmap font; corrupt PNGs must be errors, never crashes.
#include <dirent.h>
#include <png.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "latentcl/image.h"
#include "test_util.h"

static char *join(const char *dir, const char *name) {
    size_t n = strlen(dir) + strlen(name) + 2;
    char *p = malloc(n);
    snprintf(p, n, "%s/%s", dir, name);
    return p;
}

static int count_files(const char *dir) {
    DIR *d = opendir(dir);
    int n = 0;
    for (struct dirent *e; d && (e = readdir(d));)
        if (e->d_name[0] != '.') n++;
    if (d) closedir(d);
    return n;
}

static lc_image make_image(int w, int h, int c) {
    lc_image img = {w, h, c, malloc((size_t)w * h * c)};
    for (int i = 0; i < w * h * c; i++)
        img.pixels[i] = (uint8_t)(i * 37 + i / 7);
    return img;
}

static void test_round_trip_gray_and_rgb(void **state) {
    char *dir = test_tmpdir();
    for (int c = 1; c <= 3; c += 2) {
        lc_image img = make_image(23, 17, c), back;
        char *p = join(dir, c == 1 ? "gray.png" : "rgb.png");
        assert_ok(lc_png_write(p, &img));
        assert_ok(lc_png_read(&back, p));
        assert_int_equal(back.width, 23);
        assert_int_equal(back.height, 17);
        assert_int_equal(back.channels, c);
        assert_memory_equal(back.pixels, img.pixels, 23 * 17 * c);
        lc_image_free(&back);
        assert_null(back.pixels);
        lc_image_free(&img);
        free(p);
    }
    assert_int_equal(count_files(dir), 2); // no temporary files left behind
    test_rmtree(dir);
    free(dir);
}

static void test_write_errors(void **state) {
    char *dir = test_tmpdir();
    lc_image img = make_image(4, 4, 3);
    char *p = join(dir, "missing/sub/x.png");
    assert_int_equal(lc_png_write(p, &img), LC_ERR_IO);
    assert_non_null(strstr(lc_last_error(), "missing/sub/x.png"));
    lc_image bad = {4, 4, 2, img.pixels};
    char *q = join(dir, "two.png");
    assert_int_equal(lc_png_write(q, &bad), LC_ERR_INVALID_ARG);
    assert_int_equal(count_files(dir), 0);
    lc_image_free(&img);
    free(p);
    free(q);
    test_rmtree(dir);
    free(dir);
}

// Writes a PNG of any colour type / depth / interlace through libpng directly.
static void write_png_raw(const char *path, int w, int h, int color, int depth, int interlace,
                          const uint8_t *rows_data, size_t rowbytes, const png_color *palette,
                          int npalette) {
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
    png_infop info = png_create_info_struct(png);
    png_init_io(png, f);
    png_set_IHDR(png, info, w, h, depth, color, interlace, PNG_COMPRESSION_TYPE_DEFAULT,
                 PNG_FILTER_TYPE_DEFAULT);
    if (palette) png_set_PLTE(png, info, palette, npalette);
    png_write_info(png, info);
    if (depth == 16) png_set_swap(png); // rows_data holds host-order (little-endian) shorts
    png_bytep *rows = malloc(sizeof(png_bytep) * h);
    for (int y = 0; y < h; y++)
        rows[y] = (png_bytep)rows_data + (size_t)y * rowbytes;
    png_write_image(png, rows);
    png_write_end(png, NULL);
    png_destroy_write_struct(&png, &info);
    free(rows);
    fclose(f);
}

static void test_read_formats(void **state) {
    char *dir = test_tmpdir();
    char *p = join(dir, "f.png");
    lc_image img;
    // 16-bit gray, interlaced: 0x1234 -> 0x12 after stripping.
    uint16_t g16[6 * 5];
    for (int i = 0; i < 30; i++)
        g16[i] = (uint16_t)((i * 8) << 8 | 0x34);
    write_png_raw(p, 6, 5, PNG_COLOR_TYPE_GRAY, 16, PNG_INTERLACE_ADAM7, (uint8_t *)g16, 12, NULL,
                  0);
    assert_ok(lc_png_read(&img, p));
    assert_int_equal(img.channels, 1);
    for (int i = 0; i < 30; i++)
        assert_int_equal(img.pixels[i], i * 8);
    lc_image_free(&img);
    // RGBA: alpha composited on black.
    uint8_t rgba[2 * 4] = {200, 100, 50, 255, 200, 100, 50, 0};
    write_png_raw(p, 2, 1, PNG_COLOR_TYPE_RGB_ALPHA, 8, PNG_INTERLACE_NONE, rgba, 8, NULL, 0);
    assert_ok(lc_png_read(&img, p));
    assert_int_equal(img.channels, 3);
    uint8_t want[6] = {200, 100, 50, 0, 0, 0};
    assert_memory_equal(img.pixels, want, 6);
    lc_image_free(&img);
    // Palette, 4-bit.
    png_color pal[3] = {{255, 0, 0}, {0, 255, 0}, {0, 0, 255}};
    uint8_t idx[1] = {0x12}; // pixels 1, 2
    write_png_raw(p, 2, 1, PNG_COLOR_TYPE_PALETTE, 4, PNG_INTERLACE_NONE, idx, 1, pal, 3);
    assert_ok(lc_png_read(&img, p));
    assert_int_equal(img.channels, 3);
    uint8_t want_pal[6] = {0, 255, 0, 0, 0, 255};
    assert_memory_equal(img.pixels, want_pal, 6);
    lc_image_free(&img);
    // Gray + alpha stays gray, composited on black.
    uint8_t ga[4] = {200, 255, 200, 0};
    write_png_raw(p, 2, 1, PNG_COLOR_TYPE_GRAY_ALPHA, 8, PNG_INTERLACE_NONE, ga, 4, NULL, 0);
    assert_ok(lc_png_read(&img, p));
    assert_int_equal(img.channels, 1);
    assert_int_equal(img.pixels[0], 200);
    assert_int_equal(img.pixels[1], 0);
    lc_image_free(&img);
    // 1-bit gray.
    uint8_t bits[1] = {0xA0}; // 1,0,1
    write_png_raw(p, 3, 1, PNG_COLOR_TYPE_GRAY, 1, PNG_INTERLACE_NONE, bits, 1, NULL, 0);
    assert_ok(lc_png_read(&img, p));
    assert_int_equal(img.channels, 1);
    uint8_t want_bits[3] = {255, 0, 255};
    assert_memory_equal(img.pixels, want_bits, 3);
    lc_image_free(&img);
    free(p);
    test_rmtree(dir);
    free(dir);
}

static void expect_corrupt(const char *path, const uint8_t *data, size_t n) {
    assert_int_equal(test_write_file(path, data, n), 0);
    lc_image img = {1, 1, 1, (uint8_t *)1};
    lc_status s = lc_png_read(&img, path);
    if (s == LC_OK) fail_msg("a corrupt PNG of %zu bytes was accepted", n);
    assert_null(img.pixels);
    assert_true(strstr(lc_last_error(), path) != NULL);
}

// A valid w x h RGB PNG, written in a fresh folder and read back: its n bytes, and a path
// beside it (bad) for the damaged copies a test writes.
typedef struct {
    char *dir, *bad;
    uint8_t *bytes;
    size_t n;
} png_bytes;

static png_bytes valid_png(int w, int h) {
    png_bytes v = {.dir = test_tmpdir()};
    assert_non_null(v.dir);
    char *ok = join(v.dir, "ok.png");
    v.bad = join(v.dir, "bad.png");
    lc_image img = make_image(w, h, 3);
    assert_ok(lc_png_write(ok, &img));
    v.bytes = test_read_file(ok, &v.n);
    assert_non_null(v.bytes);
    lc_image_free(&img);
    free(ok);
    return v;
}

static void free_png_bytes(png_bytes *v) {
    free(v->bytes);
    free(v->bad);
    test_rmtree(v->dir);
    free(v->dir);
}

static void test_truncated_everywhere(void **state) {
    png_bytes v = valid_png(19, 11);
    assert_true(v.n > 100);
    // Every prefix short of the IEND chunk (whose loss libpng may forgive) must fail.
    for (size_t cut = 0; cut + 12 < v.n; cut++)
        expect_corrupt(v.bad, v.bytes, cut);
    free_png_bytes(&v);
}

// Rewrites the CRC of the chunk starting at `at` (length, type, data, crc).
static void fix_crc(uint8_t *b, size_t at) {
    uint32_t len = (uint32_t)b[at] << 24 | b[at + 1] << 16 | b[at + 2] << 8 | b[at + 3];
    uint32_t crc = (uint32_t)crc32(0, b + at + 4, 4 + len);
    uint8_t *c = b + at + 8 + len;
    c[0] = crc >> 24, c[1] = crc >> 16, c[2] = crc >> 8, c[3] = crc;
}

static void put_u32(uint8_t *b, uint32_t v) {
    b[0] = v >> 24, b[1] = v >> 16, b[2] = v >> 8, b[3] = v;
}

static void test_bad_crc_and_dimensions(void **state) {
    png_bytes v = valid_png(8, 8);
    const char *q = v.bad;
    const uint8_t *orig = v.bytes;
    size_t n = v.n;
    uint8_t *b = malloc(n);
    // IHDR is at byte 8: length(4) "IHDR"(4) width(4) height(4) ...
    memcpy(b, orig, n);
    b[16 + 3] ^= 1; // width changed, CRC now wrong
    expect_corrupt(q, b, n);
    memcpy(b, orig, n);
    b[n - 20] ^= 0xFF; // inside IDAT data (the last chunk before IEND), CRC wrong
    expect_corrupt(q, b, n);
    uint32_t dims[][2] = {{0, 8}, {8, 0}, {100000, 8}, {8, 0x7FFFFFFF}, {16000, 16000}};
    for (size_t i = 0; i < sizeof dims / sizeof dims[0]; i++) {
        memcpy(b, orig, n);
        put_u32(b + 16, dims[i][0]);
        put_u32(b + 20, dims[i][1]);
        fix_crc(b, 8);
        expect_corrupt(q, b, n);
    }
    // Not a PNG at all, and a missing file.
    expect_corrupt(q, (const uint8_t *)"hello, world", 12);
    lc_image none;
    assert_int_equal(lc_png_read(&none, "/nonexistent/x.png"), LC_ERR_IO);
    free(b);
    free_png_bytes(&v);
}

// Random byte changes anywhere in a valid PNG: each read returns a status and never crashes
// (ASan/valgrind watch the memory); almost all must fail thanks to the CRCs.
static void test_random_mutations(void **state) {
    png_bytes v = valid_png(16, 9);
    const char *q = v.bad;
    const uint8_t *orig = v.bytes;
    size_t n = v.n;
    uint8_t *b = malloc(n);
    uint32_t rng = 12345;
    int accepted = 0;
    for (int trial = 0; trial < 400; trial++) {
        memcpy(b, orig, n);
        for (int k = 0; k <= trial % 4; k++) {
            rng = rng * 1664525u + 1013904223u;
            size_t at = 8 + (rng >> 8) % (n - 8); // keep the signature
            rng = rng * 1664525u + 1013904223u;
            b[at] ^= (uint8_t)(1 + (rng >> 24) % 255);
        }
        assert_int_equal(test_write_file(q, b, n), 0);
        lc_image back;
        if (lc_png_read(&back, q) == LC_OK) {
            accepted++; // e.g. a change inside the IEND CRC, which libpng may not read
            lc_image_free(&back);
        } else {
            assert_null(back.pixels);
        }
    }
    assert_true(accepted < 40);
    free(b);
    free_png_bytes(&v);
}

static void test_font(void **state) {
    assert_int_equal(lc_text_width("", 1), 0);
    assert_int_equal(lc_text_width("A", 1), 5);
    assert_int_equal(lc_text_width("AB", 2), 22);
    lc_image img = {12, 9, 1, calloc(12 * 9, 1)};
    uint8_t white[3] = {255, 255, 255};
    lc_image_draw_text(&img, 1, 1, "|", white, 1); // a vertical bar in column 2 of the glyph
    for (int y = 0; y < 9; y++)
        for (int x = 0; x < 12; x++)
            assert_int_equal(img.pixels[y * 12 + x], (x == 3 && y >= 1 && y <= 7) ? 255 : 0);
    // Clipped at every edge, no out-of-bounds writes (ASan checks).
    lc_image_draw_text(&img, -20, -3, "clip me \x01\xff", white, 3);
    lc_image_draw_text(&img, 10, 7, "Wide", white, 2);
    lc_image_free(&img);
}

static void test_grid(void **state) {
    enum { N = 5, C = 3, H = 4, W = 3 };
    float x[N * C * H * W];
    for (int i = 0; i < N * C * H * W; i++)
        x[i] = (float)(i % 7) / 6.0f;
    x[0] = -1.0f, x[1] = 2.0f;
    lc_image g;
    assert_ok(lc_grid_image(&g, x, N, C, H, W, 0, 2, NULL));
    // 3 columns (ceil sqrt 5), 2 rows; cells 6x8 with 2-pixel padding.
    assert_int_equal(g.width, 2 + 3 * (6 + 2));
    assert_int_equal(g.height, 2 + 2 * (8 + 2));
    assert_int_equal(g.channels, 3);
    // Image 4 (row 1, col 1), channel 2, source pixel (y=3, x=2) -> cell pixel (7, 5).
    int gx = 2 + 1 * 8 + 5, gy = 2 + 1 * 10 + 7;
    float v = x[4 * C * H * W + 2 * H * W + 3 * W + 2];
    assert_int_equal(g.pixels[(gy * g.width + gx) * 3 + 2], (int)(v * 255 + 0.5f));
    assert_int_equal(g.pixels[(2 * g.width + 2) * 3 + 0], 0);   // clamped -1
    assert_int_equal(g.pixels[(2 * g.width + 4) * 3 + 0], 255); // clamped 2 (x=1 upscaled)
    assert_int_equal(g.pixels[0], 64);                          // padding: dark gray
    lc_image_free(&g);
    const char *labels[N] = {"0", "1", "two", "3", NULL};
    assert_ok(lc_grid_image(&g, x, N, C, H, W, 2, 4, labels));
    assert_int_equal(g.width, 2 + 2 * (12 + 2));
    assert_int_equal(g.height, 2 + 3 * (16 + 9 + 2));
    int lit = 0; // label strip of cell 0 has white pixels
    for (int y = 2 + 16; y < 2 + 16 + 9; y++)
        for (int xx = 2; xx < 14; xx++)
            lit += g.pixels[(y * g.width + xx) * 3] == 255;
    assert_true(lit > 3);
    lc_image_free(&g);
    assert_int_equal(lc_grid_image(&g, x, 0, C, H, W, 0, 1, NULL), LC_ERR_INVALID_ARG);
    assert_int_equal(lc_grid_image(&g, x, N, 2, H, W, 0, 1, NULL), LC_ERR_INVALID_ARG);
    assert_int_equal(lc_grid_image(&g, x, N, C, H, W, 0, 100000, NULL), LC_ERR_INVALID_ARG);
    char *dir = test_tmpdir();
    char *p = join(dir, "grid.png");
    assert_ok(lc_grid_write(p, x, N, C, H, W, 0, 1, labels));
    lc_image back;
    assert_ok(lc_png_read(&back, p));
    assert_int_equal(back.channels, 3);
    lc_image_free(&back);
    free(p);
    test_rmtree(dir);
    free(dir);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip_gray_and_rgb),
        cmocka_unit_test(test_write_errors),
        cmocka_unit_test(test_read_formats),
        cmocka_unit_test(test_truncated_everywhere),
        cmocka_unit_test(test_bad_crc_and_dimensions),
        cmocka_unit_test(test_random_mutations),
        cmocka_unit_test(test_font),
        cmocka_unit_test(test_grid),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
