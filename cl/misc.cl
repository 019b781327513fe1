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

// dst[o * dst_row + dst_at + j] (+)= src[o * src_row + src_at + j], j < len.
__kernel void copy_block(__global float *dst, int dso, int dst_row, int dst_at,
                         __global const float *src, int sro, int src_row, int src_at, int outer,
                         int len, int acc) {
    int per = (len + 3) / 4, id = get_global_id(0);
    int o = id / per, j = (id - o * per) * 4;
    if (o >= outer) return;
    __global float *d = dst + dso + (size_t)o * dst_row + dst_at + j;
    __global const float *s = src + sro + (size_t)o * src_row + src_at + j;
    if (j + 3 < len) {
        float4 v = vload4(0, s);
        if (acc) v += vload4(0, d);
        vstore4(v, 0, d);
    } else {
        for (int l = 0; j + l < len; l++) d[l] = (acc ? d[l] : 0.0f) + s[l];
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
