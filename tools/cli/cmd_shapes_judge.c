// The shapes judge's verbs: `latentcl train classifier --data shapes` (reached from
// cmd_classifier.c: the shapes set trains the multi-head judge, not a one-label
// classifier) and its `eval` (reached through cmd_eval.c's family table).
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "cli_run.h"
#include "latentcl/shapes_judge.h"

bool cli_wants_shapes_judge(int argc, char **argv) {
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--data=shapes")) return true;
        if (!strcmp(argv[i], "--data") && i + 1 < argc && !strcmp(argv[i + 1], "shapes"))
            return true;
    }
    return false;
}

// ---- latentcl train classifier --data shapes ------------------------------------------------

int cmd_train_shapes_judge(int argc, char **argv) {
    lc_train_options o;
    lc_train_options_default(&o);
    const char *data = "shapes", *model = "conv";
    long subset = 0, n_test = 2000;
    const cli_opt extra[] = {
        {"--data", OPT_STRING, &data, "shapes: the generator's set (60,000 training items)", "SRC"},
        {"--model", OPT_STRING, &model,
         "conv (the judge is a conv net with one head per attribute)", "M"},
        {"--subset", OPT_INT, &subset, "train on the first N items of the set only (0: 60000)",
         "N"},
        {"--test-n", OPT_INT, &n_test, "fresh test items judged after every epoch (0: none)", "N"},
        {NULL},
    };
    lc_cfg_strings keep = {0};
    const char *pos[1];
    int npos = 0, code = 0;
    if (cli_train_parse("train classifier",
                        "--data shapes [--subset N] [--test-n N] [training options] --out RUN",
                        "Trains the shapes judge: one head per attribute (kinds, colours and sizes "
                        "of one or two shapes, their relation, the place of a lone shape) on a "
                        "shared conv trunk; per-attribute test accuracy after every epoch goes "
                        "into RUN/metrics.jsonl (test_kind, test_colour, ...).",
                        argc, argv, &o, extra, &keep, pos, 0, &npos, &code)) {
        lc_cfg_strings_free(&keep);
        return code;
    }
    int rc = 0;
    if (strcmp(data, "shapes"))
        rc = cli_error("the shapes judge trains on --data shapes, not '%s'", data);
    else if (strcmp(model, "conv"))
        rc = cli_error("the shapes judge is a conv net: --model conv, not '%s'", model);
    else if (subset < 0 || n_test < 0)
        rc = cli_error("--subset and --test-n must be >= 0");
    if (rc) {
        lc_cfg_strings_free(&keep);
        return 2;
    }
    lc_shapes_judge_data d = {.n_train = subset > 0 ? subset : 60000, .n_test = n_test};
    lc_device *dev = NULL;
    lc_shapes_judge *j = NULL;
    if ((rc = cli_open_device(&dev)) == 0) {
        lc_status s = lc_shapes_judge_new(&j, dev, (uint64_t)o.seed);
        if (s == LC_OK) {
            cli_progress pr;
            cli_progress_begin(&pr, "train");
            cli_sigint_install();
            lc_train_result res;
            s = lc_shapes_judge_train(&res, j, &d, &o, cli_progress_report, &pr);
            cli_progress_end(&pr);
            rc = cli_train_finish(s, &res, &o);
        } else {
            rc = cli_report(s);
        }
    }
    lc_shapes_judge_free(j);
    cli_close_device(dev);
    lc_cfg_strings_free(&keep);
    return rc;
}

// ---- latentcl eval RUN (a shapes judge) -----------------------------------------------------

static void add_share(cJSON *o, const char *key, double v) {
    if (v == v)
        cJSON_AddNumberToObject(o, key, v);
    else
        cJSON_AddNullToObject(o, key); // nothing of the kind was asked for
}

int cmd_eval_shapes_judge(int argc, char **argv) {
    const char *which = "last";
    long n = 2000, seed = 0;
    const cli_opt opts[] = {
        {"--n", OPT_INT, &n, "fresh test items of the shapes set to judge", "N"},
        {"--seed", OPT_INT, &seed, "the generator's seed of the test items", "S"},
        {"--checkpoint", OPT_STRING, &which, "last or best (runs with --val-split)", "C"},
        CLI_COMMON_OPTS,
        {NULL},
    };
    const char *run = NULL;
    int code = 0;
    if (cli_parse_one("eval", "RUN [--n N] [--seed S] [--checkpoint best|last] [--json]",
                      "Per-attribute accuracy of a shapes judge on fresh test items of the shapes "
                      "set (kind, colour and size over every shape; relation over two-shape "
                      "images; place over one-shape images).",
                      argc, argv, opts, "RUN", &run, &code))
        return code;
    if (n < 1 || n > (1L << 26)) return cli_error("--n must be in 1..%ld", 1L << 26), 2;
    if (seed < 0) return cli_error("--seed must be >= 0"), 2;
    char path[4096];
    int rc = cli_run_checkpoint(path, sizeof path, run, which);
    if (rc) return rc;
    lc_device *dev = NULL;
    if ((rc = cli_open_device(&dev))) return rc;
    lc_shapes_judge *j = NULL;
    lc_dataset test = {0};
    lc_shapes_item *items = malloc((size_t)n * sizeof *items);
    lc_shapes_judgement r;
    lc_status s = items ? LC_OK : lc_fail(LC_ERR_NOMEM, "out of memory for %ld items", n);
    if (s == LC_OK) s = lc_shapes_judge_load(&j, dev, path);
    if (s == LC_OK) s = lc_shapes_generate(&test, items, LC_SHAPES_TEST_FIRST, n, (uint64_t)seed);
    if (s == LC_OK)
        s = lc_shapes_judge_compare(j, &r, test.images, items, n, test.channels, test.height,
                                    test.width);
    if (s != LC_OK) {
        rc = cli_report(s);
    } else if (g_cli.json) {
        cJSON *o = cJSON_CreateObject(), *acc = cJSON_CreateObject();
        add_share(acc, "kind", r.kind);
        add_share(acc, "colour", r.colour);
        add_share(acc, "size", r.size);
        add_share(acc, "relation", r.relation);
        add_share(acc, "place", r.place);
        add_share(acc, "count", r.count);
        cJSON_AddItemToObject(o, "attribute_accuracy", acc);
        cJSON_AddNumberToObject(o, "all_attributes", r.all);
        cJSON_AddNumberToObject(o, "n", (double)r.n);
        cJSON_AddStringToObject(o, "checkpoint", path);
        char *text = cJSON_PrintUnformatted(o);
        if (text) printf("%s\n", text);
        free(text);
        cJSON_Delete(o);
    } else {
        printf("shapes judge on %lld fresh test images (%lld shapes, %lld two-shape images):\n"
               "  kind %.4f  colour %.4f  size %.4f  relation %.4f  place %.4f  count %.4f\n"
               "  every attribute right: %.4f\n",
               (long long)r.n, (long long)r.n_shapes_requested, (long long)r.n_two, r.kind,
               r.colour, r.size, r.relation, r.place, r.count, r.all);
    }
    lc_dataset_free(&test);
    free(items);
    lc_shapes_judge_free(j);
    cli_close_device(dev);
    return rc;
}
