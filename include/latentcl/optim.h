// latentcl — optimisers over the one parameter buffer of a model: SGD with
// momentum, Adam, AdamW (PyTorch semantics), gradient clipping by global norm,
// the EMA of the weights, learning-rate schedules, and the non-finite rule.
//
// One lc_optim_step enqueues a handful of kernels (cl/optim.cl) and never
// waits: the clipping scale, the bias corrections and the decision to skip a
// step with a NaN/Inf loss or gradient are made on the device. The host learns
// what happened when it calls lc_optim_read (every N steps, and before saving).
//
// Every state buffer (Adam's moments, SGD's momentum, the EMA weights) has the
// layout of lc_params.data, padding included; padding entries stay 0.
#ifndef LATENTCL_OPTIM_H
#define LATENTCL_OPTIM_H

#include <stdbool.h>
#include <stdint.h>

#include "latentcl/checkpoint.h"
#include "latentcl/device.h"
#include "latentcl/params.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum { LC_OPTIM_SGD, LC_OPTIM_ADAM, LC_OPTIM_ADAMW } lc_optim_kind;

// "sgd", "adam", "adamw"; lc_optim_kind_parse returns LC_ERR_INVALID_ARG naming the choices.
const char *lc_optim_kind_name(lc_optim_kind k);
lc_status lc_optim_kind_parse(lc_optim_kind *out, const char *name);

typedef struct {
    lc_optim_kind kind;
    double momentum;  // SGD (PyTorch: buf = d on the first update, then m buf + (1 - dampening) d)
    double dampening; // SGD
    bool nesterov;    // SGD
    double beta1, beta2; // Adam/AdamW (0.9, 0.999)
    double eps;          // Adam/AdamW, added outside the square root (1e-8)
    double weight_decay; // SGD/Adam: L2 added to the gradient; AdamW: decoupled, p *= 1 - lr wd
    double clip;         // max global L2 norm of the gradients; 0: no clipping
    double ema;          // EMA decay of the weights (e.g. 0.999); 0: no EMA
    double ema_warmup;   // w > 0: the decay of update t (1, 2, ...) is min(ema, (1 + t) / (w + t)),
                         // so a short run's EMA is not stuck near its random start; 0: off
    bool skip_nonfinite; // a NaN/Inf loss or gradient skips the step (counted) instead of
                         // freezing the run at that step for the caller to stop
    bool zero_grad;      // the update kernel also zeroes the gradients it consumed (default true)
} lc_optim_config;

// PyTorch's defaults for kind: momentum 0, dampening 0, betas (0.9, 0.999), eps 1e-8,
// weight decay 0 (AdamW 0.01), no clipping, no EMA, zero_grad true.
lc_optim_config lc_optim_defaults(lc_optim_kind kind);

typedef struct lc_optim lc_optim;

// State for the parameters p (p must be allocated; p's layout is captured: do not add
// parameters afterwards). Moments/momentum start at 0, the EMA at a copy of p->data.
lc_status lc_optim_new(lc_optim **out, lc_device *dev, const lc_params *p,
                       const lc_optim_config *cfg);
void lc_optim_free(lc_optim *o); // NULL-safe

// Most loss entries (the loss and its named terms) lc_optim_step accumulates.
enum { LC_LOSS_MAX = 16 };

// Enqueues one update of p from p->grad at learning rate lr; no host wait.
//   loss: NULL, or a device buffer whose first n_loss floats are the loss (entry 0, the
//         one checked for NaN/Inf) and its named terms; they are summed for lc_optim_read.
//   step: the caller's step index, recorded as the first bad step on a NaN/Inf.
// Order on the device: gradient norm (when clipping or skipping), control, update (+ EMA).
// A NaN/Inf loss or gradient: with skip_nonfinite the step changes nothing and is
// counted; without, the step and every later one change nothing (the run is frozen at
// its last good state) until the caller sees bad_step in lc_optim_read and stops.
// (Without clip and skip_nonfinite, a NaN found only in the gradients is found by the
// update kernel itself: that step may already be partly applied.)
lc_status lc_optim_step(lc_optim *o, lc_params *p, float lr, cl_mem loss, int n_loss, int64_t step);

// What the device recorded (one blocking read).
typedef struct {
    int64_t updates;          // updates applied so far (Adam's t)
    int64_t skipped;          // steps skipped as non-finite (skip_nonfinite)
    int64_t bad_step;         // the first step with a NaN/Inf loss or gradient, or -1
    int64_t steps;            // good steps summed into loss[] since the last reset
    double loss[LC_LOSS_MAX]; // mean of each loss entry over those steps (0 if none)
    double grad_norm;         // global gradient norm of the last step (0 when not computed)
} lc_optim_report;
// Reads the state; with reset, the loss sums start again from 0 (and bad_step is kept).
lc_status lc_optim_read(lc_optim *o, lc_optim_report *r, bool reset);

// The EMA weights (layout of p->data), or NULL without EMA.
cl_mem lc_optim_ema(const lc_optim *o);
// Swaps p->data with the EMA buffer (cheap: handles only), e.g. to evaluate with the EMA
// weights; call again to swap back. LC_ERR_INVALID_ARG without EMA.
lc_status lc_optim_swap_ema(lc_optim *o, lc_params *p);
const lc_optim_config *lc_optim_get_config(const lc_optim *o);

// Checkpoints (include/latentcl/checkpoint.h layout). Adds optim/exp_avg/NAME +
// optim/exp_avg_sq/NAME (Adam/AdamW) or optim/momentum_buffer/NAME (SGD with momentum),
// ema/NAME (with EMA), and metadata "optimizer" = {"type":..,"t":..,"skipped":.., the
// hyper-parameters} as one JSON string. Blocks (reads the device).
lc_status lc_optim_save(lc_optim *o, const lc_params *p, lc_st_builder *b);
// Restores what lc_optim_save wrote: an optimiser of another type, missing tensors or a
// missing EMA are LC_ERR_FORMAT naming the file and tensor. Resets bad_step and the sums.
lc_status lc_optim_load(lc_optim *o, const lc_params *p, const lc_st_file *f);

// ---- learning-rate schedules: pure functions of the step -------------------------

typedef enum { LC_LR_CONSTANT, LC_LR_COSINE } lc_lr_kind;
const char *lc_lr_kind_name(lc_lr_kind k);
lc_status lc_lr_kind_parse(lc_lr_kind *out, const char *name); // "constant", "cosine"

typedef struct {
    lc_lr_kind kind;
    double base;         // the peak learning rate
    int64_t warmup;      // linear warm-up steps: lr = base (step + 1) / warmup for step < warmup
    int64_t total_steps; // cosine: decays from base (at warmup) to min_lr (at total_steps)
    double min_lr;       // cosine floor (0, as PyTorch's CosineAnnealingLR eta_min)
} lc_lr_schedule;

// The learning rate of update `step` (0-based). Cosine after warm-up:
// min + (base - min) (1 + cos(pi (step - warmup) / (total - warmup))) / 2, held at min after.
double lc_lr_at(const lc_lr_schedule *s, int64_t step);

#ifdef __cplusplus
}
#endif
#endif
