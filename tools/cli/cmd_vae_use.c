// The verbs that use a trained AE/VAE:
//   latentcl sample RUN --n 64 [--seed S] --out x.png       (dispatched from cmd_sample.c)
//   latentcl reconstruct RUN [--n 32] --out x.png
//   latentcl interpolate RUN --from I --to J [--steps 10] --out x.png
//   latentcl encode RUN [--data SRC] [--split test] --out codes.tsv [--scatter x.png]
//   latentcl eval RUN [--iwae K] [--json]                   (dispatched from cmd_eval.c)
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "cli_run.h"
#include "cmd_vae.h"

// Options every verb here shares.
static struct {
    const char *out, *data, *split, *weights, *which;
    long n, seed, from, to, steps, cols, iwae, first;
} o;

static void defaults(void) {
    memset(&o, 0, sizeof o);
    o.seed = -1;
    o.steps = 10;
    o.from = o.to = -1;
}

#define OPT_EMA                                                                                    \
    {"--weights", OPT_STRING, &o.weights, "raw, or ema (the EMA of the weights)", "W"}, {          \
        "--checkpoint", OPT_STRING, &o.which, "last or best (runs with --val-split)", "C"          \
    }
#define OPT_DATA                                                                                   \
    { "--data", OPT_STRING, &o.data, "images (default: what the model trained on)", "SRC" }

static int need_out(const char *verb) {
    if (o.out) return 0;
    fprintf(stderr, "latentcl %s: --out FILE is required\n", verb);
    return 2;
}

static void finish(lc_device *dev, lc_vae *m) {
    lc_vae_free(m);
    cli_close_device(dev);
}

// Parses argv (argv[1] = RUN), opens the device and loads the model, then (for a verb that
// writes a file) checks that --out was given. 0 to go on, else *rc is the exit code and
// nothing is left open.
static int start(const char *verb, const char *usage, const char *desc, int argc, char **argv,
                 const cli_opt *opts, bool writes_out, lc_device **dev, lc_vae **m, int *rc) {
    const char *run = NULL;
    *dev = NULL;
    *m = NULL;
    if (cli_parse_one(verb, usage, desc, argc, argv, opts, "RUN (a run folder or checkpoint)", &run,
                      rc))
        return 1;
    char path[4096];
    const char *prefix;
    if ((*rc = cli_weights_prefix(&prefix, o.weights))) return 1;
    if ((*rc = cli_run_checkpoint(path, sizeof path, run, o.which))) return 1;
    if ((*rc = cli_open_device(dev))) return 1;
    if ((*rc = vae_cli_load(m, *dev, path, *prefix != 0))) {
        cli_close_device(*dev);
        *dev = NULL;
        return 1;
    }
    if (writes_out && (*rc = need_out(verb))) {
        finish(*dev, *m);
        *dev = NULL;
        *m = NULL;
        return 1;
    }
    return 0;
}

// Ends a text file written to tmp: closes it and renames it to path (write temp + rename:
// a failed command leaves no partial file).
static lc_status close_and_rename(FILE *f, const char *tmp, const char *path) {
    int bad = ferror(f);
    if (fclose(f) || bad || rename(tmp, path)) {
        remove(tmp);
        return lc_fail(LC_ERR_IO, "cannot write %s: %s", path, strerror(errno));
    }
    return LC_OK;
}

// The test images of the model's data (else its training images).
static int open_test(lc_data *d, const lc_vae *m, bool *used_train) {
    const char *spec = vae_cli_data_spec(m, o.data);
    if (!spec) return 1;
    lc_data_split split = o.split && !strcmp(o.split, "train") ? LC_SPLIT_TRAIN : LC_SPLIT_TEST;
    if (o.split && strcmp(o.split, "train") && strcmp(o.split, "test"))
        return cli_error("--split must be train or test");
    int rc = vae_cli_open_images(d, spec, split, !o.split, used_train);
    if (rc) return rc;
    const lc_vae_config *c = lc_vae_get_config(m);
    if (d->images.channels != c->channels || d->images.height != c->height ||
        d->images.width != c->width) {
        rc = cli_error("%s: images are %d x %d x %d, the model takes %d x %d x %d", spec,
                       d->images.channels, d->images.height, d->images.width, c->channels,
                       c->height, c->width);
        lc_data_free(d);
    }
    return rc;
}

// ---- sample ----------------------------------------------------------------------------

// One line per sample: its code z, a tab, then the decoded means (for comparing the
// decoder with another implementation: tools/bench/vae_reference.py --check).
static lc_status write_samples_tsv(const char *path, lc_vae *m, const float *x, int64_t n,
                                   uint64_t seed) {
    int64_t Z = lc_vae_get_config(m)->latent, P = lc_vae_image_size(m);
    float *z = malloc((size_t)(n * Z) * sizeof *z);
    if (!z) return lc_fail(LC_ERR_NOMEM, "out of memory");
    lc_status s = lc_vae_prior_draws(m, z, n, seed);
    char tmp[4200];
    snprintf(tmp, sizeof tmp, "%s.tmp%ld", path, (long)getpid());
    FILE *f = s == LC_OK ? fopen(tmp, "w") : NULL;
    if (s == LC_OK && !f) s = lc_fail(LC_ERR_IO, "cannot write %s: %s", tmp, strerror(errno));
    for (int64_t i = 0; f && i < n; i++) {
        for (int64_t e = 0; e < Z; e++)
            fprintf(f, e ? " %.9g" : "%.9g", z[i * Z + e]);
        fputc('\t', f);
        for (int64_t e = 0; e < P; e++)
            fprintf(f, e ? " %.9g" : "%.9g", x[i * P + e]);
        fputc('\n', f);
    }
    if (f) s = close_and_rename(f, tmp, path);
    free(z);
    return s;
}

int cmd_sample_vae(int argc, char **argv) {
    defaults();
    o.n = 64;
    const char *tsv = NULL;
    const cli_opt opts[] = {
        {"--n", OPT_INT, &o.n, "number of samples", "N"},
        {"--seed", OPT_INT, &o.seed, "seed of the prior draws (-1: the run's, as samples.png)",
         "S"},
        {"--cols", OPT_INT, &o.cols, "images per row (0: about square)", "C"},
        {"--out", OPT_STRING, &o.out, "PNG grid to write", "FILE"},
        {"--tsv", OPT_STRING, &tsv, "also write each code and its decoded means (text)", "FILE"},
        OPT_EMA,
        CLI_COMMON_OPTS,
        {NULL}};
    lc_device *dev;
    lc_vae *m;
    int rc;
    if (start("sample", "RUN [--n 64] [--seed S] --out x.png",
              "Decode draws z ~ N(0, I) from the prior (an AE: from the Gaussian fitted to its "
              "codes) into a PNG grid.",
              argc, argv, opts, true, &dev, &m, &rc))
        return rc;
    if (o.n < 1 || o.n > 4096)
        return finish(dev, m), cli_error("--n %ld out of range (1..4096)", o.n);
    uint64_t seed = o.seed >= 0 ? (uint64_t)o.seed : 0;
    float *x = malloc((size_t)o.n * (size_t)lc_vae_image_size(m) * sizeof *x);
    lc_status s = x ? LC_OK : lc_fail(LC_ERR_NOMEM, "out of memory");
    if (o.seed < 0) seed = lc_vae_seed(m); // the run's own: the draws of its samples.png
    if (s == LC_OK) s = lc_vae_sample(m, x, o.n, seed);
    if (s == LC_OK) s = lc_vae_write_grid(o.out, m, x, (int)o.n, (int)o.cols);
    if (s == LC_OK && tsv) s = write_samples_tsv(tsv, m, x, o.n, seed);
    free(x);
    finish(dev, m);
    if (s != LC_OK) return cli_report(s);
    if (g_cli.json)
        printf("{\"out\":\"%s\",\"n\":%ld,\"seed\":%llu}\n", o.out, o.n, (unsigned long long)seed);
    else
        printf("wrote %ld samples to %s\n", o.n, o.out);
    return 0;
}

// ---- reconstruct ------------------------------------------------------------------------

int cmd_reconstruct(int argc, char **argv) {
    defaults();
    o.n = 0; // 32, or what the set holds after --first
    const cli_opt opts[] = {
        {"--n", OPT_INT, &o.n, "number of images (0: 32, fewer if the set is smaller)", "N"},
        {"--first", OPT_INT, &o.first, "index of the first image", "I"},
        OPT_DATA,
        {"--split", OPT_STRING, &o.split, "train or test (default test, else train)", "S"},
        {"--out", OPT_STRING, &o.out, "PNG: rows of images above their reconstructions", "FILE"},
        OPT_EMA,
        CLI_COMMON_OPTS,
        {NULL}};
    lc_device *dev;
    lc_vae *m;
    int rc;
    if (start("reconstruct", "RUN [--n 32] [--first I] --out x.png",
              "Encode images (the mean of q(z|x)) and decode them again: rows of 8 images above "
              "their reconstructions.",
              argc, argv, opts, true, &dev, &m, &rc))
        return rc;
    lc_data d;
    if ((rc = open_test(&d, m, NULL))) return finish(dev, m), rc;
    int64_t total = d.images.n, P = lc_vae_image_size(m);
    if (o.n == 0) o.n = total - o.first < 32 ? (long)(total - o.first) : 32;
    if (o.n < 1 || o.n > 1024 || o.first < 0 || o.first + o.n > total) {
        lc_data_free(&d);
        finish(dev, m);
        return cli_error("--first %ld --n %ld: the set has %lld images (n 1..1024)", o.first, o.n,
                         (long long)total);
    }
    int n = (int)o.n, cols = 8, rows = (n + cols - 1) / cols;
    float *rec = malloc((size_t)(n * P) * sizeof *rec);
    float *grid = calloc((size_t)(2 * rows * cols * P), sizeof *grid);
    lc_status s = rec && grid ? LC_OK : lc_fail(LC_ERR_NOMEM, "out of memory");
    const float *x = d.images.images + o.first * P;
    if (s == LC_OK) s = lc_vae_reconstruct(m, rec, x, n);
    for (int i = 0; s == LC_OK && i < n; i++) {
        int r = i / cols, c = i % cols;
        memcpy(grid + ((size_t)(2 * r) * cols + c) * P, x + i * P, (size_t)P * sizeof *grid);
        memcpy(grid + ((size_t)(2 * r + 1) * cols + c) * P, rec + i * P, (size_t)P * sizeof *grid);
    }
    if (s == LC_OK) s = lc_vae_write_grid(o.out, m, grid, 2 * rows * cols, cols);
    free(rec);
    free(grid);
    lc_data_free(&d);
    finish(dev, m);
    if (s != LC_OK) return cli_report(s);
    if (g_cli.json)
        printf("{\"out\":\"%s\",\"n\":%d}\n", o.out, n);
    else
        printf("wrote %d images and their reconstructions to %s\n", n, o.out);
    return 0;
}

// ---- interpolate ------------------------------------------------------------------------

int cmd_interpolate(int argc, char **argv) {
    defaults();
    const cli_opt opts[] = {
        {"--from", OPT_INT, &o.from, "index of the first image", "I"},
        {"--to", OPT_INT, &o.to, "index of the last image", "J"},
        {"--steps", OPT_INT, &o.steps, "decoded points from z_I to z_J (both included)", "N"},
        OPT_DATA,
        {"--split", OPT_STRING, &o.split, "train or test (default test, else train)", "S"},
        {"--out", OPT_STRING, &o.out, "PNG: image I, the decoded path, image J", "FILE"},
        OPT_EMA,
        CLI_COMMON_OPTS,
        {NULL}};
    lc_device *dev;
    lc_vae *m;
    int rc;
    if (start("interpolate", "RUN --from I --to J [--steps 10] --out x.png",
              "Decode the straight line between the codes (means of q(z|x)) of two images.", argc,
              argv, opts, true, &dev, &m, &rc))
        return rc;
    if (o.from < 0 || o.to < 0) {
        finish(dev, m);
        fprintf(stderr, "latentcl interpolate: --from I and --to J are required (image indices)\n");
        return 2;
    }
    if (o.steps < 2 || o.steps > 256) {
        finish(dev, m);
        return cli_error("--steps %ld out of range (2..256)", o.steps);
    }
    lc_data d;
    if ((rc = open_test(&d, m, NULL))) return finish(dev, m), rc;
    int64_t total = d.images.n, P = lc_vae_image_size(m), Z = lc_vae_get_config(m)->latent;
    if (o.from >= total || o.to >= total) {
        lc_data_free(&d);
        finish(dev, m);
        return cli_error("--%s %ld is out of range: the set has %lld images (0..%lld)",
                         o.from >= total ? "from" : "to", o.from >= total ? o.from : o.to,
                         (long long)total, (long long)total - 1);
    }
    int steps = (int)o.steps, cells = steps + 2;
    float ends[2 * 4096], *z = malloc((size_t)(steps * Z) * sizeof *z);
    float *grid = malloc((size_t)(cells * P) * sizeof *grid);
    lc_status s = z && grid && Z <= 4096 ? LC_OK : lc_fail(LC_ERR_NOMEM, "out of memory");
    const float *xa = d.images.images + o.from * P, *xb = d.images.images + o.to * P;
    if (s == LC_OK) s = lc_vae_encode(m, ends, NULL, xa, 1);
    if (s == LC_OK) s = lc_vae_encode(m, ends + Z, NULL, xb, 1);
    for (int t = 0; s == LC_OK && t < steps; t++) {
        float a = (float)t / (float)(steps - 1);
        for (int64_t e = 0; e < Z; e++)
            z[t * Z + e] = (1 - a) * ends[e] + a * ends[Z + e];
    }
    if (s == LC_OK) s = lc_vae_decode(m, grid + P, z, steps);
    if (s == LC_OK) {
        memcpy(grid, xa, (size_t)P * sizeof *grid);
        memcpy(grid + (size_t)(cells - 1) * P, xb, (size_t)P * sizeof *grid);
        s = lc_vae_write_grid(o.out, m, grid, cells, cells);
    }
    free(z);
    free(grid);
    lc_data_free(&d);
    finish(dev, m);
    if (s != LC_OK) return cli_report(s);
    if (g_cli.json)
        printf("{\"out\":\"%s\",\"from\":%ld,\"to\":%ld,\"steps\":%d}\n", o.out, o.from, o.to,
               steps);
    else
        printf("wrote image %ld, %d decoded steps and image %ld to %s\n", o.from, steps, o.to,
               o.out);
    return 0;
}

// ---- encode ------------------------------------------------------------------------------

static lc_status write_codes(const char *path, const float *codes, const lc_dataset *d, int64_t Z) {
    char tmp[4200];
    snprintf(tmp, sizeof tmp, "%s.tmp%ld", path, (long)getpid());
    FILE *f = fopen(tmp, "w");
    if (!f) return lc_fail(LC_ERR_IO, "cannot write %s: %s", path, strerror(errno));
    fprintf(f, "index\tlabel");
    for (int64_t e = 0; e < Z; e++)
        fprintf(f, "\tz%lld", (long long)e);
    fputc('\n', f);
    for (int64_t i = 0; i < d->n; i++) {
        fprintf(f, "%lld\t", (long long)i);
        if (d->labels) fprintf(f, "%d", d->labels[i]);
        for (int64_t e = 0; e < Z; e++)
            fprintf(f, "\t%.7g", codes[i * Z + e]);
        fputc('\n', f);
    }
    return close_and_rename(f, tmp, path);
}

int cmd_encode(int argc, char **argv) {
    defaults();
    const char *scatter = NULL;
    const cli_opt opts[] = {
        OPT_DATA,
        {"--split", OPT_STRING, &o.split, "train or test (default test, else train)", "S"},
        {"--out", OPT_STRING, &o.out, "TSV: index, label, z0..z{Z-1} (the mean of q(z|x))", "FILE"},
        {"--scatter", OPT_STRING, &scatter, "also a PNG scatter of the codes by class (Z = 2)",
         "FILE"},
        OPT_EMA,
        CLI_COMMON_OPTS,
        {NULL}};
    lc_device *dev;
    lc_vae *m;
    int rc;
    if (start(
            "encode", "RUN [--data SRC] [--split test] --out codes.tsv",
            "Write the code of every image (the mean of q(z|x); an AE's z = f(x)) with its label.",
            argc, argv, opts, true, &dev, &m, &rc))
        return rc;
    int64_t Z = lc_vae_get_config(m)->latent;
    if (scatter && Z != 2) {
        finish(dev, m);
        return cli_error("--scatter needs a model with --latent 2 (this one has %lld)",
                         (long long)Z);
    }
    lc_data d;
    if ((rc = open_test(&d, m, NULL))) return finish(dev, m), rc;
    float *codes = malloc((size_t)(d.images.n * Z) * sizeof *codes);
    lc_status s = codes ? LC_OK : lc_fail(LC_ERR_NOMEM, "out of memory");
    if (s == LC_OK) s = lc_vae_encode(m, codes, NULL, d.images.images, d.images.n);
    if (s == LC_OK) s = write_codes(o.out, codes, &d.images, Z);
    if (s == LC_OK && scatter) {
        s = lc_vae_write_scatter(scatter, codes, d.images.labels, d.images.n, d.images.n_classes,
                                 d.images.class_names);
        if (s != LC_OK) remove(o.out); // a failed command leaves no output behind
    }
    int64_t n = d.images.n;
    free(codes);
    lc_data_free(&d);
    finish(dev, m);
    if (s != LC_OK) return cli_report(s);
    if (g_cli.json)
        printf("{\"out\":\"%s\",\"n\":%lld,\"latent\":%lld}\n", o.out, (long long)n, (long long)Z);
    else
        printf("wrote %lld codes of %lld dimensions to %s\n", (long long)n, (long long)Z, o.out);
    return 0;
}

// ---- eval ----------------------------------------------------------------------------------

int cmd_eval_vae(int argc, char **argv) {
    defaults();
    o.seed = 0;
    const cli_opt opts[] = {{"--iwae", OPT_INT, &o.iwae,
                             "importance samples of the IWAE bound (0: off; VAE only)", "K"},
                            {"--seed", OPT_INT, &o.seed, "seed of the evaluation draws", "S"},
                            OPT_DATA,
                            {"--split", OPT_STRING, &o.split, "train or test (default test)", "S"},
                            OPT_EMA,
                            CLI_COMMON_OPTS,
                            {NULL}};
    lc_device *dev;
    lc_vae *m;
    int rc;
    if (start("eval", "RUN [--iwae K] [--json]",
              "Test figures in nats per image: VAE -ELBO = rec + KL (one draw per image) and the "
              "IWAE bound with K draws; AE reconstruction loss and per-pixel squared error.",
              argc, argv, opts, false, &dev, &m, &rc))
        return rc;
    bool vae = lc_vae_get_config(m)->kind == LC_VAE_KIND_VAE;
    if (o.iwae < 0 || o.iwae > 100000 || (o.iwae > 0 && !vae)) {
        finish(dev, m);
        return cli_error("--iwae %ld: %s", o.iwae,
                         vae ? "out of range (0..100000)" : "an AE has no q(z|x) to weight");
    }
    if (o.seed < 0) return finish(dev, m), cli_error("--seed must be >= 0");
    lc_data d;
    if ((rc = open_test(&d, m, NULL))) return finish(dev, m), rc;
    cli_progress pr;
    cli_progress_begin(&pr, "eval");
    cli_sigint_install();
    lc_vae_eval e;
    lc_status s = lc_vae_evaluate(m, &e, d.images.images, d.images.n, (int)o.iwae, (uint64_t)o.seed,
                                  cli_progress_report, &pr);
    cli_progress_end(&pr);
    lc_data_free(&d);
    finish(dev, m);
    if (s != LC_OK) return cli_report(s);
    const char *p = o.split && !strcmp(o.split, "train") ? "train" : "test";
    if (g_cli.json) {
        if (vae) {
            printf("{\"%s_neg_elbo\":%.6f,\"%s_rec\":%.6f,\"%s_kl\":%.6f", p, e.neg_elbo, p, e.rec,
                   p, e.kl);
            if (o.iwae > 0) printf(",\"iwae_neg_ll\":%.6f,\"iwae_k\":%ld", e.iwae_neg_ll, o.iwae);
        } else {
            printf("{\"%s_rec\":%.6f,\"%s_mse\":%.8f", p, e.rec, p, e.mse);
        }
        printf(",\"n\":%lld}\n", (long long)e.n);
        return 0;
    }
    if (vae) {
        printf("%s -ELBO %.2f nats/image (reconstruction %.2f + KL %.2f), %lld images\n", p,
               e.neg_elbo, e.rec, e.kl, (long long)e.n);
        if (o.iwae > 0)
            printf("IWAE bound (k = %ld): -log p(x) <= %.2f nats/image\n", o.iwae, e.iwae_neg_ll);
    } else {
        printf("%s reconstruction %.2f nats/image, squared error %.5f per pixel, %lld images\n", p,
               e.rec, e.mse, (long long)e.n);
    }
    return 0;
}
