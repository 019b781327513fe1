// Every self-check, in the order `latentcl selftest` runs them. Add a line
// here (and the function beside the code it checks) for each new kernel.
#include "selftest/selftest.h"
#include "tensor/selftest_ops.h" // the tensor ops: one entry each (LC_OP_CHECK_LIST)

lc_status lc_check_philox_bits(lc_device *dev, lc_selftest_result *r);
lc_status lc_check_philox_uniform(lc_device *dev, lc_selftest_result *r);
lc_status lc_check_philox_normal(lc_device *dev, lc_selftest_result *r);
lc_status lc_check_gemm(lc_device *dev, lc_selftest_result *r);
lc_status lc_check_hmm_estep_categorical(lc_device *dev, lc_selftest_result *r);
lc_status lc_check_hmm_estep_gaussian(lc_device *dev, lc_selftest_result *r);

const lc_check lc_checks[] = {
    {"philox_bits", lc_check_philox_bits},
    {"philox_uniform", lc_check_philox_uniform},
    {"philox_normal", lc_check_philox_normal},
    {"gemm", lc_check_gemm},
    {"hmm_estep_categorical", lc_check_hmm_estep_categorical},
    {"hmm_estep_gaussian", lc_check_hmm_estep_gaussian},
    LC_OP_CHECK_LIST(LC_OP_CHECK_ENTRY) // every tensor op (src/tensor/selftest_ops.h)
    {NULL, NULL},
};
