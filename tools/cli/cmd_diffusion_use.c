// The verbs that use a trained diffusion model (dispatched on the run's family):
//   latentcl sample RUN [--n 64] [--sampler ddpm|ddim] [--steps 50] [--eta E] [--class K]
//                       [--guidance W] [--seed S] --out x.png|x.csv [--trajectory t.png]
//   latentcl eval RUN [--n 2000] [--bandwidth H] [--json]      (2-D points: MMD)
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "cli_run.h"
#include "cmd_diffusion.h"
#include "prompt_check.h"
#include "latentcl/diffusion.h"
#include "latentcl/image.h"
#include "latentcl/shapes_judge.h"

static struct {
    const char *out, *sampler, *weights, *which, *trajectory, *judge, *guidance_list, *prompt;
    long n, steps, cls, seed, batch;
    double eta, guidance, bandwidth;
} o;
static bool guidance_given; // --guidance on the command line (else: the default for the model)

// The w to sample with: --guidance, else LC_DIF_GUIDANCE_DEFAULT (measured best for images);
// a 2-D model keeps w = 1.
static double guidance_for(const lc_diffusion_config *c) {
    if (guidance_given) return o.guidance;
    return c->net == LC_DIF_NET_MLP ? 1.0 : LC_DIF_GUIDANCE_DEFAULT;
}

static void defaults(void) {
    memset(&o, 0, sizeof o);
    o.cls = -1;
    o.guidance = LC_DIF_GUIDANCE_DEFAULT;
    o.bandwidth = 0.2;
    o.sampler = "ddim";
}

#define OPT_WEIGHTS                                                                                \
    {"--weights", OPT_STRING, &o.weights, "ema (default when the run kept them) or raw", "W"}, {   \
        "--checkpoint", OPT_STRING, &o.which, "last or best", "C"                                  \
    }

// Parses argv (argv[1] = RUN), opens the device, loads the model (EMA weights unless raw
// is asked for or the run has none). 0 to go on, else *rc is the exit code.
static int start(const char *verb, const char *usage, const char *desc, int argc, char **argv,
                 const cli_opt *opts, lc_device **dev, lc_diffusion **m, int *rc) {
    const char *run = NULL;
    *dev = NULL;
    *m = NULL;
    if (cli_parse_one(verb, usage, desc, argc, argv, opts, "RUN (a run folder or checkpoint)", &run,
                      rc))
        return 1;
    char path[4096];
    const char *prefix = NULL;
    if (o.weights && (*rc = cli_weights_prefix(&prefix, o.weights))) return 1;
    if ((*rc = cli_run_checkpoint(path, sizeof path, run, o.which))) return 1;
    if ((*rc = cli_open_device(dev))) return 1;
    bool ema = !o.weights || *prefix;
    lc_status s = lc_diffusion_load(m, *dev, path, ema);
    if (s == LC_ERR_FORMAT && !o.weights && strstr(lc_last_error(), "ema/"))
        s = lc_diffusion_load(m, *dev, path, false); // a run without EMA: its raw weights
    if (s != LC_OK) {
        *rc = cli_report(s);
        cli_close_device(*dev);
        *dev = NULL;
        return 1;
    }
    return 0;
}

static void finish(lc_device *dev, lc_diffusion *m) {
    lc_diffusion_free(m);
    cli_close_device(dev);
}

static bool ends_with(const char *s, const char *tail) {
    size_t a = strlen(s), b = strlen(tail);
    return a >= b && !strcmp(s + a - b, tail);
}

// Points as "x,y" lines, written to a temporary file and renamed.
static int write_csv(const char *path, const float *xy, int64_t n) {
    char tmp[4200];
    snprintf(tmp, sizeof tmp, "%s.tmp%ld", path, (long)getpid());
    FILE *f = fopen(tmp, "w");
    if (!f) return cli_error("%s: %s", tmp, strerror(errno));
    fprintf(f, "x,y\n");
    for (int64_t i = 0; i < n; i++)
        fprintf(f, "%.7g,%.7g\n", xy[2 * i], xy[2 * i + 1]);
    bool ok = !ferror(f);
    ok = fclose(f) == 0 && ok;
    if (!ok || rename(tmp, path)) {
        remove(tmp);
        return cli_error("writing %s failed", path);
    }
    return 0;
}

// The training points of a 2-D model (regenerated, or its CSV file).
static int model_points(float **xy, int64_t *n, const lc_diffusion *m, long offset_seed) {
    int32_t *labels = NULL;
    const char *spec = lc_diffusion_get_config(m)->data;
    int rc = dif_cli_points(xy, &labels, n, NULL, 0, spec, 10000, 0.05, 0, offset_seed);
    free(labels);
    return rc;
}

// x (traj_count, k, dim) -> a grid of k rows (samples) by traj_count columns (noise .. image).
static lc_status write_trajectory(const char *path, const lc_diffusion *m, const float *traj,
                                  int count, int k) {
    const lc_diffusion_config *c = lc_diffusion_get_config(m);
    int64_t dim = lc_diffusion_dim(m);
    float *g = malloc((size_t)count * (size_t)k * (size_t)dim * sizeof *g);
    if (!g) return lc_fail(LC_ERR_NOMEM, "out of memory");
    for (int r = 0; r < k; r++)
        for (int j = 0; j < count; j++)
            memcpy(g + ((size_t)r * count + j) * dim, traj + ((size_t)j * k + r) * dim,
                   (size_t)dim * sizeof *g);
    lc_status s =
        lc_grid_write(path, g, count * k, c->channels, c->height, c->width, count, 2, NULL);
    free(g);
    return s;
}

// A text-conditioned model samples from --prompt (required); others refuse one. 0 or an exit
// code. Unknown words map to <unk> with a warning; a prompt with no known word is an error.
static int use_prompt(lc_diffusion *m, const char *verb) {
    const lc_vocab *v = lc_diffusion_vocab(m);
    if (!v && o.prompt)
        return cli_error(
            "--prompt: this model is not text-conditioned (train it with --cond text)");
    if (!v) return 0;
    if (!o.prompt)
        return cli_error("a text-conditioned model needs --prompt \"a small red circle\"");
    lc_status s = cli_check_prompt(v, o.prompt, "--prompt");
    if (s == LC_OK) s = lc_diffusion_set_prompts(m, &o.prompt, 1, NULL);
    if (s != LC_OK) return cli_report(s);
    return 0;
}

int cmd_sample_diffusion(int argc, char **argv) {
    defaults();
    guidance_given = dif_cli_given(argc, argv, "--guidance");
    o.n = 64;
    const cli_opt opts[] = {
        {"--n", OPT_INT, &o.n, "number of samples", "N"},
        {"--sampler", OPT_STRING, &o.sampler, "ddpm (ancestral) or ddim", "S"},
        {"--steps", OPT_INT, &o.steps, "reverse steps (0: ddim 50, ddpm T)", "S"},
        {"--eta", OPT_FLOAT, &o.eta, "DDIM noise: 0 deterministic, 1 as DDPM", "E"},
        {"--class", OPT_INT, &o.cls,
         "class of every sample (-1: a conditional model cycles through the classes)", "K"},
        {"--prompt", OPT_STRING, &o.prompt, "text-conditioned model: the caption to draw", "TEXT"},
        {"--guidance", OPT_FLOAT, &o.guidance,
         "classifier-free guidance w: eps_u + w (eps_c - eps_u); 1 plain conditional (default 4)",
         "W"},
        {"--seed", OPT_INT, &o.seed, "seed of the noise", "S"},
        {"--batch", OPT_INT, &o.batch, "samples per device batch (0: 256)", "B"},
        {"--out", OPT_STRING, &o.out, "x.png (grid) or, for 2-D models, x.csv (+ x.png scatter)",
         "FILE"},
        {"--trajectory", OPT_STRING, &o.trajectory,
         "images: a strip from noise to image for 8 samples", "FILE"},
        OPT_WEIGHTS,
        CLI_COMMON_OPTS,
        {NULL}};
    lc_device *dev;
    lc_diffusion *m;
    int rc;
    if (start("sample",
              "RUN [--n 64] [--sampler ddpm|ddim] [--steps 50] [--eta E] "
              "[--class K | --prompt TEXT] [--guidance W] [--seed S] --out x.png|x.csv "
              "[--trajectory t.png]",
              "Draw samples from a diffusion model by the reverse chain from x_T ~ N(0, I).", argc,
              argv, opts, &dev, &m, &rc))
        return rc;
    const lc_diffusion_config *c = lc_diffusion_get_config(m);
    bool points = c->net == LC_DIF_NET_MLP;
    if (!o.out) {
        finish(dev, m);
        fprintf(stderr, "latentcl sample: --out FILE is required\n");
        return 2;
    }
    lc_dif_sample_options so;
    lc_dif_sample_options_default(&so);
    if (!strcmp(o.sampler, "ddpm"))
        so.sampler = LC_DIF_DDPM;
    else if (strcmp(o.sampler, "ddim")) {
        finish(dev, m);
        fprintf(stderr, "latentcl sample: --sampler ddpm or ddim\n");
        return 2;
    }
    so.steps = o.steps > 0                 ? (int)(o.steps < 1000000 ? o.steps : 1000000)
               : so.sampler == LC_DIF_DDPM ? c->T
                                           : (c->T < 50 ? c->T : 50);
    so.eta = so.sampler == LC_DIF_DDIM ? o.eta : 1.0;
    so.guidance = guidance_for(c);
    so.seed = (uint64_t)(o.seed >= 0 ? o.seed : 0);
    so.batch = o.batch;
    const char *err = NULL;
    char msg[256];
    if (o.n < 1 || o.n > 100000)
        err = "--n: 1..100000";
    else if (o.steps < 0 || so.steps > c->T) {
        snprintf(msg, sizeof msg, "--steps %ld: the model has T = %d (1..%d)", o.steps, c->T, c->T);
        err = msg;
    } else if (o.cls >= 0 && o.cls >= c->n_classes) {
        snprintf(msg, sizeof msg, "--class %ld: the model %s", o.cls,
                 c->n_classes ? "has fewer classes" : "is unconditional");
        if (c->n_classes)
            snprintf(msg, sizeof msg, "--class %ld: the model has %d classes (0..%d)", o.cls,
                     c->n_classes, c->n_classes - 1);
        err = msg;
    } else if (o.cls < -1)
        err = "--class: 0 or more (-1: cycle)";
    else if (o.trajectory && points)
        err = "--trajectory draws images; a 2-D model writes .csv";
    else if (ends_with(o.out, ".csv") && !points)
        err = "--out .csv is for 2-D models";
    else if (!ends_with(o.out, ".csv") && !ends_with(o.out, ".png"))
        err = "--out: a .png file (or .csv for 2-D models)";
    if (!err && (cli_check_out(o.out) || (o.trajectory && cli_check_out(o.trajectory)))) {
        finish(dev, m);
        return 1;
    }
    if (err) {
        finish(dev, m);
        return cli_error("%s", err);
    }
    if ((rc = use_prompt(m, "sample"))) {
        finish(dev, m);
        return rc;
    }
    int64_t n = o.n, dim = lc_diffusion_dim(m);
    int32_t *cls = NULL;
    if (c->n_classes > 0 && o.cls < 0) { // column j of the grid: class j
        cls = malloc((size_t)n * sizeof *cls);
        for (int64_t i = 0; cls && i < n; i++)
            cls[i] = (int32_t)(i % c->n_classes);
        so.classes = cls;
    }
    so.cls = lc_diffusion_vocab(m) ? 0 : (int)o.cls; // a text model: condition 0 = the prompt
    enum { TRAJ = 10, TRAJ_N = 8 };
    int at[TRAJ];
    float *traj = NULL;
    if (o.trajectory) {
        for (int j = 0; j < TRAJ; j++)
            at[j] = (int)llround((double)j * so.steps / (TRAJ - 1));
        so.traj_count = TRAJ;
        so.traj_at = at;
        so.traj_n = n < TRAJ_N ? n : TRAJ_N;
        so.traj = traj = malloc((size_t)(TRAJ * so.traj_n * dim) * sizeof *traj);
    }
    float *x = malloc((size_t)(n * dim) * sizeof *x);
    lc_status s = x && (!o.trajectory || traj) && (!so.classes == !cls || cls)
                      ? LC_OK
                      : lc_fail(LC_ERR_NOMEM, "out of memory");
    cli_progress pr;
    cli_progress_begin(&pr, "sample");
    cli_sigint_install();
    so.progress = cli_progress_report;
    so.user = &pr;
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    if (s == LC_OK) s = lc_diffusion_sample(m, x, n, &so);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double sample_s = (double)(t1.tv_sec - t0.tv_sec) + 1e-9 * (double)(t1.tv_nsec - t0.tv_nsec);
    cli_progress_end(&pr);
    if (s == LC_OK && !points) {
        int cols = cls ? c->n_classes : 0;
        s = lc_grid_write(o.out, x, (int)n, c->channels, c->height, c->width, cols, 2, NULL);
    }
    if (s == LC_OK && o.trajectory)
        s = write_trajectory(o.trajectory, m, traj, TRAJ, (int)so.traj_n);
    rc = s == LC_OK ? 0 : cli_report(s);
    char scatter[4200] = "";
    if (!rc && points) {
        bool csv = ends_with(o.out, ".csv");
        if (csv) {
            rc = write_csv(o.out, x, n);
            snprintf(scatter, sizeof scatter, "%.*s.png", (int)(strlen(o.out) - 4), o.out);
        } else {
            snprintf(scatter, sizeof scatter, "%s", o.out);
        }
        float *data = NULL;
        int64_t nd = 0;
        if (!rc) rc = model_points(&data, &nd, m, 0);
        if (!rc) {
            int64_t shown = nd < 2000 ? nd : 2000;
            s = lc_diffusion_write_scatter(scatter, data, shown, x, n);
            if (s != LC_OK) rc = cli_report(s);
        }
        free(data);
    }
    if (!rc) {
        if (g_cli.json)
            printf("{\"out\":\"%s\",\"n\":%lld,\"sampler\":\"%s\",\"steps\":%d,\"eta\":%g,"
                   "\"guidance\":%g,\"seed\":%llu,\"sample_s\":%.3f,\"images_per_s\":%.3f}\n",
                   o.out, (long long)n, o.sampler, so.steps, so.eta, so.guidance,
                   (unsigned long long)so.seed, sample_s, (double)n / sample_s);
        else
            printf("wrote %lld samples to %s%s%s\n", (long long)n, o.out,
                   *scatter && strcmp(scatter, o.out) ? " and " : "",
                   *scatter && strcmp(scatter, o.out) ? scatter : "");
    }
    free(x);
    free(traj);
    free(cls);
    finish(dev, m);
    return rc;
}

// ---- eval -------------------------------------------------------------------------------

static int eval_points(lc_diffusion *m) {
    const lc_diffusion_config *c = lc_diffusion_get_config(m);
    int64_t n = o.n > 0 ? o.n : 2000;
    float *data = NULL, *fresh = NULL, *x = malloc((size_t)n * 2 * sizeof *x);
    int64_t nd = 0, nf = 0;
    int rc = x ? 0 : cli_error("out of memory");
    if (!rc) rc = model_points(&data, &nd, m, 0);
    bool generated = strncmp(c->data, "moons", 5) == 0 || strncmp(c->data, "swissroll", 9) == 0;
    if (!rc && generated) rc = model_points(&fresh, &nf, m, 1); // a held-out draw
    lc_dif_sample_options so;
    lc_dif_sample_options_default(&so);
    so.steps = o.steps > 0 ? (int)o.steps : 50;
    so.seed = (uint64_t)(o.seed > 0 ? o.seed : 0);
    so.guidance = guidance_for(c);
    if (!rc) {
        lc_status s = lc_diffusion_sample(m, x, n, &so);
        if (s != LC_OK) rc = cli_report(s);
    }
    if (!rc) {
        // compare in standardised coordinates, so the bandwidth means the same for every set
        const float *ref = generated ? fresh : data;
        int64_t nr = (generated ? nf : nd) < n ? (generated ? nf : nd) : n;
        float *a = malloc((size_t)n * 2 * sizeof *a), *b = malloc((size_t)nr * 2 * sizeof *b),
              *t = generated ? malloc((size_t)nr * 2 * sizeof *t) : NULL;
        for (int64_t i = 0; a && i < 2 * n; i++)
            a[i] = (x[i] - c->point_mean[i % 2]) / c->point_std[i % 2];
        for (int64_t i = 0; b && i < 2 * nr; i++)
            b[i] = (ref[i] - c->point_mean[i % 2]) / c->point_std[i % 2];
        for (int64_t i = 0; t && i < 2 * nr; i++)
            t[i] = (data[i] - c->point_mean[i % 2]) / c->point_std[i % 2];
        if (!a || !b || (generated && !t)) rc = cli_error("out of memory");
        if (!rc) {
            double mmd = lc_mmd_rbf(a, n, b, nr, 2, o.bandwidth);
            double floor_ = generated ? lc_mmd_rbf(t, nr, b, nr, 2, o.bandwidth) : NAN;
            if (g_cli.json) {
                printf("{\"mmd\":%.6g,\"n\":%lld,\"bandwidth\":%g", mmd, (long long)n, o.bandwidth);
                if (generated) printf(",\"mmd_data\":%.6g", floor_);
                printf(",\"steps\":%d,\"sampler\":\"ddim\"}\n", so.steps);
            } else {
                printf("MMD (RBF kernel, bandwidth %g in standardised units) between %lld samples "
                       "and %lld %s points: %.4f\n",
                       o.bandwidth, (long long)n, (long long)nr, generated ? "held-out" : "data",
                       mmd);
                if (generated)
                    printf("the same between two draws of the data (the floor): %.4f\n", floor_);
            }
        }
        free(a);
        free(b);
        free(t);
    }
    free(x);
    free(data);
    free(fresh);
    return rc;
}

// Parses "1,2,3" into up to max guidance values; the count, or -1.
static int parse_list(double *w, int max, const char *text) {
    int n = 0;
    const char *p = text;
    while (*p && n < max) {
        char *end;
        w[n] = strtod(p, &end);
        if (end == p || !isfinite(w[n])) return -1;
        n++;
        if (*end == ',')
            p = end + 1;
        else if (*end == '\0')
            return n;
        else
            return -1;
    }
    return *p ? -1 : n;
}

// Text-to-image: tallies of the shapes judge over batches.
typedef struct {
    lc_shapes_judge *judge;
    int channels, height, width;
    int64_t n, n_shapes, n_one, n_two;
    double all, kind, colour, size, place, relation;
} t2i_tally;

static lc_status tally_t2i(void *user, const float *images, const char *const *captions,
                           int64_t count) {
    t2i_tally *t = user;
    lc_shapes_judgement j;
    LC_TRY(lc_shapes_judge_score(t->judge, &j, images, captions, count, t->channels, t->height,
                                 t->width));
    t->n += j.n;
    t->all += j.all * (double)j.n;
    t->kind += j.kind * (double)j.n_shapes_requested;
    t->colour += j.colour * (double)j.n_shapes_requested;
    t->size += j.size * (double)j.n_shapes_requested;
    if (j.n_one) t->place += j.place * (double)j.n_one;
    if (j.n_two) t->relation += j.relation * (double)j.n_two;
    t->n_shapes += j.n_shapes_requested, t->n_one += j.n_one, t->n_two += j.n_two;
    return LC_OK;
}

static void print_share(const char *key, double sum, int64_t den) {
    if (den)
        printf(",\"%s\":%.4f", key, sum / (double)den);
    else
        printf(",\"%s\":null", key);
}

// t2i_accuracy: images generated from the test captions of the model's data in which the
// shapes judge recognises every requested attribute, for each --guidance w.
static int eval_t2i(lc_diffusion *m, const double *w, int nw) {
    const lc_diffusion_config *c = lc_diffusion_get_config(m);
    lc_device *dev = lc_ctx_device(lc_diffusion_ctx(m));
    t2i_tally t = {0};
    lc_status s = lc_shapes_judge_load(&t.judge, dev, o.judge);
    if (s != LC_OK) return cli_report(s);
    lc_data captions = {0};
    lc_data_options dopt = {0};
    dopt.split = LC_SPLIT_TEST;
    int64_t n = o.n > 0 ? o.n : 1000;
    dopt.shapes_count = n;
    s = lc_data_open(&captions, c->data, &dopt);
    if (s == LC_ERR_UNSUPPORTED) { // a folder has no test split: its own captions
        dopt.split = LC_SPLIT_TRAIN;
        s = lc_data_open(&captions, c->data, &dopt);
    }
    if (s == LC_OK && (captions.kind != LC_DATA_IMAGES || !captions.images.captions)) {
        lc_data_free(&captions);
        s = lc_fail(LC_ERR_FORMAT, "%s: no captions to draw from", c->data);
    }
    if (s == LC_OK && captions.images.n < n) n = captions.images.n;
    for (int i = 0; s == LC_OK && i < nw; i++) {
        lc_dif_sample_options so;
        lc_dif_sample_options_default(&so);
        so.steps = o.steps > 0 ? (int)o.steps : (c->T < 50 ? c->T : 50);
        so.guidance = w[i];
        so.seed = (uint64_t)(o.seed > 0 ? o.seed : 0);
        t2i_tally keep = t;
        t = (t2i_tally){
            .judge = keep.judge, .channels = c->channels, .height = c->height, .width = c->width};
        s = lc_diffusion_text_to_image(m, (const char *const *)captions.images.captions, n, &so,
                                       tally_t2i, &t);
        if (s != LC_OK) break;
        const char *weights = o.weights ? o.weights : "ema";
        if (g_cli.json) {
            printf("{\"t2i_accuracy\":%.4f", t.all / (double)t.n);
            print_share("kind", t.kind, t.n_shapes);
            print_share("colour", t.colour, t.n_shapes);
            print_share("size", t.size, t.n_shapes);
            print_share("place", t.place, t.n_one);
            print_share("relation", t.relation, t.n_two);
            printf(",\"n\":%lld,\"guidance\":%g,\"steps\":%d,\"weights\":\"%s\"}\n", (long long)t.n,
                   w[i], so.steps, weights);
        } else {
            printf("guidance %g, DDIM %d, %s weights, n = %lld captions: every requested "
                   "attribute recognised in %.1f%% (kind %.1f%%, colour %.1f%%, size %.1f%%)\n",
                   w[i], so.steps, weights, (long long)t.n, 100.0 * t.all / (double)t.n,
                   100.0 * t.kind / (double)(t.n_shapes ? t.n_shapes : 1),
                   100.0 * t.colour / (double)(t.n_shapes ? t.n_shapes : 1),
                   100.0 * t.size / (double)(t.n_shapes ? t.n_shapes : 1));
        }
        fflush(stdout);
    }
    int rc = s == LC_OK ? 0 : cli_report(s);
    if (captions.kind == LC_DATA_IMAGES) lc_data_free(&captions);
    lc_shapes_judge_free(t.judge);
    return rc;
}

// Judge accuracy and Frechet distance in the judge's feature space, for each --guidance w.
static int eval_judge(lc_diffusion *m) {
    const lc_diffusion_config *c = lc_diffusion_get_config(m);
    enum { MAX_W = 16 };
    double w[MAX_W];
    int nw = o.guidance_list ? parse_list(w, MAX_W, o.guidance_list) : 1;
    if (!o.guidance_list) w[0] = LC_DIF_GUIDANCE_DEFAULT;
    if (nw < 1)
        return cli_error("--guidance %s: a number or a list such as 1,2,3 (at most %d)",
                         o.guidance_list, MAX_W);
    if (lc_diffusion_vocab(m)) return eval_t2i(m, w, nw);
    char path[4096];
    int rc = cli_run_checkpoint(path, sizeof path, o.judge, NULL);
    if (rc) return rc;
    lc_classifier *judge = NULL;
    lc_status s = lc_classifier_load(&judge, lc_ctx_device(lc_diffusion_ctx(m)), path, "");
    if (s != LC_OK) return cli_report(s);
    // the real images: the test split of the model's data
    lc_data real = {0};
    lc_data_options dopt = {0};
    dopt.split = LC_SPLIT_TEST;
    s = lc_data_open(&real, c->data, &dopt);
    if (s == LC_ERR_UNSUPPORTED) { // a folder has no test split: its images
        dopt.split = LC_SPLIT_TRAIN;
        s = lc_data_open(&real, c->data, &dopt);
    }
    if (s == LC_OK && real.kind != LC_DATA_IMAGES) {
        lc_data_free(&real);
        s = lc_fail(LC_ERR_FORMAT, "%s: not images", c->data);
    }
    int d = lc_classifier_feature_dim(judge);
    double *mu = malloc((size_t)d * sizeof *mu), *cov = malloc((size_t)d * (size_t)d * sizeof *cov);
    if (s == LC_OK && (!mu || !cov)) s = lc_fail(LC_ERR_NOMEM, "out of memory");
    if (s == LC_OK) s = lc_judge_feature_stats(mu, cov, judge, real.images.images, real.images.n);
    int64_t n = o.n > 0 ? o.n : 2000;
    for (int i = 0; s == LC_OK && i < nw; i++) {
        lc_dif_sample_options so;
        lc_dif_sample_options_default(&so);
        so.steps = o.steps > 0 ? (int)o.steps : (c->T < 50 ? c->T : 50);
        so.guidance = w[i];
        so.seed = (uint64_t)(o.seed > 0 ? o.seed : 0);
        lc_dif_judgement j;
        cli_progress pr;
        cli_progress_begin(&pr, "sample");
        so.progress = cli_progress_report;
        so.user = &pr;
        s = lc_diffusion_judge(&j, m, judge, mu, cov, n, &so);
        cli_progress_end(&pr);
        if (s != LC_OK) break;
        const char *weights = o.weights ? o.weights : "ema";
        if (g_cli.json) {
            printf("{\"judge_accuracy\":");
            if (isnan(j.judge_accuracy))
                printf("null");
            else
                printf("%.4f", j.judge_accuracy);
            printf(",\"frechet_distance\":%.4f,\"n\":%lld,\"guidance\":%g,\"steps\":%d,"
                   "\"weights\":\"%s\",\"real_n\":%lld}\n",
                   j.frechet_distance, (long long)n, w[i], so.steps, weights,
                   (long long)real.images.n);
        } else {
            printf("guidance %g, DDIM %d, %s weights, n = %lld: judge accuracy ", w[i], so.steps,
                   weights, (long long)n);
            if (isnan(j.judge_accuracy))
                printf("- (unconditional)");
            else
                printf("%.1f%%", 100.0 * j.judge_accuracy);
            printf(", Frechet distance %.3f (judge features, vs %lld real images)\n",
                   j.frechet_distance, (long long)real.images.n);
        }
        fflush(stdout);
    }
    rc = s == LC_OK ? 0 : cli_report(s);
    free(mu);
    free(cov);
    if (real.kind == LC_DATA_IMAGES) lc_data_free(&real);
    lc_classifier_free(judge);
    return rc;
}

int cmd_eval_diffusion(int argc, char **argv) {
    guidance_given = dif_cli_given(argc, argv, "--guidance");
    defaults();
    const cli_opt opts[] = {
        {"--n", OPT_INT, &o.n, "samples (0: 2000; text models 1000)", "N"},
        {"--steps", OPT_INT, &o.steps, "DDIM steps (0: 50)", "S"},
        {"--seed", OPT_INT, &o.seed, "seed of the samples", "S"},
        {"--bandwidth", OPT_FLOAT, &o.bandwidth, "2-D: RBF kernel bandwidth, in standardised units",
         "H"},
        {"--judge", OPT_STRING, &o.judge,
         "images: the classifier run that judges samples (text models: the shapes judge run)",
         "RUN"},
        {"--guidance", OPT_STRING, &o.guidance_list, "images: w, or a list 1,2,3 (default 4)", "W"},
        OPT_WEIGHTS,
        CLI_COMMON_OPTS,
        {NULL}};
    lc_device *dev;
    lc_diffusion *m;
    int rc;
    if (start("eval", "RUN [--n N] [--bandwidth H] [--judge CLASSIFIER_RUN] [--json]",
              "Evaluate a diffusion model: 2-D models by the MMD between samples and data; image "
              "models by a judge classifier (accuracy on the requested class, Frechet distance).",
              argc, argv, opts, &dev, &m, &rc))
        return rc;
    if (o.n < 0 || o.n > 100000 || !(o.bandwidth > 0)) {
        finish(dev, m);
        return cli_error("--n 1..100000, --bandwidth > 0");
    }
    if (o.guidance_list && lc_diffusion_get_config(m)->net == LC_DIF_NET_MLP)
        o.guidance = atof(o.guidance_list);
    if (lc_diffusion_get_config(m)->net == LC_DIF_NET_MLP)
        rc = eval_points(m);
    else if (!o.judge)
        rc = cli_error("eval of an image diffusion model needs --judge CLASSIFIER_RUN");
    else
        rc = eval_judge(m);
    finish(dev, m);
    return rc;
}
