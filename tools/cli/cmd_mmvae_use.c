// The verbs that use a trained multimodal VAE:
//   latentcl caption RUN --image x.png                      prints the caption
//   latentcl caption RUN --data SRC [--n 16] --out grid.png images with their captions
//   latentcl generate RUN --prompt "a small red circle" [--n 16] --out x.png
//   latentcl eval RUN [--judge CLASSIFIER_RUN] [--json]     (dispatched from cmd_eval.c)
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "cli_run.h"
#include "cmd_mmvae.h"
#include "prompt_check.h"
#include "latentcl/image.h"
#include "latentcl/mmvae.h"
#include "latentcl/shapes_judge.h"

static struct {
    const char *image, *data, *out, *prompt, *judge, *weights, *which;
    long n, seed, cols;
    bool mean, t2i_sample;
} o;

static void defaults(void) {
    memset(&o, 0, sizeof o);
    o.seed = 0;
}

#define OPT_WEIGHTS                                                                                \
    {"--weights", OPT_STRING, &o.weights, "raw, or ema (the EMA of the weights)", "W"}, {          \
        "--checkpoint", OPT_STRING, &o.which, "last or best (runs with --val-split)", "C"          \
    }

// Parses argv (argv[1] = RUN), opens the device and loads the model; 0 to go on, else *rc.
static int start(const char *verb, const char *usage, const char *desc, int argc, char **argv,
                 const cli_opt *opts, lc_device **dev, lc_mmvae **m, int *rc) {
    const char *run = NULL, *prefix;
    *dev = NULL;
    *m = NULL;
    if (cli_parse_one(verb, usage, desc, argc, argv, opts, "RUN (a run folder or checkpoint)", &run,
                      rc))
        return 1;
    char path[4096];
    if ((*rc = cli_weights_prefix(&prefix, o.weights))) return 1;
    if ((*rc = cli_run_checkpoint(path, sizeof path, run, o.which))) return 1;
    if ((*rc = cli_open_device(dev))) return 1;
    lc_status s = lc_mmvae_load(m, *dev, path, *prefix != 0);
    if (s != LC_OK) {
        *rc = cli_report(s);
        cli_close_device(*dev);
        *dev = NULL;
        return 1;
    }
    return 0;
}

static int finish(lc_device *dev, lc_mmvae *m, int rc) {
    lc_mmvae_free(m);
    cli_close_device(dev);
    return rc;
}

static void json_string(const char *s) {
    putchar('"');
    for (; *s; s++) {
        if (*s == '"' || *s == '\\')
            printf("\\%c", *s);
        else if ((unsigned char)*s < 0x20)
            printf("\\u%04x", *s);
        else
            putchar(*s);
    }
    putchar('"');
}

// A PNG as (C, H, W) floats in [0, 1], checked against the model's image shape.
static int read_image(float **x, const char *path, const lc_mmvae_config *c) {
    lc_image img;
    lc_status s = lc_png_read(&img, path);
    if (s != LC_OK) return cli_report(s);
    int rc = 0;
    if (img.width != c->width || img.height != c->height || img.channels != c->channels)
        rc = cli_error("%s: the image is %d x %d with %d channel%s, the model takes %d x %d with "
                       "%d channel%s",
                       path, img.width, img.height, img.channels, img.channels == 1 ? "" : "s",
                       c->width, c->height, c->channels, c->channels == 1 ? "" : "s");
    size_t plane = (size_t)img.width * (size_t)img.height;
    *x = rc ? NULL : malloc(plane * (size_t)img.channels * sizeof **x);
    if (!rc && !*x) rc = cli_error("out of memory");
    for (size_t p = 0; !rc && p < plane; p++)
        for (int ch = 0; ch < img.channels; ch++)
            (*x)[(size_t)ch * plane + p] =
                img.pixels[p * (size_t)img.channels + (size_t)ch] / 255.0f;
    lc_image_free(&img);
    return rc;
}

// ---- caption --------------------------------------------------------------------------------

int cmd_caption(int argc, char **argv) {
    defaults();
    o.n = 16;
    const cli_opt opts[] = {
        {"--image", OPT_STRING, &o.image, "a PNG to caption (prints the caption)", "FILE"},
        {"--data", OPT_STRING, &o.data,
         "or caption the first --n test images of SRC (shapes, shapes-one, fashion-mnist, DIR)",
         "SRC"},
        {"--n", OPT_INT, &o.n, "images to caption with --data", "N"},
        {"--cols", OPT_INT, &o.cols, "images per row of the grid (0: 4)", "C"},
        {"--out", OPT_STRING, &o.out, "with --data: PNG grid of the images and their captions",
         "FILE"},
        OPT_WEIGHTS,
        CLI_COMMON_OPTS,
        {NULL}};
    const char *usage = "RUN --image x.png | RUN --data SRC [--n 16] --out grid.png";
    const char *desc = "Caption images with a trained mmvae: z = the mean of q(z|x), then the text "
                       "decoder's greedy caption.";
    lc_device *dev;
    lc_mmvae *m;
    int rc;
    // usage errors before the model is loaded
    if (start("caption", usage, desc, argc, argv, opts, &dev, &m, &rc)) return rc;
    if (!o.image == !o.data) {
        fprintf(stderr, "latentcl caption: give either --image FILE or --data SRC --out FILE\n");
        return finish(dev, m, 2);
    }
    if (o.data && !o.out) {
        fprintf(stderr, "latentcl caption: --data needs --out FILE (the captioned grid)\n");
        return finish(dev, m, 2);
    }
    if (o.data && (o.n < 1 || o.n > 4096))
        return finish(dev, m, cli_error("--n %ld out of range (1..4096)", o.n));
    const lc_mmvae_config *c = lc_mmvae_get_config(m);
    if (o.image) {
        float *x = NULL;
        char *cap = NULL;
        if ((rc = read_image(&x, o.image, c))) return finish(dev, m, rc);
        lc_status s = lc_mmvae_caption(m, &cap, x, 1);
        free(x);
        if (s != LC_OK) return finish(dev, m, cli_report(s));
        if (g_cli.json) {
            printf("{\"image\":");
            json_string(o.image);
            printf(",\"caption\":");
            json_string(cap);
            printf("}\n");
        } else {
            printf("%s\n", cap);
        }
        free(cap);
        return finish(dev, m, 0);
    }
    lc_dataset d;
    if ((rc = mmvae_cli_data(&d, NULL, o.data, LC_SPLIT_TEST, o.n, true)))
        return finish(dev, m, rc);
    if (d.channels != c->channels || d.height != c->height || d.width != c->width) {
        rc = cli_error("%s: images are %d x %d x %d, the model takes %d x %d x %d", o.data,
                       d.channels, d.height, d.width, c->channels, c->height, c->width);
        lc_dataset_free(&d);
        return finish(dev, m, rc);
    }
    int n = (int)(d.n < o.n ? d.n : o.n);
    char **caps = calloc((size_t)n, sizeof *caps);
    lc_status s = caps ? lc_mmvae_caption(m, caps, d.images, n) : LC_ERR_NOMEM;
    if (s == LC_OK)
        s = lc_mmvae_write_captioned(o.out, d.images, caps, n, d.channels, d.height, d.width,
                                     o.cols > 0 ? (int)o.cols : 4);
    if (s == LC_OK && g_cli.json) {
        printf("{\"out\":");
        json_string(o.out);
        printf(",\"n\":%d,\"captions\":[", n);
        for (int i = 0; i < n; i++) {
            if (i) putchar(',');
            json_string(caps[i]);
        }
        printf("]}\n");
    } else if (s == LC_OK) {
        for (int i = 0; i < n; i++)
            printf("%d\t%s\n", i, caps[i]);
        printf("wrote %d captioned images to %s\n", n, o.out);
    }
    lc_mmvae_captions_free(caps, caps ? n : 0);
    lc_dataset_free(&d);
    if (s != LC_OK)
        return finish(dev, m, s == LC_ERR_NOMEM ? cli_error("out of memory") : cli_report(s));
    return finish(dev, m, 0);
}

// ---- generate ------------------------------------------------------------------------------

int cmd_generate(int argc, char **argv) {
    defaults();
    o.n = 16;
    const cli_opt opts[] = {
        {"--prompt", OPT_STRING, &o.prompt, "the caption to draw", "TEXT"},
        {"--n", OPT_INT, &o.n, "images to draw", "N"},
        {"--seed", OPT_INT, &o.seed, "seed of the draws z ~ q(z|y)", "S"},
        {"--mean", OPT_FLAG, &o.mean, "decode the mean of q(z|y) (all images equal)", NULL},
        {"--cols", OPT_INT, &o.cols, "images per row (0: about square)", "C"},
        {"--out", OPT_STRING, &o.out, "PNG grid to write", "FILE"},
        OPT_WEIGHTS,
        CLI_COMMON_OPTS,
        {NULL}};
    lc_device *dev;
    lc_mmvae *m;
    int rc;
    if (start("generate", "RUN --prompt \"a small red circle\" [--n 16] --out x.png",
              "Text to image with a trained mmvae: z ~ q(z|y) of the prompt (the text expert "
              "times the prior), decoded by the image decoder. Unknown words are read as <unk> "
              "(with a warning); a prompt with no known word is an error.",
              argc, argv, opts, &dev, &m, &rc))
        return rc;
    if (!o.prompt || !o.out) {
        fprintf(stderr, "latentcl generate: --prompt TEXT and --out FILE are required\n");
        return finish(dev, m, 2);
    }
    if (o.n < 1 || o.n > 4096)
        return finish(dev, m, cli_error("--n %ld out of range (1..4096)", o.n));
    if (o.seed < 0) return finish(dev, m, cli_error("--seed must be >= 0"));
    if (o.cols < 0) return finish(dev, m, cli_error("--cols %ld: 0 or more", o.cols));
    if (cli_check_out(o.out)) return finish(dev, m, 1);
    lc_status checked = cli_check_prompt(lc_mmvae_vocab(m), o.prompt, "--prompt");
    if (checked != LC_OK) return finish(dev, m, cli_report(checked));
    const lc_mmvae_config *c = lc_mmvae_get_config(m);
    float *x = malloc((size_t)o.n * (size_t)lc_mmvae_image_size(m) * sizeof *x);
    int64_t unknown = 0;
    lc_status s = x ? lc_mmvae_generate(m, x, o.prompt, o.n, !o.mean, (uint64_t)o.seed, &unknown)
                    : lc_fail(LC_ERR_NOMEM, "out of memory");
    if (s == LC_OK)
        s = lc_grid_write(o.out, x, (int)o.n, c->channels, c->height, c->width, (int)o.cols, 2,
                          NULL);
    free(x);
    if (s != LC_OK) return finish(dev, m, cli_report(s));
    if (g_cli.json) {
        printf("{\"out\":");
        json_string(o.out);
        printf(",\"n\":%ld,\"unknown_words\":%lld,\"seed\":%ld}\n", o.n, (long long)unknown,
               o.seed);
    } else {
        printf("wrote %ld images of \"%s\" to %s\n", o.n, o.prompt, o.out);
    }
    return finish(dev, m, 0);
}

// ---- eval ------------------------------------------------------------------------------------

int cmd_eval_mmvae(int argc, char **argv) {
    defaults();
    const cli_opt opts[] = {
        {"--data", OPT_STRING, &o.data, "test pairs (default: what the model trained on)", "SRC"},
        {"--n", OPT_INT, &o.n, "test pairs (0: shapes 1000, else all)", "N"},
        {"--judge", OPT_STRING, &o.judge,
         "a shapes judge run: also judge text-to-image (t2i_*) and reconstructions (recon_*)",
         "RUN"},
        {"--t2i-sample", OPT_FLAG, &o.t2i_sample,
         "judge images of one draw z ~ q(z|y) per caption, not of its mean", NULL},
        OPT_WEIGHTS,
        CLI_COMMON_OPTS,
        {NULL}};
    lc_device *dev;
    lc_mmvae *m;
    int rc;
    if (start("eval", "RUN [--judge SHAPES_CLASSIFIER_RUN] [--data SRC] [--n N] [--json]",
              "Test figures of an mmvae: caption_exact (greedy captions of the test images with "
              "every attribute right, checked against the shapes generator's attributes; other "
              "data: word for word), retrieval recall@1/5 image->text and text->image by L2 "
              "distance between posterior means (a hit when the retrieved caption is word for "
              "word the true one, so repeated captions do not count against a right answer), "
              "and with --judge the share of images generated from test captions whose every "
              "attribute the judge recognises (t2i_accuracy), and of the test images' "
              "reconstructions (recon_accuracy).",
              argc, argv, opts, &dev, &m, &rc))
        return rc;
    if (o.n < 0) return finish(dev, m, cli_error("--n must be >= 0"));
    const lc_mmvae_config *c = lc_mmvae_get_config(m);
    const char *spec = o.data ? o.data : c->data;
    if (!*spec) return finish(dev, m, cli_error("the model does not record its data: give --data"));
    lc_dataset d;
    lc_shapes_item *items = NULL;
    if ((rc = mmvae_cli_data(&d, &items, spec, LC_SPLIT_TEST, o.n, true)))
        return finish(dev, m, rc);
    char **made = NULL;
    lc_status s = LC_OK;
    if (d.channels != c->channels || d.height != c->height || d.width != c->width)
        s = lc_fail(LC_ERR_SHAPE, "%s: images are %d x %d x %d, the model takes %d x %d x %d", spec,
                    d.channels, d.height, d.width, c->channels, c->height, c->width);
    if (s == LC_OK && !d.captions) s = lc_mmvae_template_captions(&made, &d);
    cli_progress pr;
    cli_progress_begin(&pr, "eval");
    lc_mmvae_eval e;
    if (s == LC_OK)
        s = lc_mmvae_evaluate(m, &e, d.images, (const char *const *)(made ? made : d.captions),
                              items, d.n, cli_progress_report, &pr);
    cli_progress_end(&pr);
    // Text to image, judged: images from the mean of q(z|y) of every test caption; and the
    // reconstructions (from the mean of q(z|x)) against the same captions, which tells a
    // decoder that cannot draw the shapes from text that does not find them.
    lc_shapes_judgement jd = {0}, jr = {0};
    if (s == LC_OK && o.judge) {
        lc_shapes_judge *judge = NULL;
        float *gen = malloc((size_t)d.n * (size_t)lc_mmvae_image_size(m) * sizeof *gen);
        s = gen ? lc_shapes_judge_load(&judge, dev, o.judge)
                : lc_fail(LC_ERR_NOMEM, "out of memory");
        const char *const *caps = (const char *const *)(made ? made : d.captions);
        if (s == LC_OK) s = lc_mmvae_text_to_image(m, gen, caps, d.n, o.t2i_sample, 0);
        if (s == LC_OK)
            s = lc_shapes_judge_score(judge, &jd, gen, caps, d.n, c->channels, c->height, c->width);
        float *z = s == LC_OK ? malloc((size_t)(d.n * c->latent) * sizeof *z) : NULL;
        if (s == LC_OK && !z) s = lc_fail(LC_ERR_NOMEM, "out of memory");
        if (s == LC_OK) s = lc_mmvae_embed_images(m, z, d.images, d.n);
        if (s == LC_OK) s = lc_mmvae_decode_images(m, gen, z, d.n);
        if (s == LC_OK)
            s = lc_shapes_judge_score(judge, &jr, gen, caps, d.n, c->channels, c->height, c->width);
        free(z);
        lc_shapes_judge_free(judge);
        free(gen);
    }
    lc_mmvae_captions_free(made, made ? d.n : 0);
    lc_dataset_free(&d);
    free(items);
    if (s != LC_OK) return finish(dev, m, cli_report(s));
    if (g_cli.json) {
        printf("{\"caption_exact\":%.6f,\"recall_at_1_i2t\":%.6f,\"recall_at_5_i2t\":%.6f,"
               "\"recall_at_1_t2i\":%.6f,\"recall_at_5_t2i\":%.6f",
               e.caption_exact, e.recall_at_1_i2t, e.recall_at_5_i2t, e.recall_at_1_t2i,
               e.recall_at_5_t2i);
        if (o.judge)
            printf(",\"t2i_accuracy\":%.6f,\"t2i_kind\":%.6f,\"t2i_colour\":%.6f,"
                   "\"t2i_size\":%.6f,\"recon_accuracy\":%.6f,\"recon_kind\":%.6f",
                   jd.all, jd.kind, jd.colour, jd.size, jr.all, jr.kind);
        printf(",\"n\":%lld}\n", (long long)e.n);
    } else {
        printf("captions with every attribute right: %.2f%% of %lld test images\n",
               100 * e.caption_exact, (long long)e.n);
        printf("retrieval (a hit: the caption word for word): image->text recall@1 %.2f%% "
               "@5 %.2f%%, text->image recall@1 %.2f%% @5 %.2f%%\n",
               100 * e.recall_at_1_i2t, 100 * e.recall_at_5_i2t, 100 * e.recall_at_1_t2i,
               100 * e.recall_at_5_t2i);
        if (o.judge)
            printf("text to image (%s), judged: every requested attribute %.2f%% "
                   "(kind %.2f%%, colour %.2f%%, size %.2f%%)\n",
                   o.t2i_sample ? "one draw of q(z|y)" : "mean of q(z|y)", 100 * jd.all,
                   100 * jd.kind, 100 * jd.colour, 100 * jd.size);
        if (o.judge)
            printf("reconstructions (mean of q(z|x)), judged: every attribute %.2f%% (kind "
                   "%.2f%%)\n",
                   100 * jr.all, 100 * jr.kind);
    }
    return finish(dev, m, 0);
}
