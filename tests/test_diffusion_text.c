// Text-conditioned diffusion (src/models/diffusion_text.c): a tiny U-Net conditioned on
// captions through the shared text encoder learns two captioned patterns (the loss falls and
// samples follow the prompt), the same prompt and seed give the same image, and a prompt
// with no known word is rejected.
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "test_util.h"
#include "latentcl/diffusion.h"

static lc_device *g_dev;

static int setup(void **state) { return test_open_device(&g_dev, NULL); }

static int teardown(void **state) { return test_close_device(g_dev, NULL); }

enum { N = 32, P = 64 };
static const char *const CAPTIONS[2] = {"a red stripe on top", "a blue stripe at the left"};

// pattern k of an 8 x 8 image: the top half (k = 0) or the left half (k = 1) lit
static float pattern(int k, int j) { return (float)((k ? j % 8 : j / 8) < 4); }

static lc_diffusion *tiny_text_model(lc_vocab *v) {
    const char *caps[2] = {CAPTIONS[0], CAPTIONS[1]};
    assert_ok(lc_vocab_build(v, caps, 2, 1, 0));
    lc_diffusion_config c;
    lc_diffusion_config_default(&c, LC_DIF_NET_UNET, true);
    c.height = c.width = 8;
    c.widths[0] = 8, c.widths[1] = 16, c.widths[2] = 16;
    c.time_dim = 8;
    c.T = 100;
    // x_T is pure noise: an eps target learns the caption too slowly (test_diffusion_unet.c)
    c.target = LC_DIF_PRED_V;
    c.text_cond = true;
    lc_text_config_default(&c.text, v->size);
    c.text.dim = 16, c.text.layers = 1, c.text.heads = 2, c.text.max_len = 8;
    lc_diffusion *m;
    assert_int_equal(lc_diffusion_new(&m, g_dev, &c, 1), LC_ERR_INVALID_ARG); // needs the vocab
    assert_ok(lc_diffusion_new_text(&m, g_dev, &c, v, 5));
    return m;
}

static void sample_prompt(lc_diffusion *m, float *x, int n, const char *prompt, uint64_t seed) {
    assert_ok(lc_diffusion_set_prompts(m, &prompt, 1, NULL));
    lc_dif_sample_options so;
    lc_dif_sample_options_default(&so);
    so.steps = 20;
    so.cls = 0; // condition 0: the prompt
    so.guidance = 2.0;
    so.seed = seed;
    assert_ok(lc_diffusion_sample(m, x, n, &so));
}

static void test_text_diffusion(void **state) {
    (void)state;
    lc_vocab v = {0};
    lc_diffusion *m = tiny_text_model(&v);
    assert_non_null(lc_diffusion_vocab(m));
    lc_dataset d = {0};
    d.n = N;
    d.channels = 1;
    d.height = d.width = 8;
    d.images = malloc(N * P * sizeof(float));
    d.captions = malloc(N * sizeof(char *));
    for (int i = 0; i < N; i++) {
        d.captions[i] = (char *)CAPTIONS[i % 2];
        for (int j = 0; j < P; j++)
            d.images[i * P + j] = pattern(i % 2, j);
    }
    assert_ok(lc_diffusion_set_images(m, &d));
    lc_train_model tm;
    assert_ok(lc_diffusion_train_model(&tm, m));
    lc_train_options o;
    lc_train_options_default(&o);
    o.iters = 200;
    o.batch = 16;
    o.lr = 3e-3;
    lc_train_result r;
    assert_ok(lc_train(&r, g_dev, &tm, &o, NULL, NULL));
    print_message("text-conditioned U-Net: loss %.4f after 200 steps\n", r.loss);
    assert_true(isfinite(r.loss) && r.loss < 0.5);
    // the caption is used: the loss with each item's own caption is lower than with the other
    {
        lc_ctx *ctx = lc_diffusion_ctx(m);
        lc_dif_net net = lc_diffusion_net(m);
        double loss[2];
        int64_t ids[N];
        int32_t own[N], swapped[N];
        float *scaled = malloc(N * P * sizeof *scaled);
        for (int i = 0; i < N * P; i++)
            scaled[i] = 2 * d.images[i] - 1;
        for (int i = 0; i < N; i++)
            ids[i] = i, own[i] = i, swapped[i] = i ^ 1;
        for (int other = 0; other < 2; other++) {
            float total = 0;
            for (int step = 0; step < 8; step++) {
                lc_step_begin(ctx);
                int prev = lc_set_grad_enabled(ctx, 0);
                lc_tensor *data, *l1;
                int64_t shape[2] = {N, P};
                assert_ok(lc_tensor_from_host(ctx, &data, scaled, 2, shape));
                assert_ok(lc_dif_loss(ctx, &l1, lc_diffusion_schedule(m), &net, data, ids,
                                      other ? swapped : own, N, 0.0, 99, step));
                float l;
                assert_ok(lc_tensor_to_host(ctx, &l, l1));
                total += l;
                lc_set_grad_enabled(ctx, prev);
            }
            loss[other] = total / 8;
        }
        print_message("denoising loss with each item's own caption %.4f, with the other's %.4f\n",
                      loss[0], loss[1]);
        assert_true(loss[0] < 0.95 * loss[1]); // the caption tells the image
        free(scaled);
    }
    // samples follow the prompt: nearer its pattern than the other's
    enum { NS = 8 };
    float x[NS * P], again[NS * P];
    int right = 0;
    for (int k = 0; k < 2; k++) {
        sample_prompt(m, x, NS, CAPTIONS[k], 7);
        for (int i = 0; i < NS; i++) {
            double dist[2] = {0, 0};
            for (int q = 0; q < 2; q++)
                for (int j = 0; j < P; j++)
                    dist[q] += pow(x[i * P + j] - pattern(q, j), 2);
            right += dist[k] < dist[1 - k];
        }
    }
    print_message("samples nearer their prompt's pattern: %d of %d\n", right, 2 * NS);
    assert_true(right >= 2 * NS - 4);
    // the same prompt and seed: the same images; another seed: others
    sample_prompt(m, x, NS, CAPTIONS[0], 11);
    sample_prompt(m, again, NS, CAPTIONS[0], 11);
    assert_memory_equal(x, again, sizeof x);
    sample_prompt(m, again, NS, CAPTIONS[0], 12);
    assert_memory_not_equal(x, again, sizeof x);
    // unknown words are <unk> (counted); a prompt with no known word is an error
    const char *odd = "a red zebra", *none = "zebra quux";
    int64_t unknown = 0;
    assert_ok(lc_diffusion_set_prompts(m, &odd, 1, &unknown));
    assert_int_equal(unknown, 1);
    assert_int_equal(lc_diffusion_set_prompts(m, &none, 1, NULL), LC_ERR_INVALID_ARG);
    assert_non_null(strstr(lc_last_error(), "zebra quux"));
    free(d.images);
    free(d.captions);
    lc_diffusion_free(m);
    lc_vocab_free(&v);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_text_diffusion),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
