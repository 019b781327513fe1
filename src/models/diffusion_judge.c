// A diffusion model judged by the conv classifier: sample images of each class, ask the
// judge which class it sees, and compare the judge's features of the samples with those of
// real images (the Fréchet distance of diffusion_eval.c).
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "models/diffusion_internal.h"

enum { JUDGE_BATCH = 500 };

lc_status lc_judge_feature_stats(double *mu, double *cov, lc_classifier *judge, const float *images,
                                 int64_t n) {
    int C, H, W, d = lc_classifier_feature_dim(judge);
    lc_classifier_input(judge, &C, &H, &W);
    int64_t P = (int64_t)C * H * W;
    float *f = malloc((size_t)n * (size_t)d * sizeof *f);
    if (!f) return lc_fail(LC_ERR_NOMEM, "out of memory for %lld feature rows", (long long)n);
    lc_status s = LC_OK;
    for (int64_t i = 0; s == LC_OK && i < n; i += JUDGE_BATCH) {
        int64_t k = n - i < JUDGE_BATCH ? n - i : JUDGE_BATCH;
        s = lc_classifier_features(judge, f + i * d, images + i * P, k);
    }
    if (s == LC_OK) s = lc_feature_stats(mu, cov, f, n, d);
    free(f);
    return s;
}

lc_status lc_diffusion_judge(lc_dif_judgement *out, lc_diffusion *m, lc_classifier *judge,
                             const double *real_mu, const double *real_cov, int64_t n,
                             const lc_dif_sample_options *o) {
    const lc_diffusion_config *c = &m->cfg;
    int C, H, W, K = c->n_classes, kj = lc_classifier_classes(judge),
                 d = lc_classifier_feature_dim(judge);
    lc_classifier_input(judge, &C, &H, &W);
    if (C != c->channels || H != c->height || W != c->width)
        return lc_fail(LC_ERR_SHAPE, "the judge takes %dx%dx%d images, the model makes %dx%dx%d", C,
                       H, W, c->channels, c->height, c->width);
    if (K > 0 && K != kj)
        return lc_fail(LC_ERR_INVALID_ARG, "the judge knows %d classes, the model %d", kj, K);
    if (n < 2)
        return lc_fail(LC_ERR_INVALID_ARG, "judging %lld samples (at least 2)", (long long)n);
    int64_t P = m->dim;
    float *x = malloc((size_t)(n * P) * sizeof *x),
          *logits = malloc((size_t)n * (size_t)kj * sizeof *logits);
    int32_t *cls = K > 0 ? malloc((size_t)n * sizeof *cls) : NULL;
    double *mu = malloc((size_t)d * sizeof *mu), *cov = malloc((size_t)d * (size_t)d * sizeof *cov);
    lc_status s = x && logits && mu && cov && (K == 0 || cls)
                      ? LC_OK
                      : lc_fail(LC_ERR_NOMEM, "out of memory");
    lc_dif_sample_options so = *o;
    for (int64_t i = 0; s == LC_OK && cls && i < n; i++)
        cls[i] = (int32_t)(i % K); // n / K of each class
    so.classes = cls;
    if (s == LC_OK) s = lc_diffusion_sample(m, x, n, &so);
    int64_t right = 0;
    for (int64_t i = 0; s == LC_OK && cls && i < n; i += JUDGE_BATCH) {
        int64_t k = n - i < JUDGE_BATCH ? n - i : JUDGE_BATCH;
        s = lc_classifier_logits(judge, logits + i * kj, x + i * P, k);
    }
    for (int64_t i = 0; s == LC_OK && cls && i < n; i++) {
        int best = 0;
        for (int j = 1; j < kj; j++)
            if (logits[i * kj + j] > logits[i * kj + best]) best = j;
        right += best == cls[i];
    }
    if (s == LC_OK) s = lc_judge_feature_stats(mu, cov, judge, x, n);
    if (s == LC_OK) s = lc_frechet_distance(&out->frechet_distance, mu, cov, real_mu, real_cov, d);
    if (s == LC_OK) {
        out->judge_accuracy = cls ? (double)right / (double)n : NAN;
        out->n = n;
    }
    free(x), free(logits), free(cls), free(mu), free(cov);
    return s;
}
