// Kernels of the AE/VAE family (src/models/vae*.c): batch gathering, the noise of
// the reparameterisation keyed by the item's index, and per-row log-likelihoods for
// the IWAE bound.

// Philox4x32-10: the same function as cl/rng.cl (a program cannot include another), so
// a draw here equals lc_rng_fill_host's for the same key and counter.
#define PHILOX_M0 0xD2511F53u
#define PHILOX_M1 0xCD9E8D57u
#define PHILOX_W0 0x9E3779B9u
#define PHILOX_W1 0xBB67AE85u

uint4 vae_philox(uint4 c, uint2 k) {
    for (int round = 0; round < 10; round++) {
        uint hi0 = mul_hi(PHILOX_M0, c.x), lo0 = PHILOX_M0 * c.x;
        uint hi1 = mul_hi(PHILOX_M1, c.z), lo1 = PHILOX_M1 * c.z;
        c = (uint4)(hi1 ^ c.y ^ k.x, lo1, hi0 ^ c.w ^ k.y, lo0);
        k += (uint2)(PHILOX_W0, PHILOX_W1);
    }
    return c;
}

float4 vae_normal4(uint4 r) {
    float4 u = (convert_float4(r >> 8) + 0.5f) * (1.0f / 16777216.0f);
    float2 rad = sqrt(-2.0f * log(u.s02));
    float2 ang = 6.28318530717958647692f * u.s13;
    return (float4)(rad.x * cos(ang.x), rad.x * sin(ang.x), rad.y * cos(ang.y), rad.y * sin(ang.y));
}

// out (rows, cols) = src rows ids[r] (src (n, cols)).
__kernel void gather_rows(__global float *out, __global const float *src, __global const int *ids,
                          int rows, int cols) {
    int i = get_global_id(0);
    if (i >= rows * cols) return;
    int r = i / cols, c = i - r * cols;
    out[i] = src[(long)ids[r] * cols + c];
}

// Standard normals keyed by item: out[r, c] is lane c % 4 of the Philox block with
// counter (c / 4, ids[r], ctr2, ctr3) under key (key0, key1). One work item per block.
__kernel void normal_rows(__global float *out, __global const int *ids, int rows, int cols,
                          uint key0, uint key1, uint ctr2, uint ctr3) {
    int i = get_global_id(0);
    int blocks = (cols + 3) / 4;
    if (i >= rows * blocks) return;
    int r = i / blocks, b = i - r * blocks;
    float4 v = vae_normal4(vae_philox((uint4)((uint)b, (uint)ids[r], ctr2, ctr3),
                                      (uint2)(key0, key1)));
    float t[4] = {v.x, v.y, v.z, v.w};
    for (int j = 0; j < 4 && b * 4 + j < cols; j++) out[(long)r * cols + b * 4 + j] = t[j];
}

// x (rows, cols) += scale * noise: the denoising AE's corrupted input, noise keyed as above.
__kernel void add_noise_rows(__global float *x, __global const int *ids, int rows, int cols,
                             float scale, uint key0, uint key1, uint ctr2, uint ctr3) {
    int i = get_global_id(0);
    int blocks = (cols + 3) / 4;
    if (i >= rows * blocks) return;
    int r = i / blocks, b = i - r * blocks;
    float4 v = vae_normal4(vae_philox((uint4)((uint)b, (uint)ids[r], ctr2, ctr3),
                                      (uint2)(key0, key1)));
    float t[4] = {v.x, v.y, v.z, v.w};
    for (int j = 0; j < 4 && b * 4 + j < cols; j++) x[(long)r * cols + b * 4 + j] += scale * t[j];
}

// out[r] = log p(x | z_r) summed over the row's P pixels, for R = n * k rows of decoder
// logits where row r belongs to image r / k (x (n, P)). Bernoulli (gaussian = 0):
// x l - softplus(l); Gaussian: -(x - sigmoid(l))^2 / (2 sigma^2) - log(sigma sqrt(2 pi)).
// One work-group of 64 per row.
__kernel void row_loglik(__global float *out, __global const float *logits, int lo,
                         __global const float *x, int xo, int rows, int P, int k, int gaussian,
                         float sigma) {
    __local float part[64];
    int r = get_group_id(0), lid = get_local_id(0);
    float s = 0.0f;
    if (r < rows) {
        __global const float *l = logits + lo + (long)r * P;
        __global const float *xi = x + xo + (long)(r / k) * P;
        if (gaussian) {
            float inv = 1.0f / (2.0f * sigma * sigma);
            for (int j = lid; j < P; j += 64) {
                float mean = 1.0f / (1.0f + exp(-l[j]));
                float d = xi[j] - mean;
                s -= d * d * inv;
            }
        } else {
            for (int j = lid; j < P; j += 64) {
                float v = l[j];
                float sp = fmax(v, 0.0f) + log1p(exp(-fabs(v))); // softplus, stable
                s += xi[j] * v - sp;
            }
        }
    }
    part[lid] = s;
    barrier(CLK_LOCAL_MEM_FENCE);
    for (int w = 32; w > 0; w >>= 1) {
        if (lid < w) part[lid] += part[lid + w];
        barrier(CLK_LOCAL_MEM_FENCE);
    }
    if (lid == 0 && r < rows) {
        float c = gaussian ? (float)P * (log(sigma) + 0.91893853320467274178f) : 0.0f;
        out[r] = part[0] - c;
    }
}
