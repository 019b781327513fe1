// The shapes generator: determinism, captions that agree with the attributes and
// with the pixels, vocabulary coverage, parsing captions back.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "latentcl/data.h"
#include "test_util.h"

enum { S = LC_SHAPES_SIZE, PLANE = 3 * S * S };

static void test_same_seed_same_bytes(void **state) {
    lc_dataset a, b, c;
    assert_ok(lc_shapes_generate(&a, NULL, 0, 200, 42));
    assert_ok(lc_shapes_generate(&b, NULL, 0, 200, 42));
    assert_ok(lc_shapes_generate(&c, NULL, 0, 200, 43));
    assert_memory_equal(a.images, b.images, sizeof(float) * 200 * PLANE);
    for (int i = 0; i < 200; i++)
        assert_string_equal(a.captions[i], b.captions[i]);
    assert_true(lc_dataset_checksum(&a) == lc_dataset_checksum(&b));
    assert_true(lc_dataset_checksum(&a) != lc_dataset_checksum(&c));
    int differ = 0;
    for (int i = 0; i < 200; i++)
        differ += strcmp(a.captions[i], c.captions[i]) != 0;
    assert_true(differ > 150);
    // Item i does not depend on how many items are made or where the slice starts.
    lc_dataset slice;
    assert_ok(lc_shapes_generate(&slice, NULL, 150, 10, 42));
    assert_memory_equal(slice.images, a.images + 150 * PLANE, sizeof(float) * 10 * PLANE);
    assert_string_equal(slice.captions[3], a.captions[153]);
    assert_int_equal(slice.labels[3], a.labels[153]);
    lc_dataset_free(&slice);
    lc_dataset_free(&a);
    lc_dataset_free(&b);
    lc_dataset_free(&c);
}

// Known values pin the generator: changing it changes every stored dataset and test.
static void test_pinned_items(void **state) {
    char caption[160];
    lc_shapes_item item;
    lc_shapes_item_make(&item, 0, 0);
    lc_shapes_caption(caption, sizeof caption, &item);
    assert_string_equal(caption, "a large purple diamond in the center");
    lc_shapes_item_make(&item, 1234, 99);
    lc_shapes_caption(caption, sizeof caption, &item);
    assert_string_equal(caption, "a small red cross right of a large red circle");
    lc_dataset d;
    assert_ok(lc_shapes_generate(&d, NULL, 0, 100, 7));
    assert_true(lc_dataset_checksum(&d) == 0xecf667dbb6f406eeull);
    lc_dataset_free(&d);
}

static void pixel(float rgb[3], const float *img, int x, int y) {
    for (int c = 0; c < 3; c++)
        rgb[c] = img[(c * S + y) * S + x];
}

static void test_attributes_agree(void **state) {
    enum { N = 3000 };
    lc_shapes_item *items = malloc(N * sizeof *items);
    lc_dataset d;
    assert_ok(lc_shapes_generate(&d, items, 0, N, 5));
    int kinds[LC_SHAPE_KINDS] = {0}, colours[LC_COLOURS] = {0}, sizes[LC_SIZES] = {0};
    int places[LC_PLACES] = {0}, relations[LC_RELATIONS] = {0}, pairs = 0;
    for (int i = 0; i < N; i++) {
        const lc_shapes_item *it = &items[i];
        assert_true(lc_shapes_caption_matches(it, d.captions[i]));
        assert_int_equal(d.labels[i], it->shape[0].kind);
        assert_true(it->n_shapes == 1 || it->n_shapes == 2);
        for (int k = 0; k < it->n_shapes; k++) {
            const lc_shape *s = &it->shape[k];
            kinds[s->kind]++, colours[s->colour]++, sizes[s->size]++;
            // Inside the picture, and the centre pixel has the shape's colour.
            assert_true(s->cx - s->half_size >= 0 && s->cx + s->half_size < S);
            assert_true(s->cy - s->half_size >= 0 && s->cy + s->half_size < S);
            float rgb[3];
            pixel(rgb, d.images + (size_t)i * PLANE, s->cx, s->cy);
            for (int c = 0; c < 3; c++)
                assert_float_equal(rgb[c], lc_shape_colour_rgb[s->colour][c] / 255.0f, 1e-6);
        }
        if (it->n_shapes == 1) {
            places[it->place]++;
            // The place agrees with the position: columns left/centre/right, rows
            // top/middle/bottom.
            int cx = it->shape[0].cx, cy = it->shape[0].cy;
            assert_int_equal(cx < 12 ? 0 : cx < 20 ? 1 : 2, it->place % 3);
            assert_int_equal(cy < 12 ? 0 : cy < 20 ? 1 : 2, it->place / 3);
        } else {
            pairs++;
            relations[it->relation]++;
            const lc_shape *a = &it->shape[0], *b = &it->shape[1];
            switch (it->relation) {
            case LC_REL_LEFT_OF: assert_true(a->cx + a->half_size < b->cx - b->half_size); break;
            case LC_REL_RIGHT_OF: assert_true(a->cx - a->half_size > b->cx + b->half_size); break;
            case LC_REL_ABOVE: assert_true(a->cy + a->half_size < b->cy - b->half_size); break;
            default: assert_true(a->cy - a->half_size > b->cy + b->half_size); break;
            }
        }
        // Outside every shape's box the picture is black.
        for (int y = 0; y < S; y++)
            for (int x = 0; x < S; x++) {
                bool near = false;
                for (int k = 0; k < it->n_shapes; k++) {
                    const lc_shape *s = &it->shape[k];
                    near |= abs(x - s->cx) <= s->half_size && abs(y - s->cy) <= s->half_size;
                }
                if (near) continue;
                float rgb[3];
                pixel(rgb, d.images + (size_t)i * PLANE, x, y);
                assert_true(rgb[0] == 0 && rgb[1] == 0 && rgb[2] == 0);
            }
    }
    // Every word of the vocabulary occurs.
    for (int k = 0; k < LC_SHAPE_KINDS; k++)
        assert_true(kinds[k] > 100);
    for (int k = 0; k < LC_COLOURS; k++)
        assert_true(colours[k] > 100);
    for (int k = 0; k < LC_SIZES; k++)
        assert_true(sizes[k] > 500);
    for (int k = 0; k < LC_PLACES; k++)
        assert_true(places[k] > 50);
    for (int k = 0; k < LC_RELATIONS; k++)
        assert_true(relations[k] > 200);
    assert_true(pairs > N / 3 && pairs < 2 * N / 3);
    free(items);
    lc_dataset_free(&d);
}

static void test_captions_parse(void **state) {
    lc_shapes_item it;
    assert_ok(lc_shapes_parse_caption(&it, "a small red circle left of a large blue square"));
    assert_int_equal(it.n_shapes, 2);
    assert_int_equal(it.shape[0].kind, LC_SHAPE_CIRCLE);
    assert_int_equal(it.shape[0].colour, LC_COLOUR_RED);
    assert_int_equal(it.shape[0].size, LC_SIZE_SMALL);
    assert_int_equal(it.relation, LC_REL_LEFT_OF);
    assert_int_equal(it.shape[1].kind, LC_SHAPE_SQUARE);
    assert_int_equal(it.shape[1].colour, LC_COLOUR_BLUE);
    assert_int_equal(it.shape[1].size, LC_SIZE_LARGE);
    assert_ok(lc_shapes_parse_caption(&it, "a large white cross in the bottom right"));
    assert_int_equal(it.n_shapes, 1);
    assert_int_equal(it.place, 8);
    const char *bad[] = {"",
                         "a small red circle",
                         "a red circle in the center",
                         "a small red circle in the center ",
                         "a small red blob on the left",
                         "a small red circle next to a small red circle",
                         "a small red circle above a",
                         "the small red circle on the left"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_int_equal(lc_shapes_parse_caption(&it, bad[i]), LC_ERR_FORMAT);
    lc_shapes_item made;
    lc_shapes_item_make(&made, 3, 3);
    char caption[160];
    lc_shapes_caption(caption, sizeof caption, &made);
    assert_true(lc_shapes_caption_matches(&made, caption));
    made.shape[0].colour = (lc_shape_colour)((made.shape[0].colour + 1) % LC_COLOURS);
    assert_false(lc_shapes_caption_matches(&made, caption));
}

static void test_data_open_shapes(void **state) {
    lc_data_options opt = {.split = LC_SPLIT_TRAIN, .seed = 9, .shapes_count = 50};
    lc_data train, test;
    assert_ok(lc_data_open(&train, "shapes", &opt));
    opt.split = LC_SPLIT_TEST;
    assert_ok(lc_data_open(&test, "shapes", &opt));
    assert_int_equal(train.images.n, 50);
    assert_int_equal(train.images.channels, 3);
    assert_int_equal(train.images.n_classes, LC_SHAPE_KINDS);
    assert_string_equal(train.images.class_names[0], "circle");
    // The test split is made of other items.
    assert_memory_not_equal(train.images.images, test.images.images, sizeof(float) * PLANE * 50);
    lc_data_free(&train);
    lc_data_free(&test);
    lc_dataset d;
    assert_int_equal(lc_shapes_generate(&d, NULL, 0, 0, 1), LC_ERR_INVALID_ARG);
}

static void test_write_folder(void **state) {
    char *tmp = test_tmpdir();
    char out[4096];
    snprintf(out, sizeof out, "%s/set", tmp);
    assert_ok(lc_shapes_write_folder(out, 10, 40, 77));
    // Read back through the PNG folder loader: the same pixels, captions and labels.
    lc_dataset disk, mem;
    assert_ok(lc_image_folder_load(&disk, out));
    assert_ok(lc_shapes_generate(&mem, NULL, 10, 40, 77));
    assert_int_equal(disk.n, 40);
    assert_memory_equal(disk.images, mem.images, sizeof(float) * 40 * PLANE);
    assert_string_equal(disk.captions[39], mem.captions[39]);
    assert_int_equal(disk.labels[5], mem.labels[5]);
    assert_true(lc_dataset_checksum(&disk) == lc_dataset_checksum(&mem));
    lc_dataset_free(&disk);
    lc_dataset_free(&mem);
    // attributes.tsv: a header and one row per image, agreeing with the generator.
    char path[4200];
    snprintf(path, sizeof path, "%s/attributes.tsv", out);
    char *text = test_read_file(path, NULL);
    assert_non_null(text);
    int lines = 0;
    for (char *c = text; *c; c++)
        lines += *c == '\n';
    assert_int_equal(lines, 41);
    lc_shapes_item item;
    lc_shapes_item_make(&item, 77, 10);
    char want[256];
    snprintf(want, sizeof want, "\n000000.png\t%d\t", item.n_shapes);
    assert_non_null(strstr(text, want));
    free(text);
    // An existing non-empty folder is refused and left alone; nothing else is left behind.
    assert_int_equal(lc_shapes_write_folder(out, 0, 5, 1), LC_ERR_EXISTS);
    assert_int_equal(
        test_system("test $(ls '%s' | wc -l) -eq 42 && test $(ls '%s' | wc -l) -eq 1", out, tmp),
        0);
    // An empty folder is filled.
    snprintf(out, sizeof out, "%s/empty", tmp);
    assert_int_equal(test_system("mkdir '%s'", out), 0);
    assert_ok(lc_shapes_write_folder(out, 0, 3, 1));
    assert_int_equal(test_system("test -f '%s/000002.png' && test -f '%s/captions.tsv'", out, out),
                     0);
    // A folder that cannot be made: an error and no temporary folder left.
    snprintf(out, sizeof out, "%s/no/such/parent", tmp);
    assert_int_equal(lc_shapes_write_folder(out, 0, 3, 1), LC_ERR_IO);
    assert_int_equal(test_system("test $(ls '%s' | wc -l) -eq 2", tmp), 0);
    test_rmtree(tmp);
    free(tmp);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_same_seed_same_bytes), cmocka_unit_test(test_pinned_items),
        cmocka_unit_test(test_attributes_agree),     cmocka_unit_test(test_captions_parse),
        cmocka_unit_test(test_data_open_shapes),     cmocka_unit_test(test_write_folder),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
