// Losses with their gradients in the same pass: each forward writes the
// per-group partial sums of the loss (finished by sum_partials) and the
// gradient already scaled by the reduction factor, so the backward is one
// axpy by the upstream gradient. Launched as groups of 64 work items.

void group_sum64(__local float *tmp, float v) {
    int l = get_local_id(0);
    tmp[l] = v;
    barrier(CLK_LOCAL_MEM_FENCE);
    for (int s = 32; s > 0; s >>= 1) {
        if (l < s) tmp[l] += tmp[l + s];
        barrier(CLK_LOCAL_MEM_FENCE);
    }
}

// Cross-entropy with integer labels: rows of K logits. grad = scale * (softmax - onehot).
// A label outside [0, K) makes the loss NaN (no out-of-bounds access).
__kernel void cross_entropy_fwd(__global float *partials, __global float *grad,
                                __global const float *logits, int lo, __global const int *labels,
                                int lbo, int rows, int K, float scale) {
    __local float tmp[64];
    float total = 0.0f;
    for (int r = get_global_id(0); r < rows; r += get_global_size(0)) {
        __global const float *p = logits + lo + r * K;
        __global float *g = grad + r * K;
        int label = labels[lbo + r];
        float m = -INFINITY;
        for (int j = 0; j < K; j++) m = fmax(m, p[j]);
        float s = 0.0f;
        for (int j = 0; j < K; j++) s += exp(p[j] - m);
        float inv = 1.0f / s, lse = m + log(s);
        for (int j = 0; j < K; j++) g[j] = scale * (exp(p[j] - m) * inv - (j == label ? 1.0f : 0.0f));
        total += (label >= 0 && label < K) ? lse - p[label] : NAN;
    }
    group_sum64(tmp, total);
    if (get_local_id(0) == 0) partials[get_group_id(0)] = tmp[0];
}

#define LOSS_BCE 0
#define LOSS_MSE 1
#define LOSS_KL 2

// Elementwise losses of a (logits / prediction / mu) and b (target / target / logvar):
// ga = scale * dloss/da, gb = scale * dloss/db.
__kernel void pointwise_loss_fwd(__global float *partials, __global float *ga, __global float *gb,
                                 __global const float *a, int ao, __global const float *b, int bo,
                                 int n, int kind, float scale) {
    __local float tmp[64];
    float4 total = (float4)(0.0f);
    for (int i = get_global_id(0) * 4; i < n; i += get_global_size(0) * 4) {
        float4 x, t;
        if (i + 3 < n) {
            x = vload4(0, a + ao + i);
            t = vload4(0, b + bo + i);
        } else {
            float xa[4] = {0, 0, 0, 0}, ta[4] = {0, 0, 0, 0};
            for (int l = 0; i + l < n; l++) {
                xa[l] = a[ao + i + l];
                ta[l] = b[bo + i + l];
            }
            x = (float4)(xa[0], xa[1], xa[2], xa[3]);
            t = (float4)(ta[0], ta[1], ta[2], ta[3]);
        }
        float4 l, da, db;
        if (kind == LOSS_BCE) {
            l = fmax(x, 0.0f) - x * t + log1p(exp(-fabs(x)));
            da = 1.0f / (1.0f + exp(-x)) - t;
            db = -x;
        } else if (kind == LOSS_MSE) {
            float4 d = x - t;
            l = d * d;
            da = 2.0f * d;
            db = -da;
        } else {
            float4 e = exp(t);
            l = -0.5f * (1.0f + t - x * x - e);
            da = x;
            db = 0.5f * (e - 1.0f);
        }
        if (i + 3 < n) {
            vstore4(scale * da, 0, ga + i);
            vstore4(scale * db, 0, gb + i);
            total += l;
        } else {
            float la[4] = {l.x, l.y, l.z, l.w}, aa[4] = {da.x, da.y, da.z, da.w},
                  ba[4] = {db.x, db.y, db.z, db.w};
            for (int q = 0; i + q < n; q++) {
                ga[i + q] = scale * aa[q];
                gb[i + q] = scale * ba[q];
                total.x += la[q];
            }
        }
    }
    group_sum64(tmp, total.x + total.y + total.z + total.w);
    if (get_local_id(0) == 0) partials[get_group_id(0)] = tmp[0];
}

// KL(N(m1, e^l1) || N(m2, e^l2)) summed over elements, with the gradients for all
// four inputs: g_m1, g_l1, g_m2, g_l2 (each scaled by `scale`).
__kernel void kl_gauss_fwd(__global float *partials, __global float *g_m1, __global float *g_l1,
                           __global float *g_m2, __global float *g_l2, __global const float *m1,
                           int m1o, __global const float *l1, int l1o, __global const float *m2,
                           int m2o, __global const float *l2, int l2o, int n, float scale) {
    __local float tmp[64];
    float total = 0.0f;
    for (int i = get_global_id(0); i < n; i += get_global_size(0)) {
        float a = m1[m1o + i], la = l1[l1o + i], b = m2[m2o + i], lb = l2[l2o + i];
        float d = a - b, inv = exp(-lb), va = exp(la);
        total += 0.5f * (lb - la + (va + d * d) * inv - 1.0f);
        g_m1[i] = scale * d * inv;
        g_m2[i] = -scale * d * inv;
        g_l1[i] = scale * 0.5f * (va * inv - 1.0f);
        g_l2[i] = scale * 0.5f * (1.0f - (va + d * d) * inv);
    }
    group_sum64(tmp, total);
    if (get_local_id(0) == 0) partials[get_group_id(0)] = tmp[0];
}
