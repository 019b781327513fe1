// HMM fitting end to end: recovering a known model from data it generated,
// checkpoints (round trip, hostile files), and agreement with hmmlearn 0.3.3
// iteration by iteration.
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "test_util.h"
#include "test_hmm_util.h"

static lc_device *g_dev;

static int setup(void **state) { return test_open_device(&g_dev, NULL); }

static int teardown(void **state) { return test_close_device(g_dev, NULL); }

// A sticky 3-state chain: 0.8 on the diagonal.
static void sticky_truth(lc_hmm *h, lc_hmm_emission e, int m_or_d) {
    assert_ok(lc_hmm_init(h, 3, e, m_or_d));
    const double start[3] = {0.5, 0.3, 0.2};
    for (int i = 0; i < 3; i++) {
        h->startprob[i] = start[i];
        for (int j = 0; j < 3; j++)
            h->transmat[i * 3 + j] = i == j ? 0.8 : 0.1;
    }
    if (e == LC_HMM_CATEGORICAL) { // each state prefers two of the six symbols
        for (int i = 0; i < 3; i++)
            for (int m = 0; m < m_or_d; m++)
                h->emissionprob[i * m_or_d + m] = (m / 2 == i) ? 0.4 : 0.05;
    } else {
        for (int i = 0; i < 3; i++)
            for (int d = 0; d < m_or_d; d++) {
                h->means[i * m_or_d + d] = 4.0 * i - 4.0 + d;
                h->covars[i * m_or_d + d] = 0.5 + 0.25 * i;
            }
    }
}

// The permutation of fitted states that best matches the truth's means/emissions.
static void best_permutation(int perm[3], const lc_hmm *truth, const lc_hmm *fit) {
    static const int perms[6][3] = {{0, 1, 2}, {0, 2, 1}, {1, 0, 2},
                                    {1, 2, 0}, {2, 0, 1}, {2, 1, 0}};
    double best = INFINITY;
    int cols = truth->emission == LC_HMM_CATEGORICAL ? truth->m : truth->d;
    const double *a = truth->emission == LC_HMM_CATEGORICAL ? truth->emissionprob : truth->means;
    const double *b = fit->emission == LC_HMM_CATEGORICAL ? fit->emissionprob : fit->means;
    for (int p = 0; p < 6; p++) {
        double dist = 0;
        for (int i = 0; i < 3; i++)
            for (int c = 0; c < cols; c++)
                dist += fabs(a[i * cols + c] - b[perms[p][i] * cols + c]);
        if (dist < best) best = dist, memcpy(perm, perms[p], sizeof perms[p]);
    }
}

static void check_recovery(lc_hmm_emission e, int m_or_d) {
    lc_hmm truth, h;
    sticky_truth(&truth, e, m_or_d);
    const int64_t lengths[] = {100};
    lc_sequences x;
    hmm_sample_sequences(&x, NULL, &truth, 400, lengths, 1, 99);
    assert_ok(lc_hmm_init(&h, 3, e, m_or_d));
    lc_hmm_fit_options o;
    lc_hmm_fit_defaults(&o);
    o.iters = 300, o.tol = 1e-3, o.restarts = 3, o.seed = 5;
    lc_hmm_fit_result r;
    assert_ok(lc_hmm_fit(&h, &r, g_dev, &x, &o));
    int p[3];
    best_permutation(p, &truth, &h);
    // Tolerances: 40,000 steps give standard errors near 0.01 for these parameters.
    for (int i = 0; i < 3; i++) {
        for (int j = 0; j < 3; j++)
            assert_true(fabs(h.transmat[p[i] * 3 + p[j]] - truth.transmat[i * 3 + j]) < 0.03);
        for (int c = 0; c < m_or_d; c++) {
            if (e == LC_HMM_CATEGORICAL) {
                assert_true(fabs(h.emissionprob[p[i] * m_or_d + c] -
                                 truth.emissionprob[i * m_or_d + c]) < 0.03);
            } else {
                assert_true(fabs(h.means[p[i] * m_or_d + c] - truth.means[i * m_or_d + c]) < 0.05);
                assert_true(rel_diff(h.covars[p[i] * m_or_d + c], truth.covars[i * m_or_d + c]) <
                            0.05);
            }
        }
    }
    lc_hmm_fit_result_free(&r);
    lc_sequences_free(&x);
    lc_hmm_free(&h);
    lc_hmm_free(&truth);
}

static void test_recover_categorical(void **state) {
    (void)state;
    check_recovery(LC_HMM_CATEGORICAL, 6);
}

static void test_recover_gaussian(void **state) {
    (void)state;
    check_recovery(LC_HMM_GAUSSIAN, 2);
}

static void test_checkpoint_round_trip(void **state) {
    (void)state;
    char *dir = test_tmpdir(), path[512];
    snprintf(path, sizeof path, "%s/m.safetensors", dir);
    for (int e = 0; e < 2; e++) {
        lc_hmm h, back;
        hmm_random_model(&h, 3, (lc_hmm_emission)e, e ? 2 : 4, 8, 1.0);
        lc_hmm_meta meta = {0}, mb;
        char *syms[4] = {"a", "b", "c", "d"};
        if (!e) meta.alphabet.size = 4, meta.alphabet.symbols = syms;
        assert_ok(lc_hmm_save(path, &h, &meta, "{\"n_states\":3}"));
        assert_ok(lc_hmm_load(&back, &mb, path));
        assert_int_equal(back.k, 3);
        assert_int_equal(back.emission, e);
        for (int i = 0; i < 9; i++)
            assert_true(fabs(back.transmat[i] - h.transmat[i]) < 1e-6);
        if (!e) {
            assert_int_equal(mb.alphabet.size, 4);
            assert_string_equal(mb.alphabet.symbols[3], "d");
            for (int i = 0; i < 12; i++)
                assert_true(fabs(back.emissionprob[i] - h.emissionprob[i]) < 1e-6);
        } else {
            for (int i = 0; i < 6; i++)
                assert_true(rel_diff(back.covars[i], h.covars[i]) < 1e-6);
        }
        lc_hmm_meta_free(&mb);
        lc_hmm_free(&back);
        // A checkpoint whose rows do not sum to 1 is refused, naming the row.
        h.transmat[4] += 0.3;
        assert_ok(lc_hmm_save(path, &h, NULL, NULL));
        assert_int_equal(lc_hmm_load(&back, NULL, path), LC_ERR_FORMAT);
        assert_non_null(strstr(lc_last_error(), "transmat row 1"));
        lc_hmm_free(&h);
    }
    test_rmtree(dir);
    free(dir);
}

// ---- hmmlearn ---------------------------------------------------------------------------

static int record(void *ctx, const lc_hmm_iter_info *info) {
    ((double *)ctx)[info->iter - 1] = info->log_likelihood;
    return 0;
}

static void write_data(const char *path, const lc_sequences *x, lc_hmm_emission e) {
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    if (e == LC_HMM_GAUSSIAN) fprintf(f, "seq,x0,x1\n");
    for (int64_t b = 0; b < x->n; b++) {
        for (int64_t t = x->offsets[b]; t < x->offsets[b + 1]; t++) {
            if (e == LC_HMM_CATEGORICAL)
                fputc('a' + x->symbols[t], f);
            else
                fprintf(f, "%lld,%.9g,%.9g\n", (long long)b, x->values[t * 2],
                        x->values[t * 2 + 1]);
        }
        if (e == LC_HMM_CATEGORICAL) fputc('\n', f);
    }
    fclose(f);
}

static void check_hmmlearn(lc_hmm_emission e) {
    char python[1024];
    snprintf(python, sizeof python, "%s/.venv/bin/python", LATENTCL_SOURCE_DIR);
    if (access(python, X_OK) != 0 ||
        test_system("%s -c 'import hmmlearn, safetensors' 2>/dev/null", python) != 0) {
        skip();
        return;
    }
    int md = e == LC_HMM_CATEGORICAL ? 5 : 2;
    lc_hmm truth, h;
    hmm_random_model(&truth, 3, e, md, 21, 2.0);
    const int64_t lengths[] = {30, 55, 12, 80};
    lc_sequences x;
    hmm_sample_sequences(&x, NULL, &truth, 40, lengths, 4, 13);
    hmm_random_model(&h, 3, e, md, 22, 1.0); // the shared starting point
    if (e == LC_HMM_GAUSSIAN)
        for (int i = 0; i < 6; i++)
            h.means[i] = 1.0 * truth.means[i] + 0.5, h.covars[i] = 2.0;
    char *dir = test_tmpdir(), ckpt[512], data[512], out[512];
    snprintf(ckpt, sizeof ckpt, "%s/init.safetensors", dir);
    snprintf(data, sizeof data, "%s/data.%s", dir, e == LC_HMM_CATEGORICAL ? "txt" : "csv");
    snprintf(out, sizeof out, "%s/hmmlearn.txt", dir);
    char *syms[5] = {"a", "b", "c", "d", "e"};
    lc_hmm_meta meta = {0};
    if (e == LC_HMM_CATEGORICAL) meta.alphabet.size = 5, meta.alphabet.symbols = syms;
    assert_ok(lc_hmm_save(ckpt, &h, &meta, NULL));
    write_data(data, &x, e);
    assert_int_equal(test_system("%s %s/tests/hmm_hmmlearn.py %s %s 5 > %s", python,
                                 LATENTCL_SOURCE_DIR, ckpt, data, out),
                     0);
    // Both start from the float32 values in the checkpoint.
    lc_hmm start;
    assert_ok(lc_hmm_load(&start, NULL, ckpt));
    lc_hmm_fit_options o;
    lc_hmm_fit_defaults(&o);
    o.iters = 5, o.tol = -INFINITY, o.init_params = "";
    double ours[5];
    o.progress = record, o.progress_ctx = ours;
    lc_hmm_fit_result r;
    assert_ok(lc_hmm_fit(&start, &r, g_dev, &x, &o));
    FILE *f = fopen(out, "r");
    assert_non_null(f);
    for (int i = 0; i < 5; i++) {
        double theirs;
        assert_int_equal(fscanf(f, "%lf", &theirs), 1);
        if (rel_diff(ours[i], theirs) >= 1e-5)
            fail_msg("iteration %d: latentcl %.10g, hmmlearn %.10g", i + 1, ours[i], theirs);
    }
    fclose(f);
    lc_hmm_fit_result_free(&r);
    lc_hmm_free(&start);
    lc_hmm_free(&h);
    lc_hmm_free(&truth);
    lc_sequences_free(&x);
    test_rmtree(dir);
    free(dir);
}

static void test_hmmlearn_categorical(void **state) {
    (void)state;
    check_hmmlearn(LC_HMM_CATEGORICAL);
}

static void test_hmmlearn_gaussian(void **state) {
    (void)state;
    check_hmmlearn(LC_HMM_GAUSSIAN);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_recover_categorical),   cmocka_unit_test(test_recover_gaussian),
        cmocka_unit_test(test_checkpoint_round_trip), cmocka_unit_test(test_hmmlearn_categorical),
        cmocka_unit_test(test_hmmlearn_gaussian),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
