// The symmetric InfoNCE loss of CLIP-style training (src/tensor/ops_infonce.c).
//
// sim (B, B): cosine similarities, row i = image i, column j = caption j. Z = s * sim with
// s = min(exp(t), max_scale). Pair i's positives are the j with groups[j] == groups[i]
// (captions that are word for word the same), a uniform target over them, in both
// directions. stats (5B): [0, B) row log-sum-exp, [B, 2B) column log-sum-exp, [2B, 4B) the
// row and column cross-entropies, [4B, 5B) the number of positives of pair i.

static float scale_of(float t, float max_scale) { return fmin(exp(t), max_scale); }

// Item r < B: row r; B <= r < 2B: column r - B.
__kernel void infonce_stats(__global float *stats, __global const float *sim, int so,
                            __global const float *log_scale, int lso, __global const int *groups,
                            int go, int B, float max_scale) {
    int r = get_global_id(0);
    if (r >= 2 * B) return;
    int col = r >= B, i = col ? r - B : r;
    float s = scale_of(log_scale[lso], max_scale);
    // element k of row / column i
    long base = so + (col ? (long)i : (long)i * B), stride = col ? B : 1;
    float mx = -INFINITY, pos = 0;
    int n = 0, g = groups[go + i];
    for (int k = 0; k < B; k++) {
        float z = s * sim[base + k * stride];
        mx = fmax(mx, z);
        if (groups[go + k] == g) pos += z, n++;
    }
    float sum = 0;
    for (int k = 0; k < B; k++)
        sum += exp(s * sim[base + k * stride] - mx);
    float lse = mx + log(sum);
    stats[r] = lse;
    stats[2 * B + r] = lse - pos / (float)n;
    if (!col) stats[4 * B + i] = (float)n;
}

// Item i: row i of the gradient. dL/dZ_ij = (p_row - y + p_col - y) / (2B); dS = s dZ;
// partial[i] = sum_j dZ_ij Z_ij (dL/dt when exp(t) is not clamped, else 0).
__kernel void infonce_grad(__global float *dsim, __global float *partial,
                           __global const float *stats, __global const float *sim, int so,
                           __global const float *log_scale, int lso, __global const int *groups,
                           int go, int B, float max_scale) {
    int i = get_global_id(0);
    if (i >= B) return;
    float e = exp(log_scale[lso]), s = fmin(e, max_scale);
    float lse_r = stats[i], inv_n = 1.0f / stats[4 * B + i], h = 0.5f / (float)B, acc = 0;
    int g = groups[go + i];
    for (int j = 0; j < B; j++) {
        float z = s * sim[so + (long)i * B + j];
        float y = groups[go + j] == g ? inv_n : 0.0f;
        float dz = h * (exp(z - lse_r) + exp(z - stats[B + j]) - 2 * y);
        dsim[(long)i * B + j] = s * dz;
        acc += dz * z;
    }
    partial[i] = e < max_scale ? acc : 0.0f;
}

// One item: loss = sum of the cross-entropies / (2B), dt = sum of the partials.
__kernel void infonce_finish(__global float *loss, int lo, __global float *dt,
                             __global const float *stats, __global const float *partial, int B) {
    if (get_global_id(0) != 0) return;
    float l = 0, d = 0;
    for (int k = 0; k < 2 * B; k++)
        l += stats[2 * B + k];
    for (int k = 0; k < B; k++)
        d += partial[k];
    loss[lo] = l * (0.5f / (float)B);
    dt[0] = d;
}
