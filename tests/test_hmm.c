// HMMs: the host reference against brute-force enumeration, the device E-step
// against the host reference, EM monotonicity, long sequences, held-fixed
// parameters and counting.
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "test_util.h"
#include "test_hmm_util.h"

static lc_device *g_dev;

static int setup(void **state) { return test_open_device(&g_dev, NULL); }

static int teardown(void **state) { return test_close_device(g_dev, NULL); }

// log p(x) and the best path by summing / maximising over all K^T state paths.
static void brute_force(double *loglik, double *best_lp, int32_t *best_path, const lc_hmm *h,
                        const lc_sequences *x, int64_t seq) {
    int k = h->k;
    int64_t T = lc_sequence_length(x, seq);
    double *le = malloc((size_t)(T * k) * sizeof(double));
    lc_hmm_log_emission(le, h, x, seq);
    int64_t paths = 1;
    for (int64_t t = 0; t < T; t++)
        paths *= k;
    double total = 0;
    *best_lp = -INFINITY;
    int32_t z[16];
    for (int64_t p = 0; p < paths; p++) {
        int64_t r = p;
        for (int64_t t = 0; t < T; t++)
            z[t] = (int32_t)(r % k), r /= k;
        double lp = log(h->startprob[z[0]]) + le[z[0]];
        for (int64_t t = 1; t < T; t++)
            lp += log(h->transmat[z[t - 1] * k + z[t]]) + le[t * k + z[t]];
        total += exp(lp);
        if (lp > *best_lp) {
            *best_lp = lp;
            memcpy(best_path, z, (size_t)T * sizeof(int32_t));
        }
    }
    *loglik = log(total);
    free(le);
}

static void check_brute_force(lc_hmm_emission e, int m_or_d) {
    for (int k = 1; k <= 3; k++) {
        lc_hmm h;
        hmm_random_model(&h, k, e, m_or_d, 100 + (uint64_t)k, 1.0);
        const int64_t lengths[] = {1, 2, 3, 4, 5, 6};
        lc_sequences x;
        hmm_sample_sequences(&x, NULL, &h, 6, lengths, 6, 5);
        for (int64_t b = 0; b < x.n; b++) {
            int64_t T = lc_sequence_length(&x, b);
            double ll, best;
            int32_t path[16], vit[16];
            brute_force(&ll, &best, path, &h, &x, b);
            assert_true(rel_diff(lc_hmm_loglik_host(&h, &x, b), ll) < 1e-10);
            double vlp = lc_hmm_viterbi(vit, &h, &x, b);
            assert_true(fabs(vlp - best) < 1e-9);
            // ties are measure-zero with random parameters: the path itself must agree
            assert_memory_equal(vit, path, (size_t)T * sizeof(int32_t));
        }
        lc_sequences_free(&x);
        lc_hmm_free(&h);
    }
}

static void test_brute_force_categorical(void **state) {
    (void)state;
    check_brute_force(LC_HMM_CATEGORICAL, 4);
}

static void test_brute_force_gaussian(void **state) {
    (void)state;
    check_brute_force(LC_HMM_GAUSSIAN, 2);
}

// Posteriors sum to one per step and the posterior path maximises them.
static void test_posteriors(void **state) {
    (void)state;
    lc_hmm h;
    hmm_random_model(&h, 3, LC_HMM_CATEGORICAL, 5, 9, 1.0);
    const int64_t lengths[] = {7};
    lc_sequences x;
    hmm_sample_sequences(&x, NULL, &h, 1, lengths, 1, 3);
    double gamma[21];
    int32_t z[7];
    double ll = lc_hmm_posteriors_host(gamma, &h, &x, 0);
    assert_true(rel_diff(lc_hmm_posterior_decode(z, &h, &x, 0), ll) < 1e-12);
    for (int t = 0; t < 7; t++) {
        double s = gamma[t * 3] + gamma[t * 3 + 1] + gamma[t * 3 + 2];
        assert_true(fabs(s - 1) < 1e-12);
        for (int i = 0; i < 3; i++)
            assert_true(gamma[t * 3 + z[t]] >= gamma[t * 3 + i]);
    }
    lc_sequences_free(&x);
    lc_hmm_free(&h);
}

static double max_rel(const double *a, const double *b, size_t n, double floor) {
    double worst = 0;
    for (size_t i = 0; i < n; i++) {
        double d = fabs(a[i] - b[i]) / (fabs(b[i]) > floor ? fabs(b[i]) : floor);
        if (d > worst) worst = d;
    }
    return worst;
}

// Every E-step kernel (emission rows, forward, backward, start/transition/emission
// counts) against the double-precision host reference.
static void check_device_estep(lc_hmm_emission e, int k, int m_or_d, int64_t n) {
    lc_hmm h;
    hmm_random_model(&h, k, e, m_or_d, 31 + (uint64_t)k, 2.0);
    const int64_t lengths[] = {1, 17, 40, 3, 64, 29};
    lc_sequences x;
    hmm_sample_sequences(&x, NULL, &h, n, lengths, 6, 77);
    lc_hmm_stats hs, ds;
    assert_ok(lc_hmm_stats_init(&hs, &h));
    assert_ok(lc_hmm_stats_init(&ds, &h));
    assert_ok(lc_hmm_estep_host(&hs, &h, &x));
    lc_hmm_device *hd;
    assert_ok(lc_hmm_device_new(&hd, g_dev, &h, &x));
    assert_ok(lc_hmm_estep_device(&ds, hd, &h));
    assert_true(rel_diff(ds.log_likelihood, hs.log_likelihood) < 1e-5);
    double floor = 1e-2 * (double)x.n_steps / k; // relative to a typical count
    size_t kk = (size_t)k;
    assert_true(max_rel(ds.start, hs.start, kk, 1e-2 * n / k) < 1e-4);
    assert_true(max_rel(ds.trans, hs.trans, kk * kk, floor / k) < 1e-4);
    assert_true(max_rel(ds.post, hs.post, kk, floor) < 1e-4);
    if (e == LC_HMM_CATEGORICAL) {
        assert_true(max_rel(ds.obs, hs.obs, kk * m_or_d, floor / m_or_d) < 1e-4);
    } else {
        // the device's stats are centred: move the host's there to compare
        for (int i = 0; i < k; i++)
            for (int d = 0; d < m_or_d; d++) {
                size_t j = (size_t)i * m_or_d + d;
                double c = ds.center[d], s1 = hs.obs[j], s2 = hs.obs2[j];
                hs.obs[j] = s1 - c * hs.post[i];
                hs.obs2[j] = s2 - 2 * c * s1 + c * c * hs.post[i];
            }
        assert_true(max_rel(ds.obs, hs.obs, kk * m_or_d, floor) < 1e-4);
        assert_true(max_rel(ds.obs2, hs.obs2, kk * m_or_d, floor) < 1e-4);
    }
    double *per = malloc((size_t)n * sizeof(double)), total;
    assert_ok(lc_hmm_score_device(per, &total, hd, &h));
    for (int64_t b = 0; b < n; b++)
        assert_true(rel_diff(per[b], lc_hmm_loglik_host(&h, &x, b)) < 1e-5);
    free(per);
    lc_hmm_device_free(hd);
    lc_hmm_stats_free(&hs);
    lc_hmm_stats_free(&ds);
    lc_sequences_free(&x);
    lc_hmm_free(&h);
}

static void test_device_categorical(void **state) {
    (void)state;
    check_device_estep(LC_HMM_CATEGORICAL, 1, 3, 12);
    check_device_estep(LC_HMM_CATEGORICAL, 2, 26, 50);
    check_device_estep(LC_HMM_CATEGORICAL, 5, 7, 60);
    check_device_estep(LC_HMM_CATEGORICAL, 16, 64, 40);
    check_device_estep(LC_HMM_CATEGORICAL, 300, 11, 6); // more states than work-items
}

static void test_device_gaussian(void **state) {
    (void)state;
    check_device_estep(LC_HMM_GAUSSIAN, 1, 2, 12);
    check_device_estep(LC_HMM_GAUSSIAN, 3, 1, 30);
    check_device_estep(LC_HMM_GAUSSIAN, 8, 16, 40);
}

// A 10,000-step sequence: unscaled probabilities would underflow at ~100 steps.
static void test_long_sequence(void **state) {
    (void)state;
    for (int e = 0; e < 2; e++) {
        lc_hmm h;
        hmm_random_model(&h, 4, (lc_hmm_emission)e, e ? 3 : 10, 5, 2.0);
        const int64_t lengths[] = {12000};
        lc_sequences x;
        hmm_sample_sequences(&x, NULL, &h, 1, lengths, 1, 8);
        double host = lc_hmm_loglik_host(&h, &x, 0), dev;
        assert_true(isfinite(host) && host < -1000);
        lc_hmm_device *hd;
        assert_ok(lc_hmm_device_new(&hd, g_dev, &h, &x));
        assert_ok(lc_hmm_score_device(NULL, &dev, hd, &h));
        assert_true(isfinite(dev));
        assert_true(rel_diff(dev, host) < 1e-5);
        lc_hmm_stats s;
        assert_ok(lc_hmm_stats_init(&s, &h));
        assert_ok(lc_hmm_estep_device(&s, hd, &h));
        for (int i = 0; i < 4; i++)
            assert_true(isfinite(s.post[i]));
        assert_true(fabs(s.post[0] + s.post[1] + s.post[2] + s.post[3] - 12000) < 1);
        lc_hmm_stats_free(&s);
        lc_hmm_device_free(hd);
        lc_sequences_free(&x);
        lc_hmm_free(&h);
    }
}

static int record_ll(void *ctx, const lc_hmm_iter_info *info) {
    double *hist = ctx;
    hist[info->iter - 1] = info->log_likelihood;
    return 0;
}

static void check_monotone(lc_device *dev, lc_hmm_emission e, int m_or_d) {
    lc_hmm truth, h;
    hmm_random_model(&truth, 3, e, m_or_d, 11, 1.5);
    const int64_t lengths[] = {50, 80, 20};
    lc_sequences x;
    hmm_sample_sequences(&x, NULL, &truth, 60, lengths, 3, 21);
    assert_ok(lc_hmm_init(&h, 4, e, m_or_d));
    lc_hmm_fit_options o;
    lc_hmm_fit_defaults(&o);
    o.iters = 25;
    o.tol = -INFINITY; // run every iteration
    o.seed = 3;
    double hist[25];
    o.progress = record_ll, o.progress_ctx = hist;
    lc_hmm_fit_result r;
    assert_ok(lc_hmm_fit(&h, &r, dev, &x, &o));
    assert_int_equal(r.iterations, 25);
    assert_int_equal(r.n_decreases, 0);
    for (int i = 1; i < 25; i++)
        assert_true(hist[i] >= hist[i - 1] - 1e-5 * fabs(hist[i - 1]));
    assert_true(hist[24] > hist[0]);
    assert_true(r.log_likelihood >= hist[24] - 1e-5 * fabs(hist[24]));
    lc_hmm_fit_result_free(&r);
    lc_sequences_free(&x);
    lc_hmm_free(&h);
    lc_hmm_free(&truth);
}

static void test_em_monotone(void **state) {
    (void)state;
    check_monotone(NULL, LC_HMM_CATEGORICAL, 6);
    check_monotone(g_dev, LC_HMM_CATEGORICAL, 6);
    check_monotone(NULL, LC_HMM_GAUSSIAN, 2);
    check_monotone(g_dev, LC_HMM_GAUSSIAN, 2);
}

// Parameters left out of --params stay bit-identical through EM.
static void test_held_fixed(void **state) {
    (void)state;
    for (int e = 0; e < 2; e++) {
        lc_hmm truth, h, before;
        hmm_random_model(&truth, 3, (lc_hmm_emission)e, e ? 2 : 5, 4, 2.0);
        const int64_t lengths[] = {30, 45};
        lc_sequences x;
        hmm_sample_sequences(&x, NULL, &truth, 40, lengths, 2, 6);
        assert_ok(lc_hmm_copy(&h, &truth));
        assert_ok(lc_hmm_copy(&before, &truth));
        lc_hmm_fit_options o;
        lc_hmm_fit_defaults(&o);
        o.iters = 5;
        o.tol = -INFINITY;
        o.init_params = "";        // start from h as given
        o.params = e ? "tm" : "t"; // only transmat (and means) move
        lc_hmm_fit_result r;
        assert_ok(lc_hmm_fit(&h, &r, g_dev, &x, &o));
        assert_memory_equal(h.startprob, before.startprob, 3 * sizeof(double));
        if (e)
            assert_memory_equal(h.covars, before.covars, 6 * sizeof(double));
        else
            assert_memory_equal(h.emissionprob, before.emissionprob, 15 * sizeof(double));
        assert_memory_not_equal(h.transmat, before.transmat, 9 * sizeof(double));
        lc_hmm_fit_result_free(&r);
        lc_sequences_free(&x);
        lc_hmm_free(&h);
        lc_hmm_free(&before);
        lc_hmm_free(&truth);
    }
}

// Counting with labels equals the closed-form MLE computed directly here.
static void test_counting(void **state) {
    (void)state;
    lc_hmm truth, h;
    hmm_random_model(&truth, 3, LC_HMM_CATEGORICAL, 4, 12, 1);
    const int64_t lengths[] = {5, 9, 2};
    lc_sequences x;
    int32_t *z;
    hmm_sample_sequences(&x, &z, &truth, 9, lengths, 3, 2);
    assert_ok(lc_hmm_init(&h, 3, LC_HMM_CATEGORICAL, 4));
    lc_hmm_mstep_options o;
    lc_hmm_mstep_defaults(&o);
    o.smoothing = 0.5;
    assert_ok(lc_hmm_fit_counts(&h, &x, z, &o));
    double n_start[3] = {0}, n_trans[9] = {0}, n_emit[12] = {0};
    for (int64_t b = 0; b < x.n; b++)
        for (int64_t t = x.offsets[b]; t < x.offsets[b + 1]; t++) {
            if (t == x.offsets[b])
                n_start[z[t]]++;
            else
                n_trans[z[t - 1] * 3 + z[t]]++;
            n_emit[z[t] * 4 + x.symbols[t]]++;
        }
    for (int i = 0; i < 3; i++) {
        assert_true(fabs(h.startprob[i] - (n_start[i] + 0.5) / (9 + 1.5)) < 1e-12);
        double row = 0, erow = 0;
        for (int j = 0; j < 3; j++)
            row += n_trans[i * 3 + j];
        for (int m = 0; m < 4; m++)
            erow += n_emit[i * 4 + m];
        for (int j = 0; j < 3; j++)
            assert_true(fabs(h.transmat[i * 3 + j] - (n_trans[i * 3 + j] + 0.5) / (row + 1.5)) <
                        1e-12);
        for (int m = 0; m < 4; m++)
            assert_true(fabs(h.emissionprob[i * 4 + m] - (n_emit[i * 4 + m] + 0.5) / (erow + 2)) <
                        1e-12);
    }
    // A label outside [0, K) names its line.
    z[x.offsets[2] + 1] = 7;
    assert_int_equal(lc_hmm_fit_counts(&h, &x, z, &o), LC_ERR_FORMAT);
    assert_non_null(strstr(lc_last_error(), "line 3"));
    free(z);
    lc_sequences_free(&x);
    lc_hmm_free(&h);
    lc_hmm_free(&truth);
}

static void test_counting_gaussian(void **state) {
    (void)state;
    lc_hmm truth, h;
    hmm_random_model(&truth, 2, LC_HMM_GAUSSIAN, 2, 12, 3);
    const int64_t lengths[] = {6, 4};
    lc_sequences x;
    int32_t *z;
    hmm_sample_sequences(&x, &z, &truth, 6, lengths, 2, 2);
    assert_ok(lc_hmm_init(&h, 2, LC_HMM_GAUSSIAN, 2));
    lc_hmm_mstep_options o;
    lc_hmm_mstep_defaults(&o);
    o.covars_prior = 0, o.min_covar = 0;
    assert_ok(lc_hmm_fit_counts(&h, &x, z, &o));
    for (int k = 0; k < 2; k++)
        for (int d = 0; d < 2; d++) {
            double n = 0, s = 0, ss = 0;
            for (int64_t t = 0; t < x.n_steps; t++)
                if (z[t] == k) n++, s += x.values[t * 2 + d];
            double mu = s / n;
            for (int64_t t = 0; t < x.n_steps; t++)
                if (z[t] == k) ss += (x.values[t * 2 + d] - mu) * (x.values[t * 2 + d] - mu);
            assert_true(fabs(h.means[k * 2 + d] - mu) < 1e-9);
            assert_true(fabs(h.covars[k * 2 + d] - ss / n) < 1e-9);
        }
    free(z);
    lc_sequences_free(&x);
    lc_hmm_free(&h);
    lc_hmm_free(&truth);
}

static void test_bad_input(void **state) {
    (void)state;
    lc_hmm h;
    assert_int_equal(lc_hmm_init(&h, 0, LC_HMM_CATEGORICAL, 3), LC_ERR_INVALID_ARG);
    assert_ok(lc_hmm_init(&h, 2, LC_HMM_CATEGORICAL, 3));
    h.transmat[1] = 0.7; // row 0 sums to 1.2
    assert_int_equal(lc_hmm_validate(&h), LC_ERR_FORMAT);
    assert_non_null(strstr(lc_last_error(), "transmat row 0"));
    lc_hmm_free(&h);
    assert_ok(lc_hmm_init(&h, 2, LC_HMM_CATEGORICAL, 3));
    const int64_t lengths[] = {4, 0};
    lc_sequences x;
    hmm_sample_sequences(&x, NULL, &h, 2, lengths, 2, 1);
    assert_int_equal(lc_hmm_check_data(&h, &x), LC_ERR_FORMAT);
    assert_non_null(strstr(lc_last_error(), "line 2"));
    lc_sequences_free(&x);
    lc_hmm_free(&h);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_brute_force_categorical),
        cmocka_unit_test(test_brute_force_gaussian),
        cmocka_unit_test(test_posteriors),
        cmocka_unit_test(test_device_categorical),
        cmocka_unit_test(test_device_gaussian),
        cmocka_unit_test(test_long_sequence),
        cmocka_unit_test(test_em_monotone),
        cmocka_unit_test(test_held_fixed),
        cmocka_unit_test(test_counting),
        cmocka_unit_test(test_counting_gaussian),
        cmocka_unit_test(test_bad_input),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
