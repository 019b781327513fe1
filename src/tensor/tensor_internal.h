// Internals shared by the op files: the tape node, gradient targets, kernel
// lookup and launch helpers.
#ifndef LATENTCL_TENSOR_INTERNAL_H
#define LATENTCL_TENSOR_INTERNAL_H

#include <limits.h>

#include "latentcl/tensor.h"

typedef struct lc_node lc_node;
typedef lc_status (*lc_backward_fn)(lc_ctx *c, lc_node *n);

// One recorded op: what backward needs to run.
struct lc_node {
    const char *op;
    lc_backward_fn backward;
    lc_tensor *out;
    lc_tensor *in[4];
    lc_tensor *saved[4]; // step temporaries the forward kept (e.g. the loss gradient)
    int64_t iv[12];
    float fv[16];
};

// Work-group sizes (fixed: a new local size can recompile on PoCL): LC_LOCAL for
// the kernels that reduce in local memory (exactly 64), LC_LOCAL_ITEMS for the rest.
enum { LC_LOCAL = 64, LC_REDUCE_GROUPS = 32, LC_LOCAL_ITEMS = 64 };

lc_device *lc_ctx_dev(lc_ctx *c);

// A header from the step pool (zeroed; base = itself).
lc_status lc_tensor_header(lc_ctx *c, lc_tensor **out);
// A new step temporary shaped like ndim/shape; requires_grad set when grads are
// on and any of the inputs requires grad.
lc_status lc_tensor_out(lc_ctx *c, lc_tensor **out, int ndim, const int64_t *shape,
                        lc_tensor *const *inputs, int n_inputs);
// A scratch buffer of `floats` floats from the arena.
lc_status lc_scratch(lc_ctx *c, cl_mem *out, size_t floats);

// Records a node when out->requires_grad (else returns NULL in *node).
lc_status lc_record(lc_ctx *c, lc_node **node, const char *op, lc_backward_fn bw, lc_tensor *out,
                    lc_tensor *const *inputs, int n_inputs);

// Whether t wants a gradient; if so, where to write it and whether to add to
// what is there (acc = 1) or overwrite (acc = 0). Allocates/zeroes as needed.
lc_status lc_grad_target(lc_ctx *c, lc_tensor *t, int *wants, cl_mem *buf, size_t *off, int *acc);
// Where the gradients of a norm's affine pair (gamma, beta) go, for kernels that write both:
// a scratch row of n floats stands in for the one nobody wants. *wants = 0 when neither
// does (nothing else set).
typedef struct {
    cl_mem g, b;
    size_t go, bo;
    int acc_g, acc_b;
} lc_affine_grads;
lc_status lc_affine_grad_targets(lc_ctx *c, lc_affine_grads *out, int *wants, lc_tensor *gamma,
                                 lc_tensor *beta, size_t n);
// Sets kernel arguments 0-5 to (dgamma, its offset, acc_g, dbeta, its offset, acc_b).
lc_status lc_set_affine_grad_args(cl_kernel k, const lc_affine_grads *ag);
// The upstream gradient of a node's output.
void lc_grad_source(const lc_tensor *t, cl_mem *buf, size_t *off);
// The backward of a one-input op: where dx goes (lc_grad_target of in[0]) and where dy is
// (lc_grad_source of out). *wants = 0: the input needs no gradient (nothing else set).
typedef struct {
    cl_mem gx, gy;
    size_t gxo, gyo;
    int acc;
} lc_unary_grads;
lc_status lc_unary_grad_targets(lc_ctx *c, lc_node *nd, lc_unary_grads *out, int *wants);

// Cached kernel lookup: program and kernel names must be string literals.
lc_status lc_kernel(lc_ctx *c, cl_kernel *k, const char *program, const char *kernel);
// Launches `items` work items in groups of LC_LOCAL.
lc_status lc_launch1(lc_ctx *c, cl_kernel k, const char *name, size_t items);
// Launches exactly groups * LC_LOCAL items.
lc_status lc_launch_groups(lc_ctx *c, cl_kernel k, const char *name, size_t groups);

// Shape error naming the op and both shapes.
lc_status lc_shape_fail(const char *op, const char *what, const lc_tensor *a, const lc_tensor *b);
int lc_same_shape(const lc_tensor *a, const lc_tensor *b);

// Sets a run of kernel arguments; all must be checked.
#define LC_SET(k, i, v) LC_TRY(lc_set_arg((k), (i), sizeof(v), &(v), #v))

static inline int lc_i(size_t v) { return v > INT_MAX ? INT_MAX : (int)v; }

// Rejects tensors too big for int indexing in kernels.
lc_status lc_check_numel(const char *op, const lc_tensor *t);

// Whether a is (.., b's shape): b's dims equal a's trailing dims.
int lc_trailing_match(const lc_tensor *a, const lc_tensor *b);

// Fills n floats at buf+off with a value (kernel).
lc_status lc_fill(lc_ctx *c, cl_mem buf, size_t off, size_t n, float value);
// dst (+)= src * s (* dev_scale[0] when dev_scale != NULL): the loss backward.
lc_status lc_axpy(lc_ctx *c, cl_mem dst, size_t doff, cl_mem src, size_t soff, size_t n, float s,
                  cl_mem dev_scale, size_t scale_off, int acc);
// Two-stage sum: partial sums (groups) -> out[0] = scale * total.
lc_status lc_reduce_partials(lc_ctx *c, cl_mem out, size_t out_off, cl_mem partials, int groups,
                             float scale);

// softmax / log_softmax of scale * x over the last axis, optionally causal-masked.
// db (+)= column sums of dy (rows, cols), in a fixed order (a linear layer's bias gradient).
lc_status lc_bias_grad(lc_ctx *c, cl_mem gb, size_t gbo, int acc, cl_mem gy, size_t gyo, int rows,
                       int cols);
lc_status lc_softmax_ex(lc_ctx *c, lc_tensor **y, lc_tensor *x, int log_out, float scale,
                        int causal, const char *name);
// Context state used by dropout.
int lc_ctx_training(const lc_ctx *c);
void lc_ctx_rng(lc_ctx *c, uint64_t *seed, uint64_t *step, uint32_t *call);

#endif
