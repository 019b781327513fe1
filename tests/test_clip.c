// CLIP-style aligned embeddings (src/models/clip*.c, src/tensor/ops_infonce.c): the InfoNCE
// op's loss and gradients against the double-precision host reference (whose gradient is
// itself checked by central differences), with and without duplicate captions; the
// temperature clamp; caption groups, top-k and recall@k on hand-made cases; templates; the
// config as JSON; and a model that learns on a small shapes set within seconds, saved and
// loaded back.
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "test_util.h"
#include "latentcl/clip.h"
#include "latentcl/rng.h"

static lc_device *dev;
static lc_ctx *ctx;

static int setup(void **state) { return test_open_device(&dev, &ctx); }

static int teardown(void **state) { return test_close_device(dev, ctx); }

enum { NB = 7 };

// Device loss and gradients of sim (B, B) and log_scale; compared with the host reference.
static void check_info_nce(const int32_t *groups, float log_scale, double *loss_out,
                           double *dt_out) {
    float sim[NB * NB];
    lc_rng_fill_host(sim, NB * NB, 0, 21, (uint32_t[4]){0, 0, 0, 0});
    for (int i = 0; i < NB * NB; i++)
        sim[i] = 2 * sim[i] - 1;
    lc_step_begin(ctx);
    lc_tensor *ts, *tt, *tg, *loss;
    assert_ok(lc_tensor_from_host(ctx, &ts, sim, 2, (int64_t[]){NB, NB}));
    assert_ok(lc_tensor_from_host(ctx, &tt, &log_scale, 1, (int64_t[]){1}));
    assert_ok(lc_tensor_from_host_i32(ctx, &tg, groups, 1, (int64_t[]){NB}));
    assert_ok(lc_tensor_set_requires_grad(ctx, ts));
    assert_ok(lc_tensor_set_requires_grad(ctx, tt));
    assert_ok(lc_info_nce(ctx, &loss, ts, tt, tg, 100.0f));
    assert_ok(lc_backward(ctx, loss));
    float got, gs[NB * NB], gt;
    assert_ok(lc_tensor_to_host(ctx, &got, loss));
    assert_ok(lc_tensor_grad_to_host(ctx, gs, ts));
    assert_ok(lc_tensor_grad_to_host(ctx, &gt, tt));
    double ds[NB * NB], dt;
    double want = lc_info_nce_host(ds, &dt, sim, log_scale, groups, NB, 100.0f);
    assert_float_equal(got, want, 1e-4 * fmax(1, fabs(want)));
    double gmax = 0;
    for (int i = 0; i < NB * NB; i++) {
        assert_float_equal(gs[i], ds[i], 1e-5 + 1e-4 * fabs(ds[i]));
        gmax = fmax(gmax, fabs(ds[i]));
    }
    assert_true(gmax > 1e-3);
    assert_float_equal(gt, dt, 1e-5 + 1e-4 * fabs(dt));
    // The host gradient against central differences of the host loss (h = 1e-3 in double,
    // of float inputs nudged as floats: tolerance for float rounding of the inputs).
    for (int i = 0; i < NB * NB; i += 5) {
        float keep = sim[i];
        sim[i] = keep + 1e-4f;
        double lp = lc_info_nce_host(NULL, NULL, sim, log_scale, groups, NB, 100.0f);
        sim[i] = keep - 1e-4f;
        double lm = lc_info_nce_host(NULL, NULL, sim, log_scale, groups, NB, 100.0f);
        sim[i] = keep;
        double h = ((double)(keep + 1e-4f) - (double)(keep - 1e-4f));
        assert_float_equal((lp - lm) / h, ds[i], 2e-3 * fmax(1e-2, fabs(ds[i])) + 1e-5);
    }
    double lp = lc_info_nce_host(NULL, NULL, sim, log_scale + 1e-4f, groups, NB, 100.0f);
    double lm = lc_info_nce_host(NULL, NULL, sim, log_scale - 1e-4f, groups, NB, 100.0f);
    double h = (double)(log_scale + 1e-4f) - (double)(log_scale - 1e-4f);
    assert_float_equal((lp - lm) / h, dt, 2e-3 * fmax(1e-2, fabs(dt)) + 1e-5);
    *loss_out = want;
    *dt_out = dt;
}

static void test_info_nce_distinct(void **state) {
    (void)state;
    int32_t g[NB] = {0, 1, 2, 3, 4, 5, 6};
    double loss, dt;
    check_info_nce(g, (float)log(1 / 0.07), &loss, &dt);
    assert_true(loss > 0);
    // With distinct captions the loss is the mean of two ordinary cross-entropies.
    float sim[NB * NB];
    lc_rng_fill_host(sim, NB * NB, 0, 21, (uint32_t[4]){0, 0, 0, 0});
    double s = 1 / 0.07, ce = 0;
    for (int i = 0; i < NB; i++) {
        double zr = 0, zc = 0;
        for (int k = 0; k < NB; k++) {
            zr += exp(s * (2 * sim[i * NB + k] - 1));
            zc += exp(s * (2 * sim[k * NB + i] - 1));
        }
        ce += 2 * (log(zr) + log(zc)) / 2 - 2 * s * (2 * sim[i * NB + i] - 1);
    }
    assert_float_equal(loss, ce / (2 * NB), 1e-3);
}

static void test_info_nce_duplicates(void **state) {
    (void)state;
    int32_t g[NB] = {0, 1, 0, 3, 1, 5, 0}; // pairs 0, 2, 6 and 1, 4 share captions
    double loss, dt, loss0, dt0;
    check_info_nce(g, 1.0f, &loss, &dt);
    int32_t distinct[NB] = {0, 1, 2, 3, 4, 5, 6};
    check_info_nce(distinct, 1.0f, &loss0, &dt0);
    assert_true(fabs(loss - loss0) > 1e-3); // the duplicates changed the targets
    // Hand-made: similarity 1 within a caption group, -0.2 across.
    float sim[NB * NB];
    for (int i = 0; i < NB; i++)
        for (int j = 0; j < NB; j++)
            sim[i * NB + j] = g[i] == g[j] ? 1.0f : -0.2f;
    double multi = lc_info_nce_host(NULL, NULL, sim, 2.0f, g, NB, 100.0f);
    // Exact value: every row of a group of size n has n equal top logits: loss = mean log n
    // plus the mass lost to the negatives.
    double s = exp(2.0), want = 0;
    for (int i = 0; i < NB; i++) {
        int n = 0;
        for (int j = 0; j < NB; j++)
            n += g[i] == g[j];
        double z = n * exp(s) + (NB - n) * exp(-0.2 * s);
        want += log(z) - s; // row and column alike
    }
    assert_float_equal(multi, want / NB, 1e-9);
}

static void test_temperature_clamp(void **state) {
    (void)state;
    int32_t g[NB] = {0, 1, 2, 3, 4, 5, 6};
    float sim[NB * NB];
    lc_rng_fill_host(sim, NB * NB, 0, 5, (uint32_t[4]){0, 0, 0, 0});
    // exp(t) = 200 is clamped to 100: the loss equals the one at t = ln 100, and t gets no
    // gradient; just below the clamp it does.
    double dt_hi, dt_lo;
    double hi = lc_info_nce_host(NULL, &dt_hi, sim, (float)log(200.0), g, NB, 100.0f);
    double at = lc_info_nce_host(NULL, NULL, sim, (float)log(100.0), g, NB, 100.0f);
    lc_info_nce_host(NULL, &dt_lo, sim, (float)log(90.0), g, NB, 100.0f);
    assert_float_equal(hi, at, 1e-6);
    assert_true(dt_hi == 0);
    assert_true(fabs(dt_lo) > 1e-6);
    double loss_hi, loss_at, dt_at;
    check_info_nce(g, (float)log(200.0), &loss_hi, &dt_hi); // device: dt == 0 as well
    check_info_nce(g, (float)log(100.0) - 1e-3f, &loss_at, &dt_at);
    assert_true(dt_hi == 0);
    assert_true(fabs(dt_at) > 1e-6);
    assert_float_equal(loss_hi, loss_at, 1e-3 * loss_at);
    // The model reports the clamped scale.
    lc_clip_config c;
    lc_vocab v;
    const char *caps[] = {"a red circle"};
    assert_ok(lc_vocab_build(&v, caps, 1, 1, 0));
    lc_clip_config_default(&c, v.size);
    c.text.dim = 16, c.text.heads = 2, c.hidden = 16, c.embed = 8;
    lc_clip *m;
    assert_ok(lc_clip_new(&m, dev, &c, &v, 1));
    double scale;
    assert_ok(lc_clip_logit_scale(m, &scale));
    assert_float_equal(scale, 1 / 0.07, 1e-3);
    const lc_param_info *pi = lc_params_find(lc_clip_params(m), "logit_scale");
    float big = (float)log(500.0);
    assert_ok(lc_write(dev, lc_clip_params(m)->data, pi->offset * 4, &big, 4));
    assert_ok(lc_clip_logit_scale(m, &scale));
    assert_true(scale == 100);
    lc_clip_free(m);
    lc_vocab_free(&v);
}

static void test_groups_topk_recall(void **state) {
    (void)state;
    int32_t ids[5 * 3] = {1, 5, 2, /**/ 1, 6, 2, /**/ 1, 5, 2, /**/ 1, 7, 2, /**/ 1, 6, 2};
    int32_t g[5];
    lc_caption_groups(g, ids, 5, 3);
    assert_memory_equal(g, ((int32_t[]){0, 1, 0, 3, 1}), sizeof g);
    float x[6] = {0.1f, 0.9f, 0.5f, 0.9f, -1, 0.7f};
    int64_t top[3];
    lc_top_k(top, x, 6, 3);
    assert_memory_equal(top, ((int64_t[]){1, 3, 5}), sizeof top);
    // Embeddings in 2-D: image i at angle a_i, caption i at angle b_i. Image 0 is nearest
    // caption 2 (the same words: a hit), image 3 nearest caption 1 (a miss at 1).
    float u[5 * 2], v[5 * 2];
    double a[5] = {0.0, 1.0, 0.05, 2.05, 1.02}, b[5] = {0.3, 2.0, 0.02, 3.0, 1.05};
    for (int i = 0; i < 5; i++) {
        u[2 * i] = (float)cos(a[i]), u[2 * i + 1] = (float)sin(a[i]);
        v[2 * i] = (float)cos(b[i]), v[2 * i + 1] = (float)sin(b[i]);
    }
    lc_retrieval r;
    assert_ok(lc_retrieval_eval(&r, u, v, 5, 2, ids, 3, LC_SIM_COSINE));
    assert_int_equal(r.n, 5);
    // i2t at 1: 0 -> cap 2 (same words) hit; 1 -> cap 4 (same) hit; 2 -> cap 2 hit;
    // 3 -> cap 1 miss; 4 -> cap 4 hit.
    assert_float_equal(r.recall_i2t[0], 0.8, 1e-9);
    assert_float_equal(r.recall_i2t[2], 1.0, 1e-9);
    // t2i at 1: cap 0 -> img 2 (same words) hit; cap 1 -> img 3 miss; cap 2 -> img 2 hit;
    // cap 3 -> img 3 hit; cap 4 -> img 4 hit.
    assert_float_equal(r.recall_t2i[0], 0.8, 1e-9);
    float sim[2];
    lc_similarity_matrix(sim, u, 1, v, 2, 2, LC_SIM_NEG_L2);
    assert_true(sim[0] <= 0 && sim[0] > sim[1]);
}

static void test_templates(void **state) {
    (void)state;
    lc_templates t;
    lc_templates_train(&t);
    assert_int_equal(t.n, 4);
    char buf[128];
    assert_ok(lc_template_fill(buf, sizeof buf, t.items[3], "T-shirt/top"));
    assert_string_equal(buf, "a t-shirt/top in black and white");
    lc_templates_zeroshot(&t);
    assert_string_equal(t.items[1], "a small photo of the {class}");
    char *dir = test_tmpdir(), path[512];
    snprintf(path, sizeof path, "%s/t.txt", dir);
    const char *good = "# mine\n\nthe {class}\n  a blurry {class}\r\n";
    assert_int_equal(test_write_file(path, good, strlen(good)), 0);
    assert_ok(lc_templates_read(&t, path));
    assert_int_equal(t.n, 2);
    assert_string_equal(t.items[1], "a blurry {class}");
    const char *bad = "the {class}\nno mark here\n";
    assert_int_equal(test_write_file(path, bad, strlen(bad)), 0);
    assert_int_equal(lc_templates_read(&t, path), LC_ERR_FORMAT);
    assert_non_null(strstr(lc_last_error(), ":2:"));
    assert_int_equal(test_write_file(path, "# only\n", 7), 0);
    assert_int_equal(lc_templates_read(&t, path), LC_ERR_FORMAT);
    assert_int_equal(lc_templates_read(&t, "/nonexistent/t.txt"), LC_ERR_IO);
    test_rmtree(dir);
    free(dir);
    // Captions and vocabulary of a labelled set without captions.
    lc_dataset d = {.n = 3, .channels = 1, .height = 4, .width = 4, .n_classes = 2};
    int32_t labels[3] = {1, 0, 1};
    char *names[2] = {"Sandal", "Ankle boot"};
    d.labels = labels, d.class_names = names;
    lc_templates_train(&t);
    char **caps;
    assert_ok(lc_clip_captions(&caps, &d, &t));
    assert_string_equal(caps[0], "a ankle boot");
    assert_string_equal(caps[1], "a picture of a sandal");
    assert_string_equal(caps[2], "an image of a ankle boot");
    lc_captions_free(caps, 3);
    lc_vocab v;
    assert_ok(lc_clip_build_vocab(&v, &d, &t));
    assert_int_not_equal(lc_vocab_id(&v, "white", 5), LC_TOK_UNK);
    assert_int_not_equal(lc_vocab_id(&v, "sandal", 6), LC_TOK_UNK);
    assert_int_equal(lc_vocab_id(&v, "photo", 5), LC_TOK_UNK);
    lc_vocab_free(&v);
}

static void test_config_json(void **state) {
    (void)state;
    lc_clip_config c, back;
    lc_clip_config_default(&c, 40);
    c.shapes = 1;
    c.word_dropout = 0.25;
    snprintf(c.data, sizeof c.data, "shapes");
    char *json;
    assert_ok(lc_clip_config_to_json(&json, &c));
    assert_ok(lc_clip_config_from_json(&back, json));
    free(json);
    assert_int_equal(back.text.vocab, 40);
    assert_int_equal(back.embed, 128);
    assert_int_equal(back.shapes, 1);
    assert_float_equal(back.word_dropout, 0.25, 0);
    assert_int_equal(back.templates.n, 4);
    assert_string_equal(back.templates.items[2], "an image of a {class}");
    assert_string_equal(back.data, "shapes");
    assert_float_equal(back.init_log_scale, log(1 / 0.07), 1e-12);
    assert_int_equal(lc_clip_config_from_json(&back, "{\"channels\":3}"), LC_ERR_FORMAT);
    c.height = 30;
    assert_int_equal(lc_clip_config_check(&c), LC_ERR_INVALID_ARG);
    c.height = 32, c.word_dropout = 1;
    assert_int_equal(lc_clip_config_check(&c), LC_ERR_INVALID_ARG);
}

// Trains on 2,000 one-shape images for 120 steps of 64: image-to-caption retrieval over
// 200 held-out pairs is far above chance; the run saves and loads back to the same model.
static void test_learns_shapes(void **state) {
    (void)state;
    lc_dataset train, test;
    assert_ok(lc_clip_shapes(&train, NULL, 0, 2000, 3, 1));
    assert_ok(lc_clip_shapes(&test, NULL, LC_SHAPES_TEST_FIRST, 200, 3, 1));
    lc_vocab v;
    assert_ok(lc_clip_build_vocab(&v, &train, NULL));
    lc_clip_config c;
    lc_clip_config_default(&c, v.size);
    c.shapes = 1;
    c.text.dim = 64, c.text.layers = 1, c.hidden = 128, c.embed = 64;
    lc_clip *m;
    assert_ok(lc_clip_new(&m, dev, &c, &v, 7));
    assert_ok(lc_clip_set_data(m, &train, NULL));
    lc_train_model tm;
    assert_ok(lc_clip_train_model(&tm, m));
    lc_train_options o;
    lc_train_options_default(&o);
    o.iters = 120, o.batch = 64, o.lr = 3e-3, o.log_every = 60;
    char *dir = test_tmpdir(), run[512];
    snprintf(run, sizeof run, "%s/run", dir);
    o.out = run;
    lc_clip_eval before, after;
    assert_ok(lc_clip_evaluate(m, &before, &test, 0, NULL));
    lc_train_result res;
    assert_ok(lc_train(&res, dev, &tm, &o, NULL, NULL));
    assert_ok(lc_clip_evaluate(m, &after, &test, 0, NULL));
    print_message("recall@1 i2t %.3f -> %.3f, t2i %.3f -> %.3f, @5 i2t %.3f, loss %.3f\n",
                  before.retrieval.recall_i2t[0], after.retrieval.recall_i2t[0],
                  before.retrieval.recall_t2i[0], after.retrieval.recall_t2i[0],
                  after.retrieval.recall_i2t[1], res.loss);
    // Chance at 1 is about 1/200 per distinct caption: ~0.01 with the repeats.
    assert_true(after.retrieval.recall_i2t[1] > 0.3);
    assert_true(after.retrieval.recall_t2i[1] > 0.3);
    assert_true(after.retrieval.recall_i2t[0] > 3 * before.retrieval.recall_i2t[0]);
    assert_true(isnan(after.zeroshot_accuracy) || after.zeroshot_accuracy >= 0);
    // Saved and loaded: the same embeddings.
    lc_clip *back;
    assert_ok(lc_clip_load(&back, dev, run, false));
    float e1[4 * 64], e2[4 * 64];
    assert_ok(lc_clip_embed_images(m, e1, test.images, 4));
    assert_ok(lc_clip_embed_images(back, e2, test.images, 4));
    for (int i = 0; i < 4 * 64; i++)
        assert_float_equal(e1[i], e2[i], 1e-6);
    const char *q[2] = {test.captions[0], "a zebra circle"};
    int64_t unk = 0;
    assert_ok(lc_clip_embed_texts(back, e2, q, 2, &unk));
    assert_int_equal(unk, 1);
    assert_int_equal(lc_clip_vocab(back)->size, v.size);
    lc_clip_free(back);
    test_rmtree(dir);
    free(dir);
    lc_clip_free(m);
    lc_vocab_free(&v);
    lc_dataset_free(&train);
    lc_dataset_free(&test);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_info_nce_distinct), cmocka_unit_test(test_info_nce_duplicates),
        cmocka_unit_test(test_temperature_clamp), cmocka_unit_test(test_groups_topk_recall),
        cmocka_unit_test(test_templates),         cmocka_unit_test(test_config_json),
        cmocka_unit_test(test_learns_shapes),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
