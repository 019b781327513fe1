// latentcl — PNG images in and out (libpng), and picture grids.
#ifndef LATENTCL_IMAGE_H
#define LATENTCL_IMAGE_H

#include <stddef.h>
#include <stdint.h>

#include "latentcl/status.h"

#ifdef __cplusplus
extern "C" {
#endif

// An 8-bit image, rows top to bottom, channels interleaved (HWC); 1 = gray, 3 = RGB.
typedef struct {
    int width, height, channels;
    uint8_t *pixels; // width * height * channels bytes, owned (lc_image_free)
} lc_image;

// Read any PNG (8/16-bit, gray/RGB/RGBA/palette, interlaced): gray stays 1 channel,
// everything else becomes RGB (alpha composited on black). A corrupt file is an error.
lc_status lc_png_read(lc_image *out, const char *path);

// Write an 8-bit gray or RGB PNG atomically (temp file in the same folder, fsync, rename).
lc_status lc_png_write(const char *path, const lc_image *img);

void lc_image_free(lc_image *img);

// A grid of n float images (n, channels, height, width), values in [0, 1] (clamped),
// `cols` per row (0: about square), 2-pixel padding, each cell upscaled by `scale`
// (>= 1) and, if labels != NULL, labels[i] drawn under cell i in a tiny bitmap font.
lc_status lc_grid_image(lc_image *out, const float *images, int n, int channels, int height,
                        int width, int cols, int scale, const char *const *labels);

// lc_grid_image then lc_png_write.
lc_status lc_grid_write(const char *path, const float *images, int n, int channels, int height,
                        int width, int cols, int scale, const char *const *labels);

// Text in the built-in 5x7 bitmap font (printable ASCII), top-left at (x, y),
// each font pixel drawn as scale x scale; colour rgb (gray images use rgb[0]).
void lc_image_draw_text(lc_image *img, int x, int y, const char *text, const uint8_t rgb[3],
                        int scale);
// Width in pixels of text drawn at this scale.
int lc_text_width(const char *text, int scale);

#ifdef __cplusplus
}
#endif
#endif
