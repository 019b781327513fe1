// latentcl — float32 tensors on the device, the ops on them and the tape.
//
// A context (lc_ctx) works on one lc_device (borrowed: the caller opens the
// device before the context and closes it after lc_ctx_free). It owns
//   - the tensor headers of the current step (host structs, reused each step),
//   - the tape: every op run while gradients are enabled records one node,
//   - the step's device temporaries: its own arena of buffers, handed out in
//     the same order each step (two contexts on one device never share them).
// A training step is
//     lc_step_begin(ctx);                 // forget the last step's tensors and tape
//     lc_zero_grad(ctx, &params);         // or let the optimiser zero the grads
//     ... forward with lc_* ops ...       // records the tape
//     lc_backward(ctx, loss);             // accumulates into params.grad
// Every buffer a step uses is handed out by the arena in the same order each
// step, so a step allocates nothing after its first run (lc_ctx_arena_bytes
// unchanged; a step with larger shapes replaces the blocks it outgrew).
// Tensors and their data are valid until the next lc_step_begin.
//
// Ops take outputs first: lc_matmul(ctx, &y, a, b, ...). Each op checks its
// shapes before any launch and returns LC_ERR_SHAPE with a message naming the
// op and both shapes. Nothing here blocks except the *_to_host reads.
//
// Gradients: a parameter tensor's gradient lives in the model's grad buffer
// (lc_params.grad) at the parameter's offset; lc_backward ADDS to it (zero it
// with lc_zero_grad, once per step, unless accumulating over micro-batches).
// Intermediate gradients are step temporaries.
#ifndef LATENTCL_TENSOR_H
#define LATENTCL_TENSOR_H

#include <stddef.h>
#include <stdint.h>

#include "latentcl/device.h"
#include "latentcl/params.h"

#ifdef __cplusplus
extern "C" {
#endif

enum { LC_MAX_DIMS = 6 };

typedef enum { LC_F32 = 0, LC_I32 = 1 } lc_tensor_dtype;

typedef struct lc_tensor lc_tensor;
struct lc_tensor {
    cl_mem buf; // the data: element i at buf + off + i (elements, row-major, contiguous)
    size_t off;
    int ndim;
    int64_t shape[LC_MAX_DIMS];
    size_t numel;
    lc_tensor_dtype dtype;
    int requires_grad; // a gradient flows into this tensor during lc_backward
    // Internal: the tensor whose buffer a view shares (itself if not a view),
    // and where its gradient lives (see lc_tensor_grad).
    lc_tensor *base;
    cl_mem grad_buf; // base only; NULL until the first gradient is written
    size_t grad_off;
    int grad_state;   // base only: 0 none yet, 1 written this backward, 2 persistent (parameter)
    const char *name; // optional, for messages
};

typedef struct lc_ctx lc_ctx;

// Creates a context on dev (borrowed). Gradients enabled, training mode on, seed 0.
lc_status lc_ctx_create(lc_ctx **out, lc_device *dev);
void lc_ctx_free(lc_ctx *ctx); // NULL-safe; the device stays open
lc_device *lc_ctx_device(const lc_ctx *ctx);

// Starts a step: resets the context's arena, the tensor headers and the tape.
// All tensors of the previous step become invalid.
void lc_step_begin(lc_ctx *ctx);
// Bytes the context's arena holds (a step of unchanged shapes leaves it unchanged).
size_t lc_ctx_arena_bytes(const lc_ctx *ctx);

// Gradient recording. lc_set_grad_enabled returns the previous setting; with
// gradients off, ops record nothing and outputs never require grad
// (evaluation, sampling).
int lc_set_grad_enabled(lc_ctx *ctx, int enabled);
int lc_grad_enabled(const lc_ctx *ctx);
// Training mode (dropout active) vs evaluation (dropout is the identity).
void lc_set_training(lc_ctx *ctx, int training);
// Random draws of this step (dropout): keyed by (seed, step, sample index, op number in the step).
void lc_set_rng(lc_ctx *ctx, uint64_t seed, uint64_t step);

// Number of nodes on the tape (tests: no-grad mode records nothing).
int lc_tape_size(const lc_ctx *ctx);

// --- tensors ---------------------------------------------------------------

// A step temporary (arena), uninitialised, no gradient. shape: ndim values > 0.
lc_status lc_tensor_new(lc_ctx *ctx, lc_tensor **out, int ndim, const int64_t *shape);
lc_status lc_tensor_new_i32(lc_ctx *ctx, lc_tensor **out, int ndim, const int64_t *shape);
// A step temporary filled from host memory (blocking write; float or int32).
lc_status lc_tensor_from_host(lc_ctx *ctx, lc_tensor **out, const float *data, int ndim,
                              const int64_t *shape);
lc_status lc_tensor_from_host_i32(lc_ctx *ctx, lc_tensor **out, const int32_t *data, int ndim,
                                  const int64_t *shape);
// A tensor over an existing buffer (not owned): element i at buf + off + i.
lc_status lc_tensor_wrap(lc_ctx *ctx, lc_tensor **out, cl_mem buf, size_t off,
                         lc_tensor_dtype dtype, int ndim, const int64_t *shape);
// A parameter: a view of params->data at offset with its gradient in
// params->grad at the same offset. Requires grad when gradients are enabled.
lc_status lc_tensor_param_at(lc_ctx *ctx, lc_tensor **out, lc_params *params, size_t offset,
                             int ndim, const int64_t *shape);
// The same by name and declared shape (LC_ERR_INVALID_ARG if absent).
lc_status lc_tensor_param(lc_ctx *ctx, lc_tensor **out, lc_params *params, const char *name);
// Marks a leaf (input) tensor as needing its gradient (tests, input gradients).
lc_status lc_tensor_set_requires_grad(lc_ctx *ctx, lc_tensor *t);

// Blocking reads of the data / the gradient (zeros if no gradient reached t).
lc_status lc_tensor_to_host(lc_ctx *ctx, void *dst, const lc_tensor *t);
lc_status lc_tensor_grad_to_host(lc_ctx *ctx, float *dst, const lc_tensor *t);
// Where t's gradient lives (NULL buf if none yet). Offset in floats.
void lc_tensor_grad(const lc_tensor *t, cl_mem *buf, size_t *off);

// Views (no copy; the gradient is shared with the base tensor).
lc_status lc_reshape(lc_ctx *ctx, lc_tensor **out, lc_tensor *x, int ndim, const int64_t *shape);
// Rows [start, start + len) of the first dimension.
lc_status lc_slice0(lc_ctx *ctx, lc_tensor **out, lc_tensor *x, int64_t start, int64_t len);

// "(2, 3)" into buf; for messages.
const char *lc_shape_str(const lc_tensor *t, char *buf, size_t size);

// --- backward ---------------------------------------------------------------

// Walks the tape in reverse from loss (one element, seeded with 1) and
// accumulates gradients. The tape is kept until lc_step_begin.
lc_status lc_backward(lc_ctx *ctx, lc_tensor *loss);
// The same from any output with a given upstream gradient (same shape as out).
lc_status lc_backward_from(lc_ctx *ctx, lc_tensor *out, lc_tensor *out_grad);
// Zeroes params->grad (one fill).
lc_status lc_zero_grad(lc_ctx *ctx, lc_params *params);

// --- ops ------------------------------------------------------------------

// Unary elementwise functions; alpha is LeakyReLU's slope and SCALE's factor,
// beta SCALE's shift (SCALE: alpha * x + beta).
typedef enum {
    LC_ACT_NONE = 0, // identity
    LC_ACT_RELU,
    LC_ACT_LEAKY_RELU,
    LC_ACT_SILU,
    LC_ACT_GELU, // exact (erf), as PyTorch's default
    LC_ACT_SIGMOID,
    LC_ACT_TANH,
    LC_ACT_EXP,
    LC_ACT_LOG,
    LC_ACT_SOFTPLUS,
    LC_ACT_SCALE,
    LC_ACT_SQUARE,
    LC_ACT_COUNT
} lc_act;

typedef struct {
    lc_act act;
    float alpha, beta;
} lc_unary_step;

enum { LC_CHAIN_MAX = 8 };

// y = f(x) elementwise; y has x's shape.
lc_status lc_unary(lc_ctx *ctx, lc_tensor **y, lc_tensor *x, lc_act act, float alpha, float beta);
// Fused elementwise chain: y = f_n(...f_1(x)) in ONE kernel forward and ONE
// backward (the backward recomputes the chain in registers). n <= LC_CHAIN_MAX.
lc_status lc_chain(lc_ctx *ctx, lc_tensor **y, lc_tensor *x, int n, const lc_unary_step *steps);
lc_status lc_relu(lc_ctx *ctx, lc_tensor **y, lc_tensor *x);
lc_status lc_leaky_relu(lc_ctx *ctx, lc_tensor **y, lc_tensor *x, float slope);
lc_status lc_silu(lc_ctx *ctx, lc_tensor **y, lc_tensor *x);
lc_status lc_gelu(lc_ctx *ctx, lc_tensor **y, lc_tensor *x);
lc_status lc_sigmoid(lc_ctx *ctx, lc_tensor **y, lc_tensor *x);
lc_status lc_tanh(lc_ctx *ctx, lc_tensor **y, lc_tensor *x);
lc_status lc_exp(lc_ctx *ctx, lc_tensor **y, lc_tensor *x);
lc_status lc_log(lc_ctx *ctx, lc_tensor **y, lc_tensor *x);
lc_status lc_softplus(lc_ctx *ctx, lc_tensor **y, lc_tensor *x);
lc_status lc_scale(lc_ctx *ctx, lc_tensor **y, lc_tensor *x, float s); // y = s * x

// y = a (op) b where b's shape equals the trailing dims of a's shape (b is
// repeated over a's leading dims; equal shapes included). y has a's shape.
lc_status lc_add(lc_ctx *ctx, lc_tensor **y, lc_tensor *a, lc_tensor *b);
lc_status lc_sub(lc_ctx *ctx, lc_tensor **y, lc_tensor *a, lc_tensor *b);
lc_status lc_mul(lc_ctx *ctx, lc_tensor **y, lc_tensor *a, lc_tensor *b);

// Fused bias + activation: y = act(x + b), x (..., C), b (C) or NULL.
lc_status lc_bias_act(lc_ctx *ctx, lc_tensor **y, lc_tensor *x, lc_tensor *b, lc_act act,
                      float alpha);

// y = op(a) op(b): a (M, K) (or (K, M) with trans_a), b (K, N) (or (N, K)) -> (M, N).
lc_status lc_matmul(lc_ctx *ctx, lc_tensor **y, lc_tensor *a, lc_tensor *b, int trans_a,
                    int trans_b);
// Batched: a (B, M, K), b (B, K, N) (transposes per matrix) -> (B, M, N).
lc_status lc_bmm(lc_ctx *ctx, lc_tensor **y, lc_tensor *a, lc_tensor *b, int trans_a, int trans_b);
// Linear layer as PyTorch: x (N, in), w (out, in), b (out) or NULL -> y (N, out)
// = act(x w^T + b): one GEMM and one fused bias+activation kernel.
lc_status lc_linear_act(lc_ctx *ctx, lc_tensor **y, lc_tensor *x, lc_tensor *w, lc_tensor *b,
                        lc_act act, float alpha);

// Reductions. axis < 0 counts from the end; LC_ALL_AXES reduces everything to shape (1).
enum { LC_ALL_AXES = 1000 };
lc_status lc_sum(lc_ctx *ctx, lc_tensor **y, lc_tensor *x, int axis); // axis removed
lc_status lc_mean(lc_ctx *ctx, lc_tensor **y, lc_tensor *x, int axis);
// Over the last axis.
lc_status lc_softmax(lc_ctx *ctx, lc_tensor **y, lc_tensor *x);
lc_status lc_log_softmax(lc_ctx *ctx, lc_tensor **y, lc_tensor *x);

// Losses produce shape (1). Each forward kernel also writes the gradient, so
// the backward is one scaling launch.
typedef enum {
    LC_REDUCE_MEAN = 0,   // over all elements (PyTorch's default)
    LC_REDUCE_SUM,        // sum of all elements
    LC_REDUCE_BATCH_MEAN, // sum / shape[0] (per-sample sums averaged: ELBO terms)
} lc_reduction;
// logits (N, K), labels int32 (N) in [0, K) -> mean over N of -log softmax(logits)[label].
// A label out of range gives a NaN loss (never an out-of-bounds read).
lc_status lc_cross_entropy(lc_ctx *ctx, lc_tensor **loss, lc_tensor *logits, lc_tensor *labels);
// Binary cross-entropy on logits: x, target same shape.
lc_status lc_bce_logits(lc_ctx *ctx, lc_tensor **loss, lc_tensor *x, lc_tensor *target,
                        lc_reduction red);
// (pred - target)^2, same shapes.
lc_status lc_mse(lc_ctx *ctx, lc_tensor **loss, lc_tensor *pred, lc_tensor *target,
                 lc_reduction red);
// KL(N(mu, exp(logvar)) || N(0, 1)) summed over elements: mu, logvar same shape.
lc_status lc_kl_normal(lc_ctx *ctx, lc_tensor **loss, lc_tensor *mu, lc_tensor *logvar,
                       lc_reduction red);
// KL(N(mu1, exp(logvar1)) || N(mu2, exp(logvar2))) summed over elements; all four
// the same shape, gradients to each.
lc_status lc_kl_gauss(lc_ctx *ctx, lc_tensor **loss, lc_tensor *mu1, lc_tensor *logvar1,
                      lc_tensor *mu2, lc_tensor *logvar2, lc_reduction red);

// Convolutions and pooling, NCHW. conv2d: x (N, C, H, W), w (O, C, KH, KW),
// b (O) or NULL -> (N, O, (H + 2p - KH) / s + 1, ...). im2col + GEMM.
lc_status lc_conv2d(lc_ctx *ctx, lc_tensor **y, lc_tensor *x, lc_tensor *w, lc_tensor *b,
                    int stride, int pad);
// conv2d with the activation fused into its output pass (forward) and into the
// layout change of dy (backward): act = NONE, RELU, LEAKY_RELU (alpha > 0),
// SIGMOID or TANH (those whose derivative follows from the output).
lc_status lc_conv2d_act(lc_ctx *ctx, lc_tensor **y, lc_tensor *x, lc_tensor *w, lc_tensor *b,
                        int stride, int pad, lc_act act, float alpha);
// Space to depth: x (N, C, H, W) -> (N, C*s*s, U, V), y[n, (c*s + i)*s + j, u, v] =
// x[n, c, u*s + i - p, v*s + j - p] (0 outside x). (On a CPU device a stride-s conv with a
// kernel that s divides runs as a stride-1 conv over it.)
lc_status lc_space_to_depth(lc_ctx *ctx, lc_tensor **y, lc_tensor *x, int s, int p, int U, int V);
// Transposed conv as PyTorch: w (C, O, KH, KW) -> (N, O, (H-1)s - 2p + KH + out_pad, ...).
lc_status lc_conv_transpose2d(lc_ctx *ctx, lc_tensor **y, lc_tensor *x, lc_tensor *w, lc_tensor *b,
                              int stride, int pad, int out_pad);
lc_status lc_upsample_nearest(lc_ctx *ctx, lc_tensor **y, lc_tensor *x, int factor);
// Windows k x k with stride s, no padding: (N, C, (H - k) / s + 1, ...).
lc_status lc_max_pool2d(lc_ctx *ctx, lc_tensor **y, lc_tensor *x, int k, int stride);
lc_status lc_avg_pool2d(lc_ctx *ctx, lc_tensor **y, lc_tensor *x, int k, int stride);

// Norms. group_norm: x (N, C, ...) with C % groups == 0, gamma/beta (C) or NULL.
lc_status lc_group_norm(lc_ctx *ctx, lc_tensor **y, lc_tensor *x, int groups, lc_tensor *gamma,
                        lc_tensor *beta, float eps);
// layer_norm over the last axis: gamma/beta (C) or NULL.
lc_status lc_layer_norm(lc_ctx *ctx, lc_tensor **y, lc_tensor *x, lc_tensor *gamma, lc_tensor *beta,
                        float eps);

// weight (V, D), ids int32 (any shape S) -> (S..., D). An id out of range gives zeros.
lc_status lc_embedding(lc_ctx *ctx, lc_tensor **y, lc_tensor *weight, lc_tensor *ids);
// Concatenation / split along axis (other dims equal).
lc_status lc_concat(lc_ctx *ctx, lc_tensor **y, lc_tensor *a, lc_tensor *b, int axis);
lc_status lc_split(lc_ctx *ctx, lc_tensor **a, lc_tensor **b, lc_tensor *x, int axis,
                   int64_t size_a);
// Inverted dropout with probability p, active in training mode only. x (N, ...):
// row i's mask is keyed by (seed, step, sample_ids[i] (or i if NULL), the
// dropout's number within the step), so it does not depend on batching.
lc_status lc_dropout(lc_ctx *ctx, lc_tensor **y, lc_tensor *x, float p, lc_tensor *sample_ids);
// y's dim i is x's dim perm[i] (a copy; up to 6 dims).
lc_status lc_permute(lc_ctx *ctx, lc_tensor **y, lc_tensor *x, const int *perm);
// (A, B, C, D) -> (A, C, B, D) (heads <-> time).
lc_status lc_transpose12(lc_ctx *ctx, lc_tensor **y, lc_tensor *x);
// Scaled dot-product attention: q, k, v (B, H, T, D) -> (B, H, T, D);
// softmax(q k^T / sqrt(D)) v with an optional causal mask.
lc_status lc_attention(lc_ctx *ctx, lc_tensor **y, lc_tensor *q, lc_tensor *k, lc_tensor *v,
                       int causal);
// The same over `heads` heads read straight from a packed in-projection: qkv (B, T, 3C)
// laid out (B, T, 3, heads, C / heads) -> (B, T, C) laid out (B, T, heads, C / heads).
lc_status lc_attention_qkv(lc_ctx *ctx, lc_tensor **y, lc_tensor *qkv, int heads, int causal);
// Sinusoidal embedding of t (N) -> (N, dim): [sin(t w_j), cos(t w_j)],
// w_j = max_period^(-j / (dim/2)) (the DDPM/ADM convention). No gradient.
lc_status lc_time_embedding(lc_ctx *ctx, lc_tensor **y, lc_tensor *t, int dim, float max_period);

#ifdef __cplusplus
}
#endif
#endif
