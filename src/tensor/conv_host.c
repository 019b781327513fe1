// Stride-1 convolutions on a CPU device as host tasks: a direct AVX2 kernel
// in place of im2col + GEMM (see conv_host.h for when it is taken).
//
// Why: with 16-64 channels the im2col matrix is 9x the input, is written and
// read back through memory, and the GEMMs it feeds are thin (M = 16-64), so
// BLAS ran at ~10-20 GFLOP/s on them. Here a group of images is copied once
// into zero-padded planes that stay in L2 (a mosaic of small images sharing
// their padding, see flat_make), and the conv is computed on the planes'
// grid "flat": output position q (the plane position of its window's corner)
// reads input position q + kh*Wp + kw of every channel, so each tap is a
// shifted view of the same planes and no index arithmetic is done per
// element. The positions whose window leaves its image (those over padding)
// are computed and dropped.
//
// Forward:  y(o, q)    = sum_c sum_t w(o, c, t) xp(c, q + off_t)       (4 o x 24 q per block)
// dx:       the same kernel on dz padded by K - 1 - p with w turned 180 degrees
// dW:       dw(o, c, t) = sum_q dz(o, q) xp(c, q + off_t)     (4 o x 3 (c, t) columns per block)
// with dz zero at the dropped positions, so dW may read across them.
//
// Threads: the groups are taken in turn by the CPU threads of the device
// (lc_host_parallel). dW and db sum per group into their own slot, then over
// groups in a fixed order: the result does not depend on which thread took
// which group.
#include <immintrin.h>
#include <math.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "device/host_task.h"
#include "latentcl/gemm.h"
#include "tensor/conv_host.h"

enum {
    QB = 24,                  // output positions per forward block (3 vectors)
    OB = 4,                   // output channels per block
    TB = 3,                   // taps per dW block
    FLAT_TARGET = 1024,       // aim for at least this many flat positions per group
    GROUP_FLOATS = 96 * 1024, // at most this many floats of padded input per group
    ALIGN_FLOATS = 16,        // 64-byte alignment of each scratch region
};

static size_t round_up(size_t v, size_t m) { return (v + m - 1) / m * m; }

// The flat layout of one conv on padded planes: input channels cin, images (H, W)
// padded by (ph, pw), kernel (KH, KW), grid (OH, OW); a group of G images laid out
// as a mosaic `cols` images wide.
typedef struct {
    int cin, cout, H, W, ph, pw, KH, KW, OH, OW, G, cols;
    size_t Wp; // plane row: cols * (W + pw) + pw
    size_t S;  // channel stride of the planes
    size_t ld; // output row length: room for a full group, a multiple of QB
    size_t in; // floats of the planes + the tail that tap reads past the last may touch
} flat;

// The images of a group share their padding: image i sits in mosaic row i / cols,
// column i % cols, with ph zero rows above and below it and pw zero columns left and
// right, each shared with the neighbour. Its output (oh, ow) anchors at plane row
// (i / cols)*(H + ph) + oh, column (i % cols)*(W + pw) + ow, and reads KH rows and KW
// columns from there: its own image and padding only, as OH <= H + ph and OW <= W + pw
// (ph <= KH - 1, pw <= KW - 1). image_at(i) is that anchor of (0, 0); the image's
// element (h, w) is at image_at(i) + (ph + h)*Wp + pw + w.
static flat flat_make(int cin, int cout, int H, int W, int ph, int pw, int KH, int KW, int G,
                      int cols) {
    flat f = {cin, cout, H, W, ph, pw, KH, KW, H + 2 * ph - KH + 1, W + 2 * pw - KW + 1,
              G,   cols, 0, 0, 0,  0};
    int rows = (G + cols - 1) / cols;
    f.Wp = (size_t)cols * (W + pw) + pw;
    f.S = ((size_t)rows * (H + ph) + ph) * f.Wp;
    f.ld = round_up(f.S, QB);
    f.in = (size_t)cin * f.S + (size_t)(KH + 1) * f.Wp + KW + 2 * QB;
    return f;
}

static size_t image_at(const flat *f, int i) {
    return (size_t)(i / f->cols) * (f->H + f->ph) * f->Wp + (size_t)(i % f->cols) * (f->W + f->pw);
}

// Output positions to compute for g images: through the last valid one (image g - 1's
// last, as image_at grows with i), rounded up.
static size_t flat_len(const flat *f, int g, size_t mult) {
    return round_up(image_at(f, g - 1) + (size_t)(f->OH - 1) * f->Wp + f->OW, mult);
}

// Images per group and mosaic width: enough images for FLAT_TARGET positions, within
// GROUP_FLOATS, at least 4 groups per thread where the batch allows (the last groups
// balance the threads); a near-square mosaic of whole rows. area: plane floats per image.
static void group_layout(int *G, int *cols, int N, int cin, size_t area, int threads) {
    size_t g = (FLAT_TARGET + area - 1) / area,
           most = ((size_t)N + 4 * threads - 1) / (4 * threads);
    while (g > 1 && g * area * (size_t)cin > GROUP_FLOATS)
        g--;
    if (g > most) g = most;
    if (g > (size_t)N) g = (size_t)N;
    if (g < 1) g = 1;
    size_t c = 1;
    while (c * c < g)
        c++;
    if (g >= c) g = g / c * c;
    *G = (int)g;
    *cols = (int)c;
}
static size_t image_area(int H, int W, int ph, int pw) { return (size_t)(H + ph) * (W + pw); }

// --- activations (as cl/conv.cl's cact / cact_grad) ---------------------------------------
static float act_fwd(int act, float v, float a) {
    switch (act) {
    case LC_ACT_RELU: return v > 0.0f ? v : 0.0f;
    case LC_ACT_LEAKY_RELU: return v > 0.0f ? v : a * v;
    case LC_ACT_SIGMOID: return 1.0f / (1.0f + expf(-v));
    case LC_ACT_TANH: return tanhf(v);
    default: return v;
    }
}

static float act_grad(int act, float y, float a) {
    switch (act) {
    case LC_ACT_RELU: return y > 0.0f ? 1.0f : 0.0f;
    case LC_ACT_LEAKY_RELU: return y > 0.0f ? 1.0f : a;
    case LC_ACT_SIGMOID: return y * (1.0f - y);
    case LC_ACT_TANH: return 1.0f - y * y;
    default: return 1.0f;
    }
}

// --- layout changes ---------------------------------------------------------------------

// The padded planes of images n0 .. n0 + g - 1 of src (N, cin, H, W):
// xp[c*S + i*P + (h + ph)*Wp + w + pw] = src[n0 + i, c, h, w] (* act'(yv[...]) when yv).
// The padding is never written: it stays zero from the task's start.
static void pad_in(float *xp, const flat *f, const float *src, const float *yv, int act,
                   float alpha, int g) {
    size_t plane = (size_t)f->H * f->W;
    for (int i = 0; i < g; i++)
        for (int c = 0; c < f->cin; c++) {
            size_t si = ((size_t)i * f->cin + c) * plane;
            float *dst = xp + c * f->S + image_at(f, i) + (size_t)f->ph * f->Wp + f->pw;
            for (int h = 0; h < f->H; h++) {
                const float *s = src + si + (size_t)h * f->W;
                float *d = dst + (size_t)h * f->Wp;
                if (yv) {
                    const float *yr = yv + si + (size_t)h * f->W;
                    for (int w = 0; w < f->W; w++)
                        d[w] = s[w] * act_grad(act, yr[w], alpha);
                } else {
                    memcpy(d, s, (size_t)f->W * sizeof(float));
                }
            }
        }
}

// dst (N, cout, OH, OW) from images n0.. at dst (+)= act(yf[o*ld + i*P + oh*Wp + ow] + b[o]).
// One row of copy_out: the common cases as plain loops the compiler vectorises.
static void out_row(float *d, const float *s, int n, float b, int act, float alpha, int acc) {
    if (act == LC_ACT_NONE && !acc) {
        for (int w = 0; w < n; w++)
            d[w] = s[w] + b;
    } else if (act == LC_ACT_NONE) {
        for (int w = 0; w < n; w++)
            d[w] += s[w] + b;
    } else if (act == LC_ACT_RELU && !acc) {
        for (int w = 0; w < n; w++)
            d[w] = s[w] + b > 0.0f ? s[w] + b : 0.0f;
    } else {
        for (int w = 0; w < n; w++) {
            float v = act_fwd(act, s[w] + b, alpha);
            d[w] = acc ? d[w] + v : v;
        }
    }
}

static void copy_out(float *dst, const float *yf, const flat *f, int g, const float *bias, int act,
                     float alpha, int acc) {
    for (int i = 0; i < g; i++)
        for (int o = 0; o < f->cout; o++) {
            float b = bias ? bias[o] : 0.0f;
            float *d = dst + ((size_t)i * f->cout + o) * f->OH * f->OW;
            const float *s = yf + o * f->ld + image_at(f, i);
            for (int oh = 0; oh < f->OH; oh++, d += f->OW, s += f->Wp)
                out_row(d, s, f->OW, b, act, alpha, acc);
        }
}

// d[w] = dy[w] * act'(y[w]) (y NULL: act NONE), the sum of the row returned (in 8 lanes, then
// the lanes in order: the same sum whichever thread computes it).
static float dz_row(float *d, const float *dy, const float *y, int n, int act, float alpha) {
    if (!y)
        memcpy(d, dy, (size_t)n * sizeof(float));
    else
        for (int w = 0; w < n; w++)
            d[w] = dy[w] * act_grad(act, y[w], alpha);
    float lane[8] = {0};
    int w = 0;
    for (; w + 8 <= n; w += 8)
        for (int l = 0; l < 8; l++)
            lane[l] += d[w + l];
    for (; w < n; w++)
        lane[w % 8] += d[w];
    return ((lane[0] + lane[1]) + (lane[2] + lane[3])) +
           ((lane[4] + lane[5]) + (lane[6] + lane[7]));
}

// Weights as the kernel reads them: wp[((ob/4)*cin + c)*T*4 + t*4 + i] = weight of output
// channel ob + i (0 past cout), input channel c, tap t. From w (cout, cin, T), or for the
// input gradient (turned) from w (cin, cout, T) read at tap T - 1 - t.
static void pack_weights(float *wp, const float *w, int cout, int cin, int T, int turned) {
    int o4 = (int)round_up((size_t)cout, OB);
    for (int ob = 0; ob < o4; ob += OB)
        for (int c = 0; c < cin; c++)
            for (int t = 0; t < T; t++)
                for (int i = 0; i < OB; i++) {
                    int o = ob + i;
                    float v = 0.0f;
                    if (o < cout)
                        v = turned ? w[((size_t)c * cout + o) * T + (T - 1 - t)]
                                   : w[((size_t)o * cin + c) * T + t];
                    wp[(((size_t)ob / OB * cin + c) * T + t) * OB + i] = v;
                }
}

// --- the kernels ------------------------------------------------------------------------

#define AVX2 __attribute__((target("avx2,fma")))

// yf[o*ld + q] = sum_c sum_t wp(o, c, t) xp[c*S + q + off[t]] for q < L (a multiple of QB)
// and o < cout rounded up to OB.
AVX2 static void conv_flat(float *yf, const flat *f, const float *xp, const float *wp,
                           const int *off, size_t L) {
    int T = f->KH * f->KW, o4 = (int)round_up((size_t)f->cout, OB);
    for (size_t q0 = 0; q0 < L; q0 += QB)
        for (int ob = 0; ob < o4; ob += OB) {
            __m256 a00 = _mm256_setzero_ps(), a01 = a00, a02 = a00, a10 = a00, a11 = a00, a12 = a00,
                   a20 = a00, a21 = a00, a22 = a00, a30 = a00, a31 = a00, a32 = a00;
            const float *wb = wp + (size_t)ob * f->cin * T;
            for (int c = 0; c < f->cin; c++) {
                const float *xc = xp + c * f->S + q0, *wc = wb + (size_t)c * T * OB;
                for (int t = 0; t < T; t++, wc += OB) {
                    const float *xt = xc + off[t];
                    __m256 x0 = _mm256_loadu_ps(xt), x1 = _mm256_loadu_ps(xt + 8),
                           x2 = _mm256_loadu_ps(xt + 16), v;
                    v = _mm256_broadcast_ss(wc);
                    a00 = _mm256_fmadd_ps(v, x0, a00);
                    a01 = _mm256_fmadd_ps(v, x1, a01);
                    a02 = _mm256_fmadd_ps(v, x2, a02);
                    v = _mm256_broadcast_ss(wc + 1);
                    a10 = _mm256_fmadd_ps(v, x0, a10);
                    a11 = _mm256_fmadd_ps(v, x1, a11);
                    a12 = _mm256_fmadd_ps(v, x2, a12);
                    v = _mm256_broadcast_ss(wc + 2);
                    a20 = _mm256_fmadd_ps(v, x0, a20);
                    a21 = _mm256_fmadd_ps(v, x1, a21);
                    a22 = _mm256_fmadd_ps(v, x2, a22);
                    v = _mm256_broadcast_ss(wc + 3);
                    a30 = _mm256_fmadd_ps(v, x0, a30);
                    a31 = _mm256_fmadd_ps(v, x1, a31);
                    a32 = _mm256_fmadd_ps(v, x2, a32);
                }
            }
            float *y = yf + ob * f->ld + q0;
            _mm256_storeu_ps(y, a00), _mm256_storeu_ps(y + 8, a01), _mm256_storeu_ps(y + 16, a02);
            y += f->ld;
            _mm256_storeu_ps(y, a10), _mm256_storeu_ps(y + 8, a11), _mm256_storeu_ps(y + 16, a12);
            y += f->ld;
            _mm256_storeu_ps(y, a20), _mm256_storeu_ps(y + 8, a21), _mm256_storeu_ps(y + 16, a22);
            y += f->ld;
            _mm256_storeu_ps(y, a30), _mm256_storeu_ps(y + 8, a31), _mm256_storeu_ps(y + 16, a32);
        }
}

AVX2 static float hsum(__m256 v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

// dw[(o*cin + c)*T + t] = sum_{q < L} dz[o*ldz + q] xp[c*S + q + off[t]] for o < cout rounded
// up to OB (dz's rows past cout are zero), L a multiple of 8.
AVX2 static void dw_flat(float *dw, const flat *f, const float *dz, size_t ldz, const float *xp,
                         const int *off, size_t L) {
    // Columns j = c*T + t of dw, three at a time (1x1 kernels too); columns past the last
    // repeat it and are not stored.
    int T = f->KH * f->KW, o4 = (int)round_up((size_t)f->cout, OB), J = f->cin * T;
    for (int ob = 0; ob < o4; ob += OB)
        for (int j0 = 0; j0 < J; j0 += TB) {
            int j1 = j0 + 1 < J ? j0 + 1 : J - 1, j2 = j0 + 2 < J ? j0 + 2 : J - 1;
            const float *x0p = xp + (size_t)(j0 / T) * f->S + off[j0 % T],
                        *x1p = xp + (size_t)(j1 / T) * f->S + off[j1 % T],
                        *x2p = xp + (size_t)(j2 / T) * f->S + off[j2 % T], *d0p = dz + ob * ldz;
            __m256 a00 = _mm256_setzero_ps(), a01 = a00, a02 = a00, a10 = a00, a11 = a00, a12 = a00,
                   a20 = a00, a21 = a00, a22 = a00, a30 = a00, a31 = a00, a32 = a00;
            for (size_t q = 0; q < L; q += 8) {
                __m256 x0 = _mm256_loadu_ps(x0p + q), x1 = _mm256_loadu_ps(x1p + q),
                       x2 = _mm256_loadu_ps(x2p + q), d;
                d = _mm256_loadu_ps(d0p + q);
                a00 = _mm256_fmadd_ps(d, x0, a00);
                a01 = _mm256_fmadd_ps(d, x1, a01);
                a02 = _mm256_fmadd_ps(d, x2, a02);
                d = _mm256_loadu_ps(d0p + ldz + q);
                a10 = _mm256_fmadd_ps(d, x0, a10);
                a11 = _mm256_fmadd_ps(d, x1, a11);
                a12 = _mm256_fmadd_ps(d, x2, a12);
                d = _mm256_loadu_ps(d0p + 2 * ldz + q);
                a20 = _mm256_fmadd_ps(d, x0, a20);
                a21 = _mm256_fmadd_ps(d, x1, a21);
                a22 = _mm256_fmadd_ps(d, x2, a22);
                d = _mm256_loadu_ps(d0p + 3 * ldz + q);
                a30 = _mm256_fmadd_ps(d, x0, a30);
                a31 = _mm256_fmadd_ps(d, x1, a31);
                a32 = _mm256_fmadd_ps(d, x2, a32);
            }
            float s[OB][TB] = {{hsum(a00), hsum(a01), hsum(a02)},
                               {hsum(a10), hsum(a11), hsum(a12)},
                               {hsum(a20), hsum(a21), hsum(a22)},
                               {hsum(a30), hsum(a31), hsum(a32)}};
            for (int i = 0; i < OB; i++)
                for (int j = 0; j < TB && j0 + j < J; j++)
                    dw[(size_t)(ob + i) * J + j0 + j] = s[i][j];
        }
}

// --- tasks ------------------------------------------------------------------------------

// Tap offsets in the flat planes: off[kh*KW + kw] = kh*Wp + kw.
static void tap_offsets(int *off, const flat *f) {
    for (int kh = 0; kh < f->KH; kh++)
        for (int kw = 0; kw < f->KW; kw++)
            off[kh * f->KW + kw] = kh * f->Wp + kw;
}

// Scratch regions are carved from one arena buffer, each aligned.
static size_t region(size_t floats) { return round_up(floats ? floats : 1, ALIGN_FLOATS); }

enum { MAX_TAPS = 1024 };

typedef struct {
    const float *x, *w, *b;
    float *y;
    float *scratch; // packed weights, then per thread: padded input, output rows
    flat f;
    int N, act, threads, n_groups;
    float alpha;
    atomic_int next;
} fwd_task;

static size_t fwd_thread_floats(const flat *f) {
    return region(f->in) + region(round_up((size_t)f->cout, OB) * f->ld);
}
static size_t packed_floats(const flat *f) {
    return region(round_up((size_t)f->cout, OB) * f->cin * f->KH * f->KW);
}

static void fwd_body(void *arg, int t) {
    fwd_task *k = arg;
    const flat *f = &k->f;
    float *wp = k->scratch, *xp = wp + packed_floats(f) + (size_t)t * fwd_thread_floats(f),
          *yf = xp + region(f->in);
    int off[MAX_TAPS];
    tap_offsets(off, f);
    memset(xp, 0, f->in * sizeof(float));
    size_t plane_x = (size_t)f->cin * f->H * f->W, plane_y = (size_t)f->cout * f->OH * f->OW;
    for (;;) {
        int gi = atomic_fetch_add(&k->next, 1);
        if (gi >= k->n_groups) break;
        int n0 = gi * f->G, g = k->N - n0 < f->G ? k->N - n0 : f->G;
        pad_in(xp, f, k->x + n0 * plane_x, NULL, 0, 0.0f, g);
        conv_flat(yf, f, xp, wp, off, flat_len(f, g, QB));
        copy_out(k->y + n0 * plane_y, yf, f, g, k->b, k->act, k->alpha, 0);
    }
}

static void CL_CALLBACK fwd_run(void *p) {
    fwd_task *k = *(fwd_task **)p;
    pack_weights(k->scratch, k->w, k->f.cout, k->f.cin, k->f.KH * k->f.KW, 0);
    lc_host_parallel(k->threads, fwd_body, k);
    free(k);
}

int lc_conv_host_usable(lc_ctx *c, int stride, int KH, int KW, int p) {
    __builtin_cpu_init(); // (idempotent; needed before main in constructors only)
    int cpu_ok = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    const char *env = getenv("LATENTCL_HOST_CONV");
    if (env && !strcmp(env, "0")) return 0;
    int kmin = KH < KW ? KH : KW;
    return cpu_ok && stride == 1 && p <= kmin - 1 && KH * KW <= MAX_TAPS &&
           lc_host_tasks_ok(lc_ctx_dev(c));
}

static lc_status ptr_at(const float **out, cl_mem buf, size_t off) {
    float *p;
    LC_TRY(lc_host_ptr(&p, buf));
    *out = p + off;
    return LC_OK;
}

// Enqueues a task whose args block is a pointer to a heap job the task frees.
static lc_status enqueue_job(lc_device *dev, const char *name, void(CL_CALLBACK *fn)(void *),
                             void *job, const cl_mem *bufs, int n_bufs) {
    lc_status s = lc_host_task(dev, name, fn, &job, sizeof job, bufs, n_bufs);
    if (s != LC_OK) free(job);
    return s;
}

lc_status lc_conv_host_forward(lc_ctx *c, const lc_conv_host_shape *s, cl_mem y, size_t yo,
                               cl_mem x, size_t xo, cl_mem w, size_t wo, cl_mem b, size_t bo,
                               int act, float alpha) {
    lc_device *dev = lc_ctx_dev(c);
    int threads = lc_gemm_threads(dev);
    int G, cols;
    group_layout(&G, &cols, s->N, s->C, image_area(s->H, s->W, s->p, s->p), threads);
    flat f = flat_make(s->C, s->O, s->H, s->W, s->p, s->p, s->KH, s->KW, G, cols);
    cl_mem scratch;
    LC_TRY(lc_scratch(c, &scratch, packed_floats(&f) + (size_t)threads * fwd_thread_floats(&f)));
    fwd_task *k = calloc(1, sizeof *k);
    if (!k) return lc_fail(LC_ERR_NOMEM, "conv2d (host): out of memory");
    k->f = f;
    k->N = s->N, k->act = act, k->alpha = alpha, k->threads = threads;
    k->n_groups = (s->N + G - 1) / G;
    atomic_init(&k->next, 0);
    lc_status st = ptr_at(&k->x, x, xo);
    if (st == LC_OK) st = ptr_at(&k->w, w, wo);
    if (st == LC_OK && b) st = ptr_at(&k->b, b, bo);
    const float *yp = NULL, *sp = NULL;
    if (st == LC_OK) st = ptr_at(&yp, y, yo);
    if (st == LC_OK) st = ptr_at(&sp, scratch, 0);
    if (st != LC_OK) {
        free(k);
        return st;
    }
    k->y = (float *)yp, k->scratch = (float *)sp;
    cl_mem bufs[5] = {x, w, y, scratch, b};
    return enqueue_job(dev, "conv2d (host)", fwd_run, k, bufs, b ? 5 : 4);
}

// --- backward -----------------------------------------------------------------------------
// Per thread: x's padded planes (fx), dz in the forward's flat layout (rows of
// fx.ld, for dW), dz padded for the input gradient (fd) and its output rows.
// Per group: its dW (O4, C, T) and db (O) sums.

typedef struct {
    const float *dy, *y, *x, *w;
    float *gx, *gw, *gb;
    float *scratch;
    flat fx, fd; // fx: x's planes -> the forward's grid; fd: dz's planes -> x's grid
    int N, act, accx, accw, accb, threads, n_groups;
    float alpha;
    atomic_int next;
} bwd_task;

static size_t gw_floats(const flat *fx) {
    return region(round_up((size_t)fx->cout, OB) * fx->cin * fx->KH * fx->KW);
}
static size_t bwd_thread_floats(const bwd_task *k) {
    size_t o4 = round_up((size_t)k->fx.cout, OB), c4 = round_up((size_t)k->fd.cout, OB);
    size_t n = region(o4 * k->fx.ld); // dz rows for dW
    if (k->gw) n += region(k->fx.in);
    if (k->gx) n += region(k->fd.in) + region(c4 * k->fd.ld);
    return n;
}
static size_t group_floats(const bwd_task *k) {
    return (k->gw ? gw_floats(&k->fx) : 0) + region((size_t)k->fx.cout);
}

static void bwd_body(void *arg, int t) {
    bwd_task *k = arg;
    const flat *fx = &k->fx, *fd = &k->fd;
    int O = fx->cout;
    size_t o4 = round_up((size_t)O, OB);
    float *base = k->scratch + (k->gx ? packed_floats(fd) : 0) +
                  (size_t)k->n_groups * group_floats(k) + (size_t)t * bwd_thread_floats(k);
    float *dzf = base, *next = dzf + region(o4 * fx->ld), *xp = NULL, *dzp = NULL, *dxf = NULL;
    if (k->gw) xp = next, next += region(fx->in);
    if (k->gx) dzp = next, dxf = dzp + region(fd->in);
    memset(dzf, 0, o4 * fx->ld * sizeof(float));
    if (xp) memset(xp, 0, fx->in * sizeof(float));
    if (dzp) memset(dzp, 0, fd->in * sizeof(float));
    int offx[MAX_TAPS], offd[MAX_TAPS];
    tap_offsets(offx, fx);
    tap_offsets(offd, fd);
    size_t plane_x = (size_t)fx->cin * fx->H * fx->W, plane_y = (size_t)O * fx->OH * fx->OW;
    for (;;) {
        int gi = atomic_fetch_add(&k->next, 1);
        if (gi >= k->n_groups) break;
        int n0 = gi * fx->G, g = k->N - n0 < fx->G ? k->N - n0 : fx->G;
        float *gsum = k->scratch + (k->gx ? packed_floats(fd) : 0) + (size_t)gi * group_floats(k);
        float *dbs = gsum + (k->gw ? gw_floats(fx) : 0);
        // dz = dy * act'(y), into the forward's flat grid (dzf) and dz's padded planes (dzp).
        const float *dy = k->dy + n0 * plane_y, *yv = k->act ? k->y + n0 * plane_y : NULL;
        for (int o = 0; o < O; o++)
            dbs[o] = 0.0f;
        // dzf is zero wherever no dz is written, as dW reads it across the whole mosaic; a
        // partial group leaves a previous group's dz in the images it lacks.
        if (g < fx->G) memset(dzf, 0, (size_t)O * fx->ld * sizeof(float));
        for (int i = 0; i < g; i++)
            for (int o = 0; o < O; o++) {
                size_t si = ((size_t)i * O + o) * fx->OH * fx->OW;
                float *df = dzf + o * fx->ld + image_at(fx, i);
                float *dp =
                    dzp ? dzp + o * fd->S + image_at(fd, i) + (size_t)fd->ph * fd->Wp + fd->pw
                        : NULL;
                float sum = 0.0f;
                for (int oh = 0; oh < fx->OH; oh++) {
                    size_t j = si + (size_t)oh * fx->OW;
                    float *dr = df + (size_t)oh * fx->Wp;
                    sum += dz_row(dr, dy + j, yv ? yv + j : NULL, fx->OW, k->act, k->alpha);
                    if (dp) memcpy(dp + (size_t)oh * fd->Wp, dr, (size_t)fx->OW * sizeof(float));
                }
                dbs[o] += sum;
            }
        if (k->gw) {
            pad_in(xp, fx, k->x + n0 * plane_x, NULL, 0, 0.0f, g);
            dw_flat(gsum, fx, dzf, fx->ld, xp, offx, flat_len(fx, g, 8));
        }
        if (k->gx) {
            conv_flat(dxf, fd, dzp, k->scratch, offd, flat_len(fd, g, QB));
            copy_out(k->gx + n0 * plane_x, dxf, fd, g, NULL, 0, 0.0f, k->accx);
        }
    }
}

// Sums the groups' dW and db in group order (thread t takes every threads-th weight row).

static void reduce_body(void *arg, int t) {
    bwd_task *k = arg;
    const flat *fx = &k->fx;
    int O = fx->cout;
    size_t row = (size_t)fx->cin * fx->KH * fx->KW, stride = group_floats(k);
    const float *g0 = k->scratch + (k->gx ? packed_floats(&k->fd) : 0);
    for (int o = t; o < O; o += k->threads) {
        if (k->gw) {
            float *dst = k->gw + o * row;
            for (size_t j = 0; j < row; j++) {
                float v = 0.0f;
                for (int gi = 0; gi < k->n_groups; gi++)
                    v += g0[gi * stride + o * row + j];
                dst[j] = k->accw ? dst[j] + v : v;
            }
        }
        if (k->gb) {
            size_t at = k->gw ? gw_floats(fx) : 0;
            float v = 0.0f;
            for (int gi = 0; gi < k->n_groups; gi++)
                v += g0[gi * stride + at + o];
            k->gb[o] = k->accb ? k->gb[o] + v : v;
        }
    }
}

static void CL_CALLBACK bwd_run(void *p) {
    bwd_task *k = *(bwd_task **)p;
    if (k->gx) pack_weights(k->scratch, k->w, k->fd.cout, k->fd.cin, k->fd.KH * k->fd.KW, 1);
    lc_host_parallel(k->threads, bwd_body, k);
    if (k->gw || k->gb) lc_host_parallel(k->threads, reduce_body, k);
    free(k);
}

lc_status lc_conv_host_backward(lc_ctx *c, const lc_conv_host_shape *s,
                                const lc_conv_host_grads *gr) {
    if (!gr->gx && !gr->gw && !gr->gb) return LC_OK;
    lc_device *dev = lc_ctx_dev(c);
    int threads = lc_gemm_threads(dev);
    // One mosaic for x's planes and dz's (the same images in the same places).
    size_t ax = image_area(s->H, s->W, s->p, s->p),
           ad = image_area(s->OH, s->OW, s->KH - 1 - s->p, s->KW - 1 - s->p);
    int G, cols;
    group_layout(&G, &cols, s->N, s->C > s->O ? s->C : s->O, ax > ad ? ax : ad, threads);
    bwd_task *k = calloc(1, sizeof *k);
    if (!k) return lc_fail(LC_ERR_NOMEM, "conv2d backward (host): out of memory");
    k->fx = flat_make(s->C, s->O, s->H, s->W, s->p, s->p, s->KH, s->KW, G, cols);
    // dz (O planes of OH x OW) padded by K - 1 - p: its grid is x's (H, W).
    k->fd = flat_make(s->O, s->C, s->OH, s->OW, s->KH - 1 - s->p, s->KW - 1 - s->p, s->KH, s->KW, G,
                      cols);
    k->N = s->N, k->act = gr->act, k->alpha = gr->alpha, k->threads = threads;
    k->accx = gr->accx, k->accw = gr->accw, k->accb = gr->accb;
    k->n_groups = (s->N + G - 1) / G;
    atomic_init(&k->next, 0);
    // Placeholders so the size helpers see which targets are wanted.
    k->gx = gr->gx ? (float *)1 : NULL;
    k->gw = gr->gw ? (float *)1 : NULL;
    size_t floats = (gr->gx ? packed_floats(&k->fd) : 0) + (size_t)k->n_groups * group_floats(k) +
                    (size_t)threads * bwd_thread_floats(k);
    cl_mem scratch, bufs[8];
    int nb = 0;
    lc_status st = lc_scratch(c, &scratch, floats);
    const float *p = NULL;
#define PTR(field, buf, off)                                                                       \
    if (st == LC_OK) {                                                                             \
        st = ptr_at(&p, buf, off);                                                                 \
        k->field = (void *)p;                                                                      \
        bufs[nb++] = buf;                                                                          \
    }
    PTR(dy, gr->dy, gr->dyo);
    PTR(y, gr->y, gr->yo);
    PTR(x, gr->x, gr->xo);
    PTR(w, gr->w, gr->wo);
    PTR(scratch, scratch, 0);
    if (gr->gx) PTR(gx, gr->gx, gr->gxo);
    if (gr->gw) PTR(gw, gr->gw, gr->gwo);
    if (gr->gb) PTR(gb, gr->gb, gr->gbo);
#undef PTR
    if (st != LC_OK) {
        free(k);
        return st;
    }
    return enqueue_job(dev, "conv2d backward (host)", bwd_run, k, bufs, nb);
}
