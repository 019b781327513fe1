// The training loop (src/models/train.c) on a toy model written here: linear
// regression y = x.w + b with a hand-written forward/backward kernel, so the loop is
// tested without the tensor floor. Loss falls; 2 epochs = 1 epoch + --resume 1 epoch
// bit for bit; cancel then resume; NaN stops with the step number and a loadable last
// good checkpoint; --skip-nonfinite counts skips; --config errors.
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "test_util.h"
#include "latentcl/run.h"
#include "latentcl/train.h"

enum { N = 200, D = 3, NTEST = 50 };

static const char *toy_source =
    "__kernel void toy_step(__global const float *X, __global const float *Y,\n"
    "                       __global const int *idx, int count, int D,\n"
    "                       __global const float *param, __global float *grad,\n"
    "                       __global float *loss, int poison) {\n"
    "    if (get_global_id(0) != 0) return;\n"
    "    float gw[8] = {0}, gb = 0.0f, l = 0.0f, a = 0.0f;\n"
    "    for (int i = 0; i < count; i++) {\n"
    "        int j = idx[i];\n"
    "        float pred = param[16];\n"
    "        for (int d = 0; d < D; d++) pred += param[d] * X[j * D + d];\n"
    "        float r = pred - Y[j];\n"
    "        l += r * r;\n"
    "        a += fabs(r);\n"
    "        for (int d = 0; d < D; d++) gw[d] += 2.0f * r * X[j * D + d];\n"
    "        gb += 2.0f * r;\n"
    "    }\n"
    "    for (int d = 0; d < D; d++) grad[d] += gw[d] / count;\n"
    "    grad[16] += gb / count;\n"
    "    loss[0] = l / count;\n"
    "    loss[1] = a / count;\n"
    "    if (poison) { loss[0] = NAN; grad[0] = NAN; }\n"
    "}\n";

typedef struct {
    lc_params params;
    float x[N * D], y[N], xt[NTEST * D], yt[NTEST];
    cl_mem X, Y, idx;
    cl_kernel k;
    int64_t poison_step; // a step index whose loss and gradient become NaN (-1: none)
    int config_variant;  // changes the config JSON (resume must refuse)
    int cancel_at;       // progress returns 1 at this step (0: never)
    int evals;
} toy;

static lc_device *g_dev;

static lc_status toy_step(void *self, lc_device *dev, cl_mem loss, const lc_batch *b) {
    toy *t = self;
    int32_t idx[64];
    for (int64_t i = 0; i < b->count; i++)
        idx[i] = (int32_t)b->index[i];
    LC_TRY(lc_write(dev, t->idx, 0, idx, (size_t)b->count * sizeof *idx));
    cl_int count = (cl_int)b->count, d = D, poison = b->step == t->poison_step;
    LC_TRY(LC_ARG(t->k, 0, t->X));
    LC_TRY(LC_ARG(t->k, 1, t->Y));
    LC_TRY(LC_ARG(t->k, 2, t->idx));
    LC_TRY(LC_ARG(t->k, 3, count));
    LC_TRY(LC_ARG(t->k, 4, d));
    LC_TRY(LC_ARG(t->k, 5, t->params.data));
    LC_TRY(LC_ARG(t->k, 6, t->params.grad));
    LC_TRY(LC_ARG(t->k, 7, loss));
    LC_TRY(LC_ARG(t->k, 8, poison));
    size_t one = 1;
    return lc_launch(dev, t->k, "toy_step", 1, &one, NULL);
}

static double host_mse(const toy *t, const float *p, const float *x, const float *y,
                       const int64_t *idx, int64_t n) {
    double s = 0;
    for (int64_t i = 0; i < n; i++) {
        int64_t j = idx ? idx[i] : i;
        double pred = p[16];
        for (int d = 0; d < D; d++)
            pred += p[d] * x[j * D + d];
        s += (pred - y[j]) * (pred - y[j]);
    }
    (void)t;
    return s / (double)n;
}

static lc_status toy_eval(void *self, lc_device *dev, lc_eval_split split, const int64_t *index,
                          int64_t count, lc_figures *out) {
    toy *t = self;
    float p[32];
    LC_TRY(lc_read(dev, p, t->params.data, 0, sizeof p));
    t->evals++;
    double mse = split == LC_EVAL_VAL ? host_mse(t, p, t->x, t->y, index, count)
                                      : host_mse(t, p, t->xt, t->yt, NULL, NTEST);
    LC_TRY(lc_figures_add(out, NULL, "mse", mse));
    return lc_figures_add(out, NULL, "r2_like", 1.0 / (1.0 + mse));
}

static lc_status toy_config(void *self, char **out) {
    toy *t = self;
    char buf[64];
    snprintf(buf, sizeof buf, "{\"d\":%d,\"variant\":%d}", D, t->config_variant);
    *out = strdup(buf);
    return *out ? LC_OK : LC_ERR_NOMEM;
}

static int cancel_progress(void *user, const lc_progress *p) {
    toy *t = user;
    return t->cancel_at > 0 && p->step == t->cancel_at;
}

static void toy_init(toy *t, lc_train_model *m) {
    memset(t, 0, sizeof *t);
    t->poison_step = -1;
    const float w[D] = {1.5f, -2.0f, 0.5f}, bias = 0.3f;
    for (int i = 0; i < N + NTEST; i++) {
        float *x = i < N ? &t->x[i * D] : &t->xt[(i - N) * D];
        float yv = bias;
        for (int d = 0; d < D; d++) {
            x[d] = (float)sin(1.7 * i + 2.3 * d + 0.1 * i * d);
            yv += w[d] * x[d];
        }
        yv += 0.01f * (float)cos(5.1 * i); // a little noise
        if (i < N)
            t->y[i] = yv;
        else
            t->yt[i - N] = yv;
    }
    int64_t sw[2] = {1, D}, sb[1] = {1};
    assert_ok(lc_params_add(&t->params, "linear.weight", 2, sw, NULL));
    assert_ok(lc_params_add(&t->params, "linear.bias", 1, sb, NULL));
    assert_ok(lc_params_alloc(&t->params, g_dev));
    float init[32] = {0.1f, 0.1f, 0.1f};
    assert_ok(lc_write(g_dev, t->params.data, 0, init, sizeof init));
    assert_ok(lc_buffer_alloc(&t->X, g_dev, sizeof t->x));
    assert_ok(lc_buffer_alloc(&t->Y, g_dev, sizeof t->y));
    assert_ok(lc_buffer_alloc(&t->idx, g_dev, 64 * sizeof(int32_t)));
    assert_ok(lc_write(g_dev, t->X, 0, t->x, sizeof t->x));
    assert_ok(lc_write(g_dev, t->Y, 0, t->y, sizeof t->y));
    assert_ok(lc_device_kernel(&t->k, g_dev, "toy_linreg", "toy_step"));
    memset(m, 0, sizeof *m);
    m->family = "toy";
    m->self = t;
    m->params = &t->params;
    m->n_train = N;
    m->n_terms = 1;
    m->term_names[0] = "abs_err";
    m->has_test = true;
    m->higher_is_better = false;
    m->step = toy_step;
    m->evaluate = toy_eval;
    m->config_json = toy_config;
}

static void toy_free(toy *t) {
    lc_buffer_free(t->X);
    lc_buffer_free(t->Y);
    lc_buffer_free(t->idx);
    lc_params_free(&t->params);
}

static char *g_dir;
static char g_path[1024];
static const char *in_dir(const char *name) {
    snprintf(g_path, sizeof g_path, "%s/%s", g_dir, name);
    return g_path;
}

static int setup(void **state) {
    if (test_open_device(&g_dev, NULL)) return -1;
    if (lc_device_build_source(g_dev, "toy_linreg", toy_source) != LC_OK) return -1;
    return test_open_tmpdir(&g_dir);
}
static int teardown(void **state) {
    test_close_tmpdir(&g_dir);
    return test_close_device(g_dev, NULL);
}

static void small_options(lc_train_options *o) {
    lc_train_options_default(o);
    o->batch = 32; // 200 items: 7 batches an epoch, the last of 8
    o->lr = 0.05;
    o->epochs = 2;
    o->log_every = 3;
    o->seed = 7;
}

// A resumed run's checkpoint and an uninterrupted one agree on these metadata.
static const char *const ckpt_keys[] = {"step", "train", NULL};

static void test_loss_falls(void **state) {
    (void)state;
    toy t;
    lc_train_model m;
    toy_init(&t, &m);
    lc_train_options o;
    small_options(&o);
    o.epochs = 6;
    o.out = in_dir("falls");
    lc_train_result r;
    assert_ok(lc_train(&r, g_dev, &m, &o, NULL, NULL));
    assert_int_equal(r.steps, 42);
    assert_int_equal(r.epochs, 6);
    lc_metrics mt;
    char path[1100];
    snprintf(path, sizeof path, "%s/metrics.jsonl", o.out);
    assert_ok(lc_metrics_read(&mt, path));
    int cl = lc_metrics_column(&mt, "loss"), ct = lc_metrics_column(&mt, "test_mse"),
        ca = lc_metrics_column(&mt, "abs_err"), cs = lc_metrics_column(&mt, "samples_per_s");
    assert_true(cl >= 0 && ct >= 0 && ca >= 0 && cs >= 0);
    double first = NAN, last = NAN, test_last = NAN;
    for (int i = 0; i < mt.n_rows; i++) {
        double v = lc_metrics_at(&mt, i, cl);
        if (!isnan(v) && isnan(first)) first = v;
        if (!isnan(v)) last = v;
        if (!isnan(lc_metrics_at(&mt, i, ct))) test_last = lc_metrics_at(&mt, i, ct);
    }
    lc_metrics_free(&mt);
    // Initial MSE is ~3.5; after 6 epochs of Adam 0.05 the fit is close.
    if (!(first > 1.0 && last < 0.05 * first)) fail_msg("loss %g -> %g did not fall", first, last);
    assert_true(test_last < 0.1);
    assert_float_equal(test_last, lc_figures_get(&r.eval, "test_mse"), 1e-12);
    // A second run into the same folder is refused without --force.
    assert_int_equal(lc_train(NULL, g_dev, &m, &o, NULL, NULL), LC_ERR_EXISTS);
    toy_free(&t);

    // --init from that run's weights: a short --iters run starts where it ended (its first
    // loss line is already low), is evaluated at its end although no epoch ended, and --force
    // reuses the folder.
    toy_init(&t, &m);
    char init[1100];
    snprintf(init, sizeof init, "%s/last.safetensors", in_dir("falls"));
    small_options(&o);
    o.init = init;
    o.iters = 3;
    o.log_every = 1;
    o.out = in_dir("falls");
    o.force = true;
    assert_ok(lc_train(&r, g_dev, &m, &o, NULL, NULL));
    assert_int_equal(r.steps, 3);
    assert_int_equal(r.epochs, 0);
    assert_true(r.loss < 0.05 * first);
    assert_true(lc_figures_get(&r.eval, "test_mse") < 0.1);
    // --init of a file without the model's tensors names the tensor.
    toy_free(&t);
    toy_init(&t, &m);
    char other[1100];
    snprintf(other, sizeof other, "%s/other.safetensors", g_dir);
    lc_st_builder *b;
    assert_ok(lc_st_builder_new(&b));
    int64_t shape[1] = {3};
    float v[3] = {1, 2, 3};
    assert_ok(lc_st_builder_add_f32(b, NULL, "linear.weight", 1, shape, v));
    assert_ok(lc_st_builder_save(b, other));
    lc_st_builder_free(b);
    o.init = other;
    o.out = NULL;
    assert_int_not_equal(lc_train(NULL, g_dev, &m, &o, NULL, NULL), LC_OK);
    assert_non_null(strstr(lc_last_error(), "linear.weight"));
    toy_free(&t);
}

// The run A of 2 epochs straight, the reference of the two resume tests.
static void run_two_epochs(const char *name, lc_train_options *o) {
    toy t;
    lc_train_model m;
    toy_init(&t, &m);
    o->out = in_dir(name);
    assert_ok(lc_train(NULL, g_dev, &m, o, NULL, NULL));
    toy_free(&t);
}

static void test_resume_bit_exact(void **state) {
    (void)state;
    for (int variant = 0; variant < 2; variant++) {
        lc_train_options o;
        small_options(&o);
        if (variant) { // every state the loop keeps: SGD momentum, EMA, clipping, val split
            o.optimizer = "sgd";
            o.ema = 0.9;
            o.clip = 0.5;
            o.val_split = 0.1;
            o.lr = 0.02;
        }
        char a[64], b[64];
        snprintf(a, sizeof a, "resA%d", variant);
        snprintf(b, sizeof b, "resB%d", variant);
        run_two_epochs(a, &o);
        char last_a[1100];
        snprintf(last_a, sizeof last_a, "%s/last.safetensors", in_dir(a));
        // B: 1 epoch, then --resume for the second.
        toy t;
        lc_train_model m;
        toy_init(&t, &m);
        o.epochs = 1;
        o.out = in_dir(b);
        lc_train_result r;
        assert_ok(lc_train(&r, g_dev, &m, &o, NULL, NULL));
        int64_t per_epoch = variant ? 6 : 7; // 180 or 200 items in batches of 32
        assert_int_equal(r.steps, per_epoch);
        toy_free(&t);
        toy_init(&t, &m); // a fresh process: new weights that the resume overwrites
        o.epochs = 2;
        o.resume = true;
        assert_ok(lc_train(&r, g_dev, &m, &o, NULL, NULL));
        assert_int_equal(r.steps, 2 * per_epoch);
        toy_free(&t);
        char last_b[1100];
        snprintf(last_b, sizeof last_b, "%s/last.safetensors", in_dir(b));
        test_assert_same_checkpoint(last_a, last_b, ckpt_keys);
        if (variant) {
            char best[1100];
            snprintf(best, sizeof best, "%s/best.safetensors", in_dir(b));
            lc_st_file *f;
            assert_ok(lc_st_open(&f, best));
            assert_non_null(lc_st_find(f, "ema/linear.weight"));
            assert_non_null(lc_st_find(f, "optim/momentum_buffer/linear.bias"));
            lc_st_close(f);
        }
        // Resuming with another model config is refused, naming both.
        toy_init(&t, &m);
        t.config_variant = 1;
        o.epochs = 3;
        assert_int_equal(lc_train(NULL, g_dev, &m, &o, NULL, NULL), LC_ERR_INVALID_ARG);
        assert_non_null(strstr(lc_last_error(), "model config"));
        // ... and so is another batch size (the data order would differ).
        t.config_variant = 0;
        o.batch = 16;
        assert_int_equal(lc_train(NULL, g_dev, &m, &o, NULL, NULL), LC_ERR_INVALID_ARG);
        assert_non_null(strstr(lc_last_error(), "--batch"));
        toy_free(&t);
    }
}

static void test_cancel_then_resume(void **state) {
    (void)state;
    lc_train_options o;
    small_options(&o);
    run_two_epochs("cancelA", &o);
    toy t;
    lc_train_model m;
    toy_init(&t, &m);
    o.out = in_dir("cancelB");
    t.cancel_at = 10; // mid second epoch
    lc_train_result r;
    assert_int_equal(lc_train(&r, g_dev, &m, &o, cancel_progress, &t), LC_ERR_CANCELLED);
    assert_int_equal(r.steps, 10);
    assert_non_null(strstr(lc_last_error(), "--resume"));
    toy_free(&t);
    toy_init(&t, &m);
    o.resume = true;
    assert_ok(lc_train(&r, g_dev, &m, &o, cancel_progress, &t)); // cancel_at 0 now
    assert_int_equal(r.steps, 14);
    toy_free(&t);
    char a[1100], b[1100];
    snprintf(a, sizeof a, "%s/cancelA/last.safetensors", g_dir);
    snprintf(b, sizeof b, "%s/cancelB/last.safetensors", g_dir);
    test_assert_same_checkpoint(a, b, ckpt_keys);
    // The metrics were cut back to the checkpoint's step: steps never go backwards.
    lc_metrics mt;
    snprintf(b, sizeof b, "%s/cancelB/metrics.jsonl", g_dir);
    assert_ok(lc_metrics_read(&mt, b));
    int cs = lc_metrics_column(&mt, "step");
    for (int i = 1; i < mt.n_rows; i++)
        assert_true(lc_metrics_at(&mt, i, cs) >= lc_metrics_at(&mt, i - 1, cs));
    lc_metrics_free(&mt);
}

static void test_nonfinite_stops(void **state) {
    (void)state;
    toy t;
    lc_train_model m;
    toy_init(&t, &m);
    lc_train_options o;
    small_options(&o);
    o.save_every = 4;
    o.log_every = 100;
    o.out = in_dir("nan");
    t.poison_step = 9; // the 10th step
    lc_train_result r;
    assert_int_equal(lc_train(&r, g_dev, &m, &o, NULL, NULL), LC_ERR_NONFINITE);
    assert_int_equal(r.bad_step, 10);
    const char *msg = lc_last_error();
    if (!strstr(msg, "step 10") || !strstr(msg, "last.safetensors") || !strstr(msg, "step 8"))
        fail_msg("message: %s", msg);
    // The last good checkpoint (step 8) loads and holds finite weights.
    char path[1100];
    snprintf(path, sizeof path, "%s/last.safetensors", o.out);
    lc_st_file *f;
    assert_ok(lc_st_open(&f, path));
    assert_string_equal(lc_st_meta_get(f, "step"), "8");
    float w[D];
    assert_ok(lc_st_read_f32(f, "linear.weight", 2, NULL, w, D));
    for (int d = 0; d < D; d++)
        assert_true(isfinite(w[d]));
    lc_st_close(f);
    toy_free(&t);

    // Without clipping, a NaN in the gradient alone is found by the update kernel.
    toy_init(&t, &m);
    o.out = in_dir("nan2");
    t.poison_step = 2;
    assert_int_equal(lc_train(&r, g_dev, &m, &o, NULL, NULL), LC_ERR_NONFINITE);
    assert_int_equal(r.bad_step, 3);
    assert_non_null(strstr(lc_last_error(), "no checkpoint was saved"));
    toy_free(&t);
}

static void test_skip_nonfinite(void **state) {
    (void)state;
    toy t;
    lc_train_model m;
    toy_init(&t, &m);
    lc_train_options o;
    small_options(&o);
    o.skip_nonfinite = true;
    o.out = in_dir("skip");
    t.poison_step = 9;
    lc_train_result r;
    assert_ok(lc_train(&r, g_dev, &m, &o, NULL, NULL));
    assert_int_equal(r.steps, 14);
    assert_int_equal(r.skipped, 1);
    assert_true(isfinite(r.loss));
    lc_metrics mt;
    char path[1100];
    snprintf(path, sizeof path, "%s/metrics.jsonl", o.out);
    assert_ok(lc_metrics_read(&mt, path));
    int cs = lc_metrics_column(&mt, "skipped");
    assert_true(cs >= 0);
    double last = NAN;
    for (int i = 0; i < mt.n_rows; i++)
        if (!isnan(lc_metrics_at(&mt, i, cs))) last = lc_metrics_at(&mt, i, cs);
    assert_float_equal(last, 1.0, 0);
    lc_metrics_free(&mt);
    toy_free(&t);
}

static void test_config_file(void **state) {
    (void)state;
    lc_train_options o;
    lc_train_options_default(&o);
    lc_cfg_strings keep = {0};
    const char *good = "{\"epochs\": 3, \"lr_schedule\": \"cosine\", \"lr\": 0.01,\n"
                       " \"skip-nonfinite\": true, \"out\": \"runs/x\"}";
    assert_int_equal(test_write_file(in_dir("good.json"), good, strlen(good)), 0);
    assert_ok(lc_train_options_load(&o, in_dir("good.json"), &keep));
    assert_int_equal(o.epochs, 3);
    assert_string_equal(o.lr_schedule, "cosine");
    assert_float_equal(o.lr, 0.01, 0);
    assert_true(o.skip_nonfinite);
    assert_string_equal(o.out, "runs/x");
    assert_int_equal(o.batch, 128); // untouched keys keep their defaults
    assert_ok(lc_train_options_check(&o));
    struct {
        const char *json, *needle;
    } bad[] = {
        {"{\"epochs\": 3, \"learning_rate\": 0.1}", "learning_rate"},
        {"{\"epochs\": 2.5}", "integer"},
        {"{\"lr\": \"fast\"}", "number"},
        {"{\"resume\": 1}", "true or false"},
        {"{\"epochs\": 1, \"epochs\": 2}", "twice"},
        {"[1, 2]", "object"},
        {"{\"epochs\": ", "JSON"},
        {"{\"config\": \"other.json\"}", "config"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        assert_int_equal(test_write_file(in_dir("bad.json"), bad[i].json, strlen(bad[i].json)), 0);
        lc_train_options b;
        lc_train_options_default(&b);
        lc_status s = lc_train_options_load(&b, in_dir("bad.json"), &keep);
        if (s != LC_ERR_INVALID_ARG || !strstr(lc_last_error(), bad[i].needle) ||
            !strstr(lc_last_error(), "bad.json"))
            fail_msg("%s -> %s: %s", bad[i].json, lc_status_name(s), lc_last_error());
    }
    assert_int_equal(lc_train_options_load(&o, in_dir("missing.json"), &keep), LC_ERR_IO);
    // Option checks name the option.
    lc_train_options_default(&o);
    o.optimizer = "lbfgs";
    assert_int_equal(lc_train_options_check(&o), LC_ERR_INVALID_ARG);
    assert_non_null(strstr(lc_last_error(), "lbfgs"));
    lc_train_options_default(&o);
    o.val_split = 1.0;
    assert_int_equal(lc_train_options_check(&o), LC_ERR_INVALID_ARG);
    assert_non_null(strstr(lc_last_error(), "--val-split"));
    // The options as JSON read back through the config parser give the same options.
    lc_train_options_default(&o);
    o.clip = 2.5;
    o.init = "w.safetensors";
    char *json;
    assert_ok(lc_train_options_json(&json, &o));
    lc_train_options back;
    lc_train_options_default(&back);
    lc_cfg_key keys[LC_TRAIN_OPTION_COUNT];
    int n = lc_train_option_keys(keys, &back);
    assert_int_equal(n, LC_TRAIN_OPTION_COUNT);
    assert_ok(lc_cfg_apply_json(keys, n, json, "roundtrip", &keep));
    assert_float_equal(back.clip, 2.5, 0);
    assert_string_equal(back.init, "w.safetensors");
    assert_null(back.out);
    assert_string_equal(back.optimizer, "adam");
    free(json);
    lc_cfg_strings_free(&keep);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_loss_falls),         cmocka_unit_test(test_resume_bit_exact),
        cmocka_unit_test(test_cancel_then_resume), cmocka_unit_test(test_nonfinite_stops),
        cmocka_unit_test(test_skip_nonfinite),     cmocka_unit_test(test_config_file),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
