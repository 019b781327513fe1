// The op self-checks, one function per op case (src/selftest/registry.c lists them).
#ifndef LATENTCL_SELFTEST_OPS_H
#define LATENTCL_SELFTEST_OPS_H
#include "latentcl/selftest.h"

#define LC_OP_CHECK_LIST(X)                                                                        \
    X(matmul) X(matmul_tn) X(matmul_nt) X(matmul_tt) X(bmm) X(bmm_nt) X(linear_gelu)               \
    X(bias_relu) X(bias_gelu) X(bias_silu) X(bias_tanh) X(relu) X(leaky_relu) X(silu) X(gelu)      \
    X(sigmoid) X(tanh) X(exp) X(log) X(softplus) X(scale) X(chain) X(add) X(sub) X(mul) X(sum)     \
    X(mean) X(mean_axis0) X(mean_all) X(softmax) X(log_softmax) X(cross_entropy) X(bce_logits)     \
    X(mse) X(kl_normal) LC_MORE_OP_CHECKS(X)
#define LC_MORE_OP_CHECKS(X)

#define LC_OP_CHECK_DECL(op) lc_status lc_check_op_##op(lc_device *dev, lc_selftest_result *r);
LC_OP_CHECK_LIST(LC_OP_CHECK_DECL)
// A registry entry per op: {"matmul", lc_check_op_matmul},
#define LC_OP_CHECK_ENTRY(op) {#op, lc_check_op_##op},
#endif
