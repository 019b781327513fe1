// 2-D point sets: two moons and the Swiss roll drawn with Philox keyed by (seed, item),
// and the user's points from CSV (read by the sequences reader, checked for two columns).
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "latentcl/data.h"
#include "latentcl/points.h"
#include "latentcl/rng.h"

enum { POINTS_PURPOSE = 0x504f /* "PO" */ };

// Item i's four uniforms: the Philox block (i, 0, 0, POINTS_PURPOSE) under the seed.
static void item_uniforms(float u[4], uint64_t seed, int64_t i) {
    uint32_t key[2], ctr[4] = {(uint32_t)i, (uint32_t)((uint64_t)i >> 32), 0, POINTS_PURPOSE},
                     out[4];
    lc_seed_key(key, seed);
    lc_philox4x32_10(out, ctr, key);
    for (int j = 0; j < 4; j++)
        u[j] = lc_uniform_from_u32(out[j]);
}

// Two standard normals from two uniforms (Box-Muller).
static void normals(double z[2], float u1, float u2) {
    double r = sqrt(-2.0 * log((double)u1)), a = 2.0 * M_PI * (double)u2;
    z[0] = r * cos(a);
    z[1] = r * sin(a);
}

void lc_points_moons(float *xy, int32_t *labels, int64_t n, double noise, uint64_t seed) {
    for (int64_t i = 0; i < n; i++) {
        float u[4];
        item_uniforms(u, seed, i);
        int moon = (int)(i & 1); // alternate, so any prefix covers both moons equally
        double a = M_PI * (double)u[0], z[2];
        normals(z, u[1], u[2]);
        double x = moon ? 1.0 - cos(a) : cos(a), y = moon ? 0.5 - sin(a) : sin(a);
        xy[2 * i] = (float)(x + noise * z[0]);
        xy[2 * i + 1] = (float)(y + noise * z[1]);
        if (labels) labels[i] = moon;
    }
}

void lc_points_swissroll(float *xy, int64_t n, double noise, uint64_t seed) {
    for (int64_t i = 0; i < n; i++) {
        float u[4];
        item_uniforms(u, seed, i);
        double a = 1.5 * M_PI * (1.0 + 2.0 * (double)u[0]), z[2];
        normals(z, u[1], u[2]);
        xy[2 * i] = (float)(a * cos(a) / 10.0 + noise * z[0]);
        xy[2 * i + 1] = (float)(a * sin(a) / 10.0 + noise * z[1]);
    }
}

lc_status lc_points_read_csv(float **xy, int64_t *n, const char *path) {
    *xy = NULL;
    *n = 0;
    lc_sequences s = {0};
    LC_TRY(lc_sequences_read_csv(&s, path));
    lc_status st = LC_OK;
    if (s.dim < 2)
        st = lc_fail(LC_ERR_FORMAT,
                     "%s: %d numeric column%s; a points file needs two (x,y) under a header row",
                     path, s.dim, s.dim == 1 ? "" : "s");
    else if (s.n_steps < 1)
        st = lc_fail(LC_ERR_FORMAT, "%s: no points", path);
    float *out = st == LC_OK ? malloc((size_t)s.n_steps * 2 * sizeof *out) : NULL;
    if (st == LC_OK && !out) st = lc_fail(LC_ERR_NOMEM, "out of memory for %s", path);
    for (int64_t i = 0; st == LC_OK && i < s.n_steps; i++) {
        out[2 * i] = s.values[i * s.dim];
        out[2 * i + 1] = s.values[i * s.dim + 1];
    }
    if (st == LC_OK) {
        *xy = out;
        *n = s.n_steps;
    }
    lc_sequences_free(&s);
    return st;
}
