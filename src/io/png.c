// PNG in and out through libpng. libpng reports errors by longjmp to the
// setjmp point, so every buffer that must be freed after an error is allocated
// before setjmp or kept in a volatile pointer.
#include "latentcl/image.h"

#include <errno.h>
#include <png.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "io/atomic_file.h"
#include "io/png_direct.h"

// Larger images than this are refused as hostile (a 16k x 16k RGB image is 768 MB).
enum { PNG_MAX_SIDE = 16384 };
#define PNG_MAX_BYTES ((size_t)1 << 28)

typedef struct {
    char message[256];
} png_error_box;

static void on_png_error(png_structp png, png_const_charp msg) {
    png_error_box *box = png_get_error_ptr(png);
    if (box) snprintf(box->message, sizeof box->message, "%s", msg);
    png_longjmp(png, 1);
}

static void on_png_warning(png_structp png, png_const_charp msg) { (void)png, (void)msg; }

void lc_image_free(lc_image *img) {
    if (!img) return;
    free(img->pixels);
    memset(img, 0, sizeof *img);
}

// Decodes after the header: every format to 8-bit gray or 8-bit RGB.
static lc_status png_decode(lc_image *out, png_structp png, png_infop info, const char *path,
                            png_error_box *box, uint8_t *volatile *pixels_out,
                            png_bytep *volatile *rows_out) {
    if (setjmp(png_jmpbuf(png)))
        return lc_fail(LC_ERR_FORMAT, "%s: not a valid PNG: %s", path, box->message);
    png_read_info(png, info);
    png_uint_32 width = png_get_image_width(png, info), height = png_get_image_height(png, info);
    int color = png_get_color_type(png, info), depth = png_get_bit_depth(png, info);
    if (width == 0 || height == 0 || width > PNG_MAX_SIDE || height > PNG_MAX_SIDE)
        return lc_fail(LC_ERR_FORMAT, "%s: image size %ux%u is out of range (1..%d)", path,
                       (unsigned)width, (unsigned)height, PNG_MAX_SIDE);
    if (depth == 16) png_set_strip_16(png);
    if (color == PNG_COLOR_TYPE_PALETTE) png_set_palette_to_rgb(png);
    if (color == PNG_COLOR_TYPE_GRAY && depth < 8) png_set_expand_gray_1_2_4_to_8(png);
    int gray = !(color & PNG_COLOR_MASK_COLOR);
    int has_trns = png_get_valid(png, info, PNG_INFO_tRNS) != 0;
    if (has_trns) png_set_tRNS_to_alpha(png);
    if ((color & PNG_COLOR_MASK_ALPHA) || has_trns) {
        // Composite alpha on black (background 0 in any format, so no gamma question).
        png_color_16 black = {0};
        png_set_background(png, &black, PNG_BACKGROUND_GAMMA_SCREEN, 0, 1.0);
    }
    png_set_interlace_handling(png);
    png_read_update_info(png, info);
    int channels = gray ? 1 : 3;
    size_t rowbytes = png_get_rowbytes(png, info);
    if (rowbytes != (size_t)width * (size_t)channels)
        return lc_fail(LC_ERR_FORMAT, "%s: unexpected decoded row size %zu", path, rowbytes);
    size_t total = rowbytes * height;
    if (total > PNG_MAX_BYTES)
        return lc_fail(LC_ERR_FORMAT, "%s: image %ux%u is too large", path, (unsigned)width,
                       (unsigned)height);
    *pixels_out = malloc(total);
    *rows_out = malloc(sizeof(png_bytep) * height);
    if (!*pixels_out || !*rows_out) return lc_fail(LC_ERR_NOMEM, "%s: out of memory", path);
    for (png_uint_32 y = 0; y < height; y++)
        (*rows_out)[y] = *pixels_out + (size_t)y * rowbytes;
    png_read_image(png, *rows_out);
    png_read_end(png, NULL);
    out->width = (int)width;
    out->height = (int)height;
    out->channels = channels;
    return LC_OK;
}

lc_status lc_png_read(lc_image *out, const char *path) {
    if (!out || !path) return lc_fail(LC_ERR_INVALID_ARG, "lc_png_read: NULL argument");
    memset(out, 0, sizeof *out);
    FILE *f = fopen(path, "rb");
    if (!f) return lc_fail(LC_ERR_IO, "%s: %s", path, strerror(errno));
    uint8_t sig[8];
    if (fread(sig, 1, 8, f) != 8 || png_sig_cmp(sig, 0, 8)) {
        fclose(f);
        return lc_fail(LC_ERR_FORMAT, "%s: not a PNG file (bad signature)", path);
    }
    png_error_box box = {{0}};
    png_structp png =
        png_create_read_struct(PNG_LIBPNG_VER_STRING, &box, on_png_error, on_png_warning);
    png_infop info = png ? png_create_info_struct(png) : NULL;
    if (!png || !info) {
        png_destroy_read_struct(png ? &png : NULL, NULL, NULL);
        fclose(f);
        return lc_fail(LC_ERR_NOMEM, "%s: cannot create libpng reader", path);
    }
    png_set_user_limits(png, PNG_MAX_SIDE, PNG_MAX_SIDE);
    png_set_chunk_malloc_max(png, 8u << 20);
    png_init_io(png, f);
    png_set_sig_bytes(png, 8);
    uint8_t *volatile pixels = NULL;
    png_bytep *volatile rows = NULL;
    lc_status s = png_decode(out, png, info, path, &box, &pixels, &rows);
    png_destroy_read_struct(&png, &info, NULL);
    fclose(f);
    free(rows);
    if (s != LC_OK) {
        free(pixels);
        memset(out, 0, sizeof *out);
        return s;
    }
    out->pixels = pixels;
    return LC_OK;
}

static lc_status png_encode(FILE *f, const lc_image *img, const char *path, png_error_box *box,
                            png_bytep *rows) {
    png_structp png =
        png_create_write_struct(PNG_LIBPNG_VER_STRING, box, on_png_error, on_png_warning);
    png_infop info = png ? png_create_info_struct(png) : NULL;
    if (!png || !info) {
        png_destroy_write_struct(png ? &png : NULL, NULL);
        return lc_fail(LC_ERR_NOMEM, "%s: cannot create libpng writer", path);
    }
    if (setjmp(png_jmpbuf(png))) {
        png_destroy_write_struct(&png, &info);
        return lc_fail(LC_ERR_IO, "%s: writing PNG failed: %s", path, box->message);
    }
    png_init_io(png, f);
    png_set_IHDR(png, info, (png_uint_32)img->width, (png_uint_32)img->height, 8,
                 img->channels == 1 ? PNG_COLOR_TYPE_GRAY : PNG_COLOR_TYPE_RGB, PNG_INTERLACE_NONE,
                 PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    png_write_info(png, info);
    png_write_image(png, rows);
    png_write_end(png, NULL);
    png_destroy_write_struct(&png, &info);
    return LC_OK;
}

// Checks the image and points rows at its pixel rows (caller frees *rows).
static lc_status png_rows(png_bytep **rows, const char *path, const lc_image *img) {
    *rows = NULL;
    if (!path || !img || !img->pixels)
        return lc_fail(LC_ERR_INVALID_ARG, "lc_png_write: NULL argument");
    if (img->width <= 0 || img->height <= 0 || img->width > PNG_MAX_SIDE ||
        img->height > PNG_MAX_SIDE || (img->channels != 1 && img->channels != 3))
        return lc_fail(LC_ERR_INVALID_ARG, "%s: cannot write a %dx%d image with %d channels", path,
                       img->width, img->height, img->channels);
    size_t rowbytes = (size_t)img->width * (size_t)img->channels;
    *rows = malloc(sizeof(png_bytep) * (size_t)img->height);
    if (!*rows) return lc_fail(LC_ERR_NOMEM, "%s: out of memory", path);
    for (int y = 0; y < img->height; y++)
        (*rows)[y] = img->pixels + (size_t)y * rowbytes;
    return LC_OK;
}

lc_status lc_png_write(const char *path, const lc_image *img) {
    png_bytep *rows;
    lc_status s = png_rows(&rows, path, img);
    if (s != LC_OK) return s;
    lc_atomic_file af;
    s = lc_atomic_open(&af, path);
    if (s == LC_OK) {
        png_error_box box = {{0}};
        s = png_encode(af.file, img, path, &box, rows);
        s = s == LC_OK ? lc_atomic_commit(&af) : (lc_atomic_abort(&af), s);
    }
    free(rows);
    return s;
}

lc_status lc_png_write_direct(const char *path, const lc_image *img) {
    png_bytep *rows;
    lc_status s = png_rows(&rows, path, img);
    if (s != LC_OK) return s;
    FILE *f = fopen(path, "wb");
    if (!f) s = lc_fail(LC_ERR_IO, "%s: %s", path, strerror(errno));
    if (s == LC_OK) {
        png_error_box box = {{0}};
        s = png_encode(f, img, path, &box, rows);
        if (fclose(f) != 0 && s == LC_OK) s = lc_fail(LC_ERR_IO, "%s: %s", path, strerror(errno));
        if (s != LC_OK) unlink(path);
    }
    free(rows);
    return s;
}
