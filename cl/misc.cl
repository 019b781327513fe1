// Embedding lookup, block copies (concat / narrow), permutes, dropout with
// Philox masks and the sinusoidal time embedding.
#include "philox.clh"

// y[i, d] = w[ids[i], d] (0 for an id out of range); four d per work item.
__kernel void embed_fwd(__global float *y, __global const float *w, int wo,
                        __global const int *ids, int io, int n, int V, int D) {
    int per = (D + 3) / 4, id = get_global_id(0);
    int i = id / per, d = (id - i * per) * 4;
    if (i >= n) return;
    int v = ids[io + i];
    for (int l = 0; l < 4 && d + l < D; l++)
        y[(size_t)i * D + d + l] = (v >= 0 && v < V) ? w[wo + (size_t)v * D + d + l] : 0.0f;
}

// dw[v, d] (+)= sum of dy[i, d] over the i with ids[i] == v (gather: no atomics).
__kernel void embed_bwd(__global float *dw, int dwo, __global const float *dy, int dyo,
                        __global const int *ids, int io, int n, int V, int D, int acc) {
    // One work item per row v of the table: it scans the ids once and adds the dy rows of
    // its matches in order (no atomics; each id matches one row, so the adds total n * D).
    int v = get_global_id(0);
    if (v >= V) return;
    __global float *row = dw + dwo + (size_t)v * D;
    if (!acc)
        for (int d = 0; d < D; d++) row[d] = 0.0f;
    for (int i = 0; i < n; i++) {
        if (ids[io + i] != v) continue;
        __global const float *g = dy + dyo + (size_t)i * D;
        int d = 0;
        for (; d + 3 < D; d += 4) vstore4(vload4(0, row + d) + vload4(0, g + d), 0, row + d);
        for (; d < D; d++) row[d] += g[d];
    }
}

// dst[o * dst_row + dst_at + j] (+)= src[o * src_row + src_at + j], j < len. One work item
// per 64-float chunk of a row (float8 steps, then the tail): coarse enough that the per-item
// cost of the CPU device does not dominate a plain copy.
__kernel void copy_block(__global float *dst, int dso, int dst_row, int dst_at,
                         __global const float *src, int sro, int src_row, int src_at, int outer,
                         int len, int acc) {
    int per = (len + 63) / 64, id = get_global_id(0);
    int o = id / per, j = (id - o * per) * 64;
    if (o >= outer) return;
    __global float *d = dst + dso + (size_t)o * dst_row + dst_at + j;
    __global const float *s = src + sro + (size_t)o * src_row + src_at + j;
    int n = min(64, len - j), e = 0;
    if (acc) {
        for (; e + 7 < n; e += 8)
            vstore8(vload8(0, d + e) + vload8(0, s + e), 0, d + e);
        for (; e < n; e++)
            d[e] += s[e];
    } else {
        for (; e + 7 < n; e += 8)
            vstore8(vload8(0, s + e), 0, d + e);
        for (; e < n; e++)
            d[e] = s[e];
    }
}

// y (+)= x permuted: y's dims ydim[0..n), x's strides in y's order xstride.
__kernel void permute(__global float *y, int yo, __global const float *x, int xo, int total,
                      int n, int8 ydim, int8 xstride, int acc) {
    int id = get_global_id(0);
    if (id >= total) return;
    int dims[8] = {ydim.s0, ydim.s1, ydim.s2, ydim.s3, ydim.s4, ydim.s5, ydim.s6, ydim.s7};
    int st[8] = {xstride.s0, xstride.s1, xstride.s2, xstride.s3,
                 xstride.s4, xstride.s5, xstride.s6, xstride.s7};
    int rest = id, src = 0;
    for (int i = n - 1; i >= 0; i--) {
        int c = rest % dims[i];
        rest /= dims[i];
        src += c * st[i];
    }
    float v = x[xo + src];
    y[yo + id] = acc ? y[yo + id] + v : v;
}

// The same in 8 x 8 tiles when x's contiguous dim is y dim a < n - 1 (a transpose of the last
// dims, as attention's head split): one work item per tile reads eight x rows along a with
// float8 loads and writes eight y rows along y's last dim b, the outer index worked out once
// per tile instead of per element. Partial tiles at the edges go element by element.
#define PT_COL(k) (float8)(r0.s##k, r1.s##k, r2.s##k, r3.s##k, r4.s##k, r5.s##k, r6.s##k, r7.s##k)
__kernel void permute_tile(__global float *y, int yo, __global const float *x, int xo, int n,
                           int8 ydim, int8 xstride, int a, int acc) {
    int dims[8] = {ydim.s0, ydim.s1, ydim.s2, ydim.s3, ydim.s4, ydim.s5, ydim.s6, ydim.s7};
    int st[8] = {xstride.s0, xstride.s1, xstride.s2, xstride.s3,
                 xstride.s4, xstride.s5, xstride.s6, xstride.s7};
    int b = n - 1, nb = (dims[b] + 7) / 8, na = (dims[a] + 7) / 8;
    int id = get_global_id(0), tb = id % nb, rest = id / nb, ta = rest % na;
    rest /= na;
    int src = 0, dst = 0, ys = 1, ysa = 1; // ys: y stride of dim i, ysa: of dim a
    for (int i = n - 1; i >= 0; i--) {
        if (i == a) ysa = ys;
        if (i != a && i != b) {
            int c = rest % dims[i];
            rest /= dims[i];
            src += c * st[i];
            dst += c * ys;
        }
        ys *= dims[i];
    }
    if (rest) return; // past the last tile
    int a0 = ta * 8, b0 = tb * 8, sb = st[b];
    __global const float *p = x + xo + src + a0 + (size_t)b0 * sb;
    __global float *q = y + yo + dst + (size_t)a0 * ysa + b0;
    if (a0 + 8 <= dims[a] && b0 + 8 <= dims[b]) {
        float8 r0 = vload8(0, p), r1 = vload8(0, p + sb), r2 = vload8(0, p + 2 * sb),
               r3 = vload8(0, p + 3 * sb), r4 = vload8(0, p + 4 * sb), r5 = vload8(0, p + 5 * sb),
               r6 = vload8(0, p + 6 * sb), r7 = vload8(0, p + 7 * sb);
        float8 t[8] = {PT_COL(0), PT_COL(1), PT_COL(2), PT_COL(3),
                       PT_COL(4), PT_COL(5), PT_COL(6), PT_COL(7)};
        for (int r = 0; r < 8; r++) {
            __global float *qr = q + (size_t)r * ysa;
            vstore8(acc ? vload8(0, qr) + t[r] : t[r], 0, qr);
        }
        return;
    }
    int ra = min(8, dims[a] - a0), rb = min(8, dims[b] - b0);
    for (int r = 0; r < ra; r++)
        for (int c = 0; c < rb; c++) {
            float v = p[r + (size_t)c * sb];
            __global float *o = q + (size_t)r * ysa + c;
            *o = acc ? *o + v : v;
        }
}

// y (+)= x * keep / (1 - p). Row r (sample ids[r], or r) draws its mask from
// counter (j / 4, sample, step, call) under key seed: the same mask for the
// forward and the backward, and for any batching of the same samples.
__kernel void dropout(__global float *y, int yo, __global const float *x, int xo, int rows,
                      int row_len, float p, uint key0, uint key1, uint step, uint call,
                      __global const int *ids, int io, int has_ids, int acc) {
    int per = (row_len + 3) / 4, id = get_global_id(0);
    int r = id / per, j4 = id - r * per;
    if (r >= rows) return;
    uint sample = has_ids ? (uint)ids[io + r] : (uint)r;
    float4 u = philox_uniform4(
        philox4x32_10((uint4)((uint)j4, sample, step, call), (uint2)(key0, key1)));
    float keep[4] = {u.x >= p, u.y >= p, u.z >= p, u.w >= p};
    float scale = 1.0f / (1.0f - p);
    for (int l = 0; l < 4; l++) {
        int j = j4 * 4 + l;
        if (j >= row_len) break;
        size_t k = (size_t)r * row_len + j;
        float v = x[xo + k] * keep[l] * scale;
        y[yo + k] = acc ? y[yo + k] + v : v;
    }
}

// y[n, j] = sin(t[n] f_j) for j < half, cos(t[n] f_{j - half}) after; f_j = exp(-log(P) j / half).
__kernel void time_embed(__global float *y, __global const float *t, int to, int n, int dim,
                         float log_period) {
    int id = get_global_id(0);
    if (id >= n * dim) return;
    int i = id / dim, j = id - i * dim, nhalf = dim / 2;
    if (j >= 2 * nhalf) {
        y[id] = 0.0f; // odd dim: the last column is zero (as the ADM code pads)
        return;
    }
    int k = j < nhalf ? j : j - nhalf;
    float a = t[to + i] * exp(-log_period * (float)k / (float)nhalf);
    y[id] = j < nhalf ? sin(a) : cos(a);
}

// y (N, Ca + Cb, H f, W f) = concat(nearest-upsample(a (N, Ca, H, W), f), b (N, Cb, H f, W f))
// along channels: the U-Net's "x2, then the skip" in one pass, without the upsampled tensor.
// One work item per output plane (n, c).
__kernel void upcat_fwd(__global float *y, int yo, __global const float *a, int ao,
                        __global const float *b, int bo, int N, int Ca, int Cb, int H, int W,
                        int f) {
    int id = get_global_id(0), C = Ca + Cb, n = id / C, c = id - n * C;
    if (n >= N) return;
    int OH = H * f, OW = W * f, P = OH * OW;
    __global float *q = y + yo + (size_t)id * P;
    if (c >= Ca) {
        __global const float *s = b + bo + ((size_t)n * Cb + c - Ca) * P;
        int e = 0;
        for (; e + 7 < P; e += 8)
            vstore8(vload8(0, s + e), 0, q + e);
        for (; e < P; e++)
            q[e] = s[e];
        return;
    }
    __global const float *s = a + ao + ((size_t)n * Ca + c) * H * W;
    for (int h = 0; h < H; h++) {
        __global const float *sr = s + h * W;
        __global float *qr = q + (size_t)h * f * OW;
        int w = 0;
        if (f == 2)
            for (; w + 3 < W; w += 4) {
                float4 v = vload4(0, sr + w);
                vstore8((float8)(v.x, v.x, v.y, v.y, v.z, v.z, v.w, v.w), 0, qr + 2 * w);
            }
        for (int ow = w * f; ow < OW; ow++)
            qr[ow] = sr[ow / f];
        for (int r = 1; r < f; r++) { // the other f - 1 rows repeat the first
            int e = 0;
            for (; e + 7 < OW; e += 8)
                vstore8(vload8(0, qr + e), 0, qr + r * OW + e);
            for (; e < OW; e++)
                qr[r * OW + e] = qr[e];
        }
    }
}

// da[n, c] (+)= the sums of the f x f blocks of dy's plane c < Ca; db[n, c - Ca] (+)= dy's
// plane c >= Ca. One work item per plane of dy; want_* 0: that gradient is not written.
__kernel void upcat_bwd(__global float *da, int dao, int want_a, int acc_a, __global float *db,
                        int dbo, int want_b, int acc_b, __global const float *dy, int dyo, int N,
                        int Ca, int Cb, int H, int W, int f) {
    int id = get_global_id(0), C = Ca + Cb, n = id / C, c = id - n * C;
    if (n >= N) return;
    int OH = H * f, OW = W * f, P = OH * OW;
    __global const float *g = dy + dyo + (size_t)id * P;
    if (c >= Ca) {
        if (!want_b) return;
        __global float *o = db + dbo + ((size_t)n * Cb + c - Ca) * P;
        int e = 0;
        if (acc_b) {
            for (; e + 7 < P; e += 8)
                vstore8(vload8(0, o + e) + vload8(0, g + e), 0, o + e);
            for (; e < P; e++)
                o[e] += g[e];
        } else {
            for (; e + 7 < P; e += 8)
                vstore8(vload8(0, g + e), 0, o + e);
            for (; e < P; e++)
                o[e] = g[e];
        }
        return;
    }
    if (!want_a) return;
    __global float *o = da + dao + ((size_t)n * Ca + c) * H * W;
    for (int h = 0; h < H; h++) {
        __global const float *gr = g + (size_t)h * f * OW;
        __global float *orow = o + h * W;
        int w = 0;
        if (f == 2)
            for (; w + 3 < W; w += 4) {
                float8 u = vload8(0, gr + 2 * w), l = vload8(0, gr + OW + 2 * w);
                float4 v = (u.even + u.odd) + (l.even + l.odd);
                vstore4(acc_a ? vload4(0, orow + w) + v : v, 0, orow + w);
            }
        for (; w < W; w++) {
            float s = 0.0f;
            for (int i = 0; i < f; i++)
                for (int j = 0; j < f; j++)
                    s += gr[i * OW + w * f + j];
            orow[w] = acc_a ? orow[w] + s : s;
        }
    }
}
