// Ancestral sampling: z_1 ~ startprob, z_t ~ transmat[z_t-1], x_t ~ emission[z_t].
// Every draw is keyed by (seed, sequence, step), so a sequence does not depend on
// how many others were drawn.
#include <stdlib.h>

#include "models/hmm_internal.h"

static int draw_row(const double *row, int n, double u) {
    double acc = 0;
    for (int i = 0; i < n - 1; i++) {
        acc += row[i];
        if (u < acc) return i;
    }
    return n - 1;
}

lc_status lc_hmm_sample(int32_t *states, int32_t *symbols, float *values, const lc_hmm *h,
                        int64_t n, int64_t length, uint64_t seed) {
    if (n < 0 || length < 1) return lc_fail(LC_ERR_INVALID_ARG, "HMM: sample length must be >= 1");
    const lc_hmm_emission_ops *ops = lc_hmm_ops(h->emission);
    for (int64_t b = 0; b < n; b++) {
        int z = 0;
        for (int64_t t = 0; t < length; t++) {
            uint64_t draw = (uint64_t)(b * length + t);
            double u = lc_hmm_uniform(seed, HMM_RNG_SAMPLE, 1, draw);
            z = t == 0 ? draw_row(h->startprob, h->k, u)
                       : draw_row(h->transmat + (size_t)z * h->k, h->k, u);
            if (states) states[draw] = z;
            ops->sample(symbols ? symbols + draw : NULL, values ? values + draw * h->d : NULL, h, z,
                        seed, draw);
        }
    }
    return LC_OK;
}
