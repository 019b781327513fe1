// Reading metrics.jsonl back into a dense table (plots, resume, tests).
#include "latentcl/run.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

// Metrics files beyond this are refused (a million lines of 200 bytes is 200 MB).
#define METRICS_MAX_BYTES ((size_t)1 << 30)
enum { METRICS_MAX_COLS = 4096 };

typedef struct {
    int row, col;
    double value;
} cell;

typedef struct {
    char **names;
    int n_cols, cap_cols;
    cell *cells;
    size_t n_cells, cap_cells;
    int n_rows;
} table_builder;

static void builder_free(table_builder *b) {
    for (int i = 0; i < b->n_cols; i++)
        free(b->names[i]);
    free(b->names);
    free(b->cells);
}

static int column_of(table_builder *b, const char *name) {
    for (int i = 0; i < b->n_cols; i++)
        if (!strcmp(b->names[i], name)) return i;
    if (b->n_cols >= METRICS_MAX_COLS) return -2;
    if (b->n_cols == b->cap_cols) {
        int cap = b->cap_cols ? 2 * b->cap_cols : 16;
        char **names = realloc(b->names, sizeof *names * (size_t)cap);
        if (!names) return -1;
        b->names = names;
        b->cap_cols = cap;
    }
    if (!(b->names[b->n_cols] = strdup(name))) return -1;
    return b->n_cols++;
}

static int add_cell(table_builder *b, int row, int col, double value) {
    if (b->n_cells == b->cap_cells) {
        size_t cap = b->cap_cells ? 2 * b->cap_cells : 256;
        cell *c = realloc(b->cells, sizeof *c * cap);
        if (!c) return -1;
        b->cells = c;
        b->cap_cells = cap;
    }
    b->cells[b->n_cells++] = (cell){row, col, value};
    return 0;
}

static lc_status read_text(char **out, size_t *len, const char *path) {
    *out = NULL;
    FILE *f = fopen(path, "rb");
    if (!f) return lc_fail(LC_ERR_IO, "%s: %s", path, strerror(errno));
    char *buf = NULL;
    size_t n = 0, cap = 0;
    for (;;) {
        if (n + 65536 + 1 > cap) {
            cap = cap ? 2 * cap : 65536 * 2;
            if (cap > METRICS_MAX_BYTES + 65536 * 2) {
                free(buf);
                fclose(f);
                return lc_fail(LC_ERR_FORMAT, "%s: larger than 1 GB", path);
            }
            char *grown = realloc(buf, cap);
            if (!grown) {
                free(buf);
                fclose(f);
                return lc_fail(LC_ERR_NOMEM, "%s: out of memory", path);
            }
            buf = grown;
        }
        size_t got = fread(buf + n, 1, 65536, f);
        n += got;
        if (got < 65536) break;
    }
    int failed = ferror(f);
    fclose(f);
    if (failed) {
        free(buf);
        return lc_fail(LC_ERR_IO, "%s: read error", path);
    }
    buf[n] = '\0';
    *out = buf;
    *len = n;
    return LC_OK;
}

static int is_blank(const char *s, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (s[i] != ' ' && s[i] != '\t' && s[i] != '\r') return 0;
    return 1;
}

// Adds the numeric values of one parsed line as row `row`.
static lc_status add_row(table_builder *b, const cJSON *obj, int row, const char *path, int line) {
    for (const cJSON *e = obj->child; e; e = e->next) {
        double v;
        if (cJSON_IsNumber(e))
            v = e->valuedouble;
        else if (cJSON_IsNull(e))
            v = NAN;
        else
            continue; // strings, booleans, arrays, objects: not plotted
        int col = column_of(b, e->string ? e->string : "");
        if (col == -2)
            return lc_fail(LC_ERR_FORMAT, "%s:%d: more than %d different keys", path, line,
                           METRICS_MAX_COLS);
        if (col < 0 || add_cell(b, row, col, v) != 0)
            return lc_fail(LC_ERR_NOMEM, "%s: out of memory", path);
    }
    return LC_OK;
}

static lc_status parse_lines(table_builder *b, const char *text, size_t len, const char *path) {
    int line = 0;
    for (size_t at = 0; at < len;) {
        const char *start = text + at;
        const char *nl = memchr(start, '\n', len - at);
        size_t n = nl ? (size_t)(nl - start) : len - at;
        at += n + (nl ? 1 : 0);
        line++;
        if (is_blank(start, n)) continue;
        cJSON *obj = cJSON_ParseWithLength(start, n);
        if (!obj || !cJSON_IsObject(obj)) {
            cJSON_Delete(obj);
            if (!nl) break; // a torn last line left by a crash
            return lc_fail(LC_ERR_FORMAT, "%s:%d: not a JSON object", path, line);
        }
        if (b->n_rows == 0x7fffffff) {
            cJSON_Delete(obj);
            return lc_fail(LC_ERR_FORMAT, "%s: too many lines", path);
        }
        lc_status s = add_row(b, obj, b->n_rows++, path, line);
        cJSON_Delete(obj);
        if (s != LC_OK) return s;
    }
    return LC_OK;
}

lc_status lc_metrics_read(lc_metrics *out, const char *path) {
    memset(out, 0, sizeof *out);
    char *text = NULL;
    size_t len = 0;
    lc_status s = read_text(&text, &len, path);
    if (s != LC_OK) return s;
    table_builder b = {0};
    s = parse_lines(&b, text, len, path);
    free(text);
    size_t total = (size_t)b.n_rows * (size_t)b.n_cols;
    double *values = s == LC_OK ? malloc(sizeof *values * (total ? total : 1)) : NULL;
    if (s == LC_OK && !values) s = lc_fail(LC_ERR_NOMEM, "%s: out of memory", path);
    if (s != LC_OK) {
        builder_free(&b);
        return s;
    }
    for (size_t i = 0; i < total; i++)
        values[i] = NAN;
    // A key repeated within one line: the last value wins, as in most JSON readers.
    for (size_t i = 0; i < b.n_cells; i++)
        values[(size_t)b.cells[i].row * (size_t)b.n_cols + (size_t)b.cells[i].col] =
            b.cells[i].value;
    free(b.cells);
    out->n_rows = b.n_rows;
    out->n_cols = b.n_cols;
    out->names = b.names;
    out->values = values;
    return LC_OK;
}

void lc_metrics_free(lc_metrics *m) {
    if (!m) return;
    for (int i = 0; i < m->n_cols; i++)
        free(m->names[i]);
    free(m->names);
    free(m->values);
    memset(m, 0, sizeof *m);
}

int lc_metrics_column(const lc_metrics *m, const char *name) {
    for (int i = 0; m && name && i < m->n_cols; i++)
        if (!strcmp(m->names[i], name)) return i;
    return -1;
}
