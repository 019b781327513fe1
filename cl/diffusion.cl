// Kernels of the diffusion family (src/models/diffusion*.c): the closed-form noising of a
// training batch with its noise keyed by item, the start of sampling, classifier-free
// guidance and the DDPM/DDIM reverse step.

// Philox4x32-10 and Box-Muller as in cl/rng.cl, so that a draw here equals
// lc_philox4x32_10's on the host for the same key and counter.
#include "philox.clh"

// q(x_t | x_0) for a batch: row r is x0 = data[ids[r]]; eps[r, c] is lane c % 4 of the
// Philox block (c / 4, ids[r], ctr2, ctr3); x_t = a_r x0 + b_r eps with (a_r, b_r) =
// coef[2r], coef[2r+1] = (sqrt(abar_t), sqrt(1 - abar_t)); target = eps, or v = a eps - b x0.
__kernel void q_sample(__global float *xt, __global float *target, __global const float *data,
                       int data_off, __global const int *ids, __global const float *coef, int rows,
                       int cols, int v_pred, uint key0, uint key1, uint ctr2, uint ctr3) {
    int i = get_global_id(0);
    int blocks = (cols + 3) / 4;
    if (i >= rows * blocks) return;
    int r = i / blocks, b = i - r * blocks;
    float4 e4 = philox_normal4(
        philox4x32_10((uint4)((uint)b, (uint)ids[r], ctr2, ctr3), (uint2)(key0, key1)));
    float e[4] = {e4.x, e4.y, e4.z, e4.w};
    float a = coef[2 * r], s = coef[2 * r + 1];
    for (int j = 0; j < 4 && b * 4 + j < cols; j++) {
        long o = (long)r * cols + b * 4 + j;
        float x0 = data[data_off + (long)ids[r] * cols + b * 4 + j];
        xt[o] = a * x0 + s * e[j];
        target[o] = v_pred ? a * e[j] - s * x0 : e[j];
    }
}

// x (rows, cols) = standard normals keyed (c / 4, first + r, ctr2, ctr3): x_T of samples
// first..first+rows-1.
__kernel void normal_start(__global float *x, int rows, int cols, int first, uint key0, uint key1,
                           uint ctr2, uint ctr3) {
    int i = get_global_id(0);
    int blocks = (cols + 3) / 4;
    if (i >= rows * blocks) return;
    int r = i / blocks, b = i - r * blocks;
    float4 v = philox_normal4(
        philox4x32_10((uint4)((uint)b, (uint)(first + r), ctr2, ctr3), (uint2)(key0, key1)));
    float t[4] = {v.x, v.y, v.z, v.w};
    for (int j = 0; j < 4 && b * 4 + j < cols; j++)
        x[(long)r * cols + b * 4 + j] = t[j];
}

// eps (n) from the network's output: guided: pred holds 2 halves (conditional rows first,
// then the same rows unconditional), eps = u + w (c - u); else pred is eps itself. A
// v-prediction becomes eps = va v + vb x_t (va = sqrt(abar), vb = sqrt(1 - abar)).
__kernel void guide(__global float *eps, __global const float *pred, int pred_off,
                    __global const float *x, int n, int guided, float w, int v_pred, float va,
                    float vb) {
    int i = get_global_id(0);
    if (i >= n) return;
    float c = pred[pred_off + i];
    float e = guided ? pred[pred_off + n + i] + w * (c - pred[pred_off + n + i]) : c;
    eps[i] = v_pred ? va * e + vb * x[i] : e;
}

// The reverse step x <- c_x x + c_eps eps + sigma z, z keyed (c / 4, first + r, ctr2, ctr3).
__kernel void reverse_step(__global float *x, __global const float *eps, int rows, int cols,
                           float cx, float ce, float sigma, int first, uint key0, uint key1,
                           uint ctr2, uint ctr3) {
    int i = get_global_id(0);
    int blocks = (cols + 3) / 4;
    if (i >= rows * blocks) return;
    int r = i / blocks, b = i - r * blocks;
    float z[4] = {0.0f, 0.0f, 0.0f, 0.0f};
    if (sigma > 0.0f) {
        float4 v = philox_normal4(
            philox4x32_10((uint4)((uint)b, (uint)(first + r), ctr2, ctr3), (uint2)(key0, key1)));
        z[0] = v.x;
        z[1] = v.y;
        z[2] = v.z;
        z[3] = v.w;
    }
    for (int j = 0; j < 4 && b * 4 + j < cols; j++) {
        long o = (long)r * cols + b * 4 + j;
        x[o] = cx * x[o] + ce * eps[o] + sigma * z[j];
    }
}
