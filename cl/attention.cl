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

// ---- single-head self-attention over the positions of a feature map, channel-major -------
// qkv (B, 3C, T): C channels of q, then of k, then of v, each a row of T positions, as a 1x1
// convolution writes them; y (B, C, T) in the same layout, so the U-Net needs no permutes
// and no batched GEMM calls around it. A work item owns 8 consecutive positions (float8
// lanes; the last block masked): with the positions in the lanes every product is a vector
// multiply-add by a broadcast scalar, and the softmax runs down the lanes.
// probs (B, 2, T, Tp), Tp = T rounded up to 8: [b, 0, j, i] = p_ij (lanes by query i, for the
// forward and the dq pass) and [b, 1, i, j] = p_ij (lanes by key j, for the dk, dv pass).

// p[0..n) as a float8, zeros after (n <= 8): a block that may end at the end of a row.
static float8 cm_load(__global const float *p, int n) {
    if (n == 8) return vload8(0, p);
    float t[8] = {0.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f};
    for (int l = 0; l < n; l++)
        t[l] = p[l];
    return vload8(0, t);
}

// p[0..n) (+)= v's first n lanes.
static void cm_store(__global float *p, int n, float8 v, int acc) {
    if (n == 8) {
        vstore8(acc ? vload8(0, p) + v : v, 0, p);
        return;
    }
    float t[8];
    vstore8(v, 0, t);
    for (int l = 0; l < n; l++)
        p[l] = acc ? p[l] + t[l] : t[l];
}

// out[j Tp ..] = scale sum_c a[c T + j] b[c T + i0 ..] (lanes i0..i0+n), j < T. Four j at
// a time: four independent multiply-add chains sharing each load of b.
static void cm_outer(__global float *out, int Tp, __global const float *a,
                     __global const float *b, int i0, int n, int C, int T, float scale) {
    int j = 0;
    for (; j + 3 < T; j += 4) {
        float8 s0 = (float8)(0.0f), s1 = s0, s2 = s0, s3 = s0;
        for (int c = 0; c < C; c++) {
            float8 r = n == 8 ? vload8(0, b + c * T + i0) : cm_load(b + c * T + i0, n);
            __global const float *ac = a + c * T + j;
            s0 += ac[0] * r;
            s1 += ac[1] * r;
            s2 += ac[2] * r;
            s3 += ac[3] * r;
        }
        vstore8(scale * s0, 0, out + j * Tp);
        vstore8(scale * s1, 0, out + (j + 1) * Tp);
        vstore8(scale * s2, 0, out + (j + 2) * Tp);
        vstore8(scale * s3, 0, out + (j + 3) * Tp);
    }
    for (; j < T; j++) {
        float8 s0 = (float8)(0.0f);
        for (int c = 0; c < C; c++)
            s0 += a[c * T + j] * (n == 8 ? vload8(0, b + c * T + i0) : cm_load(b + c * T + i0, n));
        vstore8(scale * s0, 0, out + j * Tp);
    }
}

// dst[c T + i0 ..] (+)= sum_j a[c T + j] rows[j Tp ..], lanes i0..i0+n, for every c < C.
// Four c at a time: four chains sharing each load of rows.
static void cm_mix(__global float *dst, int acc, __global const float *a,
                   __global const float *rows, int Tp, int i0, int n, int C, int T) {
    int c = 0;
    for (; c + 3 < C; c += 4) {
        float8 s0 = (float8)(0.0f), s1 = s0, s2 = s0, s3 = s0;
        __global const float *a0 = a + c * T;
        for (int j = 0; j < T; j++) {
            float8 r = vload8(0, rows + j * Tp);
            s0 += a0[j] * r;
            s1 += a0[T + j] * r;
            s2 += a0[2 * T + j] * r;
            s3 += a0[3 * T + j] * r;
        }
        cm_store(dst + c * T + i0, n, s0, acc);
        cm_store(dst + (c + 1) * T + i0, n, s1, acc);
        cm_store(dst + (c + 2) * T + i0, n, s2, acc);
        cm_store(dst + (c + 3) * T + i0, n, s3, acc);
    }
    for (; c < C; c++) {
        float8 s0 = (float8)(0.0f);
        for (int j = 0; j < T; j++)
            s0 += a[c * T + j] * vload8(0, rows + j * Tp);
        cm_store(dst + c * T + i0, n, s0, acc);
    }
}

// One work item per (b, block of 8 query positions).
__kernel void attn_cm_fwd(__global float *y, int yo, __global float *probs,
                          __global const float *qkv, int qo, int B, int C, int T, float scale) {
    int nb = (T + 7) / 8, id = get_global_id(0), b = id / nb, i0 = (id - b * nb) * 8;
    if (b >= B) return;
    int Tp = nb * 8, n = min(8, T - i0);
    __global const float *q = qkv + qo + (size_t)b * 3 * C * T, *k = q + C * T, *v = k + C * T;
    __global float *pt = probs + (size_t)b * 2 * T * Tp + i0, *pr = pt - i0 + T * Tp;
    cm_outer(pt, Tp, k, q, i0, n, C, T, scale); // scores (j, lanes i)
    float8 m = (float8)(-INFINITY), sum = (float8)(0.0f);
    for (int j = 0; j < T; j++)
        m = fmax(m, vload8(0, pt + j * Tp));
    for (int j = 0; j < T; j++) {
        float8 e = exp(vload8(0, pt + j * Tp) - m);
        sum += e;
        vstore8(e, 0, pt + j * Tp);
    }
    float8 inv = 1.0f / sum;
    int8 live = (int8)(0, 1, 2, 3, 4, 5, 6, 7) < (int8)(n);
    for (int j = 0; j < T; j++) {
        float8 p = select((float8)(0.0f), vload8(0, pt + j * Tp) * inv, live);
        vstore8(p, 0, pt + j * Tp);
        float t[8];
        vstore8(p, 0, t);
        for (int l = 0; l < n; l++)
            pr[(i0 + l) * Tp + j] = t[l];
    }
    cm_mix(y + yo + (size_t)b * C * T, 0, v, pt, Tp, i0, n, C, T); // y = v p^T
}

// Backward, one work item per (b, block of 8 query positions i): dp_ij = dy_i . v_j, ds_ij =
// scale p_ij (dp_ij - sum_j p_ij dp_ij) into ds (B, 2, T, Tp) in both layouts as probs;
// dq[c, i] (+)= sum_j ds_ij k[c, j].
__kernel void attn_cm_bwd_rows(__global float *dqkv, int go, int acc, __global float *ds,
                               __global const float *dy, int dyo, __global const float *probs,
                               __global const float *qkv, int qo, int B, int C, int T,
                               float scale) {
    int nb = (T + 7) / 8, id = get_global_id(0), b = id / nb, i0 = (id - b * nb) * 8;
    if (b >= B) return;
    int Tp = nb * 8, n = min(8, T - i0);
    __global const float *k = qkv + qo + (size_t)b * 3 * C * T + C * T, *v = k + C * T;
    __global const float *pt = probs + (size_t)b * 2 * T * Tp + i0;
    __global float *st = ds + (size_t)b * 2 * T * Tp + i0, *sr = st - i0 + T * Tp;
    cm_outer(st, Tp, v, dy + dyo + (size_t)b * C * T, i0, n, C, T, 1.0f); // dp (j, lanes i)
    float8 delta = (float8)(0.0f);
    for (int j = 0; j < T; j++)
        delta += vload8(0, pt + j * Tp) * vload8(0, st + j * Tp);
    for (int j = 0; j < T; j++) {
        float8 d = scale * vload8(0, pt + j * Tp) * (vload8(0, st + j * Tp) - delta);
        vstore8(d, 0, st + j * Tp);
        float t[8];
        vstore8(d, 0, t);
        for (int l = 0; l < n; l++)
            sr[(i0 + l) * Tp + j] = t[l];
    }
    cm_mix(dqkv + go + (size_t)b * 3 * C * T, acc, k, st, Tp, i0, n, C, T); // dq = k ds^T
}

// Backward, one work item per (b, block of 8 key positions j): dk[c, j] (+)= sum_i ds_ij
// q[c, i] and dv[c, j] (+)= sum_i p_ij dy[c, i], from the (i, lanes j) layouts.
__kernel void attn_cm_bwd_cols(__global float *dqkv, int go, int acc, __global const float *ds,
                               __global const float *dy, int dyo, __global const float *probs,
                               __global const float *qkv, int qo, int B, int C, int T) {
    int nb = (T + 7) / 8, id = get_global_id(0), b = id / nb, j0 = (id - b * nb) * 8;
    if (b >= B) return;
    int Tp = nb * 8, n = min(8, T - j0);
    __global const float *q = qkv + qo + (size_t)b * 3 * C * T;
    __global const float *sr = ds + (size_t)b * 2 * T * Tp + T * Tp + j0;
    __global const float *pr = probs + (size_t)b * 2 * T * Tp + T * Tp + j0;
    __global float *dk = dqkv + go + (size_t)b * 3 * C * T + C * T;
    cm_mix(dk, acc, q, sr, Tp, j0, n, C, T);                                 // dk = q ds
    cm_mix(dk + C * T, acc, dy + dyo + (size_t)b * C * T, pr, Tp, j0, n, C, T); // dv = dy p
}
