// The shared options of every training verb and its closing report.
#include <stdio.h>
#include <string.h>

#include "cli.h"

enum { MAX_TRAIN_OPTS = 64 };

// The shared table; values point into opts.
static int shared_opts(cli_opt *t, lc_train_options *o) {
    int n = 0;
#define OPT(nm, ty, field, help, mv) t[n++] = (cli_opt){nm, ty, &o->field, help, mv}
    OPT("--epochs", OPT_INT, epochs, "passes over the training set", "N");
    OPT("--iters", OPT_INT, iters, "train for N steps instead of --epochs (0: use --epochs)", "N");
    OPT("--batch", OPT_INT, batch, "items per step", "N");
    OPT("--lr", OPT_FLOAT, lr, "learning rate (the peak of the schedule)", "LR");
    OPT("--optimizer", OPT_STRING, optimizer, "sgd, adam or adamw", "NAME");
    OPT("--weight-decay", OPT_FLOAT, weight_decay,
        "L2 (sgd, adam) or decoupled (adamw) weight decay; -1: 0, adamw 0.01", "WD");
    OPT("--momentum", OPT_FLOAT, momentum, "SGD momentum", "M");
    OPT("--lr-schedule", OPT_STRING, lr_schedule, "constant or cosine", "NAME");
    OPT("--warmup", OPT_INT, warmup, "linear learning-rate warm-up steps", "N");
    OPT("--clip", OPT_FLOAT, clip, "clip gradients to this global L2 norm (0: off)", "NORM");
    OPT("--ema", OPT_FLOAT, ema, "keep an EMA of the weights with this decay (0: off)", "DECAY");
    OPT("--ema-warmup", OPT_INT, ema_warmup,
        "EMA decay at step t: min(DECAY, (1 + t) / (N + t)), so short runs average recent weights "
        "(0: off)",
        "N");
    OPT("--seed", OPT_INT, seed, "seed of the data order, initial weights and random draws", "S");
    OPT("--save-every", OPT_INT, save_every,
        "also save RUN/last.safetensors every N steps (0: at epoch ends)", "N");
    OPT("--val-split", OPT_FLOAT, val_split,
        "fraction of the training set held out for validation (keeps best.safetensors)", "F");
    OPT("--skip-nonfinite", OPT_FLAG, skip_nonfinite,
        "skip steps with a NaN/Inf loss or gradient (counted) instead of stopping", NULL);
    OPT("--init", OPT_STRING, init, "start from the weights of a safetensors file", "FILE");
    OPT("--config", OPT_STRING, config, "JSON file of these options (the command line wins)",
        "FILE");
    OPT("--out", OPT_STRING, out, "run folder: config, metrics, checkpoints, pictures", "RUN");
    OPT("--resume", OPT_FLAG, resume, "continue the run in --out RUN bit-exactly", NULL);
    OPT("--force", OPT_FLAG, force, "reuse an existing run folder", NULL);
    OPT("--log-every", OPT_INT, log_every, "a metrics line every N steps", "N");
    OPT("--minutes", OPT_FLOAT, minutes,
        "also stop after M minutes of training (0: off; pictures and checkpoints not counted)",
        "M");
    OPT("--snapshot-every", OPT_FLOAT, snapshot_every,
        "keep RUN/snapshot_MMMMmin.safetensors after every M minutes of training (0: off)", "M");
#undef OPT
    return n;
}

static int build_table(cli_opt *t, lc_train_options *o, const cli_opt *extra) {
    int n = shared_opts(t, o);
    for (const cli_opt *e = extra; e && e->name && n < MAX_TRAIN_OPTS - 4; e++)
        t[n++] = *e;
    cli_opt common[] = {CLI_COMMON_OPTS};
    for (size_t i = 0; i < sizeof common / sizeof *common; i++)
        t[n++] = common[i];
    t[n] = (cli_opt){NULL};
    return n;
}

// The value of --config (or --config=FILE) on the command line, or NULL.
static const char *find_config(int argc, char **argv) {
    const char *found = NULL;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--config") && i + 1 < argc)
            found = argv[++i];
        else if (!strncmp(argv[i], "--config=", 9))
            found = argv[i] + 9;
    }
    return found;
}

int cli_train_parse(const char *verb, const char *usage, const char *description, int argc,
                    char **argv, lc_train_options *opts, const cli_opt *extra, lc_cfg_strings *keep,
                    const char **positional, int max_positional, int *n_positional,
                    int *exit_code) {
    cli_opt table[MAX_TRAIN_OPTS + 1];
    int n = build_table(table, opts, extra);
    const char *config = find_config(argc, argv);
    if (config) {
        lc_cfg_key keys[MAX_TRAIN_OPTS];
        int m = 0;
        for (int i = 0; i < n; i++) {
            if (!strcmp(table[i].name, "--config")) continue; // config files do not nest
            lc_cfg_type ty = table[i].type == OPT_FLAG    ? LC_CFG_BOOL
                             : table[i].type == OPT_INT   ? LC_CFG_LONG
                             : table[i].type == OPT_FLOAT ? LC_CFG_DOUBLE
                                                          : LC_CFG_STRING;
            keys[m++] = (lc_cfg_key){table[i].name + 2, ty, table[i].value};
        }
        lc_status s = lc_cfg_apply_file(keys, m, config, keep);
        if (s != LC_OK) {
            *exit_code = 2;
            fprintf(stderr, "latentcl %s: %s\n", verb, lc_last_error());
            return 1;
        }
    }
    if (cli_parse(verb, usage, description, argc, argv, 1, table, positional, max_positional,
                  n_positional, exit_code))
        return 1;
    opts->device = g_cli.device;
    opts->threads = g_cli.threads;
    lc_status s = lc_train_options_check(opts);
    if (s != LC_OK) {
        *exit_code = 2;
        fprintf(stderr, "latentcl %s: %s\nsee 'latentcl %s --help'\n", verb, lc_last_error(), verb);
        return 1;
    }
    return 0;
}

int cli_train_finish(lc_status s, const lc_train_result *r, const lc_train_options *opts) {
    if (s != LC_OK) return cli_report(s);
    if (g_cli.json) {
        printf("{\"steps\":%lld,\"epochs\":%lld,\"loss\":", (long long)r->steps,
               (long long)r->epochs);
        if (r->loss == r->loss)
            printf("%.9g", r->loss);
        else
            printf("null");
        printf(",\"skipped\":%lld,\"seconds\":%.3f", (long long)r->skipped, r->seconds);
        for (int i = 0; i < r->eval.count; i++)
            printf(",\"%s\":%.9g", r->eval.items[i].name, r->eval.items[i].value);
        printf(",\"out\":");
        if (opts->out) {
            putchar('"');
            for (const char *c = opts->out; *c; c++) {
                if (*c == '"' || *c == '\\')
                    printf("\\%c", *c);
                else if ((unsigned char)*c < 0x20)
                    printf("\\u%04x", *c);
                else
                    putchar(*c);
            }
            putchar('"');
        } else {
            printf("null");
        }
        printf("}\n");
        return 0;
    }
    printf("trained %lld steps (%lld epochs) in %.1f s, loss %.4f", (long long)r->steps,
           (long long)r->epochs, r->seconds, r->loss);
    if (r->skipped) printf(", %lld non-finite steps skipped", (long long)r->skipped);
    for (int i = 0; i < r->eval.count; i++)
        printf(", %s %.4f", r->eval.items[i].name, r->eval.items[i].value);
    putchar('\n');
    if (opts->out)
        printf("run folder: %s (last.safetensors, metrics.jsonl)\n", opts->out);
    else
        printf("no --out: nothing was saved\n");
    return 0;
}
