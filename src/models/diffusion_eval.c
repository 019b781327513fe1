// Judging generated images: the judge classifier's accuracy on the requested class, and the
// Fréchet distance between Gaussians fitted to the judge's features (its 128-wide layer
// after ReLU) of generated and real images: an FID in that classifier's feature space,
//     d^2 = |mu_1 - mu_2|^2 + tr(S_1) + tr(S_2) - 2 tr((S_1 S_2)^(1/2)).
// The square-root term, in double precision through LAPACK's symmetric eigensolver (dsyev):
// with R = S_1^(1/2), S_1 S_2 is similar to the symmetric R S_2 R, so tr((S_1 S_2)^(1/2)) is
// the sum of the square roots of R S_2 R's eigenvalues.
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "models/diffusion_internal.h"

#include <lapacke.h>

// Eigenvalues w and eigenvectors (the columns of a, row-major n x n) of the symmetric a.
static int sym_eig(double *a, double *w, int n) {
    return LAPACKE_dsyev(LAPACK_ROW_MAJOR, 'V', 'U', n, a, n, w);
}

lc_status lc_feature_stats(double *mu, double *cov, const float *f, int64_t n, int d) {
    if (n < 2) return lc_fail(LC_ERR_INVALID_ARG, "feature statistics of %lld items", (long long)n);
    memset(mu, 0, (size_t)d * sizeof *mu);
    memset(cov, 0, (size_t)d * (size_t)d * sizeof *cov);
    for (int64_t i = 0; i < n; i++)
        for (int k = 0; k < d; k++)
            mu[k] += f[i * d + k];
    for (int k = 0; k < d; k++)
        mu[k] /= (double)n;
    double *c = malloc((size_t)d * sizeof *c);
    if (!c) return lc_fail(LC_ERR_NOMEM, "out of memory");
    for (int64_t i = 0; i < n; i++) {
        for (int k = 0; k < d; k++)
            c[k] = f[i * d + k] - mu[k];
        for (int a = 0; a < d; a++)
            for (int b = a; b < d; b++)
                cov[a * d + b] += c[a] * c[b];
    }
    free(c);
    for (int a = 0; a < d; a++)
        for (int b = a; b < d; b++) {
            cov[a * d + b] /= (double)(n - 1); // unbiased, as numpy.cov
            cov[b * d + a] = cov[a * d + b];
        }
    return LC_OK;
}

// out = v diag(s) v^T with v's columns the eigenvectors (row-major).
static void compose(double *out, const double *v, const double *s, int d) {
    for (int i = 0; i < d; i++)
        for (int j = 0; j < d; j++) {
            double acc = 0;
            for (int k = 0; k < d; k++)
                acc += v[i * d + k] * s[k] * v[j * d + k];
            out[i * d + j] = acc;
        }
}

static void matmul(double *out, const double *a, const double *b, int d) {
    for (int i = 0; i < d; i++)
        for (int j = 0; j < d; j++) {
            double acc = 0;
            for (int k = 0; k < d; k++)
                acc += a[i * d + k] * b[k * d + j];
            out[i * d + j] = acc;
        }
}

lc_status lc_frechet_distance(double *out, const double *mu1, const double *s1, const double *mu2,
                              const double *s2, int d) {
    size_t dd = (size_t)d * (size_t)d;
    double *v = malloc(dd * sizeof *v), *r = malloc(dd * sizeof *r), *t = malloc(dd * sizeof *t),
           *w = malloc((size_t)d * sizeof *w);
    lc_status st = v && r && t && w ? LC_OK : lc_fail(LC_ERR_NOMEM, "out of memory");
    // R = S_1^(1/2) from S_1's eigen-decomposition (tiny negative eigenvalues are rounding)
    int info = 0;
    if (st == LC_OK) {
        memcpy(v, s1, dd * sizeof *v);
        info = sym_eig(v, w, d);
        if (info) st = lc_fail(LC_ERR_NONFINITE, "Frechet distance: dsyev failed (info %d)", info);
    }
    if (st == LC_OK) {
        for (int k = 0; k < d; k++)
            w[k] = sqrt(w[k] > 0 ? w[k] : 0);
        compose(r, v, w, d);
        matmul(t, r, s2, d); // R S_2 R, symmetric
        matmul(v, t, r, d);
        for (int i = 0; i < d; i++)
            for (int j = i + 1; j < d; j++)
                v[i * d + j] = v[j * d + i] = 0.5 * (v[i * d + j] + v[j * d + i]);
        info = sym_eig(v, w, d);
        if (info) st = lc_fail(LC_ERR_NONFINITE, "Frechet distance: dsyev failed (info %d)", info);
    }
    if (st == LC_OK) {
        double tr_sqrt = 0, tr1 = 0, tr2 = 0, dm = 0;
        for (int k = 0; k < d; k++) {
            tr_sqrt += sqrt(w[k] > 0 ? w[k] : 0);
            tr1 += s1[k * d + k];
            tr2 += s2[k * d + k];
            dm += (mu1[k] - mu2[k]) * (mu1[k] - mu2[k]);
        }
        *out = dm + tr1 + tr2 - 2.0 * tr_sqrt;
        if (*out < 0 && *out > -1e-9 * (tr1 + tr2 + 1)) *out = 0;
    }
    free(v), free(r), free(t), free(w);
    return st;
}
