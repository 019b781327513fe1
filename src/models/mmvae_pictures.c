// Captioned picture grids for the multimodal VAE (captions under generated or captioned
// images): each image drawn 4x, its caption wrapped into up to three lines below it.
#include <stdlib.h>
#include <string.h>

#include "latentcl/image.h"
#include "latentcl/mmvae.h"

enum { SCALE = 4, PAD = 4, LINES = 3, LINE_H = 9, CHAR_W = 6 };

static uint8_t to_byte(float v) {
    if (!(v > 0.0f)) return 0; // NaN too
    if (v >= 1.0f) return 255;
    return (uint8_t)(v * 255.0f + 0.5f);
}

// Wraps text into lines of at most `fit` characters at word boundaries (a longer word is cut).
static int wrap(char lines[LINES][128], const char *text, int fit) {
    int n = 0;
    const char *p = text;
    while (*p && n < LINES) {
        while (*p == ' ')
            p++;
        if (!*p) break;
        int len = (int)strlen(p), take = len <= fit ? len : fit;
        if (len > fit) {
            int cut = take;
            while (cut > 0 && p[cut] != ' ')
                cut--;
            if (cut > 0) take = cut;
        }
        if (take > 127) take = 127;
        memcpy(lines[n], p, (size_t)take);
        lines[n][take] = 0;
        n++;
        p += take;
    }
    return n;
}

lc_status lc_mmvae_write_captioned(const char *path, const float *images, char *const *captions,
                                   int n, int channels, int height, int width, int cols) {
    if (n < 1 || (channels != 1 && channels != 3) || height < 1 || width < 1 || height > 1024 ||
        width > 1024)
        return lc_fail(LC_ERR_INVALID_ARG, "captioned grid: bad shape n=%d %dx%dx%d", n, channels,
                       height, width);
    if (cols < 1) cols = 4;
    if (cols > n) cols = n;
    int rows = (n + cols - 1) / cols;
    int cell_w = width * SCALE, cell_h = height * SCALE + LINES * LINE_H + 2;
    lc_image img = {PAD + cols * (cell_w + PAD), PAD + rows * (cell_h + PAD), channels, NULL};
    if ((int64_t)img.width * img.height > 1 << 26)
        return lc_fail(LC_ERR_INVALID_ARG, "captioned grid of %d images is too large", n);
    img.pixels = calloc((size_t)img.width * (size_t)img.height * (size_t)channels, 1);
    if (!img.pixels) return lc_fail(LC_ERR_NOMEM, "out of memory");
    size_t plane = (size_t)height * (size_t)width;
    static const uint8_t white[3] = {255, 255, 255};
    for (int i = 0; i < n; i++) {
        const float *src = images + (size_t)i * (size_t)channels * plane; // (C, H, W)
        int x0 = PAD + (i % cols) * (cell_w + PAD), y0 = PAD + (i / cols) * (cell_h + PAD);
        for (int y = 0; y < height * SCALE; y++)
            for (int x = 0; x < cell_w; x++)
                for (int c = 0; c < channels; c++)
                    img.pixels[((size_t)(y0 + y) * (size_t)img.width + (size_t)(x0 + x)) *
                                   (size_t)channels +
                               (size_t)c] =
                        to_byte(src[(size_t)c * plane + (size_t)(y / SCALE) * (size_t)width +
                                    (size_t)(x / SCALE)]);
        if (!captions || !captions[i]) continue;
        char lines[LINES][128];
        int k = wrap(lines, captions[i], cell_w / CHAR_W);
        for (int l = 0; l < k; l++)
            lc_image_draw_text(&img, x0, y0 + height * SCALE + 2 + l * LINE_H, lines[l], white, 1);
    }
    lc_status s = lc_png_write(path, &img);
    lc_image_free(&img);
    return s;
}
