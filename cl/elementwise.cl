// Elementwise ops: fill, axpy, unary chains (forward + backward), broadcast
// binary ops, fused bias + activation. Each work item handles four elements
// as a float4 (explicit vectors: PoCL runs scalar loops far slower); the tail
// of an array whose length is not a multiple of 4 is done lane by lane.
// Offsets are in floats; `acc` = 1 adds into the destination, 0 overwrites.

#define ACT_NONE 0
#define ACT_RELU 1
#define ACT_LEAKY 2
#define ACT_SILU 3
#define ACT_GELU 4
#define ACT_SIGMOID 5
#define ACT_TANH 6
#define ACT_EXP 7
#define ACT_LOG 8
#define ACT_SOFTPLUS 9
#define ACT_SCALE 10
#define ACT_SQUARE 11

float4 load4(__global const float *p, int i, int n) {
    if (i + 3 < n) return vload4(0, p + i);
    float4 v = (float4)(0.0f);
    if (i < n) v.s0 = p[i];
    if (i + 1 < n) v.s1 = p[i + 1];
    if (i + 2 < n) v.s2 = p[i + 2];
    return v;
}

void store4(__global float *p, int i, int n, float4 v) {
    if (i + 3 < n) {
        vstore4(v, 0, p + i);
        return;
    }
    if (i < n) p[i] = v.s0;
    if (i + 1 < n) p[i + 1] = v.s1;
    if (i + 2 < n) p[i + 2] = v.s2;
}

// Writes v, or adds it to what is there.
void put4(__global float *p, int i, int n, float4 v, int acc) {
    if (acc) v += load4(p, i, n);
    store4(p, i, n, v);
}

float4 sigmoid4(float4 x) { return 1.0f / (1.0f + exp(-x)); }

// erf by Abramowitz & Stegun 7.1.26 (|error| < 1.5e-7): a polynomial and one exp, which
// vectorise, where PoCL's erf is a library call per lane (GELU's cost was mostly erf).
float4 erf4(float4 x) {
    float4 a = fabs(x), t = 1.0f / (1.0f + 0.3275911f * a);
    float4 p = t * (0.254829592f +
                    t * (-0.284496736f + t * (1.421413741f + t * (-1.453152027f + t * 1.061405429f))));
    return copysign(1.0f - p * exp(-a * a), x);
}

float4 act_fwd(int op, float4 x, float a, float b) {
    switch (op) {
    case ACT_RELU: return fmax(x, 0.0f);
    case ACT_LEAKY: return select(a * x, x, x > 0.0f);
    case ACT_SILU: return x * sigmoid4(x);
    case ACT_GELU: return 0.5f * x * (1.0f + erf4(x * 0.70710678118654752f));
    case ACT_SIGMOID: return sigmoid4(x);
    case ACT_TANH: return tanh(x);
    case ACT_EXP: return exp(x);
    case ACT_LOG: return log(x);
    case ACT_SOFTPLUS: return fmax(x, 0.0f) + log1p(exp(-fabs(x)));
    case ACT_SCALE: return a * x + b;
    case ACT_SQUARE: return x * x;
    default: return x;
    }
}

// d f / d x at x, given y = f(x).
float4 act_grad(int op, float4 x, float4 y, float a) {
    switch (op) {
    case ACT_RELU: return select((float4)(0.0f), (float4)(1.0f), y > 0.0f); // y > 0 iff x > 0
    case ACT_LEAKY: return select((float4)(a), (float4)(1.0f), x > 0.0f);
    case ACT_SILU: {
        float4 s = sigmoid4(x);
        return s * (1.0f + x * (1.0f - s));
    }
    case ACT_GELU:
        return 0.5f * (1.0f + erf4(x * 0.70710678118654752f)) +
               x * exp(-0.5f * x * x) * 0.39894228040143268f;
    case ACT_SIGMOID: return y * (1.0f - y);
    case ACT_TANH: return 1.0f - y * y;
    case ACT_EXP: return y;
    case ACT_LOG: return 1.0f / x;
    case ACT_SOFTPLUS: return sigmoid4(x);
    case ACT_SCALE: return (float4)(a);
    case ACT_SQUARE: return 2.0f * x;
    default: return (float4)(1.0f);
    }
}

__kernel void fill(__global float *p, int off, int n, float value) {
    int i = get_global_id(0) * 4;
    if (i >= n) return;
    store4(p + off, i, n, (float4)(value));
}

// dst (+)= s * src (* scale[0] when use_scale).
__kernel void axpy(__global float *dst, int doff, __global const float *src, int soff, int n,
                   float s, __global const float *scale, int scale_off, int use_scale, int acc) {
    int i = get_global_id(0) * 4;
    if (i >= n) return;
    float f = use_scale ? s * scale[scale_off] : s;
    put4(dst + doff, i, n, f * load4(src + soff, i, n), acc);
}

// y = f_n(...f_1(x)): ops/a/b hold the steps (int8/float8 so one launch takes them all).
__kernel void chain_fwd(__global float *y, int yo, __global const float *x, int xo, int n,
                        int nops, int8 ops, float8 pa, float8 pb) {
    int i = get_global_id(0) * 4;
    if (i >= n) return;
    int o[8] = {ops.s0, ops.s1, ops.s2, ops.s3, ops.s4, ops.s5, ops.s6, ops.s7};
    float a[8] = {pa.s0, pa.s1, pa.s2, pa.s3, pa.s4, pa.s5, pa.s6, pa.s7};
    float b[8] = {pb.s0, pb.s1, pb.s2, pb.s3, pb.s4, pb.s5, pb.s6, pb.s7};
    float4 v = load4(x + xo, i, n);
    for (int s = 0; s < nops; s++) v = act_fwd(o[s], v, a[s], b[s]);
    store4(y + yo, i, n, v);
}

// dx (+)= dy * prod f_s'(v_s): the chain is recomputed in registers.
__kernel void chain_bwd(__global float *dx, int dxo, __global const float *dy, int dyo,
                        __global const float *x, int xo, int n, int nops, int8 ops, float8 pa,
                        float8 pb, int acc) {
    int i = get_global_id(0) * 4;
    if (i >= n) return;
    int o[8] = {ops.s0, ops.s1, ops.s2, ops.s3, ops.s4, ops.s5, ops.s6, ops.s7};
    float a[8] = {pa.s0, pa.s1, pa.s2, pa.s3, pa.s4, pa.s5, pa.s6, pa.s7};
    float b[8] = {pb.s0, pb.s1, pb.s2, pb.s3, pb.s4, pb.s5, pb.s6, pb.s7};
    float4 v[9];
    v[0] = load4(x + xo, i, n);
    for (int s = 0; s < nops; s++) v[s + 1] = act_fwd(o[s], v[s], a[s], b[s]);
    float4 g = load4(dy + dyo, i, n);
    for (int s = nops - 1; s >= 0; s--) g *= act_grad(o[s], v[s], v[s + 1], a[s]);
    put4(dx + dxo, i, n, g, acc);
}

#define BIN_ADD 0
#define BIN_SUB 1
#define BIN_MUL 2

// b repeated every nb elements (nb = numel of b).
float4 load4_bcast(__global const float *b, int i, int nb) {
    int j = i % nb;
    if (j + 3 < nb) return vload4(0, b + j);
    return (float4)(b[j], b[(j + 1) % nb], b[(j + 2) % nb], b[(j + 3) % nb]);
}

__kernel void binary_fwd(__global float *y, int yo, __global const float *a, int ao,
                         __global const float *b, int bo, int n, int nb, int op) {
    int i = get_global_id(0) * 4;
    if (i >= n) return;
    float4 va = load4(a + ao, i, n), vb = load4_bcast(b + bo, i, nb);
    float4 r = op == BIN_ADD ? va + vb : op == BIN_SUB ? va - vb : va * vb;
    store4(y + yo, i, n, r);
}

// da (+)= dy (* b for mul).
__kernel void binary_bwd_a(__global float *da, int dao, __global const float *dy, int dyo,
                           __global const float *b, int bo, int n, int nb, int op, int acc) {
    int i = get_global_id(0) * 4;
    if (i >= n) return;
    float4 g = load4(dy + dyo, i, n);
    if (op == BIN_MUL) g *= load4_bcast(b + bo, i, nb);
    put4(da + dao, i, n, g, acc);
}

// Column sums over `rows` rows of `cols` columns: out[c] (+)= s * sum_r g(r, c)
// with g = dy (mode 0) or dy * other (mode 1). One work item per four columns.
__kernel void colsum(__global float *out, int oo, __global const float *dy, int dyo,
                     __global const float *other, int oto, int rows, int cols, int mode, float s,
                     int acc) {
    int c = get_global_id(0) * 4;
    if (c >= cols) return;
    float4 sum = (float4)(0.0f);
    for (int r = 0; r < rows; r++) {
        int base = r * cols;
        float4 g = load4(dy + dyo + base, c, cols);
        if (mode == 1) g *= load4(other + oto + base, c, cols);
        sum += g;
    }
    put4(out + oo, c, cols, s * sum, acc);
}

// y (rows, cols) = b on every row: a linear layer's output before its GEMM adds x w^T.
__kernel void bias_rows(__global float *y, int yo, __global const float *b, int bo, int n,
                        int cols) {
    int i = get_global_id(0) * 4;
    if (i >= n) return;
    store4(y + yo, i, n, load4_bcast(b + bo, i, cols));
}

// y = act(x + b[col]), x (rows, cols), b (cols) (has_b = 0: no bias).
__kernel void bias_act_fwd(__global float *y, int yo, __global const float *x, int xo,
                           __global const float *b, int bo, int n, int cols, int has_b, int op,
                           float alpha) {
    int i = get_global_id(0) * 4;
    if (i >= n) return;
    float4 v = load4(x + xo, i, n);
    if (has_b) v += load4_bcast(b + bo, i, cols);
    store4(y + yo, i, n, act_fwd(op, v, alpha, 0.0f));
}

// dz = dy * act'(x + b); dx (+)= dz; partial[chunk, col] = column sums of dz over the
// chunk's rows. One work item per (chunk of `chunk_rows` rows, four columns), so every core
// has work even for a narrow layer; the `colsum` kernel then adds the partials into db in a
// fixed order (no float atomics: the same sums on every run).
__kernel void bias_act_bwd(__global float *dx, int dxo, int want_dx, int acc_dx,
                           __global float *partial, int want_db, __global const float *dy, int dyo,
                           __global const float *x, int xo, __global const float *y, int yo,
                           __global const float *b, int bo, int rows, int cols, int chunk_rows,
                           int has_b, int op, float alpha) {
    int per = (cols + 3) / 4, id = get_global_id(0);
    int chunk = id / per, c = (id - chunk * per) * 4;
    int r0 = chunk * chunk_rows, r1 = min(rows, r0 + chunk_rows);
    if (r0 >= rows) return;
    float4 bias = has_b ? load4(b + bo, c, cols) : (float4)(0.0f);
    float4 sum = (float4)(0.0f);
    // These derivatives follow from y alone: skip reading x (a third of the traffic).
    int need_x = !(op == ACT_RELU || op == ACT_SIGMOID || op == ACT_TANH || op == ACT_EXP ||
                   op == ACT_NONE);
    for (int r = r0; r < r1; r++) {
        int base = r * cols;
        float4 g = load4(dy + dyo + base, c, cols);
        if (op != ACT_NONE) {
            float4 z = need_x ? load4(x + xo + base, c, cols) + bias : (float4)(0.0f);
            g *= act_grad(op, z, load4(y + yo + base, c, cols), alpha);
        }
        if (want_dx) put4(dx + dxo + base, c, cols, g, acc_dx);
        sum += g;
    }
    if (want_db) store4(partial + chunk * cols, c, cols, sum);
}
