// The device against a plain-C double reference for a family forward that had no such
// check of its own: the 2-D diffusion MLP noise predictor (src/models/diffusion_mlp.c),
// through the public lc_dif_predict_eps, conditional, unconditional (the null label) and
// with classifier-free guidance. The other families' forwards are checked where they live:
// classifier MLP logits (test_classifier), VAE -ELBO and AE loss (test_vae), the diffusion
// loss and sampler arithmetic (test_diffusion), the HMM E-step (test_hmm), every op
// (test_ops, `latentcl selftest`). Tolerance (TESTING.md, "Devices"): float32 sums of at
// most 128 terms of size ~1: 2e-5 relative to max(1, |reference|) (measured: 6e-7).
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "test_util.h"
#include "latentcl/device.h"
#include "latentcl/diffusion.h"
#include "latentcl/params.h"

static lc_device *dev;

static int setup(void **state) { return test_open_device(&dev, NULL); }

static int teardown(void **state) { return test_close_device(dev, NULL); }

static const float *param(const float *all, const lc_params *p, const char *name) {
    const lc_param_info *info = lc_params_find(p, name);
    if (!info) fail_msg("no parameter %s", name);
    return all + info->offset;
}

// y (out) = W (out, in) x (in) + b, in double.
static void host_linear(double *y, const double *x, const float *w, const float *b, int in,
                        int out) {
    for (int o = 0; o < out; o++) {
        double s = b[o];
        for (int k = 0; k < in; k++)
            s += (double)w[(size_t)o * in + k] * x[k];
        y[o] = s;
    }
}

static double silu(double v) { return v / (1.0 + exp(-v)); }

// The MLP's eps (2) for one point x (2) at timestep t with class y (K: no class), in double:
//   e = SiLU(time_embed(features(t))) + class_emb[y]; h = SiLU(layers.k(h) + e); out(h).
static void host_eps(double *eps, const float *all, const lc_params *p,
                     const lc_diffusion_config *c, const float *x, int t, int y) {
    enum { HMAX = 256 };
    int H = c->hidden, half = c->time_dim / 2;
    double feat[HMAX], e[HMAX], h[HMAX], z[HMAX];
    assert_true(H <= HMAX && c->time_dim <= HMAX);
    for (int j = 0; j < c->time_dim; j++) {
        int k = j < half ? j : j - half;
        double a = t * exp(-log(10000.0) * k / half);
        feat[j] = j >= 2 * half ? 0 : j < half ? sin(a) : cos(a);
    }
    host_linear(e, feat, param(all, p, "time_embed.weight"), param(all, p, "time_embed.bias"),
                c->time_dim, H);
    const float *emb = c->n_classes > 0 ? param(all, p, "class_emb.weight") : NULL;
    for (int j = 0; j < H; j++)
        e[j] = silu(e[j]) + (emb ? emb[(size_t)y * H + j] : 0.0);
    double in[2] = {x[0], x[1]};
    const double *hin = in;
    int width = 2;
    char wn[64], bn[64];
    for (int k = 0; k < c->depth; k++) {
        snprintf(wn, sizeof wn, "layers.%d.weight", k);
        snprintf(bn, sizeof bn, "layers.%d.bias", k);
        host_linear(z, hin, param(all, p, wn), param(all, p, bn), width, H);
        for (int j = 0; j < H; j++)
            h[j] = silu(z[j] + e[j]);
        hin = h, width = H;
    }
    host_linear(eps, h, param(all, p, "out.weight"), param(all, p, "out.bias"), H, 2);
}

// max |device - host| / max(1, |host|) over n points for one (t, classes, w).
static double max_err(lc_diffusion *m, const float *all, const float *x, int n, int t,
                      const int32_t *y, double w) {
    const lc_diffusion_config *c = lc_diffusion_get_config(m);
    lc_dif_net net = lc_diffusion_net(m);
    float *out = malloc((size_t)n * 2 * sizeof *out);
    assert_non_null(out);
    assert_ok(lc_dif_predict_eps(lc_diffusion_ctx(m), lc_diffusion_schedule(m), &net, out, x, n, t,
                                 y, w));
    double err = 0;
    for (int i = 0; i < n; i++) {
        double ec[2], eu[2], ref[2];
        int K = c->n_classes;
        host_eps(eu, all, lc_diffusion_params(m), c, x + 2 * i, t, K);
        if (y && K > 0) {
            host_eps(ec, all, lc_diffusion_params(m), c, x + 2 * i, t, y[i]);
            for (int d = 0; d < 2; d++)
                ref[d] = w == 1.0 ? ec[d] : eu[d] + w * (ec[d] - eu[d]);
        } else {
            ref[0] = eu[0], ref[1] = eu[1];
        }
        for (int d = 0; d < 2; d++)
            err = fmax(err, fabs(out[2 * i + d] - ref[d]) / fmax(1.0, fabs(ref[d])));
    }
    free(out);
    return err;
}

static void check_mlp(int n_classes, int depth, int hidden, uint64_t seed) {
    lc_diffusion_config c;
    lc_diffusion_config_default(&c, LC_DIF_NET_MLP, false);
    c.n_classes = n_classes, c.depth = depth, c.hidden = hidden, c.T = 100;
    lc_diffusion *m;
    assert_ok(lc_diffusion_new(&m, dev, &c, seed));
    lc_params *p = lc_diffusion_params(m);
    float *all = malloc(p->total * sizeof *all);
    assert_non_null(all);
    assert_ok(lc_read(dev, all, p->data, 0, p->total * sizeof *all));
    enum { N = 37 };
    float x[2 * N];
    int32_t y[N];
    for (int i = 0; i < N; i++) {
        x[2 * i] = (float)(2.0 * sin(0.7 * i + 0.3));
        x[2 * i + 1] = (float)(1.5 * cos(1.3 * i));
        y[i] = n_classes > 0 ? i % n_classes : 0;
    }
    const int ts[] = {1, 17, 100};
    double worst = 0;
    for (size_t k = 0; k < sizeof ts / sizeof *ts; k++) {
        double e = max_err(m, all, x, N, ts[k], NULL, 1.0);
        worst = fmax(worst, e);
        if (e > 2e-5) fail_msg("K %d, t %d, unconditional: error %.3g", n_classes, ts[k], e);
        if (n_classes > 0) {
            const double ws[] = {1.0, 0.0, 3.0};
            for (size_t j = 0; j < 3; j++) {
                e = max_err(m, all, x, N, ts[k], y, ws[j]);
                worst = fmax(worst, e);
                if (e > 2e-5) fail_msg("K %d, t %d, w %g: error %.3g", n_classes, ts[k], ws[j], e);
            }
        }
    }
    print_message("diffusion mlp K %d depth %d hidden %d: largest error %.3g\n", n_classes, depth,
                  hidden, worst);
    free(all);
    lc_diffusion_free(m);
}

static void test_diffusion_mlp_unconditional(void **state) {
    (void)state;
    check_mlp(0, 3, 128, 5);
}

static void test_diffusion_mlp_conditional_guided(void **state) {
    (void)state;
    check_mlp(3, 2, 33, 9); // an odd width: no vector path hides a tail
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_diffusion_mlp_unconditional),
        cmocka_unit_test(test_diffusion_mlp_conditional_guided),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
