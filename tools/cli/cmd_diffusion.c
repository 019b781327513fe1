// latentcl train diffusion --data fashion-mnist|shapes[-one|-two]|DIR|moons|swissroll|FILE.csv
//     --model unet|unet-tiny|mlp --noise-schedule linear|cosine --cond none|class|text
//     [training options] --out RUN
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "cmd_diffusion.h"
#include "latentcl/diffusion.h"
#include "latentcl/points.h"

static bool ends_with(const char *s, const char *tail) {
    size_t a = strlen(s), b = strlen(tail);
    return a >= b && !strcmp(s + a - b, tail);
}

static bool named(const char *spec, const char *name) {
    size_t n = strlen(name);
    return !strncmp(spec, name, n) && (spec[n] == '\0' || spec[n] == ':');
}

bool dif_cli_is_points(const char *spec) {
    return named(spec, "moons") || named(spec, "swissroll") || ends_with(spec, ".csv") ||
           ends_with(spec, ".CSV");
}

int dif_cli_points(float **xy, int32_t **labels, int64_t *n, char *canonical, size_t cap,
                   const char *spec, long n_default, double noise, long seed, long offset_seed) {
    *xy = NULL;
    *labels = NULL;
    *n = 0;
    bool moons = named(spec, "moons"), roll = named(spec, "swissroll");
    if (!moons && !roll) {
        lc_status s = lc_points_read_csv(xy, n, spec);
        if (s != LC_OK) return cli_report(s);
        if (canonical) snprintf(canonical, cap, "%s", spec);
        return 0;
    }
    const char *colon = strchr(spec, ':');
    long count = n_default;
    if (colon && sscanf(colon + 1, "%ld:%lf:%ld", &count, &noise, &seed) != 3)
        return cli_error("--data %s: expected NAME or NAME:N:NOISE:SEED", spec);
    if (count < 2 || count > 10000000 || !(noise >= 0 && noise < 100))
        return cli_error("--data %s: %ld points (2..10000000), noise %g (0..100)", spec, count,
                         noise);
    *xy = malloc((size_t)count * 2 * sizeof **xy);
    if (moons) *labels = malloc((size_t)count * sizeof **labels);
    if (!*xy || (moons && !*labels)) return cli_error("out of memory");
    uint64_t sd = (uint64_t)seed + (uint64_t)offset_seed;
    if (moons)
        lc_points_moons(*xy, *labels, count, noise, sd);
    else
        lc_points_swissroll(*xy, count, noise, sd);
    *n = count;
    if (canonical)
        snprintf(canonical, cap, "%s:%ld:%g:%ld", moons ? "moons" : "swissroll", count, noise,
                 seed);
    return 0;
}

bool dif_cli_given(int argc, char **argv, const char *opt) {
    for (int i = 0; i < argc; i++)
        if (!strcmp(argv[i], opt)) return true;
    return false;
}

static int parse_widths(int w[3], const char *s) {
    char tail;
    return sscanf(s, "%d,%d,%d%c", &w[0], &w[1], &w[2], &tail) == 3 ? 0 : 1;
}

int cmd_train_diffusion(int argc, char **argv) {
    const char *verb = "train diffusion";
    lc_train_options opts;
    lc_train_options_default(&opts);
    opts.ema = 0.999;
    const char *data = "fashion-mnist", *model = NULL, *schedule = "linear", *cond = "none",
               *pred = "eps", *widths = NULL;
    long T = 1000, sample_every = 0, points = 10000, data_seed = 0, hidden = 128, depth = 0;
    long count = 0, text_dim = 128, text_layers = 2, text_heads = 4, max_len = 16;
    double point_noise = -1;
    const cli_opt extra[] = {
        {"--data", OPT_STRING, &data,
         "fashion-mnist | mnist | shapes | shapes-one | shapes-two | DIR (images; PNGs + "
         "captions.tsv for --cond text), or "
         "moons | swissroll | FILE.csv (2-D points)",
         "SRC"},
        {"--model", OPT_STRING, &model,
         "unet, unet-tiny (16/32/64) or mlp (points); default: mlp for points, unet-tiny on a "
         "CPU device, else unet",
         "NET"},
        {"--noise-schedule", OPT_STRING, &schedule,
         "linear (1e-4..0.02 at T = 1000, scaled by 1000/T) or cosine", "S"},
        {"--T", OPT_INT, &T, "diffusion steps", "T"},
        {"--cond", OPT_STRING, &cond,
         "none, class, or text (captions; label or caption dropped 10% for guidance)", "C"},
        {"--count", OPT_INT, &count, "shapes: training items (0: 60000)", "N"},
        {"--text-dim", OPT_INT, &text_dim, "--cond text: caption encoder width", "N"},
        {"--text-layers", OPT_INT, &text_layers, "--cond text: encoder blocks", "N"},
        {"--text-heads", OPT_INT, &text_heads, "--cond text: attention heads", "N"},
        {"--max-len", OPT_INT, &max_len, "--cond text: caption tokens with <bos>, <eos>", "N"},
        {"--prediction", OPT_STRING, &pred,
         "the network predicts eps or v (default: eps; v for --cond text)", "P"},
        {"--sample-every", OPT_INT, &sample_every,
         "write RUN/samples_stepN.png every N steps (raw weights; 0: off)", "N"},
        {"--hidden", OPT_INT, &hidden, "mlp width", "H"},
        {"--depth", OPT_INT, &depth, "mlp layers (3) / unet res-blocks per level (2; tiny 1)", "N"},
        {"--widths", OPT_STRING, &widths, "unet channels per level (32,64,128)", "A,B,C"},
        {"--points", OPT_INT, &points, "moons/swissroll: points generated", "N"},
        {"--point-noise", OPT_FLOAT, &point_noise, "moons/swissroll: noise std (0.05 / 0.02)", "S"},
        {"--data-seed", OPT_INT, &data_seed, "moons/swissroll: generator seed", "N"},
        {NULL}};
    const char *usage =
        "[--data SRC] [--model unet|unet-tiny|mlp] "
        "[--noise-schedule linear|cosine] [--cond none|class|text] [options] --out RUN";
    const char *desc =
        "Train a denoising diffusion model: x_t = sqrt(abar_t) x_0 + sqrt(1 - abar_t) eps, the "
        "network learns to predict eps (mean squared error). RUN gets samples.png (EMA weights) "
        "each epoch, metrics, curves.png and a checkpoint.";
    lc_cfg_strings keep = {0};
    int rc = 0, npos = 0;
    if (cli_train_parse(verb, usage, desc, argc, argv, &opts, extra, &keep, NULL, 0, &npos, &rc)) {
        lc_cfg_strings_free(&keep);
        return rc;
    }
    bool pts = dif_cli_is_points(data);
    if (!model) model = pts ? "mlp" : NULL;
    lc_dif_schedule_kind sk = LC_DIF_LINEAR;
    if (lc_dif_schedule_parse(&sk, schedule) != LC_OK ||
        (strcmp(cond, "none") && strcmp(cond, "class") && strcmp(cond, "text")) ||
        (strcmp(pred, "eps") && strcmp(pred, "v")) ||
        (model && strcmp(model, "mlp") && strcmp(model, "unet") && strcmp(model, "unet-tiny"))) {
        fprintf(stderr,
                "latentcl %s: --model unet|unet-tiny|mlp, --noise-schedule linear|cosine, "
                "--cond none|class|text, --prediction eps|v\n",
                verb);
        lc_cfg_strings_free(&keep);
        return 2;
    }
    bool text = !strcmp(cond, "text");
    // Text models predict v: with eps, x_0 = (x_t - sqrt(1 - abar) eps) / sqrt(abar) multiplies
    // the network's error by up to 156 near t = T, and on shapes (flat colour on black) the
    // DDIM path of a young model ends in saturated colour fields; with v the start is -x_0,
    // which the net learns at once (tests/test_diffusion_text_path.c; BENCHMARKS.md).
    if (text && !dif_cli_given(argc, argv, "--prediction") &&
        !dif_cli_given(argc, argv, "--config"))
        pred = "v";
    if (count < 0 || count > 10000000 || text_dim < 1 || text_dim > 4096 || text_layers < 1 ||
        text_heads < 1 || max_len < 3 || max_len > 1024) {
        lc_cfg_strings_free(&keep);
        return cli_error("--count 0..10000000, --text-dim 1..4096, --text-layers and --text-heads "
                         ">= 1, --max-len 3..1024"),
               2;
    }
    if (text && pts) {
        lc_cfg_strings_free(&keep);
        return cli_error("--cond text needs captioned images (--data shapes or a folder with "
                         "captions.tsv), not 2-D points");
    }
    if (model && pts != !strcmp(model, "mlp")) {
        lc_cfg_strings_free(&keep);
        return cli_error("--model %s does not fit --data %s (mlp: 2-D points; unet: images)", model,
                         data);
    }
    // 2-D toys: defaults that measure well on moons (MMD 0.063 vs a floor of 0.030)
    if (pts && !dif_cli_given(argc, argv, "--config")) {
        if (!dif_cli_given(argc, argv, "--epochs") && !dif_cli_given(argc, argv, "--iters"))
            opts.iters = 3000;
        if (!dif_cli_given(argc, argv, "--lr")) opts.lr = 3e-3;
        if (!dif_cli_given(argc, argv, "--batch")) opts.batch = 256;
        if (!dif_cli_given(argc, argv, "--ema")) opts.ema = 0.995;
        if (!dif_cli_given(argc, argv, "--lr-schedule")) opts.lr_schedule = "cosine";
    }
    lc_device *dev = NULL;
    lc_diffusion *m = NULL;
    lc_data images = {0};
    float *xy = NULL;
    int32_t *labels = NULL;
    int64_t n = 0;
    char canonical[512] = "";
    if (pts)
        rc = dif_cli_points(&xy, &labels, &n, canonical, sizeof canonical, data, points,
                            point_noise >= 0       ? point_noise
                            : named(data, "moons") ? 0.05
                                                   : 0.02,
                            data_seed, 0);
    else {
        lc_data_options o = {0};
        o.split = LC_SPLIT_TRAIN;
        o.shapes_count = count;
        lc_status s = lc_data_open(&images, data, &o);
        if (s != LC_OK)
            rc = cli_report(s);
        else if (images.kind != LC_DATA_IMAGES)
            rc = cli_error("--data %s: not images or 2-D points", data);
        else if (text && !images.images.captions)
            rc = cli_error("--cond text: --data %s has no captions (a folder needs captions.tsv)",
                           data);
        snprintf(canonical, sizeof canonical, "%s", data);
    }
    if (!rc) rc = cli_open_device(&dev);
    lc_diffusion_config cfg;
    if (!rc) {
        bool tiny = model ? !strcmp(model, "unet-tiny") : lc_device_get_info(dev)->is_cpu;
        lc_diffusion_config_default(&cfg, pts ? LC_DIF_NET_MLP : LC_DIF_NET_UNET, tiny);
        cfg.T = (int)T; // cli_parse keeps OPT_INT values in int range; the config check names it
        cfg.schedule = sk;
        cfg.target = strcmp(pred, "v") ? LC_DIF_PRED_EPS : LC_DIF_PRED_V;
        snprintf(cfg.data, sizeof cfg.data, "%s", canonical);
        if (pts) {
            cfg.hidden = (int)hidden;
            if (depth) cfg.depth = (int)depth;
        } else {
            cfg.channels = images.images.channels;
            cfg.height = images.images.height;
            cfg.width = images.images.width;
            if (depth) cfg.depth = (int)depth;
            if (widths && parse_widths(cfg.widths, widths)) {
                rc = cli_error("--widths %s: three numbers A,B,C", widths);
            }
            cfg.time_dim = cfg.widths[0];
        }
        if (!strcmp(cond, "class")) {
            int K = pts ? (labels ? 2 : 0) : images.images.n_classes;
            if (K < 1 && !rc) rc = cli_error("--cond class: --data %s has no labels", data);
            cfg.n_classes = K;
        }
    }
    lc_vocab vocab = {0};
    lc_status s = LC_OK;
    if (!rc && text) { // the vocabulary of the training captions, saved in the checkpoint
        s = lc_vocab_build(&vocab, (const char *const *)images.images.captions, images.images.n, 1,
                           0);
        cfg.text_cond = true;
        lc_text_config_default(&cfg.text, vocab.size);
        cfg.text.dim = text_dim, cfg.text.layers = (int)text_layers;
        cfg.text.heads = (int)text_heads, cfg.text.max_len = max_len;
        if (s == LC_OK) s = lc_diffusion_new_text(&m, dev, &cfg, &vocab, (uint64_t)opts.seed);
    } else if (!rc)
        s = lc_diffusion_new(&m, dev, &cfg, (uint64_t)opts.seed);
    if (!rc && s == LC_OK)
        s = pts ? lc_diffusion_set_points(m, xy, cfg.n_classes ? labels : NULL, n)
                : lc_diffusion_set_images(m, &images.images);
    lc_train_model tm;
    if (!rc && s == LC_OK) s = lc_diffusion_train_model(&tm, m);
    if (!rc && s == LC_OK) {
        lc_diffusion_set_sample_every(m, sample_every, opts.out);
        rc = cli_train_run(verb, dev, &tm, &opts);
        if (!rc && opts.out && !g_cli.json)
            printf("pictures: %s/samples.png, %s/curves.png\n", opts.out, opts.out);
    } else if (!rc) {
        rc = cli_report(s);
    }
    lc_diffusion_free(m);
    lc_vocab_free(&vocab);
    cli_close_device(dev);
    if (!pts) lc_data_free(&images);
    free(xy);
    free(labels);
    lc_cfg_strings_free(&keep);
    return rc;
}
