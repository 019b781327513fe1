// The path of a caption through text-conditioned diffusion (src/models/diffusion_text.c,
// diffusion_unet.c) on 3-channel images, as the shapes set has them:
//   - the caption reaches the U-Net (two captions, and the empty one, give three
//     different predictions for the same x_t and t);
//   - a prompt at sampling time is tokenised as the same training caption was (the same
//     prediction, whatever its case and punctuation);
//   - the dropped caption of classifier-free guidance is the empty caption;
//   - the gradient reaches the text encoder (token embedding, attention, text_proj);
//   - a tiny model learns two captioned colours and its samples (back in [0, 1]) take the
//     prompt's colour: with v-prediction (the CLI's default for text) after 150 steps. The
//     same model predicting eps samples grey (R G B about 0.4 0.5 0.5, though no training
//     image has any green): its x_0 = (x_t - sqrt(1 - abar) eps) / sqrt(abar) multiplies
//     the net's error by up to 156 near t = T, the colour-field failure of young shapes runs.
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "latentcl/diffusion.h"
#include "test_util.h"

static lc_device *g_dev;

static int setup(void **state) { return test_open_device(&g_dev, NULL); }
static int teardown(void **state) { return test_close_device(g_dev, NULL); }

enum { N = 16, C = 3, S = 8, P = C * S * S };
static const char *const CAPTIONS[2] = {"a small red square", "a large blue circle"};

// item k's picture: a red (k = 0) or blue (k = 1) field
static float colour(int k, int j) { return (float)(j / (S * S) == (k ? 2 : 0)); }

typedef struct {
    lc_vocab vocab;
    lc_dataset data;
    lc_diffusion *m;
} fixture;

// empty: every item captioned "" (what a dropped caption should be), else CAPTIONS[i % 2].
static void make(fixture *f, lc_dif_target target, uint64_t seed, bool empty) {
    memset(f, 0, sizeof *f);
    assert_ok(lc_vocab_build(&f->vocab, CAPTIONS, 2, 1, 0));
    lc_diffusion_config c;
    lc_diffusion_config_default(&c, LC_DIF_NET_UNET, true);
    c.channels = C;
    c.height = c.width = S;
    c.widths[0] = 16, c.widths[1] = 16, c.widths[2] = 32; // GroupNorm(8): 2+ channels a group
    c.time_dim = 8;
    c.T = 1000; // as the shapes runs (the linear betas 1e-4..0.02 are for T = 1000)
    c.target = target;
    c.text_cond = true;
    lc_text_config_default(&c.text, f->vocab.size);
    c.text.dim = 16, c.text.layers = 1, c.text.heads = 2, c.text.max_len = 8;
    assert_ok(lc_diffusion_new_text(&f->m, g_dev, &c, &f->vocab, seed));
    lc_dataset *d = &f->data;
    d->n = N;
    d->channels = C;
    d->height = d->width = S;
    d->images = malloc(N * P * sizeof(float));
    d->captions = malloc(N * sizeof(char *));
    for (int i = 0; i < N; i++) {
        d->captions[i] = (char *)(empty ? "" : CAPTIONS[i % 2]); // item i: caption row i
        for (int j = 0; j < P; j++)
            d->images[i * P + j] = colour(i % 2, j);
    }
    assert_ok(lc_diffusion_set_images(f->m, d));
}

static void drop(fixture *f) {
    lc_diffusion_free(f->m);
    lc_vocab_free(&f->vocab);
    free(f->data.images);
    free(f->data.captions);
}

// The network's eps for rows y (NULL: the empty caption) at x, t = 500.
static void predict(fixture *f, float *eps, const float *x, const int32_t *y) {
    lc_dif_net net = lc_diffusion_net(f->m);
    assert_ok(lc_dif_predict_eps(lc_diffusion_ctx(f->m), lc_diffusion_schedule(f->m), &net, eps, x,
                                 2, 500, y, 1.0));
}

static double max_diff(const float *a, const float *b, int n) {
    double m = 0;
    for (int i = 0; i < n; i++)
        m = fmax(m, fabs((double)a[i] - b[i]));
    return m;
}

// The denoising loss of the whole set (the items' own captions, or the rows `labels`).
static float loss_of(fixture *f, const int32_t *labels, double p_uncond) {
    lc_ctx *ctx = lc_diffusion_ctx(f->m);
    lc_dif_net net = lc_diffusion_net(f->m);
    int64_t ids[N];
    float scaled[N * P];
    for (int i = 0; i < N; i++)
        ids[i] = i;
    for (int i = 0; i < N * P; i++)
        scaled[i] = 2 * f->data.images[i] - 1;
    lc_step_begin(ctx);
    int prev = lc_set_grad_enabled(ctx, 0);
    lc_tensor *data, *l;
    int64_t shape[2] = {N, P};
    assert_ok(lc_tensor_from_host(ctx, &data, scaled, 2, shape));
    assert_ok(lc_dif_loss(ctx, &l, lc_diffusion_schedule(f->m), &net, data, ids, labels, N,
                          p_uncond, 3, 0));
    float v;
    assert_ok(lc_tensor_to_host(ctx, &v, l));
    lc_set_grad_enabled(ctx, prev);
    return v;
}

static double grad_norm(fixture *f, const char *name) {
    lc_params *p = lc_diffusion_params(f->m);
    const lc_param_info *info = lc_params_find(p, name);
    assert_non_null(info);
    float *g = malloc(info->numel * sizeof *g);
    assert_ok(
        lc_read(g_dev, g, p->grad, info->offset * sizeof(float), info->numel * sizeof(float)));
    double s = 0;
    for (size_t i = 0; i < info->numel; i++)
        s += (double)g[i] * g[i];
    free(g);
    return sqrt(s);
}

static void test_caption_reaches_the_unet(void **state) {
    (void)state;
    fixture f;
    make(&f, LC_DIF_PRED_EPS, 5, false);
    float x[2 * P], e_red[2 * P], e_blue[2 * P], e_none[2 * P], e_prompt[2 * P];
    for (int i = 0; i < 2 * P; i++)
        x[i] = (float)sin(0.37 * i); // any x_t
    int32_t red[2] = {0, 0}, blue[2] = {1, 1}, none[2] = {N, N};
    predict(&f, e_red, x, red);
    predict(&f, e_blue, x, blue);
    predict(&f, e_none, x, NULL);
    print_message("max |eps(red) - eps(blue)| %.3g, |eps(red) - eps(no caption)| %.3g\n",
                  max_diff(e_red, e_blue, 2 * P), max_diff(e_red, e_none, 2 * P));
    assert_true(max_diff(e_red, e_blue, 2 * P) > 1e-3);
    assert_true(max_diff(e_red, e_none, 2 * P) > 1e-3);
    assert_true(max_diff(e_blue, e_none, 2 * P) > 1e-3);
    predict(&f, e_prompt, x, none); // the table's last row is the empty caption
    assert_true(max_diff(e_prompt, e_none, 2 * P) < 1e-6);

    // classifier-free guidance: a dropped caption is the empty caption (the same model with
    // every item captioned "" has the same loss as this one with every caption dropped)
    int32_t own[N];
    for (int i = 0; i < N; i++)
        own[i] = i;
    fixture blank;
    make(&blank, LC_DIF_PRED_EPS, 5, true);
    float dropped = loss_of(&f, own, 1.0), unconditional = loss_of(&blank, own, 0.0),
          conditional = loss_of(&f, own, 0.0);
    print_message("loss: captions dropped %.6f, empty captions %.6f, own captions %.6f\n", dropped,
                  unconditional, conditional);
    assert_float_equal(dropped, unconditional, 1e-5 * unconditional);
    assert_true(fabsf(conditional - unconditional) > 1e-5f * unconditional);
    drop(&blank);

    // the gradient of the loss reaches the text encoder and its projection
    lc_ctx *ctx = lc_diffusion_ctx(f.m);
    lc_dif_net net = lc_diffusion_net(f.m);
    int64_t ids[N];
    for (int i = 0; i < N; i++)
        ids[i] = i;
    lc_step_begin(ctx);
    lc_set_grad_enabled(ctx, 1);
    lc_set_training(ctx, 1);
    float scaled[N * P];
    for (int i = 0; i < N * P; i++)
        scaled[i] = 2 * f.data.images[i] - 1;
    lc_tensor *data, *l;
    assert_ok(lc_tensor_from_host(ctx, &data, scaled, 2, (int64_t[]){N, P}));
    assert_ok(lc_dif_loss(ctx, &l, lc_diffusion_schedule(f.m), &net, data, ids, own, N, 0.0, 3, 0));
    assert_ok(lc_backward(ctx, l));
    double g_tok = grad_norm(&f, "text.token_embedding.weight"),
           g_attn = grad_norm(&f, "text.blocks.0.attn.in_proj_weight"),
           g_proj = grad_norm(&f, "text_proj.weight");
    print_message("gradient norms: token embedding %.3g, attention %.3g, text_proj %.3g\n", g_tok,
                  g_attn, g_proj);
    assert_true(g_tok > 0 && g_attn > 0 && g_proj > 0 && isfinite(g_tok + g_attn + g_proj));

    // a prompt is tokenised as the training caption was: the same prediction
    const char *prompts[2] = {"a small red square", "A  Small, RED square!"};
    for (int k = 0; k < 2; k++) {
        assert_ok(lc_diffusion_set_prompts(f.m, &prompts[k], 1, NULL));
        predict(&f, e_prompt, x, red); // condition 0: the prompt
        assert_true(max_diff(e_prompt, e_red, 2 * P) < 1e-5);
    }
    drop(&f);
}

// Trains on the two captioned colours; samples of each prompt take its colour.
static void learns_colours(lc_dif_target target) {
    fixture f;
    make(&f, target, 9, false);
    lc_train_model tm;
    assert_ok(lc_diffusion_train_model(&tm, f.m));
    lc_train_options o;
    lc_train_options_default(&o);
    o.iters = 150;
    o.batch = 16;
    o.lr = 3e-3;
    o.ema = 0;
    lc_train_result r;
    assert_ok(lc_train(&r, g_dev, &tm, &o, NULL, NULL));
    enum { NS = 8 };
    float x[NS * P];
    for (int k = 0; k < 2; k++) {
        assert_ok(lc_diffusion_set_prompts(f.m, &CAPTIONS[k], 1, NULL));
        lc_dif_sample_options so;
        lc_dif_sample_options_default(&so);
        so.steps = 20;
        so.cls = 0;
        so.seed = 1;
        assert_ok(lc_diffusion_sample(f.m, x, NS, &so));
        double mean[C] = {0};
        for (int i = 0; i < NS * P; i++) {
            assert_true(x[i] >= 0.0f && x[i] <= 1.0f); // back in data space
            mean[(i % P) / (S * S)] += x[i] / (NS * S * S);
        }
        print_message("%s, loss %.4f: \"%s\" -> mean R %.2f G %.2f B %.2f\n",
                      target == LC_DIF_PRED_V ? "v" : "eps", r.loss, CAPTIONS[k], mean[0], mean[1],
                      mean[2]);
        int want = k ? 2 : 0, other = k ? 0 : 2;
        assert_true(mean[want] > 0.6 && mean[other] < 0.4 && mean[1] < 0.4);
    }
    drop(&f);
}

static void test_learns_two_colours_v(void **state) {
    (void)state;
    learns_colours(LC_DIF_PRED_V);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_caption_reaches_the_unet),
        cmocka_unit_test(test_learns_two_colours_v),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
