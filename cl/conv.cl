// Convolution helpers (im2col / col2im and the layout changes around the
// GEMM), pooling and nearest upsampling. NCHW everywhere. The GEMM works on
// "cols" layouts: (rows, N * Q) with Q = spatial positions of one image.

// cols (C*KH*KW, N*OH*OW): cols[(c*KH + kh)*KW + kw, (n*OH + oh)*OW + ow] =
// x[n, c, oh*s - p + kh, ow*s - p + kw] (0 outside). Four columns per work item.
__kernel void im2col(__global float *cols, __global const float *x, int xo, int N, int C, int H,
                     int W, int KH, int KW, int s, int p, int OH, int OW) {
    int per_row = (N * OH * OW + 3) / 4;
    int id = get_global_id(0);
    int r = id / per_row, q0 = (id - r * per_row) * 4;
    int NQ = N * OH * OW;
    if (r >= C * KH * KW) return;
    int kw = r % KW, kh = (r / KW) % KH, c = r / (KW * KH);
    float v[4];
    for (int l = 0; l < 4; l++) {
        int q = q0 + l;
        v[l] = 0.0f;
        if (q >= NQ) continue;
        int ow = q % OW, oh = (q / OW) % OH, n = q / (OW * OH);
        int h = oh * s - p + kh, w = ow * s - p + kw;
        if (h >= 0 && h < H && w >= 0 && w < W) v[l] = x[xo + ((n * C + c) * H + h) * W + w];
    }
    __global float *dst = cols + (size_t)r * NQ + q0;
    if (q0 + 3 < NQ) {
        vstore4((float4)(v[0], v[1], v[2], v[3]), 0, dst);
    } else {
        for (int l = 0; q0 + l < NQ; l++) dst[l] = v[l];
    }
}

// The adjoint of im2col: x[n, c, h, w] (+)= sum of the cols entries that read
// it (+ b[c] when has_b). One work item per x element gathers (no atomics).
__kernel void col2im(__global float *x, int xo, __global const float *cols, int N, int C, int H,
                     int W, int KH, int KW, int s, int p, int OH, int OW, int acc,
                     __global const float *b, int bo, int has_b) {
    int id = get_global_id(0);
    if (id >= N * C * H * W) return;
    int w = id % W, h = (id / W) % H, c = (id / (W * H)) % C, n = id / (W * H * C);
    int NQ = N * OH * OW;
    float sum = has_b ? b[bo + c] : 0.0f;
    for (int kh = 0; kh < KH; kh++) {
        int t = h + p - kh;
        if (t < 0 || t % s) continue;
        int oh = t / s;
        if (oh >= OH) continue;
        for (int kw = 0; kw < KW; kw++) {
            int u = w + p - kw;
            if (u < 0 || u % s) continue;
            int ow = u / s;
            if (ow >= OW) continue;
            sum += cols[(size_t)((c * KH + kh) * KW + kw) * NQ + (n * OH + oh) * OW + ow];
        }
    }
    x[xo + id] = acc ? x[xo + id] + sum : sum;
}

// Activations a conv can fuse: their derivative follows from the output y.
#define CACT_NONE 0
#define CACT_RELU 1
#define CACT_LEAKY 2
#define CACT_SIGMOID 5
#define CACT_TANH 6

float4 cact(int op, float4 v, float a) {
    switch (op) {
    case CACT_RELU: return fmax(v, 0.0f);
    case CACT_LEAKY: return select(a * v, v, v > 0.0f);
    case CACT_SIGMOID: return 1.0f / (1.0f + exp(-v));
    case CACT_TANH: return tanh(v);
    default: return v;
    }
}

float4 cact_grad(int op, float4 y, float a) {
    switch (op) {
    case CACT_RELU: return select((float4)(0.0f), (float4)(1.0f), y > 0.0f);
    case CACT_LEAKY: return select((float4)(a), (float4)(1.0f), y > 0.0f);
    case CACT_SIGMOID: return y * (1.0f - y);
    case CACT_TANH: return 1.0f - y * y;
    default: return (float4)(1.0f);
    }
}

float4 ld4(__global const float *p, int i, int n) {
    if (i + 3 < n) return vload4(0, p + i);
    float v[4] = {0, 0, 0, 0};
    for (int l = 0; i + l < n; l++) v[l] = p[i + l];
    return (float4)(v[0], v[1], v[2], v[3]);
}

void st4(__global float *p, int i, int n, float4 v) {
    if (i + 3 < n) {
        vstore4(v, 0, p + i);
        return;
    }
    float a[4] = {v.x, v.y, v.z, v.w};
    for (int l = 0; i + l < n; l++) p[i + l] = a[l];
}

// y[n, o, q] (+)= act(src[o, n*Q + q] + b[o]); four q per work item.
__kernel void cols_to_nchw(__global float *y, int yo, __global const float *src, int so, int N,
                           int O, int Q, __global const float *b, int bo, int has_b, int acc,
                           int act, float alpha) {
    int per = (Q + 3) / 4;
    int id = get_global_id(0);
    int no = id / per, q = (id - no * per) * 4;
    if (no >= N * O) return;
    int n = no / O, o = no - n * O;
    __global const float *s4 = src + so + (size_t)o * N * Q + n * Q;
    __global float *d4 = y + yo + (size_t)no * Q;
    float4 v = cact(act, ld4(s4, q, Q) + (has_b ? b[bo + o] : 0.0f), alpha);
    if (acc) v += ld4(d4, q, Q);
    st4(d4, q, Q, v);
}

// dst[o, n*Q + q] = y[n, o, q] * act'(out[n, o, q]) (act = NONE: a plain layout change).
__kernel void nchw_to_cols(__global float *dst, __global const float *y, int yo, int N, int O,
                           int Q, __global const float *out, int oo, int act, float alpha) {
    int per = (Q + 3) / 4;
    int id = get_global_id(0);
    int no = id / per, q = (id - no * per) * 4;
    if (no >= N * O) return;
    int n = no / O, o = no - n * O;
    float4 v = ld4(y + yo + (size_t)no * Q, q, Q);
    if (act) v *= cact_grad(act, ld4(out + oo + (size_t)no * Q, q, Q), alpha);
    st4(dst + (size_t)o * N * Q + n * Q, q, Q, v);
}

// db[o] (+)= sum over n and q of dy[n, o, q]: the bias gradient of a conv.
__kernel void channel_sum(__global float *db, int dbo, __global const float *dy, int dyo, int N,
                          int O, int Q, int acc) {
    int o = get_global_id(0);
    if (o >= O) return;
    float4 s4 = (float4)(0.0f);
    float s = 0.0f;
    for (int n = 0; n < N; n++) {
        __global const float *p = dy + dyo + (size_t)(n * O + o) * Q;
        int q = 0;
        for (; q + 3 < Q; q += 4) s4 += vload4(0, p + q);
        for (; q < Q; q++) s += p[q];
    }
    s += s4.x + s4.y + s4.z + s4.w;
    db[dbo + o] = acc ? db[dbo + o] + s : s;
}

// Pooling over k x k windows with stride s (no padding); y (N*C, OH, OW).
// Max pooling records the winning input index (within the image plane).
__kernel void pool_fwd(__global float *y, __global int *arg, __global const float *x, int xo,
                       int NC, int H, int W, int k, int s, int OH, int OW, int is_max) {
    int id = get_global_id(0);
    if (id >= NC * OH * OW) return;
    int ow = id % OW, oh = (id / OW) % OH, nc = id / (OW * OH);
    __global const float *p = x + xo + (size_t)nc * H * W;
    float best = -INFINITY, sum = 0.0f;
    int where = 0;
    for (int i = 0; i < k; i++)
        for (int j = 0; j < k; j++) {
            int h = oh * s + i, w = ow * s + j;
            float v = p[h * W + w];
            sum += v;
            if (v > best) {
                best = v;
                where = h * W + w;
            }
        }
    if (is_max) {
        y[id] = best;
        arg[id] = where;
    } else {
        y[id] = sum / (float)(k * k);
    }
}

// dx (+)= the pooled gradients that came from each input (gather over windows).
__kernel void pool_bwd(__global float *dx, int dxo, __global const float *dy, int dyo,
                       __global const int *arg, int NC, int H, int W, int k, int s, int OH, int OW,
                       int is_max, int acc) {
    int id = get_global_id(0);
    if (id >= NC * H * W) return;
    int w = id % W, h = (id / W) % H, nc = id / (W * H);
    int oh0 = h - k + 1 > 0 ? (h - k + 1 + s - 1) / s : 0, oh1 = min(h / s, OH - 1);
    int ow0 = w - k + 1 > 0 ? (w - k + 1 + s - 1) / s : 0, ow1 = min(w / s, OW - 1);
    float sum = 0.0f;
    for (int oh = oh0; oh <= oh1; oh++)
        for (int ow = ow0; ow <= ow1; ow++) {
            int o = (nc * OH + oh) * OW + ow;
            if (is_max) {
                if (arg[o] == h * W + w) sum += dy[dyo + o];
            } else {
                sum += dy[dyo + o];
            }
        }
    if (!is_max) sum /= (float)(k * k);
    dx[dxo + id] = acc ? dx[dxo + id] + sum : sum;
}

// Nearest upsampling by f: y[nc, h, w] = x[nc, h / f, w / f].
__kernel void upsample_fwd(__global float *y, __global const float *x, int xo, int NC, int H,
                           int W, int f) {
    int id = get_global_id(0);
    int OW = W * f, OH = H * f;
    if (id >= NC * OH * OW) return;
    int ow = id % OW, oh = (id / OW) % OH, nc = id / (OW * OH);
    y[id] = x[xo + (nc * H + oh / f) * W + ow / f];
}

__kernel void upsample_bwd(__global float *dx, int dxo, __global const float *dy, int dyo, int NC,
                           int H, int W, int f, int acc) {
    int id = get_global_id(0);
    if (id >= NC * H * W) return;
    int w = id % W, h = (id / W) % H, nc = id / (W * H);
    int OW = W * f;
    float sum = 0.0f;
    for (int i = 0; i < f; i++)
        for (int j = 0; j < f; j++) sum += dy[dyo + ((nc * H * f) + h * f + i) * OW + w * f + j];
    dx[dxo + id] = acc ? dx[dxo + id] + sum : sum;
}
