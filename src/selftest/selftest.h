// One self-check: fills r (fwd_err, grad_err, tolerance, ok). Each floor
// keeps its checks beside its code and lists them in src/selftest/registry.c.
#ifndef LATENTCL_SELFTEST_INTERNAL_H
#define LATENTCL_SELFTEST_INTERNAL_H
#include "latentcl/selftest.h"

typedef lc_status (*lc_check_fn)(lc_device *dev, lc_selftest_result *r);
typedef struct {
    const char *name;
    lc_check_fn fn;
} lc_check;

extern const lc_check lc_checks[]; // ends with {NULL, NULL}

// Max abs difference of two float arrays.
double lc_max_abs_diff(const float *a, const float *b, size_t n);
#endif
