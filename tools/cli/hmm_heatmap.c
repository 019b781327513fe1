// Heat maps of HMM tables (transmat, emissionprob) as PNG: one square per entry,
// white (0) to dark blue (1), the value printed in cells when it fits, rows and
// columns labelled.
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd_hmm.h"
#include "latentcl/image.h"

static void fill_rect(lc_image *img, int x0, int y0, int w, int h, const uint8_t rgb[3]) {
    for (int y = y0; y < y0 + h && y < img->height; y++)
        for (int x = x0; x < x0 + w && x < img->width; x++)
            memcpy(img->pixels + ((size_t)y * img->width + x) * 3, rgb, 3);
}

lc_status hmm_heatmap_write(const char *path, const double *v, int rows, int cols,
                            const char *const *row_labels, const char *const *col_labels,
                            const char *title) {
    int cell = cols <= 32 ? 28 : cols <= 64 ? 16 : 8, scale = 2;
    int label_w = 0;
    for (int r = 0; r < rows; r++)
        if (row_labels) {
            int w = lc_text_width(row_labels[r], scale);
            if (w > label_w) label_w = w;
        }
    label_w += 8;
    int top = 12 * scale + 14 * scale + 8; // title line, column label line
    lc_image img = {
        .width = label_w + cols * cell + 8, .height = top + rows * cell + 8, .channels = 3};
    int title_w = lc_text_width(title, scale) + 16;
    if (img.width < title_w) img.width = title_w;
    img.pixels = malloc((size_t)img.width * img.height * 3);
    if (!img.pixels) return lc_fail(LC_ERR_NOMEM, "%s: out of memory", path);
    memset(img.pixels, 255, (size_t)img.width * img.height * 3);
    const uint8_t black[3] = {0, 0, 0}, white[3] = {255, 255, 255};
    lc_image_draw_text(&img, 8, 4, title, black, scale);
    for (int c = 0; c < cols && col_labels; c++) {
        int w = lc_text_width(col_labels[c], scale);
        if (w <= cell)
            lc_image_draw_text(&img, label_w + c * cell + (cell - w) / 2, 12 * scale + 8,
                               col_labels[c], black, scale);
        else if (lc_text_width(col_labels[c], 1) <= cell)
            lc_image_draw_text(&img, label_w + c * cell, 12 * scale + 12, col_labels[c], black, 1);
    }
    for (int r = 0; r < rows; r++) {
        if (row_labels)
            lc_image_draw_text(&img, 4, top + r * cell + (cell - 7 * scale) / 2, row_labels[r],
                               black, scale);
        for (int c = 0; c < cols; c++) {
            double p = v[(size_t)r * cols + c];
            p = p < 0 ? 0 : p > 1 ? 1 : p;
            double t = sqrt(p); // small probabilities stay visible
            uint8_t rgb[3] = {(uint8_t)(255 - 225 * t), (uint8_t)(255 - 170 * t),
                              (uint8_t)(255 - 75 * t)};
            fill_rect(&img, label_w + c * cell + 1, top + r * cell + 1, cell - 2, cell - 2, rgb);
            if (cell >= 28) {
                char txt[8];
                snprintf(txt, sizeof txt, "%.0f", 100 * p); // percent
                int w = lc_text_width(txt, 1);
                lc_image_draw_text(&img, label_w + c * cell + (cell - w) / 2,
                                   top + r * cell + cell / 2 - 3, txt, t > 0.6 ? white : black, 1);
            }
        }
    }
    lc_status s = lc_png_write(path, &img);
    lc_image_free(&img);
    return s;
}
