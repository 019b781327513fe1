// Numeric sequences (or a point cloud) from CSV: a header row naming the columns,
// one row per time step. A "seq" column holds sequence ids (a new sequence starts
// where the id changes); without one, blank lines separate sequences. Every value
// must be a finite number: NaN, Inf, text, an empty field or a wrong field count
// is an error naming the line and the column.
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "data/data_util.h"
#include "latentcl/data.h"

#define CSV_MAX_BYTES ((size_t)1 << 30)
enum { CSV_MAX_COLUMNS = 4096 };

// Splits a line at commas in place; returns the field count (fields[] gets up to max).
static int split_fields(char *line, char **fields, int max) {
    int n = 0;
    char *p = line;
    for (;;) {
        char *comma = strchr(p, ',');
        if (comma) *comma = '\0';
        if (n < max) fields[n] = p;
        n++;
        if (!comma) return n;
        p = comma + 1;
    }
}

// Trims spaces and one pair of surrounding double quotes.
static char *trim_field(char *f) {
    while (*f == ' ' || *f == '\t')
        f++;
    size_t n = strlen(f);
    while (n && (f[n - 1] == ' ' || f[n - 1] == '\t'))
        f[--n] = '\0';
    if (n >= 2 && f[0] == '"' && f[n - 1] == '"') {
        f[n - 1] = '\0';
        f++;
    }
    return f;
}

static bool parse_number(double *v, const char *text) {
    if (!*text) return false;
    char *end;
    errno = 0;
    *v = strtod(text, &end);
    return end != text && *end == '\0' && errno != ERANGE && isfinite(*v);
}

typedef struct {
    float *values;
    int64_t n_steps, cap;
    int64_t *offsets;
    int64_t n_offsets, offsets_cap;
} csv_acc;

static bool push_offset(csv_acc *a, int64_t v) {
    return lc_i64_push(&a->offsets, &a->n_offsets, &a->offsets_cap, v);
}

// Ends the current sequence if it has any steps.
static bool close_sequence(csv_acc *a) {
    if (a->n_steps == a->offsets[a->n_offsets - 1]) return true;
    return push_offset(a, a->n_steps);
}

lc_status lc_sequences_read_csv(lc_sequences *out, const char *path) {
    memset(out, 0, sizeof *out);
    char *text;
    size_t len;
    lc_status s = lc_read_file(&text, &len, path, CSV_MAX_BYTES);
    if (s != LC_OK) return s;
    char **fields = malloc(CSV_MAX_COLUMNS * sizeof(char *));
    csv_acc a = {0};
    char *seq_id = NULL; // the current "seq" value
    int n_cols = 0, seq_col = -1, dim = 0;
    int64_t line_no = 0;
    char *p = text, *end = text + len;
    if (!fields || !push_offset(&a, 0)) s = lc_fail(LC_ERR_NOMEM, "out of memory");
    char *line;
    size_t n;
    while (s == LC_OK && (line = lc_next_line(&p, end, &n))) {
        line_no++;
        line[n] = '\0'; // the fields are parsed in place
        if (lc_utf8_check((const unsigned char *)line, n) != n || memchr(line, '\0', n)) {
            s = lc_fail(LC_ERR_FORMAT, "%s:%lld: invalid UTF-8 or NUL byte", path,
                        (long long)line_no);
            break;
        }
        bool blank = strspn(line, " \t") == n;
        if (n_cols == 0) { // the header
            if (blank) continue;
            n_cols = split_fields(line, fields, CSV_MAX_COLUMNS);
            if (n_cols > CSV_MAX_COLUMNS) {
                s = lc_fail(LC_ERR_FORMAT, "%s:%lld: more than %d columns", path,
                            (long long)line_no, CSV_MAX_COLUMNS);
                break;
            }
            dim = n_cols;
            for (int i = 0; i < n_cols; i++) {
                char *name = trim_field(fields[i]);
                double dummy;
                if (parse_number(&dummy, name)) {
                    s = lc_fail(LC_ERR_FORMAT,
                                "%s:%lld: the first row must name the columns "
                                "(found the number %s)",
                                path, (long long)line_no, name);
                    break;
                }
                if (!strcasecmp(name, "seq")) {
                    if (seq_col >= 0) {
                        s = lc_fail(LC_ERR_FORMAT, "%s:%lld: two seq columns", path,
                                    (long long)line_no);
                        break;
                    }
                    seq_col = i, dim--;
                }
            }
            if (s == LC_OK && dim == 0)
                s = lc_fail(LC_ERR_FORMAT, "%s:%lld: no value columns", path, (long long)line_no);
            if (s == LC_OK) {
                out->column_names = calloc((size_t)dim, sizeof(char *));
                if (!out->column_names) s = lc_fail(LC_ERR_NOMEM, "out of memory");
                out->dim = dim;
                for (int i = 0, k = 0; s == LC_OK && i < n_cols; i++)
                    if (i != seq_col && !(out->column_names[k++] = strdup(trim_field(fields[i]))))
                        s = lc_fail(LC_ERR_NOMEM, "out of memory");
            }
            continue;
        }
        if (blank) {
            if (!close_sequence(&a)) s = lc_fail(LC_ERR_NOMEM, "out of memory");
            continue;
        }
        int got = split_fields(line, fields, CSV_MAX_COLUMNS);
        if (got != n_cols) {
            s = lc_fail(LC_ERR_FORMAT, "%s:%lld: %d fields, the header has %d", path,
                        (long long)line_no, got, n_cols);
            break;
        }
        if (a.n_steps + 1 > a.cap) {
            int64_t cap = a.cap ? a.cap * 2 : 1024;
            float *v = realloc(a.values, (size_t)cap * (size_t)dim * sizeof(float));
            if (!v) {
                s = lc_fail(LC_ERR_NOMEM, "out of memory");
                break;
            }
            a.values = v, a.cap = cap;
        }
        float *row = a.values + (size_t)a.n_steps * dim;
        for (int i = 0, k = 0; i < n_cols && s == LC_OK; i++) {
            char *f = trim_field(fields[i]);
            if (i == seq_col) {
                if (seq_id && strcmp(seq_id, f) && !close_sequence(&a))
                    s = lc_fail(LC_ERR_NOMEM, "out of memory");
                if (!seq_id || strcmp(seq_id, f)) {
                    free(seq_id);
                    if (!(seq_id = strdup(f))) s = lc_fail(LC_ERR_NOMEM, "out of memory");
                }
                continue;
            }
            double v;
            if (!parse_number(&v, f) || fabs(v) > 3.0e38)
                s = lc_fail(LC_ERR_FORMAT, "%s:%lld: column %s: \"%.40s\" is not a finite number",
                            path, (long long)line_no, out->column_names[k], f);
            else
                row[k++] = (float)v;
        }
        if (s == LC_OK) a.n_steps++;
    }
    if (s == LC_OK && n_cols == 0) s = lc_fail(LC_ERR_FORMAT, "%s: empty (no header row)", path);
    if (s == LC_OK && !close_sequence(&a)) s = lc_fail(LC_ERR_NOMEM, "out of memory");
    if (s == LC_OK && a.n_steps == 0) s = lc_fail(LC_ERR_FORMAT, "%s: no data rows", path);
    if (s == LC_OK) {
        out->n = a.n_offsets - 1;
        out->n_steps = a.n_steps;
        out->offsets = a.offsets;
        out->values = a.values;
        a.offsets = NULL, a.values = NULL;
    }
    free(a.offsets);
    free(a.values);
    free(seq_id);
    free(fields);
    free(text);
    if (s != LC_OK) lc_sequences_free(out);
    return s;
}
