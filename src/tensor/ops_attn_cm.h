// Single-head self-attention over the positions of a feature map, channel-major
// (cl/attention.cl, src/tensor/ops_attention.c):
//     qkv (B, 3C, T) -> y (B, C, T),  y[:, :, i] = sum_j softmax_j(q_i . k_j / sqrt(C)) v_j
// with q, k, v the three C-channel thirds of qkv and q_i = qkv[b, 0:C, i]. A 1x1 conv's
// (B, 3C, H, W) output reshaped to (B, 3C, H W) goes in as is and y reshapes back to
// (B, C, H, W): the U-Net's mid attention without permutes or batched GEMM calls.
// One kernel forward, two backward (gradient to qkv).
#ifndef LATENTCL_OPS_ATTN_CM_H
#define LATENTCL_OPS_ATTN_CM_H

#include "latentcl/tensor.h"

lc_status lc_attention_cm(lc_ctx *ctx, lc_tensor **y, lc_tensor *qkv);

#endif
