// Self-checks of cl/hmm.cl: the device E-step (emission rows, forward, backward,
// expected counts) against the double-precision host reference, on random models
// and sequences of mixed lengths (including K above one float8 chunk).
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "models/hmm_internal.h"
#include "selftest/selftest.h"

static double rel(double a, double b, double floor) {
    return fabs(a - b) / (fabs(b) > floor ? fabs(b) : floor);
}

static double worst(const double *a, const double *b, size_t n, double floor) {
    double w = 0;
    for (size_t i = 0; i < n; i++)
        w = fmax(w, rel(a[i], b[i], floor));
    return w;
}

static lc_status check_estep(lc_device *dev, lc_selftest_result *r, lc_hmm_emission e, int k,
                             int m_or_d) {
    enum { N_SEQ = 24 };
    lc_hmm h = {0};
    lc_sequences x = {0};
    lc_hmm_stats hs = {0}, ds = {0};
    lc_hmm_device *hd = NULL;
    lc_status s = lc_hmm_init(&h, k, e, m_or_d);
    x.n = N_SEQ;
    x.offsets = malloc((N_SEQ + 1) * sizeof(int64_t));
    if (s == LC_OK && !x.offsets) s = lc_fail(LC_ERR_NOMEM, "out of memory");
    if (s == LC_OK) {
        x.offsets[0] = 0;
        for (int b = 0; b < N_SEQ; b++)
            x.offsets[b + 1] = x.offsets[b] + 1 + (b * 37) % 61;
        x.n_steps = x.offsets[N_SEQ];
        if (e == LC_HMM_GAUSSIAN)
            x.dim = m_or_d, x.values = malloc((size_t)x.n_steps * m_or_d * sizeof(float));
        else
            x.symbols = malloc((size_t)x.n_steps * sizeof(int32_t));
        if (!x.values && !x.symbols) s = lc_fail(LC_ERR_NOMEM, "out of memory");
    }
    if (s == LC_OK) s = lc_hmm_init_random(&h, "ste", &x, 77, 0, 1e-3);
    if (s == LC_OK && e == LC_HMM_GAUSSIAN)
        for (int i = 0; i < k * m_or_d; i++)
            h.means[i] = 2 * lc_hmm_normal(5, 9, 0, (uint64_t)i),
            h.covars[i] = 0.5 + lc_hmm_uniform(5, 9, 1, (uint64_t)i);
    for (int b = 0; s == LC_OK && b < N_SEQ; b++) {
        int64_t o = x.offsets[b];
        s = lc_hmm_sample(NULL, x.symbols ? x.symbols + o : NULL,
                          x.values ? x.values + o * m_or_d : NULL, &h, 1, lc_sequence_length(&x, b),
                          100 + (uint64_t)b);
    }
    if (s == LC_OK) s = lc_hmm_stats_init(&hs, &h);
    if (s == LC_OK) s = lc_hmm_stats_init(&ds, &h);
    if (s == LC_OK) s = lc_hmm_estep_host(&hs, &h, &x);
    if (s == LC_OK) s = lc_hmm_device_new(&hd, dev, &h, &x);
    if (s == LC_OK) s = lc_hmm_estep_device(&ds, hd, &h);
    if (s == LC_OK) {
        size_t kk = (size_t)k, cols = (size_t)m_or_d;
        double floor = 1e-2 * (double)x.n_steps / k;
        if (e == LC_HMM_GAUSSIAN) // the device's moments are about its centre
            for (size_t i = 0; i < kk; i++)
                for (size_t d = 0; d < cols; d++) {
                    double c = ds.center[d], *s1 = &hs.obs[i * cols + d],
                           *s2 = &hs.obs2[i * cols + d];
                    *s2 = *s2 - 2 * c * *s1 + c * c * hs.post[i];
                    *s1 -= c * hs.post[i];
                }
        double err = rel(ds.log_likelihood, hs.log_likelihood, 1);
        err = fmax(err, worst(ds.start, hs.start, kk, 0.1));
        err = fmax(err, worst(ds.trans, hs.trans, kk * kk, floor / k));
        err = fmax(err, worst(ds.post, hs.post, kk, floor));
        err = fmax(err, worst(ds.obs, hs.obs, kk * cols, floor / (double)cols));
        if (ds.obs2) err = fmax(err, worst(ds.obs2, hs.obs2, kk * cols, floor));
        r->fwd_err = err;
        r->tolerance = 1e-4;
        r->ok = err <= r->tolerance;
    }
    lc_hmm_device_free(hd);
    lc_hmm_stats_free(&hs);
    lc_hmm_stats_free(&ds);
    lc_sequences_free(&x);
    lc_hmm_free(&h);
    return s;
}

lc_status lc_check_hmm_estep_categorical(lc_device *dev, lc_selftest_result *r) {
    r->detail = "forward, backward, start/transition/symbol counts vs host (K=11, M=7)";
    return check_estep(dev, r, LC_HMM_CATEGORICAL, 11, 7);
}

lc_status lc_check_hmm_estep_gaussian(lc_device *dev, lc_selftest_result *r) {
    r->detail = "Gaussian rows, forward, backward, moments vs host (K=5, D=3)";
    return check_estep(dev, r, LC_HMM_GAUSSIAN, 5, 3);
}
