// Diagonal Gaussian emissions: x_t | z_t = k ~ N(means[k], diag(covars[k])), D dims.
// M-step (as hmmlearn, with its covars_prior):
//   means[k]  = E[sum gamma x] / E[sum gamma]
//   covars[k] = (covars_prior + E[sum gamma (x - means[k])^2]) / E[sum gamma], floored.
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "models/hmm_internal.h"

static const double LOG_2PI = 1.8378770664093453;

static int64_t n_free_params(const lc_hmm *h) { return 2 * (int64_t)h->k * h->d; }

static void log_prob(double *out, const lc_hmm *h, const lc_sequences *x, int64_t step) {
    int D = h->d;
    const float *v = x->values + step * D;
    for (int k = 0; k < h->k; k++) {
        const double *mu = h->means + (size_t)k * D, *var = h->covars + (size_t)k * D;
        double lp = -0.5 * D * LOG_2PI;
        for (int d = 0; d < D; d++) {
            double diff = v[d] - mu[d];
            lp -= 0.5 * (log(var[d]) + diff * diff / var[d]);
        }
        out[k] = lp;
    }
}

static void accumulate(lc_hmm_stats *s, const double *gamma, const lc_sequences *x, int64_t step) {
    int D = s->d;
    const float *v = x->values + step * D;
    for (int k = 0; k < s->k; k++)
        for (int d = 0; d < D; d++) {
            double xc = v[d] - s->center[d];
            s->obs[(size_t)k * D + d] += gamma[k] * xc;
            s->obs2[(size_t)k * D + d] += gamma[k] * xc * xc;
        }
}

static void mstep(lc_hmm *h, const lc_hmm_stats *s, const char *params,
                  const lc_hmm_mstep_options *o) {
    int D = h->d;
    for (int k = 0; k < h->k; k++) {
        double n = s->post[k];
        if (!(n > 0)) continue; // state never visited: keep its parameters
        for (int d = 0; d < D; d++) {
            size_t i = (size_t)k * D + d;
            if (lc_hmm_has(params, 'm')) h->means[i] = s->center[d] + s->obs[i] / n;
            if (lc_hmm_has(params, 'c')) {
                double mu = h->means[i] - s->center[d]; // in the stats' centred frame
                double c_n = s->obs2[i] - 2 * mu * s->obs[i] + mu * mu * n;
                double var = ((o ? o->covars_prior : 0) + c_n) / (n > 1e-5 ? n : 1e-5);
                double floor = o ? o->min_covar : 0;
                h->covars[i] = var > floor ? var : floor;
            }
        }
    }
}

// k-means++ seeds then Lloyd iterations on up to 10,000 steps drawn with Philox.
static void kmeans(double *means, int K, int D, const float *pts, int64_t n, uint64_t seed,
                   uint32_t restart, double *dist) {
    for (int d = 0; d < D; d++)
        means[d] = pts[(int64_t)(lc_hmm_uniform(seed, HMM_RNG_KMEANS, restart, 0) * n) * D + d];
    for (int64_t i = 0; i < n; i++)
        dist[i] = INFINITY;
    for (int c = 1; c < K; c++) {
        double total = 0;
        for (int64_t i = 0; i < n; i++) {
            double q = 0;
            for (int d = 0; d < D; d++) {
                double diff = pts[i * D + d] - means[(size_t)(c - 1) * D + d];
                q += diff * diff;
            }
            if (q < dist[i]) dist[i] = q;
            total += dist[i];
        }
        double u = lc_hmm_uniform(seed, HMM_RNG_KMEANS, restart, (uint64_t)c) * total, acc = 0;
        int64_t pick = n - 1;
        for (int64_t i = 0; i < n; i++) {
            acc += dist[i];
            if (acc >= u) {
                pick = i;
                break;
            }
        }
        for (int d = 0; d < D; d++)
            means[(size_t)c * D + d] = pts[pick * D + d];
    }
    double *sum = calloc((size_t)K * D, sizeof(double)), *cnt = calloc((size_t)K, sizeof(double));
    if (!sum || !cnt) {
        free(sum), free(cnt);
        return; // the seeds alone are a fine start
    }
    for (int iter = 0; iter < 20; iter++) {
        memset(sum, 0, (size_t)K * D * sizeof(double));
        memset(cnt, 0, (size_t)K * sizeof(double));
        for (int64_t i = 0; i < n; i++) {
            int best = 0;
            double bq = INFINITY;
            for (int c = 0; c < K; c++) {
                double q = 0;
                for (int d = 0; d < D; d++) {
                    double diff = pts[i * D + d] - means[(size_t)c * D + d];
                    q += diff * diff;
                }
                if (q < bq) bq = q, best = c;
            }
            cnt[best] += 1;
            for (int d = 0; d < D; d++)
                sum[(size_t)best * D + d] += pts[i * D + d];
        }
        for (int c = 0; c < K; c++)
            if (cnt[c] > 0)
                for (int d = 0; d < D; d++)
                    means[(size_t)c * D + d] = sum[(size_t)c * D + d] / cnt[c];
    }
    free(sum), free(cnt);
}

static lc_status init_random(lc_hmm *h, const char *which, const lc_sequences *x, uint64_t seed,
                             int restart, double min_covar) {
    int K = h->k, D = h->d;
    int64_t n = x->n_steps < 10000 ? x->n_steps : 10000;
    if (lc_hmm_has(which, 'm')) {
        float *pts = malloc((size_t)n * D * sizeof(float));
        double *dist = malloc((size_t)n * sizeof(double));
        if (!pts || !dist) {
            free(pts), free(dist);
            return lc_fail(LC_ERR_NOMEM, "HMM: out of memory for k-means");
        }
        for (int64_t i = 0; i < n; i++) {
            int64_t src = n == x->n_steps
                              ? i
                              : (int64_t)(lc_hmm_uniform(seed, HMM_RNG_KMEANS,
                                                         (uint32_t)restart + 1000, (uint64_t)i) *
                                          x->n_steps);
            memcpy(pts + i * D, x->values + src * D, (size_t)D * sizeof(float));
        }
        kmeans(h->means, K, D, pts, n, seed, (uint32_t)restart, dist);
        free(pts), free(dist);
    }
    if (lc_hmm_has(which, 'c')) {
        for (int d = 0; d < D; d++) {
            double mean = 0, sq = 0;
            for (int64_t i = 0; i < x->n_steps; i++)
                mean += x->values[i * D + d];
            mean /= (double)x->n_steps;
            for (int64_t i = 0; i < x->n_steps; i++) {
                double diff = x->values[i * D + d] - mean;
                sq += diff * diff;
            }
            double var = (x->n_steps > 1 ? sq / (double)(x->n_steps - 1) : 0) + min_covar;
            if (!(var > 0)) var = 1;
            for (int k = 0; k < K; k++)
                h->covars[(size_t)k * D + d] = var;
        }
    }
    return LC_OK;
}

static void sample(int32_t *symbol, float *value, const lc_hmm *h, int k, uint64_t seed,
                   uint64_t draw) {
    (void)symbol;
    for (int d = 0; d < h->d; d++) {
        size_t i = (size_t)k * h->d + d;
        double z = lc_hmm_normal(seed, HMM_RNG_SAMPLE, 3, draw * (uint64_t)h->d + (uint64_t)d);
        value[d] = (float)(h->means[i] + sqrt(h->covars[i]) * z);
    }
}

static lc_status check_data(const lc_hmm *h, const lc_sequences *x) {
    if (!x->values)
        return lc_fail(LC_ERR_INVALID_ARG,
                       "HMM: Gaussian emissions need numeric data (a .csv file)");
    if (x->dim != h->d)
        return lc_fail(LC_ERR_SHAPE, "HMM: the data has %d columns, the model %d dimensions",
                       x->dim, h->d);
    for (int64_t b = 0; b < x->n; b++)
        for (int64_t i = x->offsets[b] * h->d; i < x->offsets[b + 1] * h->d; i++)
            if (!isfinite(x->values[i]))
                return lc_fail(LC_ERR_FORMAT, "HMM: sequence %lld: value %g is not finite",
                               (long long)b + 1, x->values[i]);
    return LC_OK;
}

// ---- device -------------------------------------------------------------------------------

static lc_status device_upload(lc_hmm_device *hd, const lc_sequences *x) {
    int D = hd->d;
    size_t n = (size_t)x->n_steps, w = (size_t)hd->wp;
    hd->x_mean = calloc((size_t)D, sizeof(double));
    float *xc = malloc(n * (size_t)D * sizeof(float)), *aug = malloc(n * w * sizeof(float));
    lc_status st = (hd->x_mean && xc && aug) ? LC_OK : lc_fail(LC_ERR_NOMEM, "HMM: out of memory");
    if (st == LC_OK) {
        for (size_t i = 0; i < n; i++)
            for (int d = 0; d < D; d++)
                hd->x_mean[d] += x->values[i * D + d];
        for (int d = 0; d < D; d++)
            hd->x_mean[d] /= (double)n;
        for (size_t i = 0; i < n; i++) {
            memset(aug + i * w, 0, w * sizeof(float));
            aug[i * w] = 1.0f;
            for (int d = 0; d < D; d++) {
                float v = (float)(x->values[i * D + d] - hd->x_mean[d]);
                xc[i * D + d] = v;
                aug[i * w + 1 + d] = v;
                aug[i * w + 1 + D + d] = v * v;
            }
        }
    }
    if (st == LC_OK) st = lc_buffer_alloc(&hd->values, hd->dev, n * (size_t)D * sizeof(float));
    if (st == LC_OK) st = lc_write(hd->dev, hd->values, 0, xc, n * (size_t)D * sizeof(float));
    if (st == LC_OK) st = lc_buffer_alloc(&hd->xaug, hd->dev, n * w * sizeof(float));
    if (st == LC_OK) st = lc_write(hd->dev, hd->xaug, 0, aug, n * w * sizeof(float));
    size_t kd = (size_t)hd->kp * (size_t)D;
    if (st == LC_OK) st = lc_buffer_alloc(&hd->means, hd->dev, kd * sizeof(float));
    if (st == LC_OK) st = lc_buffer_alloc(&hd->inv_var, hd->dev, kd * sizeof(float));
    if (st == LC_OK) st = lc_buffer_alloc(&hd->log_norm, hd->dev, (size_t)hd->kp * sizeof(float));
    if (st == LC_OK) st = lc_finish(hd->dev);
    free(xc), free(aug);
    return st;
}

static lc_status device_emit(lc_hmm_device *hd, const lc_hmm *h) {
    int K = h->k, KP = hd->kp, D = h->d, N = (int)hd->n_steps;
    size_t kpd = (size_t)KP * D;
    // means (centred like the data) and 1 / covars, transposed to (D, KP), zero-padded
    memset(hd->host, 0, kpd * sizeof(float));
    for (int k = 0; k < K; k++)
        for (int d = 0; d < D; d++)
            hd->host[(size_t)d * KP + k] = (float)(h->means[(size_t)k * D + d] - hd->x_mean[d]);
    LC_TRY(lc_write(hd->dev, hd->means, 0, hd->host, kpd * sizeof(float)));
    for (int k = 0; k < K; k++)
        for (int d = 0; d < D; d++)
            hd->host[(size_t)d * KP + k] = (float)(1.0 / h->covars[(size_t)k * D + d]);
    LC_TRY(lc_write(hd->dev, hd->inv_var, 0, hd->host, kpd * sizeof(float)));
    for (int k = 0; k < KP; k++) {
        double ln = -0.5 * D * LOG_2PI;
        for (int d = 0; k < K && d < D; d++)
            ln -= 0.5 * log(h->covars[(size_t)k * D + d]);
        hd->host[k] = k < K ? (float)ln : -INFINITY;
    }
    LC_TRY(lc_write(hd->dev, hd->log_norm, 0, hd->host, (size_t)KP * sizeof(float)));
    cl_kernel ke;
    LC_TRY(lc_device_kernel(&ke, hd->dev, "hmm", "hmm_emit_gaussian"));
    LC_TRY(LC_ARG(ke, 0, hd->emit));
    LC_TRY(LC_ARG(ke, 1, hd->scale));
    LC_TRY(LC_ARG(ke, 2, hd->values));
    LC_TRY(LC_ARG(ke, 3, hd->means));
    LC_TRY(LC_ARG(ke, 4, hd->inv_var));
    LC_TRY(LC_ARG(ke, 5, hd->log_norm));
    LC_TRY(LC_ARG(ke, 6, KP));
    LC_TRY(LC_ARG(ke, 7, D));
    LC_TRY(LC_ARG(ke, 8, N));
    size_t local = 64, global = ((size_t)N + local - 1) / local * local;
    return lc_launch(hd->dev, ke, "hmm_emit_gaussian", 1, &global, &local);
}

// [post | sum gamma x | sum gamma x^2] = gamma^T (K, N) times [1 | x | x^2] (N, WP).
static lc_status device_stats(lc_hmm_stats *s, lc_hmm_device *hd) {
    size_t k = (size_t)hd->k, D = (size_t)hd->d, w = (size_t)hd->wp, n = (size_t)hd->n_steps;
    LC_TRY(lc_hmm_outer(hd, hd->stat_obs, hd->gamma, hd->kp, hd->xaug, (int)w, 0, hd->kp, (int)n));
    LC_TRY(lc_read(hd->dev, hd->host, hd->stat_obs, 0, k * w * sizeof(float)));
    for (size_t i = 0; i < k; i++) {
        s->post[i] = hd->host[i * w];
        for (size_t d = 0; d < D; d++) {
            s->obs[i * D + d] = hd->host[i * w + 1 + d];
            s->obs2[i * D + d] = hd->host[i * w + 1 + D + d];
        }
    }
    memcpy(s->center, hd->x_mean, D * sizeof(double));
    return LC_OK;
}

const lc_hmm_emission_ops lc_hmm_gaussian_ops = {
    .kind = LC_HMM_GAUSSIAN,
    .name = "gaussian",
    .letters = "mc",
    .n_free_params = n_free_params,
    .log_prob = log_prob,
    .accumulate = accumulate,
    .mstep = mstep,
    .init_random = init_random,
    .sample = sample,
    .check_data = check_data,
    .device_upload = device_upload,
    .device_emit = device_emit,
    .device_stats = device_stats,
};
