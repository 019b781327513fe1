// Kernels of the AE/VAE family (src/models/vae*.c): batch gathering, the noise of
// the reparameterisation keyed by the item's index, and per-row log-likelihoods for
// the IWAE bound.

#include "philox.clh"

// out (rows, cols) = src rows ids[r] (src (n, cols)). Work item i copies a run of 16
// floats of one row: few work items (PoCL pays per item and per group), no division
// per element.
__kernel void gather_rows(__global float *out, __global const float *src, __global const int *ids,
                          int rows, int cols) {
    int i = get_global_id(0), chunks = (cols + 15) / 16;
    if (i >= rows * chunks) return;
    int r = i / chunks, c0 = (i - r * chunks) * 16, c1 = min(c0 + 16, cols);
    __global const float *s = src + (long)ids[r] * cols;
    __global float *o = out + (long)r * cols;
    for (int c = c0; c < c1; c++) o[c] = s[c];
}

// Standard normals keyed by item: out[r, c] is lane c % 4 of the Philox block with
// counter (c / 4, ids[r], ctr2, ctr3) under key (key0, key1). One work item per block of
// four: item i is block i % blocks of row i / blocks.
__kernel void normal_rows(__global float *out, __global const int *ids, int rows, int cols,
                          uint key0, uint key1, uint ctr2, uint ctr3) {
    int i = get_global_id(0), blocks = (cols + 3) / 4;
    if (i >= rows * blocks) return;
    int r = i / blocks, b = i - r * blocks;
    float4 v = philox_normal4(philox4x32_10((uint4)((uint)b, (uint)ids[r], ctr2, ctr3),
                                            (uint2)(key0, key1)));
    __global float *o = out + (long)r * cols + b * 4;
    float t[4] = {v.x, v.y, v.z, v.w};
    for (int j = 0; j < 4 && b * 4 + j < cols; j++) o[j] = t[j];
}

// x (rows, cols) += scale * noise: the denoising AE's corrupted input, noise keyed as above.
__kernel void add_noise_rows(__global float *x, __global const int *ids, int rows, int cols,
                             float scale, uint key0, uint key1, uint ctr2, uint ctr3) {
    int i = get_global_id(0);
    int blocks = (cols + 3) / 4;
    if (i >= rows * blocks) return;
    int r = i / blocks, b = i - r * blocks;
    float4 v = philox_normal4(philox4x32_10((uint4)((uint)b, (uint)ids[r], ctr2, ctr3),
                                      (uint2)(key0, key1)));
    float t[4] = {v.x, v.y, v.z, v.w};
    for (int j = 0; j < 4 && b * 4 + j < cols; j++) x[(long)r * cols + b * 4 + j] += scale * t[j];
}

// out[r] = log p(x | z_r) summed over the row's P pixels, for R = n * k rows of decoder
// logits where row r belongs to image r / k (x (n, P)). Bernoulli (gaussian = 0):
// x l - softplus(l); Gaussian: -(x - sigmoid(l))^2 / (2 sigma^2) - log(sigma sqrt(2 pi)).
// One work item per row (evaluation only: thousands of rows per launch).
__kernel void row_loglik(__global float *out, __global const float *logits, int lo,
                         __global const float *x, int xo, int rows, int P, int k, int gaussian,
                         float sigma) {
    int r = get_global_id(0);
    if (r >= rows) return;
    __global const float *l = logits + lo + (long)r * P;
    __global const float *xi = x + xo + (long)(r / k) * P;
    float s = 0.0f;
    if (gaussian) {
        float inv = 1.0f / (2.0f * sigma * sigma);
        for (int j = 0; j < P; j++) {
            float d = xi[j] - 1.0f / (1.0f + exp(-l[j]));
            s -= d * d * inv;
        }
        s -= (float)P * (log(sigma) + 0.91893853320467274178f);
    } else {
        for (int j = 0; j < P; j++) {
            float v = l[j];
            s += xi[j] * v - (fmax(v, 0.0f) + log1p(exp(-fabs(v)))); // x l - softplus(l)
        }
    }
    out[r] = s;
}
