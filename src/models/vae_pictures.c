// Pictures of an AE/VAE: image grids, the 2-D code scatter coloured by class and
// the decoded latent grid (the manifold picture of Kingma and Welling's Fig. 4).
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "latentcl/image.h"
#include "models/vae_internal.h"

lc_status lc_vae_write_grid(const char *path, const lc_vae *m, const float *images, int n,
                            int cols) {
    const lc_vae_config *c = &m->cfg;
    int scale = c->height <= 32 ? 2 : 1;
    return lc_grid_write(path, images, n, c->channels, c->height, c->width, cols, scale, NULL);
}

// Ten distinct colours (the "tab10" palette), then repeated.
static const uint8_t palette[10][3] = {
    {31, 119, 180}, {255, 127, 14},  {44, 160, 44},   {214, 39, 40},  {148, 103, 189},
    {140, 86, 75},  {227, 119, 194}, {127, 127, 127}, {188, 189, 34}, {23, 190, 207}};

static void dot(lc_image *img, int x, int y, const uint8_t rgb[3]) {
    for (int dy = -1; dy <= 1; dy++)
        for (int dx = -1; dx <= 1; dx++) {
            int px = x + dx, py = y + dy;
            if (px < 0 || py < 0 || px >= img->width || py >= img->height) continue;
            memcpy(img->pixels + ((size_t)py * (size_t)img->width + (size_t)px) * 3, rgb, 3);
        }
}

lc_status lc_vae_write_scatter(const char *path, const float *codes, const int32_t *labels,
                               int64_t n, int n_classes, char *const *class_names) {
    enum { PLOT = 480, MARGIN = 16, LEGEND = 150 };
    if (n < 1) return lc_fail(LC_ERR_INVALID_ARG, "scatter: no codes");
    float lo[2] = {INFINITY, INFINITY}, hi[2] = {-INFINITY, -INFINITY};
    for (int64_t i = 0; i < n; i++)
        for (int d = 0; d < 2; d++) {
            float v = codes[i * 2 + d];
            if (!isfinite(v)) continue;
            if (v < lo[d]) lo[d] = v;
            if (v > hi[d]) hi[d] = v;
        }
    for (int d = 0; d < 2; d++)
        if (!(hi[d] > lo[d])) {
            lo[d] = isfinite(lo[d]) ? lo[d] - 1 : -1;
            hi[d] = lo[d] + 2;
        }
    lc_image img = {PLOT + 2 * MARGIN + LEGEND, PLOT + 2 * MARGIN, 3, NULL};
    img.pixels = malloc((size_t)img.width * (size_t)img.height * 3);
    if (!img.pixels) return lc_fail(LC_ERR_NOMEM, "out of memory for the scatter");
    memset(img.pixels, 255, (size_t)img.width * (size_t)img.height * 3);
    const uint8_t grey[3] = {160, 160, 160}, black[3] = {0, 0, 0};
    for (int t = 0; t <= PLOT; t++) { // the frame
        dot(&img, MARGIN + t, MARGIN, grey);
        dot(&img, MARGIN + t, MARGIN + PLOT, grey);
        dot(&img, MARGIN, MARGIN + t, grey);
        dot(&img, MARGIN + PLOT, MARGIN + t, grey);
    }
    for (int64_t i = 0; i < n; i++) {
        float u = codes[i * 2], v = codes[i * 2 + 1];
        if (!isfinite(u) || !isfinite(v)) continue;
        int x = MARGIN + (int)((u - lo[0]) / (hi[0] - lo[0]) * (PLOT - 4)) + 2;
        int y = MARGIN + PLOT - 2 - (int)((v - lo[1]) / (hi[1] - lo[1]) * (PLOT - 4));
        int c = labels ? (int)(labels[i] % 10) : 0;
        dot(&img, x, y, palette[c < 0 ? 0 : c]);
    }
    for (int c = 0; labels && c < n_classes && c < 20; c++) { // the legend
        int y = MARGIN + 8 + 18 * c, x = PLOT + 2 * MARGIN + 4;
        for (int k = 0; k < 4; k++)
            dot(&img, x + 2 * k, y + 3, palette[c % 10]);
        char label[40];
        snprintf(label, sizeof label, "%s",
                 class_names && class_names[c] ? class_names[c] : "class");
        if (!class_names) snprintf(label, sizeof label, "%d", c);
        lc_image_draw_text(&img, x + 14, y, label, black, 1);
    }
    lc_status s = lc_png_write(path, &img);
    free(img.pixels);
    return s;
}

lc_status lc_vae_write_latent_grid(const char *path, lc_vae *m, int steps, double span) {
    if (m->cfg.latent != 2)
        return lc_fail(LC_ERR_INVALID_ARG, "the latent grid needs --latent 2, not %d",
                       m->cfg.latent);
    if (steps < 2 || steps > 64) return lc_fail(LC_ERR_INVALID_ARG, "grid steps %d (2..64)", steps);
    int n = steps * steps;
    float *z = malloc((size_t)n * 2 * sizeof *z), *x = malloc((size_t)n * (size_t)m->P * sizeof *x);
    lc_status s = z && x ? LC_OK : lc_fail(LC_ERR_NOMEM, "out of memory for the latent grid");
    for (int r = 0; s == LC_OK && r < steps; r++) // top row: z2 = +span
        for (int c = 0; c < steps; c++) {
            z[(r * steps + c) * 2] = (float)(-span + 2.0 * span * c / (steps - 1));
            z[(r * steps + c) * 2 + 1] = (float)(span - 2.0 * span * r / (steps - 1));
        }
    if (s == LC_OK) s = lc_vae_decode(m, x, z, n);
    if (s == LC_OK)
        s = lc_grid_write(path, x, n, m->cfg.channels, m->cfg.height, m->cfg.width, steps, 1, NULL);
    free(z);
    free(x);
    return s;
}
