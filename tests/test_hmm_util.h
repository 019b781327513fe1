// Helpers shared by the HMM tests: random models and sequences built by hand.
#ifndef LATENTCL_TEST_HMM_UTIL_H
#define LATENTCL_TEST_HMM_UTIL_H
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "latentcl/hmm.h"
#include "models/hmm_internal.h"

// A random model: Dirichlet rows, Gaussian means spread by `spread`, covars in [0.5, 1.5).
static inline void hmm_random_model(lc_hmm *h, int k, lc_hmm_emission e, int m_or_d, uint64_t seed,
                                    double spread) {
    assert_ok(lc_hmm_init(h, k, e, m_or_d));
    lc_hmm_dirichlet_row(h->startprob, k, seed, 7, 0, 0);
    for (int i = 0; i < k; i++)
        lc_hmm_dirichlet_row(h->transmat + i * k, k, seed, 7, 1, (uint64_t)i * k);
    if (e == LC_HMM_CATEGORICAL)
        for (int i = 0; i < k; i++)
            lc_hmm_dirichlet_row(h->emissionprob + i * m_or_d, m_or_d, seed, 7, 2,
                                 (uint64_t)i * m_or_d);
    else
        for (int i = 0; i < k * m_or_d; i++) {
            h->means[i] = spread * lc_hmm_normal(seed, 7, 3, (uint64_t)i);
            h->covars[i] = 0.5 + lc_hmm_uniform(seed, 7, 4, (uint64_t)i);
        }
}

// n sequences sampled from h with lengths lengths[i % n_lengths].
static inline void hmm_sample_sequences(lc_sequences *x, int32_t **states, const lc_hmm *h,
                                        int64_t n, const int64_t *lengths, int n_lengths,
                                        uint64_t seed) {
    memset(x, 0, sizeof *x);
    x->n = n;
    x->offsets = malloc((size_t)(n + 1) * sizeof(int64_t));
    x->offsets[0] = 0;
    for (int64_t b = 0; b < n; b++)
        x->offsets[b + 1] = x->offsets[b] + lengths[b % n_lengths];
    x->n_steps = x->offsets[n];
    int D = h->emission == LC_HMM_GAUSSIAN ? h->d : 0;
    if (D) {
        x->dim = D;
        x->values = malloc((size_t)x->n_steps * D * sizeof(float));
    } else {
        x->symbols = malloc((size_t)x->n_steps * sizeof(int32_t));
    }
    int32_t *z = malloc((size_t)x->n_steps * sizeof(int32_t));
    for (int64_t b = 0; b < n; b++) {
        int64_t T = lengths[b % n_lengths], o = x->offsets[b];
        if (T == 0) continue;
        assert_ok(lc_hmm_sample(z + o, x->symbols ? x->symbols + o : NULL,
                                x->values ? x->values + o * D : NULL, h, 1, T, seed + (uint64_t)b));
    }
    if (states)
        *states = z;
    else
        free(z);
}

static inline double rel_diff(double a, double b) {
    return fabs(a - b) / (fabs(b) > 1e-12 ? fabs(b) : 1e-12);
}
#endif
