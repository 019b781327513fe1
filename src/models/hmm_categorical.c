// Categorical emissions: p(x_t = m | z_t = k) = emissionprob[k][m], M symbols.
// M-step: emissionprob[k][m] = E[# times state k emits m] / E[# steps in state k].
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "models/hmm_internal.h"

static int64_t n_free_params(const lc_hmm *h) { return (int64_t)h->k * (h->m - 1); }

static void log_prob(double *out, const lc_hmm *h, const lc_sequences *x, int64_t step) {
    int m = x->symbols[step];
    for (int k = 0; k < h->k; k++)
        out[k] = log(h->emissionprob[(size_t)k * h->m + m]);
}

static void accumulate(lc_hmm_stats *s, const double *gamma, const lc_sequences *x, int64_t step) {
    int m = x->symbols[step];
    for (int k = 0; k < s->k; k++)
        s->obs[(size_t)k * s->m + m] += gamma[k];
}

static void mstep(lc_hmm *h, const lc_hmm_stats *s, const char *params,
                  const lc_hmm_mstep_options *o) {
    if (!lc_hmm_has(params, 'e')) return;
    double a = o ? o->smoothing : 0;
    for (int k = 0; k < h->k; k++) {
        const double *counts = s->obs + (size_t)k * h->m;
        double total = 0;
        for (int m = 0; m < h->m; m++)
            total += counts[m] + a;
        if (total <= 0) continue; // state never visited: keep its row
        for (int m = 0; m < h->m; m++)
            h->emissionprob[(size_t)k * h->m + m] = (counts[m] + a) / total;
    }
}

static lc_status init_random(lc_hmm *h, const char *which, const lc_sequences *x, uint64_t seed,
                             int restart, double min_covar) {
    (void)x, (void)min_covar;
    if (lc_hmm_has(which, 'e'))
        for (int k = 0; k < h->k; k++)
            lc_hmm_dirichlet_row(h->emissionprob + (size_t)k * h->m, h->m, seed, HMM_RNG_EMIT,
                                 (uint32_t)restart, (uint64_t)k * (uint64_t)h->m);
    return LC_OK;
}

static void sample(int32_t *symbol, float *value, const lc_hmm *h, int k, uint64_t seed,
                   uint64_t draw) {
    (void)value;
    double u = lc_hmm_uniform(seed, HMM_RNG_SAMPLE, 2, draw), acc = 0;
    const double *row = h->emissionprob + (size_t)k * h->m;
    int m = 0;
    for (; m < h->m - 1; m++) {
        acc += row[m];
        if (u < acc) break;
    }
    *symbol = m;
}

static lc_status check_data(const lc_hmm *h, const lc_sequences *x) {
    if (!x->symbols)
        return lc_fail(LC_ERR_INVALID_ARG,
                       "HMM: categorical emissions need symbol data (a text file)");
    for (int64_t b = 0; b < x->n; b++)
        for (int64_t t = x->offsets[b]; t < x->offsets[b + 1]; t++)
            if (x->symbols[t] < 0 || x->symbols[t] >= h->m)
                return lc_fail(LC_ERR_FORMAT,
                               "HMM: line %lld: symbol %d is not in the model's %d symbols",
                               (long long)b + 1, x->symbols[t], h->m);
    return LC_OK;
}

// ---- device -------------------------------------------------------------------------------

static lc_status device_upload(lc_hmm_device *hd, const lc_sequences *x) {
    size_t n = (size_t)x->n_steps, m = (size_t)hd->m;
    LC_TRY(lc_buffer_alloc(&hd->symbols, hd->dev, n * sizeof(int)));
    LC_TRY(lc_write(hd->dev, hd->symbols, 0, x->symbols, n * sizeof(int)));
    return lc_buffer_alloc(&hd->emission_t, hd->dev, m * (size_t)hd->kp * sizeof(float));
}

// The forward and backward kernels read emission rows from this table by symbol.
static lc_status device_emit(lc_hmm_device *hd, const lc_hmm *h) {
    size_t k = (size_t)h->k, m = (size_t)h->m, kp = (size_t)hd->kp;
    memset(hd->host, 0, m * kp * sizeof(float));
    for (size_t i = 0; i < k; i++)
        for (size_t j = 0; j < m; j++)
            hd->host[j * kp + i] = (float)h->emissionprob[i * m + j];
    return lc_write(hd->dev, hd->emission_t, 0, hd->host, kp * m * sizeof(float));
}

// obs (M, KP) = for each symbol, the sum of gamma over its steps: per-chunk tables
// of partial sums, then their sum.
static lc_status device_stats(lc_hmm_stats *s, lc_hmm_device *hd) {
    cl_kernel kp, ks;
    LC_TRY(lc_device_kernel(&kp, hd->dev, "hmm", "hmm_symbol_partials"));
    LC_TRY(lc_device_kernel(&ks, hd->dev, "hmm", "hmm_sum_partials"));
    int K = hd->k, KP = hd->kp, M = hd->m, rows = (int)hd->n_steps, chunk = LC_HMM_CHUNK;
    int n_chunks = hd->n_chunks, n = M * KP;
    LC_TRY(LC_ARG(kp, 0, hd->partial));
    LC_TRY(LC_ARG(kp, 1, hd->gamma));
    LC_TRY(LC_ARG(kp, 2, hd->symbols));
    LC_TRY(LC_ARG(kp, 3, KP));
    LC_TRY(LC_ARG(kp, 4, M));
    LC_TRY(LC_ARG(kp, 5, rows));
    LC_TRY(LC_ARG(kp, 6, chunk));
    size_t global = (size_t)n_chunks, one = 1; // one chunk per group: all cores take chunks
    LC_TRY(lc_launch(hd->dev, kp, "hmm_symbol_partials", 1, &global, &one));
    LC_TRY(LC_ARG(ks, 0, hd->stat_obs));
    LC_TRY(LC_ARG(ks, 1, hd->partial));
    LC_TRY(LC_ARG(ks, 2, n_chunks));
    LC_TRY(LC_ARG(ks, 3, n));
    global = (size_t)n;
    LC_TRY(lc_launch(hd->dev, ks, "hmm_sum_partials", 1, &global, NULL));
    LC_TRY(lc_read(hd->dev, hd->host, hd->stat_obs, 0, (size_t)n * sizeof(float)));
    for (int k = 0; k < K; k++)
        for (int m = 0; m < M; m++) {
            double v = hd->host[(size_t)m * KP + k];
            s->obs[(size_t)k * M + m] = v;
            s->post[k] += v;
        }
    return LC_OK;
}

const lc_hmm_emission_ops lc_hmm_categorical_ops = {
    .kind = LC_HMM_CATEGORICAL,
    .name = "categorical",
    .letters = "e",
    .n_free_params = n_free_params,
    .log_prob = log_prob,
    .accumulate = accumulate,
    .mstep = mstep,
    .init_random = init_random,
    .sample = sample,
    .check_data = check_data,
    .device_upload = device_upload,
    .device_emit = device_emit,
    .device_stats = device_stats,
};
