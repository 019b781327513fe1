// The multimodal VAE (src/models/mmvae*.c): the product of Gaussian experts against its
// closed form (values and gradients), the image likelihoods (Bernoulli, logistic) against
// their closed forms and the logistic's median-like optimum, the config's JSON round trip,
// template captions, the JMVAE-kl alignment (its closed form and gradients, its place in the
// loss, its config member and a short training run logging it),
// and learning: a tiny model on a small shapes set (one large shape in the centre) captions
// held-out images with the right shape kind well above chance, and a saved run loads
// back to the same captions.
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "test_util.h"
#include "latentcl/mmvae.h"
#include "latentcl/rng.h"
#include "latentcl/run.h"
#include "models/mmvae_internal.h"

static lc_device *g_dev;
static char *g_dir;

static int setup(void **state) {
    return test_open_device(&g_dev, NULL) || test_open_tmpdir(&g_dir);
}

static int teardown(void **state) {
    test_close_tmpdir(&g_dir);
    return test_close_device(g_dev, NULL);
}

// ---- product of experts -------------------------------------------------------------------

enum { ROWS = 3, COLS = 5, N = ROWS * COLS };

static void fill(float *x, int n, uint64_t seed, float scale, float shift) {
    const uint32_t ctr[4] = {0, 0, 7, 0};
    lc_rng_fill_host(x, (size_t)n, 1, seed, ctr);
    for (int i = 0; i < n; i++)
        x[i] = scale * x[i] + shift;
}

// The closed form written out here (independently of lc_poe_host): precisions add, the
// mean is the precision-weighted mean, the prior N(0, 1) is one more expert.
static void closed_form(double *mu, double *lv, const float *m1, const float *v1, const float *m2,
                        const float *v2, int k) {
    double t1 = exp(-(double)v1[k]), t2 = m2 ? exp(-(double)v2[k]) : 0, t = 1 + t1 + t2;
    *mu = (m1[k] * t1 + (m2 ? m2[k] * t2 : 0)) / t;
    *lv = log(1 / t);
}

static void test_poe_closed_form(void **state) {
    (void)state;
    float m1[N], v1[N], m2[N], v2[N], mu[N], lv[N], hmu[N], hlv[N];
    fill(m1, N, 1, 1.5f, 0.3f);
    fill(v1, N, 2, 1.0f, -0.5f);
    fill(m2, N, 3, 1.0f, -0.2f);
    fill(v2, N, 4, 0.8f, 0.4f);
    for (int experts = 1; experts <= 2; experts++) {
        lc_ctx *ctx;
        assert_ok(lc_ctx_create(&ctx, g_dev));
        lc_step_begin(ctx);
        int64_t shape[2] = {ROWS, COLS};
        lc_tensor *mus[2], *lvs[2], *pm, *pl;
        assert_ok(lc_tensor_from_host(ctx, &mus[0], m1, 2, shape));
        assert_ok(lc_tensor_from_host(ctx, &lvs[0], v1, 2, shape));
        assert_ok(lc_tensor_from_host(ctx, &mus[1], m2, 2, shape));
        assert_ok(lc_tensor_from_host(ctx, &lvs[1], v2, 2, shape));
        assert_ok(lc_poe(ctx, &pm, &pl, mus, lvs, experts));
        assert_ok(lc_tensor_to_host(ctx, mu, pm));
        assert_ok(lc_tensor_to_host(ctx, lv, pl));
        const float *hm[2] = {m1, m2}, *hv[2] = {v1, v2};
        lc_poe_host(hmu, hlv, hm, hv, experts, N);
        for (int k = 0; k < N; k++) {
            double want_mu, want_lv;
            closed_form(&want_mu, &want_lv, m1, v1, experts == 2 ? m2 : NULL, v2, k);
            assert_true(fabs(mu[k] - want_mu) < 1e-5 * (1 + fabs(want_mu)));
            assert_true(fabs(lv[k] - want_lv) < 1e-5 * (1 + fabs(want_lv)));
            assert_true(fabs(hmu[k] - want_mu) < 1e-6 * (1 + fabs(want_mu)));
            assert_true(fabs(hlv[k] - want_lv) < 1e-6 * (1 + fabs(want_lv)));
            // the product is narrower than every expert and than the prior
            assert_true(lv[k] < v1[k] && lv[k] < 0);
        }
        lc_ctx_free(ctx);
    }
    // A very confident expert dominates: the product's mean is its mean.
    float sharp[N], one[N];
    for (int k = 0; k < N; k++)
        sharp[k] = -12.0f, one[k] = 0.0f;
    const float *hm[2] = {m1, m2}, *hv[2] = {sharp, one};
    lc_poe_host(hmu, hlv, hm, hv, 2, N);
    for (int k = 0; k < N; k++)
        assert_true(fabs(hmu[k] - m1[k]) < 1e-3 * (1 + fabs(m1[k])));
}

// d/d(inputs) of L = sum(a * mu) + sum(b * logvar) against central differences of the
// closed form, for both experts' means and log-variances.
static double host_loss(const float *m1, const float *v1, const float *m2, const float *v2,
                        const float *a, const float *b) {
    double l = 0;
    for (int k = 0; k < N; k++) {
        double mu, lv;
        closed_form(&mu, &lv, m1, v1, m2, v2, k);
        l += a[k] * mu + b[k] * lv;
    }
    return l;
}

static void test_poe_gradient(void **state) {
    (void)state;
    float in[4][N], a[N], b[N], grad[4][N];
    for (int i = 0; i < 4; i++)
        fill(in[i], N, 10 + (uint64_t)i, i % 2 ? 0.8f : 1.2f, i == 1 ? -0.3f : 0.1f);
    fill(a, N, 20, 1.0f, 0.0f);
    fill(b, N, 21, 1.0f, 0.0f);
    lc_ctx *ctx;
    assert_ok(lc_ctx_create(&ctx, g_dev));
    lc_step_begin(ctx);
    int64_t shape[2] = {ROWS, COLS};
    lc_tensor *t[4], *ta, *tb, *pm, *pl, *x, *y, *sx, *sy, *loss;
    for (int i = 0; i < 4; i++) {
        assert_ok(lc_tensor_from_host(ctx, &t[i], in[i], 2, shape));
        assert_ok(lc_tensor_set_requires_grad(ctx, t[i]));
    }
    assert_ok(lc_tensor_from_host(ctx, &ta, a, 2, shape));
    assert_ok(lc_tensor_from_host(ctx, &tb, b, 2, shape));
    lc_tensor *mus[2] = {t[0], t[2]}, *lvs[2] = {t[1], t[3]};
    assert_ok(lc_poe(ctx, &pm, &pl, mus, lvs, 2));
    assert_ok(lc_mul(ctx, &x, pm, ta));
    assert_ok(lc_mul(ctx, &y, pl, tb));
    assert_ok(lc_sum(ctx, &sx, x, LC_ALL_AXES));
    assert_ok(lc_sum(ctx, &sy, y, LC_ALL_AXES));
    assert_ok(lc_add(ctx, &loss, sx, sy));
    assert_ok(lc_backward(ctx, loss));
    for (int i = 0; i < 4; i++)
        assert_ok(lc_tensor_grad_to_host(ctx, grad[i], t[i]));
    const float h = 1e-2f;
    for (int i = 0; i < 4; i++)
        for (int k = 0; k < N; k++) {
            float keep = in[i][k];
            in[i][k] = keep + h;
            double up = host_loss(in[0], in[1], in[2], in[3], a, b);
            in[i][k] = keep - h;
            double down = host_loss(in[0], in[1], in[2], in[3], a, b);
            in[i][k] = keep;
            double want = (up - down) / (2 * h);
            assert_true(fabs(grad[i][k] - want) < 2e-3 * (1 + fabs(want)));
        }
    lc_ctx_free(ctx);
}

// ---- config and captions -------------------------------------------------------------------

static void test_config_json(void **state) {
    (void)state;
    lc_mmvae_config c, back;
    lc_mmvae_config_default(&c, 40);
    c.latent = 7;
    c.kl_warmup = 300;
    c.cross = true;
    c.text_weight = 2.5;
    c.text.dim = 48;
    snprintf(c.data, sizeof c.data, "shapes-one");
    char *json;
    assert_ok(lc_mmvae_config_to_json(&json, &c));
    assert_ok(lc_mmvae_config_from_json(&back, json));
    assert_int_equal(back.latent, 7);
    assert_int_equal(back.kl_warmup, 300);
    assert_true(back.cross);
    assert_true(back.text_weight == 2.5);
    assert_int_equal(back.text.dim, 48);
    assert_int_equal(back.text.vocab, 40);
    assert_string_equal(back.data, "shapes-one");
    free(json);
    assert_int_equal(lc_mmvae_config_from_json(&back, "{\"latent\":3,\"colour\":1}"),
                     LC_ERR_FORMAT);
    assert_int_equal(lc_mmvae_config_from_json(&back, "[1]"), LC_ERR_FORMAT);
    // The image likelihood: logistic of scale 0.3 by default, Bernoulli when a config does
    // not name one (runs from before the member); names both ways.
    assert_int_equal(c.image_likelihood, LC_MMVAE_LOGISTIC);
    assert_true(c.image_scale == 0.3 && c.cross_image_weight == 1.0);
    assert_ok(lc_mmvae_config_from_json(&back, "{\"latent\":3,\"text\":{\"vocab\":40}}"));
    assert_int_equal(back.image_likelihood, LC_MMVAE_BERNOULLI);
    c.image_scale = 0.25;
    c.cross_image_weight = 0.5;
    assert_ok(lc_mmvae_config_to_json(&json, &c));
    assert_non_null(strstr(json, "\"logistic\""));
    assert_ok(lc_mmvae_config_from_json(&back, json));
    free(json);
    assert_int_equal(back.image_likelihood, LC_MMVAE_LOGISTIC);
    assert_true(back.image_scale == 0.25 && back.cross_image_weight == 0.5);
    assert_int_equal(lc_mmvae_config_from_json(&back, "{\"image_likelihood\":\"gauss\"}"),
                     LC_ERR_FORMAT);
    assert_int_equal(lc_mmvae_config_from_json(&back, "{\"image_scale\":0}"), LC_ERR_INVALID_ARG);
    lc_mmvae_likelihood l;
    assert_int_equal(lc_mmvae_likelihood_parse(&l, "Bernoulli"), LC_ERR_INVALID_ARG);
    assert_ok(lc_mmvae_likelihood_parse(&l, "bernoulli"));
    assert_int_equal(l, LC_MMVAE_BERNOULLI);
    assert_string_equal(lc_mmvae_likelihood_name(LC_MMVAE_LOGISTIC), "logistic");
    c.height = 30; // not a multiple of 4
    assert_int_equal(lc_mmvae_config_check(&c), LC_ERR_INVALID_ARG);
}

// ---- the image likelihood ------------------------------------------------------------------

enum { LB = 2, LP = 3 * 4 * 4 }; // two 3 x 4 x 4 images

static double sigmoid_d(double v) { return 1.0 / (1.0 + exp(-v)); }

// -log p(x | sigmoid(logits)) summed over pixels, averaged over LB images (host).
static double host_image_nll(lc_mmvae_likelihood lik, double s, const float *logits, const float *x,
                             int n) {
    double total = 0;
    for (int i = 0; i < n; i++) {
        double m = sigmoid_d(logits[i]), t = x[i];
        if (lik == LC_MMVAE_BERNOULLI) {
            total -= t * log(m) + (1 - t) * log(1 - m);
        } else {
            double u = (t - m) / s; // the logistic density 1 / (s (2 + 2 cosh u))
            total += log(s * (2 + 2 * cosh(u)));
        }
    }
    return total / LB;
}

// A tiny model whose images are 3 x 4 x 4 (only its context and config are used).
static lc_mmvae *tiny_model(lc_mmvae_likelihood lik, double scale, lc_vocab *vocab) {
    const char *caps[2] = {"a red circle", "a blue square"};
    assert_ok(lc_vocab_build(vocab, caps, 2, 1, 0));
    lc_mmvae_config c;
    lc_mmvae_config_default(&c, vocab->size);
    c.height = c.width = 4;
    c.latent = 2;
    c.hidden = 4;
    c.text.dim = 8;
    c.text.layers = 1;
    c.text.heads = 1;
    c.text.max_len = 6;
    c.image_likelihood = lik;
    c.image_scale = scale;
    lc_mmvae *m;
    assert_ok(lc_mmvae_new(&m, g_dev, &c, vocab, 3));
    return m;
}

// The value and the gradient (central differences on the host form) of both likelihoods.
static void test_image_likelihood(void **state) {
    (void)state;
    for (int k = 0; k < 2; k++) {
        lc_mmvae_likelihood lik = k ? LC_MMVAE_LOGISTIC : LC_MMVAE_BERNOULLI;
        const double scale = 0.2;
        lc_vocab vocab;
        lc_mmvae *m = tiny_model(lik, scale, &vocab);
        float logits[LB * LP], x[LB * LP], grad[LB * LP];
        fill(logits, LB * LP, 30, 3.0f, 0.0f);
        fill(x, LB * LP, 31, 0.5f, 0.5f);
        for (int i = 0; i < LB * LP; i++) // images in [0, 1], some pixels exactly 0 or 1
            x[i] = i % 5 == 0 ? 0.0f : i % 7 == 0 ? 1.0f : fminf(fmaxf(x[i], 0.0f), 1.0f);
        lc_tensor *tl, *tx, *rec;
        lc_step_begin(m->ctx);
        lc_set_grad_enabled(m->ctx, 1);
        assert_ok(lc_tensor_from_host(m->ctx, &tl, logits, 2, (int64_t[]){LB, LP}));
        assert_ok(lc_tensor_set_requires_grad(m->ctx, tl));
        assert_ok(lc_tensor_from_host(m->ctx, &tx, x, 2, (int64_t[]){LB, LP}));
        assert_ok(mmvae_image_rec(m, &rec, tl, tx));
        float got;
        assert_ok(lc_tensor_to_host(m->ctx, &got, rec));
        double want = host_image_nll(lik, scale, logits, x, LB * LP);
        print_message("%s: -log p(x|z) %.4f (host %.4f)\n", lc_mmvae_likelihood_name(lik), got,
                      want);
        assert_true(fabs(got - want) < 1e-3 * (1 + fabs(want)));
        assert_ok(lc_backward(m->ctx, rec));
        assert_ok(lc_tensor_grad_to_host(m->ctx, grad, tl));
        const float h = 1e-2f;
        for (int i = 0; i < LB * LP; i++) {
            float keep = logits[i];
            logits[i] = keep + h;
            double up = host_image_nll(lik, scale, logits, x, LB * LP);
            logits[i] = keep - h;
            double down = host_image_nll(lik, scale, logits, x, LB * LP);
            logits[i] = keep;
            double fd = (up - down) / (2 * h);
            assert_true(fabs(grad[i] - fd) < 2e-3 * (1 + fabs(fd)));
        }
        lc_mmvae_free(m);
        lc_vocab_free(&vocab);
    }
}

// Why the logistic: a pixel that is on in one of three equally likely images (a caption
// that leaves a small shape's jitter open). Bernoulli's best mean is the average 1/3 (a
// blur); the logistic of a small scale goes most of the way to the median 0 (a crisp edge;
// it is quadratic within about one scale of the target, so 0.11 for scale 0.1). The model's
// loss over three images whose pixel 0 is 0, 0, 1, scanning that pixel's predicted mean.
static void test_logistic_prefers_median(void **state) {
    (void)state;
    double best[2] = {-1, -1};
    for (int k = 0; k < 2; k++) {
        lc_mmvae_likelihood lik = k ? LC_MMVAE_LOGISTIC : LC_MMVAE_BERNOULLI;
        lc_vocab vocab;
        lc_mmvae *m = tiny_model(lik, 0.1, &vocab);
        float logits[3 * LP], x[3 * LP] = {0};
        x[2 * LP] = 1.0f;
        double lowest = INFINITY;
        for (int step = 1; step < 100; step++) {
            double mean = step / 100.0;
            for (int i = 0; i < 3 * LP; i++)
                logits[i] = i % LP ? -8.0f : (float)log(mean / (1 - mean));
            lc_tensor *tl, *tx, *rec;
            float v;
            lc_step_begin(m->ctx);
            assert_ok(lc_tensor_from_host(m->ctx, &tl, logits, 2, (int64_t[]){3, LP}));
            assert_ok(lc_tensor_from_host(m->ctx, &tx, x, 2, (int64_t[]){3, LP}));
            assert_ok(mmvae_image_rec(m, &rec, tl, tx));
            assert_ok(lc_tensor_to_host(m->ctx, &v, rec));
            if (v < lowest) lowest = v, best[k] = mean;
        }
        lc_mmvae_free(m);
        lc_vocab_free(&vocab);
    }
    print_message("best mean of a pixel on 1 time in 3: bernoulli %.2f, logistic %.2f\n", best[0],
                  best[1]);
    assert_true(fabs(best[0] - 1.0 / 3) < 0.015);
    assert_true(best[1] >= 0 && best[1] <= 0.15); // 0.11 in closed form for scale 0.1
}

static void test_template_captions(void **state) {
    (void)state;
    char *names[2] = {"T-shirt/top", "Bag"};
    int32_t labels[5] = {0, 1, 1, 0, 1};
    lc_dataset d = {0};
    d.n = 5;
    d.labels = labels;
    d.n_classes = 2;
    d.class_names = names;
    char **caps;
    assert_ok(lc_mmvae_template_captions(&caps, &d));
    assert_string_equal(caps[0], "a t-shirt/top");
    assert_string_equal(caps[1], "a picture of a bag");
    assert_string_equal(caps[2], "an image of a bag");
    assert_string_equal(caps[3], "a t-shirt/top in black and white");
    assert_string_equal(caps[4], "a bag");
    lc_mmvae_captions_free(caps, 5);
    d.class_names = NULL;
    assert_int_equal(lc_mmvae_template_captions(&caps, &d), LC_ERR_INVALID_ARG);
}

// ---- the JMVAE-kl alignment ----------------------------------------------------------------

// KL(N(ma, e^la) || N(mb, e^lb)) of one coordinate, written out here.
static double kl_1d(double ma, double la, double mb, double lb) {
    return 0.5 * (lb - la + (exp(la) + (ma - mb) * (ma - mb)) / exp(lb) - 1);
}

// KL(q0 || q1) + KL(q0 || q2) summed over coordinates, averaged over rows: in[] holds
// mu0, lv0, mu1, lv1, mu2, lv2, each (rows, cols).
static double host_align(float *const *in, int rows, int cols) {
    double total = 0;
    for (int k = 0; k < rows * cols; k++)
        total += kl_1d(in[0][k], in[1][k], in[2][k], in[3][k]) +
                 kl_1d(in[0][k], in[1][k], in[4][k], in[5][k]);
    return total / rows;
}

// mmvae_align against the closed form on fixed inputs, its gradients for all six inputs
// (both sides of each KL) against central differences, and zero for equal posteriors.
static void test_align_closed_form(void **state) {
    (void)state;
    float v[6][N], grad[6][N];
    float *in[6];
    for (int i = 0; i < 6; i++) {
        fill(v[i], N, 50 + (uint64_t)i, i % 2 ? 0.7f : 1.3f, i % 2 ? -0.4f : 0.2f * (float)i);
        in[i] = v[i];
    }
    lc_ctx *ctx;
    assert_ok(lc_ctx_create(&ctx, g_dev));
    lc_step_begin(ctx);
    int64_t shape[2] = {ROWS, COLS};
    lc_tensor *t[6], *align;
    for (int i = 0; i < 6; i++) {
        assert_ok(lc_tensor_from_host(ctx, &t[i], v[i], 2, shape));
        assert_ok(lc_tensor_set_requires_grad(ctx, t[i]));
    }
    lc_tensor *mus[3] = {t[0], t[2], t[4]}, *lvs[3] = {t[1], t[3], t[5]};
    assert_ok(mmvae_align(ctx, &align, mus, lvs));
    float got;
    assert_ok(lc_tensor_to_host(ctx, &got, align));
    double want = host_align(in, ROWS, COLS);
    print_message("alignment %.6f (closed form %.6f)\n", got, want);
    assert_true(want > 0.5); // these inputs are far apart: a real test of the value
    assert_true(fabs(got - want) < 1e-5 * (1 + fabs(want)));
    assert_ok(lc_backward(ctx, align));
    for (int i = 0; i < 6; i++)
        assert_ok(lc_tensor_grad_to_host(ctx, grad[i], t[i]));
    const float h = 1e-2f;
    for (int i = 0; i < 6; i++)
        for (int k = 0; k < N; k++) {
            float keep = v[i][k];
            v[i][k] = keep + h;
            double up = host_align(in, ROWS, COLS);
            v[i][k] = keep - h;
            double down = host_align(in, ROWS, COLS);
            v[i][k] = keep;
            double fd = (up - down) / (2 * h);
            assert_true(fabs(grad[i][k] - fd) < 2e-3 * (1 + fabs(fd)));
        }
    // Equal posteriors: nothing to align.
    lc_step_begin(ctx);
    for (int i = 0; i < 2; i++)
        assert_ok(lc_tensor_from_host(ctx, &t[i], v[i], 2, shape));
    lc_tensor *same_mu[3] = {t[0], t[0], t[0]}, *same_lv[3] = {t[1], t[1], t[1]};
    assert_ok(mmvae_align(ctx, &align, same_mu, same_lv));
    assert_ok(lc_tensor_to_host(ctx, &got, align));
    assert_true(fabsf(got) < 1e-6f);
    lc_ctx_free(ctx);
}

// Reads the gradient of parameter `name` (count floats) after a backward.
static void param_grad(lc_mmvae *m, float *out, const char *name) {
    lc_tensor *p;
    assert_ok(lc_tensor_param(m->ctx, &p, &m->params, name));
    assert_ok(lc_tensor_grad_to_host(m->ctx, out, p));
}

// In the model: with A > 0 the loss is the A = 0 loss plus exactly A times the alignment,
// the alignment is the closed form of the posteriors q(z|x,y), q(z|x), q(z|y) built from
// the experts' outputs on the host (lc_poe_host), and its gradient reaches both experts.
// The evaluation (joint term only) and A = 0 compute no alignment.
static void test_align_in_loss(void **state) {
    (void)state;
    enum { AB = 4, AZ = 2, AT = 6 };
    const double A = 0.7;
    lc_vocab vocab;
    lc_mmvae *m = tiny_model(LC_MMVAE_LOGISTIC, 0.3, &vocab);
    assert_int_equal(m->cfg.latent, AZ);
    assert_int_equal(m->cfg.text.max_len, AT);
    m->cfg.cross = true;
    const char *caps[AB] = {"a red circle", "a blue square", "a blue circle", "a red square"};
    int32_t ids[AB * AT], eos[AB];
    assert_ok(lc_text_batch(ids, eos, &m->vocab, caps, AB, AT, NULL));
    float x[AB * LP];
    fill(x, AB * LP, 60, 0.5f, 0.5f);
    for (int i = 0; i < AB * LP; i++)
        x[i] = fminf(fmaxf(x[i], 0.0f), 1.0f);
    const int64_t items[AB] = {3, 1, 4, 1};
    float loss[2], align = 0, g_img[2][AZ], g_txt[2][AZ];
    lc_set_training(m->ctx, 0);
    for (int pass = 0; pass < 2; pass++) {
        m->cfg.align_weight = pass ? A : 0;
        lc_step_begin(m->ctx);
        lc_set_grad_enabled(m->ctx, 1);
        assert_ok(lc_zero_grad(m->ctx, &m->params));
        mmvae_batch b;
        lc_tensor *l, *rx, *ry, *kl, *al;
        assert_ok(mmvae_upload(m, &b, x, ids, eos, items, AB, 9, false));
        assert_ok(mmvae_neg_elbo(m, &l, &rx, &ry, &kl, &al, &b, 0.5f, false));
        assert_ok(lc_tensor_to_host(m->ctx, &loss[pass], l));
        assert_ok(lc_backward(m->ctx, l));
        param_grad(m, g_img[pass], "image_mu.bias");
        param_grad(m, g_txt[pass], "text_mu.bias");
        if (pass == 0) {
            assert_null(al);
            continue;
        }
        assert_non_null(al);
        assert_ok(lc_tensor_to_host(m->ctx, &align, al));
        // The closed form from the experts' outputs on the same batch.
        lc_tensor *mx, *vx, *my, *vy;
        float hmx[AB * AZ], hvx[AB * AZ], hmy[AB * AZ], hvy[AB * AZ], post[6][AB * AZ];
        assert_ok(mmvae_image_expert(m, &mx, &vx, b.x));
        assert_ok(mmvae_text_expert(m, &my, &vy, b.ids, b.eos));
        assert_ok(lc_tensor_to_host(m->ctx, hmx, mx));
        assert_ok(lc_tensor_to_host(m->ctx, hvx, vx));
        assert_ok(lc_tensor_to_host(m->ctx, hmy, my));
        assert_ok(lc_tensor_to_host(m->ctx, hvy, vy));
        const float *both_mu[2] = {hmx, hmy}, *both_lv[2] = {hvx, hvy};
        lc_poe_host(post[0], post[1], both_mu, both_lv, 2, AB * AZ);         // q(z|x,y)
        lc_poe_host(post[2], post[3], both_mu, both_lv, 1, AB * AZ);         // q(z|x)
        lc_poe_host(post[4], post[5], both_mu + 1, both_lv + 1, 1, AB * AZ); // q(z|y)
        float *in[6] = {post[0], post[1], post[2], post[3], post[4], post[5]};
        double want = host_align(in, AB, AZ);
        print_message("loss %.5f (A = 0) %.5f (A = %.1f), alignment %.6f (closed form %.6f)\n",
                      loss[0], loss[1], A, align, want);
        assert_true(align > 1e-4);
        assert_true(fabs(align - want) < 1e-4 * (1 + fabs(want)));
        // the joint term alone (evaluation): no alignment, even with A > 0
        assert_ok(mmvae_neg_elbo(m, &l, &rx, &ry, &kl, &al, &b, 1.0f, true));
        assert_null(al);
    }
    double diff = (double)loss[1] - (double)loss[0];
    assert_true(fabs(diff - A * align) < 1e-5 * (1 + fabs(loss[0])));
    // The alignment's gradient reaches both experts.
    double d_img = 0, d_txt = 0;
    for (int k = 0; k < AZ; k++) {
        d_img += fabs(g_img[1][k] - g_img[0][k]);
        d_txt += fabs(g_txt[1][k] - g_txt[0][k]);
    }
    assert_true(d_img > 1e-6 && d_txt > 1e-6);
    lc_mmvae_free(m);
    lc_vocab_free(&vocab);
}

// The config member: off by default and absent from the JSON then (runs without it keep
// their bytes); round trips when on; a config without it (older runs) reads 0; checked.
static void test_align_config(void **state) {
    (void)state;
    lc_mmvae_config c, back;
    lc_mmvae_config_default(&c, 40);
    assert_true(c.align_weight == 0);
    char *json;
    assert_ok(lc_mmvae_config_to_json(&json, &c));
    assert_null(strstr(json, "align_weight"));
    free(json);
    c.align_weight = 0.25;
    assert_ok(lc_mmvae_config_to_json(&json, &c));
    assert_non_null(strstr(json, "\"align_weight\""));
    back.align_weight = 9;
    assert_ok(lc_mmvae_config_from_json(&back, json));
    free(json);
    assert_true(back.align_weight == 0.25);
    back.align_weight = 9;
    assert_ok(lc_mmvae_config_from_json(&back, "{\"latent\":3,\"text\":{\"vocab\":40}}"));
    assert_true(back.align_weight == 0);
    assert_ok(lc_mmvae_config_from_json(&back, "{\"align_weight\":2,\"text\":{\"vocab\":40}}"));
    assert_true(back.align_weight == 2);
    assert_int_equal(
        lc_mmvae_config_from_json(&back, "{\"align_weight\":-1,\"text\":{\"vocab\":40}}"),
        LC_ERR_INVALID_ARG);
    assert_int_equal(lc_mmvae_config_from_json(&back, "{\"align_weight\":\"1\"}"), LC_ERR_FORMAT);
    c.align_weight = NAN;
    assert_int_equal(lc_mmvae_config_check(&c), LC_ERR_INVALID_ARG);
}

// A few training steps with A > 0: metrics.jsonl logs the "align" term (finite, >= 0),
// config.json keeps the weight and the run loads back with it.
static void test_align_trains(void **state) {
    (void)state;
    enum { NI = 8 };
    lc_vocab vocab;
    lc_mmvae *m = tiny_model(LC_MMVAE_LOGISTIC, 0.3, &vocab);
    m->cfg.cross = true;
    m->cfg.align_weight = 0.5;
    lc_dataset d = {0};
    d.n = NI;
    d.channels = 3;
    d.height = d.width = 4;
    d.images = malloc(NI * LP * sizeof(float));
    d.captions = calloc(NI, sizeof(char *));
    assert_non_null(d.images);
    assert_non_null(d.captions);
    fill(d.images, NI * LP, 70, 0.5f, 0.5f);
    for (int i = 0; i < NI * LP; i++)
        d.images[i] = fminf(fmaxf(d.images[i], 0.0f), 1.0f);
    for (int i = 0; i < NI; i++) {
        d.captions[i] = strdup(i % 2 ? "a red circle" : "a blue square");
        assert_non_null(d.captions[i]);
    }
    assert_ok(lc_mmvae_set_data(m, &d, NULL));
    lc_train_model tm;
    assert_ok(lc_mmvae_train_model(&tm, m));
    assert_int_equal(tm.n_terms, 4);
    assert_string_equal(tm.term_names[3], "align");
    lc_train_options o;
    lc_train_options_default(&o);
    o.batch = 4;
    o.iters = 12;
    o.lr = 1e-3;
    o.log_every = 4;
    char run[4200], path[4300];
    snprintf(run, sizeof run, "%s/align-run", g_dir);
    o.out = run;
    lc_train_result r;
    assert_ok(lc_train(&r, g_dev, &tm, &o, NULL, NULL));
    assert_int_equal(r.steps, 12);
    lc_metrics mt;
    snprintf(path, sizeof path, "%s/metrics.jsonl", run);
    assert_ok(lc_metrics_read(&mt, path));
    int col = lc_metrics_column(&mt, "align"), logged = 0;
    assert_true(col >= 0);
    for (int i = 0; i < mt.n_rows; i++) {
        double v = lc_metrics_at(&mt, i, col);
        if (isnan(v)) continue;
        assert_true(isfinite(v) && v >= 0);
        logged++;
    }
    assert_true(logged >= 3);
    lc_metrics_free(&mt);
    lc_mmvae *back;
    assert_ok(lc_mmvae_load(&back, g_dev, run, false));
    assert_true(lc_mmvae_get_config(back)->align_weight == 0.5);
    lc_mmvae_free(back);
    // Off: the three ELBO terms only, as before the option.
    m->cfg.align_weight = 0;
    assert_ok(lc_mmvae_train_model(&tm, m));
    assert_int_equal(tm.n_terms, 3);
    lc_mmvae_free(m);
    lc_vocab_free(&vocab);
    lc_dataset_free(&d);
}

// ---- learning ----------------------------------------------------------------------------------

// count items of the shapes set from `first` on that show one large red or blue shape in
// the centre: only the kind (5) and the colour (2) vary, so a tiny model learns them in a
// few hundred steps (the full set first learns place and size, then colour, then kind).
static void small_shape_set(lc_dataset *out, lc_shapes_item *items, int64_t first, int64_t count) {
    enum { PLANE = 3 * LC_SHAPES_SIZE * LC_SHAPES_SIZE };
    memset(out, 0, sizeof *out);
    out->n = count;
    out->channels = 3;
    out->height = out->width = LC_SHAPES_SIZE;
    out->images = malloc((size_t)count * PLANE * sizeof(float));
    out->captions = calloc((size_t)count, sizeof(char *));
    assert_non_null(out->images);
    assert_non_null(out->captions);
    int64_t kept = 0;
    for (int64_t i = first; kept < count && i < first + 1000000; i++) {
        lc_shapes_item it;
        lc_shapes_item_make(&it, 0, i);
        const lc_shape *sh = &it.shape[0];
        if (it.n_shapes != 1 || it.place != 4 || sh->size != LC_SIZE_LARGE ||
            (sh->colour != LC_COLOUR_RED && sh->colour != LC_COLOUR_BLUE))
            continue;
        if (items) items[kept] = it;
        lc_shapes_render(out->images + kept * PLANE, &it);
        char cap[160];
        lc_shapes_caption(cap, sizeof cap, &it);
        out->captions[kept] = strdup(cap);
        assert_non_null(out->captions[kept]);
        kept++;
    }
    assert_int_equal(kept, count);
}

// Share of captions naming the item's shape kind.
static double kind_right(char **caps, const lc_shapes_item *items, int64_t n) {
    int64_t hits = 0;
    for (int64_t i = 0; i < n; i++) {
        lc_shapes_item parsed;
        if (lc_shapes_parse_caption(&parsed, caps[i]) == LC_OK)
            hits += parsed.shape[0].kind == items[i].shape[0].kind;
    }
    return (double)hits / (double)n;
}

enum { NTRAIN = 400, NTEST = 60 };

static void test_learns_small_shapes(void **state) {
    (void)state;
    lc_dataset train, test;
    lc_shapes_item items[NTEST];
    small_shape_set(&train, NULL, 0, NTRAIN);
    small_shape_set(&test, items, LC_SHAPES_TEST_FIRST, NTEST);
    lc_vocab vocab;
    assert_ok(lc_mmvae_build_vocab(&vocab, &train));
    lc_mmvae_config c;
    lc_mmvae_config_default(&c, vocab.size);
    c.latent = 16;
    c.hidden = 64;
    c.text.dim = 32;
    c.text.layers = 1;
    c.text.heads = 2;
    c.text.max_len = 12;
    c.cross = true;
    c.text_weight = 10;
    // Bernoulli: this tiny captioning check was calibrated on it (the logistic default is
    // checked on the full task, see BENCHMARKS.md, and by tests/cli/mmvae.sh)
    c.image_likelihood = LC_MMVAE_BERNOULLI;
    lc_mmvae *m;
    assert_ok(lc_mmvae_new(&m, g_dev, &c, &vocab, 5));
    assert_ok(lc_mmvae_set_data(m, &train, &test));
    lc_train_model tm;
    assert_ok(lc_mmvae_train_model(&tm, m));
    lc_train_options o;
    lc_train_options_default(&o);
    o.batch = 32;
    o.iters = 400;
    o.lr = 3e-3;
    o.log_every = 50;
    char run[4200];
    snprintf(run, sizeof run, "%s/run", g_dir);
    o.out = run;
    char *before[NTEST], *after[NTEST], *loaded[NTEST];
    assert_ok(lc_mmvae_caption(m, before, test.images, NTEST));
    lc_train_result r;
    assert_ok(lc_train(&r, g_dev, &tm, &o, NULL, NULL));
    assert_ok(lc_mmvae_caption(m, after, test.images, NTEST));
    double k0 = kind_right(before, items, NTEST), k1 = kind_right(after, items, NTEST);
    print_message("kind named right: %.2f before, %.2f after %lld steps (chance 0.20); e.g. '%s' "
                  "for '%s'\n",
                  k0, k1, (long long)r.steps, after[0], test.captions[0]);
    assert_true(k1 >= 0.5);
    assert_true(k1 > k0 + 0.2);
    // The run loads back (vocabulary from the metadata) and captions alike.
    lc_mmvae *back;
    assert_ok(lc_mmvae_load(&back, g_dev, run, false));
    assert_int_equal(lc_mmvae_vocab(back)->size, vocab.size);
    assert_ok(lc_mmvae_caption(back, loaded, test.images, NTEST));
    for (int i = 0; i < NTEST; i++)
        assert_string_equal(loaded[i], after[i]);
    // Retrieval embeddings: posterior means of either modality, (n, Z).
    float zi[4 * 16], zt[4 * 16];
    int64_t unknown = 0;
    const char *qs[4] = {test.captions[0], test.captions[1], "a zzz qqq", "a large blue square"};
    assert_ok(lc_mmvae_embed_images(back, zi, test.images, 4));
    assert_ok(lc_mmvae_embed_texts(back, zt, qs, 4, &unknown));
    assert_int_equal(unknown, 2);
    float x[2 * 3 * 32 * 32];
    assert_int_equal(lc_mmvae_generate(back, x, "zzz qqq", 2, true, 1, NULL), LC_ERR_INVALID_ARG);
    assert_ok(lc_mmvae_generate(back, x, "a small red circle", 2, false, 1, NULL));
    for (int i = 0; i < 3 * 32 * 32; i++) { // the mean twice
        assert_true(x[i] >= 0 && x[i] <= 1);
        assert_true(fabsf(x[i] - x[3 * 32 * 32 + i]) < 1e-5f);
    }
    lc_mmvae_eval e;
    assert_ok(lc_mmvae_evaluate(back, &e, test.images, (const char *const *)test.captions, items,
                                NTEST, NULL, NULL));
    assert_true(e.recall_at_5_i2t >= e.recall_at_1_i2t && e.recall_at_5_t2i >= e.recall_at_1_t2i);
    assert_true(e.caption_exact >= 0 && e.caption_exact <= 1 && e.n == NTEST);
    for (int i = 0; i < NTEST; i++) {
        free(before[i]);
        free(after[i]);
        free(loaded[i]);
    }
    lc_mmvae_free(back);
    lc_mmvae_free(m);
    lc_vocab_free(&vocab);
    lc_dataset_free(&train);
    lc_dataset_free(&test);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_poe_closed_form),     cmocka_unit_test(test_poe_gradient),
        cmocka_unit_test(test_config_json),         cmocka_unit_test(test_template_captions),
        cmocka_unit_test(test_image_likelihood),    cmocka_unit_test(test_logistic_prefers_median),
        cmocka_unit_test(test_align_closed_form),   cmocka_unit_test(test_align_in_loss),
        cmocka_unit_test(test_align_config),        cmocka_unit_test(test_align_trains),
        cmocka_unit_test(test_learns_small_shapes),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
