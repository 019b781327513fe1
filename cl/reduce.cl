// Reductions: sums over an axis and their broadcast backward, softmax and
// log-softmax over the last axis, and the second stage of two-stage sums.

// Sums the 64 values of a work-group in local memory; the result is in tmp[0].
void group_sum(__local float *tmp, float v) {
    int l = get_local_id(0);
    tmp[l] = v;
    barrier(CLK_LOCAL_MEM_FENCE);
    for (int s = 32; s > 0; s >>= 1) {
        if (l < s) tmp[l] += tmp[l + s];
        barrier(CLK_LOCAL_MEM_FENCE);
    }
}

// out[oo] = scale * sum(partials[0..groups)); one work-group of 64.
__kernel void sum_partials(__global float *out, int oo, __global const float *partials,
                           int groups, float scale) {
    __local float tmp[64];
    float v = 0.0f;
    for (int i = get_local_id(0); i < groups; i += 64) v += partials[i];
    group_sum(tmp, v);
    if (get_local_id(0) == 0) out[oo] = scale * tmp[0];
}

// x viewed as (outer, n, inner): y[o, i] = scale * sum_j x[o, j, i].
__kernel void axis_sum(__global float *y, int yo, __global const float *x, int xo, int outer,
                       int n, int inner, float scale) {
    int id = get_global_id(0);
    if (id >= outer * inner) return;
    int o = id / inner, i = id - o * inner;
    __global const float *p = x + xo + o * n * inner + i;
    float4 s4 = (float4)(0.0f);
    int j = 0;
    if (inner == 1) {
        for (; j + 3 < n; j += 4) s4 += vload4(0, p + j);
    }
    float s = s4.x + s4.y + s4.z + s4.w;
    for (; j < n; j++) s += p[j * inner];
    y[yo + id] = scale * s;
}

// dx[o, j, i] (+)= scale * dy[o, i]; four elements per work item.
__kernel void axis_expand(__global float *dx, int dxo, __global const float *dy, int dyo,
                          int total, int n, int inner, float scale, int acc) {
    int e = get_global_id(0) * 4;
    if (e >= total) return;
    for (int l = 0; l < 4 && e + l < total; l++) {
        int idx = e + l;
        int i = idx % inner, o = idx / (n * inner);
        float v = scale * dy[dyo + o * inner + i];
        dx[dxo + idx] = acc ? dx[dxo + idx] + v : v;
    }
}

// One work item per row of `cols`: y = softmax(scale x) or log_softmax(scale x).
// causal: row r is query position r % cols and sees columns j <= r % cols only
// (masked entries get probability 0).
__kernel void softmax_fwd(__global float *y, int yo, __global const float *x, int xo, int rows,
                          int cols, int log_out, float scale, int causal) {
    int r = get_global_id(0);
    if (r >= rows) return;
    __global const float *p = x + xo + r * cols;
    __global float *q = y + yo + r * cols;
    int last = causal ? r % cols : cols - 1;
    float m = -INFINITY;
    for (int j = 0; j <= last; j++) m = fmax(m, scale * p[j]);
    float s = 0.0f;
    for (int j = 0; j <= last; j++) s += exp(scale * p[j] - m);
    if (log_out) {
        float ls = m + log(s);
        for (int j = 0; j < cols; j++) q[j] = j <= last ? scale * p[j] - ls : -INFINITY;
    } else {
        float inv = 1.0f / s;
        for (int j = 0; j < cols; j++) q[j] = j <= last ? exp(scale * p[j] - m) * inv : 0.0f;
    }
}

// softmax: dx = scale y (dy - sum(dy y)); log_softmax: dx = scale (dy - exp(y) sum(dy)).
__kernel void softmax_bwd(__global float *dx, int dxo, __global const float *dy, int dyo,
                          __global const float *y, int yo, int rows, int cols, int log_out,
                          float scale, int acc) {
    int r = get_global_id(0);
    if (r >= rows) return;
    __global const float *g = dy + dyo + r * cols, *p = y + yo + r * cols;
    __global float *d = dx + dxo + r * cols;
    float s = 0.0f;
    for (int j = 0; j < cols; j++) s += log_out ? g[j] : g[j] * p[j];
    for (int j = 0; j < cols; j++) {
        float v = scale * (log_out ? g[j] - exp(p[j]) * s : p[j] * (g[j] - s));
        d[j] = acc ? d[j] + v : v;
    }
}
