// Layers: PyTorch names and shapes in the one parameter buffer, PyTorch's
// default initialisation drawn from the seed, an MLP forward against a host
// computation, and multi-head self-attention (forward against a double
// precision host reference; gradients of parameters and input against
// central differences of that reference, h = 1e-4, tolerance 2e-3 relative).
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "test_util.h"
#include "latentcl/nn.h"
#include "latentcl/rng.h"

static lc_device *dev;
static lc_ctx *ctx;

static int setup(void **state) { return test_open_device(&dev, &ctx); }

static int teardown(void **state) { return test_close_device(dev, ctx); }

static float *read_param(lc_params *p, const char *name, size_t *n) {
    const lc_param_info *pi = lc_params_find(p, name);
    assert_non_null(pi);
    float *v = malloc(pi->numel * sizeof *v);
    assert_ok(lc_read(dev, v, p->data, pi->offset * 4, pi->numel * 4));
    *n = pi->numel;
    return v;
}

static void test_mlp_names_init_forward(void **state) {
    (void)state;
    lc_params p = {0};
    lc_mlp m;
    assert_ok(lc_mlp_declare(&m, &p, "layers", 4, (int64_t[]){784, 512, 256, 10}));
    assert_int_equal(m.n, 3);
    const lc_param_info *w = lc_params_find(&p, "layers.0.weight");
    assert_non_null(w);
    assert_int_equal(w->shape[0], 512);
    assert_int_equal(w->shape[1], 784);
    assert_non_null(lc_params_find(&p, "layers.2.bias"));
    assert_non_null(lc_params_find(&p, "layers.4.weight"));
    assert_int_equal(lc_params_numel(&p), 784 * 512 + 512 + 512 * 256 + 256 + 256 * 10 + 10);
    assert_ok(lc_params_alloc(&p, dev));
    assert_ok(lc_mlp_reset(dev, &p, &m, 42));
    // Kaiming-uniform(a = sqrt 5): |w| <= 1/sqrt(fan_in), spread over the range.
    size_t n;
    float *v = read_param(&p, "layers.2.weight", &n);
    double bound = 1 / sqrt(512.0), mx = 0, mean = 0;
    for (size_t i = 0; i < n; i++) {
        assert_true(fabs(v[i]) <= bound);
        mx = fmax(mx, fabs(v[i]));
        mean += v[i];
    }
    assert_true(mx > 0.99 * bound);
    assert_true(fabs(mean / (double)n) < 0.01 * bound);
    float *bias = read_param(&p, "layers.2.bias", &n);
    for (size_t i = 0; i < n; i++)
        assert_true(fabs(bias[i]) <= bound);
    // Same seed, same weights; another seed, others.
    assert_ok(lc_mlp_reset(dev, &p, &m, 42));
    float *again = read_param(&p, "layers.2.weight", &n);
    assert_memory_equal(v, again, n * 4);
    assert_ok(lc_mlp_reset(dev, &p, &m, 43));
    free(again);
    again = read_param(&p, "layers.2.weight", &n);
    assert_true(memcmp(v, again, n * 4) != 0);
    free(v);
    free(again);
    free(bias);

    // Forward of 3 rows against the host.
    float x[3 * 784];
    uint32_t ctr[4] = {9, 0, 0, 0};
    lc_rng_fill_host(x, 3 * 784, 0, 1, ctr);
    lc_step_begin(ctx);
    lc_tensor *xt, *yt;
    assert_ok(lc_tensor_from_host(ctx, &xt, x, 2, (int64_t[]){3, 784}));
    assert_ok(lc_mlp_forward(ctx, &yt, &p, &m, xt, LC_ACT_RELU, LC_ACT_NONE));
    float y[30];
    assert_ok(lc_tensor_to_host(ctx, y, yt));
    double h0[3 * 784];
    for (int i = 0; i < 3 * 784; i++)
        h0[i] = x[i];
    const int64_t sizes[4] = {784, 512, 256, 10};
    double *in = h0, *out = NULL;
    double *bufs[2] = {malloc(3 * 512 * sizeof(double)), malloc(3 * 512 * sizeof(double))};
    for (int l = 0; l < 3; l++) {
        size_t nw, nb;
        char name[32];
        snprintf(name, sizeof name, "layers.%d.weight", 2 * l);
        float *W = read_param(&p, name, &nw);
        snprintf(name, sizeof name, "layers.%d.bias", 2 * l);
        float *B = read_param(&p, name, &nb);
        out = bufs[l % 2];
        for (int r = 0; r < 3; r++)
            for (int o = 0; o < sizes[l + 1]; o++) {
                double s = B[o];
                for (int i = 0; i < sizes[l]; i++)
                    s += in[r * sizes[l] + i] * W[o * sizes[l] + i];
                out[r * sizes[l + 1] + o] = l < 2 && s < 0 ? 0 : s;
            }
        in = out;
        free(W);
        free(B);
    }
    for (int i = 0; i < 30; i++)
        assert_float_equal(y[i], out[i], 1e-4);
    free(bufs[0]);
    free(bufs[1]);
    lc_params_free(&p);
}

static void test_conv_norm_embed_layers(void **state) {
    (void)state;
    lc_params p = {0};
    lc_conv c1, t1;
    lc_norm gn, ln;
    lc_embed e;
    assert_ok(lc_conv_declare(&c1, &p, "enc.0", 1, 8, 3, 1, 1, 1));
    assert_ok(lc_conv_transpose_declare(&t1, &p, "dec.0", 8, 4, 4, 2, 1, 0, 1));
    assert_ok(lc_group_norm_declare(&gn, &p, "gn", 2, 8, 1e-5f));
    assert_ok(lc_layer_norm_declare(&ln, &p, "ln", 5, 1e-5f));
    assert_ok(lc_embed_declare(&e, &p, "tok", 11, 5));
    assert_int_equal(lc_params_find(&p, "enc.0.weight")->shape[1], 1);
    assert_int_equal(lc_params_find(&p, "dec.0.weight")->shape[0], 8); // (in, out, k, k)
    assert_int_equal(lc_params_find(&p, "dec.0.weight")->shape[1], 4);
    assert_int_equal(lc_group_norm_declare(&gn, &p, "bad", 3, 8, 1e-5f), LC_ERR_INVALID_ARG);
    assert_ok(lc_params_alloc(&p, dev));
    assert_ok(lc_conv_reset(dev, &p, &c1, 1));
    assert_ok(lc_conv_reset(dev, &p, &t1, 1));
    assert_ok(lc_norm_reset(dev, &p, &gn));
    assert_ok(lc_norm_reset(dev, &p, &ln));
    assert_ok(lc_embed_reset(dev, &p, &e, 1));
    size_t n;
    float *v = read_param(&p, "gn.weight", &n);
    for (size_t i = 0; i < n; i++)
        assert_float_equal(v[i], 1, 0);
    free(v);
    v = read_param(&p, "dec.0.weight", &n); // fan_in = out * k * k = 64
    for (size_t i = 0; i < n; i++)
        assert_true(fabsf(v[i]) <= 0.125f);
    free(v);
    v = read_param(&p, "tok.weight", &n); // N(0, 1)
    double var = 0;
    for (size_t i = 0; i < n; i++)
        var += v[i] * v[i];
    assert_true(var / n > 0.4 && var / n < 2.0);
    free(v);
    // Shapes through the layers: (2, 1, 8, 8) -> conv -> GN -> convT (2, 4, 16, 16).
    lc_step_begin(ctx);
    float x[128];
    uint32_t ctr[4] = {1, 0, 0, 0};
    lc_rng_fill_host(x, 128, 1, 3, ctr);
    lc_tensor *xt, *h, *g, *y, *ids, *emb, *lnx;
    assert_ok(lc_tensor_from_host(ctx, &xt, x, 4, (int64_t[]){2, 1, 8, 8}));
    assert_ok(lc_conv_forward(ctx, &h, &p, &c1, xt, LC_ACT_SILU));
    assert_ok(lc_norm_forward(ctx, &g, &p, &gn, h));
    assert_ok(lc_conv_forward(ctx, &y, &p, &t1, g, LC_ACT_NONE));
    assert_int_equal(y->shape[1], 4);
    assert_int_equal(y->shape[2], 16);
    assert_int_equal(y->shape[3], 16);
    assert_ok(lc_tensor_from_host_i32(ctx, &ids, (int32_t[]){0, 10, 3}, 1, (int64_t[]){3}));
    assert_ok(lc_embed_forward(ctx, &emb, &p, &e, ids));
    assert_ok(lc_norm_forward(ctx, &lnx, &p, &ln, emb));
    float lv[15];
    assert_ok(lc_tensor_to_host(ctx, lv, lnx));
    for (int r = 0; r < 3; r++) { // each row: mean 0, variance 1
        double m = 0, s = 0;
        for (int j = 0; j < 5; j++)
            m += lv[r * 5 + j];
        for (int j = 0; j < 5; j++)
            s += lv[r * 5 + j] * lv[r * 5 + j];
        assert_true(fabs(m / 5) < 1e-5);
        assert_true(fabs(s / 5 - 1) < 1e-3);
    }
    lc_params_free(&p);
}

// --- attention against a host reference ----------------------------------------------
enum { B = 2, T = 5, C = 6, H = 2, D = 3 };

static void mha_ref(double *y, const double *x, const double *win, const double *bin,
                    const double *wout, const double *bout, int causal) {
    double qkv[B * T * 3 * C], o[B * T * C];
    for (int r = 0; r < B * T; r++)
        for (int j = 0; j < 3 * C; j++) {
            double s = bin[j];
            for (int i = 0; i < C; i++)
                s += x[r * C + i] * win[j * C + i];
            qkv[r * 3 * C + j] = s;
        }
    for (int b = 0; b < B; b++)
        for (int h = 0; h < H; h++)
            for (int t = 0; t < T; t++) {
                double sc[T], m = -INFINITY, sum = 0;
                int last = causal ? t : T - 1;
                for (int u = 0; u <= last; u++) {
                    double d = 0;
                    for (int e = 0; e < D; e++)
                        d += qkv[(b * T + t) * 3 * C + h * D + e] *
                             qkv[(b * T + u) * 3 * C + C + h * D + e];
                    sc[u] = d / sqrt((double)D);
                    m = fmax(m, sc[u]);
                }
                for (int u = 0; u <= last; u++)
                    sum += exp(sc[u] - m);
                for (int e = 0; e < D; e++) {
                    double acc = 0;
                    for (int u = 0; u <= last; u++)
                        acc += exp(sc[u] - m) / sum * qkv[(b * T + u) * 3 * C + 2 * C + h * D + e];
                    o[(b * T + t) * C + h * D + e] = acc;
                }
            }
    for (int r = 0; r < B * T; r++)
        for (int j = 0; j < C; j++) {
            double s = bout[j];
            for (int i = 0; i < C; i++)
                s += o[r * C + i] * wout[j * C + i];
            y[r * C + j] = s;
        }
}

static void test_mha_forward_and_gradients(void **state) {
    (void)state;
    for (int causal = 0; causal < 2; causal++) {
        lc_params p = {0};
        lc_mha m;
        assert_ok(lc_mha_declare(&m, &p, "attn", C, H));
        assert_non_null(lc_params_find(&p, "attn.in_proj_weight"));
        assert_non_null(lc_params_find(&p, "attn.out_proj.weight"));
        assert_ok(lc_params_alloc(&p, dev));
        assert_ok(lc_mha_reset(dev, &p, &m, 5));
        // Non-zero biases so their gradients mean something.
        assert_ok(lc_param_fill_uniform(dev, &p, "attn.in_proj_bias", 0.3, 6));
        assert_ok(lc_param_fill_uniform(dev, &p, "attn.out_proj.bias", 0.3, 7));
        float *pv = malloc(p.total * 4), *gv = malloc(p.total * 4);
        assert_ok(lc_read(dev, pv, p.data, 0, p.total * 4));
        double *pd = malloc(p.total * sizeof(double));
        for (size_t i = 0; i < p.total; i++)
            pd[i] = pv[i];
        float x[B * T * C], w[B * T * C], gx[B * T * C];
        double xd[B * T * C], y[B * T * C];
        uint32_t ctr[4] = {2, 0, 0, 0};
        lc_rng_fill_host(x, B * T * C, 1, 8, ctr);
        lc_rng_fill_host(w, B * T * C, 1, 9, ctr);
        for (int i = 0; i < B * T * C; i++)
            xd[i] = x[i];
        assert_ok(lc_zero_grad(ctx, &p));
        lc_step_begin(ctx);
        lc_tensor *xt, *yt, *wt;
        assert_ok(lc_tensor_from_host(ctx, &xt, x, 3, (int64_t[]){B, T, C}));
        assert_ok(lc_tensor_set_requires_grad(ctx, xt));
        assert_ok(lc_mha_forward(ctx, &yt, &p, &m, xt, causal));
        float yv[B * T * C];
        assert_ok(lc_tensor_to_host(ctx, yv, yt));
        const double *win = pd + m.in_w, *bin = pd + m.in_b, *wo = pd + m.out.w, *bo = pd + m.out.b;
        mha_ref(y, xd, win, bin, wo, bo, causal);
        for (int i = 0; i < B * T * C; i++)
            assert_float_equal(yv[i], y[i], 1e-5);
        assert_ok(lc_tensor_from_host(ctx, &wt, w, 3, (int64_t[]){B, T, C}));
        assert_ok(lc_backward_from(ctx, yt, wt));
        assert_ok(lc_read(dev, gv, p.grad, 0, p.total * 4));
        assert_ok(lc_tensor_grad_to_host(ctx, gx, xt));
        // Finite differences of L = sum(w * y) on the host, every parameter and input.
        double maxfd = 0, maxdiff = 0, yp[B * T * C], ym[B * T * C];
        const double h = 1e-4;
        for (size_t i = 0; i < p.total + B * T * C; i++) {
            double *v = i < p.total ? &pd[i] : &xd[i - p.total];
            double keep = *v;
            *v = keep + h;
            mha_ref(yp, xd, win, bin, wo, bo, causal);
            *v = keep - h;
            mha_ref(ym, xd, win, bin, wo, bo, causal);
            *v = keep;
            double fd = 0;
            for (int j = 0; j < B * T * C; j++)
                fd += w[j] * (yp[j] - ym[j]) / (2 * h);
            double dev_g = i < p.total ? gv[i] : gx[i - p.total];
            maxfd = fmax(maxfd, fabs(fd));
            maxdiff = fmax(maxdiff, fabs(fd - dev_g));
        }
        if (maxdiff / maxfd > 2e-3) fail_msg("causal %d: grad_err %g", causal, maxdiff / maxfd);
        free(pv);
        free(gv);
        free(pd);
        lc_params_free(&p);
    }
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_mlp_names_init_forward),
        cmocka_unit_test(test_conv_norm_embed_layers),
        cmocka_unit_test(test_mha_forward_and_gradients),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
