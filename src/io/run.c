// Run folders: create/refuse/force/resume, config.json, metrics.jsonl appends.
#include "latentcl/run.h"

#include <cjson/cJSON.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "io/atomic.h"

struct lc_run {
    char *dir;
    int metrics_fd; // O_APPEND
};

// mkdir -p: creates dir and its missing parents.
static lc_status make_dirs(const char *dir) {
    char *path = strdup(dir);
    if (!path) return lc_fail(LC_ERR_NOMEM, "%s: out of memory", dir);
    lc_status s = LC_OK;
    for (char *p = path + 1;; p++) {
        if (*p != '/' && *p) continue;
        char saved = *p;
        *p = '\0';
        if (mkdir(path, 0777) != 0 && errno != EEXIST) {
            s = lc_fail(LC_ERR_IO, "cannot create folder %s: %s", path, strerror(errno));
            break;
        }
        *p = saved;
        if (!saved) break;
    }
    free(path);
    return s;
}

// 1 when dir has no entries, 0 when it has some, -1 on error (errno set).
static int dir_is_empty(const char *dir) {
    DIR *d = opendir(dir);
    if (!d) return -1;
    int empty = 1;
    for (struct dirent *e; (e = readdir(d));)
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) {
            empty = 0;
            break;
        }
    closedir(d);
    return empty;
}

lc_status lc_run_path(const lc_run *r, const char *name, char *out, size_t cap) {
    size_t n = strlen(r->dir);
    int k = snprintf(out, cap, "%s%s%s", r->dir, n && r->dir[n - 1] == '/' ? "" : "/", name);
    if (k < 0 || (size_t)k >= cap)
        return lc_fail(LC_ERR_INVALID_ARG, "%s/%s: path too long", r->dir, name);
    return LC_OK;
}

const char *lc_run_dir(const lc_run *r) { return r ? r->dir : ""; }

void lc_run_close(lc_run *r) {
    if (!r) return;
    if (r->metrics_fd >= 0) close(r->metrics_fd);
    free(r->dir);
    free(r);
}

static lc_status open_metrics(lc_run *r) {
    char path[4096];
    lc_status s = lc_run_path(r, LC_RUN_METRICS, path, sizeof path);
    if (s != LC_OK) return s;
    if (r->metrics_fd >= 0) close(r->metrics_fd);
    r->metrics_fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0666);
    if (r->metrics_fd < 0) return lc_fail(LC_ERR_IO, "%s: %s", path, strerror(errno));
    return LC_OK;
}

// --force: remove only the files latentcl itself writes under fixed names.
static lc_status remove_known_files(lc_run *r) {
    static const char *const names[] = {LC_RUN_CONFIG, LC_RUN_METRICS, LC_RUN_CURVES, LC_RUN_LAST,
                                        LC_RUN_BEST};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        char path[4096];
        lc_status s = lc_run_path(r, names[i], path, sizeof path);
        if (s != LC_OK) return s;
        if (unlink(path) != 0 && errno != ENOENT)
            return lc_fail(LC_ERR_IO, "cannot remove %s: %s", path, strerror(errno));
    }
    return LC_OK;
}

// A file named "NAME.tmp.XXXXXX" is a temporary of lc_atomic_file (src/io/atomic_file.c)
// that a killed process left behind; the complete file beside it is untouched.
static bool is_stale_temp(const char *name) {
    size_t n = strlen(name);
    return n > 11 && !memcmp(name + n - 11, ".tmp.", 5);
}

// --resume / --force after a kill -9 in the middle of a save: remove the partial temporaries.
static lc_status remove_stale_temps(lc_run *r) {
    DIR *d = opendir(r->dir);
    if (!d) return lc_fail(LC_ERR_IO, "%s: %s", r->dir, strerror(errno));
    lc_status s = LC_OK;
    struct dirent *e;
    while (s == LC_OK && (e = readdir(d)) != NULL) {
        if (!is_stale_temp(e->d_name)) continue;
        char path[4096];
        s = lc_run_path(r, e->d_name, path, sizeof path);
        if (s == LC_OK && unlink(path) != 0 && errno != ENOENT)
            s = lc_fail(LC_ERR_IO, "cannot remove %s: %s", path, strerror(errno));
    }
    closedir(d);
    return s;
}

lc_status lc_run_open(lc_run **out, const char *dir, lc_run_mode mode) {
    *out = NULL;
    if (!dir || !*dir) return lc_fail(LC_ERR_INVALID_ARG, "run folder: empty path");
    struct stat st;
    int exists = stat(dir, &st) == 0;
    if (exists && !S_ISDIR(st.st_mode))
        return lc_fail(LC_ERR_EXISTS, "%s exists and is not a folder", dir);
    if (mode == LC_RUN_RESUME && !exists)
        return lc_fail(LC_ERR_IO, "cannot resume %s: no such run folder", dir);
    if (mode == LC_RUN_NEW && exists) {
        int empty = dir_is_empty(dir);
        if (empty < 0) return lc_fail(LC_ERR_IO, "%s: %s", dir, strerror(errno));
        if (!empty)
            return lc_fail(LC_ERR_EXISTS,
                           "%s already holds files; refusing to overwrite it (--force reuses it, "
                           "--resume continues it)",
                           dir);
    }
    if (!exists) {
        lc_status s = make_dirs(dir);
        if (s != LC_OK) return s;
    }
    lc_run *r = calloc(1, sizeof *r);
    if (!r || !(r->dir = strdup(dir))) {
        free(r);
        return lc_fail(LC_ERR_NOMEM, "%s: out of memory", dir);
    }
    r->metrics_fd = -1;
    lc_status s = mode == LC_RUN_FORCE ? remove_known_files(r) : LC_OK;
    if (s == LC_OK && mode != LC_RUN_NEW) s = remove_stale_temps(r);
    if (s == LC_OK) s = open_metrics(r);
    if (s != LC_OK) {
        lc_run_close(r);
        return s;
    }
    *out = r;
    return LC_OK;
}

lc_status lc_run_write_config(const lc_run *r, const cJSON *config) {
    if (!r || !config) return lc_fail(LC_ERR_INVALID_ARG, "lc_run_write_config: NULL argument");
    char path[4096];
    lc_status s = lc_run_path(r, LC_RUN_CONFIG, path, sizeof path);
    if (s != LC_OK) return s;
    char *text = cJSON_Print(config);
    if (!text) return lc_fail(LC_ERR_NOMEM, "%s: out of memory", path);
    size_t n = strlen(text);
    char *with_newline = malloc(n + 1); // the file ends with a newline
    if (!with_newline) {
        cJSON_free(text);
        return lc_fail(LC_ERR_NOMEM, "%s: out of memory", path);
    }
    memcpy(with_newline, text, n);
    with_newline[n] = '\n';
    cJSON_free(text);
    s = lc_write_file_atomic(path, with_newline, n + 1);
    free(with_newline);
    return s;
}

lc_status lc_run_read_config(cJSON **out, const char *dir) {
    *out = NULL;
    char path[4096];
    int k = snprintf(path, sizeof path, "%s/%s", dir, LC_RUN_CONFIG);
    if (k < 0 || (size_t)k >= sizeof path)
        return lc_fail(LC_ERR_INVALID_ARG, "%s: path too long", dir);
    FILE *f = fopen(path, "rb");
    if (!f) return lc_fail(LC_ERR_IO, "%s: %s", path, strerror(errno));
    enum { MAX_CONFIG = 16 << 20 };
    char *text = malloc(MAX_CONFIG + 1);
    size_t n = text ? fread(text, 1, MAX_CONFIG + 1, f) : 0;
    fclose(f);
    if (!text) return lc_fail(LC_ERR_NOMEM, "%s: out of memory", path);
    if (n > MAX_CONFIG) {
        free(text);
        return lc_fail(LC_ERR_FORMAT, "%s: larger than 16 MB", path);
    }
    cJSON *root = cJSON_ParseWithLength(text, n);
    free(text);
    if (!root) return lc_fail(LC_ERR_FORMAT, "%s: not valid JSON", path);
    *out = root;
    return LC_OK;
}

// One complete line per write(): readers never see half a line unless the machine dies.
static lc_status append_line(lc_run *r, const char *json) {
    size_t n = strlen(json);
    char *line = malloc(n + 2);
    if (!line) return lc_fail(LC_ERR_NOMEM, "%s/%s: out of memory", r->dir, LC_RUN_METRICS);
    memcpy(line, json, n);
    line[n] = '\n';
    size_t done = 0;
    while (done < n + 1) {
        ssize_t w = write(r->metrics_fd, line + done, n + 1 - done);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) {
            free(line);
            return lc_fail(LC_ERR_IO, "%s/%s: write failed: %s", r->dir, LC_RUN_METRICS,
                           strerror(errno));
        }
        done += (size_t)w;
    }
    free(line);
    return LC_OK;
}

lc_status lc_run_log(lc_run *r, const cJSON *row) {
    if (!r || !row || !cJSON_IsObject(row))
        return lc_fail(LC_ERR_INVALID_ARG, "lc_run_log: a metrics row must be a JSON object");
    if (r->metrics_fd < 0) return lc_fail(LC_ERR_IO, "%s: metrics file not open", r->dir);
    char *json = cJSON_PrintUnformatted(row);
    if (!json) return lc_fail(LC_ERR_NOMEM, "%s/%s: out of memory", r->dir, LC_RUN_METRICS);
    lc_status s = append_line(r, json);
    cJSON_free(json);
    return s;
}

lc_status lc_run_log_metrics(lc_run *r, const lc_metric *m, int n) {
    if (n < 0 || (n && !m)) return lc_fail(LC_ERR_INVALID_ARG, "lc_run_log_metrics: bad list");
    cJSON *row = cJSON_CreateObject();
    for (int i = 0; row && i < n; i++) {
        if (!m[i].key) {
            cJSON_Delete(row);
            return lc_fail(LC_ERR_INVALID_ARG, "lc_run_log_metrics: NULL key");
        }
        // cJSON prints NaN as null; keep infinities as null too (JSON has no inf).
        if (!cJSON_AddNumberToObject(row, m[i].key, isfinite(m[i].value) ? m[i].value : NAN)) {
            cJSON_Delete(row);
            row = NULL;
        }
    }
    if (!row) return lc_fail(LC_ERR_NOMEM, "lc_run_log_metrics: out of memory");
    lc_status s = lc_run_log(r, row);
    cJSON_Delete(row);
    return s;
}

lc_status lc_run_truncate_metrics(lc_run *r, double step) {
    char path[4096];
    lc_status s = lc_run_path(r, LC_RUN_METRICS, path, sizeof path);
    if (s != LC_OK) return s;
    FILE *f = fopen(path, "rb");
    if (!f) return errno == ENOENT ? LC_OK : lc_fail(LC_ERR_IO, "%s: %s", path, strerror(errno));
    char *kept = NULL;
    size_t kept_len = 0;
    FILE *mem = open_memstream(&kept, &kept_len);
    char *line = NULL;
    size_t cap = 0;
    ssize_t len;
    while (mem && (len = getline(&line, &cap, f)) > 0) {
        if (line[len - 1] != '\n') break; // a torn last line
        cJSON *row = cJSON_ParseWithLength(line, (size_t)len);
        const cJSON *at = row ? cJSON_GetObjectItemCaseSensitive(row, "step") : NULL;
        int keep = !cJSON_IsNumber(at) || at->valuedouble <= step;
        cJSON_Delete(row);
        if (keep) fwrite(line, 1, (size_t)len, mem);
    }
    free(line);
    fclose(f);
    if (!mem) return lc_fail(LC_ERR_NOMEM, "%s: out of memory", path);
    if (fclose(mem) != 0) {
        free(kept);
        return lc_fail(LC_ERR_NOMEM, "%s: out of memory", path);
    }
    s = lc_write_file_atomic(path, kept ? kept : "", kept_len);
    free(kept);
    // The old descriptor points at the replaced file.
    return s == LC_OK ? open_metrics(r) : s;
}

lc_status lc_run_checkpoint_path(char *file, size_t cap, const char *path) {
    struct stat st;
    int n = stat(path, &st) == 0 && S_ISDIR(st.st_mode)
                ? snprintf(file, cap, "%s/%s", path, LC_RUN_LAST)
                : snprintf(file, cap, "%s", path);
    if (n < 0 || (size_t)n >= cap) return lc_fail(LC_ERR_INVALID_ARG, "%s: path too long", path);
    return LC_OK;
}
