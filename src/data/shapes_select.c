// The shapes set restricted to one or two shapes per image ("shapes-one", "shapes-two"):
// the n first items of the set, from `first` on, that have that many shapes. About half
// of all items have one shape, so the indices are found from the attributes alone
// (cheap), and only the kept items are drawn.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "data/data_util.h"
#include "latentcl/data.h"

int lc_data_shapes_spec(const char *spec) {
    if (!spec) return -1;
    if (!strcmp(spec, "shapes")) return 0;
    if (!strcmp(spec, "shapes-one")) return 1;
    if (!strcmp(spec, "shapes-two")) return 2;
    return -1;
}

lc_status lc_shapes_generate_per_image(lc_dataset *out, lc_shapes_item *items, int64_t first,
                                       int64_t n, uint64_t seed, int shapes_per_image) {
    memset(out, 0, sizeof *out);
    if (shapes_per_image == 0) return lc_shapes_generate(out, items, first, n, seed);
    if (shapes_per_image < 0 || shapes_per_image > 2 || n < 1 || first < 0 ||
        n > ((int64_t)1 << 26))
        return lc_fail(LC_ERR_INVALID_ARG, "shapes: %d shapes per image, %lld items (1..%lld)",
                       shapes_per_image, (long long)n, (long long)1 << 26);
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
        if (item.n_shapes != shapes_per_image) continue;
        if (items) items[got] = item;
        lc_shapes_render(out->images + (size_t)got * plane, &item);
        out->labels[got] = (int32_t)item.shape[0].kind; // as lc_shapes_generate
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
