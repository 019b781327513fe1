// Picture grids: n float images (n, C, H, W) in [0, 1] laid out in rows with
// padding, upscaled by an integer factor, with optional labels under the cells.
#include "latentcl/image.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

enum { GRID_PAD = 2, LABEL_H = 7 + 2 }; // font height + a gap above the text
// Padding and label strips are dark gray, so cells with black backgrounds stay apart.
enum { GRID_BACKGROUND = 64 };
#define GRID_MAX_SIDE 16384

static uint8_t to_byte(float v) {
    if (!(v > 0.0f)) return 0; // NaN and negatives
    if (v >= 1.0f) return 255;
    return (uint8_t)(v * 255.0f + 0.5f);
}

lc_status lc_grid_image(lc_image *out, const float *images, int n, int channels, int height,
                        int width, int cols, int scale, const char *const *labels) {
    if (!out || !images) return lc_fail(LC_ERR_INVALID_ARG, "lc_grid_image: NULL argument");
    memset(out, 0, sizeof *out);
    if (n < 1 || (channels != 1 && channels != 3) || height < 1 || width < 1 || scale < 1 ||
        cols < 0)
        return lc_fail(LC_ERR_INVALID_ARG,
                       "lc_grid_image: bad grid n=%d channels=%d %dx%d cols=%d scale=%d", n,
                       channels, height, width, cols, scale);
    if (cols == 0) cols = (int)ceil(sqrt((double)n));
    if (cols > n) cols = n;
    int rows = (n + cols - 1) / cols;
    int64_t cell_w = (int64_t)width * scale, cell_h = (int64_t)height * scale;
    int64_t label_h = labels ? LABEL_H : 0;
    int64_t img_w = GRID_PAD + cols * (cell_w + GRID_PAD);
    int64_t img_h = GRID_PAD + rows * (cell_h + label_h + GRID_PAD);
    if (img_w > GRID_MAX_SIDE || img_h > GRID_MAX_SIDE)
        return lc_fail(LC_ERR_INVALID_ARG, "lc_grid_image: grid of %lldx%lld pixels is too large",
                       (long long)img_w, (long long)img_h);
    out->width = (int)img_w;
    out->height = (int)img_h;
    out->channels = channels;
    size_t bytes = (size_t)img_w * (size_t)img_h * (size_t)channels;
    out->pixels = malloc(bytes);
    if (out->pixels) memset(out->pixels, GRID_BACKGROUND, bytes);
    if (!out->pixels) {
        memset(out, 0, sizeof *out);
        return lc_fail(LC_ERR_NOMEM, "lc_grid_image: out of memory");
    }
    size_t plane = (size_t)height * (size_t)width;
    for (int i = 0; i < n; i++) {
        const float *src = images + (size_t)i * channels * plane; // (C, H, W)
        int64_t x0 = GRID_PAD + (i % cols) * (cell_w + GRID_PAD);
        int64_t y0 = GRID_PAD + (i / cols) * (cell_h + label_h + GRID_PAD);
        for (int64_t y = 0; y < cell_h; y++) {
            uint8_t *row = out->pixels + ((size_t)(y0 + y) * out->width + x0) * channels;
            size_t sy = (size_t)(y / scale);
            for (int64_t x = 0; x < cell_w; x++) {
                size_t sx = (size_t)(x / scale);
                for (int c = 0; c < channels; c++)
                    row[x * channels + c] = to_byte(src[c * plane + sy * width + sx]);
            }
        }
        if (labels && labels[i] && labels[i][0]) {
            // Cut the label to the cell's width so neighbours stay readable.
            char text[256];
            size_t fit = (size_t)((cell_w + 1) / 6);
            size_t len = strlen(labels[i]);
            if (len > fit) len = fit;
            if (len > sizeof text - 1) len = sizeof text - 1;
            memcpy(text, labels[i], len);
            text[len] = '\0';
            int tx = (int)(x0 + (cell_w - lc_text_width(text, 1)) / 2);
            static const uint8_t white[3] = {255, 255, 255};
            lc_image_draw_text(out, tx, (int)(y0 + cell_h + 2), text, white, 1);
        }
    }
    return LC_OK;
}

lc_status lc_grid_write(const char *path, const float *images, int n, int channels, int height,
                        int width, int cols, int scale, const char *const *labels) {
    lc_image img;
    lc_status s = lc_grid_image(&img, images, n, channels, height, width, cols, scale, labels);
    if (s != LC_OK) return s;
    s = lc_png_write(path, &img);
    lc_image_free(&img);
    return s;
}
