// latentcl — layers on the tensor floor. A layer is a small struct of offsets
// into the model's one parameter buffer (lc_params), declared under PyTorch's
// state_dict names and layouts, plus a forward that records on the tape:
//
//     lc_linear fc;
//     lc_linear_declare(&fc, &params, "layers.0", 784, 512, 1); // layers.0.weight (512, 784),
//     .bias lc_params_alloc(&params, dev); lc_linear_reset(dev, &params, &fc, seed); // PyTorch's
//     default init
//     ... per step: lc_linear_forward(ctx, &h, &params, &fc, x, LC_ACT_RELU);
//
// Initialisers follow PyTorch's defaults and draw with Philox keyed by
// (seed, parameter index), so a seed gives the same weights on every device:
// linear/conv/transposed conv weights Kaiming-uniform with a = sqrt(5)
// (bound 1/sqrt(fan_in)), biases uniform(+-1/sqrt(fan_in)); norms 1 and 0;
// embeddings N(0, 1); attention in-projection Xavier-uniform, its biases 0.
// Every function returns an lc_status; the structs own nothing.
#ifndef LATENTCL_NN_H
#define LATENTCL_NN_H

#include "latentcl/params.h"
#include "latentcl/tensor.h"

#ifdef __cplusplus
extern "C" {
#endif

enum { LC_LAYER_NAME_MAX = 96 };

// Linear: weight (out, in), bias (out).
typedef struct {
    char name[LC_LAYER_NAME_MAX];
    size_t w, b; // offsets in floats
    int64_t in, out;
    int bias;
} lc_linear;
lc_status lc_linear_declare(lc_linear *l, lc_params *p, const char *name, int64_t in, int64_t out,
                            int bias);
lc_status lc_linear_reset(lc_device *dev, lc_params *p, const lc_linear *l, uint64_t seed);
// x (..., in) -> (..., out) = act(x w^T + b): one GEMM + one fused bias/activation kernel.
lc_status lc_linear_forward(lc_ctx *ctx, lc_tensor **y, lc_params *p, const lc_linear *l,
                            lc_tensor *x, lc_act act);

// Conv2d: weight (out, in, k, k), bias (out); transposed: weight (in, out, k, k).
typedef struct {
    char name[LC_LAYER_NAME_MAX];
    size_t w, b;
    int64_t in, out, k;
    int stride, pad, out_pad, bias, transposed;
} lc_conv;
lc_status lc_conv_declare(lc_conv *l, lc_params *p, const char *name, int64_t in, int64_t out,
                          int64_t k, int stride, int pad, int bias);
lc_status lc_conv_transpose_declare(lc_conv *l, lc_params *p, const char *name, int64_t in,
                                    int64_t out, int64_t k, int stride, int pad, int out_pad,
                                    int bias);
lc_status lc_conv_reset(lc_device *dev, lc_params *p, const lc_conv *l, uint64_t seed);
// x (N, in, H, W) -> (N, out, H', W'), then act (fused chain when act != NONE).
lc_status lc_conv_forward(lc_ctx *ctx, lc_tensor **y, lc_params *p, const lc_conv *l, lc_tensor *x,
                          lc_act act);

// GroupNorm (groups > 0) or LayerNorm (groups = 0): weight, bias (C).
typedef struct {
    char name[LC_LAYER_NAME_MAX];
    size_t w, b;
    int64_t channels;
    int groups;
    float eps;
} lc_norm;
lc_status lc_group_norm_declare(lc_norm *l, lc_params *p, const char *name, int groups,
                                int64_t channels, float eps);
lc_status lc_layer_norm_declare(lc_norm *l, lc_params *p, const char *name, int64_t channels,
                                float eps);
lc_status lc_norm_reset(lc_device *dev, lc_params *p, const lc_norm *l);
lc_status lc_norm_forward(lc_ctx *ctx, lc_tensor **y, lc_params *p, const lc_norm *l, lc_tensor *x);

// Embedding: weight (num, dim).
typedef struct {
    char name[LC_LAYER_NAME_MAX];
    size_t w;
    int64_t num, dim;
} lc_embed;
lc_status lc_embed_declare(lc_embed *l, lc_params *p, const char *name, int64_t num, int64_t dim);
lc_status lc_embed_reset(lc_device *dev, lc_params *p, const lc_embed *l, uint64_t seed);
lc_status lc_embed_forward(lc_ctx *ctx, lc_tensor **y, lc_params *p, const lc_embed *l,
                           lc_tensor *ids);

// Multi-head self-attention as torch.nn.MultiheadAttention(batch_first=True):
// in_proj_weight (3C, C), in_proj_bias (3C), out_proj.weight (C, C), out_proj.bias (C).
typedef struct {
    char name[LC_LAYER_NAME_MAX];
    size_t in_w, in_b;
    lc_linear out;
    int64_t dim;
    int heads;
} lc_mha;
lc_status lc_mha_declare(lc_mha *l, lc_params *p, const char *name, int64_t dim, int heads);
lc_status lc_mha_reset(lc_device *dev, lc_params *p, const lc_mha *l, uint64_t seed);
// x (B, T, C) -> (B, T, C).
lc_status lc_mha_forward(lc_ctx *ctx, lc_tensor **y, lc_params *p, const lc_mha *l, lc_tensor *x,
                         int causal);
// The same at some positions only: rows (R) int32 indices b * T + t -> y (R, C), the rows
// of lc_mha_forward's output. Keys and values still come from every position; the output
// projection runs on the R rows alone (a pooled encoder needs one row per sequence).
lc_status lc_mha_forward_rows(lc_ctx *ctx, lc_tensor **y, lc_params *p, const lc_mha *l,
                              lc_tensor *x, int causal, lc_tensor *rows);
// Rows of x (..., C), read as (numel / C, C), at int32 indices rows (R) -> y (R, C): an
// embedding lookup over the states (gradients scatter back to x).
lc_status lc_take_rows(lc_ctx *ctx, lc_tensor **y, lc_tensor *x, lc_tensor *rows);

// An MLP as torch.nn.Sequential(Linear, act, Linear, act, ..., Linear): layer i
// is "<prefix>.<2i>" (layers.0, layers.2, ...).
enum { LC_MLP_MAX = 8 };
typedef struct {
    lc_linear layers[LC_MLP_MAX];
    int n;
} lc_mlp;
// sizes[0..n_sizes): input, hidden..., output (n_sizes - 1 linear layers).
lc_status lc_mlp_declare(lc_mlp *m, lc_params *p, const char *prefix, int n_sizes,
                         const int64_t *sizes);
lc_status lc_mlp_reset(lc_device *dev, lc_params *p, const lc_mlp *m, uint64_t seed);
// act between layers, out_act after the last (LC_ACT_NONE for logits).
lc_status lc_mlp_forward(lc_ctx *ctx, lc_tensor **y, lc_params *p, const lc_mlp *m, lc_tensor *x,
                         lc_act act, lc_act out_act);

// Fills one declared parameter: uniform(-bound, bound), normal(0, std), or a
// constant. Draws keyed by (seed, the parameter's index in p).
lc_status lc_param_fill_uniform(lc_device *dev, lc_params *p, const char *name, double bound,
                                uint64_t seed);
lc_status lc_param_fill_normal(lc_device *dev, lc_params *p, const char *name, double std,
                               uint64_t seed);
lc_status lc_param_fill_value(lc_device *dev, lc_params *p, const char *name, float value);

#ifdef __cplusplus
}
#endif
#endif
