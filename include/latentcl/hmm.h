// latentcl — hidden Markov models: z_1 -> z_2 -> ... -> z_T, each z_t emits x_t.
//
//   p(z_1 = i)            = startprob[i]                 (K)
//   p(z_t = j | z_t-1 = i) = transmat[i][j]               (K, K)
//   p(x_t | z_t = k)      = emissionprob[k][x_t]          categorical (K, M)
//                         = N(x_t; means[k], diag covars[k])  diagonal Gaussian (K, D)
//
// Fitted by counting when the states are observed and by Baum-Welch (EM) when
// they are hidden. The E-step (scaled forward-backward and the expected counts)
// runs on the OpenCL device over every sequence at once; the M-step is a few
// divisions on the host. Parameters are kept in double on the host and sent to
// the device as float. Names follow hmmlearn (startprob, transmat, emissionprob,
// means, covars) so checkpoints read the same in both.
#ifndef LATENTCL_HMM_H
#define LATENTCL_HMM_H

#include <stdbool.h>
#include <stdint.h>

#include "latentcl/data.h"
#include "latentcl/device.h"
#include "latentcl/status.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum { LC_HMM_CATEGORICAL = 0, LC_HMM_GAUSSIAN = 1 } lc_hmm_emission;

// "categorical" / "gaussian"; parse returns -1 for an unknown name.
const char *lc_hmm_emission_name(lc_hmm_emission e);
int lc_hmm_emission_parse(lc_hmm_emission *out, const char *name);

typedef struct {
    int k;                    // hidden states
    lc_hmm_emission emission; // which emission kind
    int m;                    // categorical: symbols
    int d;                    // Gaussian: dimensions
    double *startprob;        // (K)
    double *transmat;         // (K, K) rows sum to 1
    double *emissionprob;     // (K, M) rows sum to 1, categorical only
    double *means;            // (K, D) Gaussian only
    double *covars;           // (K, D) diagonal variances, Gaussian only
} lc_hmm;

// Allocates a model of this shape (m for categorical, d for Gaussian) with uniform
// startprob/transmat/emissionprob, zero means and unit covars.
lc_status lc_hmm_init(lc_hmm *h, int k, lc_hmm_emission emission, int m_or_d);
void lc_hmm_free(lc_hmm *h);
lc_status lc_hmm_copy(lc_hmm *dst, const lc_hmm *src); // dst is allocated
// Free parameters (for AIC/BIC): (K-1) + K(K-1) + K(M-1) or + 2KD.
int64_t lc_hmm_n_free_params(const lc_hmm *h);
// Checks probabilities are finite, >= 0 and rows sum to 1 (within 1e-4; then renormalises
// exactly), covars > 0. The message names the tensor and row.
lc_status lc_hmm_validate(lc_hmm *h);
// Checks that data fits the model: categorical symbols in [0, M), Gaussian D columns, no
// empty sequence, finite values. The message names the sequence (line = index + 1).
lc_status lc_hmm_check_data(const lc_hmm *h, const lc_sequences *x);

// ---- expected counts (the E-step's output) -------------------------------------------
typedef struct {
    int k, m, d;
    lc_hmm_emission emission;
    double log_likelihood; // sum over sequences of log p(x)
    double *start;         // (K)     sum_seq gamma_1(i)
    double *trans;         // (K, K)  sum_seq sum_t xi_t(i, j)
    double *post;          // (K)     sum gamma_t(i) over all steps
    double *obs;    // categorical (K, M) sum gamma_t(i) [x_t = m]; Gaussian (K, D) sum gamma x
    double *obs2;   // Gaussian (K, D) sum gamma x^2 (NULL for categorical)
    double *center; // Gaussian (D): obs and obs2 are of x - center (the device
                    // centres the data so float sums keep the variance's digits)
} lc_hmm_stats;

lc_status lc_hmm_stats_init(lc_hmm_stats *s, const lc_hmm *h);
void lc_hmm_stats_zero(lc_hmm_stats *s);
void lc_hmm_stats_free(lc_hmm_stats *s);

// Which parameters an M-step updates / an initialisation draws, as hmmlearn's letters:
// s startprob, t transmat, e emissionprob, m means, c covars.
typedef struct {
    double covars_prior; // hmmlearn's covars_prior (0.01): covars = (prior + c_n) / n
    double min_covar;    // hard variance floor after the M-step (1e-3)
    double smoothing;    // counting: additive smoothing of every count
} lc_hmm_mstep_options;
void lc_hmm_mstep_defaults(lc_hmm_mstep_options *o);

// M-step: the parameters named in `params` become the maximisers given the counts.
// A state with no expected occupancy keeps its old emission parameters.
void lc_hmm_mstep(lc_hmm *h, const lc_hmm_stats *s, const char *params,
                  const lc_hmm_mstep_options *o);

// ---- host reference (double precision, one sequence at a time) ---------------------
// log p(x_t | z_t = k) for every step of sequence `seq`: out (T, K).
void lc_hmm_log_emission(double *out, const lc_hmm *h, const lc_sequences *x, int64_t seq);
// Scaled forward-backward over every sequence, accumulating expected counts into s
// (which is zeroed first). This is the reference the device E-step is checked against.
lc_status lc_hmm_estep_host(lc_hmm_stats *s, const lc_hmm *h, const lc_sequences *x);
// log p(x) of one sequence (scaled forward).
double lc_hmm_loglik_host(const lc_hmm *h, const lc_sequences *x, int64_t seq);
// State posteriors gamma (T, K) of one sequence; returns log p(x).
double lc_hmm_posteriors_host(double *gamma, const lc_hmm *h, const lc_sequences *x, int64_t seq);
// Viterbi: the most probable state path (T) and its log probability log p(x, z*).
double lc_hmm_viterbi(int32_t *states, const lc_hmm *h, const lc_sequences *x, int64_t seq);
// Posterior decoding: argmax_k gamma_t(k) per step (T); returns log p(x).
double lc_hmm_posterior_decode(int32_t *states, const lc_hmm *h, const lc_sequences *x,
                               int64_t seq);

// ---- the device E-step -----------------------------------------------------------------
// Holds the sequences on the device (uploaded once) and the buffers of one E-step.
typedef struct lc_hmm_device lc_hmm_device;
lc_status lc_hmm_device_new(lc_hmm_device **out, lc_device *dev, const lc_hmm *shape,
                            const lc_sequences *x);
void lc_hmm_device_free(lc_hmm_device *hd);
// Forward-backward over every sequence on the device, expected counts into s.
lc_status lc_hmm_estep_device(lc_hmm_stats *s, lc_hmm_device *hd, const lc_hmm *h);
// Forward only: log p(x) per sequence (n) and the total.
lc_status lc_hmm_score_device(double *per_seq, double *total, lc_hmm_device *hd, const lc_hmm *h);

// ---- fitting -----------------------------------------------------------------------------
typedef struct {
    int iter;              // 1-based
    int restart;           // 0-based
    double log_likelihood; // of the parameters before this iteration's M-step (as hmmlearn)
    double gain;           // log_likelihood - previous (NAN at iteration 1)
    bool decreased;        // fell by more than rounding
    double seconds;        // wall time of this iteration
} lc_hmm_iter_info;
// Return nonzero to stop (then the fit returns LC_ERR_CANCELLED with the model so far).
typedef int (*lc_hmm_progress_fn)(void *ctx, const lc_hmm_iter_info *info);

typedef struct {
    int iters;               // most EM iterations (100)
    double tol;              // stop when the gain is below tol (0.01, as hmmlearn)
    int restarts;            // independent random starts, keep the best (1)
    uint64_t seed;           // Philox seed of the initialisation
    const char *params;      // what EM updates ("ste" / "stmc"; NULL: all)
    const char *init_params; // what is initialised at random (NULL: all)
    lc_hmm_mstep_options mstep;
    lc_hmm_progress_fn progress;
    void *progress_ctx;
} lc_hmm_fit_options;
void lc_hmm_fit_defaults(lc_hmm_fit_options *o);

typedef struct {
    int iterations; // of the best restart
    int best_restart;
    bool converged;
    int n_decreases;       // iterations where the likelihood fell by more than rounding
    double log_likelihood; // of the returned model (after its last M-step)
    double *history;       // (iterations) per-iteration log-likelihood of the best restart
} lc_hmm_fit_result;
void lc_hmm_fit_result_free(lc_hmm_fit_result *r);

// Random initialisation of the parameters named in `which` (Dirichlet(1) rows from
// Philox keyed by seed and restart; Gaussian means by k-means++ / Lloyd on the data and
// covars = the data's variance + min_covar).
lc_status lc_hmm_init_random(lc_hmm *h, const char *which, const lc_sequences *x, uint64_t seed,
                             int restart, double min_covar);

// Baum-Welch. h holds the shape and any parameters not named in init_params (e.g.
// loaded with --init); on return it holds the best restart's fitted parameters.
// dev may be NULL: the host reference runs the E-step (tests, tiny data).
lc_status lc_hmm_fit(lc_hmm *h, lc_hmm_fit_result *res, lc_device *dev, const lc_sequences *x,
                     const lc_hmm_fit_options *o);

// Fitting with observed states: labels (n_steps) in [0, K) aligned with x. Counting
// with additive smoothing o->smoothing, then normalisation (closed-form MLE).
lc_status lc_hmm_fit_counts(lc_hmm *h, const lc_sequences *x, const int32_t *labels,
                            const lc_hmm_mstep_options *o);

// AIC = 2p - 2 log L, BIC = p log(n_observations) - 2 log L.
double lc_hmm_aic(const lc_hmm *h, double log_likelihood);
double lc_hmm_bic(const lc_hmm *h, double log_likelihood, int64_t n_observations);

// Samples n sequences of length T: states (n, T) may be NULL; categorical symbols
// (n, T) or Gaussian values (n, T, D). Philox keyed by seed.
lc_status lc_hmm_sample(int32_t *states, int32_t *symbols, float *values, const lc_hmm *h,
                        int64_t n, int64_t length, uint64_t seed);

// ---- checkpoints (safetensors, hmmlearn's names) ---------------------------------------
// Metadata: family "hmm", config (JSON), alphabet (symbols joined by '\n'), tokens.
typedef struct {
    lc_alphabet alphabet; // categorical symbols (may be empty)
    bool tokens;          // symbols are whitespace-separated tokens
    int n_columns;        // Gaussian: D column names, or 0
    char **column_names;  // (n_columns) or NULL
    int n_states;         // K state names (from --state-labels), or 0
    char **state_names;   // (n_states) or NULL
} lc_hmm_meta;
void lc_hmm_meta_free(lc_hmm_meta *m);
lc_status lc_hmm_save(const char *path, const lc_hmm *h, const lc_hmm_meta *meta,
                      const char *config_json);
// Reads a checkpoint (ours or one written with numpy: the kind follows from the tensors
// present). Validates shapes, finiteness, row sums. meta may be NULL.
lc_status lc_hmm_load(lc_hmm *h, lc_hmm_meta *meta, const char *path);

#ifdef __cplusplus
}
#endif
#endif
