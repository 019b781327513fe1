// latentcl — progress reports from long-running library calls (training, sampling,
// evaluation). The library never prints: it calls this function and the caller
// (the CLI's progress bar, a GUI, a test) decides what to show. A non-zero
// return asks the library to stop at the next safe point (after the current
// step, with a resumable checkpoint where training keeps one); the call then
// returns LC_ERR_CANCELLED. That is how Ctrl-C works.
#ifndef LATENTCL_PROGRESS_H
#define LATENTCL_PROGRESS_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct {
    const char *phase; // "train", "eval", "sample", "em", ... (never NULL)
    int64_t step;      // steps done so far (1-based after the first step)
    int64_t total;     // steps planned; 0 when unknown
    int64_t epoch;     // current epoch (0-based); -1 when not meaningful
    double loss;       // latest (or running mean) loss; NAN when there is none
    double rate;       // items (samples, sequences, images) per second; 0 when unknown
    double elapsed;    // seconds since the call started
} lc_progress;

typedef int (*lc_progress_fn)(void *user, const lc_progress *p);

// An lc_progress with the "nothing known" values: phase "", loss NAN, epoch -1.
lc_progress lc_progress_init(const char *phase);

#ifdef __cplusplus
}
#endif
#endif
