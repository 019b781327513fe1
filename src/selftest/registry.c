// Every self-check, in the order `latentcl selftest` runs them. Add a line
// here (and the function beside the code it checks) for each new kernel.
#include "selftest/selftest.h"

lc_status lc_check_philox_bits(lc_device *dev, lc_selftest_result *r);
lc_status lc_check_philox_uniform(lc_device *dev, lc_selftest_result *r);
lc_status lc_check_philox_normal(lc_device *dev, lc_selftest_result *r);

const lc_check lc_checks[] = {
    {"philox_bits", lc_check_philox_bits},
    {"philox_uniform", lc_check_philox_uniform},
    {"philox_normal", lc_check_philox_normal},
    {NULL, NULL},
};
