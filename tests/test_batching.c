// Seeded shuffling and batching: permutations, determinism, pinned values, epochs.
#include <stdlib.h>
#include <string.h>

#include "latentcl/data.h"
#include "test_util.h"

static void test_permutation_and_determinism(void **state) {
    enum { N = 1000 };
    int64_t a[N], b[N], c[N];
    lc_shuffle_order(a, N, 7, 0);
    lc_shuffle_order(b, N, 7, 0);
    lc_shuffle_order(c, N, 7, 1);
    assert_memory_equal(a, b, sizeof a);
    assert_memory_not_equal(a, c, sizeof a);
    char seen[N] = {0};
    int fixed = 0;
    for (int i = 0; i < N; i++) {
        assert_true(a[i] >= 0 && a[i] < N);
        assert_false(seen[a[i]]);
        seen[a[i]] = 1;
        fixed += a[i] == i;
    }
    assert_true(fixed < 10); // a shuffle, not the identity
    // Pinned: the same seed gives this order on every machine.
    int64_t small[8];
    lc_shuffle_order(small, 8, 42, 3);
    const int64_t pinned[8] = {0, 1, 7, 4, 5, 2, 6, 3};
    assert_memory_equal(small, pinned, sizeof pinned);
    lc_shuffle_order(small, 1, 42, 3);
    assert_int_equal(small[0], 0);
}

static void test_uniformity(void **state) {
    // Over many epochs, each of the 6 orders of 3 items appears about equally often.
    int counts[3][3] = {{0}};
    for (uint64_t e = 0; e < 6000; e++) {
        int64_t o[3];
        lc_shuffle_order(o, 3, 99, e);
        for (int i = 0; i < 3; i++)
            counts[i][o[i]]++;
    }
    for (int i = 0; i < 3; i++)
        for (int j = 0; j < 3; j++)
            assert_true(counts[i][j] > 1850 && counts[i][j] < 2150);
}

static void test_batcher(void **state) {
    lc_batcher b;
    assert_ok(lc_batcher_init(&b, 10, 4, 5, true, false));
    assert_int_equal(lc_batcher_batches_per_epoch(&b), 3);
    const int64_t *idx;
    int64_t count, total = 0, sizes[3];
    int batches = 0;
    char seen[10] = {0};
    while (lc_batcher_next(&b, &idx, &count)) {
        sizes[batches++] = count;
        for (int64_t i = 0; i < count; i++)
            seen[idx[i]]++, total++;
    }
    assert_int_equal(batches, 3);
    assert_int_equal(sizes[2], 2);
    assert_int_equal(total, 10);
    for (int i = 0; i < 10; i++)
        assert_int_equal(seen[i], 1);
    int64_t epoch0[10];
    memcpy(epoch0, b.order, sizeof epoch0);
    lc_batcher_start_epoch(&b, 1, 0);
    assert_memory_not_equal(epoch0, b.order, sizeof epoch0);
    // Resuming at epoch 1, position 4 continues with the same items.
    lc_batcher r;
    assert_ok(lc_batcher_init(&r, 10, 4, 5, true, false));
    lc_batcher_start_epoch(&r, 1, 4);
    assert_true(lc_batcher_next(&b, &idx, &count));
    assert_true(lc_batcher_next(&b, &idx, &count));
    const int64_t *ridx;
    int64_t rcount;
    assert_true(lc_batcher_next(&r, &ridx, &rcount));
    assert_int_equal(rcount, count);
    assert_memory_equal(ridx, idx, sizeof(int64_t) * count);
    lc_batcher_free(&r);
    lc_batcher_free(&b);
    // drop_last and no shuffle.
    assert_ok(lc_batcher_init(&b, 10, 4, 5, false, true));
    assert_int_equal(lc_batcher_batches_per_epoch(&b), 2);
    batches = 0;
    while (lc_batcher_next(&b, &idx, &count)) {
        assert_int_equal(count, 4);
        assert_int_equal(idx[0], 4 * batches);
        batches++;
    }
    assert_int_equal(batches, 2);
    lc_batcher_free(&b);
    assert_int_equal(lc_batcher_init(&b, 0, 4, 1, true, false), LC_ERR_INVALID_ARG);
    assert_int_equal(lc_batcher_init(&b, 3, 4, 1, true, true), LC_ERR_INVALID_ARG);
}

static void test_gather_subset(void **state) {
    lc_dataset d, sub;
    assert_ok(lc_shapes_generate(&d, NULL, 0, 20, 3));
    int64_t idx[3] = {5, 0, 19};
    assert_ok(lc_dataset_subset(&sub, &d, idx, 3));
    size_t size = lc_dataset_image_size(&d);
    assert_memory_equal(sub.images + size, d.images, size * sizeof(float));
    assert_string_equal(sub.captions[2], d.captions[19]);
    assert_int_equal(sub.labels[0], d.labels[5]);
    assert_string_equal(sub.class_names[1], "square");
    float *batch = malloc(3 * size * sizeof(float));
    int32_t labels[3];
    lc_dataset_gather(batch, labels, &d, idx, 3);
    assert_memory_equal(batch, sub.images, 3 * size * sizeof(float));
    assert_int_equal(labels[2], d.labels[19]);
    free(batch);
    lc_dataset_free(&sub);
    idx[1] = 20;
    assert_int_equal(lc_dataset_subset(&sub, &d, idx, 3), LC_ERR_INVALID_ARG);
    lc_dataset_free(&d);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_permutation_and_determinism),
        cmocka_unit_test(test_uniformity),
        cmocka_unit_test(test_batcher),
        cmocka_unit_test(test_gather_subset),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
