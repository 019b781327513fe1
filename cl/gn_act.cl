// GroupNorm with a per-(sample, channel) shift before it and an activation after it, in one
// pass each way (src/tensor/ops_gn_act.c):
//     y = act(gamma[c] (x + add[n, c] - mean) rstd + beta[c]),  act: 0 identity, 1 SiLU,
// x seen as (N, C, S); one work item per row r = (n, group) of cpg channels x S positions.
// The U-Net's "conv, + time projection, GroupNorm, SiLU" is one launch instead of four.

// sum of q[0..S) by float4 lanes
static float row_sum(__global const float *q, int S) {
    float4 s4 = (float4)(0.0f);
    float s = 0.0f;
    int e = 0;
    for (; e + 3 < S; e += 4)
        s4 += vload4(0, q + e);
    for (; e < S; e++)
        s += q[e];
    return s + s4.x + s4.y + s4.z + s4.w;
}

// sum of (q[e] + d)^2
static float row_sq(__global const float *q, int S, float d) {
    float4 s4 = (float4)(0.0f);
    float s = 0.0f;
    int e = 0;
    for (; e + 3 < S; e += 4) {
        float4 v = vload4(0, q + e) + d;
        s4 += v * v;
    }
    for (; e < S; e++) {
        float v = q[e] + d;
        s += v * v;
    }
    return s + s4.x + s4.y + s4.z + s4.w;
}

static float4 silu4(float4 u) { return u / (1.0f + exp(-u)); }
static float silu1(float u) { return u / (1.0f + exp(-u)); }
// d silu / du = s (1 + u (1 - s)), s = sigmoid(u)
static float4 dsilu4(float4 u) {
    float4 s = 1.0f / (1.0f + exp(-u));
    return s * (1.0f + u * (1.0f - s));
}
static float dsilu1(float u) {
    float s = 1.0f / (1.0f + exp(-u));
    return s * (1.0f + u * (1.0f - s));
}

__kernel void gn_act_fwd(__global float *y, int yo, __global const float *x, int xo,
                         __global const float *add, int ao, int has_add,
                         __global const float *gamma, int gmo, __global const float *beta, int bto,
                         __global float *stats, int N, int C, int G, int S, int act, float eps) {
    int r = get_global_id(0);
    if (r >= N * G) return;
    int n = r / G, cpg = C / G, c0 = (r % G) * cpg, L = cpg * S;
    size_t base = ((size_t)n * C + c0) * S;
    __global const float *p = x + xo + base;
    float s = 0.0f;
    for (int j = 0; j < cpg; j++)
        s += row_sum(p + (size_t)j * S, S) + (has_add ? add[ao + n * C + c0 + j] * S : 0.0f);
    float mean = s / (float)L, v = 0.0f;
    for (int j = 0; j < cpg; j++)
        v += row_sq(p + (size_t)j * S, S, (has_add ? add[ao + n * C + c0 + j] : 0.0f) - mean);
    float rstd = rsqrt(v / (float)L + eps);
    stats[2 * r] = mean;
    stats[2 * r + 1] = rstd;
    __global float *q = y + yo + base;
    for (int j = 0; j < cpg; j++) {
        int c = c0 + j;
        float a = has_add ? add[ao + n * C + c] : 0.0f;
        float sc = gamma[gmo + c] * rstd, sh = beta[bto + c] + (a - mean) * sc; // u = x sc + sh
        __global const float *pj = p + (size_t)j * S;
        __global float *qj = q + (size_t)j * S;
        int e = 0;
        for (; e + 3 < S; e += 4) {
            float4 u = vload4(0, pj + e) * sc + sh;
            vstore4(act ? silu4(u) : u, 0, qj + e);
        }
        for (; e < S; e++) {
            float u = pj[e] * sc + sh;
            qj[e] = act ? silu1(u) : u;
        }
    }
}

// With dz = dy act'(u) and g = dz gamma: dx = rstd (g - mean(g) - xhat mean(g xhat)) over the
// row, d add[n, c] = sum over S of dx, and per (n, c) partials of dgamma (sum dz xhat) and
// dbeta (sum dz) into part (N, C, 2), summed over n by gn_act_affine.
__kernel void gn_act_bwd(__global float *dx, int dxo, int want_x, int acc_x,
                         __global float *dadd, int dao, int want_add, int acc_add,
                         __global float *part, __global const float *dy, int dyo,
                         __global const float *x, int xo, __global const float *add, int ao,
                         int has_add, __global const float *gamma, int gmo,
                         __global const float *beta, int bto, __global const float *stats, int N,
                         int C, int G, int S, int act) {
    int r = get_global_id(0);
    if (r >= N * G) return;
    int n = r / G, cpg = C / G, c0 = (r % G) * cpg, L = cpg * S;
    size_t base = ((size_t)n * C + c0) * S;
    __global const float *p = x + xo + base, *g = dy + dyo + base;
    float mean = stats[2 * r], rstd = stats[2 * r + 1];
    float m1 = 0.0f, m2 = 0.0f;
    for (int j = 0; j < cpg; j++) {
        int c = c0 + j;
        float a = has_add ? add[ao + n * C + c] : 0.0f, gm = gamma[gmo + c];
        float d = a - mean, sc = gm * rstd, sh = beta[bto + c] + d * sc;
        __global const float *pj = p + (size_t)j * S, *gj = g + (size_t)j * S;
        float4 sg4 = (float4)(0.0f), sb4 = (float4)(0.0f);
        float sg = 0.0f, sb = 0.0f;
        int e = 0;
        for (; e + 3 < S; e += 4) {
            float4 xv = vload4(0, pj + e), dz = vload4(0, gj + e);
            if (act) dz *= dsilu4(xv * sc + sh);
            sg4 += dz * (xv + d) * rstd;
            sb4 += dz;
        }
        for (; e < S; e++) {
            float xv = pj[e], dz = gj[e];
            if (act) dz *= dsilu1(xv * sc + sh);
            sg += dz * (xv + d) * rstd;
            sb += dz;
        }
        sg += sg4.x + sg4.y + sg4.z + sg4.w;
        sb += sb4.x + sb4.y + sb4.z + sb4.w;
        part[2 * ((size_t)n * C + c)] = sg;
        part[2 * ((size_t)n * C + c) + 1] = sb;
        m1 += sb * gm;
        m2 += sg * gm;
    }
    if (!want_x && !want_add) return;
    m1 /= (float)L;
    m2 /= (float)L;
    for (int j = 0; j < cpg; j++) {
        int c = c0 + j;
        float a = has_add ? add[ao + n * C + c] : 0.0f, gm = gamma[gmo + c];
        float d = a - mean, sc = gm * rstd, sh = beta[bto + c] + d * sc;
        __global const float *pj = p + (size_t)j * S, *gj = g + (size_t)j * S;
        __global float *oj = dx + dxo + base + (size_t)j * S;
        float4 t4 = (float4)(0.0f);
        float t = 0.0f;
        int e = 0;
        for (; e + 3 < S; e += 4) {
            float4 xv = vload4(0, pj + e), dz = vload4(0, gj + e);
            if (act) dz *= dsilu4(xv * sc + sh);
            float4 v = rstd * (dz * gm - m1 - (xv + d) * rstd * m2);
            t4 += v;
            if (want_x) vstore4(acc_x ? vload4(0, oj + e) + v : v, 0, oj + e);
        }
        for (; e < S; e++) {
            float xv = pj[e], dz = gj[e];
            if (act) dz *= dsilu1(xv * sc + sh);
            float v = rstd * (dz * gm - m1 - (xv + d) * rstd * m2);
            t += v;
            if (want_x) oj[e] = acc_x ? oj[e] + v : v;
        }
        if (want_add) {
            float sum = t + t4.x + t4.y + t4.z + t4.w;
            size_t i = (size_t)dao + (size_t)n * C + c;
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
