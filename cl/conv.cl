// Convolution helpers (im2col / col2im and the layout changes around the
// GEMM), pooling and nearest upsampling. NCHW everywhere. The GEMM works on
// "cols" layouts: (rows, N * Q) with Q = spatial positions of one image.

// cols (C*KH*KW, N*OH*OW): cols[(c*KH + kh)*KW + kw, (n*OH + oh)*OW + ow] =
// x[n, c, oh*s - p + kh, ow*s - p + kw] (0 outside). The plane (n, c) of x
// starts at xo + n*sn + c*sc: NCHW (sn = C*H*W, sc = H*W) or the GEMM's cols
// layout (C, N*H*W) (sn = H*W, sc = N*H*W). One work item writes the OH runs
// of OW outputs of one (row, image): the index arithmetic is per run, not per
// element, and stride 1 and 2 copy with vector loads/stores.
__kernel void im2col(__global float *cols, __global const float *x, int xo, int N, int C, int H,
                     int W, int KH, int KW, int s, int p, int OH, int OW, int sn, int sc) {
    int id = get_global_id(0);
    if (id >= C * KH * KW * N) return;
    int n = id % N, r = id / N;
    int kw = r % KW, kh = (r / KW) % KH, c = r / (KW * KH);
    int Q = OH * OW, w0 = kw - p; // w0: input column of ow = 0
    __global const float *img = x + xo + (size_t)n * sn + (size_t)c * sc;
    // Output columns [lo, hi) read inside the row; the rest are padding.
    int lo = w0 >= 0 ? 0 : min(OW, (-w0 + s - 1) / s);
    int hi = W - 1 - w0 >= 0 ? min(OW, (W - 1 - w0) / s + 1) : 0;
    hi = max(hi, lo);
    for (int oh = 0; oh < OH; oh++) {
        __global float *dst = cols + (size_t)r * N * Q + n * Q + oh * OW;
        int h = oh * s - p + kh, ow = 0;
        if (h < 0 || h >= H) {
            for (; ow + 3 < OW; ow += 4) vstore4((float4)(0.0f), 0, dst + ow);
            for (; ow < OW; ow++) dst[ow] = 0.0f;
            continue;
        }
        __global const float *src = img + h * W + w0; // src[ow * s] = x[.., h, ow*s + w0]
        for (; ow < lo; ow++) dst[ow] = 0.0f;
        if (s == 1) {
            for (; ow + 3 < hi; ow += 4) vstore4(vload4(0, src + ow), 0, dst + ow);
        } else if (s == 2) {
            for (; ow + 3 < hi && 2 * ow + w0 + 7 < W; ow += 4)
                vstore4(vload8(0, src + 2 * ow).even, 0, dst + ow);
        }
        for (; ow < hi; ow++) dst[ow] = src[ow * s];
        for (; ow < OW; ow++) dst[ow] = 0.0f;
    }
}

// wf (C, O, KH, KW) = w (O, C, KH, KW) with each kernel turned by 180 degrees:
// the input gradient of a stride-1 conv is the conv of its output gradient
// with these weights. One work item per element of wf.
__kernel void conv_flip_weights(__global float *wf, __global const float *w, int wo, int O, int C,
                                int KK) {
    int id = get_global_id(0);
    if (id >= O * C * KK) return;
    int t = id % KK, o = (id / KK) % O, c = id / (KK * O);
    wf[id] = w[wo + (o * C + c) * KK + (KK - 1 - t)];
}

// The adjoint of im2col: x[n, c, h, w] (+)= sum of the cols entries that read
// it (+ b[c] when has_b). A gather (no atomics): one work item per x plane
// (n, c), row by row; stride 1 sums float4 runs of the cols rows.
// One x row (n, c, h) of col2im: the row starts at bias (+ itself), then each
// tap (kh, kw) that reaches it adds its run of the cols matrix, shifted, as
// im2col copied it out (the row stays in L1 across the taps).
void col2im_row(__global float *dst, __global const float *cols, int n, int c, int h, int N, int W,
                int KH, int KW, int s, int p, int OH, int OW, int acc, float bias) {
    int Q = OH * OW, NQ = N * Q, w = 0;
    for (; w + 3 < W; w += 4)
        vstore4(acc ? vload4(0, dst + w) + bias : (float4)(bias), 0, dst + w);
    for (; w < W; w++) dst[w] = acc ? dst[w] + bias : bias;
    __global const float *base = cols + (size_t)c * KH * KW * NQ + n * Q;
    for (int kh = 0; kh < KH; kh++) {
        int t = h + p - kh;
        if (t < 0 || t % s) continue;
        int oh = t / s;
        if (oh >= OH) continue;
        for (int kw = 0; kw < KW; kw++) {
            __global const float *row = base + (size_t)(kh * KW + kw) * NQ + oh * OW;
            int off = kw - p; // x column of ow = 0
            int lo = off >= 0 ? 0 : min(OW, (-off + s - 1) / s);
            int hi = W - 1 - off >= 0 ? min(OW, (W - 1 - off) / s + 1) : 0;
            int ow = lo;
            __global float *d = dst + off; // d[ow * s] = x column ow*s + off
            if (s == 1)
                for (; ow + 3 < hi; ow += 4)
                    vstore4(vload4(0, d + ow) + vload4(0, row + ow), 0, d + ow);
            for (; ow < hi; ow++) d[ow * s] += row[ow];
        }
    }
}

__kernel void col2im(__global float *x, int xo, __global const float *cols, int N, int C, int H,
                     int W, int KH, int KW, int s, int p, int OH, int OW, int acc,
                     __global const float *b, int bo, int has_b) {
    int id = get_global_id(0);
    if (id >= N * C) return;
    int c = id % C, n = id / C;
    for (int h = 0; h < H; h++)
        col2im_row(x + xo + ((size_t)id * H + h) * W, cols, n, c, h, N, W, KH, KW, s, p, OH, OW, acc,
                   has_b ? b[bo + c] : 0.0f);
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

// y[n, o, q] (+)= act(src[o, n*Q + q] + b[o]); one work item per plane (n, o).
__kernel void cols_to_nchw(__global float *y, int yo, __global const float *src, int so, int N,
                           int O, int Q, __global const float *b, int bo, int has_b, int acc,
                           int act, float alpha) {
    int no = get_global_id(0);
    if (no >= N * O) return;
    int n = no / O, o = no - n * O;
    __global const float *s4 = src + so + (size_t)o * N * Q + n * Q;
    __global float *d4 = y + yo + (size_t)no * Q;
    float bias = has_b ? b[bo + o] : 0.0f;
    for (int q = 0; q < Q; q += 4) {
        float4 v = cact(act, ld4(s4, q, Q) + bias, alpha);
        if (acc) v += ld4(d4, q, Q);
        st4(d4, q, Q, v);
    }
}

// dst[o, n*Q + q] = y[n, o, q] * act'(out[n, o, q]) (act = NONE: a plain layout
// change); one work item per plane (n, o).
__kernel void nchw_to_cols(__global float *dst, __global const float *y, int yo, int N, int O,
                           int Q, __global const float *out, int oo, int act, float alpha) {
    int no = get_global_id(0);
    if (no >= N * O) return;
    int n = no / O, o = no - n * O;
    __global const float *src = y + yo + (size_t)no * Q, *yv = out + oo + (size_t)no * Q;
    __global float *d = dst + (size_t)o * N * Q + n * Q;
    for (int q = 0; q < Q; q += 4) {
        float4 v = ld4(src, q, Q);
        if (act) v *= cact_grad(act, ld4(yv, q, Q), alpha);
        st4(d, q, Q, v);
    }
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
// Max pooling records the winning input index (within the image plane). One
// work item per plane nc, row by row; 2x2 stride 2 reads float8 pairs of rows.
void pool_fwd_row(__global float *y, __global int *arg, __global const float *x, int xo, int nc,
                  int oh, int H, int W, int k, int s, int OH, int OW, int is_max) {
    int id = nc * OH + oh;
    __global const float *p = x + xo + (size_t)nc * H * W;
    __global float *yr = y + (size_t)id * OW;
    __global int *ar = arg + (size_t)id * OW;
    int ow = 0;
    if (k == 2 && s == 2) {
        __global const float *r0 = p + 2 * oh * W, *r1 = r0 + W;
        for (; ow + 3 < OW && 2 * ow + 7 < W; ow += 4) {
            float8 a = vload8(0, r0 + 2 * ow), b = vload8(0, r1 + 2 * ow);
            if (!is_max) {
                vstore4((a.even + a.odd + b.even + b.odd) * 0.25f, 0, yr + ow);
                continue;
            }
            int4 where = (int4)(2 * oh * W + 2 * ow) + (int4)(0, 2, 4, 6);
            float4 best = a.even;
            int4 at = where, m;
            m = a.odd > best; // first maximum wins, as the scalar loop
            best = select(best, a.odd, m);
            at = select(at, where + 1, m);
            m = b.even > best;
            best = select(best, b.even, m);
            at = select(at, where + W, m);
            m = b.odd > best;
            best = select(best, b.odd, m);
            at = select(at, where + W + 1, m);
            vstore4(best, 0, yr + ow);
            vstore4(at, 0, ar + ow);
        }
        for (; ow < OW; ow++) { // the row's tail, one window at a time
            float2 a = vload2(0, r0 + 2 * ow), b = vload2(0, r1 + 2 * ow);
            int where = 2 * oh * W + 2 * ow;
            float best = a.x;
            if (a.y > best) best = a.y, where = 2 * oh * W + 2 * ow + 1;
            if (b.x > best) best = b.x, where = (2 * oh + 1) * W + 2 * ow;
            if (b.y > best) best = b.y, where = (2 * oh + 1) * W + 2 * ow + 1;
            if (is_max) {
                yr[ow] = best;
                ar[ow] = where;
            } else {
                yr[ow] = (a.x + a.y + b.x + b.y) * 0.25f;
            }
        }
    }
    for (; ow < OW; ow++) {
        float best = -INFINITY, sum = 0.0f;
        int where = (oh * s) * W + ow * s;
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
            yr[ow] = best;
            ar[ow] = where;
        } else {
            yr[ow] = sum / (float)(k * k);
        }
    }
}

__kernel void pool_fwd(__global float *y, __global int *arg, __global const float *x, int xo,
                       int NC, int H, int W, int k, int s, int OH, int OW, int is_max) {
    int nc = get_global_id(0);
    if (nc >= NC) return;
    for (int oh = 0; oh < OH; oh++) pool_fwd_row(y, arg, x, xo, nc, oh, H, W, k, s, OH, OW, is_max);
}

// dx (+)= the pooled gradients that came from each input (gather over windows).
// One work item per plane nc, row by row; 2x2 stride 2 writes float8 runs.
void pool_bwd_row(__global float *dx, int dxo, __global const float *dy, int dyo,
                  __global const int *arg, int nc, int h, int H, int W, int k, int s, int OH, int OW,
                  int is_max, int acc) {
    int id = nc * H + h;
    __global float *dr = dx + dxo + (size_t)id * W;
    int w = 0;
    if (k == 2 && s == 2 && h / 2 < OH) {
        int o0 = (nc * OH + h / 2) * OW;
        __global const float *gr = dy + dyo + o0;
        __global const int *ar = arg + o0;
        for (; w + 7 < W && w / 2 + 3 < OW; w += 8) {
            float4 g = vload4(0, gr + w / 2), e, o;
            if (is_max) {
                int4 a = vload4(0, ar + w / 2), at = (int4)(h * W + w) + (int4)(0, 2, 4, 6);
                e = select((float4)(0.0f), g, a == at);
                o = select((float4)(0.0f), g, a == at + 1);
            } else {
                e = o = g * 0.25f;
            }
            float8 v = (float8)(e.x, o.x, e.y, o.y, e.z, o.z, e.w, o.w);
            if (acc) v += vload8(0, dr + w);
            vstore8(v, 0, dr + w);
        }
        for (; w + 1 < W && w / 2 < OW; w += 2) { // the row's tail, one window at a time
            float g = gr[w / 2];
            float2 v = (float2)(g * 0.25f);
            if (is_max) {
                int a = ar[w / 2];
                v = (float2)(a == h * W + w ? g : 0.0f, a == h * W + w + 1 ? g : 0.0f);
            }
            if (acc) v += vload2(0, dr + w);
            vstore2(v, 0, dr + w);
        }
    }
    int oh0 = h - k + 1 > 0 ? (h - k + 1 + s - 1) / s : 0, oh1 = min(h / s, OH - 1);
    for (; w < W; w++) {
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
        dr[w] = acc ? dr[w] + sum : sum;
    }
}

__kernel void pool_bwd(__global float *dx, int dxo, __global const float *dy, int dyo,
                       __global const int *arg, int NC, int H, int W, int k, int s, int OH, int OW,
                       int is_max, int acc) {
    int nc = get_global_id(0);
    if (nc >= NC) return;
    for (int h = 0; h < H; h++)
        pool_bwd_row(dx, dxo, dy, dyo, arg, nc, h, H, W, k, s, OH, OW, is_max, acc);
}

// Nearest upsampling by f: y[nc, h, w] = x[nc, h / f, w / f]. One work item
// per plane nc, row by row.
void upsample_fwd_row(__global float *y, __global const float *x, int xo, int nc, int oh, int H,
                      int W, int f) {
    int OW = W * f, id = nc * H * f + oh;
    __global const float *src = x + xo + ((size_t)nc * H + oh / f) * W;
    __global float *dst = y + (size_t)id * OW;
    int w = 0;
    if (f == 2)
        for (; w + 3 < W; w += 4) {
            float4 v = vload4(0, src + w);
            vstore8((float8)(v.x, v.x, v.y, v.y, v.z, v.z, v.w, v.w), 0, dst + 2 * w);
        }
    for (int ow = w * f; ow < OW; ow++) dst[ow] = src[ow / f];
}

__kernel void upsample_fwd(__global float *y, __global const float *x, int xo, int NC, int H,
                           int W, int f) {
    int nc = get_global_id(0);
    if (nc >= NC) return;
    for (int oh = 0; oh < H * f; oh++) upsample_fwd_row(y, x, xo, nc, oh, H, W, f);
}

// dx[nc, h, w] (+)= the sum of its f x f copies. One work item per plane nc.
void upsample_bwd_row(__global float *dx, int dxo, __global const float *dy, int dyo, int nc, int h,
                      int H, int W, int f, int acc) {
    int id = nc * H + h;
    int OW = W * f;
    __global const float *g = dy + dyo + ((size_t)nc * H * f + h * f) * OW;
    __global float *dr = dx + dxo + (size_t)id * W;
    int w = 0;
    if (f == 2)
        for (; w + 3 < W; w += 4) {
            float8 a = vload8(0, g + 2 * w), b = vload8(0, g + OW + 2 * w);
            float4 v = a.even + a.odd + b.even + b.odd;
            if (acc) v += vload4(0, dr + w);
            vstore4(v, 0, dr + w);
        }
    for (; w < W; w++) {
        float sum = 0.0f;
        for (int i = 0; i < f; i++)
            for (int j = 0; j < f; j++) sum += g[i * OW + w * f + j];
        dr[w] = acc ? dr[w] + sum : sum;
    }
}

__kernel void upsample_bwd(__global float *dx, int dxo, __global const float *dy, int dyo, int NC,
                           int H, int W, int f, int acc) {
    int nc = get_global_id(0);
    if (nc >= NC) return;
    for (int h = 0; h < H; h++) upsample_bwd_row(dx, dxo, dy, dyo, nc, h, H, W, f, acc);
}

// Space to depth: y (N, C*s*s, U, V), y[n, (c*s + i)*s + j, u, v] = x[n, c, u*s + i - p,
// v*s + j - p] (0 outside x). A stride-s conv whose kernel is a multiple of s is a
// stride-1 conv over y (ops_conv.c). One work item per row (n, channel of y, u).
__kernel void space_to_depth(__global float *y, int yo, __global const float *x, int xo, int N,
                             int C, int H, int W, int s, int p, int U, int V) {
    int id = get_global_id(0);
    if (id >= N * C * s * s * U) return;
    int u = id % U, r = id / U; // r = (n*C + c)*s*s + i*s + j
    int j = r % s, i = (r / s) % s, nc = r / (s * s);
    int h = u * s + i - p;
    __global float *dst = y + yo + (size_t)id * V;
    if (h < 0 || h >= H) {
        for (int v = 0; v < V; v++) dst[v] = 0.0f;
        return;
    }
    __global const float *src = x + xo + ((size_t)nc * H + h) * W;
    for (int v = 0; v < V; v++) {
        int w = v * s + j - p;
        dst[v] = w >= 0 && w < W ? src[w] : 0.0f;
    }
}

// Its gradient: dx[n, c, h, w] (+)= dy[n, (c*s + i)*s + j, u, v] with h + p = u*s + i and
// w + p = v*s + j (0 where (u, v) is outside y). Each x position has at most one copy in y:
// a gather, no sums. One work item per row (n, c, h) of dx.
__kernel void space_to_depth_bwd(__global float *dx, int dxo, __global const float *dy, int dyo,
                                 int N, int C, int H, int W, int s, int p, int U, int V, int acc) {
    int id = get_global_id(0);
    if (id >= N * C * H) return;
    int h = id % H, nc = id / H;
    int u = (h + p) / s, i = (h + p) % s;
    __global const float *src = dy + dyo + (((size_t)nc * s + i) * s * U + u) * V;
    __global float *dst = dx + dxo + (size_t)id * W;
    for (int w = 0; w < W; w++) {
        int v = (w + p) / s, j = (w + p) % s;
        float g = u < U && v < V ? src[(size_t)j * U * V + v] : 0.0f;
        dst[w] = acc ? dst[w] + g : g;
    }
}
