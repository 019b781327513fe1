// The host conv path (src/tensor/conv_host.c: stride-1 convs as host tasks on a CPU
// device with the host GEMM backend) and the OpenCL path (im2col + CLBlast) on the
// same cases: forward and every gradient against a host reference in double, the
// fused activations of one path against the other, gradients that accumulate (an
// input or a weight used twice), and the profile rows that show which path ran.
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "test_util.h"

#include "latentcl/gemm.h"
#include "latentcl/tensor.h"

static lc_device *dev;
static lc_ctx *ctx;

static int setup(void **state) { return test_open_device(&dev, &ctx); }
static int teardown(void **state) { return test_close_device(dev, ctx); }

typedef struct {
    int N, C, H, W, O, KH, KW, s, p;
} shape;

static int out_h(const shape *s) { return (s->H + 2 * s->p - s->KH) / s->s + 1; }
static int out_w(const shape *s) { return (s->W + 2 * s->p - s->KW) / s->s + 1; }

// each array from a seed of its own
static float *rnd(size_t n, unsigned seed) { return test_rand_uniform(n, &seed); }

static void check(const char *what, const char *part, const float *got, const double *want,
                  size_t n, double tol) {
    double e = test_rel_err(got, want, n);
    if (!(e <= tol)) fail_msg("%s %s: relative error %.3g (tol %.g)", what, part, e, tol);
}

// What one path computed: y, and the gradients of sum(r * y) for x, w, b.
typedef struct {
    float *y, *dx, *dw, *db;
} result;

static void result_free(result *r) { free(r->y), free(r->dx), free(r->dw), free(r->db); }

// Runs the conv on the backend b; `twice`: y = conv(x, w) + conv(x, w), so that the
// gradients of x, w and b accumulate over two backward calls.
static result run(lc_gemm_backend backend, const shape *s, lc_act act, float alpha, int twice,
                  unsigned seed) {
    int OH = out_h(s), OW = out_w(s);
    size_t nx = (size_t)s->N * s->C * s->H * s->W, nw = (size_t)s->O * s->C * s->KH * s->KW,
           ny = (size_t)s->N * s->O * OH * OW;
    float *xh = rnd(nx, seed), *wh = rnd(nw, seed + 1), *bh = rnd((size_t)s->O, seed + 2),
          *rh = rnd(ny, seed + 3);
    assert_ok(lc_gemm_set_backend(dev, backend));
    lc_step_begin(ctx);
    lc_tensor *x = test_leaf(ctx, xh, 4, (int64_t[]){s->N, s->C, s->H, s->W}),
              *w = test_leaf(ctx, wh, 4, (int64_t[]){s->O, s->C, s->KH, s->KW}),
              *b = test_leaf(ctx, bh, 1, (int64_t[]){s->O}), *y, *r;
    assert_ok(lc_conv2d_act(ctx, &y, x, w, b, s->s, s->p, act, alpha));
    if (twice) {
        lc_tensor *y2;
        assert_ok(lc_conv2d_act(ctx, &y2, x, w, b, s->s, s->p, act, alpha));
        assert_ok(lc_add(ctx, &y, y, y2));
    }
    assert_ok(lc_tensor_from_host(ctx, &r, rh, 4, (int64_t[]){s->N, s->O, OH, OW}));
    assert_ok(lc_backward_from(ctx, y, r));
    result out = {malloc(ny * 4), malloc(nx * 4), malloc(nw * 4), malloc((size_t)s->O * 4)};
    assert_ok(lc_tensor_to_host(ctx, out.y, y));
    assert_ok(lc_tensor_grad_to_host(ctx, out.dx, x));
    assert_ok(lc_tensor_grad_to_host(ctx, out.dw, w));
    assert_ok(lc_tensor_grad_to_host(ctx, out.db, b));
    assert_ok(lc_gemm_set_backend(dev, LC_GEMM_AUTO));
    free(xh), free(wh), free(bh), free(rh);
    return out;
}

// The reference in double for act NONE, times `times` (the twice case).
static void reference(const shape *s, unsigned seed, double times, double *y, double *dx,
                      double *dw, double *db) {
    int OH = out_h(s), OW = out_w(s);
    size_t nx = (size_t)s->N * s->C * s->H * s->W, nw = (size_t)s->O * s->C * s->KH * s->KW,
           ny = (size_t)s->N * s->O * OH * OW;
    float *xh = rnd(nx, seed), *wh = rnd(nw, seed + 1), *bh = rnd((size_t)s->O, seed + 2),
          *rh = rnd(ny, seed + 3);
    for (size_t i = 0; i < ny; i++)
        y[i] = bh[(i / ((size_t)OH * OW)) % s->O];
    memset(dx, 0, nx * sizeof *dx);
    memset(dw, 0, nw * sizeof *dw);
    memset(db, 0, (size_t)s->O * sizeof *db);
    for (int n = 0; n < s->N; n++)
        for (int o = 0; o < s->O; o++)
            for (int c = 0; c < s->C; c++)
                for (int kh = 0; kh < s->KH; kh++)
                    for (int kw = 0; kw < s->KW; kw++) {
                        size_t wi = (((size_t)o * s->C + c) * s->KH + kh) * s->KW + kw;
                        for (int oh = 0; oh < OH; oh++)
                            for (int ow = 0; ow < OW; ow++) {
                                int h = oh * s->s - s->p + kh, w = ow * s->s - s->p + kw;
                                if (h < 0 || h >= s->H || w < 0 || w >= s->W) continue;
                                size_t xi = (((size_t)n * s->C + c) * s->H + h) * s->W + w;
                                size_t yi = (((size_t)n * s->O + o) * OH + oh) * OW + ow;
                                y[yi] += (double)xh[xi] * wh[wi];
                                dx[xi] += (double)rh[yi] * wh[wi];
                                dw[wi] += (double)rh[yi] * xh[xi];
                            }
                    }
    for (size_t i = 0; i < ny; i++) {
        db[(i / ((size_t)OH * OW)) % s->O] += rh[i];
        y[i] *= times;
    }
    for (size_t i = 0; i < nx; i++)
        dx[i] *= times;
    for (size_t i = 0; i < nw; i++)
        dw[i] *= times;
    for (int i = 0; i < s->O; i++)
        db[i] *= times;
    free(xh), free(wh), free(bh), free(rh);
}

static const char *name_of(lc_gemm_backend b) { return b == LC_GEMM_HOST ? "host" : "clblast"; }

// The host backend needs native kernels (PoCL's CPU device); elsewhere only CLBlast runs.
static int has_host(void) { return lc_device_get_info(dev)->native_kernels; }

// Both backends against the reference (act NONE), once and twice.
static void exact_case(const shape *s) {
    int OH = out_h(s), OW = out_w(s);
    size_t nx = (size_t)s->N * s->C * s->H * s->W, nw = (size_t)s->O * s->C * s->KH * s->KW,
           ny = (size_t)s->N * s->O * OH * OW;
    unsigned seed =
        (unsigned)(s->N * 131 + s->C * 17 + s->H * 7 + s->W + s->O * 3 + s->KH + s->KW * 11 + s->p);
    double *y = malloc(ny * 8), *dx = malloc(nx * 8), *dw = malloc(nw * 8), *db = malloc(s->O * 8);
    lc_gemm_backend backends[2] = {LC_GEMM_HOST, LC_GEMM_CLBLAST};
    for (int twice = 0; twice < 2; twice++) {
        reference(s, seed, twice ? 2.0 : 1.0, y, dx, dw, db);
        for (int i = has_host() ? 0 : 1; i < 2; i++) {
            char what[160];
            snprintf(what, sizeof what, "%s%s N%d C%d %dx%d O%d k%dx%d s%d p%d",
                     name_of(backends[i]), twice ? " twice" : "", s->N, s->C, s->H, s->W, s->O,
                     s->KH, s->KW, s->s, s->p);
            result r = run(backends[i], s, LC_ACT_NONE, 0.0f, twice, seed);
            check(what, "y", r.y, y, ny, 1e-5);
            check(what, "dx", r.dx, dx, nx, 1e-5);
            check(what, "dw", r.dw, dw, nw, 1e-5);
            check(what, "db", r.db, db, (size_t)s->O, 1e-5);
            result_free(&r);
        }
    }
    free(y), free(dx), free(dw), free(db);
}

static void test_conv_host_exact(void **state) {
    (void)state;
    const shape cases[] = {
        {5, 3, 9, 11, 6, 3, 3, 1, 1},     // O not a multiple of 4
        {1, 1, 28, 28, 16, 3, 3, 1, 1},   // one image, one input channel (the U-Net's first conv)
        {9, 7, 7, 7, 5, 3, 3, 1, 1},      // several small images per group, the last partial
        {33, 16, 14, 14, 16, 3, 3, 1, 1}, // many groups over the threads
        {70, 2, 7, 7, 3, 3, 3, 1, 1},     // groups as 2-row mosaics, the last partial
        {70, 2, 4, 5, 3, 5, 5, 1, 2},     // 3x3 mosaics sharing 2-wide padding
        {3, 4, 6, 5, 3, 5, 5, 1, 2},      // 5x5, padding 2
        {2, 3, 8, 7, 4, 3, 3, 1, 0},      // padding 0: the gradient pads dz by 2
        {2, 2, 6, 6, 3, 2, 2, 1, 1},      // even kernel: the output is larger than x
        {3, 5, 5, 6, 7, 3, 1, 1, 0},      // 3x1
        {4, 8, 7, 7, 20, 1, 1, 1, 0},     // 1x1
        {3, 4, 9, 9, 5, 3, 3, 2, 1},      // stride 2: not the host path's (falls back)
        {2, 3, 6, 6, 4, 3, 3, 1, 3},      // padding 3 > K - 1: not the host path's
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        exact_case(&cases[i]);
}

static void same(const char *what, const char *part, const float *a, const float *b, size_t n) {
    double *d = malloc(n * sizeof *d);
    for (size_t i = 0; i < n; i++)
        d[i] = b[i];
    check(what, part, a, d, n, 2e-5);
    free(d);
}

// Fused activations: the host path against the OpenCL path.
static void test_conv_host_activations(void **state) {
    (void)state;
    if (!has_host()) skip();
    const shape s = {6, 5, 10, 9, 8, 3, 3, 1, 1};
    const lc_act acts[] = {LC_ACT_RELU, LC_ACT_LEAKY_RELU, LC_ACT_SIGMOID, LC_ACT_TANH};
    int OH = out_h(&s), OW = out_w(&s);
    size_t nx = (size_t)s.N * s.C * s.H * s.W, nw = (size_t)s.O * s.C * s.KH * s.KW,
           ny = (size_t)s.N * s.O * OH * OW;
    for (int i = 0; i < 4; i++) {
        char what[64];
        snprintf(what, sizeof what, "act %d", (int)acts[i]);
        result h = run(LC_GEMM_HOST, &s, acts[i], 0.1f, 0, 7u + (unsigned)i);
        result c = run(LC_GEMM_CLBLAST, &s, acts[i], 0.1f, 0, 7u + (unsigned)i);
        same(what, "y", h.y, c.y, ny);
        same(what, "dx", h.dx, c.dx, nx);
        same(what, "dw", h.dw, c.dw, nw);
        same(what, "db", h.db, c.db, (size_t)s.O);
        result_free(&h);
        result_free(&c);
    }
}

// Which path ran: the host tasks' profile rows grow with the host backend only.
static void test_conv_host_path_taken(void **state) {
    (void)state;
    if (!lc_device_profiling(dev) || !has_host()) skip();
    const shape s = {2, 3, 8, 8, 4, 3, 3, 1, 1};
    int host_ok = lc_device_get_info(dev)->is_cpu && lc_device_get_info(dev)->native_kernels &&
                  __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    const char *env = getenv("LATENTCL_HOST_CONV");
    if (env && !strcmp(env, "0")) host_ok = 0;
    const char *conv = getenv("LATENTCL_CONV"); // gpu: the GPU kernels are forced
    if (conv && !strcmp(conv, "gpu")) host_ok = 0;
    int f0 = test_profile_calls(dev, "conv2d (host)"),
        b0 = test_profile_calls(dev, "conv2d backward (host)");
    result r = run(LC_GEMM_CLBLAST, &s, LC_ACT_NONE, 0.0f, 0, 1u);
    result_free(&r);
    assert_true(test_profile_calls(dev, "conv2d (host)") == f0);
    r = run(LC_GEMM_HOST, &s, LC_ACT_NONE, 0.0f, 0, 1u);
    result_free(&r);
    assert_true(test_profile_calls(dev, "conv2d (host)") == f0 + host_ok);
    assert_true(test_profile_calls(dev, "conv2d backward (host)") == b0 + host_ok);
}

int main(void) {
    setenv("LATENTCL_PROFILE", "1", 0); // for test_conv_host_path_taken
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_conv_host_exact),
        cmocka_unit_test(test_conv_host_activations),
        cmocka_unit_test(test_conv_host_path_taken),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
