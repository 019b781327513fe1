// The shapes judge (src/models/shapes_judge*.c): the canonical order of two shapes and
// the attribute comparison on the host, labels and their decoding, that a short training
// on a small shapes set reads attributes well above chance, that real images score much
// higher against their own captions than against shuffled ones, that a saved judge loads
// back with the same predictions, and bad input (wrong image shape, a checkpoint of
// another family, a caption that is not a shapes caption).
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "test_util.h"
#include "latentcl/checkpoint.h"
#include "latentcl/shapes_judge.h"
#include "models/shapes_judge_internal.h"

static lc_device *g_dev;
static char *g_dir;
static lc_shapes_judge *g_judge; // trained once by test_learns_quickly, used after it

static int setup(void **state) {
    return test_open_device(&g_dev, NULL) || test_open_tmpdir(&g_dir);
}

static int teardown(void **state) {
    lc_shapes_judge_free(g_judge);
    test_close_tmpdir(&g_dir);
    return test_close_device(g_dev, NULL);
}

static const char *in_dir(const char *name) { return test_path(g_dir, name); }

static lc_shapes_item parsed(const char *caption) {
    lc_shapes_item it;
    assert_ok(lc_shapes_parse_caption(&it, caption));
    return it;
}

// ---- host only ---------------------------------------------------------------------------

static void test_canonical_order(void **state) {
    (void)state;
    lc_shapes_item a = parsed("a small red circle right of a large blue square"), b;
    lc_shapes_item c = parsed("a large blue square left of a small red circle");
    lc_shapes_canonical(&b, &a);
    assert_int_equal(b.relation, LC_REL_LEFT_OF);
    assert_int_equal(b.shape[0].kind, LC_SHAPE_SQUARE);
    assert_int_equal(b.shape[1].colour, LC_COLOUR_RED);
    lc_shapes_judgement r;
    lc_shapes_judgement_of(&r, &a, &c, 1); // the same picture, said two ways
    assert_true(r.all == 1.0 && r.relation == 1.0);
    a = parsed("a small red circle below a large blue square");
    lc_shapes_canonical(&a, &a); // in place
    assert_int_equal(a.relation, LC_REL_ABOVE);
    assert_int_equal(a.shape[0].kind, LC_SHAPE_SQUARE);
    // Generated items: the canonical first shape is the left or upper one.
    for (int64_t i = 0; i < 200; i++) {
        lc_shapes_item it;
        lc_shapes_item_make(&it, 7, i);
        lc_shapes_canonical(&it, &it);
        if (it.n_shapes != 2) continue;
        if (it.relation == LC_REL_LEFT_OF)
            assert_true(it.shape[0].cx < it.shape[1].cx);
        else
            assert_true(it.relation == LC_REL_ABOVE && it.shape[0].cy < it.shape[1].cy);
    }
}

static void test_judgement_counts_attributes(void **state) {
    (void)state;
    lc_shapes_item want[4] = {
        parsed("a small red circle in the top left"),
        parsed("a large green cross at the bottom"),
        parsed("a small white diamond above a large cyan triangle"),
        parsed("a small white diamond left of a large cyan triangle"),
    };
    lc_shapes_item seen[4];
    memcpy(seen, want, sizeof seen);
    lc_shapes_judgement r;
    lc_shapes_judgement_of(&r, seen, want, 4);
    assert_true(r.all == 1 && r.kind == 1 && r.place == 1 && r.relation == 1);
    assert_int_equal(r.n_shapes_requested, 6);
    assert_int_equal(r.n_one, 2);
    assert_int_equal(r.n_two, 2);
    seen[0].shape[0].colour = LC_COLOUR_BLUE;                // one colour of 6 wrong
    seen[1].place = 0;                                       // one place of 2 wrong
    seen[2].relation = LC_REL_LEFT_OF;                       // one relation of 2 wrong
    seen[3] = parsed("a small white diamond in the center"); // the second shape is missing
    lc_shapes_judgement_of(&r, seen, want, 4);
    assert_true(r.all == 0);
    assert_true(fabs(r.colour - 4.0 / 6) < 1e-12); // red->blue, and the missing shape
    assert_true(fabs(r.kind - 5.0 / 6) < 1e-12);
    assert_true(fabs(r.place - 0.5) < 1e-12);
    assert_true(fabs(r.relation - 0.0) < 1e-12);
    assert_true(fabs(r.count - 0.75) < 1e-12);
    // Nothing of a kind asked for: NAN, not 0.
    lc_shapes_judgement_of(&r, seen, want, 2);
    assert_true(isnan(r.relation));
}

// Labels are what the decoder reads back: one-hot logits of an item's labels decode
// to the item (in canonical order).
static void test_labels_decode_back(void **state) {
    (void)state;
    for (int64_t i = 0; i < 100; i++) {
        lc_shapes_item it, back, want;
        lc_shapes_item_make(&it, 3, i);
        int32_t labels[SJ_HEADS];
        sj_labels(labels, 1, &it);
        float z[SJ_HEADS][16] = {{0}};
        const float *logits[SJ_HEADS];
        for (int h = 0; h < SJ_HEADS; h++) {
            assert_true(labels[h] >= 0 && labels[h] < sj_heads[h].classes);
            z[h][labels[h]] = 5;
            logits[h] = z[h];
        }
        sj_decode(&back, logits, 0);
        lc_shapes_canonical(&want, &it);
        lc_shapes_judgement r;
        lc_shapes_judgement_of(&r, &back, &want, 1);
        assert_true(r.all == 1);
        // "none" classes exactly where an attribute does not apply
        assert_int_equal(labels[SJ_KIND2] == LC_SHAPE_KINDS, it.n_shapes == 1);
        assert_int_equal(labels[SJ_PLACE] == LC_PLACES, it.n_shapes == 2);
    }
}

// ---- on the device ---------------------------------------------------------------------------

enum { N_TEST = 300 };

static void test_learns_quickly(void **state) {
    (void)state;
    assert_ok(lc_shapes_judge_new(&g_judge, g_dev, 1));
    lc_train_options o;
    lc_train_options_default(&o);
    o.iters = 80;
    o.batch = 64;
    o.lr = 3e-3;
    o.seed = 1;
    o.log_every = 30;
    lc_shapes_judge_data d = {.n_train = 4000, .n_test = 0, .data_seed = 0};
    lc_train_result res;
    assert_ok(lc_shapes_judge_train(&res, g_judge, &d, &o, NULL, NULL));
    assert_int_equal(res.steps, 80);
    // Fresh test items: never seen in training.
    lc_dataset test;
    lc_shapes_item *items = malloc(N_TEST * sizeof *items);
    assert_non_null(items);
    assert_ok(lc_shapes_generate(&test, items, LC_SHAPES_TEST_FIRST, N_TEST, 0));
    lc_shapes_judgement r;
    assert_ok(lc_shapes_judge_compare(g_judge, &r, test.images, items, N_TEST, 3, 32, 32));
    printf("after %lld steps: kind %.3f colour %.3f size %.3f count %.3f place %.3f "
           "relation %.3f all %.3f (loss %.3f)\n",
           (long long)res.steps, r.kind, r.colour, r.size, r.count, r.place, r.relation, r.all,
           res.loss);
    // Chance: kind 0.2, colour 0.125, size 0.5, count 0.5, place 0.11, relation 0.5.
    assert_true(r.colour > 0.5);
    assert_true(r.kind > 0.3);
    assert_true(r.size > 0.75);
    assert_true(r.count > 0.8);
    assert_true(r.place > 0.4);
    lc_dataset_free(&test);
    free(items);
}

static void test_true_captions_beat_shuffled(void **state) {
    (void)state;
    if (!g_judge) skip();
    lc_dataset test;
    assert_ok(lc_shapes_generate(&test, NULL, LC_SHAPES_TEST_FIRST + 1000, N_TEST, 0));
    const char *shuffled[N_TEST];
    for (int i = 0; i < N_TEST; i++) // a derangement: every image gets another's caption
        shuffled[i] = test.captions[(i + 1 + (i * 7) % 13) % N_TEST];
    lc_shapes_judgement right, wrong;
    assert_ok(lc_shapes_judge_score(g_judge, &right, test.images,
                                    (const char *const *)test.captions, N_TEST, 3, 32, 32));
    assert_ok(lc_shapes_judge_score(g_judge, &wrong, test.images, shuffled, N_TEST, 3, 32, 32));
    printf("true captions: colour %.3f kind %.3f all %.3f; shuffled: colour %.3f kind %.3f "
           "all %.3f\n",
           right.colour, right.kind, right.all, wrong.colour, wrong.kind, wrong.all);
    assert_int_equal(right.n, N_TEST);
    assert_true(right.colour > wrong.colour + 0.3);
    assert_true(right.kind > wrong.kind + 0.15);
    assert_true(right.count > wrong.count + 0.2);
    assert_true(right.all >= wrong.all);
    lc_dataset_free(&test);
}

static void test_saved_judge_loads_back(void **state) {
    (void)state;
    lc_shapes_judge *j = NULL, *back = NULL;
    assert_ok(lc_shapes_judge_new(&j, g_dev, 5));
    lc_train_options o;
    lc_train_options_default(&o);
    o.iters = 2;
    o.batch = 16;
    o.out = in_dir("run");
    lc_shapes_judge_data d = {.n_train = 64, .n_test = 20};
    assert_ok(lc_shapes_judge_train(NULL, j, &d, &o, NULL, NULL));
    assert_ok(lc_shapes_judge_load(&back, g_dev, in_dir("run"))); // the folder
    lc_dataset test;
    assert_ok(lc_shapes_generate(&test, NULL, LC_SHAPES_TEST_FIRST, 40, 0));
    lc_shapes_item a[40], b[40];
    assert_ok(lc_shapes_judge_predict(j, a, test.images, 40, 3, 32, 32));
    assert_ok(lc_shapes_judge_predict(back, b, test.images, 40, 3, 32, 32));
    assert_memory_equal(a, b, sizeof a);
    lc_shapes_judge_free(back);
    back = NULL;
    assert_ok(lc_shapes_judge_load(&back, g_dev, in_dir("run/last.safetensors"))); // the file
    lc_shapes_judge_free(back);
    lc_shapes_judge_free(j);
    lc_dataset_free(&test);
}

static void test_bad_input(void **state) {
    (void)state;
    lc_shapes_judge *j = NULL;
    assert_ok(lc_shapes_judge_new(&j, g_dev, 2));
    float gray[28 * 28] = {0};
    lc_shapes_item out[1];
    // Images of another shape.
    assert_int_equal(lc_shapes_judge_predict(j, out, gray, 1, 1, 28, 28), LC_ERR_SHAPE);
    assert_non_null(strstr(lc_last_error(), "3x32x32"));
    assert_non_null(strstr(lc_last_error(), "1x28x28"));
    lc_shapes_judgement r;
    const char *caps[2] = {"a small red circle in the center", "a purple elephant"};
    assert_int_equal(lc_shapes_judge_score(j, &r, gray, caps, 1, 1, 28, 28), LC_ERR_SHAPE);
    // A caption that is not a shapes caption, named by its index.
    float *img = calloc(2 * 3 * 32 * 32, sizeof *img);
    assert_non_null(img);
    assert_int_equal(lc_shapes_judge_score(j, &r, img, caps, 2, 3, 32, 32), LC_ERR_FORMAT);
    assert_non_null(strstr(lc_last_error(), "caption 1"));
    free(img);
    // No training items.
    lc_train_options o;
    lc_train_options_default(&o);
    lc_shapes_judge_data d = {.n_train = 0};
    assert_int_equal(lc_shapes_judge_train(NULL, j, &d, &o, NULL, NULL), LC_ERR_INVALID_ARG);
    assert_non_null(strstr(lc_last_error(), "training items"));
    lc_shapes_judge_free(j);
    // A checkpoint of another family (a plain classifier).
    lc_st_builder *b;
    assert_ok(lc_st_builder_new(&b));
    float w[2] = {1, 2};
    assert_ok(lc_st_builder_add_f32(b, NULL, "layers.0.weight", 1, (int64_t[]){2}, w));
    assert_ok(lc_st_builder_meta(b, LC_META_FAMILY, "classifier"));
    assert_ok(lc_st_builder_save(b, in_dir("cls.safetensors")));
    lc_st_builder_free(b);
    j = (lc_shapes_judge *)1;
    assert_int_equal(lc_shapes_judge_load(&j, g_dev, in_dir("cls.safetensors")),
                     LC_ERR_INVALID_ARG);
    assert_null(j);
    assert_non_null(strstr(lc_last_error(), "classifier model, not a shapes judge"));
    // A shapes judge whose config does not describe this build's net.
    assert_ok(lc_st_builder_new(&b));
    assert_ok(lc_st_builder_add_f32(b, NULL, "trunk.0.weight", 1, (int64_t[]){2}, w));
    assert_ok(lc_st_builder_meta(b, LC_META_FAMILY, LC_SHAPES_JUDGE_FAMILY));
    assert_ok(lc_st_builder_meta(b, LC_META_CONFIG, "{\"model\":\"conv\",\"hidden\":17}"));
    assert_ok(lc_st_builder_save(b, in_dir("odd.safetensors")));
    lc_st_builder_free(b);
    assert_int_equal(lc_shapes_judge_load(&j, g_dev, in_dir("odd.safetensors")), LC_ERR_FORMAT);
    assert_non_null(strstr(lc_last_error(), "not the conv judge"));
    // Nothing there.
    assert_int_not_equal(lc_shapes_judge_load(&j, g_dev, in_dir("absent")), LC_OK);
    assert_null(j);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_canonical_order),
        cmocka_unit_test(test_judgement_counts_attributes),
        cmocka_unit_test(test_labels_decode_back),
        cmocka_unit_test(test_learns_quickly),
        cmocka_unit_test(test_true_captions_beat_shuffled),
        cmocka_unit_test(test_saved_judge_loads_back),
        cmocka_unit_test(test_bad_input),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
