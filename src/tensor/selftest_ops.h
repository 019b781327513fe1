// The op self-checks, one function per op case of op_cases.c;
// src/selftest/registry.c lists them all through LC_OP_CHECK_LIST.
#ifndef LATENTCL_SELFTEST_OPS_H
#define LATENTCL_SELFTEST_OPS_H
#include "latentcl/selftest.h"

// clang-format off
#define LC_OP_CHECK_LIST(X)                                                                        \
    X(matmul) X(matmul_tn) X(matmul_nt) X(matmul_tt) X(bmm) X(bmm_nt) X(linear_gelu) X(linear)             \
    X(bias_relu) X(bias_gelu) X(bias_silu) X(bias_tanh) X(bias_gelu_tall)                          \
    X(relu) X(leaky_relu) X(silu) X(gelu) X(sigmoid) X(tanh) X(exp) X(log) X(softplus) X(scale)    \
    X(chain) X(add) X(sub) X(mul)                                                                  \
    X(sum) X(mean) X(mean_axis0) X(mean_all) X(softmax) X(log_softmax)                             \
    X(cross_entropy) X(bce_logits) X(mse) X(kl_normal) X(kl_gauss)                                 \
    X(conv2d) X(conv2d_relu) X(conv2d_tanh) X(conv2d_k4s2) X(space_to_depth) X(conv_transpose2d) X(max_pool2d) X(avg_pool2d)        \
    X(upsample_nearest) X(group_norm) X(layer_norm) X(layer_norm_rows) X(embedding) X(concat)      \
    X(split) X(permute)                                                                            \
    X(permute_tiles)                                                                               \
    X(dropout) X(attention) X(attention_causal) X(time_embedding)                                \
    X(group_norm_silu_add) X(group_norm_add) X(group_norm_silu)                                    \
    X(group_norm_silu_resid) X(attention_cm) X(upsample_concat)                                    \
    X(attention_qkv) X(attention_qkv_causal) X(info_nce) X(info_nce_clamped)
// clang-format on

#define LC_OP_CHECK_DECL(op) lc_status lc_check_op_##op(lc_device *dev, lc_selftest_result *r);
LC_OP_CHECK_LIST(LC_OP_CHECK_DECL)
// A registry entry per op: {"matmul", lc_check_op_matmul},
#define LC_OP_CHECK_ENTRY(op) {#op, lc_check_op_##op},
#endif
