// The E-step on the device: every sequence at once, a handful of launches per
// pass (cl/hmm.cl), no host round trip until the expected counts are read.
//
//   emit      = p(x_t | z_t) per step             (Gaussian kernel; categorical: a table)
//   forward   -> u, c, log p(x) per sequence      (one item per sequence)
//   backward  -> gamma, G                         (one item per sequence)
//   trans     = A .* (U^T G)                      (per-chunk partial sums over all N steps)
//   start     = sum_b gamma_first(b)              (one item per state)
//   obs       = the emission kind's counts        (per-chunk partial sums)
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "models/hmm_internal.h"

static int round8(int v) { return (v + 7) / 8 * 8; }

void lc_hmm_device_free(lc_hmm_device *hd) {
    if (!hd) return;
    cl_mem *bufs[] = {&hd->offsets,  &hd->emit,    &hd->scale,      &hd->alpha,
                      &hd->gamma,    &hd->c,       &hd->loglik,     &hd->startprob,
                      &hd->trans,    &hd->trans_t, &hd->stat_start, &hd->stat_trans,
                      &hd->stat_obs, &hd->symbols, &hd->emission_t, &hd->values,
                      &hd->xaug,     &hd->means,   &hd->inv_var,    &hd->log_norm,
                      &hd->partial};
    for (size_t i = 0; i < sizeof bufs / sizeof *bufs; i++)
        lc_buffer_free(*bufs[i]);
    free(hd->x_mean);
    free(hd->host);
    free(hd);
}

static lc_status device_new(lc_hmm_device *hd, const lc_hmm *shape, const lc_sequences *x) {
    size_t k = (size_t)shape->k, kp = (size_t)hd->kp, wp = (size_t)hd->wp, n = (size_t)x->n_steps;
    size_t host = kp * kp;
    if (kp * (size_t)hd->m > host) host = kp * (size_t)hd->m;
    if (kp * wp > host) host = kp * wp;
    if ((size_t)x->n + 1 > host) host = (size_t)x->n + 1;
    hd->host = malloc(host * sizeof(float));
    int *offsets = malloc(((size_t)x->n + 1) * sizeof(int));
    if (!hd->host || !offsets) {
        free(offsets);
        return lc_fail(LC_ERR_NOMEM, "HMM: out of memory");
    }
    for (int64_t b = 0; b <= x->n; b++)
        offsets[b] = (int)x->offsets[b];
    lc_status s = lc_buffer_alloc(&hd->offsets, hd->dev, ((size_t)x->n + 1) * sizeof(int));
    if (s == LC_OK)
        s = lc_write(hd->dev, hd->offsets, 0, offsets, ((size_t)x->n + 1) * sizeof(int));
    free(offsets);
    LC_TRY(s);
    LC_TRY(lc_buffer_alloc(&hd->emit, hd->dev, n * kp * sizeof(float)));
    LC_TRY(lc_buffer_alloc(&hd->alpha, hd->dev, n * kp * sizeof(float)));
    LC_TRY(lc_buffer_alloc(&hd->gamma, hd->dev, n * kp * sizeof(float)));
    LC_TRY(lc_buffer_alloc(&hd->scale, hd->dev, n * sizeof(float)));
    LC_TRY(lc_fill_zero(hd->dev, hd->scale, 0, n * sizeof(float)));
    LC_TRY(lc_buffer_alloc(&hd->c, hd->dev, n * sizeof(float)));
    LC_TRY(lc_buffer_alloc(&hd->loglik, hd->dev, (size_t)x->n * sizeof(float)));
    LC_TRY(lc_buffer_alloc(&hd->startprob, hd->dev, kp * sizeof(float)));
    LC_TRY(lc_buffer_alloc(&hd->trans, hd->dev, kp * kp * sizeof(float)));
    LC_TRY(lc_buffer_alloc(&hd->trans_t, hd->dev, kp * kp * sizeof(float)));
    LC_TRY(lc_buffer_alloc(&hd->stat_start, hd->dev, k * sizeof(float)));
    LC_TRY(lc_buffer_alloc(&hd->stat_trans, hd->dev, kp * kp * sizeof(float)));
    size_t obs = shape->emission == LC_HMM_CATEGORICAL ? (size_t)hd->m * kp : kp * wp;
    LC_TRY(lc_buffer_alloc(&hd->stat_obs, hd->dev, obs * sizeof(float)));
    hd->n_chunks = (int)((n + LC_HMM_CHUNK - 1) / LC_HMM_CHUNK);
    size_t widest = wp > kp ? wp : kp;
    if ((size_t)hd->m > widest) widest = (size_t)hd->m;
    LC_TRY(lc_buffer_alloc(&hd->partial, hd->dev,
                           (size_t)(hd->n_chunks > 0 ? hd->n_chunks : 1) * kp * widest *
                               sizeof(float)));
    return lc_hmm_ops(shape->emission)->device_upload(hd, x);
}

lc_status lc_hmm_device_new(lc_hmm_device **out, lc_device *dev, const lc_hmm *shape,
                            const lc_sequences *x) {
    *out = NULL;
    if (x->n_steps >= INT32_MAX / 8 || x->n < 1)
        return lc_fail(LC_ERR_INVALID_ARG,
                       "HMM: %lld steps in %lld sequences (need 1 .. 2^28 steps)",
                       (long long)x->n_steps, (long long)x->n);
    LC_TRY(lc_hmm_check_data(shape, x));
    lc_hmm_device *hd = calloc(1, sizeof *hd);
    if (!hd) return lc_fail(LC_ERR_NOMEM, "HMM: out of memory");
    hd->dev = dev;
    hd->k = shape->k, hd->m = shape->m, hd->d = shape->d, hd->emission = shape->emission;
    hd->kp = round8(shape->k);
    hd->wp = shape->emission == LC_HMM_GAUSSIAN ? round8(1 + 2 * shape->d) : 0;
    hd->n_seq = x->n, hd->n_steps = x->n_steps;
    lc_status s = device_new(hd, shape, x);
    if (s != LC_OK) {
        lc_hmm_device_free(hd);
        return s;
    }
    *out = hd;
    return LC_OK;
}

// startprob, transmat and its transpose, zero-padded to KP.
static lc_status upload_params(lc_hmm_device *hd, const lc_hmm *h) {
    size_t k = (size_t)h->k, kp = (size_t)hd->kp;
    if (h->k != hd->k || h->emission != hd->emission)
        return lc_fail(LC_ERR_SHAPE, "HMM: model does not match the device buffers");
    memset(hd->host, 0, kp * sizeof(float));
    for (size_t i = 0; i < k; i++)
        hd->host[i] = (float)h->startprob[i];
    LC_TRY(lc_write(hd->dev, hd->startprob, 0, hd->host, kp * sizeof(float)));
    memset(hd->host, 0, kp * kp * sizeof(float));
    for (size_t i = 0; i < k; i++)
        for (size_t j = 0; j < k; j++)
            hd->host[i * kp + j] = (float)h->transmat[i * k + j];
    LC_TRY(lc_write(hd->dev, hd->trans, 0, hd->host, kp * kp * sizeof(float)));
    for (size_t i = 0; i < k; i++)
        for (size_t j = 0; j < k; j++)
            hd->host[j * kp + i] = (float)h->transmat[i * k + j];
    LC_TRY(lc_write(hd->dev, hd->trans_t, 0, hd->host, kp * kp * sizeof(float)));
    return lc_hmm_ops(h->emission)->device_emit(hd, h);
}

// Items per work-group of the per-sequence kernels. One item walks one sequence with no
// barriers, so grouping only decides scheduling: on a CPU one sequence per group lets
// every core take groups (left to itself PoCL may put all sequences in one group, on
// one core); a GPU wants fuller groups.
static size_t seq_group(const lc_hmm_device *hd) {
    return lc_device_get_info(hd->dev)->is_cpu ? 1 : 32;
}

static lc_status forward(lc_hmm_device *hd) {
    cl_kernel kf;
    LC_TRY(lc_device_kernel(&kf, hd->dev, "hmm", "hmm_forward"));
    int K = hd->k, KP = hd->kp, n_seq = (int)hd->n_seq;
    int categorical = hd->emission == LC_HMM_CATEGORICAL;
    LC_TRY(LC_ARG(kf, 0, hd->alpha));
    LC_TRY(LC_ARG(kf, 1, hd->c));
    LC_TRY(LC_ARG(kf, 2, hd->loglik));
    LC_TRY(LC_ARG(kf, 3, hd->emit));
    LC_TRY(LC_ARG(kf, 4, hd->scale));
    LC_TRY(LC_ARG(kf, 5, hd->symbols));
    LC_TRY(LC_ARG(kf, 6, hd->emission_t));
    LC_TRY(LC_ARG(kf, 7, hd->offsets));
    LC_TRY(LC_ARG(kf, 8, hd->startprob));
    LC_TRY(LC_ARG(kf, 9, hd->trans));
    LC_TRY(LC_ARG(kf, 10, K));
    LC_TRY(LC_ARG(kf, 11, KP));
    LC_TRY(LC_ARG(kf, 12, n_seq));
    LC_TRY(LC_ARG(kf, 13, categorical));
    size_t global = (size_t)n_seq, local = seq_group(hd);
    return lc_launch(hd->dev, kf, "hmm_forward", 1, &global, &local);
}

static lc_status read_loglik(double *per_seq, double *total, lc_hmm_device *hd) {
    LC_TRY(lc_read(hd->dev, hd->host, hd->loglik, 0, (size_t)hd->n_seq * sizeof(float)));
    double sum = 0;
    for (int64_t b = 0; b < hd->n_seq; b++) {
        if (per_seq) per_seq[b] = hd->host[b];
        sum += hd->host[b];
    }
    *total = sum;
    return LC_OK;
}

lc_status lc_hmm_score_device(double *per_seq, double *total, lc_hmm_device *hd, const lc_hmm *h) {
    LC_TRY(upload_params(hd, h));
    LC_TRY(forward(hd));
    return read_loglik(per_seq, total, hd);
}

static lc_status backward(lc_hmm_device *hd) {
    cl_kernel kb;
    LC_TRY(lc_device_kernel(&kb, hd->dev, "hmm", "hmm_backward"));
    int K = hd->k, KP = hd->kp, n_seq = (int)hd->n_seq;
    int categorical = hd->emission == LC_HMM_CATEGORICAL;
    LC_TRY(LC_ARG(kb, 0, hd->gamma));
    LC_TRY(LC_ARG(kb, 1, hd->emit));
    LC_TRY(LC_ARG(kb, 2, hd->alpha));
    LC_TRY(LC_ARG(kb, 3, hd->c));
    LC_TRY(LC_ARG(kb, 4, hd->symbols));
    LC_TRY(LC_ARG(kb, 5, hd->emission_t));
    LC_TRY(LC_ARG(kb, 6, hd->offsets));
    LC_TRY(LC_ARG(kb, 7, hd->trans_t));
    LC_TRY(LC_ARG(kb, 8, K));
    LC_TRY(LC_ARG(kb, 9, KP));
    LC_TRY(LC_ARG(kb, 10, n_seq));
    LC_TRY(LC_ARG(kb, 11, categorical));
    size_t global = (size_t)n_seq, local = seq_group(hd);
    return lc_launch(hd->dev, kb, "hmm_backward", 1, &global, &local);
}

static lc_status start_stats(lc_hmm_device *hd) {
    cl_kernel ks;
    LC_TRY(lc_device_kernel(&ks, hd->dev, "hmm", "hmm_start_stats"));
    int K = hd->k, KP = hd->kp, n_seq = (int)hd->n_seq;
    LC_TRY(LC_ARG(ks, 0, hd->stat_start));
    LC_TRY(LC_ARG(ks, 1, hd->gamma));
    LC_TRY(LC_ARG(ks, 2, hd->offsets));
    LC_TRY(LC_ARG(ks, 3, n_seq));
    LC_TRY(LC_ARG(ks, 4, K));
    LC_TRY(LC_ARG(ks, 5, KP));
    size_t global = (size_t)K;
    return lc_launch(hd->dev, ks, "hmm_start_stats", 1, &global, NULL);
}

lc_status lc_hmm_outer(lc_hmm_device *hd, cl_mem out, cl_mem a, int lda, cl_mem b, int ldb,
                       int b_shift, int P, int rows) {
    int chunk = LC_HMM_CHUNK, n_chunks = (rows + chunk - 1) / chunk, n = P * ldb;
    if (n_chunks < 1) return lc_fill_zero(hd->dev, out, 0, (size_t)n * sizeof(float));
    cl_kernel kp, ks;
    int wide = ldb % 16 == 0; // 16 columns per item
    const char *name = wide ? "hmm_outer_partials16" : "hmm_outer_partials";
    LC_TRY(lc_device_kernel(&kp, hd->dev, "hmm", name));
    LC_TRY(lc_device_kernel(&ks, hd->dev, "hmm", "hmm_sum_partials"));
    LC_TRY(LC_ARG(kp, 0, hd->partial));
    LC_TRY(LC_ARG(kp, 1, a));
    LC_TRY(LC_ARG(kp, 2, lda));
    LC_TRY(LC_ARG(kp, 3, b));
    LC_TRY(LC_ARG(kp, 4, ldb));
    LC_TRY(LC_ARG(kp, 5, b_shift));
    LC_TRY(LC_ARG(kp, 6, P));
    LC_TRY(LC_ARG(kp, 7, rows));
    LC_TRY(LC_ARG(kp, 8, chunk));
    size_t global[3] = {(size_t)ldb / (wide ? 16 : 8), (size_t)P / 4, (size_t)n_chunks};
    // One work-group per chunk: its items share the chunk's rows in cache.
    size_t local[3] = {global[0], global[1], 1};
    int fits = global[0] * global[1] <= lc_device_get_info(hd->dev)->max_work_group;
    LC_TRY(lc_launch(hd->dev, kp, name, 3, global, fits ? local : NULL));
    LC_TRY(LC_ARG(ks, 0, out));
    LC_TRY(LC_ARG(ks, 1, hd->partial));
    LC_TRY(LC_ARG(ks, 2, n_chunks));
    LC_TRY(LC_ARG(ks, 3, n));
    size_t g1 = (size_t)n;
    return lc_launch(hd->dev, ks, "hmm_sum_partials", 1, &g1, NULL);
}

// U^T (KP, N-1) times G shifted by one row (N-1, KP): pairs (u_t, g_t / c_t).
static lc_status trans_stats(lc_hmm_device *hd) {
    return lc_hmm_outer(hd, hd->stat_trans, hd->alpha, hd->kp, hd->emit, hd->kp, 1, hd->kp,
                        (int)hd->n_steps - 1);
}

lc_status lc_hmm_estep_device(lc_hmm_stats *s, lc_hmm_device *hd, const lc_hmm *h) {
    size_t k = (size_t)h->k, kp = (size_t)hd->kp;
    LC_TRY(upload_params(hd, h));
    LC_TRY(forward(hd));
    LC_TRY(backward(hd));
    LC_TRY(trans_stats(hd));
    LC_TRY(start_stats(hd));
    lc_hmm_stats_zero(s);
    LC_TRY(lc_hmm_ops(h->emission)->device_stats(s, hd)); // enqueues and reads obs
    LC_TRY(read_loglik(NULL, &s->log_likelihood, hd));
    LC_TRY(lc_read(hd->dev, hd->host, hd->stat_start, 0, k * sizeof(float)));
    for (size_t i = 0; i < k; i++)
        s->start[i] = hd->host[i];
    LC_TRY(lc_read(hd->dev, hd->host, hd->stat_trans, 0, k * kp * sizeof(float)));
    for (size_t i = 0; i < k; i++)
        for (size_t j = 0; j < k; j++)
            s->trans[i * k + j] = hd->host[i * kp + j] * h->transmat[i * k + j];
    return LC_OK;
}
