// latentcl train hmm — fit an HMM by Baum-Welch (hidden states) or counting
// (--state-labels), write the run folder: config.json, metrics.jsonl, curves.png,
// last.safetensors and, for categorical models, transmat.png and emissionprob.png.
#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"
#include "cli_dist.h"
#include "cmd_hmm.h"
#include "latentcl/checkpoint.h"
#include "latentcl/device.h"
#include "latentcl/plot.h"
#include "latentcl/run.h"

// ---- helpers shared by the HMM verbs -----------------------------------------------------

int hmm_cli_open_data(lc_data *out, const char *spec, const hmm_text_flags *f) {
    lc_data_options o = {0};
    o.text.tokens = f->tokens;
    o.text.lowercase = f->lowercase;
    o.text.alphabet = f->alphabet;
    lc_status s = lc_data_open(out, spec, &o);
    if (s != LC_OK) return cli_report(s);
    if (out->kind != LC_DATA_SEQUENCES) {
        lc_data_free(out);
        return cli_error("--data %s: not sequences (use words, a .txt or a .csv file)", spec);
    }
    return 0;
}

void hmm_cli_checkpoint_path(char *out, size_t cap, const char *run) {
    struct stat st;
    if (stat(run, &st) == 0 && S_ISDIR(st.st_mode))
        snprintf(out, cap, "%s/%s", run, LC_RUN_LAST);
    else
        snprintf(out, cap, "%s", run);
}

int hmm_cli_load(lc_hmm *h, lc_hmm_meta *meta, const char *run) {
    char path[4096];
    hmm_cli_checkpoint_path(path, sizeof path, run);
    lc_status s = lc_hmm_load(h, meta, path);
    return s == LC_OK ? 0 : cli_report(s);
}

lc_status hmm_map_to_model(lc_sequences *x, const lc_hmm *h, const lc_alphabet *model) {
    if (h->emission != LC_HMM_CATEGORICAL) return LC_OK;
    if (!x->symbols)
        return lc_fail(LC_ERR_INVALID_ARG,
                       "the model is categorical: --data must be text, not CSV");
    if (!model || model->size == 0) { // no alphabet stored: the data's indices are the model's
        if (x->alphabet.size > h->m)
            return lc_fail(LC_ERR_FORMAT, "the data has %d symbols, the model %d", x->alphabet.size,
                           h->m);
        return LC_OK;
    }
    int *map = malloc((size_t)(x->alphabet.size > 0 ? x->alphabet.size : 1) * sizeof(int));
    if (!map) return lc_fail(LC_ERR_NOMEM, "out of memory");
    for (int i = 0; i < x->alphabet.size; i++)
        map[i] = lc_alphabet_index(model, x->alphabet.symbols[i]);
    lc_status s = LC_OK;
    for (int64_t b = 0; b < x->n && s == LC_OK; b++)
        for (int64_t t = x->offsets[b]; t < x->offsets[b + 1]; t++) {
            int m = map[x->symbols[t]];
            if (m < 0) {
                s = lc_fail(LC_ERR_FORMAT, "%s %lld: symbol '%s' is not in the model's alphabet",
                            x->n_dropped ? "sequence" : "line", (long long)b + 1,
                            x->alphabet.symbols[x->symbols[t]]);
                break;
            }
            x->symbols[t] = m;
        }
    free(map);
    return s;
}

// ---- train hmm ---------------------------------------------------------------------------

typedef struct {
    lc_run *run;
    int restarts;
    bool json;
    lc_status log_status;
    long step;
    double elapsed; // seconds in EM so far
} train_ctx;

static int on_iteration(void *user, const lc_hmm_iter_info *it) {
    train_ctx *c = user;
    if (c->json)
        printf("{\"restart\":%d,\"iter\":%d,\"log_likelihood\":%.10g,\"gain\":%.6g,\"seconds\":%."
               "4f}\n",
               it->restart, it->iter, it->log_likelihood, isnan(it->gain) ? 0.0 : it->gain,
               it->seconds);
    else if (c->restarts > 1)
        printf("restart %d iter %4d  log-likelihood %.6f  gain %-12.6g %.3f s\n", it->restart,
               it->iter, it->log_likelihood, isnan(it->gain) ? 0.0 : it->gain, it->seconds);
    else
        printf("iter %4d  log-likelihood %.6f  gain %-12.6g %.3f s\n", it->iter, it->log_likelihood,
               isnan(it->gain) ? 0.0 : it->gain, it->seconds);
    if (it->decreased)
        fprintf(stderr,
                "latentcl: warning: the log-likelihood fell by %.3g at iteration %d "
                "(more than rounding: check the data or --params)\n",
                -it->gain, it->iter);
    fflush(stdout);
    // step counts iterations over all restarts, so each restart's curve follows the last
    lc_metric m[] = {{"step", (double)++c->step},
                     {"log_likelihood", it->log_likelihood},
                     {"elapsed_s", c->elapsed += it->seconds},
                     {"restart", it->restart}};
    if (c->run && c->log_status == LC_OK)
        c->log_status = lc_run_log_metrics(c->run, m, c->restarts > 1 ? 4 : 3);
    return cli_interrupted() ? 1 : 0;
}

// Labels: one line per sequence, aligned with the data; tokens when a line has spaces.
static int read_labels(int32_t **labels, lc_hmm_meta *meta, int *k, const char *path,
                       const lc_sequences *x) {
    size_t n = 0;
    FILE *f = fopen(path, "rb");
    bool spaces = false;
    if (f) {
        int ch;
        while ((ch = fgetc(f)) != EOF && n++ < (1u << 20))
            if (ch == ' ' || ch == '\t') spaces = true;
        fclose(f);
    }
    lc_sequences l;
    lc_text_options o = {.tokens = spaces};
    lc_status s = lc_sequences_read_text(&l, path, &o);
    if (s != LC_OK) return cli_report(s);
    int rc = 0;
    if (l.n != x->n) {
        rc = cli_error("--state-labels %s: %lld lines, the data has %lld sequences", path,
                       (long long)l.n, (long long)x->n);
    } else {
        for (int64_t b = 0; b < x->n && !rc; b++)
            if (lc_sequence_length(&l, b) != lc_sequence_length(x, b))
                rc = cli_error("--state-labels %s: line %lld has %lld labels, the data's sequence "
                               "has %lld steps",
                               path, (long long)b + 1, (long long)lc_sequence_length(&l, b),
                               (long long)lc_sequence_length(x, b));
    }
    if (!rc) {
        *k = l.alphabet.size;
        *labels = l.symbols;
        l.symbols = NULL;
        meta->n_states = l.alphabet.size;
        meta->state_names = l.alphabet.symbols;
        l.alphabet.symbols = NULL;
        l.alphabet.size = 0;
    }
    lc_sequences_free(&l);
    return rc;
}

// The K most likely symbols of each state, in the log.
static void print_top_symbols(const lc_hmm *h, const lc_alphabet *a, FILE *out) {
    int top = h->m < 8 ? h->m : 8;
    int *idx = malloc((size_t)h->m * sizeof(int));
    if (!idx) return;
    for (int k = 0; k < h->k; k++) {
        const double *row = h->emissionprob + (size_t)k * h->m;
        for (int m = 0; m < h->m; m++)
            idx[m] = m;
        for (int i = 0; i < top; i++) // partial selection sort
            for (int j = i + 1; j < h->m; j++)
                if (row[idx[j]] > row[idx[i]]) {
                    int t = idx[i];
                    idx[i] = idx[j], idx[j] = t;
                }
        fprintf(out, "state %d:", k);
        for (int i = 0; i < top; i++) {
            if (a && a->size == h->m)
                fprintf(out, " %s %.3f", a->symbols[idx[i]], row[idx[i]]);
            else
                fprintf(out, " %d %.3f", idx[i], row[idx[i]]);
        }
        fprintf(out, "\n");
    }
    free(idx);
}

static int write_pictures(const lc_run *run, const lc_hmm *h, const lc_hmm_meta *meta) {
    char path[4096];
    int k = h->k;
    char **states = malloc((size_t)k * sizeof(char *));
    if (!states) return cli_error("out of memory");
    char(*names)[16] = malloc((size_t)k * sizeof *names);
    if (!names) {
        free(states);
        return cli_error("out of memory");
    }
    for (int i = 0; i < k; i++) {
        if (meta->state_names)
            states[i] = meta->state_names[i];
        else
            snprintf(names[i], sizeof names[i], "%d", i), states[i] = names[i];
    }
    lc_status s = lc_run_path(run, "transmat.png", path, sizeof path);
    if (s == LC_OK)
        s = hmm_heatmap_write(path, h->transmat, k, k, (const char *const *)states,
                              (const char *const *)states, "transmat (from row to column)");
    if (s == LC_OK && h->emission == LC_HMM_CATEGORICAL) {
        s = lc_run_path(run, "emissionprob.png", path, sizeof path);
        const char *const *cols =
            meta->alphabet.size == h->m ? (const char *const *)meta->alphabet.symbols : NULL;
        if (s == LC_OK)
            s = hmm_heatmap_write(path, h->emissionprob, k, h->m, (const char *const *)states, cols,
                                  "emissionprob (state by symbol)");
    }
    free(states);
    free(names);
    return s == LC_OK ? 0 : cli_report(s);
}

// --params / --init-params: letters of "ste" (categorical) or "stmc" (Gaussian).
static bool letters_ok(const char *flag, const char *v, lc_hmm_emission kind) {
    const char *all = kind == LC_HMM_GAUSSIAN ? "stmc" : "ste";
    for (const char *p = v; p && *p; p++)
        if (!strchr(all, *p)) {
            cli_error("train hmm: %s '%s': '%c' is not one of %s (%s emissions)", flag, v, *p, all,
                      lc_hmm_emission_name(kind));
            return false;
        }
    return true;
}

static cJSON *config_json(const char *data, const lc_hmm *h, const lc_hmm_fit_options *o,
                          const hmm_text_flags *tf, const char *init, const char *labels,
                          const char *device) {
    cJSON *c = cJSON_CreateObject();
    cJSON_AddStringToObject(c, "family", "hmm");
    cJSON_AddStringToObject(c, "data", data);
    cJSON_AddNumberToObject(c, "n_states", h->k);
    cJSON_AddStringToObject(c, "emission", lc_hmm_emission_name(h->emission));
    if (h->emission == LC_HMM_CATEGORICAL)
        cJSON_AddNumberToObject(c, "n_symbols", h->m);
    else
        cJSON_AddNumberToObject(c, "n_dims", h->d);
    cJSON_AddNumberToObject(c, "iters", o->iters);
    cJSON_AddNumberToObject(c, "tol", o->tol);
    cJSON_AddNumberToObject(c, "restarts", o->restarts);
    cJSON_AddNumberToObject(c, "seed", (double)o->seed);
    const char *all = h->emission == LC_HMM_GAUSSIAN ? "stmc" : "ste";
    cJSON_AddStringToObject(c, "params", o->params ? o->params : all);
    cJSON_AddStringToObject(c, "init_params", o->init_params ? o->init_params : all);
    cJSON_AddNumberToObject(c, "min_covar", o->mstep.min_covar);
    cJSON_AddNumberToObject(c, "smoothing", o->mstep.smoothing);
    cJSON_AddBoolToObject(c, "tokens", tf->tokens);
    cJSON_AddBoolToObject(c, "lowercase", tf->lowercase);
    if (tf->alphabet) cJSON_AddStringToObject(c, "alphabet", tf->alphabet);
    if (init) cJSON_AddStringToObject(c, "init", init);
    if (labels) cJSON_AddStringToObject(c, "state_labels", labels);
    if (device) cJSON_AddStringToObject(c, "device", device);
    return c;
}

int cmd_train_hmm(int argc, char **argv) {
    const char *data = NULL, *out = NULL, *emission = NULL, *params = NULL, *init_params = NULL;
    const char *init = NULL, *labels_path = NULL;
    long k = 2, iters = 100, restarts = 1, seed = 0;
    double tol = 1e-2, min_covar = 1e-3, smoothing = 0;
    bool force = false;
    hmm_text_flags tf = {0};
    const cli_opt opts[] = {
        {"--data", OPT_STRING, &data, "words, a .txt (one sequence per line) or a .csv", "SPEC"},
        {"--out", OPT_STRING, &out, "run folder to create", "RUN"},
        {"--n-states", OPT_INT, &k, "hidden states K", "K"},
        {"--emission", OPT_STRING, &emission, "categorical | gaussian (default: from the data)",
         "E"},
        {"--iters", OPT_INT, &iters, "most EM iterations", "N"},
        {"--tol", OPT_FLOAT, &tol, "stop when the log-likelihood gains less than this", "X"},
        {"--restarts", OPT_INT, &restarts, "random restarts; the best is kept", "N"},
        {"--seed", OPT_INT, &seed, "seed of the random initialisation", "S"},
        {"--params", OPT_STRING, &params, "what EM updates: letters of ste / stmc (default all)",
         "P"},
        {"--init-params", OPT_STRING, &init_params,
         "what is initialised at random (default all; '' with --init)", "P"},
        {"--init", OPT_STRING, &init, "start from this checkpoint (hmmlearn names)", "FILE"},
        {"--state-labels", OPT_STRING, &labels_path,
         "observed states, one line per sequence: fit by counting", "FILE"},
        {"--smoothing", OPT_FLOAT, &smoothing, "counting: add this to every count", "A"},
        {"--min-covar", OPT_FLOAT, &min_covar, "Gaussian variance floor", "X"},
        HMM_TEXT_OPTS(tf),
        {"--force", OPT_FLAG, &force, "replace the files of an existing run folder", NULL},
        CLI_COMMON_OPTS,
        {NULL}};
    int code;
    if (cli_parse(
            "train hmm",
            "--data words|FILE --out RUN [--n-states K] [--emission categorical|gaussian] "
            "[--iters N --tol X --restarts N --seed S --params P --init-params P --init FILE | "
            "--state-labels FILE]",
            "Fit a hidden Markov model by Baum-Welch (EM on the device) or, with\n"
            "--state-labels, by counting. Prints the log-likelihood per iteration.",
            argc, argv, 1, opts, NULL, 0, NULL, &code))
        return code;
    if (!data) return cli_error("train hmm: --data is required"), 2;
    if (!out) return cli_error("train hmm: --out RUN is required"), 2;
    if (k < 1) return cli_error("train hmm: --n-states must be >= 1 (got %ld)", k);
    if (iters < 1 || restarts < 1)
        return cli_error("train hmm: --iters and --restarts must be >= 1");
    lc_hmm_emission kind = LC_HMM_CATEGORICAL;
    if (emission && lc_hmm_emission_parse(&kind, emission))
        return cli_error("train hmm: --emission must be categorical or gaussian (got '%s')",
                         emission),
               2;
    lc_data d;
    if (hmm_cli_open_data(&d, data, &tf)) return 1;
    lc_sequences *x = &d.sequences;
    if (!emission) kind = x->values ? LC_HMM_GAUSSIAN : LC_HMM_CATEGORICAL;
    int rc = 0;
    lc_hmm h = {0};
    lc_hmm_meta meta = {0};
    int32_t *labels = NULL;
    lc_device *dev = NULL;
    lc_run *run = NULL;
    lc_hmm_fit_result fit = {0};
    lc_status s = LC_OK;
    if ((kind == LC_HMM_GAUSSIAN) != (x->values != NULL)) {
        rc = cli_error("train hmm: %s emissions need %s data", lc_hmm_emission_name(kind),
                       kind == LC_HMM_GAUSSIAN ? "numeric (.csv)" : "text");
        goto done;
    }
    if (!letters_ok("--params", params, kind) || !letters_ok("--init-params", init_params, kind)) {
        rc = 2;
        goto done;
    }
    if (labels_path) {
        int kl = 0;
        if ((rc = read_labels(&labels, &meta, &kl, labels_path, x))) goto done;
        if (kl > k) k = kl;
    }
    if (init) {
        lc_hmm_meta im;
        if ((rc = hmm_cli_load(&h, &im, init))) goto done;
        if (h.emission != kind && emission) {
            lc_hmm_meta_free(&im);
            rc = cli_error("--init %s holds a %s model, not %s", init,
                           lc_hmm_emission_name(h.emission), lc_hmm_emission_name(kind));
            goto done;
        }
        s = hmm_map_to_model(x, &h, &im.alphabet);
        lc_hmm_meta_free(&im);
        if (s != LC_OK) goto done;
        if (!init_params) init_params = "";
    } else {
        int md = kind == LC_HMM_GAUSSIAN ? x->dim : x->alphabet.size;
        if ((s = lc_hmm_init(&h, (int)k, kind, md)) != LC_OK) goto done;
    }
    // The checkpoint's metadata: the data's alphabet or columns.
    if (h.emission == LC_HMM_CATEGORICAL && x->alphabet.size == h.m) {
        meta.alphabet = x->alphabet;
        x->alphabet = (lc_alphabet){0};
    }
    if (h.emission == LC_HMM_GAUSSIAN && x->column_names) {
        meta.n_columns = x->dim;
        meta.column_names = x->column_names;
        x->column_names = NULL;
    }
    meta.tokens = tf.tokens;
    if (cli_open_device(&dev)) {
        rc = 1;
        goto done;
    }
    // Under mpirun rank 0 alone writes the run folder (run stays NULL on the others).
    if (cli_dist_writer() &&
        (s = lc_run_open(&run, out, force ? LC_RUN_FORCE : LC_RUN_NEW)) != LC_OK)
        goto done;
    lc_hmm_fit_options o;
    lc_hmm_fit_defaults(&o);
    o.iters = (int)iters, o.tol = tol, o.restarts = (int)restarts, o.seed = (uint64_t)seed;
    o.params = params, o.init_params = init_params;
    o.mstep.min_covar = min_covar, o.mstep.smoothing = smoothing;
    train_ctx ctx = {run, (int)restarts, g_cli.json, LC_OK, 0, 0};
    o.progress = on_iteration, o.progress_ctx = &ctx;
    cJSON *cfg = config_json(data, &h, &o, &tf, init, labels_path, lc_device_get_info(dev)->name);
    char *cfg_text = cfg ? cJSON_PrintUnformatted(cfg) : NULL;
    if (cfg && run) s = lc_run_write_config(run, cfg);
    cJSON_Delete(cfg);
    cli_sigint_install();
    double ll = NAN;
    if (s == LC_OK && labels) {
        s = lc_hmm_fit_counts(&h, x, labels, &o.mstep);
        if (s == LC_OK) {
            lc_hmm_device *hd = NULL;
            s = lc_hmm_device_new(&hd, dev, &h, x);
            if (s == LC_OK) s = lc_hmm_score_device(NULL, &ll, hd, &h);
            lc_hmm_device_free(hd);
        }
    } else if (s == LC_OK) {
        s = lc_hmm_fit(&h, &fit, dev, x, &o);
        ll = fit.log_likelihood;
        if (s == LC_ERR_CANCELLED)
            fprintf(stderr, "latentcl: interrupted: saving the model so far\n");
    }
    if (run && (s == LC_OK || s == LC_ERR_CANCELLED)) {
        char path[4096];
        lc_status w = lc_run_path(run, LC_RUN_LAST, path, sizeof path);
        if (w == LC_OK) w = lc_hmm_save(path, &h, &meta, cfg_text);
        if (w == LC_OK && ctx.log_status != LC_OK) w = ctx.log_status;
        if (w == LC_OK && !labels) {
            char metrics[4096], png[4096];
            if (lc_run_path(run, LC_RUN_METRICS, metrics, sizeof metrics) == LC_OK &&
                lc_run_path(run, LC_RUN_CURVES, png, sizeof png) == LC_OK)
                w = lc_plot_metrics(metrics, png, NULL);
        }
        if (w == LC_OK) rc = write_pictures(run, &h, &meta);
        if (w != LC_OK) s = w;
    }
    free(cfg_text);
    if (s == LC_OK && !rc && run) {
        if (h.emission == LC_HMM_CATEGORICAL && !g_cli.json)
            print_top_symbols(&h, &meta.alphabet, stdout);
        double aic = lc_hmm_aic(&h, ll), bic = lc_hmm_bic(&h, ll, x->n_steps);
        if (g_cli.json)
            printf(
                "{\"log_likelihood\":%.10g,\"iterations\":%d,\"converged\":%s,\"n_sequences\":%lld,"
                "\"n_observations\":%lld,\"aic\":%.10g,\"bic\":%.10g,\"run\":\"%s\"}\n",
                ll, fit.iterations, fit.converged ? "true" : "false", (long long)x->n,
                (long long)x->n_steps, aic, bic, lc_run_dir(run));
        else
            printf("%s: log-likelihood %.6f over %lld sequences (%lld steps)%s; AIC %.1f BIC %.1f "
                   "-> %s\n",
                   labels          ? "counted"
                   : fit.converged ? "converged"
                                   : "stopped",
                   ll, (long long)x->n, (long long)x->n_steps,
                   labels          ? ""
                   : fit.converged ? ""
                                   : " (--iters reached)",
                   aic, bic, lc_run_dir(run));
    }
done:
    if (s != LC_OK && !rc) rc = cli_report(s);
    lc_hmm_fit_result_free(&fit);
    lc_run_close(run);
    cli_close_device(dev);
    free(labels);
    lc_hmm_meta_free(&meta);
    lc_hmm_free(&h);
    lc_data_free(&d);
    return rc;
}
