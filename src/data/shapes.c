// The shapes set: 32x32 RGB pictures of one or two coloured shapes with a caption
// that names them. Item i is a pure function of (seed, i): its random words come
// from Philox keyed by the seed, counter (i, block), so any slice of the set can be
// made alone and the same seed gives the same bytes everywhere.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "data/data_util.h"
#include "latentcl/data.h"
#include "latentcl/rng.h"

const char *const lc_shape_kind_names[LC_SHAPE_KINDS] = {"circle", "square", "triangle", "diamond",
                                                         "cross"};
const char *const lc_shape_colour_names[LC_COLOURS] = {"red",    "green", "blue",  "yellow",
                                                       "purple", "cyan",  "white", "orange"};
const uint8_t lc_shape_colour_rgb[LC_COLOURS][3] = {
    {230, 40, 40},  {40, 200, 60},  {50, 90, 240},   {240, 220, 40},
    {160, 60, 220}, {40, 210, 220}, {240, 240, 240}, {250, 140, 30},
};
const char *const lc_shape_size_names[LC_SIZES] = {"small", "large"};
const char *const lc_shape_place_names[LC_PLACES] = {
    "in the top left",    "at the top",    "in the top right",
    "on the left",        "in the center", "on the right",
    "in the bottom left", "at the bottom", "in the bottom right",
};
const char *const lc_shape_relation_names[LC_RELATIONS] = {"left of", "right of", "above", "below"};

// Half extents: a small shape spans 9 pixels, a large one 15.
static const int half_sizes[LC_SIZES] = {4, 7};
enum { SHAPES_PURPOSE = 0x53484150 }; // "SHAP": keeps these draws apart from other uses of a seed

// Twelve random words for item `index`.
typedef struct {
    uint32_t w[12];
    int next;
} draws;

static void draws_init(draws *d, uint64_t seed, int64_t index) {
    uint32_t key[2];
    lc_seed_key(key, seed);
    key[1] ^= SHAPES_PURPOSE;
    for (uint32_t block = 0; block < 3; block++) {
        uint32_t counter[4] = {(uint32_t)index, (uint32_t)((uint64_t)index >> 32), block, 0};
        lc_philox4x32_10(d->w + 4 * block, counter, key);
    }
    d->next = 0;
}

// Uniform in [0, n): the high bits of a 32x32-bit product (no modulo bias worth naming).
static int draw(draws *d, int n) { return (int)(((uint64_t)d->w[d->next++] * (uint32_t)n) >> 32); }

static void draw_shape(lc_shape *s, draws *d) {
    s->kind = (lc_shape_kind)draw(d, LC_SHAPE_KINDS);
    s->colour = (lc_shape_colour)draw(d, LC_COLOURS);
    s->size = (lc_shape_size)draw(d, LC_SIZES);
    s->half_size = half_sizes[s->size];
}

void lc_shapes_item_make(lc_shapes_item *item, uint64_t seed, int64_t index) {
    memset(item, 0, sizeof *item);
    draws d;
    draws_init(&d, seed, index);
    item->n_shapes = 1 + draw(&d, 2);
    draw_shape(&item->shape[0], &d);
    if (item->n_shapes == 1) {
        // Places on a 3x3 grid of centres 8, 16, 23 (symmetric about 15.5), jittered by -1..1;
        // a large shape (half size 7) stays inside 0..31.
        static const int centres[3] = {8, 16, 23};
        item->place = draw(&d, LC_PLACES);
        item->shape[0].cx = centres[item->place % 3] + draw(&d, 3) - 1;
        item->shape[0].cy = centres[item->place / 3] + draw(&d, 3) - 1;
        return;
    }
    draw_shape(&item->shape[1], &d);
    item->relation = (lc_shape_relation)draw(&d, LC_RELATIONS);
    // The first shape goes to one half, the second to the other (centres 7..8 and 23..24:
    // two large shapes, half size 7, end at 15 and start at 16); the free coordinate of
    // each is anywhere in 8..23.
    int near = 7 + draw(&d, 2), far = 23 + draw(&d, 2);
    int free0 = 8 + draw(&d, 16), free1 = 8 + draw(&d, 16);
    lc_shape *a = &item->shape[0], *b = &item->shape[1];
    switch (item->relation) {
    case LC_REL_LEFT_OF: a->cx = near, b->cx = far, a->cy = free0, b->cy = free1; break;
    case LC_REL_RIGHT_OF: a->cx = far, b->cx = near, a->cy = free0, b->cy = free1; break;
    case LC_REL_ABOVE: a->cy = near, b->cy = far, a->cx = free0, b->cx = free1; break;
    default: a->cy = far, b->cy = near, a->cx = free0, b->cx = free1; break;
    }
}

// Is the pixel whose centre is (dx, dy) from the shape's centre inside it? (r = half size)
static bool inside(lc_shape_kind kind, float dx, float dy, float r) {
    float ax = dx < 0 ? -dx : dx, ay = dy < 0 ? -dy : dy;
    switch (kind) {
    case LC_SHAPE_CIRCLE: return dx * dx + dy * dy <= r * r;
    case LC_SHAPE_SQUARE: return ax <= 0.8f * r && ay <= 0.8f * r;
    case LC_SHAPE_TRIANGLE: return dy >= -r && dy <= r && ax <= 0.5f * (dy + r); // apex up
    case LC_SHAPE_DIAMOND: return ax + ay <= r;
    case LC_SHAPE_CROSS: return (ax <= r / 3 && ay <= r) || (ay <= r / 3 && ax <= r);
    default: return false;
    }
}

void lc_shapes_render(float *image, const lc_shapes_item *item) {
    enum { S = LC_SHAPES_SIZE };
    memset(image, 0, sizeof(float) * 3 * S * S); // (3, 32, 32), black
    for (int k = 0; k < item->n_shapes && k < 2; k++) {
        const lc_shape *s = &item->shape[k];
        const uint8_t *rgb = lc_shape_colour_rgb[(unsigned)s->colour % LC_COLOURS];
        float r = (float)s->half_size;
        for (int y = 0; y < S; y++)
            for (int x = 0; x < S; x++) {
                // Pixel centres sit at integer coordinates, so the shape centre is a pixel.
                if (!inside(s->kind, (float)(x - s->cx), (float)(y - s->cy), r)) continue;
                for (int c = 0; c < 3; c++)
                    image[(c * S + y) * S + x] = rgb[c] / 255.0f;
            }
    }
}

static int shape_phrase(char *buf, size_t cap, const lc_shape *s) {
    return snprintf(buf, cap, "a %s %s %s", lc_shape_size_names[s->size % LC_SIZES],
                    lc_shape_colour_names[s->colour % LC_COLOURS],
                    lc_shape_kind_names[s->kind % LC_SHAPE_KINDS]);
}

int lc_shapes_caption(char *buf, size_t cap, const lc_shapes_item *item) {
    char a[64], b[64];
    shape_phrase(a, sizeof a, &item->shape[0]);
    if (item->n_shapes == 1)
        return snprintf(buf, cap, "%s %s", a, lc_shape_place_names[item->place % LC_PLACES]);
    shape_phrase(b, sizeof b, &item->shape[1]);
    return snprintf(buf, cap, "%s %s %s", a, lc_shape_relation_names[item->relation % LC_RELATIONS],
                    b);
}

// Matches one of names[0..n) at *p followed by a space or the end; advances *p.
static int match_word(const char **p, const char *const *names, int n) {
    for (int i = 0; i < n; i++) {
        size_t len = strlen(names[i]);
        if (!strncmp(*p, names[i], len) && ((*p)[len] == ' ' || (*p)[len] == '\0')) {
            *p += len + ((*p)[len] == ' ');
            return i;
        }
    }
    return -1;
}

static bool parse_shape(lc_shape *s, const char **p) {
    static const char *const article[1] = {"a"};
    if (match_word(p, article, 1) < 0) return false;
    int size = match_word(p, lc_shape_size_names, LC_SIZES);
    int colour = size < 0 ? -1 : match_word(p, lc_shape_colour_names, LC_COLOURS);
    int kind = colour < 0 ? -1 : match_word(p, lc_shape_kind_names, LC_SHAPE_KINDS);
    if (kind < 0) return false;
    s->size = (lc_shape_size)size, s->colour = (lc_shape_colour)colour;
    s->kind = (lc_shape_kind)kind;
    return true;
}

lc_status lc_shapes_parse_caption(lc_shapes_item *out, const char *caption) {
    memset(out, 0, sizeof *out);
    const char *p = caption;
    if (!parse_shape(&out->shape[0], &p)) goto bad;
    int place = match_word(&p, lc_shape_place_names, LC_PLACES);
    if (place >= 0) {
        out->n_shapes = 1;
        out->place = place;
    } else {
        int rel = match_word(&p, lc_shape_relation_names, LC_RELATIONS);
        if (rel < 0 || !parse_shape(&out->shape[1], &p)) goto bad;
        out->n_shapes = 2;
        out->relation = (lc_shape_relation)rel;
    }
    if (*p == '\0' && (p == caption || p[-1] != ' ')) return LC_OK;
bad:
    memset(out, 0, sizeof *out);
    return lc_fail(LC_ERR_FORMAT, "not a shapes caption: \"%.200s\"", caption);
}

bool lc_shapes_caption_matches(const lc_shapes_item *item, const char *caption) {
    lc_shapes_item parsed;
    if (lc_shapes_parse_caption(&parsed, caption) != LC_OK) return false;
    if (parsed.n_shapes != item->n_shapes) return false;
    for (int k = 0; k < item->n_shapes; k++) {
        const lc_shape *a = &parsed.shape[k], *b = &item->shape[k];
        if (a->kind != b->kind || a->colour != b->colour || a->size != b->size) return false;
    }
    return item->n_shapes == 1 ? parsed.place == item->place : parsed.relation == item->relation;
}

// The n first items from `first` on that have `per` shapes (0: every item) into out; only
// the kept items are rendered (an item's attributes are cheap, its pixels are not).
static lc_status generate(lc_dataset *out, lc_shapes_item *items, int64_t first, int64_t n,
                          uint64_t seed, int per) {
    size_t plane = 3 * LC_SHAPES_SIZE * LC_SHAPES_SIZE;
    out->n = n;
    out->channels = 3, out->height = LC_SHAPES_SIZE, out->width = LC_SHAPES_SIZE;
    out->images = malloc((size_t)n * plane * sizeof(float));
    out->labels = malloc((size_t)n * sizeof(int32_t));
    out->captions = calloc((size_t)n, sizeof(char *));
    out->n_classes = LC_SHAPE_KINDS;
    out->class_names = lc_strings_dup(lc_shape_kind_names, LC_SHAPE_KINDS);
    if (!out->images || !out->labels || !out->captions || !out->class_names) goto oom;
    int64_t got = 0;
    for (int64_t i = first; got < n; i++) {
        lc_shapes_item item;
        lc_shapes_item_make(&item, seed, i);
        if (per && item.n_shapes != per) continue;
        if (items) items[got] = item;
        lc_shapes_render(out->images + (size_t)got * plane, &item);
        out->labels[got] = (int32_t)item.shape[0].kind;
        char caption[160];
        lc_shapes_caption(caption, sizeof caption, &item);
        if (!(out->captions[got] = strdup(caption))) goto oom;
        got++;
    }
    return LC_OK;
oom:
    lc_dataset_free(out);
    return lc_fail(LC_ERR_NOMEM, "shapes: out of memory for %lld items", (long long)n);
}

lc_status lc_shapes_generate(lc_dataset *out, lc_shapes_item *items, int64_t first, int64_t n,
                             uint64_t seed) {
    memset(out, 0, sizeof *out);
    if (n < 1 || first < 0 || n > ((int64_t)1 << 26))
        return lc_fail(LC_ERR_INVALID_ARG, "shapes: %lld items requested (1..%lld)", (long long)n,
                       (long long)1 << 26);
    return generate(out, items, first, n, seed, 0);
}

lc_status lc_shapes_generate_per_image(lc_dataset *out, lc_shapes_item *items, int64_t first,
                                       int64_t n, uint64_t seed, int shapes_per_image) {
    memset(out, 0, sizeof *out);
    if (shapes_per_image == 0) return lc_shapes_generate(out, items, first, n, seed);
    if (shapes_per_image < 0 || shapes_per_image > 2 || n < 1 || first < 0 ||
        n > ((int64_t)1 << 26))
        return lc_fail(LC_ERR_INVALID_ARG, "shapes: %d shapes per image, %lld items (1..%lld)",
                       shapes_per_image, (long long)n, (long long)1 << 26);
    return generate(out, items, first, n, seed, shapes_per_image);
}
