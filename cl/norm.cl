// GroupNorm and LayerNorm as one family: x viewed as R rows of L elements
// normalised together; element e of row r uses affine channel
// ch = (r % G) * cpg + e / S (GroupNorm: rows = (n, group), L = cpg * S;
// LayerNorm: G = 1, cpg = L, S = 1).

__kernel void norm_fwd(__global float *y, __global const float *x, int xo,
                       __global const float *gamma, int gmo, __global const float *beta, int bto,
                       int affine, __global float *stats, int R, int L, int G, int cpg, int S,
                       float eps) {
    int r = get_global_id(0);
    if (r >= R) return;
    __global const float *p = x + xo + (size_t)r * L;
    float4 s4 = (float4)(0.0f);
    float s = 0.0f;
    int e = 0;
    for (; e + 3 < L; e += 4) s4 += vload4(0, p + e);
    for (; e < L; e++) s += p[e];
    float mean = (s + s4.x + s4.y + s4.z + s4.w) / (float)L;
    float v = 0.0f;
    for (e = 0; e < L; e++) {
        float d = p[e] - mean;
        v += d * d;
    }
    float rstd = rsqrt(v / (float)L + eps);
    stats[2 * r] = mean;
    stats[2 * r + 1] = rstd;
    int ch0 = (r % G) * cpg;
    __global float *q = y + (size_t)r * L;
    for (e = 0; e < L; e++) {
        float h = (p[e] - mean) * rstd;
        if (affine) {
            int ch = ch0 + e / S;
            h = h * gamma[gmo + ch] + beta[bto + ch];
        }
        q[e] = h;
    }
}

// dx = rstd (g - mean(g) - xhat mean(g xhat)), g = dy * gamma.
__kernel void norm_bwd_x(__global float *dx, int dxo, __global const float *dy, int dyo,
                         __global const float *x, int xo, __global const float *stats,
                         __global const float *gamma, int gmo, int affine, int R, int L, int G,
                         int cpg, int S, int acc) {
    int r = get_global_id(0);
    if (r >= R) return;
    __global const float *p = x + xo + (size_t)r * L, *g = dy + dyo + (size_t)r * L;
    __global float *d = dx + dxo + (size_t)r * L;
    float mean = stats[2 * r], rstd = stats[2 * r + 1];
    int ch0 = (r % G) * cpg;
    float m1 = 0.0f, m2 = 0.0f;
    for (int e = 0; e < L; e++) {
        float ge = affine ? g[e] * gamma[gmo + ch0 + e / S] : g[e];
        m1 += ge;
        m2 += ge * (p[e] - mean) * rstd;
    }
    m1 /= (float)L;
    m2 /= (float)L;
    for (int e = 0; e < L; e++) {
        float ge = affine ? g[e] * gamma[gmo + ch0 + e / S] : g[e];
        float v = rstd * (ge - m1 - (p[e] - mean) * rstd * m2);
        d[e] = acc ? d[e] + v : v;
    }
}

// dgamma[ch] = sum dy * xhat, dbeta[ch] = sum dy over the rows and elements of ch.
__kernel void norm_bwd_affine(__global float *dgamma, int dgo, int acc_g,
                              __global float *dbeta, int dbo, int acc_b,
                              __global const float *dy, int dyo, __global const float *x, int xo,
                              __global const float *stats, int R, int L, int G, int cpg, int S) {
    int ch = get_global_id(0);
    if (ch >= G * cpg) return;
    int group = ch / cpg, e0 = (ch % cpg) * S;
    float sg = 0.0f, sb = 0.0f;
    for (int r = group; r < R; r += G) {
        float mean = stats[2 * r], rstd = stats[2 * r + 1];
        __global const float *p = x + xo + (size_t)r * L + e0, *g = dy + dyo + (size_t)r * L + e0;
        for (int e = 0; e < S; e++) {
            sg += g[e] * (p[e] - mean) * rstd;
            sb += g[e];
        }
    }
    dgamma[dgo + ch] = acc_g ? dgamma[dgo + ch] + sg : sg;
    dbeta[dbo + ch] = acc_b ? dbeta[dbo + ch] + sb : sb;
}
