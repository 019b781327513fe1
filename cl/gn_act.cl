// GroupNorm with a per-(sample, channel) shift before it and an activation after it, in one
// pass each way (src/tensor/ops_gn_act.c):
//     y = act(gamma[c] (x + add[n, c] - mean) rstd + beta[c]),  act: 0 identity, 1 SiLU,
// x seen as (N, C, S); one work item per row r = (n, group) of cpg channels x S positions
// (one contiguous run of cpg S floats). float8 loops (AVX2 width on the CPU device) with a
// scalar tail per channel. The U-Net's "conv, + time projection, GroupNorm, SiLU" is one
// launch instead of four.

static float hsum8(float8 v) {
    float4 h = v.lo + v.hi;
    return (h.x + h.y) + (h.z + h.w);
}

// sum of q[0..S)
static float run_sum(__global const float *q, int S) {
    float8 s8 = (float8)(0.0f);
    int e = 0;
    for (; e + 7 < S; e += 8)
        s8 += vload8(0, q + e);
    float s = 0.0f;
    for (; e < S; e++)
        s += q[e];
    return hsum8(s8) + s;
}

// sum of (q[e] + d)^2 over [0, S)
static float run_sq(__global const float *q, int S, float d) {
    float8 s8 = (float8)(0.0f);
    int e = 0;
    for (; e + 7 < S; e += 8) {
        float8 v = vload8(0, q + e) + d;
        s8 += v * v;
    }
    float s = 0.0f;
    for (; e < S; e++) {
        float v = q[e] + d;
        s += v * v;
    }
    return hsum8(s8) + s;
}

// sigmoid(u) = 1 / (1 + exp(-u))
static float8 sigm8(float8 u) { return 1.0f / (1.0f + exp(-u)); }
static float sigm1(float u) { return 1.0f / (1.0f + exp(-u)); }

__kernel void gn_act_fwd(__global float *y, int yo, __global const float *x, int xo,
                         __global const float *add, int ao, int has_add,
                         __global const float *gamma, int gmo, __global const float *beta, int bto,
                         __global float *stats, int N, int C, int G, int S, int act, float eps) {
    int r = get_global_id(0);
    if (r >= N * G) return;
    int n = r / G, cpg = C / G, c0 = (r % G) * cpg, L = cpg * S;
    size_t base = ((size_t)n * C + c0) * S;
    __global const float *p = x + xo + base;
    __global const float *ad = add + ao + (size_t)n * C + c0;
    float s = run_sum(p, L);
    if (has_add)
        for (int j = 0; j < cpg; j++)
            s += ad[j] * (float)S;
    float mean = s / (float)L, v = 0.0f;
    if (has_add)
        for (int j = 0; j < cpg; j++)
            v += run_sq(p + (size_t)j * S, S, ad[j] - mean);
    else
        v = run_sq(p, L, -mean);
    float rstd = rsqrt(v / (float)L + eps);
    stats[2 * r] = mean;
    stats[2 * r + 1] = rstd;
    __global float *q = y + yo + base;
    for (int j = 0; j < cpg; j++) {
        int c = c0 + j;
        float a = has_add ? ad[j] : 0.0f;
        float sc = gamma[gmo + c] * rstd, sh = beta[bto + c] + (a - mean) * sc; // u = x sc + sh
        __global const float *pj = p + (size_t)j * S;
        __global float *qj = q + (size_t)j * S;
        int e = 0;
        if (act) {
            for (; e + 7 < S; e += 8) {
                float8 u = vload8(0, pj + e) * sc + sh;
                vstore8(u * sigm8(u), 0, qj + e);
            }
            for (; e < S; e++) {
                float u = pj[e] * sc + sh;
                qj[e] = u * sigm1(u);
            }
        } else {
            for (; e + 7 < S; e += 8)
                vstore8(vload8(0, pj + e) * sc + sh, 0, qj + e);
            for (; e < S; e++)
                qj[e] = pj[e] * sc + sh;
        }
    }
}

// With dz = dy act'(u) and g = dz gamma: dx = rstd (g - mean(g) - xhat mean(g xhat)) over the
// row, d add[n, c] = sum over S of dx, and per (n, c) partials of dgamma (sum dz xhat) and
// dbeta (sum dz) into part (N, C, 2), summed over n by gn_act_affine. The first pass keeps dz
// in dzs (N, C, S) for SiLU (one exp per element); the second reads it back from the cache.
// Per channel dx = dz A + x B + K, so the second pass is two multiply-adds per element.
__kernel void gn_act_bwd(__global float *dx, int dxo, int want_x, int acc_x, __global float *dadd,
                         int dao, int want_add, int acc_add, __global float *part,
                         __global float *dzs, int zo, __global const float *dy, int dyo,
                         __global const float *x, int xo, __global const float *add, int ao,
                         int has_add, __global const float *gamma, int gmo,
                         __global const float *beta, int bto, __global const float *stats, int N,
                         int C, int G, int S, int act) {
    int r = get_global_id(0);
    if (r >= N * G) return;
    int n = r / G, cpg = C / G, c0 = (r % G) * cpg, L = cpg * S;
    size_t base = ((size_t)n * C + c0) * S;
    __global const float *p = x + xo + base, *g = dy + dyo + base;
    __global float *z = dzs + zo + base;
    __global const float *ad = add + ao + (size_t)n * C + c0;
    float mean = stats[2 * r], rstd = stats[2 * r + 1];
    float m1 = 0.0f, m2 = 0.0f;
    for (int j = 0; j < cpg; j++) {
        int c = c0 + j;
        float a = has_add ? ad[j] : 0.0f, gm = gamma[gmo + c];
        float d = a - mean, sc = gm * rstd, sh = beta[bto + c] + d * sc;
        __global const float *pj = p + (size_t)j * S, *gj = g + (size_t)j * S;
        __global float *zj = z + (size_t)j * S;
        float8 sx8 = (float8)(0.0f), sb8 = (float8)(0.0f);
        float sx = 0.0f, sb = 0.0f;
        int e = 0;
        if (act) {
            for (; e + 7 < S; e += 8) {
                float8 xv = vload8(0, pj + e), u = xv * sc + sh, s = sigm8(u);
                float8 dz = vload8(0, gj + e) * (s * (1.0f + u * (1.0f - s)));
                vstore8(dz, 0, zj + e);
                sx8 += dz * xv;
                sb8 += dz;
            }
            for (; e < S; e++) {
                float xv = pj[e], u = xv * sc + sh, s = sigm1(u);
                float dz = gj[e] * (s * (1.0f + u * (1.0f - s)));
                zj[e] = dz;
                sx += dz * xv;
                sb += dz;
            }
        } else {
            for (; e + 7 < S; e += 8) {
                float8 dz = vload8(0, gj + e);
                sx8 += dz * vload8(0, pj + e);
                sb8 += dz;
            }
            for (; e < S; e++) {
                float dz = gj[e];
                sx += dz * pj[e];
                sb += dz;
            }
        }
        sx += hsum8(sx8);
        sb += hsum8(sb8);
        float sg = (sx + d * sb) * rstd; // sum dz xhat, xhat = (x + d) rstd
        part[2 * ((size_t)n * C + c)] = sg;
        part[2 * ((size_t)n * C + c) + 1] = sb;
        m1 += sb * gm;
        m2 += sg * gm;
    }
    if (!want_x && !want_add) return;
    m1 /= (float)L;
    m2 /= (float)L;
    // dx = rstd (dz gm - m1 - (x + d) rstd m2) = dz A + x B + K
    __global const float *zr = act ? (__global const float *)z : g;
    for (int j = 0; j < cpg; j++) {
        int c = c0 + j;
        float a = has_add ? ad[j] : 0.0f, gm = gamma[gmo + c], d = a - mean;
        float A = rstd * gm, B = -rstd * rstd * m2, K = -rstd * m1 + d * B;
        __global const float *pj = p + (size_t)j * S, *zj = zr + (size_t)j * S;
        __global float *oj = dx + dxo + base + (size_t)j * S;
        float8 t8 = (float8)(0.0f);
        float t = 0.0f;
        int e = 0;
        if (want_x && !acc_x) {
            for (; e + 7 < S; e += 8) {
                float8 v = vload8(0, zj + e) * A + (vload8(0, pj + e) * B + K);
                t8 += v;
                vstore8(v, 0, oj + e);
            }
        } else if (want_x) {
            for (; e + 7 < S; e += 8) {
                float8 v = vload8(0, zj + e) * A + (vload8(0, pj + e) * B + K);
                t8 += v;
                vstore8(vload8(0, oj + e) + v, 0, oj + e);
            }
        } else {
            for (; e + 7 < S; e += 8)
                t8 += vload8(0, zj + e) * A + (vload8(0, pj + e) * B + K);
        }
        for (; e < S; e++) {
            float v = zj[e] * A + (pj[e] * B + K);
            t += v;
            if (want_x) oj[e] = acc_x ? oj[e] + v : v;
        }
        if (want_add) {
            size_t i = (size_t)dao + (size_t)n * C + c;
            float sum = hsum8(t8) + t;
            dadd[i] = acc_add ? dadd[i] + sum : sum;
        }
    }
}

// dgamma[c], dbeta[c] (+)= the sums over n of part (N, C, 2).
__kernel void gn_act_affine(__global float *dgamma, int dgo, int acc_g, __global float *dbeta,
                            int dbo, int acc_b, __global const float *part, int N, int C) {
    int c = get_global_id(0);
    if (c >= C) return;
    float sg = 0.0f, sb = 0.0f;
    for (int n = 0; n < N; n++) {
        sg += part[2 * ((size_t)n * C + c)];
        sb += part[2 * ((size_t)n * C + c) + 1];
    }
    dgamma[dgo + c] = acc_g ? dgamma[dgo + c] + sg : sg;
    dbeta[dbo + c] = acc_b ? dbeta[dbo + c] + sb : sb;
}
