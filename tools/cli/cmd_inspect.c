// latentcl inspect FILE — a checkpoint's metadata and tensors with their statistics.
#include <cjson/cJSON.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"
#include "cli_run.h"
#include "latentcl/checkpoint.h"

typedef struct {
    double min, max, mean;
    int64_t finite, nonfinite;
} tensor_stats;

// Statistics over the finite values, converting a chunk at a time to float32.
static lc_status compute_stats(tensor_stats *st, const lc_st_tensor *t) {
    enum { CHUNK = 1 << 16 };
    memset(st, 0, sizeof *st);
    st->min = INFINITY, st->max = -INFINITY;
    int64_t n = lc_st_numel(t);
    size_t esize = lc_dtype_size(t->dtype);
    float *buf = malloc(sizeof(float) * CHUNK);
    if (!buf) return lc_fail(LC_ERR_NOMEM, "out of memory");
    double sum = 0;
    lc_status s = LC_OK;
    for (int64_t at = 0; at < n && s == LC_OK; at += CHUNK) {
        int64_t k = n - at < CHUNK ? n - at : CHUNK;
        lc_st_tensor part = *t; // a flat view of elements [at, at + k)
        part.ndim = 1;
        part.shape[0] = k;
        part.data = (const uint8_t *)t->data + (size_t)at * esize;
        s = lc_st_tensor_f32(&part, buf, (size_t)k);
        for (int64_t i = 0; s == LC_OK && i < k; i++) {
            double v = buf[i];
            if (!isfinite(v)) {
                st->nonfinite++;
                continue;
            }
            st->finite++;
            sum += v;
            if (v < st->min) st->min = v;
            if (v > st->max) st->max = v;
        }
    }
    free(buf);
    st->mean = st->finite ? sum / (double)st->finite : NAN;
    return s;
}

static void shape_text(char *out, size_t cap, const lc_st_tensor *t) {
    size_t o = (size_t)snprintf(out, cap, "(");
    for (int d = 0; d < t->ndim && o < cap; d++)
        o += (size_t)snprintf(out + o, cap - o, "%s%" PRId64, d ? ", " : "", t->shape[d]);
    if (o < cap) snprintf(out + o, cap - o, "%s)", t->ndim == 1 ? "," : "");
}

static void print_json_line(cJSON *obj) {
    char *text = cJSON_PrintUnformatted(obj);
    if (text) puts(text);
    cJSON_free(text);
    cJSON_Delete(obj);
}

static cJSON *number_or_null(double v) {
    return isfinite(v) ? cJSON_CreateNumber(v) : cJSON_CreateNull();
}

int cmd_inspect(int argc, char **argv) {
    const cli_opt opts[] = {
        {"--json", OPT_FLAG, &g_cli.json, "print one JSON object per line", NULL}, {NULL}};
    const char *file = NULL;
    int code;
    if (cli_parse_one("inspect", "FILE|RUN [--json]",
                      "List a safetensors file's metadata and each tensor (name, dtype, shape, "
                      "min/max/mean over the finite values). The file is checked in full first. "
                      "A run folder means its last.safetensors.",
                      argc, argv, opts, "FILE", &file, &code))
        return code;
    lc_st_file *f = NULL;
    struct stat st;
    if (stat(file, &st) == 0 && S_ISDIR(st.st_mode)) { // a run folder: its last checkpoint
        int rc = cli_run_open(&f, file, "last");
        if (rc) return rc;
    } else {
        lc_status so = lc_st_open(&f, file);
        if (so != LC_OK) return cli_report(so);
    }
    lc_status s = LC_OK;

    int n = lc_st_count(f);
    tensor_stats *stats = calloc((size_t)n + 1, sizeof *stats);
    if (!stats) {
        lc_st_close(f);
        return cli_error("out of memory");
    }
    int64_t values = 0, bytes = 0;
    size_t name_width = 4;
    for (int i = 0; i < n && s == LC_OK; i++) {
        const lc_st_tensor *t = lc_st_at(f, i);
        values += lc_st_numel(t);
        bytes += lc_st_numel(t) * (int64_t)lc_dtype_size(t->dtype);
        if (strlen(t->name) > name_width) name_width = strlen(t->name);
        s = compute_stats(&stats[i], t);
    }
    if (s != LC_OK) {
        free(stats);
        lc_st_close(f);
        return cli_report(s);
    }
    if (name_width > 48) name_width = 48;

    if (g_cli.json) {
        cJSON *head = cJSON_CreateObject();
        cJSON_AddStringToObject(head, "file", file);
        cJSON_AddNumberToObject(head, "tensors", n);
        cJSON_AddNumberToObject(head, "values", (double)values);
        cJSON_AddNumberToObject(head, "bytes", (double)bytes);
        cJSON *meta = cJSON_AddObjectToObject(head, "metadata");
        for (int i = 0; i < lc_st_meta_count(f); i++)
            cJSON_AddStringToObject(meta, lc_st_meta_at(f, i).key, lc_st_meta_at(f, i).value);
        print_json_line(head);
        for (int i = 0; i < n; i++) {
            const lc_st_tensor *t = lc_st_at(f, i);
            cJSON *row = cJSON_CreateObject();
            cJSON_AddStringToObject(row, "name", t->name);
            cJSON_AddStringToObject(row, "dtype", lc_dtype_name(t->dtype));
            cJSON *shape = cJSON_AddArrayToObject(row, "shape");
            for (int d = 0; d < t->ndim; d++)
                cJSON_AddItemToArray(shape, cJSON_CreateNumber((double)t->shape[d]));
            cJSON_AddNumberToObject(row, "numel", (double)lc_st_numel(t));
            cJSON_AddItemToObject(row, "min", number_or_null(stats[i].min));
            cJSON_AddItemToObject(row, "max", number_or_null(stats[i].max));
            cJSON_AddItemToObject(row, "mean", number_or_null(stats[i].mean));
            cJSON_AddNumberToObject(row, "nonfinite", (double)stats[i].nonfinite);
            print_json_line(row);
        }
    } else {
        printf("%s: %d tensors, %" PRId64 " values, %.3g MB\n", file, n, values,
               (double)bytes / 1e6);
        if (lc_st_meta_count(f)) printf("metadata:\n");
        for (int i = 0; i < lc_st_meta_count(f); i++)
            printf("  %-18s %s\n", lc_st_meta_at(f, i).key, lc_st_meta_at(f, i).value);
        if (n) {
            printf("tensors:\n  %-*s %-5s %-18s %12s %12s %12s\n", (int)name_width, "name", "dtype",
                   "shape", "min", "max", "mean");
        }
        for (int i = 0; i < n; i++) {
            const lc_st_tensor *t = lc_st_at(f, i);
            char shape[128];
            shape_text(shape, sizeof shape, t);
            printf("  %-*s %-5s %-18s", (int)name_width, t->name, lc_dtype_name(t->dtype), shape);
            if (stats[i].finite)
                printf(" %12.6g %12.6g %12.6g", stats[i].min, stats[i].max, stats[i].mean);
            else
                printf(" %12s %12s %12s", "-", "-", "-");
            if (stats[i].nonfinite) printf("  (%" PRId64 " non-finite)", stats[i].nonfinite);
            putchar('\n');
        }
    }
    free(stats);
    lc_st_close(f);
    return 0;
}
