// The GPU variants of the conv layout kernels and of GroupNorm + SiLU (cl/conv_gpu.cl,
// src/tensor/conv_gpu.c), run on whatever device the tests get (PoCL here) by forcing
// LATENTCL_CONV=gpu: the op cases (forward against a double reference, gradients against
// finite differences), convolutions on larger shapes against a double reference and
// against the CPU variants (LATENTCL_CONV=cpu) including fused activations, gradient
// accumulation and several im2col chunks, GroupNorm + SiLU against the CPU kernels, and
// the profile showing that the GPU kernels are the ones that ran.
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "test_util.h"

#include "latentcl/tensor.h"
#include "tensor/gradcheck.h"
#include "tensor/ops_gn_act.h"

static lc_device *dev;
static lc_ctx *ctx;

static int setup(void **state) {
    (void)state;
    setenv("LATENTCL_HOST_CONV", "0", 1); // the CPU device's direct conv would bypass im2col
    lc_device_options o = {0};
    o.profile = 1; // test_profile_names reads which kernels ran
    if (lc_device_open(&dev, &o) != LC_OK) return -1;
    return lc_ctx_create(&ctx, dev) != LC_OK ? -1 : 0;
}
static int teardown(void **state) {
    (void)state;
    unsetenv("LATENTCL_CONV");
    unsetenv("LATENTCL_CONV_GPU_CHUNK");
    unsetenv("LATENTCL_CONV_GPU_SPLITK_MIN");
    return test_close_device(dev, ctx);
}

static void use(const char *mode) { setenv("LATENTCL_CONV", mode, 1); }

// test_rel_err against a float reference (one path against the other)
static double rel_err_f(const float *got, const float *want, size_t n) {
    double e = 0, scale = 1;
    for (size_t i = 0; i < n; i++)
        scale = fmax(scale, fabs(want[i]));
    for (size_t i = 0; i < n; i++)
        e = fmax(e, fabs((double)got[i] - want[i]));
    return e / scale;
}

// --- the op cases: forward against the double reference, backward against finite
// differences, on the GPU variants --------------------------------------------------

static int ours(const char *name) {
    return !strncmp(name, "conv", 4) || !strncmp(name, "group_norm_", 11);
}

static void test_op_cases_gpu(void **state) {
    (void)state;
    use("gpu");
    static const int sizes[][4] = {{1, 1, 1, 1}, {3, 7, 33, 3}, {7, 33, 3, 1}, {2, 5, 7, 4}};
    int n = 0;
    for (const lc_op_case *oc = lc_op_cases; oc->name; oc++) {
        if (!ours(oc->name)) continue;
        for (int v = -1; v < 4; v++) {
            lc_case_result r;
            const int *sz = v < 0 ? NULL : sizes[v];
            lc_status s = lc_run_case(ctx, oc, sz, 31 + (uint64_t)v, &r);
            if (s != LC_OK) fail_msg("%s: %s", oc->name, lc_last_error());
            if (!(r.fwd_err <= oc->fwd_tol) || !(r.grad_checked && r.grad_err <= oc->grad_tol))
                fail_msg("%s (sizes %d): fwd_err %.3g grad_err %.3g", oc->name, v, r.fwd_err,
                         r.grad_err);
        }
        n++;
    }
    assert_true(n >= 7); // conv2d, _relu, _tanh, conv_transpose2d, the gn_act family
}

// --- convolutions on larger shapes -------------------------------------------------

typedef struct {
    int transposed, N, C, H, W, O, K, s, p, op; // op: a transposed conv's output padding
    lc_act act;                                 // conv only
    int twice; // y = conv(x, w, b) + conv(x, w2, b): x and b gradients accumulate
} conv_shape;

typedef struct {
    size_t ny, nx, nw, nb;
    float *y, *dx, *dw, *db, *dw2;
} conv_out;

static void free_out(conv_out *o) {
    free(o->y), free(o->dx), free(o->dw), free(o->db), free(o->dw2);
}

static void out_dims(const conv_shape *c, int *OH, int *OW) {
    if (c->transposed)
        *OH = (c->H - 1) * c->s - 2 * c->p + c->K + c->op,
        *OW = (c->W - 1) * c->s - 2 * c->p + c->K + c->op;
    else
        *OH = (c->H + 2 * c->p - c->K) / c->s + 1, *OW = (c->W + 2 * c->p - c->K) / c->s + 1;
}

static lc_status conv_op(lc_tensor **y, const conv_shape *c, lc_tensor *x, lc_tensor *w,
                         lc_tensor *b) {
    if (c->transposed) return lc_conv_transpose2d(ctx, y, x, w, b, c->s, c->p, c->op);
    return lc_conv2d_act(ctx, y, x, w, b, c->s, c->p, c->act, 0.1f);
}

// Runs the case on the device in the current mode; inputs from a fixed seed.
static conv_out run_conv(const conv_shape *c) {
    int OH, OW;
    out_dims(c, &OH, &OW);
    conv_out o = {(size_t)c->N * c->O * OH * OW, (size_t)c->N * c->C * c->H * c->W,
                  (size_t)c->O * c->C * c->K * c->K, (size_t)c->O};
    unsigned seed = (unsigned)(c->N * 131 + c->C * 17 + c->H * 7 + c->O * 3 + c->K + c->s);
    float *xh = test_rand_uniform(o.nx, &seed), *wh = test_rand_uniform(o.nw, &seed),
          *bh = test_rand_uniform(o.nb, &seed), *rh = test_rand_uniform(o.ny, &seed),
          *w2h = test_rand_uniform(o.nw, &seed);
    int64_t wshape[4] = {c->O, c->C, c->K, c->K};
    if (c->transposed) wshape[0] = c->C, wshape[1] = c->O;
    lc_step_begin(ctx);
    lc_tensor *x = test_leaf(ctx, xh, 4, (int64_t[]){c->N, c->C, c->H, c->W}),
              *w = test_leaf(ctx, wh, 4, wshape), *w2 = test_leaf(ctx, w2h, 4, wshape),
              *b = test_leaf(ctx, bh, 1, (int64_t[]){c->O}), *y, *r;
    assert_ok(conv_op(&y, c, x, w, b));
    if (c->twice) {
        lc_tensor *y2, *sum;
        assert_ok(conv_op(&y2, c, x, w2, b));
        assert_ok(lc_add(ctx, &sum, y, y2));
        y = sum;
    }
    assert_int_equal(y->numel, (int64_t)o.ny);
    assert_ok(lc_tensor_from_host(ctx, &r, rh, 4, (int64_t[]){c->N, c->O, OH, OW}));
    assert_ok(lc_backward_from(ctx, y, r));
    o.y = malloc(o.ny * 4), o.dx = malloc(o.nx * 4), o.dw = malloc(o.nw * 4);
    o.db = malloc(o.nb * 4), o.dw2 = malloc(o.nw * 4);
    assert_ok(lc_tensor_to_host(ctx, o.y, y));
    assert_ok(lc_tensor_grad_to_host(ctx, o.dx, x));
    assert_ok(lc_tensor_grad_to_host(ctx, o.dw, w));
    assert_ok(lc_tensor_grad_to_host(ctx, o.db, b));
    if (c->twice)
        assert_ok(lc_tensor_grad_to_host(ctx, o.dw2, w2));
    else
        memset(o.dw2, 0, o.nw * 4);
    free(xh), free(wh), free(bh), free(rh), free(w2h);
    return o;
}

static double act_d(lc_act a, double z) {
    switch (a) {
    case LC_ACT_RELU: return z > 0 ? z : 0;
    case LC_ACT_LEAKY_RELU: return z > 0 ? z : 0.1 * z;
    case LC_ACT_SIGMOID: return 1 / (1 + exp(-z));
    case LC_ACT_TANH: return tanh(z);
    default: return z;
    }
}
static double act_grad_d(lc_act a, double z) {
    double s;
    switch (a) {
    case LC_ACT_RELU: return z > 0;
    case LC_ACT_LEAKY_RELU: return z > 0 ? 1 : 0.1;
    case LC_ACT_SIGMOID: s = 1 / (1 + exp(-z)); return s * (1 - s);
    case LC_ACT_TANH: s = tanh(z); return 1 - s * s;
    default: return 1;
    }
}

// The double reference of a single conv (twice = 0) on the same inputs as run_conv.
static void check_reference(const conv_shape *c, const conv_out *got, const char *what) {
    int OH, OW, N = c->N, C = c->C, H = c->H, W = c->W, O = c->O, K = c->K, s = c->s, p = c->p,
                tr = c->transposed;
    out_dims(c, &OH, &OW);
    size_t ny = got->ny, nx = got->nx, nw = got->nw;
    unsigned seed = (unsigned)(N * 131 + C * 17 + H * 7 + O * 3 + K + s);
    float *xh = test_rand_uniform(nx, &seed), *wh = test_rand_uniform(nw, &seed),
          *bh = test_rand_uniform((size_t)O, &seed), *rh = test_rand_uniform(ny, &seed);
    double *z = calloc(ny, 8), *dz = calloc(ny, 8), *y = calloc(ny, 8), *dx = calloc(nx, 8),
           *dw = calloc(nw, 8), *db = calloc(O, 8);
    size_t plane = (size_t)OH * OW;
    for (size_t i = 0; i < ny; i++)
        z[i] = bh[(i / plane) % O];
    // Each tap connects input (h, w) of one side with (a, b) of the other: conv: y at
    // (h, w) reads x at (a, b); transposed: x at (h, w) feeds y at (a, b).
    for (int pass = 0; pass < 2; pass++) {
        if (pass == 1)
            for (size_t i = 0; i < ny; i++) {
                y[i] = act_d(c->act, z[i]);
                dz[i] = rh[i] * act_grad_d(c->act, z[i]);
                db[(i / plane) % O] += dz[i];
            }
        for (int n = 0; n < N; n++)
            for (int ci = 0; ci < C; ci++)
                for (int o = 0; o < O; o++)
                    for (int kh = 0; kh < K; kh++)
                        for (int kw = 0; kw < K; kw++) {
                            size_t wi = tr ? (((size_t)ci * O + o) * K + kh) * K + kw
                                           : (((size_t)o * C + ci) * K + kh) * K + kw;
                            for (int h = 0; h < (tr ? H : OH); h++)
                                for (int w = 0; w < (tr ? W : OW); w++) {
                                    int a = h * s - p + kh, b = w * s - p + kw;
                                    if (a < 0 || a >= (tr ? OH : H) || b < 0 || b >= (tr ? OW : W))
                                        continue;
                                    size_t xi = tr ? (((size_t)n * C + ci) * H + h) * W + w
                                                   : (((size_t)n * C + ci) * H + a) * W + b;
                                    size_t yi = tr ? (((size_t)n * O + o) * OH + a) * OW + b
                                                   : (((size_t)n * O + o) * OH + h) * OW + w;
                                    if (pass == 0) {
                                        z[yi] += (double)xh[xi] * wh[wi];
                                    } else {
                                        dx[xi] += dz[yi] * wh[wi];
                                        dw[wi] += dz[yi] * xh[xi];
                                    }
                                }
                        }
    }
    double e[4] = {test_rel_err(got->y, y, ny), test_rel_err(got->dx, dx, nx),
                   test_rel_err(got->dw, dw, nw), test_rel_err(got->db, db, (size_t)O)};
    for (int i = 0; i < 4; i++)
        if (!(e[i] <= 1e-5))
            fail_msg("%s: %s relative error %.3g", what, (const char *[]){"y", "dx", "dw", "db"}[i],
                     e[i]);
    free(xh), free(wh), free(bh), free(rh), free(z), free(dz), free(y), free(dx), free(dw),
        free(db);
}

static void check_same(const conv_out *a, const conv_out *b, const char *what) {
    double e[5] = {rel_err_f(a->y, b->y, a->ny), rel_err_f(a->dx, b->dx, a->nx),
                   rel_err_f(a->dw, b->dw, a->nw), rel_err_f(a->db, b->db, a->nb),
                   rel_err_f(a->dw2, b->dw2, a->nw)};
    for (int i = 0; i < 5; i++)
        if (!(e[i] <= 2e-5))
            fail_msg("%s: gpu vs cpu variants: %s differs by %.3g", what,
                     (const char *[]){"y", "dx", "dw", "db", "dw2"}[i], e[i]);
}

static void conv_check(conv_shape c) {
    char what[160];
    snprintf(what, sizeof what, "%s N%d C%d %dx%d O%d k%d s%d p%d act%d%s",
             c.transposed ? "convt" : "conv", c.N, c.C, c.H, c.W, c.O, c.K, c.s, c.p, (int)c.act,
             c.twice ? " twice" : "");
    use("cpu");
    conv_out cpu = run_conv(&c);
    use("gpu");
    conv_out gpu = run_conv(&c);
    check_same(&gpu, &cpu, what);
    if (!c.twice) check_reference(&c, &gpu, what);
    free_out(&cpu), free_out(&gpu);
}

static void conv_cases(void) {
    // conv: stride 1 (input gradient as a conv), stride 2 (col2im), 1x1, padding, activations
    conv_check((conv_shape){0, 3, 8, 14, 14, 16, 3, 1, 1, 0, LC_ACT_NONE, 0});
    conv_check((conv_shape){0, 2, 5, 13, 11, 6, 3, 2, 1, 0, LC_ACT_RELU, 0});
    conv_check((conv_shape){0, 2, 4, 9, 10, 7, 4, 2, 1, 0, LC_ACT_LEAKY_RELU, 0});
    conv_check((conv_shape){0, 2, 6, 7, 9, 5, 1, 1, 0, 0, LC_ACT_SIGMOID, 0});
    conv_check((conv_shape){0, 2, 3, 6, 7, 4, 3, 1, 2, 0, LC_ACT_TANH, 0});
    conv_check((conv_shape){0, 3, 4, 10, 13, 6, 3, 1, 0, 0, LC_ACT_NONE, 0});
    conv_check((conv_shape){0, 2, 3, 9, 12, 4, 3, 3, 0, 0, LC_ACT_RELU, 0});
    conv_check((conv_shape){0, 2, 5, 7, 6, 3, 2, 1, 1, 0, LC_ACT_NONE, 0}); // even kernel
    // x and b used twice: their gradients accumulate (acc in every kernel that writes them)
    conv_check((conv_shape){0, 3, 6, 12, 12, 8, 3, 1, 1, 0, LC_ACT_TANH, 1});
    conv_check((conv_shape){0, 2, 4, 11, 9, 5, 3, 2, 1, 0, LC_ACT_NONE, 1});
    conv_check((conv_shape){0, 2, 7, 5, 5, 3, 1, 1, 0, 0, LC_ACT_RELU, 1});
    // transposed: stride 2 with output padding, stride 1, stride 3
    conv_check((conv_shape){1, 3, 4, 7, 9, 5, 4, 2, 1, 1, LC_ACT_NONE, 0});
    conv_check((conv_shape){1, 2, 4, 10, 11, 2, 3, 1, 1, 0, LC_ACT_NONE, 0});
    conv_check((conv_shape){1, 2, 3, 6, 5, 4, 3, 3, 0, 2, LC_ACT_NONE, 0});
    conv_check((conv_shape){1, 2, 5, 6, 6, 3, 4, 2, 1, 0, LC_ACT_NONE, 1});
}

static void test_conv_whole_batch(void **state) {
    (void)state;
    unsetenv("LATENTCL_CONV_GPU_CHUNK");
    conv_cases();
}

// A tiny chunk budget: every batch above runs in several im2col chunks, one image each
// at most, so the kernels' offsets and the "later chunks add" paths are exercised.
static void test_conv_chunks(void **state) {
    (void)state;
    setenv("LATENTCL_CONV_GPU_CHUNK", "600", 1);
    conv_cases();
    unsetenv("LATENTCL_CONV_GPU_CHUNK");
}

// Weight gradients with their inner dimension split into slices of at least 7 (not a
// divisor of the lengths here, so the remainder GEMM runs too), whole batch and chunked.
static void test_conv_split_k(void **state) {
    (void)state;
    setenv("LATENTCL_CONV_GPU_SPLITK_MIN", "7", 1);
    conv_cases();
    setenv("LATENTCL_CONV_GPU_CHUNK", "2000", 1);
    conv_cases();
    unsetenv("LATENTCL_CONV_GPU_CHUNK");
    unsetenv("LATENTCL_CONV_GPU_SPLITK_MIN");
}

// --- GroupNorm + shift + SiLU against the CPU kernel on larger rows ------------------

static void gn_check(int N, int C, int G, int H, int W, int with_add, lc_act act) {
    size_t nx = (size_t)N * C * H * W;
    float *out[2][5];
    for (int m = 0; m < 2; m++) {
        use(m ? "gpu" : "cpu");
        unsigned seed = (unsigned)(N * 7 + C * 3 + H + G);
        float *xh = test_rand_uniform(nx, &seed), *ah = test_rand_uniform((size_t)N * C, &seed),
              *gh = test_rand_uniform((size_t)C, &seed), *bh = test_rand_uniform((size_t)C, &seed),
              *rh = test_rand_uniform(nx, &seed);
        for (size_t i = 0; i < nx; i++)
            xh[i] = 3 * xh[i] + 0.5f; // a mean away from 0
        lc_step_begin(ctx);
        lc_tensor *x = test_leaf(ctx, xh, 4, (int64_t[]){N, C, H, W}),
                  *a = test_leaf(ctx, ah, 2, (int64_t[]){N, C}),
                  *g = test_leaf(ctx, gh, 1, (int64_t[]){C}),
                  *b = test_leaf(ctx, bh, 1, (int64_t[]){C}), *y, *r;
        assert_ok(lc_group_norm_act(ctx, &y, x, with_add ? a : NULL, G, g, b, 1e-5f, act));
        assert_ok(lc_tensor_from_host(ctx, &r, rh, 4, (int64_t[]){N, C, H, W}));
        assert_ok(lc_backward_from(ctx, y, r));
        size_t sz[5] = {nx, nx, (size_t)N * C, (size_t)C, (size_t)C};
        for (int i = 0; i < 5; i++)
            out[m][i] = calloc(sz[i], 4);
        assert_ok(lc_tensor_to_host(ctx, out[m][0], y));
        assert_ok(lc_tensor_grad_to_host(ctx, out[m][1], x));
        if (with_add) assert_ok(lc_tensor_grad_to_host(ctx, out[m][2], a));
        assert_ok(lc_tensor_grad_to_host(ctx, out[m][3], g));
        assert_ok(lc_tensor_grad_to_host(ctx, out[m][4], b));
        free(xh), free(ah), free(gh), free(bh), free(rh);
    }
    size_t sz[5] = {nx, nx, (size_t)N * C, (size_t)C, (size_t)C};
    for (int i = 0; i < 5; i++) {
        double e = rel_err_f(out[1][i], out[0][i], sz[i]);
        if (!(e <= 1e-4))
            fail_msg("group_norm_act N%d C%d G%d %dx%d add%d act%d: %s differs by %.3g", N, C, G, H,
                     W, with_add, (int)act,
                     (const char *[]){"y", "dx", "dadd", "dgamma", "dbeta"}[i], e);
        free(out[0][i]), free(out[1][i]);
    }
}

static void test_group_norm_act(void **state) {
    (void)state;
    gn_check(3, 32, 8, 28, 28, 1, LC_ACT_SILU); // rows of 4 channels x 784
    gn_check(2, 64, 8, 7, 7, 1, LC_ACT_SILU);   // rows shorter than a channel per work-group
    gn_check(2, 12, 3, 5, 9, 0, LC_ACT_SILU);
    gn_check(2, 16, 4, 11, 11, 1, LC_ACT_NONE);
    gn_check(4, 24, 4, 1, 1, 1, LC_ACT_SILU); // S = 1
    gn_check(1, 8, 1, 17, 19, 0, LC_ACT_NONE);
}

// The GPU kernels are the ones that ran (the profile names them), and LATENTCL_CONV=cpu
// runs none of them.
static void test_profile_names(void **state) {
    (void)state;
    static const char *gpu_names[] = {"im2col_gpu",       "col2im_gpu",      "cols_to_nchw_gpu",
                                      "nchw_to_cols_gpu", "channel_sum_gpu", "gn_act_fwd_gpu",
                                      "gn_act_bwd_gpu",   "sum_slices_gpu"};
    int before[8];
    for (int i = 0; i < 8; i++)
        before[i] = test_profile_calls(dev, gpu_names[i]);
    use("cpu");
    conv_out o = run_conv(&(conv_shape){0, 2, 4, 9, 9, 5, 3, 2, 1, 0, LC_ACT_RELU, 0});
    free_out(&o);
    gn_check(2, 8, 2, 5, 5, 1, LC_ACT_SILU); // runs cpu, then gpu
    for (int i = 0; i < 5; i++)
        assert_int_equal(test_profile_calls(dev, gpu_names[i]), before[i]);
    use("gpu");
    setenv("LATENTCL_CONV_GPU_SPLITK_MIN", "16", 1);
    o = run_conv(&(conv_shape){0, 2, 4, 9, 9, 5, 3, 2, 1, 0, LC_ACT_RELU, 0});
    unsetenv("LATENTCL_CONV_GPU_SPLITK_MIN");
    free_out(&o);
    for (int i = 0; i < 8; i++)
        if (test_profile_calls(dev, gpu_names[i]) <= before[i])
            fail_msg("%s never ran (%d calls before, %d after)", gpu_names[i], before[i],
                     test_profile_calls(dev, gpu_names[i]));
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_op_cases_gpu),   cmocka_unit_test(test_conv_whole_batch),
        cmocka_unit_test(test_conv_chunks),    cmocka_unit_test(test_conv_split_k),
        cmocka_unit_test(test_group_norm_act), cmocka_unit_test(test_profile_names),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
