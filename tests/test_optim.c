// Optimisers (cl/optim.cl, src/optim/): steps against values computed by hand and
// against PyTorch's update formulas evaluated on the host in double precision;
// padding untouched; clipping; schedules; EMA; the non-finite rule; checkpoints.
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "test_util.h"
#include "latentcl/optim.h"
#include "optim/optim_internal.h" // the state buffers, to check their padding

static lc_device *g_dev;

static int setup(void **state) { return test_open_device(&g_dev, NULL); }
static int teardown(void **state) { return test_close_device(g_dev, NULL); }

// Two parameters: "w" (3, 5) at 0 (15 values + 1 padding), "b" (7) at 16 (7 + 9 padding).
enum { TOTAL = 32 };
static const size_t off_b = 16, n_w = 15, n_b = 7;

static int is_padding(size_t i) { return (i >= n_w && i < off_b) || i >= off_b + n_b; }

static void make_params(lc_params *p, const float *init) {
    memset(p, 0, sizeof *p);
    int64_t sw[2] = {3, 5}, sb[1] = {7};
    assert_ok(lc_params_add(p, "w", 2, sw, NULL));
    assert_ok(lc_params_add(p, "b", 1, sb, NULL));
    assert_int_equal(p->total, TOTAL);
    assert_ok(lc_params_alloc(p, g_dev));
    if (init) assert_ok(lc_write(g_dev, p->data, 0, init, TOTAL * sizeof(float)));
}

static void get(float *out, cl_mem m) {
    assert_ok(lc_read(g_dev, out, m, 0, TOTAL * sizeof(float)));
}
static void put(cl_mem m, const float *v) {
    assert_ok(lc_write(g_dev, m, 0, v, TOTAL * sizeof(float)));
}

// Deterministic test values; padding entries get junk (the kernels must ignore it).
static void fill(float *v, int seed, float junk) {
    for (size_t i = 0; i < TOTAL; i++)
        v[i] = is_padding(i) ? junk : (float)sin(0.7 * (double)i + 1.3 * seed) * (1.0f + seed % 3);
}

// ---- by hand --------------------------------------------------------------------

static void test_sgd_momentum_by_hand(void **state) {
    (void)state;
    // p = 1, g = 0.5, lr 0.1, momentum 0.9: step 1 buf = 0.5, p = 0.95;
    // step 2 buf = 0.9 * 0.5 + 0.5 = 0.95, p = 0.95 - 0.095 = 0.855.
    float init[TOTAL] = {0}, g[TOTAL] = {0}, got[TOTAL];
    for (size_t i = 0; i < TOTAL; i++)
        init[i] = is_padding(i) ? 0.0f : 1.0f;
    for (size_t i = 0; i < TOTAL; i++)
        g[i] = is_padding(i) ? 0.0f : 0.5f;
    lc_params p;
    make_params(&p, init);
    lc_optim_config c = lc_optim_defaults(LC_OPTIM_SGD);
    c.momentum = 0.9;
    lc_optim *o;
    assert_ok(lc_optim_new(&o, g_dev, &p, &c));
    put(p.grad, g);
    assert_ok(lc_optim_step(o, &p, 0.1f, NULL, 0, 0));
    get(got, p.data);
    assert_float_equal(got[0], 0.95f, 1e-6);
    get(got, p.grad);
    assert_float_equal(got[3], 0.0f, 0.0); // zero_grad: the gradient was consumed
    put(p.grad, g);
    assert_ok(lc_optim_step(o, &p, 0.1f, NULL, 0, 1));
    get(got, p.data);
    for (size_t i = 0; i < TOTAL; i++)
        assert_float_equal(got[i], is_padding(i) ? 0.0f : 0.855f, 1e-6);
    lc_optim_report r;
    assert_ok(lc_optim_read(o, &r, false));
    assert_int_equal(r.updates, 2);
    assert_int_equal(r.bad_step, -1);
    lc_optim_free(o);
    lc_params_free(&p);
}

static void test_adam_first_step_by_hand(void **state) {
    (void)state;
    // First Adam step: m^ = g, v^ = g^2, so p -= lr g / (|g| + eps) = lr sign(g) (to 1e-7).
    // AdamW with wd 0.1 first shrinks p by (1 - lr wd): 2 (1 - 0.01 * 0.1) - 0.01 = 1.988.
    float init[TOTAL], g[TOTAL], got[TOTAL];
    for (size_t i = 0; i < TOTAL; i++)
        init[i] = is_padding(i) ? 0.0f : 2.0f;
    for (size_t i = 0; i < TOTAL; i++)
        g[i] = is_padding(i) ? 0.0f : (i % 2 ? -3.0f : 0.25f);
    for (int kind = LC_OPTIM_ADAM; kind <= LC_OPTIM_ADAMW; kind++) {
        lc_params p;
        make_params(&p, init);
        lc_optim_config c = lc_optim_defaults((lc_optim_kind)kind);
        c.weight_decay = kind == LC_OPTIM_ADAMW ? 0.1 : 0.0;
        lc_optim *o;
        assert_ok(lc_optim_new(&o, g_dev, &p, &c));
        put(p.grad, g);
        assert_ok(lc_optim_step(o, &p, 0.01f, NULL, 0, 0));
        get(got, p.data);
        double base = kind == LC_OPTIM_ADAMW ? 2.0 * (1 - 0.01 * 0.1) : 2.0;
        for (size_t i = 0; i < TOTAL; i++) {
            if (is_padding(i)) continue;
            assert_float_equal(got[i], base - (i % 2 ? -0.01 : 0.01), 1e-6);
        }
        lc_optim_free(o);
        lc_params_free(&p);
    }
}

// ---- against PyTorch's formulas (torch/optim/{sgd,adam,adamw}.py, single-tensor path) ---

typedef struct {
    double p[TOTAL], m[TOTAL], v[TOTAL];
    int t;
} ref_state;

static void ref_step(ref_state *r, const lc_optim_config *c, const float *gf, double lr) {
    r->t++;
    for (size_t i = 0; i < TOTAL; i++) {
        if (is_padding(i)) continue;
        double g = gf[i], p = r->p[i];
        if (c->kind == LC_OPTIM_SGD) {
            double d = g + c->weight_decay * p;
            if (c->momentum != 0) {
                r->m[i] = r->t == 1 ? d : c->momentum * r->m[i] + (1 - c->dampening) * d;
                d = c->nesterov ? d + c->momentum * r->m[i] : r->m[i];
            }
            r->p[i] = p - lr * d;
            continue;
        }
        if (c->kind == LC_OPTIM_ADAMW)
            p *= 1 - lr * c->weight_decay;
        else
            g += c->weight_decay * p;
        r->m[i] = c->beta1 * r->m[i] + (1 - c->beta1) * g;
        r->v[i] = c->beta2 * r->v[i] + (1 - c->beta2) * g * g;
        double bc1 = 1 - pow(c->beta1, r->t), bc2 = 1 - pow(c->beta2, r->t);
        r->p[i] = p - lr / bc1 * r->m[i] / (sqrt(r->v[i]) / sqrt(bc2) + c->eps);
    }
}

static void run_against_reference(lc_optim_config c, const char *what) {
    float init[TOTAL], g[TOTAL], got[TOTAL];
    fill(init, 7, 0.0f);
    lc_params p;
    make_params(&p, init);
    ref_state r = {0};
    for (size_t i = 0; i < TOTAL; i++)
        r.p[i] = init[i];
    lc_optim *o;
    assert_ok(lc_optim_new(&o, g_dev, &p, &c));
    for (int step = 0; step < 6; step++) {
        fill(g, step, step % 2 ? 1e30f : -77.0f); // junk padding, finite
        double lr = 0.05 / (1 + step);
        put(p.grad, g);
        assert_ok(lc_optim_step(o, &p, (float)lr, NULL, 0, step));
        ref_step(&r, &c, g, (float)lr);
    }
    get(got, p.data);
    for (size_t i = 0; i < TOTAL; i++) {
        if (is_padding(i)) {
            if (got[i] != 0.0f) fail_msg("%s: padding %zu became %g", what, i, got[i]);
        } else if (fabs(got[i] - r.p[i]) > 2e-5 * (1 + fabs(r.p[i]))) {
            fail_msg("%s: p[%zu] = %.8g, PyTorch formula %.8g", what, i, got[i], r.p[i]);
        }
    }
    // The state buffers keep zero padding too, whatever the gradient padding held.
    cl_mem states[2] = {o->m1, o->m2};
    for (int k = 0; k < 2; k++) {
        if (!states[k]) continue;
        get(got, states[k]);
        for (size_t i = 0; i < TOTAL; i++)
            if (is_padding(i) && got[i] != 0.0f)
                fail_msg("%s: state %d padding %zu became %g", what, k, i, got[i]);
    }
    lc_optim_free(o);
    lc_params_free(&p);
}

static void test_against_pytorch_formulas(void **state) {
    (void)state;
    lc_optim_config c = lc_optim_defaults(LC_OPTIM_SGD);
    run_against_reference(c, "sgd");
    c.momentum = 0.9;
    c.weight_decay = 0.01;
    run_against_reference(c, "sgd momentum wd");
    c.dampening = 0.3;
    run_against_reference(c, "sgd dampening");
    c.dampening = 0;
    c.nesterov = true;
    run_against_reference(c, "sgd nesterov");
    c = lc_optim_defaults(LC_OPTIM_ADAM);
    run_against_reference(c, "adam");
    c.weight_decay = 0.05;
    c.beta1 = 0.8;
    c.beta2 = 0.99;
    c.eps = 1e-6;
    run_against_reference(c, "adam wd");
    c = lc_optim_defaults(LC_OPTIM_ADAMW);
    run_against_reference(c, "adamw");
    c.weight_decay = 0.3;
    run_against_reference(c, "adamw 0.3");
}

// ---- clipping ---------------------------------------------------------------------

static void test_clipping(void **state) {
    (void)state;
    // Gradient all 2 on 22 real entries: norm 2 sqrt(22). clip 1: scale 1 / (norm + 1e-6);
    // with SGD lr 1 each parameter moves by 2 * scale. Padding junk (NaN even) is ignored.
    float init[TOTAL] = {0}, g[TOTAL], got[TOTAL];
    for (size_t i = 0; i < TOTAL; i++)
        g[i] = is_padding(i) ? NAN : 2.0f;
    double norm = 2.0 * sqrt(22.0);
    for (int clip_on = 0; clip_on < 2; clip_on++) {
        lc_params p;
        make_params(&p, init);
        lc_optim_config c = lc_optim_defaults(LC_OPTIM_SGD);
        c.clip = clip_on ? 1.0 : 100.0; // 100 > norm: no change
        lc_optim *o;
        assert_ok(lc_optim_new(&o, g_dev, &p, &c));
        put(p.grad, g);
        assert_ok(lc_optim_step(o, &p, 1.0f, NULL, 0, 0));
        lc_optim_report r;
        assert_ok(lc_optim_read(o, &r, false));
        assert_float_equal(r.grad_norm, norm, 1e-4);
        assert_int_equal(r.bad_step, -1);
        get(got, p.data);
        double want = clip_on ? -2.0 / (norm + 1e-6) : -2.0;
        for (size_t i = 0; i < TOTAL; i++)
            assert_float_equal(got[i], is_padding(i) ? 0 : want, 1e-6);
        lc_optim_free(o);
        lc_params_free(&p);
    }
}

// A large buffer: the norm reduction over many work-groups against a double sum on the host.
static void test_norm_large(void **state) {
    (void)state;
    lc_params p = {0};
    int64_t s1[2] = {300, 777}, s2[1] = {33};
    assert_ok(lc_params_add(&p, "big", 2, s1, NULL));
    assert_ok(lc_params_add(&p, "small", 1, s2, NULL));
    assert_ok(lc_params_alloc(&p, g_dev));
    float *g = calloc(p.total, sizeof *g);
    double sum = 0;
    for (int k = 0; k < p.count; k++)
        for (size_t i = 0; i < p.items[k].numel; i++) {
            float v = (float)cos(0.001 * (double)i + k);
            g[p.items[k].offset + i] = v;
            sum += (double)v * v;
        }
    assert_ok(lc_write(g_dev, p.grad, 0, g, p.total * sizeof *g));
    lc_optim_config c = lc_optim_defaults(LC_OPTIM_ADAM);
    c.clip = 1e9;
    lc_optim *o;
    assert_ok(lc_optim_new(&o, g_dev, &p, &c));
    assert_ok(lc_optim_step(o, &p, 1e-3f, NULL, 0, 0));
    lc_optim_report r;
    assert_ok(lc_optim_read(o, &r, false));
    assert_float_equal(r.grad_norm, sqrt(sum), 1e-4 * sqrt(sum));
    free(g);
    lc_optim_free(o);
    lc_params_free(&p);
}

// ---- schedules -----------------------------------------------------------------------

static void test_schedules(void **state) {
    (void)state;
    lc_lr_schedule s = {LC_LR_CONSTANT, 0.1, 0, 100, 0};
    assert_float_equal(lc_lr_at(&s, 0), 0.1, 0);
    assert_float_equal(lc_lr_at(&s, 1000), 0.1, 0);
    s.warmup = 4; // 0.025, 0.05, 0.075, 0.1, then 0.1
    assert_float_equal(lc_lr_at(&s, 0), 0.025, 1e-15);
    assert_float_equal(lc_lr_at(&s, 2), 0.075, 1e-15);
    assert_float_equal(lc_lr_at(&s, 3), 0.1, 1e-15);
    assert_float_equal(lc_lr_at(&s, 50), 0.1, 1e-15);
    // Cosine as PyTorch's CosineAnnealingLR(T_max = 100, eta_min = 0): base (1 + cos(pi t/100))
    // / 2.
    s = (lc_lr_schedule){LC_LR_COSINE, 0.1, 0, 100, 0};
    assert_float_equal(lc_lr_at(&s, 0), 0.1, 1e-15);
    assert_float_equal(lc_lr_at(&s, 50), 0.05, 1e-12);
    assert_float_equal(lc_lr_at(&s, 25), 0.1 * (1 + cos(M_PI / 4)) / 2, 1e-12);
    assert_float_equal(lc_lr_at(&s, 100), 0.0, 1e-15);
    assert_float_equal(lc_lr_at(&s, 500), 0.0, 1e-15);
    // Warm-up then cosine over the remaining 90 steps; floor min_lr.
    s = (lc_lr_schedule){LC_LR_COSINE, 0.1, 10, 100, 0.01};
    assert_float_equal(lc_lr_at(&s, 4), 0.05, 1e-15);
    assert_float_equal(lc_lr_at(&s, 10), 0.1, 1e-15);
    assert_float_equal(lc_lr_at(&s, 55), 0.055, 1e-12);
    assert_float_equal(lc_lr_at(&s, 100), 0.01, 1e-15);
    lc_lr_kind k;
    assert_ok(lc_lr_kind_parse(&k, "cosine"));
    assert_int_equal(k, LC_LR_COSINE);
    assert_int_equal(lc_lr_kind_parse(&k, "linear"), LC_ERR_INVALID_ARG);
    lc_optim_kind ok;
    assert_ok(lc_optim_kind_parse(&ok, "adamw"));
    assert_int_equal(ok, LC_OPTIM_ADAMW);
    assert_int_equal(lc_optim_kind_parse(&ok, "lion"), LC_ERR_INVALID_ARG);
    assert_non_null(strstr(lc_last_error(), "lion"));
}

// ---- EMA ---------------------------------------------------------------------------------

static void test_ema(void **state) {
    (void)state;
    // SGD lr 1, g = -1 each step: p = 1, 2, 3 after steps; ema (decay 0.5) from 0:
    // 0.5 * 0 + 0.5 * 1 = 0.5, then 0.5 * 0.5 + 0.5 * 2 = 1.25, then 0.625 + 1.5 = 2.125.
    float g[TOTAL], got[TOTAL];
    for (size_t i = 0; i < TOTAL; i++)
        g[i] = is_padding(i) ? 9.0f : -1.0f;
    lc_params p;
    make_params(&p, NULL);
    lc_optim_config c = lc_optim_defaults(LC_OPTIM_SGD);
    c.ema = 0.5;
    lc_optim *o;
    assert_ok(lc_optim_new(&o, g_dev, &p, &c));
    for (int step = 0; step < 3; step++) {
        put(p.grad, g);
        assert_ok(lc_optim_step(o, &p, 1.0f, NULL, 0, step));
    }
    get(got, lc_optim_ema(o));
    for (size_t i = 0; i < TOTAL; i++)
        assert_float_equal(got[i], is_padding(i) ? 0 : 2.125f, 1e-6);
    // Swapping puts the EMA weights where the model reads its parameters.
    assert_ok(lc_optim_swap_ema(o, &p));
    get(got, p.data);
    assert_float_equal(got[0], 2.125f, 1e-6);
    assert_ok(lc_optim_swap_ema(o, &p));
    get(got, p.data);
    assert_float_equal(got[0], 3.0f, 1e-6);
    lc_optim_free(o);
    lc_params_free(&p);
}

// With a warm-up w the decay of update t = 1, 2, ... is min(ema, (1 + t) / (w + t)):
// w = 4, ema 0.5 gives 0.4 at t = 1, then 0.5 (3/6 = 0.5, capped): from 0 with p = 1, 2, 3:
// 0.4 * 0 + 0.6 * 1 = 0.6, then 0.5 * 0.6 + 0.5 * 2 = 1.3, then 0.65 + 1.5 = 2.15.
static void test_ema_warmup(void **state) {
    (void)state;
    float g[TOTAL], got[TOTAL];
    for (size_t i = 0; i < TOTAL; i++)
        g[i] = is_padding(i) ? 9.0f : -1.0f;
    lc_params p;
    make_params(&p, NULL);
    lc_optim_config c = lc_optim_defaults(LC_OPTIM_SGD);
    c.ema = 0.5;
    c.ema_warmup = 4;
    lc_optim *o;
    assert_ok(lc_optim_new(&o, g_dev, &p, &c));
    const float want[3] = {0.6f, 1.3f, 2.15f};
    for (int step = 0; step < 3; step++) {
        put(p.grad, g);
        assert_ok(lc_optim_step(o, &p, 1.0f, NULL, 0, step));
        get(got, lc_optim_ema(o));
        assert_float_equal(got[0], want[step], 1e-6);
    }
    lc_optim_free(o);
    c.ema_warmup = -1;
    assert_int_equal(lc_optim_new(&o, g_dev, &p, &c), LC_ERR_INVALID_ARG);
    lc_params_free(&p);
}

// ---- the non-finite rule ---------------------------------------------------------------------

static void test_nonfinite(void **state) {
    (void)state;
    float init[TOTAL], g[TOTAL], bad[TOTAL], got[TOTAL], before[TOTAL];
    fill(init, 1, 0.0f);
    fill(g, 2, 0.0f);
    memcpy(bad, g, sizeof g);
    bad[5] = INFINITY;
    cl_mem loss;
    assert_ok(lc_buffer_alloc(&loss, g_dev, 2 * sizeof(float)));
    for (int mode = 0; mode < 4; mode++) {
        // mode 0: stop rule, bad gradient found by the update kernel (no norm pass)
        // mode 1: stop rule, NaN loss; mode 2: skip rule, bad gradient; mode 3: skip, NaN loss
        bool skip = mode >= 2, bad_loss = mode % 2 == 1;
        lc_params p;
        make_params(&p, init);
        lc_optim_config c = lc_optim_defaults(LC_OPTIM_ADAM);
        c.skip_nonfinite = skip;
        c.ema = 0.9;
        lc_optim *o;
        assert_ok(lc_optim_new(&o, g_dev, &p, &c));
        for (int step = 0; step < 6; step++) {
            bool is_bad = step == 3;
            float l[2] = {is_bad && bad_loss ? NAN : 1.0f + (float)step, 0.5f};
            assert_ok(lc_write(g_dev, loss, 0, l, sizeof l));
            put(p.grad, is_bad && !bad_loss ? bad : g);
            if (step == 3) get(before, p.data);
            assert_ok(lc_optim_step(o, &p, 0.01f, loss, 2, step));
            if (step == 3 && (skip || bad_loss)) {
                get(got, p.data); // the bad step moved nothing
                assert_memory_equal(got, before, sizeof got);
            }
        }
        lc_optim_report r;
        assert_ok(lc_optim_read(o, &r, true));
        assert_int_equal(r.bad_step, 3);
        if (skip) {
            assert_int_equal(r.skipped, 1);
            assert_int_equal(r.updates, 5);
            assert_int_equal(r.steps, 5); // the bad step is not in the loss mean
            assert_float_equal(r.loss[0], (1 + 2 + 3 + 5 + 6) / 5.0, 1e-5);
            assert_float_equal(r.loss[1], 0.5, 1e-6);
            get(got, p.data);
            for (size_t i = 0; i < TOTAL; i++)
                assert_true(isfinite(got[i]));
        } else {
            // Frozen from the bad step on. A NaN loss is caught before the update (3 updates);
            // a bad gradient without a norm pass is caught by the update itself (4).
            assert_int_equal(r.skipped, 0);
            assert_int_equal(r.updates, bad_loss ? 3 : 4);
            assert_int_equal(r.steps, bad_loss ? 3 : 4);
            assert_float_equal(r.loss[0], bad_loss ? 2.0 : 2.5, 1e-6);
        }
        assert_ok(lc_optim_read(o, &r, false)); // the sums were reset, bad_step kept
        assert_int_equal(r.steps, 0);
        assert_int_equal(r.bad_step, 3);
        lc_optim_free(o);
        lc_params_free(&p);
    }
    lc_buffer_free(loss);
}

// ---- checkpoints -----------------------------------------------------------------------

static void test_save_load_continues_exactly(void **state) {
    (void)state;
    char *dir = test_tmpdir();
    char path[512];
    snprintf(path, sizeof path, "%s/opt.safetensors", dir);
    float init[TOTAL], g[TOTAL], a[TOTAL], b[TOTAL];
    fill(init, 3, 0.0f);
    lc_optim_kind kinds[3] = {LC_OPTIM_SGD, LC_OPTIM_ADAM, LC_OPTIM_ADAMW};
    for (int k = 0; k < 3; k++) {
        lc_optim_config c = lc_optim_defaults(kinds[k]);
        c.momentum = 0.9;
        c.ema = 0.99;
        c.clip = 0.5;
        // Run A: 8 steps straight. Run B: 4 steps, save, load into fresh state, 4 more.
        lc_params pa, pb;
        make_params(&pa, init);
        make_params(&pb, init);
        lc_optim *oa, *ob;
        assert_ok(lc_optim_new(&oa, g_dev, &pa, &c));
        assert_ok(lc_optim_new(&ob, g_dev, &pb, &c));
        for (int step = 0; step < 8; step++) {
            fill(g, step, 0.0f);
            put(pa.grad, g);
            assert_ok(lc_optim_step(oa, &pa, 0.01f, NULL, 0, step));
            if (step == 4) {
                lc_st_builder *bld;
                assert_ok(lc_st_builder_new(&bld));
                float host[TOTAL];
                get(host, pb.data);
                assert_ok(lc_st_builder_add_f32(bld, NULL, "w", 2, pb.items[0].shape, host));
                assert_ok(lc_st_builder_add_f32(bld, NULL, "b", 1, pb.items[1].shape, host + 16));
                assert_ok(lc_optim_save(ob, &pb, bld));
                assert_ok(lc_st_builder_save(bld, path));
                lc_st_builder_free(bld);
                lc_optim_free(ob);
                lc_params_free(&pb);
                lc_st_file *f;
                assert_ok(lc_st_open(&f, path));
                assert_non_null(lc_st_find(f, kinds[k] == LC_OPTIM_SGD ? "optim/momentum_buffer/w"
                                                                       : "optim/exp_avg_sq/b"));
                assert_non_null(lc_st_find(f, "ema/w"));
                assert_non_null(strstr(lc_st_meta_get(f, "optimizer"), "\"t\":4"));
                float w[TOTAL] = {0};
                assert_ok(lc_st_read_f32(f, "w", 2, NULL, w, 15));
                assert_ok(lc_st_read_f32(f, "b", 1, NULL, w + 16, 7));
                make_params(&pb, w);
                assert_ok(lc_optim_new(&ob, g_dev, &pb, &c));
                assert_ok(lc_optim_load(ob, &pb, f));
                // Another optimiser type is refused with a message naming both.
                lc_optim_config other = lc_optim_defaults(kinds[(k + 1) % 3]);
                lc_optim *wrong;
                assert_ok(lc_optim_new(&wrong, g_dev, &pb, &other));
                assert_int_equal(lc_optim_load(wrong, &pb, f), LC_ERR_FORMAT);
                assert_non_null(strstr(lc_last_error(), lc_optim_kind_name(other.kind)));
                lc_optim_free(wrong);
                lc_st_close(f);
            }
            put(pb.grad, g);
            assert_ok(lc_optim_step(ob, &pb, 0.01f, NULL, 0, step));
        }
        get(a, pa.data);
        get(b, pb.data);
        assert_memory_equal(a, b, sizeof a);
        get(a, lc_optim_ema(oa));
        get(b, lc_optim_ema(ob));
        assert_memory_equal(a, b, sizeof a);
        lc_optim_report ra, rb;
        assert_ok(lc_optim_read(oa, &ra, false));
        assert_ok(lc_optim_read(ob, &rb, false));
        assert_int_equal(ra.updates, 8);
        assert_int_equal(rb.updates, 8);
        lc_optim_free(oa);
        lc_optim_free(ob);
        lc_params_free(&pa);
        lc_params_free(&pb);
    }
    test_rmtree(dir);
    free(dir);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sgd_momentum_by_hand),
        cmocka_unit_test(test_adam_first_step_by_hand),
        cmocka_unit_test(test_against_pytorch_formulas),
        cmocka_unit_test(test_clipping),
        cmocka_unit_test(test_norm_large),
        cmocka_unit_test(test_schedules),
        cmocka_unit_test(test_ema),
        cmocka_unit_test(test_ema_warmup),
        cmocka_unit_test(test_nonfinite),
        cmocka_unit_test(test_save_load_continues_exactly),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
