// latentcl — run folders: where a training verb writes everything it makes.
//
//   RUN/config.json        every option, the seed, the device, the GEMM backend (pretty JSON)
//   RUN/metrics.jsonl      one JSON object per logged step/epoch: step, epoch, loss, one key
//                          per named loss term, lr, samples_per_s, elapsed_s, eval figures
//   RUN/last.safetensors   the latest checkpoint (everything a resume needs)
//   RUN/best.safetensors   the checkpoint with the best validation figure, if tracked
//   RUN/curves.png         the metrics drawn by lc_plot_metrics (redrawn each epoch)
//   RUN/*.png              samples, reconstructions, grids
//
// Every whole-file write is atomic (temp file, fsync, rename); metrics.jsonl
// grows one complete line per write.
#ifndef LATENTCL_RUN_H
#define LATENTCL_RUN_H

#include <stddef.h>

#include "latentcl/status.h"

#ifdef __cplusplus
extern "C" {
#endif

struct cJSON; // <cjson/cJSON.h>

#define LC_RUN_CONFIG "config.json"
#define LC_RUN_METRICS "metrics.jsonl"
#define LC_RUN_CURVES "curves.png"
#define LC_RUN_LAST "last.safetensors"
#define LC_RUN_BEST "best.safetensors"

typedef enum {
    LC_RUN_NEW,    // create RUN (and missing parents); an existing non-empty RUN is LC_ERR_EXISTS
    LC_RUN_FORCE,  // as NEW, but reuse a non-empty RUN: the files named above are removed first
    LC_RUN_RESUME, // open an existing RUN and append to its metrics
} lc_run_mode;

typedef struct lc_run lc_run;

lc_status lc_run_open(lc_run **out, const char *dir, lc_run_mode mode);
void lc_run_close(lc_run *r);

const char *lc_run_dir(const lc_run *r);
// RUN/name into out (cap bytes); LC_ERR_INVALID_ARG when it does not fit.
lc_status lc_run_path(const lc_run *r, const char *name, char *out, size_t cap);

// Writes config (any cJSON value, usually an object) as RUN/config.json, atomically.
lc_status lc_run_write_config(const lc_run *r, const struct cJSON *config);
// Reads DIR/config.json (*out: caller frees with cJSON_Delete).
lc_status lc_run_read_config(struct cJSON **out, const char *dir);

// The checkpoint a path names: a run folder (its last.safetensors) or the file
// itself. Writes it to file (cap bytes); LC_ERR_INVALID_ARG if it does not fit.
lc_status lc_run_checkpoint_path(char *file, size_t cap, const char *path);

// Appends one object as a line of RUN/metrics.jsonl (NaN and infinities become null).
lc_status lc_run_log(lc_run *r, const struct cJSON *row);

typedef struct {
    const char *key; // "step", "epoch", "loss", "lr", "samples_per_s", "elapsed_s", ...
    double value;
} lc_metric;
// Appends one line made of these key/value pairs, in this order.
lc_status lc_run_log_metrics(lc_run *r, const lc_metric *m, int n);

// For a resume from step `step`: rewrites metrics.jsonl (atomically) keeping only
// the lines whose "step" is <= step (lines without a step are kept) and dropping a
// torn last line left by a crash.
lc_status lc_run_truncate_metrics(lc_run *r, double step);

// ---- reading metrics back (plots, resume, tests) -----------------------------------
// A table of the numeric values of metrics.jsonl: one row per line, one column
// per key in first-seen order; NAN where a line lacks the key or holds null.
// String, boolean, array and object values are ignored.
typedef struct {
    int n_rows, n_cols;
    char **names;   // n_cols column names
    double *values; // (n_rows, n_cols), row-major
} lc_metrics;

// Reads a metrics.jsonl file. A line that is not a JSON object is an error naming
// the file and line; blank lines are skipped; a last line without a newline that
// does not parse (a write cut short by a crash) is ignored.
lc_status lc_metrics_read(lc_metrics *out, const char *path);
void lc_metrics_free(lc_metrics *m);
// Column index of name, or -1.
int lc_metrics_column(const lc_metrics *m, const char *name);
static inline double lc_metrics_at(const lc_metrics *m, int row, int col) {
    return m->values[(size_t)row * (size_t)m->n_cols + (size_t)col];
}

#ifdef __cplusplus
}
#endif
#endif
