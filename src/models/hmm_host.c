// The host reference in double precision, one sequence at a time: scaled
// forward-backward, expected counts, Viterbi and posterior decoding. The device
// E-step is checked against these; decoding runs here.
//
// Scaled forward (Rabiner): a_1(i) = pi_i e_1(i) / c_1,
//   a_t(j) = e_t(j) sum_i a_t-1(i) A_ij / c_t,   c_t makes sum_j a_t(j) = 1,
//   log p(x) = sum_t log c_t  (plus the log scale taken out of each emission row).
// Scaled backward: b_T = 1, b_t(i) = sum_j A_ij e_t+1(j) b_t+1(j) / c_t+1.
// Then gamma_t(i) = a_t(i) b_t(i) and xi_t(i,j) = a_t(i) A_ij e_t+1(j) b_t+1(j) / c_t+1.
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "models/hmm_internal.h"

void lc_hmm_log_emission(double *out, const lc_hmm *h, const lc_sequences *x, int64_t seq) {
    const lc_hmm_emission_ops *ops = lc_hmm_ops(h->emission);
    int64_t t0 = x->offsets[seq], T = lc_sequence_length(x, seq);
    for (int64_t t = 0; t < T; t++)
        ops->log_prob(out + t * h->k, h, x, t0 + t);
}

// Emission rows as probabilities divided by the row's max (so no row underflows);
// the logs of the maxima go into *log_scale.
static void emission_rows(double *e, double *log_scale, const lc_hmm *h, const lc_sequences *x,
                          int64_t seq) {
    int k = h->k;
    int64_t T = lc_sequence_length(x, seq);
    lc_hmm_log_emission(e, h, x, seq);
    *log_scale = 0;
    for (int64_t t = 0; t < T; t++) {
        double *row = e + t * k, mx = -INFINITY;
        for (int i = 0; i < k; i++)
            mx = row[i] > mx ? row[i] : mx;
        if (!isfinite(mx)) mx = 0; // every state impossible: p = 0, log p = -inf below
        for (int i = 0; i < k; i++)
            row[i] = exp(row[i] - mx);
        *log_scale += mx;
    }
}

// alpha (T, K), c (T); returns log p(x).
static double forward(double *alpha, double *c, const double *e, double log_scale, const lc_hmm *h,
                      int64_t T) {
    int k = h->k;
    double ll = log_scale;
    for (int64_t t = 0; t < T; t++) {
        double *a = alpha + t * k, sum = 0;
        for (int j = 0; j < k; j++) {
            double prior = 0;
            if (t == 0)
                prior = h->startprob[j];
            else
                for (int i = 0; i < k; i++)
                    prior += alpha[(t - 1) * k + i] * h->transmat[(size_t)i * k + j];
            a[j] = prior * e[t * k + j];
            sum += a[j];
        }
        c[t] = sum;
        for (int j = 0; j < k; j++)
            a[j] = sum > 0 ? a[j] / sum : 0;
        ll += log(sum);
    }
    return ll;
}

static void backward(double *beta, const double *c, const double *e, const lc_hmm *h, int64_t T) {
    int k = h->k;
    for (int i = 0; i < k; i++)
        beta[(T - 1) * k + i] = 1;
    for (int64_t t = T - 2; t >= 0; t--)
        for (int i = 0; i < k; i++) {
            double sum = 0;
            for (int j = 0; j < k; j++)
                sum += h->transmat[(size_t)i * k + j] * e[(t + 1) * k + j] * beta[(t + 1) * k + j];
            beta[t * k + i] = c[t + 1] > 0 ? sum / c[t + 1] : 0;
        }
}

typedef struct {
    double *e, *alpha, *beta, *c, *gamma;
} work;

static void work_free(work *w) {
    free(w->e);
    free(w->alpha);
    free(w->beta);
    free(w->c);
    free(w->gamma);
}

static lc_status work_alloc(work *w, int64_t T, int k) {
    size_t n = (size_t)T * (size_t)k;
    w->e = malloc(n * sizeof(double));
    w->alpha = malloc(n * sizeof(double));
    w->beta = malloc(n * sizeof(double));
    w->gamma = malloc(n * sizeof(double));
    w->c = malloc((size_t)T * sizeof(double));
    if (!w->e || !w->alpha || !w->beta || !w->gamma || !w->c) {
        work_free(w);
        return lc_fail(LC_ERR_NOMEM, "HMM: out of memory for a sequence of %lld steps",
                       (long long)T);
    }
    return LC_OK;
}

static int64_t longest(const lc_sequences *x) {
    int64_t mx = 1;
    for (int64_t b = 0; b < x->n; b++)
        if (lc_sequence_length(x, b) > mx) mx = lc_sequence_length(x, b);
    return mx;
}

// gamma (T, K) from a forward-backward pass; returns log p(x).
static double posteriors(work *w, const lc_hmm *h, const lc_sequences *x, int64_t seq) {
    int k = h->k;
    int64_t T = lc_sequence_length(x, seq);
    double log_scale;
    emission_rows(w->e, &log_scale, h, x, seq);
    double ll = forward(w->alpha, w->c, w->e, log_scale, h, T);
    backward(w->beta, w->c, w->e, h, T);
    for (int64_t i = 0; i < T * k; i++)
        w->gamma[i] = w->alpha[i] * w->beta[i];
    return ll;
}

lc_status lc_hmm_estep_host(lc_hmm_stats *s, const lc_hmm *h, const lc_sequences *x) {
    const lc_hmm_emission_ops *ops = lc_hmm_ops(h->emission);
    int k = h->k;
    work w = {0};
    LC_TRY(work_alloc(&w, longest(x), k));
    lc_hmm_stats_zero(s);
    for (int64_t b = 0; b < x->n; b++) {
        int64_t t0 = x->offsets[b], T = lc_sequence_length(x, b);
        s->log_likelihood += posteriors(&w, h, x, b);
        for (int i = 0; i < k; i++)
            s->start[i] += w.gamma[i];
        for (int64_t t = 0; t < T; t++) {
            const double *g = w.gamma + t * k;
            for (int i = 0; i < k; i++)
                s->post[i] += g[i];
            ops->accumulate(s, g, x, t0 + t);
            if (t + 1 == T || w.c[t + 1] <= 0) continue;
            for (int i = 0; i < k; i++)
                for (int j = 0; j < k; j++)
                    s->trans[(size_t)i * k + j] +=
                        w.alpha[t * k + i] * h->transmat[(size_t)i * k + j] * w.e[(t + 1) * k + j] *
                        w.beta[(t + 1) * k + j] / w.c[t + 1];
        }
    }
    work_free(&w);
    return LC_OK;
}

double lc_hmm_loglik_host(const lc_hmm *h, const lc_sequences *x, int64_t seq) {
    work w = {0};
    if (work_alloc(&w, lc_sequence_length(x, seq), h->k) != LC_OK) return NAN;
    double log_scale;
    emission_rows(w.e, &log_scale, h, x, seq);
    double ll = forward(w.alpha, w.c, w.e, log_scale, h, lc_sequence_length(x, seq));
    work_free(&w);
    return ll;
}

double lc_hmm_posteriors_host(double *gamma, const lc_hmm *h, const lc_sequences *x, int64_t seq) {
    work w = {0};
    int64_t T = lc_sequence_length(x, seq);
    if (work_alloc(&w, T, h->k) != LC_OK) return NAN;
    double ll = posteriors(&w, h, x, seq);
    memcpy(gamma, w.gamma, (size_t)T * (size_t)h->k * sizeof(double));
    work_free(&w);
    return ll;
}

double lc_hmm_posterior_decode(int32_t *states, const lc_hmm *h, const lc_sequences *x,
                               int64_t seq) {
    int k = h->k;
    int64_t T = lc_sequence_length(x, seq);
    double *gamma = malloc((size_t)T * (size_t)k * sizeof(double));
    if (!gamma) return NAN;
    double ll = lc_hmm_posteriors_host(gamma, h, x, seq);
    for (int64_t t = 0; t < T; t++) {
        int best = 0;
        for (int i = 1; i < k; i++)
            if (gamma[t * k + i] > gamma[t * k + best]) best = i;
        states[t] = best;
    }
    free(gamma);
    return ll;
}

// Viterbi in log space: delta_t(j) = max_i [delta_t-1(i) + log A_ij] + log e_t(j),
// psi_t(j) = the argmax (the backpointer); the path is read back from the best end.
double lc_hmm_viterbi(int32_t *states, const lc_hmm *h, const lc_sequences *x, int64_t seq) {
    int k = h->k;
    int64_t T = lc_sequence_length(x, seq);
    if (T < 1 || k < 1) return NAN; // an empty sequence has no path (callers refuse them earlier)
    size_t n = (size_t)T * (size_t)k;
    double *loge = malloc(n * sizeof(double)), *delta = malloc(n * sizeof(double));
    double *logA = malloc((size_t)k * k * sizeof(double));
    int32_t *psi = malloc(n * sizeof(int32_t));
    if (!loge || !delta || !psi || !logA) {
        free(loge), free(delta), free(psi), free(logA);
        return NAN;
    }
    lc_hmm_log_emission(loge, h, x, seq);
    for (int i = 0; i < k * k; i++)
        logA[i] = log(h->transmat[i]);
    for (int j = 0; j < k; j++)
        delta[j] = log(h->startprob[j]) + loge[j], psi[j] = 0;
    for (int64_t t = 1; t < T; t++)
        for (int j = 0; j < k; j++) {
            double best = -INFINITY;
            int arg = 0;
            for (int i = 0; i < k; i++) {
                double v = delta[(t - 1) * k + i] + logA[(size_t)i * k + j];
                if (v > best) best = v, arg = i;
            }
            delta[t * k + j] = best + loge[t * k + j];
            psi[t * k + j] = arg;
        }
    int last = 0;
    for (int j = 1; j < k; j++)
        if (delta[(T - 1) * k + j] > delta[(T - 1) * k + last]) last = j;
    double lp = delta[(T - 1) * k + last];
    states[T - 1] = last;
    for (int64_t t = T - 1; t > 0; t--)
        states[t - 1] = psi[t * k + states[t]];
    free(loge), free(delta), free(psi), free(logA);
    return lp;
}
