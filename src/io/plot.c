// Metrics curves: panels of line plots drawn into an lc_image with the built-in font.
#include "latentcl/plot.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

enum {
    PANEL_W = 520,
    PANEL_H = 320,
    MAX_PANELS = 24,
    MAX_SERIES_PER_PANEL = 8,
    FONT_H = 7, // the built-in font's glyph height at scale 1
};

typedef struct {
    char key[64];                   // the panel's title: the quantity without train_/val_/...
    int cols[MAX_SERIES_PER_PANEL]; // metrics columns drawn in it
    int n;
} panel;

typedef struct {
    double lo, hi, step; // axis range, a whole number of tick steps
    int n_ticks;         // ticks at lo + k * step for k = 0..n_ticks
} axis;

static const uint8_t WHITE[3] = {255, 255, 255}, BLACK[3] = {0, 0, 0}, GRID[3] = {228, 228, 228},
                     TEXT[3] = {60, 60, 60};
// One colour per series (the matplotlib "tab10" colours).
static const uint8_t PALETTE[10][3] = {
    {31, 119, 180}, {255, 127, 14},  {44, 160, 44},   {214, 39, 40},  {148, 103, 189},
    {140, 86, 75},  {227, 119, 194}, {127, 127, 127}, {188, 189, 34}, {23, 190, 207}};

// ---- choosing what to draw --------------------------------------------------------
static int is_x_like(const char *name) {
    return !strcmp(name, "step") || !strcmp(name, "epoch") || !strcmp(name, "elapsed_s") ||
           !strcmp(name, "minutes");
}

// "val_loss", "loss_val" -> "loss": splits go in one panel; so do "X@a", "X@b" (one
// quantity from several programs or settings, e.g. accuracy@latentcl, accuracy@pytorch).
static void panel_key(char *out, size_t cap, const char *name) {
    const char *at = strchr(name, '@');
    if (at && at != name) {
        snprintf(out, cap, "%.*s", (int)(at - name), name);
        return;
    }
    static const char *const prefixes[] = {"train_", "val_", "valid_", "test_", "eval_"};
    static const char *const suffixes[] = {"_train", "_val", "_valid", "_test", "_eval"};
    const char *start = name;
    size_t n = strlen(name);
    for (size_t i = 0; i < 5; i++) {
        size_t p = strlen(prefixes[i]), s = strlen(suffixes[i]);
        if (n > p && !strncmp(name, prefixes[i], p)) {
            start = name + p, n -= p;
            break;
        }
        if (n > s && !strcmp(name + n - s, suffixes[i])) {
            n -= s;
            break;
        }
    }
    snprintf(out, cap, "%.*s", (int)n, start);
}

static int has_finite(const lc_metrics *m, int col) {
    for (int r = 0; r < m->n_rows; r++)
        if (isfinite(lc_metrics_at(m, r, col))) return 1;
    return 0;
}

static int make_panels(panel *panels, const lc_metrics *m) {
    int n = 0;
    for (int c = 0; c < m->n_cols; c++) {
        if (is_x_like(m->names[c]) || !has_finite(m, c)) continue;
        char key[64];
        panel_key(key, sizeof key, m->names[c]);
        int p = 0;
        while (p < n && strcmp(panels[p].key, key))
            p++;
        if (p == n) {
            if (n == MAX_PANELS) continue;
            memset(&panels[n], 0, sizeof panels[n]);
            snprintf(panels[n].key, sizeof panels[n].key, "%s", key);
            n++;
        }
        if (panels[p].n < MAX_SERIES_PER_PANEL) panels[p].cols[panels[p].n++] = c;
    }
    return n;
}

// ---- axes -------------------------------------------------------------------------
// A tick step of 1, 2 or 5 times a power of ten giving about `target` ticks.
static double nice_step(double range, int target) {
    double raw = range / target, mag = pow(10, floor(log10(raw))), f = raw / mag;
    return (f < 1.5 ? 1 : f < 3.5 ? 2 : f < 7.5 ? 5 : 10) * mag;
}

static axis make_axis(double lo, double hi, int target) {
    if (!(hi > lo)) { // one value: give it some room
        double pad = fabs(lo) > 0 ? fabs(lo) * 0.1 : 1;
        lo -= pad, hi += pad;
    }
    axis a;
    a.step = nice_step(hi - lo, target);
    a.lo = floor(lo / a.step) * a.step;
    a.hi = ceil(hi / a.step) * a.step;
    a.n_ticks = (int)fmin(fmax(round((a.hi - a.lo) / a.step), 0), 50);
    if (!isfinite(a.lo) || !isfinite(a.hi) || !isfinite(a.step) || !(a.hi > a.lo))
        a.n_ticks = -1; // nothing finite to show (values near DBL_MAX): no ticks
    return a;
}

static double tick_at(const axis *a, int k) { return a->lo + k * a->step; }

static void tick_label(char *out, size_t cap, double v, double step) {
    if (fabs(v) < step * 1e-6) v = 0; // no "-0" or "1e-17" at the origin
    double a = fabs(v);
    if (a != 0 && (a >= 1e6 || a < 1e-4)) {
        snprintf(out, cap, "%.3g", v);
        return;
    }
    int decimals = step >= 1 ? 0 : (int)ceil(-log10(step) - 1e-9);
    if (decimals > 6) decimals = 6;
    snprintf(out, cap, "%.*f", decimals, v);
}

// ---- pixels -----------------------------------------------------------------------
static void put(lc_image *img, int x, int y, const uint8_t rgb[3]) {
    if (x < 0 || y < 0 || x >= img->width || y >= img->height) return;
    memcpy(img->pixels + ((size_t)y * (size_t)img->width + (size_t)x) * 3, rgb, 3);
}

static void fill(lc_image *img, int x0, int y0, int x1, int y1, const uint8_t rgb[3]) {
    for (int y = y0; y <= y1; y++)
        for (int x = x0; x <= x1; x++)
            put(img, x, y, rgb);
}

// A 2-pixel-wide line (Bresenham with a 2x2 brush).
static void line(lc_image *img, int x0, int y0, int x1, int y1, const uint8_t rgb[3]) {
    int dx = abs(x1 - x0), dy = -abs(y1 - y0), sx = x0 < x1 ? 1 : -1, sy = y0 < y1 ? 1 : -1;
    int err = dx + dy;
    for (;;) {
        fill(img, x0, y0, x0 + 1, y0 + 1, rgb);
        if (x0 == x1 && y0 == y1) break;
        int e2 = 2 * err;
        if (e2 >= dy) err += dy, x0 += sx;
        if (e2 <= dx) err += dx, y0 += sy;
    }
}

// ---- one panel --------------------------------------------------------------------
typedef struct {
    int x0, y0, x1, y1; // the plot area in image pixels
    axis xa, ya;
} frame;

static int to_px(double v, double lo, double hi, int p0, int p1) {
    double t = (v - lo) / (hi - lo);
    if (!isfinite(t)) return p0;
    if (t < -1) t = -1; // keep far-off values from overflowing int
    if (t > 2) t = 2;
    return p0 + (int)lround(t * (p1 - p0));
}

static void draw_axes(lc_image *img, const frame *f, const char *x_name) {
    char label[48];
    for (int k = 0; k <= f->ya.n_ticks; k++) {
        double v = tick_at(&f->ya, k);
        int y = to_px(v, f->ya.lo, f->ya.hi, f->y1, f->y0);
        line(img, f->x0, y, f->x1 - 1, y, GRID);
        tick_label(label, sizeof label, v, f->ya.step);
        lc_image_draw_text(img, f->x0 - 6 - lc_text_width(label, 1), y - FONT_H / 2, label, TEXT,
                           1);
        fill(img, f->x0 - 4, y, f->x0 - 1, y, BLACK);
    }
    for (int k = 0; k <= f->xa.n_ticks; k++) {
        double v = tick_at(&f->xa, k);
        int x = to_px(v, f->xa.lo, f->xa.hi, f->x0, f->x1);
        fill(img, x, f->y0, x, f->y1, GRID);
        tick_label(label, sizeof label, v, f->xa.step);
        lc_image_draw_text(img, x - lc_text_width(label, 1) / 2, f->y1 + 6, label, TEXT, 1);
        fill(img, x, f->y1 + 1, x, f->y1 + 3, BLACK);
    }
    fill(img, f->x0, f->y0, f->x0, f->y1, BLACK); // y axis
    fill(img, f->x0, f->y1, f->x1, f->y1, BLACK); // x axis
    lc_image_draw_text(img, (f->x0 + f->x1 - lc_text_width(x_name, 1)) / 2, f->y1 + 18, x_name,
                       TEXT, 1);
}

static void draw_series(lc_image *img, const frame *f, const lc_metrics *m, const double *xs,
                        int col, const uint8_t rgb[3]) {
    int have = 0, px = 0, py = 0, points = 0;
    for (int r = 0; r < m->n_rows; r++)
        points += isfinite(xs[r]) && isfinite(lc_metrics_at(m, r, col));
    for (int r = 0; r < m->n_rows; r++) {
        double x = xs[r], y = lc_metrics_at(m, r, col);
        if (!isfinite(x) || !isfinite(y)) continue; // rows without this key: join the neighbours
        int cx = to_px(x, f->xa.lo, f->xa.hi, f->x0, f->x1);
        int cy = to_px(y, f->ya.lo, f->ya.hi, f->y1, f->y0);
        if (have) line(img, px, py, cx, cy, rgb);
        if (points <= 40) fill(img, cx - 2, cy - 2, cx + 2, cy + 2, rgb); // few points: mark them
        px = cx, py = cy, have = 1;
    }
}

// Pixels in the rectangle drawn in a series colour (not white, black or gray).
static int count_coloured(const lc_image *img, int x0, int y0, int x1, int y1) {
    int n = 0;
    for (int y = y0 > 0 ? y0 : 0; y <= y1 && y < img->height; y++)
        for (int x = x0 > 0 ? x0 : 0; x <= x1 && x < img->width; x++) {
            const uint8_t *px = img->pixels + ((size_t)y * (size_t)img->width + (size_t)x) * 3;
            n += !(px[0] == px[1] && px[1] == px[2]);
        }
    return n;
}

static void draw_legend(lc_image *img, const frame *f, const lc_metrics *m, const panel *p,
                        const int *colour_of) {
    int width = 0;
    for (int i = 0; i < p->n; i++) {
        int w = lc_text_width(m->names[p->cols[i]], 1);
        if (w > width) width = w;
    }
    int box_w = width + 26, box_h = p->n * 12 + 6;
    // The corner that hides the fewest curve pixels (the curves are drawn first).
    int best = -1, bx = 0, by = 0;
    for (int corner = 0; corner < 4; corner++) {
        int cx = corner & 1 ? f->x0 + 6 : f->x1 - box_w - 6;
        int cy = corner & 2 ? f->y1 - box_h - 6 : f->y0 + 6;
        int hidden = count_coloured(img, cx, cy, cx + box_w, cy + box_h);
        if (best < 0 || hidden < best) best = hidden, bx = cx, by = cy;
    }
    fill(img, bx, by, bx + box_w, by + box_h, WHITE);
    fill(img, bx, by, bx + box_w, by, GRID);
    fill(img, bx, by + box_h, bx + box_w, by + box_h, GRID);
    fill(img, bx, by, bx, by + box_h, GRID);
    fill(img, bx + box_w, by, bx + box_w, by + box_h, GRID);
    for (int i = 0; i < p->n; i++) {
        int y = by + 5 + i * 12;
        fill(img, bx + 5, y + 2, bx + 17, y + 4, PALETTE[colour_of[p->cols[i]] % 10]);
        lc_image_draw_text(img, bx + 21, y, m->names[p->cols[i]], TEXT, 1);
    }
}

static void draw_panel(lc_image *img, int ox, int oy, const lc_metrics *m, const double *xs,
                       const char *x_name, const panel *p, const int *colour_of) {
    double xlo = INFINITY, xhi = -INFINITY, ylo = INFINITY, yhi = -INFINITY;
    for (int i = 0; i < p->n; i++)
        for (int r = 0; r < m->n_rows; r++) {
            double x = xs[r], y = lc_metrics_at(m, r, p->cols[i]);
            if (!isfinite(x) || !isfinite(y)) continue;
            xlo = fmin(xlo, x), xhi = fmax(xhi, x), ylo = fmin(ylo, y), yhi = fmax(yhi, y);
        }
    frame f;
    f.xa = make_axis(xlo, xhi, 6);
    f.ya = make_axis(ylo, yhi, 5);
    // The left margin fits the widest y tick label.
    int widest = 0;
    char label[48];
    for (int k = 0; k <= f.ya.n_ticks; k++) {
        double v = tick_at(&f.ya, k);
        tick_label(label, sizeof label, v, f.ya.step);
        int w = lc_text_width(label, 1);
        if (w > widest) widest = w;
    }
    f.x0 = ox + widest + 14;
    f.x1 = ox + PANEL_W - 24; // room for half of the last x tick label
    f.y0 = oy + 30;
    f.y1 = oy + PANEL_H - 34;
    lc_image_draw_text(img, ox + (PANEL_W - lc_text_width(p->key, 2)) / 2, oy + 8, p->key, BLACK,
                       2);
    draw_axes(img, &f, x_name);
    for (int i = 0; i < p->n; i++)
        draw_series(img, &f, m, xs, p->cols[i], PALETTE[colour_of[p->cols[i]] % 10]);
    draw_legend(img, &f, m, p, colour_of);
}

lc_status lc_plot_render(lc_image *out, const lc_metrics *m, int *n_series) {
    memset(out, 0, sizeof *out);
    if (n_series) *n_series = 0;
    if (!m) return lc_fail(LC_ERR_INVALID_ARG, "lc_plot_render: NULL metrics");
    panel panels[MAX_PANELS];
    int n_panels = make_panels(panels, m);
    if (n_panels == 0) return lc_fail(LC_ERR_FORMAT, "no numeric metrics to plot");

    // x: the step column, else a minutes column, else the line number.
    int step_col = lc_metrics_column(m, "step");
    const char *x_name = "step";
    if (step_col < 0 && (step_col = lc_metrics_column(m, "minutes")) >= 0) x_name = "minutes";
    double *xs = malloc(sizeof *xs * (size_t)(m->n_rows ? m->n_rows : 1));
    int *colour_of = calloc((size_t)m->n_cols, sizeof *colour_of);
    if (!xs || !colour_of) {
        free(xs);
        free(colour_of);
        return lc_fail(LC_ERR_NOMEM, "plot: out of memory");
    }
    for (int r = 0; r < m->n_rows; r++)
        xs[r] = step_col >= 0 ? lc_metrics_at(m, r, step_col) : r + 1;
    int count = 0;
    for (int p = 0; p < n_panels; p++)
        for (int i = 0; i < panels[p].n; i++)
            colour_of[panels[p].cols[i]] = count++;

    int grid_cols = n_panels == 1 ? 1 : 2, grid_rows = (n_panels + grid_cols - 1) / grid_cols;
    out->width = grid_cols * PANEL_W;
    out->height = grid_rows * PANEL_H;
    out->channels = 3;
    out->pixels = malloc((size_t)out->width * (size_t)out->height * 3);
    if (!out->pixels) {
        free(xs);
        free(colour_of);
        memset(out, 0, sizeof *out);
        return lc_fail(LC_ERR_NOMEM, "plot: out of memory");
    }
    memset(out->pixels, 255, (size_t)out->width * (size_t)out->height * 3);
    for (int p = 0; p < n_panels; p++)
        draw_panel(out, (p % grid_cols) * PANEL_W, (p / grid_cols) * PANEL_H, m, xs,
                   step_col >= 0 ? x_name : "line", &panels[p], colour_of);
    free(xs);
    free(colour_of);
    if (n_series) *n_series = count;
    return LC_OK;
}

lc_status lc_plot_paths(char *metrics, char *png, size_t cap, const char *run) {
    if (!run || !*run) return lc_fail(LC_ERR_INVALID_ARG, "plot: empty run path");
    struct stat st;
    if (stat(run, &st) != 0) return lc_fail(LC_ERR_IO, "%s: %s", run, strerror(errno));
    int k1, k2;
    if (S_ISDIR(st.st_mode)) {
        k1 = snprintf(metrics, cap, "%s/%s", run, LC_RUN_METRICS);
        k2 = snprintf(png, cap, "%s/%s", run, LC_RUN_CURVES);
    } else {
        const char *slash = strrchr(run, '/');
        k1 = snprintf(metrics, cap, "%s", run);
        k2 = snprintf(png, cap, "%.*s%s", slash ? (int)(slash - run + 1) : 0, run, LC_RUN_CURVES);
    }
    if (k1 < 0 || k2 < 0 || (size_t)k1 >= cap || (size_t)k2 >= cap)
        return lc_fail(LC_ERR_INVALID_ARG, "%s: path too long", run);
    return LC_OK;
}

lc_status lc_plot_metrics(const char *run, const char *out_png, int *n_series) {
    char metrics[4096], png[4096];
    lc_status s = lc_plot_paths(metrics, png, sizeof png, run);
    if (s != LC_OK) return s;
    lc_metrics m;
    s = lc_metrics_read(&m, metrics);
    if (s != LC_OK) return s;
    lc_image img;
    s = lc_plot_render(&img, &m, n_series);
    lc_metrics_free(&m);
    if (s != LC_OK) return lc_fail_context(s, "%s", metrics);
    s = lc_png_write(out_png ? out_png : png, &img);
    lc_image_free(&img);
    return s;
}
