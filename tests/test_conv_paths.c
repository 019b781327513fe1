// The fast paths of the conv kernels (cl/conv.cl) on shapes large enough to
// reach them: vector runs in im2col / col2im (stride 1 and 2), batches that
// span several im2col chunks (src/tensor/ops_conv.c), 2x2 pooling with even
// and odd widths, x2 upsampling. Forward and every gradient against a host
// reference in double (the gradients as the exact adjoint for an upstream r).
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "test_util.h"

#include "latentcl/tensor.h"

static lc_device *dev;
static lc_ctx *ctx;

static int setup(void **state) { return test_open_device(&dev, &ctx); }
static int teardown(void **state) { return test_close_device(dev, ctx); }

static void check(const char *what, const float *got, const double *want, size_t n, double tol) {
    double e = test_rel_err(got, want, n);
    if (!(e <= tol)) fail_msg("%s: relative error %.3g (tol %.g)", what, e, tol);
}

static void read_grad(float *dst, lc_tensor *t) { assert_ok(lc_tensor_grad_to_host(ctx, dst, t)); }

// conv2d (transposed = 0) or conv_transpose2d (transposed = 1). x (N, C, H, W);
// conv: w (O, C, K, K), y (N, O, OH, OW); transposed: w (C, O, K, K).
static void conv_case(int transposed, int N, int C, int H, int W, int O, int K, int s, int p,
                      int op) {
    unsigned seed = (unsigned)(N * 131 + C * 17 + H * 7 + W + O * 3 + K + s * 5 + p + transposed);
    int OH, OW;
    if (transposed)
        OH = (H - 1) * s - 2 * p + K + op, OW = (W - 1) * s - 2 * p + K + op;
    else
        OH = (H + 2 * p - K) / s + 1, OW = (W + 2 * p - K) / s + 1;
    size_t nx = (size_t)N * C * H * W, nw = (size_t)O * C * K * K, ny = (size_t)N * O * OH * OW;
    float *xh = test_rand_uniform(nx, &seed), *wh = test_rand_uniform(nw, &seed),
          *bh = test_rand_uniform((size_t)O, &seed), *rh = test_rand_uniform(ny, &seed),
          *got = malloc((ny > nx ? (ny > nw ? ny : nw) : nx) * 4);
    double *y = calloc(ny, 8), *dx = calloc(nx, 8), *dw = calloc(nw, 8), *db = calloc(O, 8);
    for (size_t i = 0; i < ny; i++)
        y[i] = bh[(i / ((size_t)OH * OW)) % O];
    for (int n = 0; n < N; n++)
        for (int c = 0; c < C; c++)
            for (int o = 0; o < O; o++)
                for (int kh = 0; kh < K; kh++)
                    for (int kw = 0; kw < K; kw++) {
                        size_t wi = transposed ? (((size_t)c * O + o) * K + kh) * K + kw
                                               : (((size_t)o * C + c) * K + kh) * K + kw;
                        // Pairs (input h, w) -> (output a, b) that the tap connects.
                        for (int h = 0; h < (transposed ? H : OH); h++)
                            for (int w = 0; w < (transposed ? W : OW); w++) {
                                int a = h * s - p + kh, b = w * s - p + kw;
                                int lim_a = transposed ? OH : H, lim_b = transposed ? OW : W;
                                if (a < 0 || a >= lim_a || b < 0 || b >= lim_b) continue;
                                // conv: y at (h, w) reads x at (a, b); transposed: the reverse.
                                size_t xi = transposed ? (((size_t)n * C + c) * H + h) * W + w
                                                       : (((size_t)n * C + c) * H + a) * W + b;
                                size_t yi = transposed ? (((size_t)n * O + o) * OH + a) * OW + b
                                                       : (((size_t)n * O + o) * OH + h) * OW + w;
                                y[yi] += (double)xh[xi] * wh[wi];
                                dx[xi] += (double)rh[yi] * wh[wi];
                                dw[wi] += (double)rh[yi] * xh[xi];
                            }
                    }
    for (size_t i = 0; i < ny; i++)
        db[(i / ((size_t)OH * OW)) % O] += rh[i];
    lc_step_begin(ctx);
    lc_tensor *x = test_leaf(ctx, xh, 4, (int64_t[]){N, C, H, W}), *r, *out,
              *wt = test_leaf(ctx, wh, 4,
                              transposed ? (int64_t[]){C, O, K, K} : (int64_t[]){O, C, K, K}),
              *bt = test_leaf(ctx, bh, 1, (int64_t[]){O});
    if (transposed)
        assert_ok(lc_conv_transpose2d(ctx, &out, x, wt, bt, s, p, op));
    else
        assert_ok(lc_conv2d(ctx, &out, x, wt, bt, s, p));
    assert_int_equal(out->numel, (int64_t)ny);
    assert_ok(lc_tensor_from_host(ctx, &r, rh, 4, (int64_t[]){N, O, OH, OW}));
    assert_ok(lc_backward_from(ctx, out, r));
    char what[128];
    snprintf(what, sizeof what, "%s N%d C%d %dx%d O%d k%d s%d p%d", transposed ? "convt" : "conv",
             N, C, H, W, O, K, s, p);
    assert_ok(lc_tensor_to_host(ctx, got, out));
    check(what, got, y, ny, 1e-5);
    read_grad(got, x);
    check(what, got, dx, nx, 1e-5);
    read_grad(got, wt);
    check(what, got, dw, nw, 1e-5);
    read_grad(got, bt);
    check(what, got, db, (size_t)O, 1e-5);
    free(xh), free(wh), free(bh), free(rh), free(got), free(y), free(dx), free(dw), free(db);
}

static void test_conv2d_paths(void **state) {
    (void)state;
    conv_case(0, 25, 32, 28, 28, 8, 3, 1, 1, 0); // several im2col chunks, the last partial
    conv_case(0, 3, 5, 20, 21, 6, 4, 2, 1, 0);   // 4x4 stride 2 (vector im2col)
    conv_case(0, 2, 4, 17, 19, 3, 3, 2, 1, 0);   // 3x3 stride 2, odd widths
    conv_case(0, 2, 6, 9, 13, 4, 1, 1, 0, 0);    // 1x1
    conv_case(0, 2, 3, 11, 10, 5, 5, 1, 2, 0);   // 5x5 pad 2
    conv_case(0, 2, 3, 9, 12, 4, 3, 3, 0, 0);    // stride 3 (scalar paths)
    // Stride 1: the input gradient as a conv of dz with the turned weights.
    conv_case(0, 7, 48, 28, 28, 16, 3, 1, 1, 0); // three chunks, the last partial, C > O
    conv_case(0, 3, 4, 10, 13, 6, 3, 1, 0, 0);   // padding 0: dz padded by 2
    conv_case(0, 2, 3, 6, 7, 5, 3, 1, 2, 0);     // padding 2 = K - 1: output larger than x
    conv_case(0, 2, 5, 7, 6, 3, 2, 1, 1, 0);     // even kernel
    conv_case(0, 3, 8, 9, 9, 12, 1, 1, 0, 0);    // 1x1: a plain GEMM
    // The forward in one chunk (its im2col kept), the backward in two (O*K*K rows).
    conv_case(0, 4, 16, 28, 28, 64, 3, 1, 1, 0);
}

static void test_conv_transpose2d_paths(void **state) {
    (void)state;
    conv_case(1, 48, 4, 14, 14, 32, 4, 2, 1, 0); // several chunks, 4x4 stride 2
    conv_case(1, 3, 5, 7, 9, 3, 4, 2, 1, 1);     // output padding
    conv_case(1, 2, 4, 10, 11, 2, 3, 1, 1, 0);   // stride 1 (vector col2im)
    conv_case(1, 2, 3, 6, 5, 4, 3, 3, 0, 2);     // stride 3
}

static void pool_case(int is_max, int N, int C, int H, int W, int k, int s) {
    unsigned seed = (unsigned)(H * 31 + W + k * 7 + s + is_max);
    int OH = (H - k) / s + 1, OW = (W - k) / s + 1;
    size_t nx = (size_t)N * C * H * W, ny = (size_t)N * C * OH * OW;
    float *xh = test_rand_uniform(nx, &seed), *rh = test_rand_uniform(ny, &seed),
          *got = malloc(nx * 4);
    double *y = calloc(ny, 8), *dx = calloc(nx, 8);
    for (int nc = 0; nc < N * C; nc++)
        for (int oh = 0; oh < OH; oh++)
            for (int ow = 0; ow < OW; ow++) {
                size_t yi = ((size_t)nc * OH + oh) * OW + ow, best = 0;
                double m = -INFINITY, sum = 0;
                for (int i = 0; i < k; i++)
                    for (int j = 0; j < k; j++) {
                        size_t xi = ((size_t)nc * H + oh * s + i) * W + ow * s + j;
                        sum += xh[xi];
                        if (xh[xi] > m) m = xh[xi], best = xi;
                    }
                y[yi] = is_max ? m : sum / (k * k);
                if (is_max) {
                    dx[best] += rh[yi];
                } else {
                    for (int i = 0; i < k; i++)
                        for (int j = 0; j < k; j++)
                            dx[((size_t)nc * H + oh * s + i) * W + ow * s + j] += rh[yi] / (k * k);
                }
            }
    lc_step_begin(ctx);
    lc_tensor *x = test_leaf(ctx, xh, 4, (int64_t[]){N, C, H, W}), *out, *r;
    if (is_max)
        assert_ok(lc_max_pool2d(ctx, &out, x, k, s));
    else
        assert_ok(lc_avg_pool2d(ctx, &out, x, k, s));
    assert_ok(lc_tensor_from_host(ctx, &r, rh, 4, (int64_t[]){N, C, OH, OW}));
    assert_ok(lc_backward_from(ctx, out, r));
    char what[96];
    snprintf(what, sizeof what, "%s pool %dx%d k%d s%d", is_max ? "max" : "avg", H, W, k, s);
    assert_ok(lc_tensor_to_host(ctx, got, out));
    check(what, got, y, ny, 1e-6);
    read_grad(got, x);
    check(what, got, dx, nx, 1e-6);
    free(xh), free(rh), free(got), free(y), free(dx);
}

static void test_pool_paths(void **state) {
    (void)state;
    int widths[] = {28, 29, 14, 15, 9, 8, 7, 3};
    for (int is_max = 0; is_max < 2; is_max++) {
        for (int i = 0; i < 8; i++)
            pool_case(is_max, 2, 3, widths[i] - 1 + i % 2, widths[i], 2, 2);
        pool_case(is_max, 2, 3, 12, 17, 3, 3);
        pool_case(is_max, 2, 3, 12, 17, 3, 1);
        pool_case(is_max, 1, 2, 12, 17, 2, 1);
    }
}

static void upsample_case(int N, int C, int H, int W, int f) {
    unsigned seed = (unsigned)(H * 13 + W + f);
    size_t nx = (size_t)N * C * H * W, ny = nx * f * f;
    float *xh = test_rand_uniform(nx, &seed), *rh = test_rand_uniform(ny, &seed),
          *got = malloc(ny * 4);
    double *y = calloc(ny, 8), *dx = calloc(nx, 8);
    for (int nc = 0; nc < N * C; nc++)
        for (int a = 0; a < H * f; a++)
            for (int b = 0; b < W * f; b++) {
                size_t yi = ((size_t)nc * H * f + a) * W * f + b,
                       xi = ((size_t)nc * H + a / f) * W + b / f;
                y[yi] = xh[xi];
                dx[xi] += rh[yi];
            }
    lc_step_begin(ctx);
    lc_tensor *x = test_leaf(ctx, xh, 4, (int64_t[]){N, C, H, W}), *out, *r;
    assert_ok(lc_upsample_nearest(ctx, &out, x, f));
    assert_ok(lc_tensor_from_host(ctx, &r, rh, 4, (int64_t[]){N, C, H * f, W * f}));
    assert_ok(lc_backward_from(ctx, out, r));
    char what[64];
    snprintf(what, sizeof what, "upsample %dx%d f%d", H, W, f);
    assert_ok(lc_tensor_to_host(ctx, got, out));
    check(what, got, y, ny, 1e-6);
    read_grad(got, x);
    check(what, got, dx, nx, 1e-6);
    free(xh), free(rh), free(got), free(y), free(dx);
}

static void test_upsample_paths(void **state) {
    (void)state;
    upsample_case(2, 3, 14, 14, 2);
    upsample_case(2, 3, 7, 13, 2);
    upsample_case(1, 2, 5, 6, 3);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_conv2d_paths),
        cmocka_unit_test(test_conv_transpose2d_paths),
        cmocka_unit_test(test_pool_paths),
        cmocka_unit_test(test_upsample_paths),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
