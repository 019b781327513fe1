// The shapes sets of the data layer (src/data/shapes_select.c, lc_data_open): "shapes-one"
// and "shapes-two" hold only items with that many shapes, each the same item (pixels,
// caption, label, attributes) as in the full set, in the full set's order; "shapes" keeps
// its items and now carries their attributes.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "latentcl/data.h"
#include "test_util.h"

enum { S = LC_SHAPES_SIZE, PLANE = 3 * S * S, N = 60 };

static void test_spec_names(void **state) {
    (void)state;
    assert_int_equal(lc_data_shapes_spec("shapes"), 0);
    assert_int_equal(lc_data_shapes_spec("shapes-one"), 1);
    assert_int_equal(lc_data_shapes_spec("shapes-two"), 2);
    assert_int_equal(lc_data_shapes_spec("shapes-three"), -1);
    assert_int_equal(lc_data_shapes_spec("fashion-mnist"), -1);
    assert_int_equal(lc_data_shapes_spec(NULL), -1);
}

// Every item of the set with `per` shapes per image, found in the full set in order.
static void check_set(const char *spec, int per, lc_data_split split) {
    lc_data d;
    lc_data_options o = {0};
    o.split = split;
    o.shapes_count = N;
    o.seed = 7;
    assert_ok(lc_data_open(&d, spec, &o));
    assert_int_equal(d.kind, LC_DATA_IMAGES);
    assert_int_equal(d.images.n, N);
    assert_int_equal(d.images.channels, 3);
    assert_non_null(d.images.captions);
    assert_non_null(d.shapes_items);
    assert_non_null(strstr(d.source, spec));
    // the full set over enough items to hold N of each kind (about half have one shape)
    int64_t first = split == LC_SPLIT_TEST ? LC_SHAPES_TEST_FIRST : 0, span = 4 * N;
    lc_shapes_item *all_items = malloc(span * sizeof *all_items);
    lc_dataset all;
    assert_ok(lc_shapes_generate(&all, all_items, first, span, 7));
    int64_t j = 0;
    for (int64_t i = 0; i < N; i++) {
        if (per) {
            assert_int_equal(d.shapes_items[i].n_shapes, per);
            while (j < span && all_items[j].n_shapes != per)
                j++;
        }
        assert_true(j < span);
        assert_true(lc_shapes_caption_matches(&d.shapes_items[i], d.images.captions[i]));
        assert_string_equal(d.images.captions[i], all.captions[j]);
        assert_int_equal(d.images.labels[i], all.labels[j]);
        assert_memory_equal(d.images.images + i * PLANE, all.images + j * PLANE,
                            PLANE * sizeof(float));
        assert_memory_equal(&d.shapes_items[i], &all_items[j], sizeof all_items[j]);
        j++;
    }
    lc_dataset_free(&all);
    free(all_items);
    lc_data_free(&d);
    assert_null(d.shapes_items);
}

static void test_shapes_one(void **state) {
    (void)state;
    check_set("shapes-one", 1, LC_SPLIT_TRAIN);
    check_set("shapes-one", 1, LC_SPLIT_TEST);
}

static void test_shapes_two(void **state) {
    (void)state;
    check_set("shapes-two", 2, LC_SPLIT_TRAIN);
}

static void test_shapes_mix_keeps_its_items(void **state) {
    (void)state;
    check_set("shapes", 0, LC_SPLIT_TRAIN);
}

// The one-shape training and test sets never share an item (the test split starts at
// LC_SHAPES_TEST_FIRST), and the per-image function refuses what it cannot make.
static void test_split_and_bad_args(void **state) {
    (void)state;
    lc_dataset a;
    lc_shapes_item it;
    assert_int_equal(lc_shapes_generate_per_image(&a, &it, 0, 1, 0, 3), LC_ERR_INVALID_ARG);
    assert_int_equal(lc_shapes_generate_per_image(&a, &it, 0, 0, 0, 1), LC_ERR_INVALID_ARG);
    assert_int_equal(lc_shapes_generate_per_image(&a, &it, -1, 1, 0, 1), LC_ERR_INVALID_ARG);
    assert_null(a.images);
    lc_data d;
    lc_data_options o = {0};
    o.shapes_count = ((int64_t)1 << 26) + 1;
    assert_int_equal(lc_data_open(&d, "shapes-one", &o), LC_ERR_INVALID_ARG);
    assert_null(d.shapes_items);
    // an unknown name lists the shapes sets among the names
    assert_int_equal(lc_data_open(&d, "no-such-data-set", NULL), LC_ERR_IO);
    assert_non_null(strstr(lc_last_error(), "shapes-one"));
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_spec_names),
        cmocka_unit_test(test_shapes_one),
        cmocka_unit_test(test_shapes_two),
        cmocka_unit_test(test_shapes_mix_keeps_its_items),
        cmocka_unit_test(test_split_and_bad_args),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
