// Optimiser kernels over the one parameter buffer of a model (src/optim/).
//
// The buffer is a run of 16-float blocks (include/latentcl/params.h pads every
// parameter to 16 floats); valid[b] is how many lanes of block b belong to a
// parameter (16, or fewer for the last block of one). Lanes past valid[b] are
// padding: every kernel writes 0 there, so padding stays 0 whatever a model
// left in its gradient padding.
//
// A step is: [grad_sumsq_partial] -> train_control -> one update kernel
// (sgd_step | adam_step, which also moves the EMA of the weights when asked). train_control runs as
// one work-group and decides, on the device, the clipping scale and whether the step is skipped
// (non-finite loss or gradient), so the host never waits per step.
//
// state (int):   [0] t, updates applied   [1] steps skipped   [2] first bad step (-1 none)
//                [3] steps accumulated since the last read
// fstate (float): [0] grad scale  [1] skip this step (0/1)  [2] 1 - beta1^t  [3] 1 - beta2^t
//                [4] grad norm of the last step  [5..) sums of the loss entries since the last read

#define WG 64
#define ST_T 0
#define ST_SKIPPED 1
#define ST_BAD 2
#define ST_COUNT 3
#define FS_SCALE 0
#define FS_SKIP 1
#define FS_BC1 2
#define FS_BC2 3
#define FS_NORM 4
#define FS_LOSS 5

#define FLAG_SKIP_MODE 1u // --skip-nonfinite: a bad step is skipped and counted
#define FLAG_HAVE_NORM 2u // grad_sumsq_partial ran this step

// Lanes 0..valid-1 of x, zeros after.
inline float16 keep_valid(float16 x, uchar valid) {
    const float16 lane = (float16)(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
    return select((float16)(0.0f), x, isless(lane, (float16)((float)valid)));
}

// partial[group] = sum of grad^2 over the blocks this group strides over.
// Launched with a fixed global size, so the sum order (and result) is always the same.
__kernel __attribute__((reqd_work_group_size(WG, 1, 1))) void
grad_sumsq_partial(__global float *partial, __global const float16 *grad,
                   __global const uchar *valid, uint nblocks) {
    __local float scratch[WG];
    float16 acc = (float16)(0.0f);
    for (uint b = get_global_id(0); b < nblocks; b += get_global_size(0)) {
        float16 g = keep_valid(grad[b], valid[b]);
        acc = fma(g, g, acc);
    }
    float8 a8 = acc.lo + acc.hi;
    float4 a4 = a8.lo + a8.hi;
    float2 a2 = a4.lo + a4.hi;
    uint lid = get_local_id(0);
    scratch[lid] = a2.x + a2.y;
    barrier(CLK_LOCAL_MEM_FENCE);
    for (uint s = WG / 2; s > 0; s >>= 1) {
        if (lid < s) scratch[lid] += scratch[lid + s];
        barrier(CLK_LOCAL_MEM_FENCE);
    }
    if (lid == 0) partial[get_group_id(0)] = scratch[0];
}

// One work-group: reduces the partial sums, checks the loss, decides scale and skip,
// advances t and the bias corrections, accumulates the loss entries for the next read.
__kernel __attribute__((reqd_work_group_size(WG, 1, 1))) void
train_control(__global int *state, __global float *fstate, __global const float *partial,
              uint npartial, __global const float *loss, uint nloss, float clip, uint flags,
              int step, float beta1, float beta2) {
    __local float scratch[WG];
    uint lid = get_local_id(0);
    float s = 0.0f;
    if (flags & FLAG_HAVE_NORM)
        for (uint i = lid; i < npartial; i += WG)
            s += partial[i];
    scratch[lid] = s;
    barrier(CLK_LOCAL_MEM_FENCE);
    for (uint h = WG / 2; h > 0; h >>= 1) {
        if (lid < h) scratch[lid] += scratch[lid + h];
        barrier(CLK_LOCAL_MEM_FENCE);
    }
    if (lid != 0) return;
    float norm = sqrt(scratch[0]);
    int bad = !isfinite(norm);
    if (nloss > 0 && !isfinite(loss[0])) bad = 1;
    if (bad && state[ST_BAD] < 0) state[ST_BAD] = step;
    int skip;
    if (flags & FLAG_SKIP_MODE) {
        skip = bad;
        if (skip) state[ST_SKIPPED] += 1;
    } else {
        skip = state[ST_BAD] >= 0; // sticky: after the first bad step nothing moves
    }
    fstate[FS_SKIP] = skip ? 1.0f : 0.0f;
    fstate[FS_NORM] = norm;
    if (skip) return;
    int t = state[ST_T] + 1;
    state[ST_T] = t;
    fstate[FS_SCALE] = clip > 0.0f ? fmin(1.0f, clip / (norm + 1e-6f)) : 1.0f;
    fstate[FS_BC1] = 1.0f - pown(beta1, t);
    fstate[FS_BC2] = 1.0f - pown(beta2, t);
    for (uint i = 0; i < nloss; i++)
        fstate[FS_LOSS + i] += loss[i];
    state[ST_COUNT] += 1;
}

// Records step as the first bad one when g holds a NaN or Inf (used when no norm pass ran).
// Every writer writes the same value, so the race between work items is harmless.
inline void flag_nonfinite(__global int *state, float16 g, int step) {
    if (any(!isfinite(g)) && state[ST_BAD] < 0) state[ST_BAD] = step;
}

// The EMA of the weights, fused into the update (p is in registers already):
// ema = decay ema + (1 - decay) p. decay 0: no EMA (ema is not touched).
inline void ema_update(__global float16 *ema, uint b, float16 p, float decay, uchar v) {
    if (decay > 0.0f) ema[b] = keep_valid(fma((float16)(decay), ema[b], (1.0f - decay) * p), v);
}

// SGD with momentum, PyTorch semantics:
//   d = g + wd p;  buf = d on the first update, else momentum buf + (1 - dampening) d;
//   d = nesterov ? d + momentum buf : buf;  p -= lr d.
// momentum == 0: plain SGD (buf unused, may be the grad buffer itself).
__kernel void sgd_step(__global float16 *param, __global float16 *grad, __global float16 *buf,
                       __global const uchar *valid, uint nblocks, __global int *state,
                       __global const float *fstate, float lr, float momentum, float dampening,
                       float weight_decay, uint nesterov, uint zero_grad, uint check, int step,
                       __global float16 *ema, float ema_decay) {
    uint b = get_global_id(0);
    if (b >= nblocks) return;
    uchar v = valid[b];
    float16 g = grad[b];
    if (zero_grad) grad[b] = (float16)(0.0f);
    if (check) flag_nonfinite(state, keep_valid(g, v), step);
    if (fstate[FS_SKIP] != 0.0f) return;
    float16 p = param[b];
    float16 d = fma((float16)(weight_decay), p, g * fstate[FS_SCALE]);
    if (momentum != 0.0f) {
        float16 m = state[ST_T] == 1 ? d : fma((float16)(momentum), buf[b], (1.0f - dampening) * d);
        buf[b] = keep_valid(m, v);
        d = nesterov ? fma((float16)(momentum), m, d) : m;
    }
    p = keep_valid(p - lr * d, v);
    param[b] = p;
    ema_update(ema, b, p, ema_decay, v);
}

// Adam / AdamW, PyTorch semantics (bias-corrected, eps outside the square root):
//   Adam:  g += wd p            AdamW: p *= 1 - lr wd
//   m = beta1 m + (1 - beta1) g;  v = beta2 v + (1 - beta2) g^2
//   p -= (lr / bc1) m / (sqrt(v) / sqrt(bc2) + eps)
__kernel void adam_step(__global float16 *param, __global float16 *grad, __global float16 *exp_avg,
                        __global float16 *exp_avg_sq, __global const uchar *valid, uint nblocks,
                        __global int *state, __global const float *fstate, float lr, float beta1,
                        float beta2, float eps, float weight_decay, uint decoupled, uint zero_grad,
                        uint check, int step, __global float16 *ema, float ema_decay) {
    uint b = get_global_id(0);
    if (b >= nblocks) return;
    uchar v = valid[b];
    float16 g = grad[b];
    if (zero_grad) grad[b] = (float16)(0.0f);
    if (check) flag_nonfinite(state, keep_valid(g, v), step);
    if (fstate[FS_SKIP] != 0.0f) return;
    float16 p = param[b];
    g *= fstate[FS_SCALE];
    if (decoupled)
        p *= 1.0f - lr * weight_decay;
    else
        g = fma((float16)(weight_decay), p, g);
    float16 m = fma((float16)(beta1), exp_avg[b], (1.0f - beta1) * g);
    float16 s = fma((float16)(beta2), exp_avg_sq[b], (1.0f - beta2) * g * g);
    exp_avg[b] = keep_valid(m, v);
    exp_avg_sq[b] = keep_valid(s, v);
    float step_size = lr / fstate[FS_BC1];
    float bc2_sqrt = sqrt(fstate[FS_BC2]);
    float16 denom = sqrt(s) / bc2_sqrt + eps;
    p = keep_valid(p - step_size * (m / denom), v);
    param[b] = p;
    ema_update(ema, b, p, ema_decay, v);
}
