// The CLIP verbs: `latentcl train clip`, `latentcl eval RUN` of a clip run (through
// cmd_eval.c's family table) and `latentcl zeroshot`.
#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"
#include "cli_run.h"
#include "cmd_clip.h"
#include "cmd_hmm.h" // hmm_heatmap_write: the confusion matrix picture

// ---- data ---------------------------------------------------------------------------------

const char *clip_cli_shapes_spec(int shapes) {
    return shapes == 1 ? "shapes-one" : shapes == 2 ? "shapes-two" : "shapes";
}

lc_status clip_cli_data(lc_dataset *out, const char *spec, lc_data_split split, int64_t count,
                        bool *absent, int *shapes) {
    memset(out, 0, sizeof *out);
    if (absent) *absent = false;
    if (shapes) *shapes = 0;
    int per = lc_data_shapes_spec(spec); // shapes, shapes-one, shapes-two: the data layer's
    if (per > 0 && shapes) *shapes = per;
    lc_data d;
    lc_data_options opt = {.split = split};
    if (per >= 0) opt.shapes_count = count > 0 ? count : split == LC_SPLIT_TEST ? 1000 : 60000;
    lc_status s = lc_data_open(&d, spec, &opt);
    if (s == LC_ERR_UNSUPPORTED && split == LC_SPLIT_TEST) {
        if (absent) {
            *absent = true;
            return LC_OK;
        }
        opt.split = LC_SPLIT_TRAIN;
        s = lc_data_open(&d, spec, &opt);
    }
    if (s != LC_OK) return s;
    if (d.kind != LC_DATA_IMAGES) {
        lc_data_free(&d);
        return lc_fail(LC_ERR_INVALID_ARG, "--data %s holds sequences, not images", spec);
    }
    if (!d.images.captions && !(d.images.labels && d.images.class_names)) {
        lc_data_free(&d);
        return lc_fail(LC_ERR_INVALID_ARG,
                       "--data %s has no captions (captions.tsv) and no class names to build "
                       "them from",
                       spec);
    }
    if (count > 0 && count < d.images.n) {
        int64_t *idx = malloc((size_t)count * sizeof *idx);
        if (!idx) s = lc_fail(LC_ERR_NOMEM, "out of memory");
        for (int64_t i = 0; idx && i < count; i++)
            idx[i] = i;
        if (s == LC_OK) s = lc_dataset_subset(out, &d.images, idx, count);
        free(idx);
        lc_data_free(&d);
        return s;
    }
    *out = d.images; // take the images; free the rest
    memset(&d.images, 0, sizeof d.images);
    lc_data_free(&d);
    return LC_OK;
}

// ---- latentcl train clip -----------------------------------------------------------------------

int cmd_train_clip(int argc, char **argv) {
    lc_train_options o;
    lc_train_options_default(&o);
    o.batch = 256; // shared/REFERENCE.md
    const char *data = "shapes", *templates = NULL;
    double word_dropout = 0;
    long count = 0, embed = 128, hidden = 256, text_dim = 128, layers = 2, heads = 4, max_len = 16;
    const cli_opt extra[] = {
        {"--data", OPT_STRING, &data,
         "shapes | shapes-one | shapes-two | fashion-mnist | mnist | DIR (PNGs + captions.tsv)",
         "SRC"},
        {"--count", OPT_INT, &count,
         "shapes: training items (0: 60000); other sources: the first N (0: all)", "N"},
        {"--templates", OPT_STRING, &templates,
         "training caption templates, one per line with {class} (labelled data without captions)",
         "FILE"},
        {"--embed", OPT_INT, &embed, "width of the shared embedding", "N"},
        {"--hidden", OPT_INT, &hidden, "dense width of the conv image encoder", "N"},
        {"--text-dim", OPT_INT, &text_dim, "text transformer width", "N"},
        {"--text-layers", OPT_INT, &layers, "text transformer blocks", "N"},
        {"--text-heads", OPT_INT, &heads, "attention heads", "N"},
        {"--max-len", OPT_INT, &max_len, "caption tokens with <bos> and <eos> (longer: cut)", "N"},
        {"--word-dropout", OPT_FLOAT, &word_dropout,
         "each training caption word becomes <unk> with probability P (robust zero-shot prompts "
         "with words outside the vocabulary)",
         "P"},
        {NULL},
    };
    lc_cfg_strings keep = {0};
    const char *pos[1];
    int npos = 0, code = 0;
    if (cli_train_parse("train clip",
                        "[--data SRC] [--templates FILE] [training options] --out RUN",
                        "Trains CLIP-style aligned image and caption embeddings (symmetric "
                        "InfoNCE, learnable temperature). Test recall@k (and zero-shot accuracy "
                        "for labelled data) after every epoch go into RUN/metrics.jsonl.",
                        argc, argv, &o, extra, &keep, pos, 0, &npos, &code)) {
        lc_cfg_strings_free(&keep);
        return code;
    }
    if (count < 0 || embed < 1 || hidden < 1 || text_dim < 1 || layers < 1 || heads < 1 ||
        max_len < 2) {
        lc_cfg_strings_free(&keep);
        return cli_error("--count, --embed, --hidden, --text-* and --max-len must be positive"), 2;
    }
    lc_dataset train = {0}, test = {0};
    lc_vocab vocab = {0};
    lc_clip_config cfg;
    lc_clip_config_default(&cfg, 0);
    bool no_test = false;
    int shapes = 0, rc = 0;
    lc_device *dev = NULL;
    lc_clip *m = NULL;
    lc_status s = LC_OK;
    if (templates) s = lc_templates_read(&cfg.templates, templates);
    if (s == LC_OK) s = clip_cli_data(&train, data, LC_SPLIT_TRAIN, count, NULL, &shapes);
    if (s == LC_OK) s = clip_cli_data(&test, data, LC_SPLIT_TEST, 0, &no_test, NULL);
    if (s == LC_OK) s = lc_clip_build_vocab(&vocab, &train, &cfg.templates);
    if (s == LC_OK) {
        cfg.channels = train.channels, cfg.height = train.height, cfg.width = train.width;
        cfg.hidden = (int)hidden, cfg.embed = (int)embed, cfg.shapes = shapes;
        cfg.word_dropout = word_dropout;
        cfg.text = (lc_text_config){vocab.size, max_len, text_dim, (int)layers, (int)heads};
        snprintf(cfg.data, sizeof cfg.data, "%s", data);
        s = lc_clip_config_check(&cfg);
    }
    if (s == LC_OK && (rc = cli_open_device(&dev)) == 0) {
        s = lc_clip_new(&m, dev, &cfg, &vocab, (uint64_t)o.seed);
        if (s == LC_OK) s = lc_clip_set_data(m, &train, no_test ? NULL : &test);
        lc_train_model tm;
        if (s == LC_OK) s = lc_clip_train_model(&tm, m);
        if (s == LC_OK) {
            rc = cli_train_run("train", dev, &tm, &o);
            // After the run, so that a failure stays one line on stderr.
            if (!rc && no_test)
                fprintf(stderr,
                        "latentcl: note: %s has no test split: no test figures (use "
                        "--val-split)\n",
                        data);
        }
    }
    if (s != LC_OK) rc = cli_report(s);
    lc_clip_free(m);
    cli_close_device(dev);
    lc_vocab_free(&vocab);
    lc_dataset_free(&train);
    lc_dataset_free(&test);
    lc_cfg_strings_free(&keep);
    return rc;
}

// ---- shared by eval and zeroshot --------------------------------------------------------------

static void json_number(cJSON *j, const char *key, double v) {
    if (isnan(v))
        cJSON_AddNullToObject(j, key);
    else
        cJSON_AddNumberToObject(j, key, v);
}

static void print_json(cJSON *j) {
    char *text = j ? cJSON_PrintUnformatted(j) : NULL;
    if (text) printf("%s\n", text);
    free(text);
    cJSON_Delete(j);
}

// Loads the clip run of RUN (which checkpoint, which weights): 0 or the exit code.
static int load_run(lc_clip **m, lc_device **dev, char *path, size_t cap, const char *run,
                    const char *which, const char *weights) {
    const char *prefix;
    int rc = cli_weights_prefix(&prefix, weights);
    if (!rc) rc = cli_run_checkpoint(path, cap, run, which);
    if (!rc) {
        lc_st_file *f = NULL;
        if (lc_st_open(&f, path) != LC_OK) return cli_report(LC_ERR_FORMAT);
        const char *family = lc_st_meta_get(f, LC_META_FAMILY);
        if (!family || strcmp(family, LC_CLIP_FAMILY))
            rc = cli_error("%s holds a %s model, not a clip model", path,
                           family ? family : "(unknown family)");
        lc_st_close(f);
    }
    if (!rc) rc = cli_open_device(dev);
    if (rc) return rc;
    lc_status s = lc_clip_load(m, *dev, path, *prefix != '\0');
    return s == LC_OK ? 0 : cli_report(s);
}

// ---- latentcl eval RUN (a clip run) -----------------------------------------------------------

int cmd_eval_clip(int argc, char **argv) {
    const char *which = "last", *weights = "raw", *data = NULL, *templates = NULL;
    long n = 1000;
    const cli_opt opts[] = {
        {"--checkpoint", OPT_STRING, &which, "last or best (runs with --val-split)", "C"},
        {"--weights", OPT_STRING, &weights, "raw or ema (the EMA of the weights)", "W"},
        {"--data", OPT_STRING, &data, "test pairs (default: the run's --data, test split)", "SRC"},
        {"--n", OPT_INT, &n, "pairs ranked for retrieval (the first N of the test split)", "N"},
        {"--templates", OPT_STRING, &templates,
         "zero-shot templates, one per line with {class} (default: the held-out two)", "FILE"},
        CLI_COMMON_OPTS,
        {NULL},
    };
    const char *run = NULL;
    int code = 0;
    if (cli_parse_one("eval", "RUN [--data SRC] [--n N] [--templates FILE] [--json]",
                      "Retrieval recall@1/5/10 in both directions over N test pairs (a hit when "
                      "the retrieved caption is word for word the true one: shapes captions "
                      "repeat) and zero-shot accuracy on the whole test split where it has "
                      "classes.",
                      argc, argv, opts, "RUN", &run, &code))
        return code;
    if (n < 1) return cli_error("--n must be >= 1"), 2;
    lc_templates zs;
    lc_templates_zeroshot(&zs);
    if (templates) {
        lc_status s = lc_templates_read(&zs, templates);
        if (s != LC_OK) return cli_report(s);
    }
    char path[4096];
    lc_device *dev = NULL;
    lc_clip *m = NULL;
    int rc = load_run(&m, &dev, path, sizeof path, run, which, weights);
    lc_dataset d = {0};
    lc_clip_eval ev;
    lc_status s = LC_OK;
    if (!rc) {
        const lc_clip_config *c = lc_clip_get_config(m);
        const char *src = data ? data : c->shapes ? clip_cli_shapes_spec(c->shapes) : c->data;
        if (!*src)
            s = lc_fail(LC_ERR_INVALID_ARG, "%s does not record its data: give --data", path);
        if (s == LC_OK) s = clip_cli_data(&d, src, LC_SPLIT_TEST, 0, NULL, NULL);
        if (s == LC_OK) s = lc_clip_evaluate(m, &ev, &d, n, &zs);
        if (s != LC_OK) rc = cli_report(s);
    }
    if (!rc) {
        static const char *const ks[3] = {"1", "5", "10"};
        if (g_cli.json) {
            cJSON *j = cJSON_CreateObject();
            char key[32];
            for (int q = 0; q < 3; q++) {
                snprintf(key, sizeof key, "recall_at_%s_i2t", ks[q]);
                json_number(j, key, ev.retrieval.recall_i2t[q]);
                snprintf(key, sizeof key, "recall_at_%s_t2i", ks[q]);
                json_number(j, key, ev.retrieval.recall_t2i[q]);
            }
            cJSON_AddNumberToObject(j, "n", (double)ev.retrieval.n);
            json_number(j, "zeroshot_accuracy", ev.zeroshot_accuracy);
            if (!isnan(ev.zeroshot_accuracy))
                cJSON_AddNumberToObject(j, "zeroshot_n", (double)ev.zeroshot_n);
            cJSON_AddStringToObject(j, "checkpoint", path);
            print_json(j);
        } else {
            printf("retrieval over %lld test pairs (hit: the caption word for word)\n",
                   (long long)ev.retrieval.n);
            for (int q = 0; q < 3; q++)
                printf("  recall@%-2s image->text %6.2f%%   text->image %6.2f%%\n", ks[q],
                       100 * ev.retrieval.recall_i2t[q], 100 * ev.retrieval.recall_t2i[q]);
            if (!isnan(ev.zeroshot_accuracy))
                printf("zero-shot accuracy %.2f%% over %lld images\n", 100 * ev.zeroshot_accuracy,
                       (long long)ev.zeroshot_n);
        }
    }
    lc_dataset_free(&d);
    lc_clip_free(m);
    cli_close_device(dev);
    return rc;
}

// ---- latentcl zeroshot RUN ---------------------------------------------------------------------

// RUN/zeroshot_confusion.png for a folder; beside the file otherwise.
static void default_png(char *out, size_t cap, const char *run) {
    struct stat st;
    if (stat(run, &st) == 0 && S_ISDIR(st.st_mode)) {
        snprintf(out, cap, "%s/zeroshot_confusion.png", run);
        return;
    }
    const char *slash = strrchr(run, '/');
    if (!slash)
        snprintf(out, cap, "zeroshot_confusion.png");
    else
        snprintf(out, cap, "%.*s/zeroshot_confusion.png", (int)(slash - run), run);
}

int cmd_zeroshot(int argc, char **argv) {
    const char *which = "last", *weights = "raw", *data = NULL, *templates = NULL, *out = NULL,
               *split = "test";
    const cli_opt opts[] = {
        {"--data", OPT_STRING, &data, "labelled images: fashion-mnist, mnist or DIR", "SRC"},
        {"--split", OPT_STRING, &split, "test or train", "S"},
        {"--templates", OPT_STRING, &templates,
         "prompt templates, one per line with {class} (default: the two held out of training)",
         "FILE"},
        {"--out", OPT_STRING, &out, "confusion matrix PNG (default: RUN/zeroshot_confusion.png)",
         "PNG"},
        CLIP_CLI_LOAD_OPTS(&which, &weights),
        CLI_COMMON_OPTS,
        {NULL},
    };
    const char *run = NULL;
    int code = 0;
    if (cli_parse_one("zeroshot", "RUN --data SRC [--templates FILE] [--out PNG] [--json]",
                      "Zero-shot classification by prompts: each class is the mean embedding of "
                      "its templates filled with the class name; an image takes the nearest "
                      "class. Prints the accuracy and draws the confusion matrix.",
                      argc, argv, opts, "RUN", &run, &code))
        return code;
    if (strcmp(split, "test") && strcmp(split, "train"))
        return cli_error("--split must be test or train, not '%s'", split), 2;
    lc_templates zs;
    lc_templates_zeroshot(&zs);
    if (templates) {
        lc_status s = lc_templates_read(&zs, templates);
        if (s != LC_OK) return cli_report(s);
    }
    char path[4096], png[4096];
    if (out)
        snprintf(png, sizeof png, "%s", out);
    else
        default_png(png, sizeof png, run);
    // Before the model and the data: a bad --out fails at once, as its only message.
    if (cli_check_out(png)) return 1;
    lc_device *dev = NULL;
    lc_clip *m = NULL;
    int rc = load_run(&m, &dev, path, sizeof path, run, which, weights);
    lc_dataset d = {0};
    int64_t *conf = NULL, unknown = 0;
    double acc = NAN;
    lc_status s = LC_OK;
    if (!rc) {
        const char *src = data ? data : lc_clip_get_config(m)->data;
        lc_data_split sp = !strcmp(split, "test") ? LC_SPLIT_TEST : LC_SPLIT_TRAIN;
        if (!*src) s = lc_fail(LC_ERR_INVALID_ARG, "give --data SRC (labelled images)");
        if (s == LC_OK) s = clip_cli_data(&d, src, sp, 0, NULL, NULL);
        if (s == LC_OK && (!d.labels || !d.class_names || d.n_classes < 2))
            s = lc_fail(LC_ERR_INVALID_ARG, "--data %s has no labelled classes to name", src);
        if (s == LC_OK && !(conf = calloc((size_t)d.n_classes * d.n_classes, sizeof *conf)))
            s = lc_fail(LC_ERR_NOMEM, "out of memory");
        if (s == LC_OK) s = lc_clip_zeroshot(m, &acc, conf, &d, &zs, &unknown);
        if (s == LC_OK && unknown > 0)
            fprintf(stderr,
                    "latentcl: warning: %lld prompt words are not in the model's vocabulary "
                    "and read as <unk>\n",
                    (long long)unknown);
        if (s == LC_OK) {
            int K = d.n_classes;
            double *rate = malloc((size_t)K * K * sizeof *rate);
            if (!rate) s = lc_fail(LC_ERR_NOMEM, "out of memory");
            for (int r = 0; rate && r < K; r++) {
                int64_t total = 0;
                for (int c = 0; c < K; c++)
                    total += conf[r * K + c];
                for (int c = 0; c < K; c++)
                    rate[r * K + c] = total ? (double)conf[r * K + c] / (double)total : 0;
            }
            char title[160];
            snprintf(title, sizeof title, "zero-shot %.1f%% (rows: true, columns: predicted)",
                     100 * acc);
            // Rows "3 Dress", columns "3": class names are too wide for a column.
            char **rows = calloc((size_t)K, sizeof *rows), **cols = calloc((size_t)K, sizeof *cols);
            for (int k = 0; rows && cols && k < K; k++) {
                rows[k] = malloc(strlen(d.class_names[k]) + 16);
                cols[k] = malloc(16);
                if (rows[k]) sprintf(rows[k], "%d %s", k, d.class_names[k]);
                if (cols[k]) sprintf(cols[k], "%d", k);
                if (!rows[k] || !cols[k]) s = lc_fail(LC_ERR_NOMEM, "out of memory");
            }
            if (!rows || !cols) s = lc_fail(LC_ERR_NOMEM, "out of memory");
            if (s == LC_OK)
                s = hmm_heatmap_write(png, rate, K, K, (const char *const *)rows,
                                      (const char *const *)cols, title);
            for (int k = 0; k < K; k++) {
                if (rows) free(rows[k]);
                if (cols) free(cols[k]);
            }
            free(rows), free(cols);
            free(rate);
        }
        if (s != LC_OK) rc = cli_report(s);
    }
    if (!rc) {
        if (g_cli.json) {
            cJSON *j = cJSON_CreateObject(), *t = cJSON_CreateArray();
            cJSON_AddNumberToObject(j, "zeroshot_accuracy", acc);
            cJSON_AddNumberToObject(j, "n", (double)d.n);
            for (int i = 0; i < zs.n; i++)
                cJSON_AddItemToArray(t, cJSON_CreateString(zs.items[i]));
            cJSON_AddItemToObject(j, "templates", t);
            cJSON_AddStringToObject(j, "confusion_png", png);
            print_json(j);
        } else {
            printf("zero-shot accuracy %.2f%% over %lld images, %d templates:", 100 * acc,
                   (long long)d.n, zs.n);
            for (int i = 0; i < zs.n; i++)
                printf("%s \"%s\"", i ? "," : "", zs.items[i]);
            printf("\nconfusion matrix: %s\n", png);
        }
    }
    free(conf);
    lc_dataset_free(&d);
    lc_clip_free(m);
    cli_close_device(dev);
    return rc;
}
