// Hidden Markov model E-step: emission rows, scaled forward and backward passes,
// and the sums that become expected counts.
//
// Layout: the steps of all sequences back to back, N in all; sequence b owns rows
// [offsets[b], offsets[b+1]) of every (N, KP) buffer, where KP is K rounded up to a
// multiple of 8 (the padded states have zero probability everywhere). One work-item
// walks one sequence through time inside the kernel, so a whole pass is one launch;
// the states are processed 8 at a time with float8 (one AVX2 register).
//
// Forward rows are stored unnormalised: u_t(j) = e_t(j) sum_i u_t-1(i) A_ij / c_t-1
// with c_t = sum_j u_t(j), so the normaliser of a row is summed while it is written.
// alpha_hat_t = u_t / c_t and log p(x) = sum_t (log c_t + scale_t).

// log p(x) = sum_t log c_t, without a log per step: the running product of the c_t is
// kept as mantissa * 2^exponent (the exponent bits are moved out after each multiply),
// and one log is taken at the end. Factors too small for that (below 2^-100) are logged
// directly.
typedef struct {
    float mant;  // in [0.5, 1)
    int expo;    // sum of the exponents moved out
    float small; // sum of logs of tiny factors
} logprod;

inline void logprod_mul(logprod *p, float s) {
    if (s < 7.9e-31f) { // 2^-100: keep mant normal whatever comes
        p->small += log(s);
        return;
    }
    float m = p->mant * s;
    int bits = as_int(m);
    p->expo += ((bits >> 23) & 0xff) - 126;
    p->mant = as_float((bits & 0x807fffff) | (126 << 23));
}

inline float logprod_log(const logprod *p) {
    return log(p->mant) + (float)p->expo * 0.69314718055994531f + p->small;
}

inline float hsum8(float8 v) {
    float4 h = v.lo + v.hi;
    return (h.x + h.y) + (h.z + h.w);
}

// Kahan summation: the log-likelihood of a 10,000-step sequence keeps its digits.
inline void kahan_add(float *sum, float *comp, float v) {
    float y = v - *comp;
    float t = *sum + y;
    *comp = (t - *sum) - y;
    *sum = t;
}

// Diagonal Gaussian: log N(x; mu_k, var_k) = log_norm_k - 0.5 sum_d (x_d - mu_kd)^2 / var_kd,
// 8 states at a time: means_t and inv_var_t are (D, KP) (transposed, zero-padded) and
// log_norm (KP) is -inf for the padded states, so they get probability 0. Rows are
// divided by their largest entry (scale_n = its log) so nothing underflows.
__kernel void hmm_emit_gaussian(__global float *emit, __global float *scale,
                                __global const float *values, __global const float *means_t,
                                __global const float *inv_var_t, __global const float *log_norm,
                                const int KP, const int D, const int N) {
    int n = get_global_id(0);
    if (n >= N) return;
    __global const float *x = values + (size_t)n * D;
    __global float *row = emit + (size_t)n * KP;
    float8 mx = -INFINITY;
    for (int kc = 0; kc < KP / 8; kc++) {
        float8 q = 0.0f;
        for (int d = 0; d < D; d++) {
            float8 diff = (float8)x[d] - vload8(kc, means_t + (size_t)d * KP);
            q = fma(diff * diff, vload8(kc, inv_var_t + (size_t)d * KP), q);
        }
        float8 lp = vload8(kc, log_norm) - 0.5f * q;
        vstore8(lp, kc, row);
        mx = fmax(mx, lp);
    }
    float4 m4 = fmax(mx.lo, mx.hi);
    float m = fmax(fmax(m4.x, m4.y), fmax(m4.z, m4.w));
    for (int kc = 0; kc < KP / 8; kc++) vstore8(exp(vload8(kc, row) - m), kc, row);
    scale[n] = m;
}

// One step of the forward recursion for 16 states from chunk jc: two independent
// accumulators per chunk so that the FMA chains overlap.
#define FORWARD_ROW(acc, jc)                                                                    \
    do {                                                                                        \
        float8 a0 = 0.0f, a1 = 0.0f;                                                            \
        __global const float *tr = trans + (jc) * 8;                                            \
        int i = 0;                                                                              \
        for (; i + 1 < K; i += 2) {                                                             \
            a0 = fma((float8)prev[i], vload8(0, tr + (size_t)i * KP), a0);                      \
            a1 = fma((float8)prev[i + 1], vload8(0, tr + (size_t)(i + 1) * KP), a1);            \
        }                                                                                       \
        if (i < K) a0 = fma((float8)prev[i], vload8(0, tr + (size_t)i * KP), a0);               \
        acc = a0 + a1;                                                                          \
    } while (0)

// Two chunks (16 states) at once: each prev[i] is broadcast once for both, and four
// accumulators (even/odd i) keep four FMA chains in flight.
#define FORWARD_PAIR(acc0, acc1, jc)                                                            \
    do {                                                                                        \
        float8 a0 = 0.0f, a1 = 0.0f, b0 = 0.0f, b1 = 0.0f;                                      \
        __global const float *tr = trans + (jc) * 8;                                            \
        int i = 0;                                                                              \
        for (; i + 1 < K; i += 2) {                                                             \
            float8 p = (float8)prev[i], q = (float8)prev[i + 1];                                \
            __global const float *r0 = tr + (size_t)i * KP, *r1 = r0 + KP;                      \
            a0 = fma(p, vload8(0, r0), a0);                                                     \
            b0 = fma(p, vload8(1, r0), b0);                                                     \
            a1 = fma(q, vload8(0, r1), a1);                                                     \
            b1 = fma(q, vload8(1, r1), b1);                                                     \
        }                                                                                       \
        if (i < K) {                                                                            \
            float8 p = (float8)prev[i];                                                         \
            a0 = fma(p, vload8(0, tr + (size_t)i * KP), a0);                                    \
            b0 = fma(p, vload8(1, tr + (size_t)i * KP), b0);                                    \
        }                                                                                       \
        acc0 = a0 + a1;                                                                         \
        acc1 = b0 + b1;                                                                         \
    } while (0)

// Forward pass: one item per sequence. alpha, emit (N, KP); trans (KP, KP) padded.
// Categorical models read the emission row straight from the table emission_t (M, KP)
// by symbol (symbols != 0); others read emit.
__kernel void hmm_forward(__global float *alpha, __global float *c, __global float *loglik,
                          __global const float *emit, __global const float *scale,
                          __global const int *symbols, __global const float *emission_t,
                          __global const int *offsets, __global const float *startprob,
                          __global const float *trans, const int K, const int KP,
                          const int n_seq, const int categorical) {
    int b = get_global_id(0);
    if (b >= n_seq) return;
    int t0 = offsets[b], T = offsets[b + 1] - t0;
    __global float *u = alpha + (size_t)t0 * KP;
    __global const float *e =
        categorical ? emission_t + (size_t)symbols[t0] * KP : emit + (size_t)t0 * KP;
    float s = 0;
    for (int jc = 0; jc < KP / 8; jc++) {
        float8 v = vload8(jc, startprob) * vload8(jc, e);
        vstore8(v, jc, u);
        s += hsum8(v);
    }
    float sc = 0, comp = 0; // sum of the emission rows' log scales (Gaussian)
    logprod lp = {0.5f, 1, 0.0f};
    for (int t = 1; t < T; t++) {
        __global const float *prev = u;
        u += KP;
        e = categorical ? emission_t + (size_t)symbols[t0 + t] * KP : emit + (size_t)(t0 + t) * KP;
        c[t0 + t - 1] = s;
        logprod_mul(&lp, s);
        if (!categorical) kahan_add(&sc, &comp, scale[t0 + t - 1]);
        float inv = s > 0 ? 1.0f / s : 0.0f;
        s = 0;
        int jc = 0;
        for (; jc + 1 < KP / 8; jc += 2) {
            float8 acc0, acc1;
            FORWARD_PAIR(acc0, acc1, jc);
            acc0 *= inv * vload8(jc, e);
            acc1 *= inv * vload8(jc + 1, e);
            vstore8(acc0, jc, u);
            vstore8(acc1, jc + 1, u);
            s += hsum8(acc0 + acc1);
        }
        if (jc < KP / 8) {
            float8 acc0;
            FORWARD_ROW(acc0, jc);
            acc0 *= inv * vload8(jc, e);
            vstore8(acc0, jc, u);
            s += hsum8(acc0);
        }
    }
    c[t0 + T - 1] = s;
    logprod_mul(&lp, s);
    if (!categorical) kahan_add(&sc, &comp, scale[t0 + T - 1]);
    loglik[b] = logprod_log(&lp) + sc;
}

// beta_t chunk ic = c_t * sum_j A_ij (g_t(j) / c_t), with g / c_t in row gn.
#define BACKWARD_ROW(acc, ic)                                                                   \
    do {                                                                                        \
        float8 a0 = 0.0f, a1 = 0.0f;                                                            \
        __global const float *tr = trans_t + (ic) * 8;                                          \
        int j = 0;                                                                              \
        for (; j + 1 < K; j += 2) {                                                             \
            a0 = fma((float8)gn[j], vload8(0, tr + (size_t)j * KP), a0);                        \
            a1 = fma((float8)gn[j + 1], vload8(0, tr + (size_t)(j + 1) * KP), a1);              \
        }                                                                                       \
        if (j < K) a0 = fma((float8)gn[j], vload8(0, tr + (size_t)j * KP), a0);                 \
        acc = (a0 + a1) * c_t;                                                                  \
    } while (0)

#define BACKWARD_PAIR(acc0, acc1, ic)                                                           \
    do {                                                                                        \
        float8 a0 = 0.0f, a1 = 0.0f, b0 = 0.0f, b1 = 0.0f;                                      \
        __global const float *tr = trans_t + (ic) * 8;                                          \
        int j = 0;                                                                              \
        for (; j + 1 < K; j += 2) {                                                             \
            float8 p = (float8)gn[j], q = (float8)gn[j + 1];                                    \
            __global const float *r0 = tr + (size_t)j * KP, *r1 = r0 + KP;                      \
            a0 = fma(p, vload8(0, r0), a0);                                                     \
            b0 = fma(p, vload8(1, r0), b0);                                                     \
            a1 = fma(q, vload8(0, r1), a1);                                                     \
            b1 = fma(q, vload8(1, r1), b1);                                                     \
        }                                                                                       \
        if (j < K) {                                                                            \
            float8 p = (float8)gn[j];                                                           \
            a0 = fma(p, vload8(0, tr + (size_t)j * KP), a0);                                    \
            b0 = fma(p, vload8(1, tr + (size_t)j * KP), b0);                                    \
        }                                                                                       \
        acc0 = (a0 + a1) * c_t;                                                                 \
        acc1 = (b0 + b1) * c_t;                                                                 \
    } while (0)

// Backward pass: one item per sequence. With g_t(j) = e_t+1(j) beta_t+1(j) / c_t+1:
//   beta_t(i) = sum_j A_ij g_t(j),   gamma_t(i) = u_t(i) beta_t(i) / c_t,
// and emit row t+1 is overwritten by g_t / c_t, so that the expected transitions are
//   xi(i, j) = A_ij * sum_t u_t(i) (g_t(j) / c_t) = A_ij * (U^T G)(i, j)
// summed over every sequence at once (row offsets[b] is zeroed: it pairs with the
// previous sequence's last step). beta_t waits in gamma's row t until step t-1 turns
// it into gamma_t. trans_t (KP, KP) is A transposed and padded.
__kernel void hmm_backward(__global float *gamma, __global float *emit,
                           __global const float *alpha, __global const float *c,
                           __global const int *symbols, __global const float *emission_t,
                           __global const int *offsets, __global const float *trans_t,
                           const int K, const int KP, const int n_seq, const int categorical) {
    int b = get_global_id(0);
    if (b >= n_seq) return;
    int t0 = offsets[b], T = offsets[b + 1] - t0;
    __global float *g_row = gamma + (size_t)(t0 + T - 1) * KP;
    for (int jc = 0; jc < KP / 8; jc++) vstore8((float8)1.0f, jc, g_row); // beta_T = 1
    for (int t = T - 2; t >= 0; t--) {
        size_t row = (size_t)(t0 + t) * KP, next = row + KP;
        float c_next = c[t0 + t + 1], c_t = c[t0 + t];
        float inv_next = c_next > 0 ? 1.0f / c_next : 0.0f, inv_t = c_t > 0 ? 1.0f / c_t : 0.0f;
        __global const float *e =
            categorical ? emission_t + (size_t)symbols[t0 + t + 1] * KP : emit + next;
        __global float *gn = emit + next;
        for (int jc = 0; jc < KP / 8; jc++) {
            float8 beta = vload8(jc, gamma + next);
            float8 g = vload8(jc, e) * beta * inv_next;
            vstore8(g * inv_t, jc, gn);                                           // G row t+1
            vstore8(vload8(jc, alpha + next) * beta * inv_next, jc, gamma + next); // gamma_t+1
        }
        int ic = 0;
        for (; ic + 1 < KP / 8; ic += 2) {
            float8 acc0, acc1;
            BACKWARD_PAIR(acc0, acc1, ic);
            vstore8(acc0, ic, gamma + row);
            vstore8(acc1, ic + 1, gamma + row);
        }
        if (ic < KP / 8) {
            float8 acc0;
            BACKWARD_ROW(acc0, ic);
            vstore8(acc0, ic, gamma + row);
        }
    }
    size_t first = (size_t)t0 * KP;
    float c0 = c[t0], inv0 = c0 > 0 ? 1.0f / c0 : 0.0f;
    for (int jc = 0; jc < KP / 8; jc++) {
        vstore8(vload8(jc, alpha + first) * vload8(jc, gamma + first) * inv0, jc, gamma + first);
        vstore8((float8)0.0f, jc, emit + first);
    }
}

// Expected starts: out(k) = sum_b gamma_first(b)(k). One item per state.
__kernel void hmm_start_stats(__global float *out, __global const float *gamma,
                              __global const int *offsets, const int n_seq, const int K,
                              const int KP) {
    int k = get_global_id(0);
    if (k >= K) return;
    float sum = 0, comp = 0;
    for (int b = 0; b < n_seq; b++) kahan_add(&sum, &comp, gamma[(size_t)offsets[b] * KP + k]);
    out[k] = sum;
}

// Expected emissions of each symbol, per chunk of rows (no atomics): item g owns the
// table partial(g) (M, KP) and adds gamma row r into row symbols[r] of it, streaming
// through its chunk of gamma; hmm_sum_partials then adds the tables.
__kernel void hmm_symbol_partials(__global float *partial, __global const float *gamma,
                                  __global const int *symbols, const int KP, const int M,
                                  const int rows, const int chunk) {
    int g = get_global_id(0);
    int r0 = g * chunk, r1 = min(rows, r0 + chunk);
    if (r0 >= rows) return;
    __global float *table = partial + (size_t)g * M * KP;
    for (int i = 0; i < M * KP / 8; i++) vstore8((float8)0.0f, i, table);
    for (int r = r0; r < r1; r++) {
        __global float *dst = table + (size_t)symbols[r] * KP;
        __global const float *src = gamma + (size_t)r * KP;
        for (int jc = 0; jc < KP / 8; jc++) vstore8(vload8(jc, dst) + vload8(jc, src), jc, dst);
    }
}

// Sums of products over rows, by per-chunk partials (no atomics):
//   partial(g, p, q) = sum over rows r of chunk g of a(r, p) * b(r + b_shift, q)
// a (rows, lda), b (rows + b_shift, ldb), lda and ldb multiples of 8; each item takes
// 4 values of p (one float4) by 8 of q (one float8): items (ldb/8, P/4, chunks).
// Used for the expected transitions U^T G (b_shift 1) and for the Gaussian moments
// gamma^T [1 | x | x^2] (b_shift 0). partial is (n_chunks, P, ldb), P a multiple of 4.
__kernel void hmm_outer_partials(__global float *partial, __global const float *a, const int lda,
                                 __global const float *b, const int ldb, const int b_shift,
                                 const int P, const int rows, const int chunk) {
    int qc = get_global_id(0), pc = get_global_id(1), g = get_global_id(2);
    if (qc >= ldb / 8 || pc >= P / 4) return;
    int r0 = g * chunk, r1 = min(rows, r0 + chunk);
    float8 acc0 = 0.0f, acc1 = 0.0f, acc2 = 0.0f, acc3 = 0.0f;
    for (int r = r0; r < r1; r++) {
        float4 x = vload4(pc, a + (size_t)r * lda);
        float8 y = vload8(qc, b + (size_t)(r + b_shift) * ldb);
        acc0 = fma((float8)x.x, y, acc0);
        acc1 = fma((float8)x.y, y, acc1);
        acc2 = fma((float8)x.z, y, acc2);
        acc3 = fma((float8)x.w, y, acc3);
    }
    __global float *out = partial + ((size_t)g * P + (size_t)pc * 4) * ldb;
    vstore8(acc0, qc, out);
    vstore8(acc1, qc, out + ldb);
    vstore8(acc2, qc, out + 2 * ldb);
    vstore8(acc3, qc, out + 3 * ldb);
}

// The same with 16 columns of q per item (ldb a multiple of 16): each a value read
// feeds two FMAs, and half as many items stream the chunk. Items (ldb/16, P/4, chunks).
__kernel void hmm_outer_partials16(__global float *partial, __global const float *a,
                                   const int lda, __global const float *b, const int ldb,
                                   const int b_shift, const int P, const int rows,
                                   const int chunk) {
    int qc = get_global_id(0), pc = get_global_id(1), g = get_global_id(2);
    if (qc >= ldb / 16 || pc >= P / 4) return;
    int r0 = g * chunk, r1 = min(rows, r0 + chunk);
    float8 l0 = 0.0f, l1 = 0.0f, l2 = 0.0f, l3 = 0.0f, h0 = 0.0f, h1 = 0.0f, h2 = 0.0f, h3 = 0.0f;
    for (int r = r0; r < r1; r++) {
        float4 x = vload4(pc, a + (size_t)r * lda);
        __global const float *row = b + (size_t)(r + b_shift) * ldb + qc * 16;
        float8 lo = vload8(0, row), hi = vload8(1, row);
        l0 = fma((float8)x.x, lo, l0);
        h0 = fma((float8)x.x, hi, h0);
        l1 = fma((float8)x.y, lo, l1);
        h1 = fma((float8)x.y, hi, h1);
        l2 = fma((float8)x.z, lo, l2);
        h2 = fma((float8)x.z, hi, h2);
        l3 = fma((float8)x.w, lo, l3);
        h3 = fma((float8)x.w, hi, h3);
    }
    __global float *out = partial + ((size_t)g * P + (size_t)pc * 4) * ldb + qc * 16;
    vstore8(l0, 0, out);
    vstore8(h0, 1, out);
    vstore8(l1, 0, out + ldb);
    vstore8(h1, 1, out + ldb);
    vstore8(l2, 0, out + 2 * ldb);
    vstore8(h2, 1, out + 2 * ldb);
    vstore8(l3, 0, out + 3 * ldb);
    vstore8(h3, 1, out + 3 * ldb);
}

// out(i) = sum_g partial(g, i) over n_chunks chunks; one item per entry.
__kernel void hmm_sum_partials(__global float *out, __global const float *partial,
                               const int n_chunks, const int n) {
    int i = get_global_id(0);
    if (i >= n) return;
    float sum = 0, comp = 0;
    for (int g = 0; g < n_chunks; g++) kahan_add(&sum, &comp, partial[(size_t)g * n + i]);
    out[i] = sum;
}
