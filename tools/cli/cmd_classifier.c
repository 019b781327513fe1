// The classifier's verbs: `latentcl train classifier`, its `eval` (reached through
// cmd_eval.c's family table) and `latentcl predict`.
#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "cli_run.h"
#include "latentcl/classifier.h"
#include "latentcl/image.h"

// Prints a cJSON object as one line and frees it.
static void print_json(cJSON *j) {
    char *text = j ? cJSON_PrintUnformatted(j) : NULL;
    if (text) printf("%s\n", text);
    free(text);
    cJSON_Delete(j);
}

// Opens the images of --data SRC, split; *absent (may be NULL) is set instead of failing
// when the source has no such split (an image folder has no test split).
static lc_status open_images(lc_data *d, const char *spec, lc_data_split split, bool *absent) {
    memset(d, 0, sizeof *d);
    lc_data_options opt = {.split = split};
    lc_status s = lc_data_open(d, spec, &opt);
    if (s == LC_ERR_UNSUPPORTED && absent) {
        *absent = true;
        return LC_OK;
    }
    if (s == LC_OK && d->kind != LC_DATA_IMAGES) {
        lc_data_free(d);
        return lc_fail(LC_ERR_INVALID_ARG, "--data %s holds sequences, not images", spec);
    }
    if (s == LC_OK && !d->images.labels) {
        lc_data_free(d);
        return lc_fail(LC_ERR_INVALID_ARG,
                       "--data %s has no labels (a folder needs a label column in captions.tsv)",
                       spec);
    }
    return s;
}

// ---- latentcl train classifier ------------------------------------------------------------

int cmd_train_classifier(int argc, char **argv) {
    if (cli_wants_shapes_judge(argc, argv)) return cmd_train_shapes_judge(argc, argv);
    lc_train_options o;
    lc_train_options_default(&o);
    const char *data = "fashion-mnist", *model = "mlp";
    long subset = 0;
    const cli_opt extra[] = {
        {"--data", OPT_STRING, &data,
         "fashion-mnist, mnist, shapes (the multi-head shapes judge), or DIR (IDX files, or PNGs "
         "with labels in captions.tsv)",
         "SRC"},
        {"--model", OPT_STRING, &model, "mlp (784-512-256-10) or conv (shared/REFERENCE.md)", "M"},
        {"--subset", OPT_INT, &subset, "train on the first N training images only (0: all)", "N"},
        {NULL},
    };
    lc_cfg_strings keep = {0};
    const char *pos[1];
    int npos = 0, code = 0;
    if (cli_train_parse("train classifier",
                        "[--data SRC] [--model mlp|conv] "
                        "[training options] --out RUN",
                        "Trains an image classifier; test accuracy after every epoch goes into "
                        "RUN/metrics.jsonl (test_accuracy).",
                        argc, argv, &o, extra, &keep, pos, 0, &npos, &code)) {
        lc_cfg_strings_free(&keep);
        return code;
    }
    lc_classifier_kind kind;
    if (lc_classifier_kind_parse(&kind, model) != LC_OK || subset < 0) {
        int rc = subset < 0 ? cli_error("--subset must be >= 0") : cli_report(LC_ERR_INVALID_ARG);
        lc_cfg_strings_free(&keep);
        return rc == 1 ? 2 : rc;
    }
    lc_data train = {0}, test = {0};
    lc_dataset part = {0};
    bool no_test = false;
    lc_device *dev = NULL;
    lc_classifier *m = NULL;
    int rc = 0;
    lc_status s = open_images(&train, data, LC_SPLIT_TRAIN, NULL);
    if (s == LC_OK) s = open_images(&test, data, LC_SPLIT_TEST, &no_test);
    const lc_dataset *train_set = &train.images;
    if (s == LC_OK && subset > 0 && subset < train.images.n) {
        int64_t *idx = malloc((size_t)subset * sizeof *idx);
        if (!idx) s = lc_fail(LC_ERR_NOMEM, "out of memory");
        for (int64_t i = 0; idx && i < subset; i++)
            idx[i] = i;
        if (s == LC_OK) s = lc_dataset_subset(&part, &train.images, idx, subset);
        free(idx);
        train_set = &part;
    }
    if (s == LC_OK && (rc = cli_open_device(&dev)) == 0) {
        s = lc_classifier_for_dataset(&m, dev, kind, train_set, (uint64_t)o.seed);
        if (s == LC_OK) s = lc_classifier_set_data(m, data);
        if (s == LC_OK) {
            cli_progress pr;
            cli_progress_begin(&pr, "train");
            cli_sigint_install();
            lc_train_result res;
            s = lc_classifier_train(&res, m, train_set, no_test ? NULL : &test.images, &o,
                                    cli_progress_report, &pr);
            cli_progress_end(&pr);
            rc = cli_train_finish(s, &res, &o);
            s = LC_OK; // reported
            // After the run, so that a failure stays one line on stderr.
            if (!rc && no_test)
                fprintf(stderr,
                        "latentcl: note: %s has no test split: no test accuracy (use "
                        "--val-split to hold out a validation split)\n",
                        data);
        }
    }
    if (s != LC_OK) rc = cli_report(s);
    lc_classifier_free(m);
    cli_close_device(dev);
    lc_dataset_free(&part);
    lc_data_free(&train);
    lc_data_free(&test);
    lc_cfg_strings_free(&keep);
    return rc;
}

// ---- latentcl eval RUN (a classifier run) -------------------------------------------------

static void print_confusion(const lc_classifier *m, const int64_t *conf) {
    int K = lc_classifier_classes(m);
    printf("confusion matrix (rows: true class, columns: predicted class):\n%-16s", "");
    for (int k = 0; k < K; k++)
        printf(" %5d", k);
    printf("\n");
    for (int r = 0; r < K; r++) {
        printf("%2d %-13.13s", r, lc_classifier_class_name(m, r));
        for (int c = 0; c < K; c++)
            printf(" %5lld", (long long)conf[r * K + c]);
        printf("\n");
    }
}

int cmd_eval_classifier(int argc, char **argv) {
    const char *which = "last", *weights = "raw", *data = NULL, *split = "test";
    const cli_opt opts[] = {
        {"--checkpoint", OPT_STRING, &which, "last or best (runs with --val-split)", "C"},
        {"--weights", OPT_STRING, &weights, "raw or ema (the EMA of the weights)", "W"},
        {"--data", OPT_STRING, &data, "images to evaluate on (default: the run's --data)", "SRC"},
        {"--split", OPT_STRING, &split, "test or train", "S"},
        CLI_COMMON_OPTS,
        {NULL},
    };
    const char *pos[1];
    int npos = 0, code = 0;
    if (cli_parse("eval",
                  "RUN [--checkpoint best|last] [--weights ema|raw] [--data SRC] "
                  "[--split test|train] [--json]",
                  "Test accuracy and confusion matrix of a classifier run.", argc, argv, 1, opts,
                  pos, 1, &npos, &code))
        return code;
    if (npos != 1) return cli_error("eval: which RUN?"), 2;
    if (strcmp(split, "test") && strcmp(split, "train"))
        return cli_error("--split must be test or train, not '%s'", split), 2;
    const char *prefix;
    char path[4096];
    int rc = cli_weights_prefix(&prefix, weights);
    if (!rc) rc = cli_run_checkpoint(path, sizeof path, pos[0], which);
    if (rc) return rc;
    lc_device *dev = NULL;
    lc_classifier *m = NULL;
    lc_data d = {0};
    int64_t *conf = NULL;
    double acc = NAN, loss = NAN;
    if ((rc = cli_open_device(&dev))) return rc;
    lc_status s = lc_classifier_load(&m, dev, path, prefix);
    if (s == LC_OK && !data) data = lc_classifier_data(m);
    if (s == LC_OK && !data)
        s = lc_fail(LC_ERR_INVALID_ARG, "%s does not record its data: give --data SRC", path);
    if (s == LC_OK)
        s = open_images(&d, data, !strcmp(split, "test") ? LC_SPLIT_TEST : LC_SPLIT_TRAIN, NULL);
    int K = m ? lc_classifier_classes(m) : 0;
    if (s == LC_OK && !(conf = calloc((size_t)K * K, sizeof *conf)))
        s = lc_fail(LC_ERR_NOMEM, "out of memory");
    if (s == LC_OK) s = lc_classifier_evaluate(m, &acc, &loss, conf, &d.images);
    if (s != LC_OK) {
        rc = cli_report(s);
    } else if (g_cli.json) {
        char key[32];
        cJSON *j = cJSON_CreateObject(), *rows = cJSON_CreateArray();
        snprintf(key, sizeof key, "%s_accuracy", split);
        cJSON_AddNumberToObject(j, key, acc);
        snprintf(key, sizeof key, "%s_loss", split);
        cJSON_AddNumberToObject(j, key, loss);
        cJSON_AddNumberToObject(j, "n", (double)d.images.n);
        for (int r = 0; r < K; r++) {
            cJSON *row = cJSON_CreateArray();
            for (int c = 0; c < K; c++)
                cJSON_AddItemToArray(row, cJSON_CreateNumber((double)conf[r * K + c]));
            cJSON_AddItemToArray(rows, row);
        }
        cJSON_AddItemToObject(j, "confusion", rows);
        cJSON_AddStringToObject(j, "checkpoint", path);
        cJSON_AddStringToObject(j, "weights", *prefix ? "ema" : "raw");
        cJSON_AddStringToObject(j, "data", d.source ? d.source : data);
        print_json(j);
    } else {
        printf("%s accuracy %.4f (loss %.4f) on %lld images of %s\n", split, acc, loss,
               (long long)d.images.n, d.source ? d.source : data);
        print_confusion(m, conf);
    }
    free(conf);
    lc_data_free(&d);
    lc_classifier_free(m);
    cli_close_device(dev);
    return rc;
}

// ---- latentcl predict RUN --image x.png ----------------------------------------------------

enum { MAX_IMAGES = 256 };

// Classifies one PNG: prints its top classes. Returns 0 or 1 after printing an error.
static int predict_one(lc_classifier *m, const char *file, int top) {
    int C, H, W, K = lc_classifier_classes(m);
    lc_classifier_input(m, &C, &H, &W);
    lc_image img = {0};
    lc_status s = lc_png_read(&img, file);
    if (s != LC_OK) return cli_report(s);
    if (img.channels != C || img.height != H || img.width != W) {
        int rc = cli_error("%s is a %dx%d %s image; the model takes %dx%d %s images", file,
                           img.width, img.height, img.channels == 1 ? "gray" : "RGB", W, H,
                           C == 1 ? "gray" : "RGB");
        lc_image_free(&img);
        return rc;
    }
    float *x = malloc((size_t)C * H * W * sizeof *x), *z = malloc((size_t)K * sizeof *z);
    int *order = malloc((size_t)K * sizeof *order);
    if (!x || !z || !order) s = lc_fail(LC_ERR_NOMEM, "out of memory");
    for (int c = 0; s == LC_OK && c < C; c++) // HWC bytes -> CHW floats in [0, 1]
        for (int i = 0; i < H * W; i++)
            x[c * H * W + i] = img.pixels[i * C + c] / 255.0f;
    if (s == LC_OK) s = lc_classifier_logits(m, z, x, 1);
    int rc = 0;
    if (s == LC_OK) {
        double zmax = z[0], sum = 0;
        for (int k = 1; k < K; k++)
            zmax = z[k] > zmax ? z[k] : zmax;
        for (int k = 0; k < K; k++)
            sum += exp(z[k] - zmax);
        for (int k = 0; k < K; k++) { // selection sort by probability: K is small
            order[k] = k;
            z[k] = (float)(exp(z[k] - zmax) / sum);
        }
        if (top > K) top = K;
        for (int i = 0; i < top; i++)
            for (int j = i + 1; j < K; j++)
                if (z[order[j]] > z[order[i]]) {
                    int t = order[i];
                    order[i] = order[j];
                    order[j] = t;
                }
        if (g_cli.json) {
            cJSON *j = cJSON_CreateObject(), *arr = cJSON_CreateArray();
            cJSON_AddStringToObject(j, "file", file);
            for (int i = 0; i < top; i++) {
                cJSON *e = cJSON_CreateObject();
                cJSON_AddNumberToObject(e, "class", order[i]);
                cJSON_AddStringToObject(e, "name", lc_classifier_class_name(m, order[i]));
                cJSON_AddNumberToObject(e, "p", z[order[i]]);
                cJSON_AddItemToArray(arr, e);
            }
            cJSON_AddItemToObject(j, "top", arr);
            print_json(j);
        } else {
            printf("%s:", file);
            for (int i = 0; i < top; i++)
                printf("%s %s %.3f", i ? "," : "", lc_classifier_class_name(m, order[i]),
                       z[order[i]]);
            printf("\n");
        }
    } else {
        rc = cli_report(s);
    }
    free(x);
    free(z);
    free(order);
    lc_image_free(&img);
    return rc;
}

int cmd_predict(int argc, char **argv) {
    const char *which = "last", *weights = "raw", *image = NULL;
    long top = 3;
    const cli_opt opts[] = {
        {"--image", OPT_STRING, &image, "the PNG to classify (more may follow RUN)", "PNG"},
        {"--top", OPT_INT, &top, "classes to show, most probable first", "K"},
        {"--checkpoint", OPT_STRING, &which, "last or best (runs with --val-split)", "C"},
        {"--weights", OPT_STRING, &weights, "raw or ema (the EMA of the weights)", "W"},
        CLI_COMMON_OPTS,
        {NULL},
    };
    const char *pos[MAX_IMAGES + 1];
    int npos = 0, code = 0;
    if (cli_parse("predict", "RUN --image x.png [more.png ...] [--top K] [--json]",
                  "The most probable classes of PNG images under a trained classifier (images "
                  "of the model's size and channels).",
                  argc, argv, 1, opts, pos, MAX_IMAGES + 1, &npos, &code))
        return code;
    if (npos < 1) return cli_error("predict: which RUN?"), 2;
    if (!image && npos < 2) return cli_error("predict: --image PNG is required"), 2;
    if (top < 1) return cli_error("--top must be >= 1"), 2;
    const char *prefix;
    char path[4096];
    int rc = cli_weights_prefix(&prefix, weights);
    if (!rc) rc = cli_run_checkpoint(path, sizeof path, pos[0], which);
    if (rc) return rc;
    lc_device *dev = NULL;
    lc_classifier *m = NULL;
    if ((rc = cli_open_device(&dev))) return rc;
    lc_status s = lc_classifier_load(&m, dev, path, prefix);
    if (s != LC_OK) rc = cli_report(s);
    if (!rc && image) rc = predict_one(m, image, (int)top);
    for (int i = 1; !rc && i < npos; i++)
        rc = predict_one(m, pos[i], (int)top);
    lc_classifier_free(m);
    cli_close_device(dev);
    return rc;
}
