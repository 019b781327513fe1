// HMM internals: the device state and the table of functions one emission kind
// provides. A new emission kind is one file filling an lc_hmm_emission_ops.
#ifndef LATENTCL_HMM_INTERNAL_H
#define LATENTCL_HMM_INTERNAL_H

#include "latentcl/hmm.h"

// Sequences and E-step buffers on the device. Steps of all sequences are stored
// back to back (N = total steps); sequence b is rows [offsets[b], offsets[b+1]).
struct lc_hmm_device {
    lc_device *dev;
    int k, m, d;
    int kp; // K rounded up to a multiple of 8: the row stride of (N, KP) buffers
    int wp; // Gaussian: 1 + 2D rounded up to a multiple of 8
    lc_hmm_emission emission;
    int64_t n_seq, n_steps;
    cl_mem offsets;    // (n_seq + 1) int
    cl_mem emit;       // (N, KP) Gaussian: p(x_t | z_t = k) / exp(scale_t) (categorical models
                       // read emission_t by symbol); the backward pass overwrites it with G
                       // (see cl/hmm.cl)
    cl_mem scale;      // (N) log scale of each emission row (0 for categorical)
    cl_mem alpha;      // (N, KP) unnormalised forward rows u_t (sum = c_t)
    cl_mem gamma;      // (N, KP) state posteriors
    cl_mem c;          // (N) forward normalisers
    cl_mem loglik;     // (n_seq) log p(x) per sequence
    cl_mem startprob;  // (KP) zero-padded
    cl_mem trans;      // (KP, KP) zero-padded
    cl_mem trans_t;    // (KP, KP) transposed, for the backward pass
    cl_mem stat_start; // (K)
    cl_mem stat_trans; // (KP, KP) U^T G
    cl_mem stat_obs;   // categorical (M, KP); Gaussian (KP, WP)
    cl_mem partial;    // (n_chunks, KP * max(KP, WP, M)) per-chunk partial sums
    int n_chunks;
    // categorical
    cl_mem symbols;    // (N) int
    cl_mem emission_t; // (M, KP) emissionprob transposed, zero-padded
    // Gaussian
    cl_mem values;   // (N, D) centred by x_mean
    cl_mem xaug;     // (N, WP): 1, x - x_mean, (x - x_mean)^2, zeros
    cl_mem means;    // (D, KP) centred, transposed, zero-padded
    cl_mem inv_var;  // (D, KP) transposed, zero-padded
    cl_mem log_norm; // (KP) -0.5 (D log 2 pi + sum_d log var); -inf for padded states
    double *x_mean;  // (D)
    float *host;     // staging, max(KP*KP, KP*M, KP*WP, n_seq + 1) floats
};

typedef struct {
    lc_hmm_emission kind;
    const char *name;
    const char *letters; // its parameter letters ("e", "mc")
    int64_t (*n_free_params)(const lc_hmm *h);
    // log p(x_step | z = k) for all k: out (K)
    void (*log_prob)(double *out, const lc_hmm *h, const lc_sequences *x, int64_t step);
    // s->obs (and obs2) += gamma_t (K) times the observation at step
    void (*accumulate)(lc_hmm_stats *s, const double *gamma, const lc_sequences *x, int64_t step);
    void (*mstep)(lc_hmm *h, const lc_hmm_stats *s, const char *params,
                  const lc_hmm_mstep_options *o);
    lc_status (*init_random)(lc_hmm *h, const char *which, const lc_sequences *x, uint64_t seed,
                             int restart, double min_covar);
    // one observation of state k from 4 Philox words (and more drawn via counter)
    void (*sample)(int32_t *symbol, float *value, const lc_hmm *h, int k, uint64_t seed,
                   uint64_t draw);
    lc_status (*check_data)(const lc_hmm *h, const lc_sequences *x);
    // device: upload the data once; fill emit/scale for the current parameters;
    // read the observation counts from gamma into s
    lc_status (*device_upload)(lc_hmm_device *hd, const lc_sequences *x);
    lc_status (*device_emit)(lc_hmm_device *hd, const lc_hmm *h);
    lc_status (*device_stats)(lc_hmm_stats *s, lc_hmm_device *hd);
} lc_hmm_emission_ops;

extern const lc_hmm_emission_ops lc_hmm_categorical_ops;
extern const lc_hmm_emission_ops lc_hmm_gaussian_ops;
const lc_hmm_emission_ops *lc_hmm_ops(lc_hmm_emission e);

// Philox helpers: uniform (0,1) number `index` of stream (seed, purpose, a, b).
double lc_hmm_uniform(uint64_t seed, uint32_t purpose, uint32_t a, uint64_t index);
double lc_hmm_normal(uint64_t seed, uint32_t purpose, uint32_t a, uint64_t index);
// A Dirichlet(1, ..., 1) row of n entries.
void lc_hmm_dirichlet_row(double *row, int n, uint64_t seed, uint32_t purpose, uint32_t a,
                          uint64_t first);
// Philox purposes
enum { HMM_RNG_START = 1, HMM_RNG_TRANS, HMM_RNG_EMIT, HMM_RNG_KMEANS, HMM_RNG_SAMPLE };

// Normalise a row to sum 1 (all zero: uniform).
void lc_hmm_normalize(double *row, int n);
bool lc_hmm_has(const char *letters, char c); // NULL letters: all

enum { LC_HMM_CHUNK = 2048 }; // rows per partial sum

// out (P, ldb) = sum_r a(r, p) b(r + b_shift, q) over `rows` rows, by per-chunk partials;
// ldb a multiple of 8.
lc_status lc_hmm_outer(lc_hmm_device *hd, cl_mem out, cl_mem a, int lda, cl_mem b, int ldb,
                       int b_shift, int P, int rows);

#endif
