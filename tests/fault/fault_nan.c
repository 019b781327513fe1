// The non-finite hook of fault_hooks.h: with -Wl,--wrap=lc_train, every training run
// of every family (the CLI's and the library's own calls alike) goes through
// __wrap_lc_train, which puts a NaN into the loss or a gradient after the model's
// own step at the steps LATENTCL_FAULT_NAN=WHERE:STEP[,STEP...] names (0-based).
// As if the batch (loss) or the backward pass (grad) had produced it: the loop's
// non-finite rule must then stop (or skip with --skip-nonfinite).
#include <CL/cl.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "latentcl/train.h"

lc_status __real_lc_train(lc_train_result *res, lc_device *dev, lc_train_model *m,
                          const lc_train_options *o, lc_progress_fn progress, void *user);

enum { MAX_STEPS = 16 };
static struct {
    lc_status (*step)(void *self, lc_device *dev, cl_mem loss, const lc_batch *batch);
    lc_params *params;
    int grad; // 1: poison the gradient, 0: the loss
    int64_t steps[MAX_STEPS];
    int n_steps;
} g;

static lc_status poisoned_step(void *self, lc_device *dev, cl_mem loss, const lc_batch *batch) {
    LC_TRY(g.step(self, dev, loss, batch));
    for (int i = 0; i < g.n_steps; i++) {
        if (g.steps[i] != batch->step) continue;
        const float nan = NAN;
        cl_mem target = g.grad ? g.params->grad : loss;
        cl_int err = clEnqueueFillBuffer(lc_device_queue(dev), target, &nan, sizeof nan, 0,
                                         sizeof nan, 0, NULL, NULL);
        if (err != CL_SUCCESS) return lc_cl_fail(err, "clEnqueueFillBuffer", "the NaN hook");
    }
    return LC_OK;
}

// Parses "loss:3" / "grad:2,5"; 0 when unset or malformed (then nothing is poisoned).
static int parse_spec(const char *spec) {
    g.n_steps = 0;
    if (!spec || !*spec) return 0;
    if (!strncmp(spec, "loss:", 5))
        g.grad = 0;
    else if (!strncmp(spec, "grad:", 5))
        g.grad = 1;
    else
        return 0;
    const char *p = spec + 5;
    while (*p && g.n_steps < MAX_STEPS) {
        char *end;
        long v = strtol(p, &end, 10);
        if (end == p || v < 0) return 0;
        g.steps[g.n_steps++] = v;
        p = *end == ',' ? end + 1 : end;
        if (*end && *end != ',') return 0;
    }
    return g.n_steps > 0;
}

lc_status __wrap_lc_train(lc_train_result *res, lc_device *dev, lc_train_model *m,
                          const lc_train_options *o, lc_progress_fn progress, void *user) {
    if (!m || !m->step || !parse_spec(getenv("LATENTCL_FAULT_NAN")))
        return __real_lc_train(res, dev, m, o, progress, user);
    lc_train_model poisoned = *m;
    g.step = m->step;
    g.params = m->params;
    poisoned.step = poisoned_step;
    return __real_lc_train(res, dev, &poisoned, o, progress, user);
}

// The HMM trains by EM, not through lc_train: LATENTCL_FAULT_NAN=ll:K makes the K-th
// E-step (1-based, over restarts) report a NaN log-likelihood, as underflowing or
// poisoned data would (-Wl,--wrap=lc_hmm_estep_device,--wrap=lc_hmm_estep_host).
#include "latentcl/hmm.h"

lc_status __real_lc_hmm_estep_device(lc_hmm_stats *s, lc_hmm_device *hd, const lc_hmm *h);
lc_status __real_lc_hmm_estep_host(lc_hmm_stats *s, const lc_hmm *h, const lc_sequences *x);

static void poison_estep(lc_hmm_stats *s) {
    static long calls;
    const char *spec = getenv("LATENTCL_FAULT_NAN");
    calls++;
    if (spec && !strncmp(spec, "ll:", 3) && atol(spec + 3) == calls) s->log_likelihood = NAN;
}

lc_status __wrap_lc_hmm_estep_device(lc_hmm_stats *s, lc_hmm_device *hd, const lc_hmm *h) {
    LC_TRY(__real_lc_hmm_estep_device(s, hd, h));
    poison_estep(s);
    return LC_OK;
}

lc_status __wrap_lc_hmm_estep_host(lc_hmm_stats *s, const lc_hmm *h, const lc_sequences *x) {
    LC_TRY(__real_lc_hmm_estep_host(s, h, x));
    poison_estep(s);
    return LC_OK;
}
