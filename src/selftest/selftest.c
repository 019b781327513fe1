// Runs the registered self-checks (src/selftest/registry.c).
#include <math.h>
#include <string.h>

#include "selftest/selftest.h"

double lc_max_abs_diff(const float *a, const float *b, size_t n) {
    double m = 0;
    for (size_t i = 0; i < n; i++) {
        double d = fabs((double)a[i] - (double)b[i]);
        if (!(d <= m)) m = d; // NaN propagates as a failure
    }
    return m;
}

lc_status lc_selftest(lc_device *dev, const char *filter, lc_selftest_report_fn report, void *user,
                      int *n_run, int *n_failed) {
    *n_run = *n_failed = 0;
    LC_TRY(lc_device_build_all(dev));
    for (const lc_check *c = lc_checks; c->name; c++) {
        if (filter && *filter && !strstr(c->name, filter)) continue;
        lc_selftest_result r = {.name = c->name, .grad_err = -1};
        lc_status s = c->fn(dev, &r);
        if (s != LC_OK) {
            r.ok = 0;
            r.detail = lc_last_error();
        }
        r.name = c->name;
        (*n_run)++;
        if (!r.ok) (*n_failed)++;
        if (report && report(user, &r)) break;
    }
    return LC_OK;
}
