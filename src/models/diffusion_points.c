// Evaluating and drawing 2-D samples: the kernel MMD between two point sets, and a scatter
// of samples over the data.
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "latentcl/vae.h" // lc_vae_write_scatter: the shared 2-D scatter with a legend
#include "models/diffusion_internal.h"

// Mean of k(u, v) = exp(-|u - v|^2 / (2 h^2)) over all pairs (a_i, b_j).
static double mean_kernel(const float *a, int64_t na, const float *b, int64_t nb, int dim,
                          double h) {
    double inv = 1.0 / (2.0 * h * h), sum = 0;
    for (int64_t i = 0; i < na; i++)
        for (int64_t j = 0; j < nb; j++) {
            double d2 = 0;
            for (int k = 0; k < dim; k++) {
                double d = (double)a[i * dim + k] - (double)b[j * dim + k];
                d2 += d * d;
            }
            sum += exp(-d2 * inv);
        }
    return sum / ((double)na * (double)nb);
}

double lc_mmd_rbf(const float *a, int64_t na, const float *b, int64_t nb, int dim, double h) {
    double m2 = mean_kernel(a, na, a, na, dim, h) + mean_kernel(b, nb, b, nb, dim, h) -
                2.0 * mean_kernel(a, na, b, nb, dim, h);
    return sqrt(m2 > 0 ? m2 : 0);
}

lc_status lc_diffusion_write_scatter(const char *path, const float *data, int64_t n_data,
                                     const float *samples, int64_t n_samples) {
    int64_t n = n_data + n_samples;
    float *xy = malloc((size_t)n * 2 * sizeof *xy);
    int32_t *lab = malloc((size_t)n * sizeof *lab);
    lc_status s = xy && lab ? LC_OK : lc_fail(LC_ERR_NOMEM, "out of memory");
    if (s == LC_OK) {
        memcpy(xy, data, (size_t)n_data * 2 * sizeof *xy);
        memcpy(xy + 2 * n_data, samples, (size_t)n_samples * 2 * sizeof *xy);
        for (int64_t i = 0; i < n; i++)
            lab[i] = i < n_data ? 0 : 1;
        char *names[2] = {"data", "samples"};
        s = lc_vae_write_scatter(path, xy, lab, n, 2, names);
    }
    free(xy);
    free(lab);
    return s;
}
