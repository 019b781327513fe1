// The in-memory image dataset: freeing, subsets, batch gathering, checksums.
#include <stdlib.h>
#include <string.h>

#include "data/data_util.h"
#include "latentcl/data.h"

uint64_t lc_fnv1a64(uint64_t h, const void *data, size_t n) {
    const uint8_t *p = data;
    for (size_t i = 0; i < n; i++) {
        h ^= p[i];
        h *= 0x100000001b3ull;
    }
    return h;
}

void lc_dataset_free(lc_dataset *d) {
    if (!d) return;
    free(d->images);
    free(d->labels);
    lc_strings_free(d->class_names, d->n_classes);
    lc_strings_free(d->captions, d->captions ? d->n : 0);
    memset(d, 0, sizeof *d);
}

void lc_dataset_gather(float *images, int32_t *labels, const lc_dataset *d, const int64_t *idx,
                       int64_t count) {
    size_t size = lc_dataset_image_size(d);
    for (int64_t i = 0; i < count; i++) {
        if (images)
            memcpy(images + (size_t)i * size, d->images + (size_t)idx[i] * size,
                   size * sizeof(float));
        if (labels && d->labels) labels[i] = d->labels[idx[i]];
    }
}

lc_status lc_dataset_subset(lc_dataset *out, const lc_dataset *src, const int64_t *idx,
                            int64_t count) {
    memset(out, 0, sizeof *out);
    for (int64_t i = 0; i < count; i++)
        if (idx[i] < 0 || idx[i] >= src->n)
            return lc_fail(LC_ERR_INVALID_ARG, "lc_dataset_subset: index %lld out of 0..%lld",
                           (long long)idx[i], (long long)src->n - 1);
    out->n = count;
    out->channels = src->channels, out->height = src->height, out->width = src->width;
    out->n_classes = src->n_classes;
    size_t size = lc_dataset_image_size(src);
    out->images = malloc((count ? (size_t)count : 1) * size * sizeof(float));
    int ok = out->images != NULL;
    if (ok && src->labels) ok = (out->labels = malloc(((size_t)count + 1) * sizeof(int32_t))) != 0;
    if (ok && src->class_names)
        ok = (out->class_names =
                  lc_strings_dup((const char *const *)src->class_names, src->n_classes)) != NULL;
    if (ok && src->captions) {
        ok = (out->captions = calloc((size_t)count + 1, sizeof(char *))) != NULL;
        for (int64_t i = 0; ok && i < count; i++)
            ok = (out->captions[i] = strdup(src->captions[idx[i]])) != NULL;
    }
    if (!ok) {
        lc_dataset_free(out);
        return lc_fail(LC_ERR_NOMEM, "lc_dataset_subset: out of memory");
    }
    lc_dataset_gather(out->images, out->labels, src, idx, count);
    return LC_OK;
}

static uint64_t hash_i64(uint64_t h, int64_t v) {
    uint8_t b[8];
    for (int i = 0; i < 8; i++)
        b[i] = (uint8_t)((uint64_t)v >> (8 * i));
    return lc_fnv1a64(h, b, 8);
}

uint64_t lc_dataset_checksum(const lc_dataset *d) {
    uint64_t h = LC_FNV1A64_INIT;
    h = hash_i64(h, d->n);
    h = hash_i64(h, d->channels);
    h = hash_i64(h, d->height);
    h = hash_i64(h, d->width);
    size_t count = (size_t)d->n * lc_dataset_image_size(d);
    for (size_t i = 0; d->images && i < count; i++) {
        uint32_t bits;
        memcpy(&bits, &d->images[i], 4);
        uint8_t b[4] = {(uint8_t)bits, (uint8_t)(bits >> 8), (uint8_t)(bits >> 16),
                        (uint8_t)(bits >> 24)};
        h = lc_fnv1a64(h, b, 4);
    }
    for (int64_t i = 0; d->labels && i < d->n; i++)
        h = hash_i64(h, d->labels[i]);
    for (int64_t i = 0; d->captions && i < d->n; i++)
        h = lc_fnv1a64(h, d->captions[i], strlen(d->captions[i]) + 1);
    return h;
}
