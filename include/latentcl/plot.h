// latentcl — metrics curves as a PNG (what `latentcl plot` draws and training redraws each epoch).
#ifndef LATENTCL_PLOT_H
#define LATENTCL_PLOT_H

#include "latentcl/image.h"
#include "latentcl/run.h"
#include "latentcl/status.h"

#ifdef __cplusplus
extern "C" {
#endif

// Draws every numeric column of m against "step" (the line number when there is
// no step column) as an RGB image: one panel per quantity, with axes, ticks with
// numbers, the panel's name and a legend, one colour per series. "train_X",
// "val_X", "test_X", "eval_X" (and X_train, ...) share X's panel. step, epoch
// and elapsed_s are not drawn as series. *n_series (may be NULL) gets the count.
lc_status lc_plot_render(lc_image *out, const lc_metrics *m, int *n_series);

// Where lc_plot_metrics reads and writes by default: RUN/metrics.jsonl and
// RUN/curves.png for a folder; the file itself and curves.png beside it otherwise.
lc_status lc_plot_paths(char *metrics, char *png, size_t cap, const char *run);

// Reads RUN/metrics.jsonl (run may also be a metrics file) and writes the curves
// atomically to out_png (NULL: curves.png beside the metrics file).
lc_status lc_plot_metrics(const char *run, const char *out_png, int *n_series);

#ifdef __cplusplus
}
#endif
#endif
