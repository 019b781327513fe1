// The AE/VAE family (src/models/vae*.c, ae.c): the -ELBO of a fixed batch against a
// plain-C double-precision reference, the reparameterisation gradient against central
// differences of that reference, the AE loss likewise, learning on a small set,
// bit-exact resume and same-seed runs through the training loop, checkpoint loading,
// and the evaluation bounds (IWAE <= ELBO, host and device paths agree).
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "test_util.h"
#include "latentcl/rng.h"
#include "latentcl/run.h"
#include "latentcl/vae.h"
#include "models/vae_internal.h"

static lc_device *g_dev;
static char *g_dir;

// A tiny configuration: 1 x 4 x 4 images, Z 3, hidden 8 and 6.
enum { SIDE = 4, P = SIDE * SIDE, Z = 3, H1 = 8, H2 = 6, NDATA = 40, B = 5 };

static void tiny_config(lc_vae_config *c, lc_vae_kind kind) {
    lc_vae_config_default(c, kind);
    c->height = c->width = SIDE;
    c->latent = Z;
    c->hidden1 = H1;
    c->hidden2 = H2;
}

// Deterministic images in [0, 1] with some structure (two "classes").
static void tiny_data(lc_dataset *d, int64_t n) {
    memset(d, 0, sizeof *d);
    d->n = n;
    d->channels = 1;
    d->height = d->width = SIDE;
    d->images = malloc((size_t)(n * P) * sizeof(float));
    d->labels = malloc((size_t)n * sizeof(int32_t));
    d->n_classes = 2;
    for (int64_t i = 0; i < n; i++) {
        d->labels[i] = (int32_t)(i % 2);
        for (int j = 0; j < P; j++) {
            double v = (i % 2 ? (j % SIDE) : (j / SIDE)) / (double)(SIDE - 1);
            v = 0.8 * v + 0.2 * (0.5 + 0.5 * sin(1.3 * (double)i + 0.7 * j));
            d->images[i * P + j] = (float)v;
        }
    }
}

static void free_data(lc_dataset *d) {
    free(d->images);
    free(d->labels);
}

// ---- the host reference -----------------------------------------------------------------

typedef struct {
    const float *w, *b;
    int out, in;
} ref_layer;

static ref_layer layer(const float *params, const lc_params *p, const char *name) {
    char w[64], b[64];
    snprintf(w, sizeof w, "%s.weight", name);
    snprintf(b, sizeof b, "%s.bias", name);
    const lc_param_info *iw = lc_params_find(p, w), *ib = lc_params_find(p, b);
    assert_non_null(iw);
    assert_non_null(ib);
    return (ref_layer){params + iw->offset, params + ib->offset, (int)iw->shape[0],
                       (int)iw->shape[1]};
}

static void dense(double *y, const double *x, ref_layer l, int relu) {
    for (int o = 0; o < l.out; o++) {
        double s = l.b[o];
        for (int i = 0; i < l.in; i++)
            s += (double)l.w[o * l.in + i] * x[i];
        y[o] = relu && s < 0 ? 0 : s;
    }
}

// -ELBO of the batch (mean over items) in double; rec/kl terms out. Noise: Philox keyed
// (seed, counter (j / 4, item, step, VAE_DRAW_TRAIN)), the documented keying.
static double g_sigma = 0; // > 0: the Gaussian decoder with this sigma
static double ref_neg_elbo(const float *params, const lc_params *p, const float *x,
                           const int64_t *ids, int n, uint64_t seed, uint32_t step, double *rec_out,
                           double *kl_out) {
    ref_layer e0 = layer(params, p, "encoder.0"), e2 = layer(params, p, "encoder.2"),
              fm = layer(params, p, "fc_mu"), fl = layer(params, p, "fc_logvar"),
              d0 = layer(params, p, "decoder.0"), d2 = layer(params, p, "decoder.2"),
              d4 = layer(params, p, "decoder.4");
    double rec = 0, kl = 0;
    for (int b = 0; b < n; b++) {
        double xi[P], h1[H1], h2[H2], mu[Z], lv[Z], z[Z], g1[H2], g2[H1], l[P];
        for (int j = 0; j < P; j++)
            xi[j] = x[ids[b] * P + j];
        dense(h1, xi, e0, 1);
        dense(h2, h1, e2, 1);
        dense(mu, h2, fm, 0);
        dense(lv, h2, fl, 0);
        float eps[Z];
        const uint32_t ctr[4] = {0, (uint32_t)ids[b], step, VAE_DRAW_TRAIN};
        lc_rng_fill_host(eps, Z, 1, seed, ctr);
        for (int k = 0; k < Z; k++) {
            z[k] = mu[k] + exp(0.5 * lv[k]) * eps[k];
            kl += 0.5 * (mu[k] * mu[k] + exp(lv[k]) - 1 - lv[k]);
        }
        dense(g1, z, d0, 1);
        dense(g2, g1, d2, 1);
        dense(l, g2, d4, 0);
        for (int j = 0; j < P; j++) {
            if (g_sigma > 0) { // Gaussian: (x - sigmoid(l))^2 / (2 sigma^2) + log(sigma sqrt(2 pi))
                double d = xi[j] - 1.0 / (1.0 + exp(-l[j]));
                rec += d * d / (2 * g_sigma * g_sigma) + log(g_sigma * sqrt(2 * M_PI));
            } else { // BCE with logits: softplus(l) - x l
                rec += (l[j] > 0 ? l[j] + log1p(exp(-l[j])) : log1p(exp(l[j]))) - xi[j] * l[j];
            }
        }
    }
    if (rec_out) *rec_out = rec / n;
    if (kl_out) *kl_out = kl / n;
    return (rec + kl) / n;
}

// ---- fixtures ------------------------------------------------------------------------------

static int setup(void **state) {
    return test_open_device(&g_dev, NULL) || test_open_tmpdir(&g_dir);
}

static int teardown(void **state) {
    test_close_tmpdir(&g_dir);
    return test_close_device(g_dev, NULL);
}

static float *read_params(lc_vae *m, cl_mem which) {
    lc_params *p = lc_vae_params(m);
    float *h = malloc(p->total * sizeof *h);
    assert_ok(lc_read(g_dev, h, which, 0, p->total * sizeof *h));
    return h;
}

// One training step of the loop's interface on a fixed batch: loss[0..2].
static void run_step(lc_vae *m, lc_train_model *tm, const int64_t *ids, int n, int64_t step,
                     uint64_t seed, float loss[3]) {
    cl_mem buf;
    assert_ok(lc_buffer_alloc(&buf, g_dev, 3 * sizeof(float)));
    lc_batch batch = {ids, n, step, 0, seed};
    assert_ok(tm->step(tm->self, g_dev, buf, &batch));
    assert_ok(lc_read(g_dev, loss, buf, 0, 3 * sizeof(float)));
    lc_buffer_free(buf);
    (void)m;
}

// A model of config c (seed) on the images of d, and its training view in tm.
static lc_vae *model_on(lc_train_model *tm, const lc_vae_config *c, lc_dataset *d, uint64_t seed) {
    lc_vae *m;
    assert_ok(lc_vae_new(&m, g_dev, c, seed));
    assert_ok(lc_vae_set_data(m, d, NULL));
    assert_ok(lc_vae_train_model(tm, m));
    return m;
}

// ---- tests ----------------------------------------------------------------------------------

static void test_elbo_matches_host(void **state) {
    (void)state;
    lc_vae_config c;
    tiny_config(&c, LC_VAE_KIND_VAE);
    lc_dataset d;
    tiny_data(&d, NDATA);
    lc_train_model tm;
    lc_vae *m = model_on(&tm, &c, &d, 11);
    const int64_t ids[B] = {3, 1, 4, 39, 0};
    float loss[3];
    run_step(m, &tm, ids, B, 7, 11, loss);
    float *params = read_params(m, lc_vae_params(m)->data);
    double rec, kl,
        ref = ref_neg_elbo(params, lc_vae_params(m), d.images, ids, B, 11, 7, &rec, &kl);
    // float32 on the device vs double here: 1e-4 relative
    assert_true(fabs(loss[0] - ref) <= 1e-4 * fabs(ref));
    assert_true(fabs(loss[1] - rec) <= 1e-4 * fabs(rec));
    assert_true(fabs(loss[2] - kl) <= 1e-4 * fabs(kl) + 1e-6);
    assert_true(kl > 0);
    free(params);
    lc_vae_free(m);
    free_data(&d);
}

// The same with the Gaussian decoder (sigma 0.2) and beta 0.5 (loss = rec + beta kl).
static void test_gaussian_elbo_matches_host(void **state) {
    (void)state;
    lc_vae_config c;
    tiny_config(&c, LC_VAE_KIND_VAE);
    c.decoder = LC_VAE_GAUSSIAN;
    c.sigma = 0.2;
    c.beta = 0.5;
    lc_dataset d;
    tiny_data(&d, NDATA);
    lc_train_model tm;
    lc_vae *m = model_on(&tm, &c, &d, 12);
    const int64_t ids[B] = {9, 19, 29, 39, 1};
    float loss[3];
    run_step(m, &tm, ids, B, 2, 12, loss);
    float *params = read_params(m, lc_vae_params(m)->data);
    g_sigma = 0.2;
    double rec, kl;
    ref_neg_elbo(params, lc_vae_params(m), d.images, ids, B, 12, 2, &rec, &kl);
    g_sigma = 0;
    if (fabs(loss[1] - rec) > 1e-4 * fabs(rec) + 1e-4 || fabs(loss[2] - kl) > 1e-4 * kl + 1e-6 ||
        fabs(loss[0] - (rec + 0.5 * kl)) > 1e-4 * fabs(rec) + 1e-4)
        fail_msg("device loss %.6f rec %.6f kl %.6f, host rec %.6f kl %.6f", loss[0], loss[1],
                 loss[2], rec, kl);
    free(params);
    lc_vae_free(m);
    free_data(&d);
}

// d(-ELBO)/d(theta) from the device step against central differences of the host
// reference (same noise), for the encoder's mean and log-variance heads (reached only
// through z = mu + exp(logvar / 2) eps and the KL), the encoder and the decoder.
static void test_reparam_gradient(void **state) {
    (void)state;
    lc_vae_config c;
    tiny_config(&c, LC_VAE_KIND_VAE);
    lc_dataset d;
    tiny_data(&d, NDATA);
    lc_train_model tm;
    lc_vae *m = model_on(&tm, &c, &d, 5);
    const int64_t ids[B] = {2, 8, 5, 17, 30};
    float loss[3];
    assert_ok(lc_zero_grad(m->ctx, lc_vae_params(m)));
    run_step(m, &tm, ids, B, 3, 5, loss);
    lc_params *p = lc_vae_params(m);
    float *params = read_params(m, p->data), *grad = read_params(m, p->grad);
    const char *names[] = {"fc_logvar.weight", "fc_logvar.bias",   "fc_mu.weight",  "fc_mu.bias",
                           "encoder.0.weight", "decoder.0.weight", "decoder.4.bias"};
    int checked = 0;
    for (size_t t = 0; t < sizeof names / sizeof *names; t++) {
        const lc_param_info *it = lc_params_find(p, names[t]);
        assert_non_null(it);
        for (size_t e = 0; e<it->numel; e += it->numel> 6 ? it->numel / 5 : 1) {
            float *v = params + it->offset + e, keep = *v;
            const float h = 1e-2f;
            *v = keep + h;
            double up = ref_neg_elbo(params, p, d.images, ids, B, 5, 3, NULL, NULL);
            *v = keep - h;
            double down = ref_neg_elbo(params, p, d.images, ids, B, 5, 3, NULL, NULL);
            *v = keep;
            double fd = (up - down) / (2.0 * (double)h), g = grad[it->offset + e];
            // tolerance: 2e-3 absolute + 2% relative (float32 gradient, h = 1e-2 in float)
            if (fabs(fd - g) > 2e-3 + 0.02 * fabs(fd))
                fail_msg("%s[%zu]: device gradient %.6g, finite difference %.6g", names[t], e, g,
                         fd);
            checked++;
        }
    }
    assert_true(checked > 20);
    free(params);
    free(grad);
    lc_vae_free(m);
    free_data(&d);
}

// The AE's loss against the host reference, with and without the denoising noise
// (Philox keyed (seed, counter (j / 4, item, step, VAE_DRAW_DENOISE))).
static double ref_ae_loss(const float *params, const lc_params *p, const float *x,
                          const int64_t *ids, int n, double noise, uint64_t seed, uint32_t step) {
    ref_layer e0 = layer(params, p, "encoder.0"), e2 = layer(params, p, "encoder.2"),
              e4 = layer(params, p, "encoder.4"), d0 = layer(params, p, "decoder.0"),
              d2 = layer(params, p, "decoder.2"), d4 = layer(params, p, "decoder.4");
    double rec = 0;
    for (int b = 0; b < n; b++) {
        double xi[P], xin[P], h1[H1], h2[H2], z[Z], g1[H2], g2[H1], l[P];
        float eps[P];
        const uint32_t ctr[4] = {0, (uint32_t)ids[b], step, VAE_DRAW_DENOISE};
        lc_rng_fill_host(eps, P, 1, seed, ctr);
        for (int j = 0; j < P; j++) {
            xi[j] = x[ids[b] * P + j];
            xin[j] = (double)(float)(xi[j] + (float)noise * eps[j]);
        }
        dense(h1, xin, e0, 1);
        dense(h2, h1, e2, 1);
        dense(z, h2, e4, 0);
        dense(g1, z, d0, 1);
        dense(g2, g1, d2, 1);
        dense(l, g2, d4, 0);
        for (int j = 0; j < P; j++)
            rec += (l[j] > 0 ? l[j] + log1p(exp(-l[j])) : log1p(exp(l[j]))) - xi[j] * l[j];
    }
    return rec / n;
}

static void test_ae_loss_matches_host(void **state) {
    (void)state;
    lc_dataset d;
    tiny_data(&d, NDATA);
    const int64_t ids[B] = {7, 2, 33, 5, 21};
    double losses[2];
    for (int v = 0; v < 2; v++) {
        lc_vae_config c;
        tiny_config(&c, LC_VAE_KIND_AE);
        c.noise = v ? 0.3 : 0.0;
        lc_train_model tm;
        lc_vae *m = model_on(&tm, &c, &d, 9);
        assert_string_equal(tm.family, "ae");
        assert_int_equal(tm.n_terms, 1);
        float loss[3];
        run_step(m, &tm, ids, B, 4, 9, loss);
        float *params = read_params(m, lc_vae_params(m)->data);
        double ref = ref_ae_loss(params, lc_vae_params(m), d.images, ids, B, c.noise, 9, 4);
        if (fabs(loss[0] - ref) > 1e-4 * fabs(ref))
            fail_msg("AE loss (noise %g): device %.6f, host %.6f", c.noise, loss[0], ref);
        assert_true(loss[1] == loss[0]); // the one term "rec" is the loss
        losses[v] = loss[0];
        free(params);
        lc_vae_free(m);
    }
    assert_true(losses[0] != losses[1]); // the noise reached the encoder
    free_data(&d);
}

// The conv VAE (conv 4x4/2, transposed conv 4x4/2) on 1 x 8 x 8 images: its gradient
// against central differences of its own device loss (float32: h = 3e-3, tolerance
// 3e-3 + 5%), through the convolutions and the reparameterisation.
static void test_conv_vae_gradient(void **state) {
    const float g_h = 3e-3f; // small enough not to cross ReLU kinks at this seed
    (void)state;
    lc_vae_config c;
    lc_vae_config_default(&c, LC_VAE_KIND_VAE);
    c.net = LC_VAE_NET_CONV;
    c.height = c.width = 8;
    c.latent = 3;
    c.hidden2 = 6;
    lc_dataset d = {0};
    d.n = 6;
    d.channels = 1;
    d.height = d.width = 8;
    d.images = malloc(6 * 64 * sizeof(float));
    for (int i = 0; i < 6 * 64; i++)
        d.images[i] = (float)(0.5 + 0.45 * sin(0.37 * i));
    lc_train_model tm;
    lc_vae *m = model_on(&tm, &c, &d, 4);
    const int64_t ids[3] = {5, 0, 2};
    float loss[3];
    run_step(m, &tm, ids, 3, 1, 4, loss);
    assert_true(isfinite(loss[0]) && loss[2] > 0);
    lc_params *p = lc_vae_params(m);
    float *grad = read_params(m, p->grad);
    const char *names[] = {"encoder.0.weight", "encoder.2.bias",   "fc_logvar.weight",
                           "decoder.5.weight", "decoder.7.weight", "decoder.7.bias"};
    for (size_t t = 0; t < sizeof names / sizeof *names; t++) {
        const lc_param_info *it = lc_params_find(p, names[t]);
        assert_non_null(it);
        for (size_t e = 0; e<it->numel; e += it->numel> 4 ? it->numel / 3 : 1) {
            size_t at = (it->offset + e) * sizeof(float);
            float v, moved, lo[3], hi[3];
            assert_ok(lc_read(g_dev, &v, p->data, at, sizeof v));
            moved = v + g_h;
            assert_ok(lc_write(g_dev, p->data, at, &moved, sizeof moved));
            run_step(m, &tm, ids, 3, 1, 4, hi);
            moved = v - g_h;
            assert_ok(lc_write(g_dev, p->data, at, &moved, sizeof moved));
            run_step(m, &tm, ids, 3, 1, 4, lo);
            assert_ok(lc_write(g_dev, p->data, at, &v, sizeof v));
            double fd = ((double)hi[0] - lo[0]) / (2.0 * g_h), g = grad[it->offset + e];
            if (fabs(fd - g) > 3e-3 + 0.05 * fabs(fd))
                fail_msg("%s[%zu]: gradient %.6g, finite difference %.6g", names[t], e, g, fd);
        }
    }
    free(grad);
    lc_vae_free(m);
    free(d.images);
}

// ---- training through the loop ------------------------------------------------------------

static void tiny_options(lc_train_options *o, const char *out, long epochs, long seed) {
    lc_train_options_default(o);
    o->batch = 8; // 40 items: 5 steps an epoch
    o->epochs = epochs;
    o->seed = seed;
    o->log_every = 2;
    o->out = out;
    o->lr = 3e-3;
}

static lc_status train_tiny(const char *out, long epochs, long seed, bool resume,
                            lc_vae_kind kind) {
    lc_vae_config c;
    tiny_config(&c, kind);
    lc_dataset d, t;
    tiny_data(&d, NDATA);
    tiny_data(&t, 12);
    lc_vae *m;
    assert_ok(lc_vae_new(&m, g_dev, &c, (uint64_t)seed));
    assert_ok(lc_vae_set_data(m, &d, &t));
    lc_train_model tm;
    assert_ok(lc_vae_train_model(&tm, m));
    lc_train_options o;
    tiny_options(&o, out, epochs, seed);
    o.resume = resume;
    lc_train_result r;
    lc_status s = lc_train(&r, g_dev, &tm, &o, NULL, NULL);
    lc_vae_free(m);
    free_data(&d);
    free_data(&t);
    return s;
}

static char g_path[2][1024];
static const char *in_dir(int slot, const char *name) {
    snprintf(g_path[slot], sizeof g_path[slot], "%s/%s", g_dir, name);
    return g_path[slot];
}

// 0 when every tensor of the two checkpoints is equal byte for byte.
static int compare_checkpoints(const char *a, const char *b) {
    lc_st_file *fa, *fb;
    assert_ok(lc_st_open(&fa, a));
    assert_ok(lc_st_open(&fb, b));
    int diff = lc_st_count(fa) != lc_st_count(fb);
    for (int i = 0; !diff && i < lc_st_count(fa); i++) {
        const lc_st_tensor *x = lc_st_at(fa, i), *y = lc_st_find(fb, x->name);
        if (!y) {
            diff = 1;
            break;
        }
        size_t bytes = (size_t)lc_st_numel(x) * lc_dtype_size(x->dtype);
        diff = lc_st_numel(x) != lc_st_numel(y) || memcmp(x->data, y->data, bytes) != 0;
    }
    lc_st_close(fa);
    lc_st_close(fb);
    return diff;
}

// 2 epochs in one go = 1 epoch, then --resume for 1 more, bit for bit (weights, Adam
// moments); the run folder holds the pictures.
static void test_resume_identity(void **state) {
    (void)state;
    char path[2][1100];
    assert_ok(train_tiny(in_dir(0, "once"), 2, 3, false, LC_VAE_KIND_VAE));
    assert_ok(train_tiny(in_dir(1, "twice"), 1, 3, false, LC_VAE_KIND_VAE));
    assert_ok(train_tiny(in_dir(1, "twice"), 2, 3, true, LC_VAE_KIND_VAE));
    snprintf(path[0], sizeof path[0], "%s/last.safetensors", in_dir(0, "once"));
    snprintf(path[1], sizeof path[1], "%s/last.safetensors", in_dir(1, "twice"));
    assert_int_equal(compare_checkpoints(path[0], path[1]), 0);
    const char *pics[] = {"samples.png", "recon.png", "curves.png", "metrics.jsonl"};
    for (int i = 0; i < 4; i++) {
        char f[1200];
        snprintf(f, sizeof f, "%s/%s", in_dir(0, "once"), pics[i]);
        size_t n = 0;
        void *bytes = test_read_file(f, &n);
        if (!bytes || n < 8) fail_msg("no %s in the run folder", pics[i]);
        free(bytes);
    }
    // A resume of the VAE run as an AE is refused, naming both families.
    lc_status s = train_tiny(in_dir(1, "twice"), 3, 3, true, LC_VAE_KIND_AE);
    assert_int_equal(s, LC_ERR_INVALID_ARG);
    assert_non_null(strstr(lc_last_error(), "vae"));
}

// The same seed gives the same run; another seed another one.
static void test_same_seed_same_run(void **state) {
    (void)state;
    char a[1100], b[1100], c[1100];
    assert_ok(train_tiny(in_dir(0, "seed_a"), 1, 21, false, LC_VAE_KIND_VAE));
    snprintf(a, sizeof a, "%s/last.safetensors", g_path[0]);
    assert_ok(train_tiny(in_dir(0, "seed_b"), 1, 21, false, LC_VAE_KIND_VAE));
    snprintf(b, sizeof b, "%s/last.safetensors", g_path[0]);
    assert_ok(train_tiny(in_dir(0, "seed_c"), 1, 22, false, LC_VAE_KIND_VAE));
    snprintf(c, sizeof c, "%s/last.safetensors", g_path[0]);
    assert_int_equal(compare_checkpoints(a, b), 0);
    assert_int_not_equal(compare_checkpoints(a, c), 0);
}

// A trained run loads back (same decoder outputs), and the evaluation bounds hold:
// the IWAE bound with 64 draws is at least as tight as the ELBO, the host-array and
// device-test-set paths agree, and an AE refuses --iwae.
static void test_load_and_evaluate(void **state) {
    (void)state;
    assert_ok(train_tiny(in_dir(0, "load"), 2, 8, false, LC_VAE_KIND_VAE));
    lc_vae *m;
    assert_ok(lc_vae_load(&m, g_dev, g_path[0], false));
    assert_int_equal(lc_vae_get_config(m)->latent, Z);
    assert_int_equal(lc_vae_step(m), 10);
    assert_int_equal(lc_vae_seed(m), 8);
    lc_dataset t;
    tiny_data(&t, 12);
    lc_vae_eval e1, e2, e3;
    assert_ok(lc_vae_evaluate(m, &e1, t.images, t.n, 64, 1, NULL, NULL));
    assert_true(isfinite(e1.neg_elbo) && e1.kl > 0 && e1.rec > 0);
    assert_true(fabs(e1.neg_elbo - (e1.rec + e1.kl)) < 1e-9);
    assert_true(e1.iwae_neg_ll <= e1.neg_elbo + 1e-3);
    assert_ok(lc_vae_set_data(m, &t, &t));
    assert_ok(lc_vae_evaluate(m, &e2, NULL, 0, 64, 1, NULL, NULL));
    assert_true(fabs(e1.neg_elbo - e2.neg_elbo) < 1e-9 &&
                fabs(e1.iwae_neg_ll - e2.iwae_neg_ll) < 1e-9);
    assert_ok(lc_vae_evaluate(m, &e3, t.images, t.n, 0, 1, NULL, NULL));
    assert_true(isnan(e3.iwae_neg_ll) && e3.neg_elbo == e1.neg_elbo);
    // decode through the loaded model = decode through a second load (weights, not noise)
    float z[2 * Z] = {0.1f, -0.2f, 0.3f, 1.0f, 0.0f, -1.0f}, x1[2 * P], x2[2 * P];
    assert_ok(lc_vae_decode(m, x1, z, 2));
    lc_vae *m2;
    char file[1200];
    snprintf(file, sizeof file, "%s/last.safetensors", g_path[0]);
    assert_ok(lc_vae_load(&m2, g_dev, file, false));
    assert_ok(lc_vae_decode(m2, x2, z, 2));
    assert_memory_equal(x1, x2, sizeof x1);
    for (int j = 0; j < 2 * P; j++)
        assert_true(x1[j] > 0 && x1[j] < 1);
    // sampling is a pure function of the seed
    float s1[3 * P], s2[3 * P];
    assert_ok(lc_vae_sample(m, s1, 3, 77));
    assert_ok(lc_vae_sample(m2, s2, 3, 77));
    assert_memory_equal(s1, s2, sizeof s1);
    lc_vae_free(m2);
    lc_vae_free(m);
    // an AE has no IWAE bound
    assert_ok(train_tiny(in_dir(0, "ae"), 1, 8, false, LC_VAE_KIND_AE));
    assert_ok(lc_vae_load(&m, g_dev, g_path[0], false));
    assert_int_equal(lc_vae_evaluate(m, &e1, t.images, t.n, 8, 1, NULL, NULL), LC_ERR_INVALID_ARG);
    assert_ok(lc_vae_evaluate(m, &e1, t.images, t.n, 0, 1, NULL, NULL));
    assert_true(e1.kl == 0 && e1.mse > 0 && e1.mse < 1);
    lc_vae_free(m);
    free_data(&t);
}

static void test_config_json(void **state) {
    (void)state;
    lc_vae_config c, back;
    lc_vae_config_default(&c, LC_VAE_KIND_VAE);
    c.latent = 2;
    c.beta = 4;
    c.kl_warmup = 100;
    c.decoder = LC_VAE_GAUSSIAN;
    c.sigma = 0.25;
    snprintf(c.data, sizeof c.data, "fashion-mnist");
    char *json;
    assert_ok(lc_vae_config_to_json(&json, &c));
    assert_ok(lc_vae_config_from_json(&back, LC_VAE_KIND_VAE, json));
    assert_int_equal(back.latent, 2);
    assert_true(back.beta == 4 && back.kl_warmup == 100 && back.sigma == 0.25);
    assert_int_equal(back.decoder, LC_VAE_GAUSSIAN);
    assert_string_equal(back.data, "fashion-mnist");
    free(json);
    assert_int_equal(lc_vae_config_from_json(&back, LC_VAE_KIND_VAE, "{\"latent\":3,\"bogus\":1}"),
                     LC_ERR_FORMAT);
    assert_non_null(strstr(lc_last_error(), "bogus"));
    assert_int_equal(lc_vae_config_from_json(&back, LC_VAE_KIND_VAE, "{\"latent\":2.5}"),
                     LC_ERR_FORMAT);
    c.net = LC_VAE_NET_CONV;
    c.height = 30;
    assert_int_equal(lc_vae_config_check(&c), LC_ERR_INVALID_ARG);
    lc_vae_config_default(&c, LC_VAE_KIND_AE);
    c.beta = 2;
    assert_int_equal(lc_vae_config_check(&c), LC_ERR_INVALID_ARG); // beta is a VAE option
    // KL warm-up: beta rises linearly to its value
    lc_vae_config_default(&c, LC_VAE_KIND_VAE);
    c.kl_warmup = 4;
    assert_true(vae_beta_at(&c, 0) == 0.25f && vae_beta_at(&c, 3) == 1.0f &&
                vae_beta_at(&c, 100) == 1.0f);
}

// The MLP VAE learns on 2,000 Fashion-MNIST images: after 4 epochs (batch 64, a narrower
// 784-128-64-8 net so that it takes seconds on PoCL) the test -ELBO of 500 test images is
// far below its start (~543 nats = 784 ln 2).
static void test_vae_learns_fashion_subset(void **state) {
    (void)state;
    lc_data full, test;
    lc_data_options o = {0};
    if (lc_data_open(&full, "fashion-mnist", &o) != LC_OK) {
        print_message("Fashion-MNIST not installed (dataset-fashion-mnist): skipped\n");
        skip();
    }
    o.split = LC_SPLIT_TEST;
    assert_ok(lc_data_open(&test, "fashion-mnist", &o));
    int64_t idx[2000];
    for (int i = 0; i < 2000; i++)
        idx[i] = i;
    lc_dataset sub;
    assert_ok(lc_dataset_subset(&sub, &full.images, idx, 2000));
    lc_vae_config c;
    lc_vae_config_default(&c, LC_VAE_KIND_VAE);
    c.hidden1 = 128;
    c.hidden2 = 64;
    c.latent = 8;
    lc_vae *m;
    assert_ok(lc_vae_new(&m, g_dev, &c, 1));
    assert_ok(lc_vae_set_data(m, &sub, NULL));
    lc_train_model tm;
    assert_ok(lc_vae_train_model(&tm, m));
    lc_train_options opt;
    lc_train_options_default(&opt);
    opt.batch = 64;
    opt.epochs = 4;
    opt.lr = 2e-3;
    lc_vae_eval before, after;
    assert_ok(lc_vae_evaluate(m, &before, test.images.images, 500, 0, 0, NULL, NULL));
    lc_train_result r;
    assert_ok(lc_train(&r, g_dev, &tm, &opt, NULL, NULL));
    assert_ok(lc_vae_evaluate(m, &after, test.images.images, 500, 0, 0, NULL, NULL));
    print_message("test -ELBO %.1f -> %.1f nats in %.1f s\n", before.neg_elbo, after.neg_elbo,
                  r.seconds);
    assert_true(before.neg_elbo > 500);
    assert_true(after.neg_elbo < 330); // stated bound; measured 298 nats in about 2 s
    lc_vae_free(m);
    lc_dataset_free(&sub);
    lc_data_free(&full);
    lc_data_free(&test);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_elbo_matches_host), cmocka_unit_test(test_gaussian_elbo_matches_host),
        cmocka_unit_test(test_reparam_gradient),  cmocka_unit_test(test_ae_loss_matches_host),
        cmocka_unit_test(test_conv_vae_gradient), cmocka_unit_test(test_config_json),
        cmocka_unit_test(test_resume_identity),   cmocka_unit_test(test_same_seed_same_run),
        cmocka_unit_test(test_load_and_evaluate), cmocka_unit_test(test_vae_learns_fashion_subset),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
