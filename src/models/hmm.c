// Hidden Markov models: the model, the M-step, Baum-Welch and counting.
//
// Generative story:  z_1 ~ startprob,  z_t | z_t-1 ~ transmat[z_t-1],  x_t | z_t ~ emission[z_t].
// With the states seen, maximum likelihood is counting: how often each state starts,
// each pair (i -> j) follows, each state emits each symbol. With the states hidden,
// Baum-Welch replaces the counts by their expectations under the current model
// (E-step: forward-backward, on the device) and normalises them (M-step, here).
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "latentcl/dist.h"
#include "latentcl/rng.h"
#include "models/hmm_dist.h"
#include "models/hmm_internal.h"

const lc_hmm_emission_ops *lc_hmm_ops(lc_hmm_emission e) {
    return e == LC_HMM_GAUSSIAN ? &lc_hmm_gaussian_ops : &lc_hmm_categorical_ops;
}

const char *lc_hmm_emission_name(lc_hmm_emission e) { return lc_hmm_ops(e)->name; }

int lc_hmm_emission_parse(lc_hmm_emission *out, const char *name) {
    if (!name) return -1;
    if (!strcmp(name, "categorical"))
        *out = LC_HMM_CATEGORICAL;
    else if (!strcmp(name, "gaussian"))
        *out = LC_HMM_GAUSSIAN;
    else
        return -1;
    return 0;
}

bool lc_hmm_has(const char *letters, char c) { return !letters || strchr(letters, c) != NULL; }

void lc_hmm_normalize(double *row, int n) {
    double sum = 0;
    for (int i = 0; i < n; i++)
        sum += row[i];
    for (int i = 0; i < n; i++)
        row[i] = sum > 0 ? row[i] / sum : 1.0 / n;
}

// ---- the model ---------------------------------------------------------------------------

void lc_hmm_free(lc_hmm *h) {
    if (!h) return;
    free(h->startprob);
    free(h->transmat);
    free(h->emissionprob);
    free(h->means);
    free(h->covars);
    memset(h, 0, sizeof *h);
}

lc_status lc_hmm_init(lc_hmm *h, int k, lc_hmm_emission emission, int m_or_d) {
    memset(h, 0, sizeof *h);
    if (k < 1) return lc_fail(LC_ERR_INVALID_ARG, "HMM: --n-states must be >= 1 (got %d)", k);
    if (m_or_d < 1)
        return lc_fail(LC_ERR_INVALID_ARG, "HMM: %s must be >= 1 (got %d)",
                       emission == LC_HMM_GAUSSIAN ? "the dimension" : "the alphabet size", m_or_d);
    if (k > 4096) return lc_fail(LC_ERR_INVALID_ARG, "HMM: at most 4096 states (got %d)", k);
    h->k = k;
    h->emission = emission;
    size_t kk = (size_t)k;
    h->startprob = malloc(kk * sizeof(double));
    h->transmat = malloc(kk * kk * sizeof(double));
    if (emission == LC_HMM_CATEGORICAL) {
        h->m = m_or_d;
        h->emissionprob = malloc(kk * (size_t)m_or_d * sizeof(double));
    } else {
        h->d = m_or_d;
        h->means = calloc(kk * (size_t)m_or_d, sizeof(double));
        h->covars = malloc(kk * (size_t)m_or_d * sizeof(double));
    }
    if (!h->startprob || !h->transmat ||
        (emission == LC_HMM_CATEGORICAL ? !h->emissionprob : (!h->means || !h->covars))) {
        lc_hmm_free(h);
        return lc_fail(LC_ERR_NOMEM, "HMM: out of memory for %d states", k);
    }
    for (size_t i = 0; i < kk; i++)
        h->startprob[i] = 1.0 / k;
    for (size_t i = 0; i < kk * kk; i++)
        h->transmat[i] = 1.0 / k;
    if (h->emissionprob)
        for (size_t i = 0; i < kk * (size_t)h->m; i++)
            h->emissionprob[i] = 1.0 / h->m;
    if (h->covars)
        for (size_t i = 0; i < kk * (size_t)h->d; i++)
            h->covars[i] = 1.0;
    return LC_OK;
}

lc_status lc_hmm_copy(lc_hmm *dst, const lc_hmm *src) {
    LC_TRY(lc_hmm_init(dst, src->k, src->emission,
                       src->emission == LC_HMM_GAUSSIAN ? src->d : src->m));
    size_t k = (size_t)src->k;
    memcpy(dst->startprob, src->startprob, k * sizeof(double));
    memcpy(dst->transmat, src->transmat, k * k * sizeof(double));
    if (src->emissionprob)
        memcpy(dst->emissionprob, src->emissionprob, k * (size_t)src->m * sizeof(double));
    if (src->means) {
        memcpy(dst->means, src->means, k * (size_t)src->d * sizeof(double));
        memcpy(dst->covars, src->covars, k * (size_t)src->d * sizeof(double));
    }
    return LC_OK;
}

int64_t lc_hmm_n_free_params(const lc_hmm *h) {
    int64_t k = h->k;
    return (k - 1) + k * (k - 1) + lc_hmm_ops(h->emission)->n_free_params(h);
}

double lc_hmm_aic(const lc_hmm *h, double ll) {
    return 2.0 * (double)lc_hmm_n_free_params(h) - 2 * ll;
}

double lc_hmm_bic(const lc_hmm *h, double ll, int64_t n_obs) {
    return (double)lc_hmm_n_free_params(h) * log((double)(n_obs > 0 ? n_obs : 1)) - 2 * ll;
}

// Rows of a probability table: finite, >= 0, sum 1 within 1e-4 (then made exact).
static lc_status check_rows(double *p, int rows, int cols, const char *name) {
    for (int r = 0; r < rows; r++) {
        double sum = 0;
        for (int c = 0; c < cols; c++) {
            double v = p[(size_t)r * cols + c];
            if (!isfinite(v) || v < 0)
                return lc_fail(LC_ERR_FORMAT,
                               "HMM: %s row %d column %d is %g (must be finite and >= 0)", name, r,
                               c, v);
            sum += v;
        }
        if (fabs(sum - 1.0) > 1e-4)
            return lc_fail(LC_ERR_FORMAT, "HMM: %s row %d sums to %.6f, not 1", name, r, sum);
        for (int c = 0; c < cols; c++)
            p[(size_t)r * cols + c] /= sum;
    }
    return LC_OK;
}

lc_status lc_hmm_validate(lc_hmm *h) {
    LC_TRY(check_rows(h->startprob, 1, h->k, "startprob"));
    LC_TRY(check_rows(h->transmat, h->k, h->k, "transmat"));
    if (h->emission == LC_HMM_CATEGORICAL)
        return check_rows(h->emissionprob, h->k, h->m, "emissionprob");
    for (int k = 0; k < h->k; k++)
        for (int d = 0; d < h->d; d++) {
            double mu = h->means[(size_t)k * h->d + d], var = h->covars[(size_t)k * h->d + d];
            if (!isfinite(mu))
                return lc_fail(LC_ERR_FORMAT, "HMM: means row %d column %d is %g", k, d, mu);
            if (!isfinite(var) || var <= 0)
                return lc_fail(LC_ERR_FORMAT, "HMM: covars row %d column %d is %g (must be > 0)", k,
                               d, var);
        }
    return LC_OK;
}

lc_status lc_hmm_check_data(const lc_hmm *h, const lc_sequences *x) {
    if (x->n < 1) return lc_fail(LC_ERR_INVALID_ARG, "HMM: no sequences in the data");
    for (int64_t i = 0; i < x->n; i++)
        if (lc_sequence_length(x, i) < 1)
            return lc_fail(LC_ERR_FORMAT, "HMM: sequence %lld (line %lld) is empty", (long long)i,
                           (long long)i + 1);
    return lc_hmm_ops(h->emission)->check_data(h, x);
}

// ---- expected counts ---------------------------------------------------------------------

void lc_hmm_stats_free(lc_hmm_stats *s) {
    if (!s) return;
    free(s->start);
    free(s->trans);
    free(s->post);
    free(s->obs);
    free(s->obs2);
    free(s->center);
    memset(s, 0, sizeof *s);
}

lc_status lc_hmm_stats_init(lc_hmm_stats *s, const lc_hmm *h) {
    memset(s, 0, sizeof *s);
    s->k = h->k, s->m = h->m, s->d = h->d, s->emission = h->emission;
    size_t k = (size_t)h->k, cols = h->emission == LC_HMM_CATEGORICAL ? (size_t)h->m : (size_t)h->d;
    s->start = calloc(k, sizeof(double));
    s->trans = calloc(k * k, sizeof(double));
    s->post = calloc(k, sizeof(double));
    s->obs = calloc(k * cols, sizeof(double));
    if (h->emission == LC_HMM_GAUSSIAN) {
        s->obs2 = calloc(k * cols, sizeof(double));
        s->center = calloc(cols, sizeof(double));
    }
    if (!s->start || !s->trans || !s->post || !s->obs ||
        (h->emission == LC_HMM_GAUSSIAN && (!s->obs2 || !s->center))) {
        lc_hmm_stats_free(s);
        return lc_fail(LC_ERR_NOMEM, "HMM: out of memory for the expected counts");
    }
    return LC_OK;
}

void lc_hmm_stats_zero(lc_hmm_stats *s) {
    size_t k = (size_t)s->k, cols = s->emission == LC_HMM_CATEGORICAL ? (size_t)s->m : (size_t)s->d;
    s->log_likelihood = 0;
    memset(s->start, 0, k * sizeof(double));
    memset(s->trans, 0, k * k * sizeof(double));
    memset(s->post, 0, k * sizeof(double));
    memset(s->obs, 0, k * cols * sizeof(double));
    if (s->obs2) memset(s->obs2, 0, k * cols * sizeof(double));
    if (s->center) memset(s->center, 0, cols * sizeof(double));
}

// ---- M-step --------------------------------------------------------------------------------

void lc_hmm_mstep_defaults(lc_hmm_mstep_options *o) {
    o->covars_prior = 1e-2;
    o->min_covar = 1e-3;
    o->smoothing = 0;
}

// startprob_i = E[# sequences starting in i] / # sequences
// transmat_ij = E[# i -> j] / E[# i -> anything]
// and the emission kind's own maximiser.
void lc_hmm_mstep(lc_hmm *h, const lc_hmm_stats *s, const char *params,
                  const lc_hmm_mstep_options *o) {
    int k = h->k;
    double a = o ? o->smoothing : 0;
    if (lc_hmm_has(params, 's')) {
        for (int i = 0; i < k; i++)
            h->startprob[i] = s->start[i] + a;
        lc_hmm_normalize(h->startprob, k);
    }
    if (lc_hmm_has(params, 't')) {
        for (int i = 0; i < k; i++) {
            double *row = h->transmat + (size_t)i * k;
            const double *counts = s->trans + (size_t)i * k;
            double total = 0;
            for (int j = 0; j < k; j++)
                total += counts[j] + a;
            if (total <= 0) continue; // never left state i: keep its row
            for (int j = 0; j < k; j++)
                row[j] = (counts[j] + a) / total;
        }
    }
    lc_hmm_ops(h->emission)->mstep(h, s, params, o);
}

// ---- Baum-Welch ------------------------------------------------------------------------------

void lc_hmm_fit_defaults(lc_hmm_fit_options *o) {
    memset(o, 0, sizeof *o);
    o->iters = 100;
    o->tol = 1e-2;
    o->restarts = 1;
    o->seed = 0;
    lc_hmm_mstep_defaults(&o->mstep);
}

void lc_hmm_fit_result_free(lc_hmm_fit_result *r) {
    if (!r) return;
    free(r->history);
    memset(r, 0, sizeof *r);
}

static double now_seconds(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

// x: this rank's sequences (all of them with one rank). With several ranks the counts are
// summed over the ranks (hmm_dist.c) in the frame of center (Gaussian: the data's mean).
static lc_status estep(lc_hmm_stats *s, lc_hmm_device *hd, const lc_hmm *h, const lc_sequences *x,
                       const double *center) {
    if (lc_dist_size() == 1) return hd ? lc_hmm_estep_device(s, hd, h) : lc_hmm_estep_host(s, h, x);
    if (x->n > 0)
        LC_TRY(hd ? lc_hmm_estep_device(s, hd, h) : lc_hmm_estep_host(s, h, x));
    else
        lc_hmm_stats_zero(s); // fewer sequences than ranks: this one adds nothing
    return hmm_dist_reduce(s, center);
}

// One restart: EM from h until the gain drops below tol or iters run out. As in
// hmmlearn, the likelihood of iteration i is that of the parameters entering it,
// and a converged fit stops before its M-step (so h is the model that was scored).
static lc_status em(lc_hmm *h, lc_hmm_fit_result *r, lc_hmm_stats *s, lc_hmm_device *hd,
                    const lc_sequences *x, const double *center, const lc_hmm_fit_options *o,
                    int restart) {
    double prev = NAN;
    r->iterations = 0, r->n_decreases = 0, r->converged = false;
    for (int it = 1; it <= o->iters; it++) {
        double t0 = now_seconds();
        LC_TRY(estep(s, hd, h, x, center));
        double ll = s->log_likelihood;
        if (!isfinite(ll))
            return lc_fail(LC_ERR_NONFINITE, "HMM: log-likelihood is %g at iteration %d", ll, it);
        double gain = ll - prev;
        // EM never lowers the likelihood; the device's float sums wobble by ~1e-8 relative.
        bool fell = it > 1 && gain < -1e-6 * fabs(ll) - 1e-6;
        bool converged = it > 1 && gain < o->tol;
        if (!converged) lc_hmm_mstep(h, s, o->params, &o->mstep);
        r->n_decreases += fell;
        r->history[it - 1] = ll;
        r->iterations = it;
        r->log_likelihood = ll;
        lc_hmm_iter_info info = {.iter = it,
                                 .restart = restart,
                                 .log_likelihood = ll,
                                 .gain = gain,
                                 .decreased = fell,
                                 .seconds = now_seconds() - t0};
        int stop = o->progress ? o->progress(o->progress_ctx, &info) : 0;
        if (lc_dist_size() > 1) LC_TRY(lc_dist_allreduce_max_int(&stop)); // one stops, all stop
        if (stop) return lc_fail(LC_ERR_CANCELLED, "HMM: stopped at iteration %d", it);
        prev = ll;
        if (converged) {
            r->converged = true;
            return LC_OK;
        }
    }
    // The last M-step moved the model: score it once more so the result is its likelihood.
    LC_TRY(estep(s, hd, h, x, center));
    r->log_likelihood = s->log_likelihood;
    return LC_OK;
}

lc_status lc_hmm_fit(lc_hmm *h, lc_hmm_fit_result *res, lc_device *dev, const lc_sequences *x,
                     const lc_hmm_fit_options *o) {
    memset(res, 0, sizeof *res);
    if (o->iters < 1) return lc_fail(LC_ERR_INVALID_ARG, "HMM: --iters must be >= 1");
    if (o->restarts < 1) return lc_fail(LC_ERR_INVALID_ARG, "HMM: --restarts must be >= 1");
    LC_TRY(lc_hmm_check_data(h, x));
    lc_hmm start = {0}, best = {0};
    lc_hmm_stats s = {0};
    lc_hmm_device *hd = NULL;
    lc_hmm_fit_result r = {0};
    // Data parallel: the E-step runs on this rank's part of the sequences; initialisation
    // (k-means++ on the data) sees all of them, as in one process.
    lc_sequences part = *x;
    double *center = NULL;
    bool split = lc_dist_size() > 1;
    lc_status st = lc_hmm_copy(&start, h);
    if (st == LC_OK && split) st = hmm_dist_part(&part, &center, h, x);
    if (st == LC_OK) st = lc_hmm_stats_init(&s, h);
    if (st == LC_OK && dev && part.n > 0) st = lc_hmm_device_new(&hd, dev, h, &part);
    r.history = malloc((size_t)o->iters * sizeof(double));
    res->history = malloc((size_t)o->iters * sizeof(double));
    if (st == LC_OK && (!r.history || !res->history))
        st = lc_fail(LC_ERR_NOMEM, "HMM: out of memory");
    double best_ll = -INFINITY;
    for (int rs = 0; rs < o->restarts && st == LC_OK; rs++) {
        lc_hmm_free(h);
        st = lc_hmm_copy(h, &start);
        if (st == LC_OK)
            st = lc_hmm_init_random(h, o->init_params, x, o->seed, rs, o->mstep.min_covar);
        if (st == LC_OK) st = em(h, &r, &s, hd, &part, center, o, rs);
        if (st == LC_OK && (rs == 0 || r.log_likelihood > best_ll)) {
            best_ll = r.log_likelihood;
            lc_hmm_free(&best);
            st = lc_hmm_copy(&best, h);
            double *hist = res->history;
            *res = r;
            res->history = hist;
            memcpy(res->history, r.history, (size_t)r.iterations * sizeof(double));
            res->best_restart = rs;
        }
    }
    if (st == LC_OK || st == LC_ERR_CANCELLED) {
        if (st == LC_OK) {
            lc_hmm_free(h);
            st = lc_hmm_copy(h, &best);
        } else {
            res->iterations = r.iterations;
            memcpy(res->history, r.history, (size_t)r.iterations * sizeof(double));
        }
    }
    free(r.history);
    if (part.offsets != x->offsets) hmm_dist_part_free(&part);
    free(center);
    lc_hmm_device_free(hd);
    lc_hmm_stats_free(&s);
    lc_hmm_free(&start);
    lc_hmm_free(&best);
    if (st != LC_OK && st != LC_ERR_CANCELLED) lc_hmm_fit_result_free(res);
    return st;
}

// ---- counting (states observed) -------------------------------------------------------------

// With labels the expected counts are plain counts: gamma_t is the one-hot label.
lc_status lc_hmm_fit_counts(lc_hmm *h, const lc_sequences *x, const int32_t *labels,
                            const lc_hmm_mstep_options *o) {
    LC_TRY(lc_hmm_check_data(h, x));
    const lc_hmm_emission_ops *ops = lc_hmm_ops(h->emission);
    lc_hmm_stats s;
    LC_TRY(lc_hmm_stats_init(&s, h));
    double *onehot = calloc((size_t)h->k, sizeof(double));
    if (!onehot) {
        lc_hmm_stats_free(&s);
        return lc_fail(LC_ERR_NOMEM, "HMM: out of memory");
    }
    lc_status st = LC_OK;
    for (int64_t b = 0; b < x->n && st == LC_OK; b++) {
        for (int64_t t = x->offsets[b]; t < x->offsets[b + 1]; t++) {
            int z = labels[t];
            if (z < 0 || z >= h->k) {
                st = lc_fail(LC_ERR_FORMAT, "HMM: state label %d at line %lld is not in [0, %d)", z,
                             (long long)b + 1, h->k);
                break;
            }
            if (t == x->offsets[b])
                s.start[z] += 1;
            else
                s.trans[(size_t)labels[t - 1] * h->k + z] += 1;
            s.post[z] += 1;
            onehot[z] = 1;
            ops->accumulate(&s, onehot, x, t);
            onehot[z] = 0;
        }
    }
    if (st == LC_OK) lc_hmm_mstep(h, &s, NULL, o);
    free(onehot);
    lc_hmm_stats_free(&s);
    return st;
}

// ---- random draws ---------------------------------------------------------------------------

static uint32_t philox_word(uint64_t seed, uint32_t purpose, uint32_t a, uint64_t index) {
    uint32_t key[2], ctr[4] = {(uint32_t)(index / 4), (uint32_t)(index >> 34), a, purpose}, out[4];
    lc_seed_key(key, seed);
    lc_philox4x32_10(out, ctr, key);
    return out[index % 4];
}

double lc_hmm_uniform(uint64_t seed, uint32_t purpose, uint32_t a, uint64_t index) {
    return lc_uniform_from_u32(philox_word(seed, purpose, a, index));
}

double lc_hmm_normal(uint64_t seed, uint32_t purpose, uint32_t a, uint64_t index) {
    double u1 = lc_hmm_uniform(seed, purpose, a, 2 * index);
    double u2 = lc_hmm_uniform(seed, purpose, a, 2 * index + 1);
    return sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2);
}

// Dirichlet(1, ..., 1) = normalised independent Exponential(1) draws.
void lc_hmm_dirichlet_row(double *row, int n, uint64_t seed, uint32_t purpose, uint32_t a,
                          uint64_t first) {
    for (int i = 0; i < n; i++)
        row[i] = -log(lc_hmm_uniform(seed, purpose, a, first + (uint64_t)i));
    lc_hmm_normalize(row, n);
}

lc_status lc_hmm_init_random(lc_hmm *h, const char *which, const lc_sequences *x, uint64_t seed,
                             int restart, double min_covar) {
    int k = h->k;
    uint32_t r = (uint32_t)restart;
    if (lc_hmm_has(which, 's')) lc_hmm_dirichlet_row(h->startprob, k, seed, HMM_RNG_START, r, 0);
    if (lc_hmm_has(which, 't'))
        for (int i = 0; i < k; i++)
            lc_hmm_dirichlet_row(h->transmat + (size_t)i * k, k, seed, HMM_RNG_TRANS, r,
                                 (uint64_t)i * (uint64_t)k);
    return lc_hmm_ops(h->emission)->init_random(h, which, x, seed, restart, min_covar);
}
