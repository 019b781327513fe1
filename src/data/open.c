// --data NAME|PATH: names (fashion-mnist, mnist, shapes, shapes-one, shapes-two, words),
// folders (IDX or PNG) and files (.csv numeric sequences, .txt text sequences).
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "data/data_util.h"
#include "latentcl/data.h"

#define SYSTEM_DATASETS "/usr/share/datasets"
#define SYSTEM_WORDS "/usr/share/dict/words"

void lc_data_free(lc_data *d) {
    if (!d) return;
    lc_dataset_free(&d->images);
    lc_sequences_free(&d->sequences);
    free(d->source);
    free(d->shapes_items);
    memset(d, 0, sizeof *d);
}

static bool has_idx(const char *dir) {
    static const char *const names[2] = {"train-images-idx3-ubyte.gz", "train-images-idx3-ubyte"};
    for (int i = 0; i < 2; i++) {
        char *p = lc_path_join(dir, names[i]);
        bool ok = p && lc_is_file(p);
        free(p);
        if (ok) return true;
    }
    return false;
}

static bool has_suffix(const char *s, const char *suffix) {
    size_t n = strlen(s), k = strlen(suffix);
    return n >= k && !strcasecmp(s + n - k, suffix);
}

static lc_status set_source(lc_data *out, const char *what, const char *where, lc_data_split split,
                            bool with_split) {
    size_t n = strlen(what) + strlen(where) + 32;
    out->source = malloc(n);
    if (!out->source) return lc_fail(LC_ERR_NOMEM, "out of memory");
    snprintf(out->source, n, "%s%s (%s)", what,
             with_split ? (split == LC_SPLIT_TEST ? " test" : " train") : "", where);
    return LC_OK;
}

// The first of $LATENTCL_DATA/NAME, $LATENTCL_DATA, /usr/share/datasets/NAME holding IDX files.
static lc_status open_named_idx(lc_data *out, const char *name, const lc_data_options *opt) {
    const char *env = getenv("LATENTCL_DATA");
    char *candidates[3] = {NULL, NULL, NULL};
    int n = 0;
    if (env && *env) {
        candidates[n++] = lc_path_join(env, name);
        candidates[n++] = strdup(env);
    }
    candidates[n++] = lc_path_join(SYSTEM_DATASETS, name);
    const char *dir = NULL;
    for (int i = 0; i < n && !dir; i++)
        if (candidates[i] && has_idx(candidates[i])) dir = candidates[i];
    lc_status s;
    if (!dir) {
        s = lc_fail(LC_ERR_IO,
                    "%s: no train-images-idx3-ubyte[.gz] in %s%s%s%s%s (install the Debian "
                    "package dataset-%s or set LATENTCL_DATA)",
                    name, n > 1 && candidates[0] ? candidates[0] : "", n > 1 ? ", " : "",
                    n > 1 && candidates[1] ? candidates[1] : "", n > 1 ? ", " : "",
                    candidates[n - 1] ? candidates[n - 1] : "?", name);
    } else {
        out->kind = LC_DATA_IMAGES;
        s = lc_mnist_load(&out->images, dir, opt->split, strstr(name, "fashion") != NULL);
        if (s == LC_OK) s = set_source(out, name, dir, opt->split, true);
    }
    for (int i = 0; i < n; i++)
        free(candidates[i]);
    return s;
}

static lc_status open_dir(lc_data *out, const char *dir, const lc_data_options *opt) {
    out->kind = LC_DATA_IMAGES;
    if (has_idx(dir)) {
        char lower[4096];
        snprintf(lower, sizeof lower, "%s", dir);
        for (char *c = lower; *c; c++)
            *c = (char)(*c >= 'A' && *c <= 'Z' ? *c + 32 : *c);
        lc_status s = lc_mnist_load(&out->images, dir, opt->split, strstr(lower, "fashion") != 0);
        return s == LC_OK ? set_source(out, "idx", dir, opt->split, true) : s;
    }
    if (opt->split == LC_SPLIT_TEST)
        return lc_fail(LC_ERR_UNSUPPORTED, "%s: an image folder has no test split", dir);
    lc_status s = lc_image_folder_load(&out->images, dir);
    if (s != LC_OK) {
        // Say what was looked for when the folder holds nothing we know.
        char *tsv = lc_path_join(dir, "captions.tsv");
        bool had_tsv = tsv && lc_is_file(tsv);
        free(tsv);
        if (!had_tsv && strstr(lc_last_error(), "no captions.tsv"))
            return lc_fail(LC_ERR_FORMAT,
                           "%s: not a dataset folder (looked for train-images-idx3-ubyte[.gz], "
                           "captions.tsv or *.png)",
                           dir);
        return s;
    }
    return set_source(out, "images", dir, opt->split, false);
}

static lc_status open_text(lc_data *out, const char *path, const lc_text_options *text,
                           const char *what, const lc_data_options *opt) {
    if (opt->split == LC_SPLIT_TEST)
        return lc_fail(LC_ERR_UNSUPPORTED, "%s: a sequence file has no test split", path);
    out->kind = LC_DATA_SEQUENCES;
    lc_status s = lc_sequences_read_text(&out->sequences, path, text);
    return s == LC_OK ? set_source(out, what, path, opt->split, false) : s;
}

// shapes, shapes-one, shapes-two: the generator's items (with their attributes).
static lc_status open_shapes(lc_data *out, const char *spec, const lc_data_options *opt) {
    bool test = opt->split == LC_SPLIT_TEST;
    int64_t count = opt->shapes_count > 0 ? opt->shapes_count : test ? 10000 : 60000;
    out->kind = LC_DATA_IMAGES;
    if (count > ((int64_t)1 << 26))
        return lc_fail(LC_ERR_INVALID_ARG, "%s: %lld items requested (1..%lld)", spec,
                       (long long)count, (long long)1 << 26);
    out->shapes_items = malloc((size_t)count * sizeof *out->shapes_items);
    if (!out->shapes_items) return lc_fail(LC_ERR_NOMEM, "%s: out of memory", spec);
    lc_status s = lc_shapes_generate_per_image(&out->images, out->shapes_items,
                                               test ? LC_SHAPES_TEST_FIRST : 0, count, opt->seed,
                                               lc_data_shapes_spec(spec));
    char where[64];
    snprintf(where, sizeof where, "seed %llu", (unsigned long long)opt->seed);
    return s == LC_OK ? set_source(out, spec, where, opt->split, true) : s;
}

lc_status lc_data_open(lc_data *out, const char *spec, const lc_data_options *opt) {
    memset(out, 0, sizeof *out);
    lc_data_options defaults = {0};
    if (!opt) opt = &defaults;
    if (!spec || !*spec) return lc_fail(LC_ERR_INVALID_ARG, "--data: empty");
    lc_status s;
    if (!strcmp(spec, "fashion-mnist") || !strcmp(spec, "mnist")) {
        s = open_named_idx(out, spec, opt);
    } else if (lc_data_shapes_spec(spec) >= 0) {
        s = open_shapes(out, spec, opt);
    } else if (!strcmp(spec, "words")) {
        lc_text_options words = {.tokens = false, .lowercase = true, .alphabet = "a-z"};
        s = open_text(out, SYSTEM_WORDS, &words, "words", opt);
        if (s != LC_OK && !lc_is_file(SYSTEM_WORDS))
            s = lc_fail(LC_ERR_IO, "words: %s not found (install the Debian package wamerican)",
                        SYSTEM_WORDS);
    } else if (lc_is_dir(spec)) {
        s = open_dir(out, spec, opt);
    } else if (has_suffix(spec, ".csv")) {
        if (opt->split == LC_SPLIT_TEST)
            return lc_fail(LC_ERR_UNSUPPORTED, "%s: a sequence file has no test split", spec);
        out->kind = LC_DATA_SEQUENCES;
        s = lc_sequences_read_csv(&out->sequences, spec);
        if (s == LC_OK) s = set_source(out, "csv", spec, opt->split, false);
    } else if (has_suffix(spec, ".txt")) {
        s = open_text(out, spec, &opt->text, "text", opt);
    } else if (!lc_is_file(spec)) {
        s = lc_fail(LC_ERR_IO,
                    "--data %s: no such dataset name, folder or file (names: "
                    "fashion-mnist, mnist, shapes, shapes-one, shapes-two, words)",
                    spec);
    } else {
        s = lc_fail(LC_ERR_FORMAT, "--data %s: unknown file type (expected a folder, .csv or .txt)",
                    spec);
    }
    if (s != LC_OK) lc_data_free(out);
    return s;
}
