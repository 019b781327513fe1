// Every op's check: shapes from four sizes, the device call, and a plain-C
// reference in double precision (the definition the kernels must match).
#include <math.h>
#include <string.h>

#include "latentcl/rng.h"
#include "tensor/gradcheck.h"
#include "tensor/ops_gn_act.h"

static void shape_in(lc_case_cfg *c, int i, int ndim, int64_t a, int64_t b, int64_t d2,
                     int64_t d3) {
    int64_t s[4] = {a, b, d2, d3};
    c->ndim[i] = ndim;
    for (int d = 0; d < ndim; d++)
        c->shape[i][d] = s[d];
    if (i + 1 > c->n_in) c->n_in = i + 1;
}

static int64_t numel_in(const lc_case_cfg *c, int i) {
    int64_t n = 1;
    for (int d = 0; d < c->ndim[i]; d++)
        n *= c->shape[i][d];
    return n;
}

// --- matmul family --------------------------------------------------------
// ip[0] = trans_a, ip[1] = trans_b, ip[2..4] = M, N, K, ip[5] = batch (0: plain).

static void mm_setup(lc_case_cfg *c, const int *sz, int ta, int tb, int batched) {
    int M = sz[0], K = sz[1], N = sz[2], B = batched ? sz[3] : 1;
    c->ip[0] = ta, c->ip[1] = tb, c->ip[2] = M, c->ip[3] = N, c->ip[4] = K, c->ip[5] = batched;
    if (batched) {
        shape_in(c, 0, 3, B, ta ? K : M, ta ? M : K, 0);
        shape_in(c, 1, 3, B, tb ? N : K, tb ? K : N, 0);
    } else {
        shape_in(c, 0, 2, ta ? K : M, ta ? M : K, 0, 0);
        shape_in(c, 1, 2, tb ? N : K, tb ? K : N, 0, 0);
    }
    c->out_numel = (int64_t)B * M * N;
}
static void mm_nn(lc_case_cfg *c, const int *sz) { mm_setup(c, sz, 0, 0, 0); }
static void mm_tn(lc_case_cfg *c, const int *sz) { mm_setup(c, sz, 1, 0, 0); }
static void mm_nt(lc_case_cfg *c, const int *sz) { mm_setup(c, sz, 0, 1, 0); }
static void mm_tt(lc_case_cfg *c, const int *sz) { mm_setup(c, sz, 1, 1, 0); }
static void bmm_nn(lc_case_cfg *c, const int *sz) { mm_setup(c, sz, 0, 0, 1); }
static void bmm_nt(lc_case_cfg *c, const int *sz) { mm_setup(c, sz, 0, 1, 1); }

static lc_status mm_run(lc_ctx *x, lc_tensor **o, lc_tensor **in, const lc_case_cfg *c) {
    if (c->ip[5]) return lc_bmm(x, o, in[0], in[1], c->ip[0], c->ip[1]);
    return lc_matmul(x, o, in[0], in[1], c->ip[0], c->ip[1]);
}

static void mm_ref(double *out, double *const *in, const lc_case_cfg *c) {
    int ta = c->ip[0], tb = c->ip[1], M = c->ip[2], N = c->ip[3], K = c->ip[4];
    int B = c->ip[5] ? (int)c->shape[0][0] : 1;
    for (int b = 0; b < B; b++) {
        const double *A = in[0] + (size_t)b * M * K, *Bm = in[1] + (size_t)b * K * N;
        for (int i = 0; i < M; i++)
            for (int j = 0; j < N; j++) {
                double s = 0;
                for (int k = 0; k < K; k++)
                    s += (ta ? A[k * M + i] : A[i * K + k]) * (tb ? Bm[j * K + k] : Bm[k * N + j]);
                out[(size_t)b * M * N + i * N + j] = s;
            }
    }
}

// --- activations ------------------------------------------------------------

static double act_ref(int act, double x, double a, double b) {
    switch (act) {
    case LC_ACT_RELU: return x > 0 ? x : 0;
    case LC_ACT_LEAKY_RELU: return x > 0 ? x : a * x;
    case LC_ACT_SILU: return x / (1 + exp(-x));
    case LC_ACT_GELU: return 0.5 * x * (1 + erf(x / sqrt(2.0)));
    case LC_ACT_SIGMOID: return 1 / (1 + exp(-x));
    case LC_ACT_TANH: return tanh(x);
    case LC_ACT_EXP: return exp(x);
    case LC_ACT_LOG: return log(x);
    case LC_ACT_SOFTPLUS: return log1p(exp(x));
    case LC_ACT_SCALE: return a * x + b;
    case LC_ACT_SQUARE: return x * x;
    default: return x;
    }
}

// ip[0] = act; fp[0], fp[1] = alpha, beta.
static void unary_setup(lc_case_cfg *c, const int *sz, int act) {
    shape_in(c, 0, 3, sz[0], sz[1], sz[2], 0);
    c->ip[0] = act;
    c->fp[0] = act == LC_ACT_LEAKY_RELU ? 0.1f : 1.7f;
    c->fp[1] = 0.3f;
    if (act == LC_ACT_RELU || act == LC_ACT_LEAKY_RELU) c->away = 1e-3f;
    if (act == LC_ACT_LOG) c->lo[0] = 0.2f, c->hi[0] = 2.0f;
    if (act != LC_ACT_LOG) c->lo[0] = -3.0f, c->hi[0] = 3.0f;
    c->out_numel = numel_in(c, 0);
}
#define UNARY_SETUP(fn, act)                                                                       \
    static void fn(lc_case_cfg *c, const int *sz) { unary_setup(c, sz, act); }
UNARY_SETUP(relu_setup, LC_ACT_RELU)
UNARY_SETUP(leaky_setup, LC_ACT_LEAKY_RELU)
UNARY_SETUP(silu_setup, LC_ACT_SILU)
UNARY_SETUP(gelu_setup, LC_ACT_GELU)
UNARY_SETUP(sigmoid_setup, LC_ACT_SIGMOID)
UNARY_SETUP(tanh_setup, LC_ACT_TANH)
UNARY_SETUP(exp_setup, LC_ACT_EXP)
UNARY_SETUP(log_setup, LC_ACT_LOG)
UNARY_SETUP(softplus_setup, LC_ACT_SOFTPLUS)
UNARY_SETUP(scale_setup, LC_ACT_SCALE)

static lc_status unary_run(lc_ctx *x, lc_tensor **o, lc_tensor **in, const lc_case_cfg *c) {
    switch (c->ip[0]) {
    case LC_ACT_RELU: return lc_relu(x, o, in[0]);
    case LC_ACT_LEAKY_RELU: return lc_leaky_relu(x, o, in[0], c->fp[0]);
    case LC_ACT_SILU: return lc_silu(x, o, in[0]);
    case LC_ACT_GELU: return lc_gelu(x, o, in[0]);
    case LC_ACT_SIGMOID: return lc_sigmoid(x, o, in[0]);
    case LC_ACT_TANH: return lc_tanh(x, o, in[0]);
    case LC_ACT_EXP: return lc_exp(x, o, in[0]);
    case LC_ACT_LOG: return lc_log(x, o, in[0]);
    case LC_ACT_SOFTPLUS: return lc_softplus(x, o, in[0]);
    default: return lc_unary(x, o, in[0], (lc_act)c->ip[0], c->fp[0], c->fp[1]);
    }
}

static void unary_ref(double *out, double *const *in, const lc_case_cfg *c) {
    for (int64_t i = 0; i < c->out_numel; i++)
        out[i] = act_ref(c->ip[0], in[0][i], c->fp[0], c->fp[1]);
}

// A fused chain: scale(0.8, 0.1) -> tanh -> square -> exp.
static const lc_unary_step chain_steps[] = {
    {LC_ACT_SCALE, 0.8f, 0.1f}, {LC_ACT_TANH, 0, 0}, {LC_ACT_SQUARE, 0, 0}, {LC_ACT_EXP, 0, 0}};
static void chain_setup(lc_case_cfg *c, const int *sz) {
    shape_in(c, 0, 2, sz[0], sz[1] * sz[2], 0, 0);
    c->lo[0] = -2, c->hi[0] = 2;
    c->out_numel = numel_in(c, 0);
}
static lc_status chain_run(lc_ctx *x, lc_tensor **o, lc_tensor **in, const lc_case_cfg *c) {
    return lc_chain(x, o, in[0], 4, chain_steps);
}
static void chain_ref(double *out, double *const *in, const lc_case_cfg *c) {
    for (int64_t i = 0; i < c->out_numel; i++) {
        double v = in[0][i];
        for (int s = 0; s < 4; s++)
            v = act_ref(chain_steps[s].act, v, chain_steps[s].alpha, chain_steps[s].beta);
        out[i] = v;
    }
}

// --- bias + activation, linear ----------------------------------------------

static void bias_act_setup(lc_case_cfg *c, const int *sz, int act) {
    shape_in(c, 0, 2, sz[0], sz[1], 0, 0);
    shape_in(c, 1, 1, sz[1], 0, 0, 0);
    c->ip[0] = act;
    c->fp[0] = 0.1f;
    c->lo[0] = -2, c->hi[0] = 2;
    if (act == LC_ACT_RELU || act == LC_ACT_LEAKY_RELU) c->lo[1] = -0.0f, c->hi[1] = 0.0f;
    c->out_numel = numel_in(c, 0);
}
static void bias_relu_setup(lc_case_cfg *c, const int *sz) {
    bias_act_setup(c, sz, LC_ACT_RELU);
    c->away = 1e-3f;
    // x + b must stay away from 0: a bias of exactly 0 keeps the kink where `away` put it.
    c->lo[1] = 1e-9f, c->hi[1] = 2e-9f;
}
static void bias_gelu_setup(lc_case_cfg *c, const int *sz) { bias_act_setup(c, sz, LC_ACT_GELU); }
static void bias_silu_setup(lc_case_cfg *c, const int *sz) { bias_act_setup(c, sz, LC_ACT_SILU); }
static void bias_tanh_setup(lc_case_cfg *c, const int *sz) { bias_act_setup(c, sz, LC_ACT_TANH); }
static lc_status bias_act_run(lc_ctx *x, lc_tensor **o, lc_tensor **in, const lc_case_cfg *c) {
    return lc_bias_act(x, o, in[0], in[1], (lc_act)c->ip[0], c->fp[0]);
}
static void bias_act_ref(double *out, double *const *in, const lc_case_cfg *c) {
    int64_t C = c->shape[0][1];
    for (int64_t i = 0; i < c->out_numel; i++)
        out[i] = act_ref(c->ip[0], in[0][i] + in[1][i % C], c->fp[0], 0);
}

// linear: x (N, in), w (out, in), b (out); act from ip[0].
static void linear_setup(lc_case_cfg *c, const int *sz) {
    shape_in(c, 0, 2, sz[0], sz[1], 0, 0);
    shape_in(c, 1, 2, sz[2], sz[1], 0, 0);
    shape_in(c, 2, 1, sz[2], 0, 0, 0);
    c->ip[0] = LC_ACT_GELU;
    c->out_numel = (int64_t)sz[0] * sz[2];
}
static void linear_none_setup(lc_case_cfg *c, const int *sz) {
    linear_setup(c, sz);
    c->ip[0] = LC_ACT_NONE; // bias written first, the GEMM adds onto it
}
static lc_status linear_run(lc_ctx *x, lc_tensor **o, lc_tensor **in, const lc_case_cfg *c) {
    return lc_linear_act(x, o, in[0], in[1], in[2], (lc_act)c->ip[0], 0);
}
static void linear_ref(double *out, double *const *in, const lc_case_cfg *c) {
    int64_t N = c->shape[0][0], I = c->shape[0][1], O = c->shape[1][0];
    for (int64_t n = 0; n < N; n++)
        for (int64_t o = 0; o < O; o++) {
            double s = in[2][o];
            for (int64_t i = 0; i < I; i++)
                s += in[0][n * I + i] * in[1][o * I + i];
            out[n * O + o] = act_ref(c->ip[0], s, 0, 0);
        }
}

// --- broadcast binary ops: a (A, B, C), b (B, C) or (C) ---------------------

static void binary_setup(lc_case_cfg *c, const int *sz, int op) {
    shape_in(c, 0, 3, sz[0], sz[1], sz[2], 0);
    if (sz[3] % 2)
        shape_in(c, 1, 2, sz[1], sz[2], 0, 0);
    else
        shape_in(c, 1, 1, sz[2], 0, 0, 0);
    c->ip[0] = op;
    c->out_numel = numel_in(c, 0);
}
static void add_setup(lc_case_cfg *c, const int *sz) { binary_setup(c, sz, 0); }
static void sub_setup(lc_case_cfg *c, const int *sz) { binary_setup(c, sz, 1); }
static void mul_setup(lc_case_cfg *c, const int *sz) { binary_setup(c, sz, 2); }
static lc_status binary_run(lc_ctx *x, lc_tensor **o, lc_tensor **in, const lc_case_cfg *c) {
    if (c->ip[0] == 0) return lc_add(x, o, in[0], in[1]);
    if (c->ip[0] == 1) return lc_sub(x, o, in[0], in[1]);
    return lc_mul(x, o, in[0], in[1]);
}
static void binary_ref(double *out, double *const *in, const lc_case_cfg *c) {
    int64_t nb = numel_in(c, 1);
    for (int64_t i = 0; i < c->out_numel; i++) {
        double a = in[0][i], b = in[1][i % nb];
        out[i] = c->ip[0] == 0 ? a + b : c->ip[0] == 1 ? a - b : a * b;
    }
}

// --- reductions ----------------------------------------------------------------
// ip[0] = axis (LC_ALL_AXES: all), ip[1] = mean.

static void reduce_setup(lc_case_cfg *c, const int *sz, int axis, int mean) {
    shape_in(c, 0, 3, sz[0], sz[1], sz[2], 0);
    c->ip[0] = axis;
    c->ip[1] = mean;
    c->out_numel = axis == LC_ALL_AXES ? 1 : numel_in(c, 0) / c->shape[0][axis];
}
static void sum1_setup(lc_case_cfg *c, const int *sz) { reduce_setup(c, sz, 1, 0); }
static void mean2_setup(lc_case_cfg *c, const int *sz) { reduce_setup(c, sz, 2, 1); }
static void mean0_setup(lc_case_cfg *c, const int *sz) { reduce_setup(c, sz, 0, 1); }
static void meanall_setup(lc_case_cfg *c, const int *sz) { reduce_setup(c, sz, LC_ALL_AXES, 1); }
static lc_status reduce_run(lc_ctx *x, lc_tensor **o, lc_tensor **in, const lc_case_cfg *c) {
    return c->ip[1] ? lc_mean(x, o, in[0], c->ip[0]) : lc_sum(x, o, in[0], c->ip[0]);
}
static void reduce_ref(double *out, double *const *in, const lc_case_cfg *c) {
    int64_t s[3] = {c->shape[0][0], c->shape[0][1], c->shape[0][2]};
    int axis = c->ip[0];
    if (axis == LC_ALL_AXES) {
        double t = 0;
        for (int64_t i = 0; i < s[0] * s[1] * s[2]; i++)
            t += in[0][i];
        out[0] = c->ip[1] ? t / (double)(s[0] * s[1] * s[2]) : t;
        return;
    }
    int64_t outer = 1, inner = 1, n = s[axis];
    for (int i = 0; i < axis; i++)
        outer *= s[i];
    for (int i = axis + 1; i < 3; i++)
        inner *= s[i];
    for (int64_t o = 0; o < outer; o++)
        for (int64_t i = 0; i < inner; i++) {
            double t = 0;
            for (int64_t j = 0; j < n; j++)
                t += in[0][(o * n + j) * inner + i];
            out[o * inner + i] = c->ip[1] ? t / (double)n : t;
        }
}

// --- softmax ---------------------------------------------------------------------

static void softmax_setup(lc_case_cfg *c, const int *sz) {
    shape_in(c, 0, 2, sz[0] * sz[3], sz[1], 0, 0);
    c->lo[0] = -4, c->hi[0] = 4;
    c->out_numel = numel_in(c, 0);
}
static void log_softmax_setup(lc_case_cfg *c, const int *sz) {
    softmax_setup(c, sz);
    c->ip[0] = 1;
}
static lc_status softmax_run(lc_ctx *x, lc_tensor **o, lc_tensor **in, const lc_case_cfg *c) {
    return c->ip[0] ? lc_log_softmax(x, o, in[0]) : lc_softmax(x, o, in[0]);
}
static void softmax_ref(double *out, double *const *in, const lc_case_cfg *c) {
    int64_t R = c->shape[0][0], C = c->shape[0][1];
    for (int64_t r = 0; r < R; r++) {
        const double *p = in[0] + r * C;
        double m = -INFINITY, s = 0;
        for (int64_t j = 0; j < C; j++)
            m = fmax(m, p[j]);
        for (int64_t j = 0; j < C; j++)
            s += exp(p[j] - m);
        for (int64_t j = 0; j < C; j++)
            out[r * C + j] = c->ip[0] ? p[j] - m - log(s) : exp(p[j] - m) / s;
    }
}

// --- losses ----------------------------------------------------------------------

static void ce_setup(lc_case_cfg *c, const int *sz) {
    int K = sz[1] + 1;
    shape_in(c, 0, 2, sz[0] * sz[3], K, 0, 0);
    shape_in(c, 1, 1, sz[0] * sz[3], 0, 0, 0);
    c->int_range[1] = K;
    c->lo[0] = -3, c->hi[0] = 3;
    c->out_numel = 1;
}
static lc_status ce_run(lc_ctx *x, lc_tensor **o, lc_tensor **in, const lc_case_cfg *c) {
    return lc_cross_entropy(x, o, in[0], in[1]);
}
static void ce_ref(double *out, double *const *in, const lc_case_cfg *c) {
    int64_t R = c->shape[0][0], K = c->shape[0][1];
    double t = 0;
    for (int64_t r = 0; r < R; r++) {
        const double *p = in[0] + r * K;
        double m = -INFINITY, s = 0;
        for (int64_t j = 0; j < K; j++)
            m = fmax(m, p[j]);
        for (int64_t j = 0; j < K; j++)
            s += exp(p[j] - m);
        t += m + log(s) - p[(int)in[1][r]];
    }
    out[0] = t / (double)R;
}

// ip[0] = kind (0 bce, 1 mse, 2 kl), ip[1] = reduction.
static void pw_setup(lc_case_cfg *c, const int *sz, int kind) {
    shape_in(c, 0, 2, sz[0], sz[1] * sz[2], 0, 0);
    shape_in(c, 1, 2, sz[0], sz[1] * sz[2], 0, 0);
    c->ip[0] = kind;
    c->ip[1] = sz[3] % 3;
    if (kind == 0) c->lo[1] = 0, c->hi[1] = 1; // targets in [0, 1]
    c->lo[0] = -2, c->hi[0] = 2;
    c->out_numel = 1;
}
static void bce_setup(lc_case_cfg *c, const int *sz) { pw_setup(c, sz, 0); }
static void mse_setup(lc_case_cfg *c, const int *sz) { pw_setup(c, sz, 1); }
static void kl_setup(lc_case_cfg *c, const int *sz) { pw_setup(c, sz, 2); }
static lc_status pw_run(lc_ctx *x, lc_tensor **o, lc_tensor **in, const lc_case_cfg *c) {
    lc_reduction r = (lc_reduction)c->ip[1];
    if (c->ip[0] == 0) return lc_bce_logits(x, o, in[0], in[1], r);
    if (c->ip[0] == 1) return lc_mse(x, o, in[0], in[1], r);
    return lc_kl_normal(x, o, in[0], in[1], r);
}
static void pw_ref(double *out, double *const *in, const lc_case_cfg *c) {
    int64_t n = numel_in(c, 0);
    double t = 0;
    for (int64_t i = 0; i < n; i++) {
        double a = in[0][i], b = in[1][i];
        if (c->ip[0] == 0)
            t += fmax(a, 0) - a * b + log1p(exp(-fabs(a)));
        else if (c->ip[0] == 1)
            t += (a - b) * (a - b);
        else
            t += -0.5 * (1 + b - a * a - exp(b));
    }
    double scale = c->ip[1] == LC_REDUCE_SUM          ? 1
                   : c->ip[1] == LC_REDUCE_BATCH_MEAN ? 1.0 / (double)c->shape[0][0]
                                                      : 1.0 / (double)n;
    out[0] = t * scale;
}

#include "tensor/op_cases_more.inc"
#include "tensor/op_cases_gn_act.inc"
#include "tensor/op_cases_text.inc"

const lc_op_case lc_op_cases[] = {
    {"matmul", mm_nn, mm_run, mm_ref, 1e-5, 2e-3, {7, 33, 5, 1}},
    {"matmul_tn", mm_tn, mm_run, mm_ref, 1e-5, 2e-3, {7, 33, 5, 1}},
    {"matmul_nt", mm_nt, mm_run, mm_ref, 1e-5, 2e-3, {7, 33, 5, 1}},
    {"matmul_tt", mm_tt, mm_run, mm_ref, 1e-5, 2e-3, {7, 33, 5, 1}},
    {"bmm", bmm_nn, mm_run, mm_ref, 1e-5, 2e-3, {7, 9, 5, 3}},
    {"bmm_nt", bmm_nt, mm_run, mm_ref, 1e-5, 2e-3, {7, 9, 5, 3}},
    {"linear_gelu", linear_setup, linear_run, linear_ref, 1e-5, 2e-3, {9, 33, 7, 1}},
    {"linear", linear_none_setup, linear_run, linear_ref, 1e-5, 2e-3, {40, 33, 7, 1}},
    {"bias_relu", bias_relu_setup, bias_act_run, bias_act_ref, 1e-5, 2e-3, {9, 33, 7, 1}},
    {"bias_gelu", bias_gelu_setup, bias_act_run, bias_act_ref, 1e-5, 2e-3, {9, 33, 7, 1}},
    {"bias_silu", bias_silu_setup, bias_act_run, bias_act_ref, 1e-5, 2e-3, {9, 33, 7, 1}},
    {"bias_tanh", bias_tanh_setup, bias_act_run, bias_act_ref, 1e-5, 2e-3, {9, 33, 7, 1}},
    // 130 rows: the bias gradient sums five chunks of rows (the last one short).
    {"bias_gelu_tall", bias_gelu_setup, bias_act_run, bias_act_ref, 1e-5, 2e-3, {130, 3, 1, 1}},
    {"relu", relu_setup, unary_run, unary_ref, 1e-6, 2e-3, {3, 7, 33, 1}},
    {"leaky_relu", leaky_setup, unary_run, unary_ref, 1e-6, 2e-3, {3, 7, 33, 1}},
    {"silu", silu_setup, unary_run, unary_ref, 1e-5, 2e-3, {3, 7, 33, 1}},
    {"gelu", gelu_setup, unary_run, unary_ref, 1e-5, 2e-3, {3, 7, 33, 1}},
    {"sigmoid", sigmoid_setup, unary_run, unary_ref, 1e-5, 2e-3, {3, 7, 33, 1}},
    {"tanh", tanh_setup, unary_run, unary_ref, 1e-5, 2e-3, {3, 7, 33, 1}},
    {"exp", exp_setup, unary_run, unary_ref, 1e-5, 2e-3, {3, 7, 33, 1}},
    {"log", log_setup, unary_run, unary_ref, 1e-5, 2e-3, {3, 7, 33, 1}},
    {"softplus", softplus_setup, unary_run, unary_ref, 1e-5, 2e-3, {3, 7, 33, 1}},
    {"scale", scale_setup, unary_run, unary_ref, 1e-6, 2e-3, {3, 7, 33, 1}},
    {"chain", chain_setup, chain_run, chain_ref, 1e-5, 2e-3, {3, 7, 33, 1}},
    {"add", add_setup, binary_run, binary_ref, 1e-6, 2e-3, {3, 7, 33, 1}},
    {"sub", sub_setup, binary_run, binary_ref, 1e-6, 2e-3, {3, 7, 33, 2}},
    {"mul", mul_setup, binary_run, binary_ref, 1e-6, 2e-3, {3, 7, 33, 1}},
    {"sum", sum1_setup, reduce_run, reduce_ref, 1e-5, 2e-3, {3, 7, 33, 1}},
    {"mean", mean2_setup, reduce_run, reduce_ref, 1e-5, 2e-3, {3, 7, 33, 1}},
    {"mean_axis0", mean0_setup, reduce_run, reduce_ref, 1e-5, 2e-3, {3, 7, 33, 1}},
    {"mean_all", meanall_setup, reduce_run, reduce_ref, 1e-5, 2e-3, {3, 7, 33, 1}},
    {"softmax", softmax_setup, softmax_run, softmax_ref, 1e-5, 2e-3, {7, 33, 1, 3}},
    {"log_softmax", log_softmax_setup, softmax_run, softmax_ref, 1e-5, 2e-3, {7, 33, 1, 3}},
    {"cross_entropy", ce_setup, ce_run, ce_ref, 1e-5, 2e-3, {33, 9, 1, 3}},
    {"bce_logits", bce_setup, pw_run, pw_ref, 1e-5, 2e-3, {7, 3, 33, 0}},
    {"mse", mse_setup, pw_run, pw_ref, 1e-5, 2e-3, {7, 3, 33, 1}},
    {"kl_normal", kl_setup, pw_run, pw_ref, 1e-5, 2e-3, {7, 3, 33, 2}},
    MORE_OP_CASES GN_ACT_OP_CASES TEXT_OP_CASES{NULL, NULL, NULL, NULL, 0, 0, {0, 0, 0, 0}},
};
