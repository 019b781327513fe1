// The 2-D diffusion model end to end (src/models/diffusion_mlp.c, diffusion_train.c): the
// MLP learns two moons in a few seconds through the shared training loop, its samples lie
// near the data and cover both moons; points from CSV; config round trip; same-seed runs.
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "test_util.h"
#include "latentcl/diffusion.h"
#include "latentcl/checkpoint.h"
#include "latentcl/points.h"

static lc_device *g_dev;
static char *g_dir;

static int setup(void **state) {
    return test_open_device(&g_dev, NULL) || test_open_tmpdir(&g_dir);
}

static int teardown(void **state) {
    test_close_tmpdir(&g_dir);
    return test_close_device(g_dev, NULL);
}

enum { NPTS = 4000, NS = 600 };

// Trains the MLP on moons for `iters` steps (seed 1) and returns the model.
static lc_diffusion *train_moons(long iters, const char *out, float *xy, int32_t *lab) {
    lc_points_moons(xy, lab, NPTS, 0.05, 0);
    lc_diffusion_config cfg;
    lc_diffusion_config_default(&cfg, LC_DIF_NET_MLP, false);
    lc_diffusion *m;
    assert_ok(lc_diffusion_new(&m, g_dev, &cfg, 1));
    assert_ok(lc_diffusion_set_points(m, xy, NULL, NPTS));
    lc_train_model tm;
    assert_ok(lc_diffusion_train_model(&tm, m));
    lc_train_options o;
    lc_train_options_default(&o);
    o.iters = iters;
    o.batch = 256;
    o.lr = 3e-3;
    o.seed = 1;
    o.out = out;
    o.log_every = 100;
    lc_train_result r;
    assert_ok(lc_train(&r, g_dev, &tm, &o, NULL, NULL));
    assert_true(isfinite(r.loss));
    return m;
}

// Samples within 0.15 of a data point (moons span about 3 x 1.5), both moons covered.
static void test_learns_moons(void **state) {
    (void)state;
    float *xy = malloc(NPTS * 2 * sizeof *xy), *x = malloc(NS * 2 * sizeof *x);
    int32_t *lab = malloc(NPTS * sizeof *lab);
    lc_diffusion *m = train_moons(1500, NULL, xy, lab);
    lc_dif_sample_options so;
    lc_dif_sample_options_default(&so);
    so.seed = 3;
    assert_ok(lc_diffusion_sample(m, x, NS, &so));
    int near = 0, moon[2] = {0, 0};
    double sum = 0;
    for (int i = 0; i < NS; i++) {
        double best = INFINITY;
        int which = 0;
        for (int j = 0; j < NPTS; j++) {
            double dx = x[2 * i] - xy[2 * j], dy = x[2 * i + 1] - xy[2 * j + 1],
                   d = dx * dx + dy * dy;
            if (d < best) best = d, which = lab[j];
        }
        best = sqrt(best);
        sum += best;
        near += best < 0.15;
        moon[which]++;
    }
    print_message("moons: mean distance to the data %.4f, %d of %d within 0.15, moons %d / %d\n",
                  sum / NS, near, NS, moon[0], moon[1]);
    assert_true(near >= 0.9 * NS);
    assert_true(moon[0] >= 0.3 * NS && moon[1] >= 0.3 * NS);
    // pure noise is far from the data by the same measure: the check can fail
    float noise[2] = {2.5f, -1.5f};
    double dmin = INFINITY;
    for (int j = 0; j < NPTS; j++)
        dmin = fmin(dmin, hypot(noise[0] - xy[2 * j], noise[1] - xy[2 * j + 1]));
    assert_true(dmin > 0.15);
    lc_diffusion_free(m);
    free(xy), free(x), free(lab);
}

// The config survives its JSON; a checkpoint of another family is refused by name.
static void test_config_and_wrong_family(void **state) {
    (void)state;
    lc_diffusion_config c, back;
    lc_diffusion_config_default(&c, LC_DIF_NET_UNET, true);
    c.n_classes = 10;
    c.schedule = LC_DIF_COSINE;
    c.target = LC_DIF_PRED_V;
    snprintf(c.data, sizeof c.data, "fashion-mnist");
    char *j;
    assert_ok(lc_diffusion_config_to_json(&j, &c));
    assert_ok(lc_diffusion_config_from_json(&back, j));
    free(j);
    assert_int_equal(back.widths[2], 64);
    assert_int_equal(back.n_classes, 10);
    assert_int_equal(back.schedule, LC_DIF_COSINE);
    assert_int_equal(back.target, LC_DIF_PRED_V);
    assert_string_equal(back.data, "fashion-mnist");
    assert_int_equal(lc_diffusion_config_from_json(&back, "{\"net\":\"gan\"}"), LC_ERR_FORMAT);
    char path[4200];
    snprintf(path, sizeof path, "%s/other.safetensors", g_dir);
    lc_st_builder *b;
    assert_ok(lc_st_builder_new(&b));
    assert_ok(lc_st_builder_meta(b, LC_META_FAMILY, "hmm"));
    float v[2] = {1, 2};
    int64_t shape[1] = {2};
    assert_ok(lc_st_builder_add_f32(b, "", "transmat", 1, shape, v));
    assert_ok(lc_st_builder_save(b, path));
    lc_st_builder_free(b);
    lc_diffusion *m = NULL;
    assert_int_equal(lc_diffusion_load(&m, g_dev, path, false), LC_ERR_FORMAT);
    assert_non_null(strstr(lc_last_error(), "not a diffusion model"));
    assert_null(m);
}

// Points from CSV: two columns under a header; one column is refused.
static void test_points_csv(void **state) {
    (void)state;
    char path[4200];
    snprintf(path, sizeof path, "%s/p.csv", g_dir);
    const char *good = "x,y,z\n1,2,9\n3,4,9\n";
    assert_int_equal(test_write_file(path, good, strlen(good)), 0);
    float *xy;
    int64_t n;
    assert_ok(lc_points_read_csv(&xy, &n, path));
    assert_int_equal(n, 2);
    assert_true(xy[0] == 1 && xy[1] == 2 && xy[2] == 3 && xy[3] == 4);
    free(xy);
    const char *bad = "x\n1\n2\n";
    assert_int_equal(test_write_file(path, bad, strlen(bad)), 0);
    assert_int_equal(lc_points_read_csv(&xy, &n, path), LC_ERR_FORMAT);
    assert_non_null(strstr(lc_last_error(), "needs two"));
}

// Training stopped and resumed gives the same weights, bit for bit, as training straight
// through (timesteps and noise are keyed by (seed, step, item), not drawn from a stream).
static lc_status train_steps(const char *out, long iters, bool resume) {
    float xy[2 * 300];
    int32_t lab[300];
    lc_points_moons(xy, lab, 300, 0.05, 0);
    lc_diffusion_config cfg;
    lc_diffusion_config_default(&cfg, LC_DIF_NET_MLP, false);
    cfg.hidden = 32;
    cfg.n_classes = 2;
    lc_diffusion *m;
    LC_TRY(lc_diffusion_new(&m, g_dev, &cfg, 4));
    lc_status s = lc_diffusion_set_points(m, xy, lab, 300);
    lc_train_model tm;
    if (s == LC_OK) s = lc_diffusion_train_model(&tm, m);
    lc_train_options o;
    lc_train_options_default(&o);
    o.iters = iters;
    o.batch = 64;
    o.seed = 9;
    o.ema = 0.9;
    o.out = out;
    o.resume = resume;
    if (s == LC_OK) s = lc_train(NULL, g_dev, &tm, &o, NULL, NULL);
    lc_diffusion_free(m);
    return s;
}

static void read_weights(float **w, size_t *n, const char *run, bool ema) {
    lc_diffusion *m;
    assert_ok(lc_diffusion_load(&m, g_dev, run, ema));
    lc_params *p = lc_diffusion_params(m);
    *n = p->total;
    *w = malloc(*n * sizeof **w);
    assert_ok(lc_read(g_dev, *w, p->data, 0, *n * sizeof **w));
    lc_diffusion_free(m);
}

static void test_resume_bit_exact(void **state) {
    (void)state;
    char a[4200], b[4200];
    snprintf(a, sizeof a, "%s/straight", g_dir);
    snprintf(b, sizeof b, "%s/resumed", g_dir);
    assert_ok(train_steps(a, 20, false));
    assert_ok(train_steps(b, 9, false));
    assert_ok(train_steps(b, 20, true));
    for (int ema = 0; ema < 2; ema++) {
        float *wa, *wb;
        size_t na, nb;
        read_weights(&wa, &na, a, ema);
        read_weights(&wb, &nb, b, ema);
        assert_int_equal(na, nb);
        assert_memory_equal(wa, wb, na * sizeof *wa);
        free(wa), free(wb);
    }
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_learns_moons),
        cmocka_unit_test(test_config_and_wrong_family),
        cmocka_unit_test(test_points_csv),
        cmocka_unit_test(test_resume_bit_exact),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
