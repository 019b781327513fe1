// Multi-head self-attention straight from the packed in-projection (ops_attention.c):
// qkv (B, T, 3, H, D) as the linear layer writes it, output (B, T, H, D). Each work item
// owns one (b, h, row) so the head split and merge are index arithmetic, not copies, and
// the small per-head products (T x T x D) need no GEMM calls. Sums run in a fixed order
// (no atomics): the same bits on every run.

// x . y over n floats (float4 steps, then the tail).
float dot_n(__global const float *x, __global const float *y, int n) {
    float4 s4 = (float4)(0.0f);
    int d = 0;
    for (; d + 3 < n; d += 4) s4 += vload4(0, x + d) * vload4(0, y + d);
    float s = s4.x + s4.y + s4.z + s4.w;
    for (; d < n; d++) s += x[d] * y[d];
    return s;
}

// out[0..n) (+)= sum_j w[j * w_stride] rows[j * row_stride + 0..n) over j in [j0, j1].
void weighted_rows(__global float *out, __global const float *w, int w_stride,
                   __global const float *rows, int row_stride, int j0, int j1, int n, int acc) {
    int d = 0;
    for (; d + 3 < n; d += 4) {
        float4 s = (float4)(0.0f);
        for (int j = j0; j <= j1; j++) s += w[j * w_stride] * vload4(0, rows + j * row_stride + d);
        if (acc) s += vload4(0, out + d);
        vstore4(s, 0, out + d);
    }
    for (; d < n; d++) {
        float s = 0.0f;
        for (int j = j0; j <= j1; j++) s += w[j * w_stride] * rows[j * row_stride + d];
        out[d] = acc ? out[d] + s : s;
    }
}

// probs (B, H, T, T) = softmax(scale q k^T) (causal: row i sees keys 0..i, the rest 0);
// y (B, T, H, D) = probs v.
__kernel void attn_fwd(__global float *y, int yo, __global float *probs,
                       __global const float *qkv, int qo, int B, int T, int H, int D, float scale,
                       int causal) {
    int id = get_global_id(0), i = id % T, bh = id / T, h = bh % H, b = bh / H;
    if (b >= B) return;
    int C = H * D, ld = 3 * C, last = causal ? i : T - 1;
    __global const float *base = qkv + qo + (size_t)b * T * ld + h * D; // q of row 0
    __global const float *q = base + i * ld;
    __global float *p = probs + ((size_t)bh * T + i) * T;
    float m = -INFINITY;
    for (int j = 0; j <= last; j++) {
        p[j] = scale * dot_n(q, base + j * ld + C, D);
        m = fmax(m, p[j]);
    }
    float sum = 0.0f;
    for (int j = 0; j <= last; j++) {
        p[j] = exp(p[j] - m);
        sum += p[j];
    }
    float inv = 1.0f / sum;
    for (int j = 0; j < T; j++) p[j] = j <= last ? p[j] * inv : 0.0f;
    weighted_rows(y + yo + ((size_t)b * T + i) * C + h * D, p, 1, base + 2 * C, ld, 0, last, D,
                  0);
}

// Backward, one row i of (b, h): dp_ij = dy_i . v_j, ds_ij = scale p_ij (dp_ij - sum_j p_ij
// dp_ij) into ds (B, H, T, T); dq_i (+)= sum_j ds_ij k_j.
__kernel void attn_bwd_rows(__global float *dqkv, int go, int acc, __global float *ds,
                            __global const float *dy, int dyo, __global const float *probs,
                            __global const float *qkv, int qo, int B, int T, int H, int D,
                            float scale, int causal) {
    int id = get_global_id(0), i = id % T, bh = id / T, h = bh % H, b = bh / H;
    if (b >= B) return;
    int C = H * D, ld = 3 * C, last = causal ? i : T - 1;
    __global const float *base = qkv + qo + (size_t)b * T * ld + h * D;
    __global const float *g = dy + dyo + ((size_t)b * T + i) * C + h * D;
    __global const float *p = probs + ((size_t)bh * T + i) * T;
    __global float *s = ds + ((size_t)bh * T + i) * T;
    float delta = 0.0f;
    for (int j = 0; j <= last; j++) {
        s[j] = dot_n(g, base + j * ld + 2 * C, D);
        delta += p[j] * s[j];
    }
    for (int j = 0; j < T; j++) s[j] = j <= last ? scale * p[j] * (s[j] - delta) : 0.0f;
    weighted_rows(dqkv + go + ((size_t)b * T + i) * ld + h * D, s, 1, base + C, ld, 0, last, D,
                  acc);
}

// Backward, one key/value row j of (b, h): dk_j (+)= sum_i ds_ij q_i, dv_j (+)= sum_i p_ij
// dy_i over the rows i that see j.
__kernel void attn_bwd_cols(__global float *dqkv, int go, int acc, __global const float *ds,
                            __global const float *dy, int dyo, __global const float *probs,
                            __global const float *qkv, int qo, int B, int T, int H, int D,
                            int causal) {
    int id = get_global_id(0), j = id % T, bh = id / T, h = bh % H, b = bh / H;
    if (b >= B) return;
    int C = H * D, ld = 3 * C, first = causal ? j : 0;
    __global const float *base = qkv + qo + (size_t)b * T * ld + h * D;
    __global float *out = dqkv + go + ((size_t)b * T + j) * ld + h * D;
    size_t col = (size_t)bh * T * T + j; // element (i = 0, j) of this head's (T, T)
    weighted_rows(out + C, ds + col, T, base, ld, first, T - 1, D, acc);
    weighted_rows(out + 2 * C, probs + col, T, dy + dyo + (size_t)b * T * C + h * D, C, first,
                  T - 1, D, acc);
}
