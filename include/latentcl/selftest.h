// latentcl — device self-checks: every kernel against its host reference.
#ifndef LATENTCL_SELFTEST_H
#define LATENTCL_SELFTEST_H

#include "latentcl/device.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct {
    const char *name; // the op or kernel checked ("philox_bits", "gemm", "conv2d")
    double fwd_err;   // max abs error of the device result against the host reference
    double grad_err;  // max relative error of the backward against finite differences (< 0: none)
    double tolerance; // the bound both errors were held to
    int ok;
    const char *detail; // optional: what was checked
} lc_selftest_result;

// Called once per check; a non-zero return stops the run.
typedef int (*lc_selftest_report_fn)(void *user, const lc_selftest_result *r);

// Builds every kernel program, then runs every registered check (or only
// those whose name contains `filter`), reporting each. *n_failed counts
// checks that ran but were not ok. A check that cannot run at all (an
// OpenCL failure) is reported as failed with its message in detail.
lc_status lc_selftest(lc_device *dev, const char *filter, lc_selftest_report_fn report, void *user,
                      int *n_run, int *n_failed);

#ifdef __cplusplus
}
#endif
#endif
