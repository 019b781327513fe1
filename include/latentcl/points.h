// latentcl — 2-D point sets for toy density models: two moons and the Swiss roll
// (generated from a seed, the same on every machine), and the user's own points from a
// CSV file.
#ifndef LATENTCL_POINTS_H
#define LATENTCL_POINTS_H

#include <stdint.h>

#include "latentcl/status.h"

#ifdef __cplusplus
extern "C" {
#endif

// Two interleaving half circles as scikit-learn's make_moons: moon 0 is (cos a, sin a),
// moon 1 is (1 - cos a, 1/2 - sin a), a uniform in [0, pi], plus N(0, noise^2) per
// coordinate. xy (n, 2); labels (n) = the moon, or NULL. Item i is a pure function of
// (seed, i).
void lc_points_moons(float *xy, int32_t *labels, int64_t n, double noise, uint64_t seed);
// The Swiss roll in 2-D: r = u, angle 1.5 pi (1 + 2 u), u uniform in [0, 1], point
// (r cos, r sin) * 10 / ... as (angle cos angle, angle sin angle) / 10 plus noise; labels NULL.
void lc_points_swissroll(float *xy, int64_t n, double noise, uint64_t seed);

// Points from a CSV file (a header row, then rows of numbers; the first two columns are
// x and y, others are ignored). *xy (n, 2) malloc'ed. Fewer than 2 numeric columns, text,
// NaN or an empty file is LC_ERR_FORMAT naming the file and line.
lc_status lc_points_read_csv(float **xy, int64_t *n, const char *path);

#ifdef __cplusplus
}
#endif
#endif
