// latentcl data info|grid|shapes — look at a dataset, draw a grid of it, or write the
// shapes set to a folder. SRC is anything --data accepts (see lc_data_open).
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "cli_data.h"
#include "latentcl/data.h"
#include "latentcl/image.h"

// {"out": path, "count": n[, "seed": s]} with the path escaped.
static void print_json_out(const char *out, long count, long seed) {
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "out", out);
    cJSON_AddNumberToObject(o, "count", (double)count);
    if (seed >= 0) cJSON_AddNumberToObject(o, "seed", (double)seed);
    char *text = cJSON_PrintUnformatted(o);
    if (text) puts(text);
    free(text);
    cJSON_Delete(o);
}

static void hex64(char out[17], uint64_t v) { snprintf(out, 17, "%016llx", (unsigned long long)v); }

// ---- info -------------------------------------------------------------------------------

static int info_images(const lc_data *data) {
    const lc_dataset *d = &data->images;
    char sum[17];
    hex64(sum, lc_dataset_checksum(d));
    lc_vocab vocab = {0};
    if (d->captions) {
        lc_status s = lc_vocab_build(&vocab, (const char *const *)d->captions, d->n, 1, 0);
        if (s != LC_OK) return cli_report(s);
    }
    if (g_cli.json) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "source", data->source);
        cJSON_AddStringToObject(o, "kind", "images");
        cJSON_AddNumberToObject(o, "count", (double)d->n);
        cJSON_AddNumberToObject(o, "channels", d->channels);
        cJSON_AddNumberToObject(o, "height", d->height);
        cJSON_AddNumberToObject(o, "width", d->width);
        cJSON_AddNumberToObject(o, "classes", d->n_classes);
        if (d->class_names)
            cJSON_AddItemToObject(
                o, "class_names",
                cJSON_CreateStringArray((const char *const *)d->class_names, d->n_classes));
        cJSON_AddBoolToObject(o, "captions", d->captions != NULL);
        if (d->captions) cJSON_AddNumberToObject(o, "vocab_size", vocab.size);
        cJSON_AddStringToObject(o, "checksum", sum);
        char *text = cJSON_PrintUnformatted(o);
        if (text) puts(text);
        free(text);
        cJSON_Delete(o);
    } else {
        printf(
            "source    %s\nkind      images\ncount     %lld\nshape     %d x %d x %d (C x H x W)\n",
            data->source, (long long)d->n, d->channels, d->height, d->width);
        if (d->n_classes) {
            printf("classes   %d", d->n_classes);
            for (int i = 0; d->class_names && i < d->n_classes; i++)
                printf("%s%s", i ? ", " : ": ", d->class_names[i]);
            putchar('\n');
        }
        if (d->captions)
            printf("captions  yes, vocabulary %d words (with 4 specials)\n", vocab.size);
        printf("checksum  fnv1a64 %s\n", sum);
    }
    lc_vocab_free(&vocab);
    return 0;
}

static int info_sequences(const lc_data *data) {
    const lc_sequences *s = &data->sequences;
    int64_t min_len = INT64_MAX, max_len = 0;
    for (int64_t i = 0; i < s->n; i++) {
        int64_t len = lc_sequence_length(s, i);
        if (len < min_len) min_len = len;
        if (len > max_len) max_len = len;
    }
    char sum[17];
    hex64(sum, lc_sequences_checksum(s));
    if (g_cli.json) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "source", data->source);
        cJSON_AddStringToObject(o, "kind", s->values ? "numeric_sequences" : "symbol_sequences");
        cJSON_AddNumberToObject(o, "count", (double)s->n);
        cJSON_AddNumberToObject(o, "steps", (double)s->n_steps);
        cJSON_AddNumberToObject(o, "min_length", (double)min_len);
        cJSON_AddNumberToObject(o, "max_length", (double)max_len);
        if (s->values) {
            cJSON_AddNumberToObject(o, "dim", s->dim);
            cJSON_AddItemToObject(
                o, "columns",
                cJSON_CreateStringArray((const char *const *)s->column_names, s->dim));
        } else {
            cJSON_AddNumberToObject(o, "alphabet_size", s->alphabet.size);
            cJSON_AddNumberToObject(o, "dropped", (double)s->n_dropped);
        }
        cJSON_AddStringToObject(o, "checksum", sum);
        char *text = cJSON_PrintUnformatted(o);
        if (text) puts(text);
        free(text);
        cJSON_Delete(o);
        return 0;
    }
    printf("source    %s\nkind      %s sequences\ncount     %lld (%lld steps, length %lld..%lld)\n",
           data->source, s->values ? "numeric" : "symbol", (long long)s->n, (long long)s->n_steps,
           (long long)min_len, (long long)max_len);
    if (s->values) {
        printf("columns   %d:", s->dim);
        for (int i = 0; i < s->dim; i++)
            printf(" %s", s->column_names[i]);
        putchar('\n');
    } else {
        printf("alphabet  %d symbols:", s->alphabet.size);
        for (int i = 0; i < s->alphabet.size && i < 64; i++)
            printf(" %s", s->alphabet.symbols[i]);
        printf("%s\n", s->alphabet.size > 64 ? " ..." : "");
        if (s->n_dropped)
            printf("dropped   %lld lines outside the alphabet\n", (long long)s->n_dropped);
    }
    printf("checksum  fnv1a64 %s\n", sum);
    return 0;
}

static int data_info(int argc, char **argv) {
    const cli_opt opts[] = {
        {"--json", OPT_FLAG, &g_cli.json, "print one JSON object", NULL},
        {"--seed", OPT_INT, &g_cli_data.seed, "shapes: generator seed (as --data-seed)", "N"},
        CLI_DATA_SOURCE_OPTS,
        {NULL}};
    const char *pos[1];
    int npos = 0, code;
    char description[512];
    snprintf(description, sizeof description,
             "Count, shape, classes or vocabulary, and a checksum of a dataset.\n%s",
             CLI_DATA_SOURCE_HELP);
    if (cli_parse("data info", "SRC [options]", description, argc, argv, 2, opts, pos, 1, &npos,
                  &code))
        return code;
    if (npos != 1) return cli_error("data info: which dataset? (SRC)"), 2;
    lc_data data;
    int rc = cli_open_data(&data, pos[0]);
    if (rc) return rc;
    rc = data.kind == LC_DATA_IMAGES ? info_images(&data) : info_sequences(&data);
    lc_data_free(&data);
    return rc;
}

// ---- grid --------------------------------------------------------------------------------

static int data_grid(int argc, char **argv) {
    long n = 64, cols = 0, scale = 2;
    bool labels = false;
    const char *out = NULL;
    const cli_opt opts[] = {
        {"--n", OPT_INT, &n, "number of items (the first ones)", "N"},
        {"--cols", OPT_INT, &cols, "cells per row (0: about square)", "C"},
        {"--scale", OPT_INT, &scale, "integer upscaling of each cell", "S"},
        {"--labels", OPT_FLAG, &labels, "write class names under the cells", NULL},
        {"--out", OPT_STRING, &out, "the PNG to write", "FILE"},
        {"--json", OPT_FLAG, &g_cli.json, "print one JSON object", NULL},
        {"--seed", OPT_INT, &g_cli_data.seed, "shapes: generator seed (as --data-seed)", "N"},
        CLI_DATA_SOURCE_OPTS,
        {NULL}};
    const char *pos[1];
    int npos = 0, code;
    char description[512];
    snprintf(description, sizeof description,
             "Draw the first N items of a dataset as a PNG grid.\n%s", CLI_DATA_SOURCE_HELP);
    if (cli_parse("data grid", "SRC --out grid.png [options]", description, argc, argv, 2, opts,
                  pos, 1, &npos, &code))
        return code;
    if (npos != 1) return cli_error("data grid: which dataset? (SRC)"), 2;
    if (!out) return cli_error("data grid: --out FILE is required"), 2;
    if (n < 1 || n > 4096 || cols < 0 || scale < 1 || scale > 64)
        return cli_error("data grid: need 1 <= --n <= 4096, --cols >= 0, 1 <= --scale <= 64"), 2;
    lc_data data;
    int rc = cli_open_data(&data, pos[0]);
    if (rc) return rc;
    if (data.kind != LC_DATA_IMAGES) {
        lc_data_free(&data);
        return cli_error("data grid: %s holds sequences, not images", pos[0]);
    }
    lc_dataset *d = &data.images;
    int count = (int)(n < d->n ? n : d->n);
    const char **names = NULL;
    if (labels && d->labels) {
        names = calloc((size_t)count, sizeof *names);
        for (int i = 0; names && i < count; i++)
            names[i] = d->class_names ? d->class_names[d->labels[i]] : NULL;
    }
    char(*numbers)[12] = NULL; // labels without class names: the number
    if (names && !d->class_names) {
        numbers = calloc((size_t)count, sizeof *numbers);
        for (int i = 0; numbers && i < count; i++) {
            snprintf(numbers[i], sizeof numbers[i], "%d", d->labels[i]);
            names[i] = numbers[i];
        }
    }
    lc_status s = lc_grid_write(out, d->images, count, d->channels, d->height, d->width, (int)cols,
                                (int)scale, names);
    free(numbers);
    free(names);
    lc_data_free(&data);
    if (s != LC_OK) return cli_report(s);
    if (g_cli.json) print_json_out(out, count, -1);
    return 0;
}

// ---- shapes ------------------------------------------------------------------------------

static int data_shapes(int argc, char **argv) {
    long n = 1000, seed = 0, first = 0;
    const char *out = NULL;
    const cli_opt opts[] = {
        {"--n", OPT_INT, &n, "number of images", "N"},
        {"--seed", OPT_INT, &seed, "generator seed (the same seed gives the same bytes)", "S"},
        {"--first", OPT_INT, &first, "index of the first item", "I"},
        {"--out", OPT_STRING, &out, "a new folder to write", "DIR"},
        {"--json", OPT_FLAG, &g_cli.json, "print one JSON object", NULL},
        {NULL}};
    int code;
    if (cli_parse("data shapes", "--n N --seed S --out DIR",
                  "Write the procedural shapes set: DIR/NNNNNN.png (32x32 RGB), captions.tsv and "
                  "attributes.tsv.",
                  argc, argv, 2, opts, NULL, 0, NULL, &code))
        return code;
    if (!out) return cli_error("data shapes: --out DIR is required"), 2;
    if (n < 1 || seed < 0 || first < 0)
        return cli_error("data shapes: need --n >= 1, --seed >= 0, --first >= 0"), 2;
    lc_status s = lc_shapes_write_folder(out, first, n, (uint64_t)seed);
    if (s != LC_OK) return cli_report(s);
    if (g_cli.json)
        print_json_out(out, n, seed);
    else
        printf("wrote %ld shapes images (seed %ld) to %s\n", n, seed, out);
    return 0;
}

int cmd_data(int argc, char **argv) {
    const char *sub = argc > 1 ? argv[1] : NULL;
    if (sub && !strcmp(sub, "info")) return data_info(argc, argv);
    if (sub && !strcmp(sub, "grid")) return data_grid(argc, argv);
    if (sub && !strcmp(sub, "shapes")) return data_shapes(argc, argv);
    FILE *f = sub && (!strcmp(sub, "--help") || !strcmp(sub, "-h")) ? stdout : stderr;
    if (sub && f == stderr) fprintf(stderr, "latentcl data: unknown sub-verb '%s'\n\n", sub);
    fprintf(f,
            "usage: latentcl data info|grid|shapes ...\n\n"
            "  info SRC [--json]                   count, shape, classes/vocabulary, checksum\n"
            "  grid SRC [--n 64] --out grid.png    a picture grid of the first items\n"
            "  shapes --n N --seed S --out DIR     write the shapes set as PNGs + TSVs\n\n"
            "%s\n'latentcl data SUBVERB --help' describes its options.\n",
            CLI_DATA_SOURCE_HELP);
    return f == stdout ? 0 : 2;
}
