// Every tensor op: forward against the double-precision host reference and
// backward against central finite differences (h = 1e-5 in double around the
// float inputs), on the default sizes and on random sizes drawn from
// {1, 3, 7, 33}. Tolerances per op in src/tensor/op_cases.c: forward 1e-5
// (1e-6 for exact ops) relative to max(1, |ref|); gradient 2e-3 relative to
// the largest finite difference. Then the tape rules: shape errors, no-grad
// mode, views, accumulation into the parameter buffer, no allocation on the
// second step.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "test_util.h"
#include "latentcl/gemm.h"
#include "latentcl/rng.h"
#include "latentcl/tensor.h"
#include "selftest/selftest.h"
#include "tensor/gradcheck.h"

static lc_device *dev;
static lc_ctx *ctx;

static int setup(void **state) { return test_open_device(&dev, &ctx); }

static int teardown(void **state) { return test_close_device(dev, ctx); }

static void check_case(const lc_op_case *oc, const int *sz, uint64_t seed) {
    lc_case_result r;
    lc_status s = lc_run_case(ctx, oc, sz, seed, &r);
    const int *z = sz ? sz : oc->sz;
    if (s != LC_OK)
        fail_msg("%s sizes (%d,%d,%d,%d), gemm %s: %s", oc->name, z[0], z[1], z[2], z[3],
                 lc_gemm_backend_name(lc_gemm_active_backend(dev)), lc_last_error());
    int grad_ok = r.grad_checked ? r.grad_err >= 0 && r.grad_err <= oc->grad_tol
                                 : r.grad_err == -1 && r.tape_nodes == 0;
    if (!(r.fwd_err <= oc->fwd_tol) || !grad_ok)
        fail_msg("%s sizes (%d,%d,%d,%d), gemm %s: fwd_err %.3g (tol %.g) grad_err %.3g (tol %.g)",
                 oc->name, z[0], z[1], z[2], z[3],
                 lc_gemm_backend_name(lc_gemm_active_backend(dev)), r.fwd_err, oc->fwd_tol,
                 r.grad_err, oc->grad_tol);
    if (r.grad_checked) assert_true(r.tape_nodes >= 1);
}

static void test_every_op_default_sizes(void **state) {
    (void)state;
    int n = 0;
    for (const lc_op_case *oc = lc_op_cases; oc->name; oc++, n++)
        check_case(oc, NULL, 7);
    assert_true(n >= 50);
}

// Every op case has its line in `latentcl selftest`.
static void test_every_op_in_selftest(void **state) {
    (void)state;
    for (const lc_op_case *oc = lc_op_cases; oc->name; oc++) {
        const lc_check *c = lc_checks;
        while (c->name && strcmp(c->name, oc->name))
            c++;
        if (!c->name) fail_msg("op %s is not registered in src/selftest/registry.c", oc->name);
    }
}

static void test_every_op_odd_sizes(void **state) {
    (void)state;
    static const int pick[4] = {1, 3, 7, 33};
    uint32_t key[2] = {11, 0};
    for (const lc_op_case *oc = lc_op_cases; oc->name; oc++) {
        for (uint32_t v = 0; v < 3; v++) {
            uint32_t ctr[4] = {v, (uint32_t)(oc - lc_op_cases), 0, 0}, r[4];
            lc_philox4x32_10(r, ctr, key);
            int sz[4];
            int big = 0;
            for (int i = 0; i < 4; i++) {
                sz[i] = pick[r[i] % 4];
                if (sz[i] == 33 && big++) sz[i] = 3; // at most one 33: seconds, not minutes
            }
            if (v == 0) sz[0] = sz[1] = sz[2] = sz[3] = 1; // all ones
            check_case(oc, sz, 100 + v);
        }
    }
}

// The message names the op and both shapes; nothing is recorded.
static void test_shape_errors(void **state) {
    (void)state;
    lc_step_begin(ctx);
    lc_tensor *a, *b, *y = (lc_tensor *)1, *lab;
    assert_ok(lc_tensor_new(ctx, &a, 2, (int64_t[]){2, 3}));
    assert_ok(lc_tensor_new(ctx, &b, 2, (int64_t[]){4, 5}));
    assert_ok(lc_tensor_set_requires_grad(ctx, a));
    assert_int_equal(lc_matmul(ctx, &y, a, b, 0, 0), LC_ERR_SHAPE);
    assert_null(y);
    assert_non_null(strstr(lc_last_error(), "matmul"));
    assert_non_null(strstr(lc_last_error(), "(2, 3)"));
    assert_non_null(strstr(lc_last_error(), "(4, 5)"));
    assert_int_equal(lc_add(ctx, &y, a, b), LC_ERR_SHAPE);
    assert_non_null(strstr(lc_last_error(), "add"));
    assert_int_equal(lc_mse(ctx, &y, a, b, LC_REDUCE_MEAN), LC_ERR_SHAPE);
    assert_non_null(strstr(lc_last_error(), "mse"));
    assert_ok(lc_tensor_new_i32(ctx, &lab, 1, (int64_t[]){3}));
    assert_int_equal(lc_cross_entropy(ctx, &y, a, lab), LC_ERR_SHAPE);
    assert_non_null(strstr(lc_last_error(), "cross_entropy"));
    assert_non_null(strstr(lc_last_error(), "(3)"));
    assert_int_equal(lc_reshape(ctx, &y, a, 2, (int64_t[]){4, 2}), LC_ERR_SHAPE);
    assert_int_equal(lc_slice0(ctx, &y, a, 1, 2), LC_ERR_SHAPE);
    assert_int_equal(lc_tape_size(ctx), 0);
}

static void test_no_grad_records_nothing(void **state) {
    (void)state;
    lc_step_begin(ctx);
    lc_tensor *x, *w, *y, *loss, *lab;
    float xv[6] = {1, 2, 3, 4, 5, 6}, wv[6] = {1, 0, 0, 1, 1, 1};
    assert_ok(lc_tensor_from_host(ctx, &x, xv, 2, (int64_t[]){2, 3}));
    assert_ok(lc_tensor_from_host(ctx, &w, wv, 2, (int64_t[]){2, 3}));
    assert_ok(lc_tensor_set_requires_grad(ctx, w));
    assert_ok(lc_tensor_from_host_i32(ctx, &lab, (int32_t[]){0, 1}, 1, (int64_t[]){2}));
    int old = lc_set_grad_enabled(ctx, 0);
    assert_int_equal(old, 1);
    assert_ok(lc_linear_act(ctx, &y, x, w, NULL, LC_ACT_RELU, 0));
    assert_ok(lc_cross_entropy(ctx, &loss, y, lab));
    assert_int_equal(lc_tape_size(ctx), 0);
    assert_false(loss->requires_grad);
    assert_int_equal(lc_backward(ctx, loss), LC_ERR_INVALID_ARG);
    lc_set_grad_enabled(ctx, 1);
    // With gradients on the same ops record: matmul, bias_act, cross_entropy.
    assert_ok(lc_linear_act(ctx, &y, x, w, NULL, LC_ACT_RELU, 0));
    assert_ok(lc_cross_entropy(ctx, &loss, y, lab));
    assert_int_equal(lc_tape_size(ctx), 3);
    float yv[4];
    assert_ok(lc_tensor_to_host(ctx, yv, y));
    assert_float_equal(yv[0], 1, 0);
    assert_float_equal(yv[1], 6, 0);
    assert_float_equal(yv[2], 4, 0);
    assert_float_equal(yv[3], 15, 0);
}

// A view's gradient lands in its base; a slice's rows outside get zeros.
static void test_views_share_gradients(void **state) {
    (void)state;
    lc_step_begin(ctx);
    float xv[12];
    for (int i = 0; i < 12; i++)
        xv[i] = (float)i;
    lc_tensor *x, *r, *s, *y, *loss;
    assert_ok(lc_tensor_from_host(ctx, &x, xv, 2, (int64_t[]){4, 3}));
    assert_ok(lc_tensor_set_requires_grad(ctx, x));
    assert_ok(lc_reshape(ctx, &r, x, 3, (int64_t[]){2, 2, 3}));
    assert_ok(lc_slice0(ctx, &s, r, 1, 1)); // rows 6..11 of x
    assert_ok(lc_unary(ctx, &y, s, LC_ACT_SQUARE, 0, 0));
    assert_ok(lc_sum(ctx, &loss, y, LC_ALL_AXES));
    assert_ok(lc_backward(ctx, loss));
    float g[12], lv;
    assert_ok(lc_tensor_grad_to_host(ctx, g, x));
    assert_ok(lc_tensor_to_host(ctx, &lv, loss));
    float want = 0;
    for (int i = 0; i < 12; i++) {
        assert_float_equal(g[i], i < 6 ? 0 : 2 * xv[i], 1e-5);
        if (i >= 6) want += xv[i] * xv[i];
    }
    assert_float_equal(lv, want, 1e-3);
}

// A tiny MLP on a parameter buffer: gradients accumulate into params.grad,
// zero_grad clears them, and the second step allocates nothing.
static void mlp_step(lc_params *p, size_t w1, size_t b1, size_t w2, size_t b2, const float *xv,
                     const int32_t *lv, float *loss_out) {
    lc_step_begin(ctx);
    lc_tensor *x, *lab, *W1, *B1, *W2, *B2, *h, *o, *loss;
    assert_ok(lc_tensor_from_host(ctx, &x, xv, 2, (int64_t[]){5, 7}));
    assert_ok(lc_tensor_from_host_i32(ctx, &lab, lv, 1, (int64_t[]){5}));
    assert_ok(lc_tensor_param_at(ctx, &W1, p, w1, 2, (int64_t[]){6, 7}));
    assert_ok(lc_tensor_param_at(ctx, &B1, p, b1, 1, (int64_t[]){6}));
    assert_ok(lc_tensor_param_at(ctx, &W2, p, w2, 2, (int64_t[]){3, 6}));
    assert_ok(lc_tensor_param_at(ctx, &B2, p, b2, 1, (int64_t[]){3}));
    assert_ok(lc_linear_act(ctx, &h, x, W1, B1, LC_ACT_RELU, 0));
    assert_ok(lc_linear_act(ctx, &o, h, W2, B2, LC_ACT_NONE, 0));
    assert_ok(lc_cross_entropy(ctx, &loss, o, lab));
    assert_ok(lc_backward(ctx, loss));
    assert_ok(lc_tensor_to_host(ctx, loss_out, loss));
}

static void test_param_grads_and_no_allocation(void **state) {
    (void)state;
    lc_params p = {0};
    size_t w1, b1, w2, b2;
    assert_ok(lc_params_add(&p, "0.weight", 2, (int64_t[]){6, 7}, &w1));
    assert_ok(lc_params_add(&p, "0.bias", 1, (int64_t[]){6}, &b1));
    assert_ok(lc_params_add(&p, "2.weight", 2, (int64_t[]){3, 6}, &w2));
    assert_ok(lc_params_add(&p, "2.bias", 1, (int64_t[]){3}, &b2));
    assert_ok(lc_params_alloc(&p, dev));
    float *pv = calloc(p.total, sizeof *pv), *g1 = malloc(p.total * 4), *g2 = malloc(p.total * 4);
    uint32_t ctr[4] = {1, 2, 3, 4};
    lc_rng_fill_host(pv, p.total, 0, 5, ctr);
    for (size_t i = 0; i < p.total; i++)
        pv[i] -= 0.5f;
    assert_ok(lc_write(dev, p.data, 0, pv, p.total * 4));
    float xv[35];
    lc_rng_fill_host(xv, 35, 1, 6, ctr);
    int32_t lv[5] = {0, 1, 2, 1, 0};
    float l1, l2;
    assert_ok(lc_zero_grad(ctx, &p));
    mlp_step(&p, w1, b1, w2, b2, xv, lv, &l1);
    size_t bytes = lc_ctx_arena_bytes(ctx);
    assert_ok(lc_read(dev, g1, p.grad, 0, p.total * 4));
    mlp_step(&p, w1, b1, w2, b2, xv, lv, &l2); // no zero_grad: accumulates
    assert_int_equal(lc_ctx_arena_bytes(ctx), bytes);
    assert_true(bytes > 0);
    assert_float_equal(l1, l2, 0);
    assert_ok(lc_read(dev, g2, p.grad, 0, p.total * 4));
    double gmax = 0;
    for (size_t i = 0; i < p.total; i++) {
        assert_float_equal(g2[i], 2 * g1[i], 1e-6);
        if (g1[i] > gmax) gmax = g1[i];
    }
    assert_true(gmax > 1e-4);
    assert_ok(lc_zero_grad(ctx, &p));
    mlp_step(&p, w1, b1, w2, b2, xv, lv, &l2);
    assert_ok(lc_read(dev, g2, p.grad, 0, p.total * 4));
    for (size_t i = 0; i < p.total; i++)
        assert_float_equal(g2[i], g1[i], 1e-7);
    assert_int_equal(lc_ctx_arena_bytes(ctx), bytes);
    free(pv);
    free(g1);
    free(g2);
    lc_params_free(&p);
}

// Two contexts on one device keep their own temporaries (a sampler and the judge).
static void test_two_contexts_independent(void **state) {
    (void)state;
    lc_ctx *other;
    assert_ok(lc_ctx_create(&other, dev));
    lc_step_begin(ctx);
    float a[5] = {1, 2, 3, 4, 5}, b[5] = {9, 9, 9, 9, 9}, got[5];
    lc_tensor *ta, *tb, *ya, *yb;
    assert_ok(lc_tensor_from_host(ctx, &ta, a, 1, (int64_t[]){5}));
    assert_ok(lc_scale(ctx, &ya, ta, 2.0f));
    lc_step_begin(other);
    assert_ok(lc_tensor_from_host(other, &tb, b, 1, (int64_t[]){5}));
    assert_ok(lc_scale(other, &yb, tb, 3.0f));
    assert_ok(lc_tensor_to_host(ctx, got, ya));
    for (int i = 0; i < 5; i++)
        assert_float_equal(got[i], 2 * a[i], 0);
    assert_ok(lc_tensor_to_host(other, got, yb));
    for (int i = 0; i < 5; i++)
        assert_float_equal(got[i], 27, 0);
    lc_ctx_free(other);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_op_default_sizes),
        cmocka_unit_test(test_every_op_odd_sizes),
        cmocka_unit_test(test_every_op_in_selftest),
        cmocka_unit_test(test_shape_errors),
        cmocka_unit_test(test_no_grad_records_nothing),
        cmocka_unit_test(test_views_share_gradients),
        cmocka_unit_test(test_param_grads_and_no_allocation),
        cmocka_unit_test(test_two_contexts_independent),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
