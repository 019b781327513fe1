// GPU variants of the conv layout kernels (cl/conv.cl) and of GroupNorm + activation
// (cl/gn_act.cl). The CPU versions give one work item a whole image plane (or a whole
// GroupNorm row) and walk it with vector loads: few work items, and neighbouring items
// far apart in memory. Here one work item writes one element, consecutive items touch
// consecutive addresses (coalesced), and sums are local-memory trees inside a work-group.
// src/tensor/conv_gpu.c picks these when the device is not a CPU (or LATENTCL_CONV=gpu).
// Same layouts and arguments as the CPU kernels; the comments there give the formulas.

#define GL 64 // work-group size of the reducing kernels (LC_LOCAL in tensor_internal.h)

// The sum of v over the work-group (GL items), returned to every item. sh holds GL floats.
static float group_sum(float v, __local float *sh) {
    int lid = get_local_id(0);
    sh[lid] = v;
    barrier(CLK_LOCAL_MEM_FENCE);
    for (int w = GL / 2; w > 0; w >>= 1) {
        if (lid < w) sh[lid] += sh[lid + w];
        barrier(CLK_LOCAL_MEM_FENCE);
    }
    float r = sh[0];
    barrier(CLK_LOCAL_MEM_FENCE); // sh is free again for the next sum
    return r;
}

// Activations a conv can fuse (the CACT_ codes of cl/conv.cl), one element at a time.
static float cact1(int op, float v, float a) {
    switch (op) {
    case 1: return fmax(v, 0.0f);
    case 2: return v > 0.0f ? v : a * v;
    case 5: return 1.0f / (1.0f + exp(-v));
    case 6: return tanh(v);
    default: return v;
    }
}

// The derivative from the activation's output y.
static float cact_grad1(int op, float y, float a) {
    switch (op) {
    case 1: return y > 0.0f ? 1.0f : 0.0f;
    case 2: return y > 0.0f ? 1.0f : a;
    case 5: return y * (1.0f - y);
    case 6: return 1.0f - y * y;
    default: return 1.0f;
    }
}

// cols (C*KH*KW, N*OH*OW) from x. A 3-D range (q = (oh, ow), c, n): each item writes the
// KH*KW rows of channel c at column n*Q + q (neighbouring items, neighbouring columns),
// so the index arithmetic (one division) is shared by KH*KW outputs. Plane (n, c) of x
// starts at xo + n*sn + c*sc.
__kernel void im2col_g(__global float *cols, __global const float *x, int xo, int N, int C, int H,
                       int W, int KH, int KW, int s, int p, int OH, int OW, int sn, int sc) {
    int q = get_global_id(0), c = get_global_id(1), n = get_global_id(2), Q = OH * OW;
    if (q >= Q) return;
    int oh = q / OW, ow = q - oh * OW, h0 = oh * s - p, w0 = ow * s - p;
    size_t NQ = (size_t)N * Q;
    __global const float *img = x + xo + (size_t)n * sn + (size_t)c * sc;
    __global float *dst = cols + (size_t)c * KH * KW * NQ + (size_t)n * Q + q;
    for (int kh = 0; kh < KH; kh++) {
        int h = h0 + kh;
        int row_in = h >= 0 && h < H;
        for (int kw = 0; kw < KW; kw++) {
            int w = w0 + kw;
            *dst = row_in && w >= 0 && w < W ? img[(size_t)h * W + w] : 0.0f;
            dst += NQ;
        }
    }
}

// x[n, c, h, w] (+)= b[c] + the cols entries that read it: one work item per element of x
// (a gather over the taps, no atomics), taps in the CPU kernel's order. A 3-D range
// (h W + w, c, n).
__kernel void col2im_g(__global float *x, int xo, __global const float *cols, int N, int C, int H,
                       int W, int KH, int KW, int s, int p, int OH, int OW, int acc,
                       __global const float *b, int bo, int has_b) {
    int hw = get_global_id(0), c = get_global_id(1), n = get_global_id(2);
    if (hw >= H * W) return;
    int h = hw / W, w = hw - h * W, Q = OH * OW;
    size_t NQ = (size_t)N * Q;
    __global const float *base = cols + (size_t)c * KH * KW * NQ + (size_t)n * Q;
    float sum = has_b ? b[bo + c] : 0.0f;
    for (int kh = 0; kh < KH; kh++) {
        int th = h + p - kh;
        if (th < 0 || th % s) continue;
        int oh = th / s;
        if (oh >= OH) continue;
        for (int kw = 0; kw < KW; kw++) {
            int tw = w + p - kw;
            if (tw < 0 || tw % s) continue;
            int ow = tw / s;
            if (ow >= OW) continue;
            sum += base[(size_t)(kh * KW + kw) * NQ + oh * OW + ow];
        }
    }
    __global float *d = x + xo + ((size_t)n * C + c) * H * W + hw;
    *d = acc ? *d + sum : sum;
}

// y[n, o, q] (+)= act(src[o, n*Q + q] + b[o]): one work item per element of y, a 3-D
// range (q, o, n).
__kernel void cols_to_nchw_g(__global float *y, int yo, __global const float *src, int so, int N,
                             int O, int Q, __global const float *b, int bo, int has_b, int acc,
                             int act, float alpha) {
    int q = get_global_id(0), o = get_global_id(1), n = get_global_id(2);
    if (q >= Q) return;
    float v = src[so + ((size_t)o * N + n) * Q + q];
    if (has_b) v += b[bo + o];
    v = cact1(act, v, alpha);
    __global float *d = y + yo + ((size_t)n * O + o) * Q + q;
    *d = acc ? *d + v : v;
}

// dst[o, n*Q + q] = y[n, o, q] * act'(out[n, o, q]): one work item per element of y, a
// 3-D range (q, o, n).
__kernel void nchw_to_cols_g(__global float *dst, __global const float *y, int yo, int N, int O,
                             int Q, __global const float *out, int oo, int act, float alpha) {
    int q = get_global_id(0), o = get_global_id(1), n = get_global_id(2);
    if (q >= Q) return;
    size_t i = ((size_t)n * O + o) * Q + q;
    float v = y[yo + i];
    if (act) v *= cact_grad1(act, out[oo + i], alpha);
    dst[((size_t)o * N + n) * Q + q] = v;
}

// The bias gradient in two passes, in a fixed order (no float atomics): work-group
// g = (o, k) of O*S sums the elements e = k*GL + lid + i*S*GL of channel o, e = n*Q + q
// (dy (N, O, Q)); part[g] = its sum. Consecutive items read consecutive q.
__kernel void channel_sum_part(__global float *part, __global const float *dy, int dyo, int N,
                               int O, int Q, int S) {
    __local float sh[GL];
    int g = get_group_id(0), lid = get_local_id(0), o = g / S, k = g - o * S;
    int step = S * GL, dn = step / Q, dq = step - dn * Q; // e += step as (n, q) += (dn, dq)
    int e = k * GL + lid, n = e / Q, q = e - n * Q;
    float sum = 0.0f;
    while (n < N) {
        sum += dy[dyo + ((size_t)n * O + o) * Q + q];
        q += dq;
        n += dn;
        if (q >= Q) q -= Q, n++;
    }
    sum = group_sum(sum, sh);
    if (lid == 0) part[g] = sum;
}

// db[o] (+)= the S partial sums of channel o, in order.
__kernel void channel_sum_fin(__global float *db, int dbo, __global const float *part, int O, int S,
                              int acc) {
    int o = get_global_id(0);
    if (o >= O) return;
    float s = 0.0f;
    for (int k = 0; k < S; k++)
        s += part[(size_t)o * S + k];
    db[dbo + o] = acc ? db[dbo + o] + s : s;
}

// GroupNorm + shift + activation (cl/gn_act.cl's gn_act_fwd): one work-group per row
// r = (n, group) of cpg channels x S positions; the mean and the variance (about the
// mean, a second pass) as work-group sums, then each item writes its elements.
__kernel void gn_act_fwd_g(__global float *y, int yo, __global const float *x, int xo,
                           __global const float *add, int ao, int has_add,
                           __global const float *gamma, int gmo, __global const float *beta,
                           int bto, __global float *stats, int N, int C, int G, int S, int act,
                           float eps) {
    __local float sh[GL];
    int r = get_group_id(0), lid = get_local_id(0);
    int n = r / G, cpg = C / G, c0 = (r % G) * cpg, L = cpg * S;
    size_t base = ((size_t)n * C + c0) * S;
    __global const float *p = x + xo + base;
    __global const float *ad = add + ao + (size_t)n * C + c0;
    int dj = GL / S, de = GL - dj * S; // i += GL as (j, e) += (dj, de), i = j S + e
    float s = 0.0f;
    for (int i = lid, j = lid / S, e = lid % S; i < L; i += GL) {
        s += p[i] + (has_add ? ad[j] : 0.0f);
        e += de, j += dj;
        if (e >= S) e -= S, j++;
    }
    float mean = group_sum(s, sh) / (float)L;
    float v = 0.0f;
    for (int i = lid, j = lid / S, e = lid % S; i < L; i += GL) {
        float d = p[i] + (has_add ? ad[j] : 0.0f) - mean;
        v += d * d;
        e += de, j += dj;
        if (e >= S) e -= S, j++;
    }
    float rstd = rsqrt(group_sum(v, sh) / (float)L + eps);
    if (lid == 0) {
        stats[2 * r] = mean;
        stats[2 * r + 1] = rstd;
    }
    __global float *q = y + yo + base;
    for (int i = lid, j = lid / S, e = lid % S; i < L; i += GL) {
        int c = c0 + j;
        float a = has_add ? ad[j] : 0.0f;
        float sc = gamma[gmo + c] * rstd, sf = beta[bto + c] + (a - mean) * sc;
        float u = p[i] * sc + sf;
        q[i] = act ? u * (1.0f / (1.0f + exp(-u))) : u;
        e += de, j += dj;
        if (e >= S) e -= S, j++;
    }
}

// The backward of gn_act_fwd_g (cl/gn_act.cl's gn_act_bwd, same arguments and outputs):
// one work-group per row, channel by channel; per-channel sums as work-group sums.
__kernel void gn_act_bwd_g(__global float *dx, int dxo, int want_x, int acc_x, __global float *dadd,
                           int dao, int want_add, int acc_add, __global float *part,
                           __global float *dzs, int zo, __global const float *dy, int dyo,
                           __global const float *x, int xo, __global const float *add, int ao,
                           int has_add, __global const float *gamma, int gmo,
                           __global const float *beta, int bto, __global const float *stats, int N,
                           int C, int G, int S, int act) {
    __local float sh[GL];
    int r = get_group_id(0), lid = get_local_id(0);
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
        float d = a - mean, sc = gm * rstd, sf = beta[bto + c] + d * sc;
        float sx = 0.0f, sb = 0.0f;
        for (int e = lid; e < S; e += GL) {
            size_t i = (size_t)j * S + e;
            float xv = p[i], dz = g[i];
            if (act) {
                float u = xv * sc + sf, sg = 1.0f / (1.0f + exp(-u));
                dz *= sg * (1.0f + u * (1.0f - sg));
                z[i] = dz;
            }
            sx += dz * xv;
            sb += dz;
        }
        sx = group_sum(sx, sh);
        sb = group_sum(sb, sh);
        float sg = (sx + d * sb) * rstd; // sum dz xhat, xhat = (x + d) rstd
        if (lid == 0) {
            part[2 * ((size_t)n * C + c)] = sg;
            part[2 * ((size_t)n * C + c) + 1] = sb;
        }
        m1 += sb * gm;
        m2 += sg * gm;
    }
    if (!want_x && !want_add) return;
    m1 /= (float)L;
    m2 /= (float)L;
    // dx = rstd (dz gm - m1 - (x + d) rstd m2) = dz A + x B + K; each item reads back the
    // dz it wrote itself (dzs may be dx: same element, same item).
    __global const float *zr = act ? (__global const float *)z : g;
    __global float *o = dx + dxo + base;
    for (int j = 0; j < cpg; j++) {
        int c = c0 + j;
        float a = has_add ? ad[j] : 0.0f, gm = gamma[gmo + c], d = a - mean;
        float A = rstd * gm, B = -rstd * rstd * m2, K = -rstd * m1 + d * B;
        float t = 0.0f;
        for (int e = lid; e < S; e += GL) {
            size_t i = (size_t)j * S + e;
            float v = zr[i] * A + (p[i] * B + K);
            t += v;
            if (want_x) o[i] = acc_x ? o[i] + v : v;
        }
        if (want_add) {
            t = group_sum(t, sh);
            if (lid == 0) {
                size_t k = (size_t)dao + (size_t)n * C + c;
                dadd[k] = acc_add ? dadd[k] + t : t;
            }
        }
    }
}

// y (m, n) (ld ldy) = beta y + the sum of the S slices part (S, m, n), in order: the
// split-k weight gradient's second pass. beta = 0 never reads y.
__kernel void sum_slices(__global float *y, int yo, int ldy, __global const float *part, int m,
                         int n, int S, float beta) {
    int j = get_global_id(0), i = get_global_id(1);
    if (j >= n || i >= m) return;
    size_t mn = (size_t)m * n, at = (size_t)i * n + j;
    float s = 0.0f;
    for (int k = 0; k < S; k++)
        s += part[k * mn + at];
    __global float *d = y + yo + (size_t)i * ldy + j;
    *d = beta != 0.0f ? beta * *d + s : s;
}
