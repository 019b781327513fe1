// Self-check of lc_gemm with the device's active backend against a plain
// double-precision product on the host (for `latentcl selftest`).
#include <math.h>
#include <stdlib.h>

#include "latentcl/gemm.h"
#include "selftest/selftest.h"

lc_status lc_check_gemm(lc_device *dev, lc_selftest_result *r) {
    // C (m, n) = 0.5 * A (m, k) * B^T (B stored (n, k)) - 1 * C, awkward sizes and an offset.
    enum { M = 33, N = 17, K = 9, OFF = 3 };
    const size_t na = OFF + M * K, nb = N * K, nc = M * N;
    float *a = malloc(na * sizeof *a), *b = malloc(nb * sizeof *b), *c = malloc(nc * sizeof *c);
    float *out = malloc(nc * sizeof *out);
    cl_mem da = NULL, db = NULL, dc = NULL;
    lc_status s = a && b && c && out ? LC_OK : lc_fail(LC_ERR_NOMEM, "out of memory");
    unsigned seed = 7;
    for (size_t i = 0; s == LC_OK && i < na; i++)
        a[i] = (float)((seed = seed * 1664525u + 1013904223u) >> 16) / 32768.0f - 1.0f;
    for (size_t i = 0; s == LC_OK && i < nb; i++)
        b[i] = (float)((seed = seed * 1664525u + 1013904223u) >> 16) / 32768.0f - 1.0f;
    for (size_t i = 0; s == LC_OK && i < nc; i++)
        c[i] = (float)((seed = seed * 1664525u + 1013904223u) >> 16) / 32768.0f - 1.0f;
    if (s == LC_OK) s = lc_buffer_alloc(&da, dev, na * sizeof *a);
    if (s == LC_OK) s = lc_buffer_alloc(&db, dev, nb * sizeof *b);
    if (s == LC_OK) s = lc_buffer_alloc(&dc, dev, nc * sizeof *c);
    if (s == LC_OK) s = lc_write(dev, da, 0, a, na * sizeof *a);
    if (s == LC_OK) s = lc_write(dev, db, 0, b, nb * sizeof *b);
    if (s == LC_OK) s = lc_write(dev, dc, 0, c, nc * sizeof *c);
    if (s == LC_OK)
        s = lc_gemm(dev, 0, 1, M, N, K, 0.5f, (lc_matrix){da, OFF, K}, (lc_matrix){db, 0, K}, -1.0f,
                    (lc_matrix){dc, 0, N});
    if (s == LC_OK) s = lc_read(dev, out, dc, 0, nc * sizeof *out);
    if (s == LC_OK) {
        double err = 0;
        for (size_t i = 0; i < M; i++)
            for (size_t j = 0; j < N; j++) {
                double sum = 0;
                for (size_t q = 0; q < K; q++)
                    sum += (double)a[OFF + i * K + q] * b[j * K + q];
                double d = fabs(out[i * N + j] - (0.5 * sum - c[i * N + j]));
                if (!(d <= err)) err = d; // NaN sticks
            }
        r->fwd_err = err;
        r->tolerance = 1e-5;
        r->ok = err <= r->tolerance;
        r->detail = lc_gemm_active_backend(dev) == LC_GEMM_HOST
                        ? "33x17x9, B transposed, offset A, alpha/beta; backend host"
                        : "33x17x9, B transposed, offset A, alpha/beta; backend clblast";
    }
    lc_buffer_free(da);
    lc_buffer_free(db);
    lc_buffer_free(dc);
    free(a);
    free(b);
    free(c);
    free(out);
    return s;
}
