// GroupNorm fused with the shift before it and the activation after it (cl/gn_act.cl):
//     y = act(GroupNorm(x + add[:, :, None, ...]))
// x (N, C, ...) with C % groups == 0, add (N, C) or NULL, gamma and beta (C), act LC_ACT_NONE
// or LC_ACT_SILU. One kernel forward, two backward (gradients to x, add, gamma and beta).
// The U-Net's residual block runs "conv, + time projection, GroupNorm, SiLU" through it.
#ifndef LATENTCL_OPS_GN_ACT_H
#define LATENTCL_OPS_GN_ACT_H

#include "latentcl/tensor.h"

lc_status lc_group_norm_act(lc_ctx *ctx, lc_tensor **y, lc_tensor *x, lc_tensor *add, int groups,
                            lc_tensor *gamma, lc_tensor *beta, float eps, lc_act act);

#endif
