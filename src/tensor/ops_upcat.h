// Nearest upsampling fused with a channel concat (cl/misc.cl, src/tensor/ops_misc.c):
//     y = concat(upsample_nearest(a, f), b) along dim 1
// a (N, Ca, H, W), b (N, Cb, H f, W f) -> y (N, Ca + Cb, H f, W f). One kernel each way and
// no upsampled intermediate: the U-Net's way up ("x2, then concatenate the skip").
#ifndef LATENTCL_OPS_UPCAT_H
#define LATENTCL_OPS_UPCAT_H

#include "latentcl/tensor.h"

lc_status lc_upsample_concat(lc_ctx *ctx, lc_tensor **y, lc_tensor *a, lc_tensor *b, int f);

#endif
