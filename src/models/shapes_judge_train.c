// Training the shapes judge with the shared loop: batches are rendered from the
// generator's items as they are needed (an item is a pure function of seed and index,
// so the training set costs no memory), and after each epoch the judge reads fresh test
// items.
#include <math.h>
#include <stdlib.h>

#include "models/shapes_judge_internal.h"

static lc_status hook_step(void *self, lc_device *dev, cl_mem loss, const lc_batch *b) {
    (void)dev;
    lc_shapes_judge *j = self;
    float *x;
    int32_t *y;
    LC_TRY(sj_batch(j, &x, &y, b->count));
    for (int64_t i = 0; i < b->count; i++) {
        lc_shapes_item item;
        lc_shapes_item_make(&item, j->data->data_seed, b->index[i]);
        lc_shapes_render(x + (size_t)i * SJ_IMAGE, &item);
        sj_labels(y + i, b->count, &item);
    }
    return sj_step(j, loss, b->count);
}

// The judgement of items first + index[i] (index NULL: first + i), i < n.
static lc_status judge_items(lc_shapes_judge *j, lc_shapes_judgement *out, uint64_t seed,
                             int64_t first, const int64_t *index, int64_t n) {
    lc_shapes_item *wanted = malloc((size_t)n * sizeof *wanted),
                   *seen = malloc((size_t)n * sizeof *seen);
    float *images = malloc((size_t)SJ_CHUNK * SJ_IMAGE * sizeof *images);
    lc_status s = wanted && seen && images ? LC_OK : lc_fail(LC_ERR_NOMEM, "out of memory");
    for (int64_t i = 0; i < n && s == LC_OK; i += SJ_CHUNK) {
        int64_t m = n - i < SJ_CHUNK ? n - i : SJ_CHUNK;
        for (int64_t k = 0; k < m; k++) {
            lc_shapes_item_make(&wanted[i + k], seed, first + (index ? index[i + k] : i + k));
            lc_shapes_render(images + (size_t)k * SJ_IMAGE, &wanted[i + k]);
        }
        s = lc_shapes_judge_predict(j, seen + i, images, m, SJ_CHANNELS, SJ_SIZE, SJ_SIZE);
    }
    if (s == LC_OK) lc_shapes_judgement_of(out, seen, wanted, n);
    free(wanted);
    free(seen);
    free(images);
    return s;
}

static lc_status hook_evaluate(void *self, lc_device *dev, lc_eval_split split,
                               const int64_t *index, int64_t count, lc_figures *out) {
    (void)dev;
    lc_shapes_judge *j = self;
    const lc_shapes_judge_data *d = j->data;
    lc_shapes_judgement r;
    if (split == LC_EVAL_TEST)
        LC_TRY(judge_items(j, &r, d->data_seed, LC_SHAPES_TEST_FIRST, NULL, d->n_test));
    else
        LC_TRY(judge_items(j, &r, d->data_seed, 0, index, count));
    LC_TRY(lc_figures_add(out, NULL, "accuracy", r.all)); // first: picks best.safetensors
    LC_TRY(lc_figures_add(out, NULL, "kind", r.kind));
    LC_TRY(lc_figures_add(out, NULL, "colour", r.colour));
    LC_TRY(lc_figures_add(out, NULL, "size", r.size));
    LC_TRY(lc_figures_add(out, NULL, "relation", r.relation));
    LC_TRY(lc_figures_add(out, NULL, "place", r.place));
    return lc_figures_add(out, NULL, "count", r.count);
}

static lc_status hook_config(void *self, char **out) {
    (void)self;
    return sj_config_json(out);
}

lc_status lc_shapes_judge_train(lc_train_result *res, lc_shapes_judge *j,
                                const lc_shapes_judge_data *d, const lc_train_options *o,
                                lc_progress_fn progress, void *user) {
    if (d->n_train < 1 || d->n_train > ((int64_t)1 << 32) || d->n_test < 0 ||
        d->n_test > ((int64_t)1 << 26))
        return lc_fail(LC_ERR_INVALID_ARG,
                       "shapes judge: %lld training items (1..2^32) and %lld test items (0..2^26)",
                       (long long)d->n_train, (long long)d->n_test);
    j->data = d;
    lc_train_model tm = {0};
    tm.family = LC_SHAPES_JUDGE_FAMILY;
    tm.self = j;
    tm.params = &j->params;
    tm.n_train = d->n_train;
    tm.has_test = d->n_test > 0;
    tm.higher_is_better = true;
    tm.step = hook_step;
    tm.evaluate = hook_evaluate;
    tm.config_json = hook_config;
    lc_status s = lc_train(res, j->dev, &tm, o, progress, user);
    j->data = NULL;
    return s;
}
