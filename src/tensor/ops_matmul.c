// Matrix products through lc_gemm: matmul, batched matmul and the linear
// layer (GEMM + fused bias/activation). Forward and backward side by side.
#include "latentcl/gemm.h"
#include "tensor/tensor_internal.h"

// C (m, n) = alpha * op(A) op(B) + beta * C over `batch` matrices; each
// operand is given by its buffer, offset and stored row length (ld).
static lc_status mm(lc_ctx *c, int ta, int tb, size_t m, size_t n, size_t k, cl_mem a, size_t ao,
                    size_t lda, cl_mem b, size_t bo, size_t ldb, float beta, cl_mem y, size_t yo,
                    size_t ldy, size_t batch) {
    lc_matrix A = {a, ao, lda}, B = {b, bo, ldb}, C = {y, yo, ldy};
    if (batch == 1) return lc_gemm(lc_ctx_dev(c), ta, tb, m, n, k, 1.0f, A, B, beta, C);
    return lc_gemm_strided_batched(lc_ctx_dev(c), ta, tb, m, n, k, 1.0f, A, m * k, B, k * n, beta,
                                   C, m * n, batch);
}

// Node: iv[0] = trans_a, iv[1] = trans_b, iv[2..4] = M, N, K, iv[5] = batch.
static lc_status matmul_bw(lc_ctx *c, lc_node *nd) {
    lc_tensor *a = nd->in[0], *b = nd->in[1], *y = nd->out;
    int ta = (int)nd->iv[0], tb = (int)nd->iv[1];
    size_t M = (size_t)nd->iv[2], N = (size_t)nd->iv[3], K = (size_t)nd->iv[4],
           batch = (size_t)nd->iv[5];
    cl_mem gy;
    size_t gyo;
    lc_grad_source(y, &gy, &gyo);
    int wants, acc;
    cl_mem g;
    size_t go;
    LC_TRY(lc_grad_target(c, a, &wants, &g, &go, &acc));
    if (wants) {
        float beta = acc ? 1.0f : 0.0f;
        if (!ta) // dA (M, K) = dC op(B)^T
            LC_TRY(mm(c, 0, !tb, M, K, N, gy, gyo, N, b->buf, b->off, tb ? K : N, beta, g, go, K,
                      batch));
        else // A (K, M): dA = op(B) dC^T
            LC_TRY(mm(c, tb, 1, K, M, N, b->buf, b->off, tb ? K : N, gy, gyo, N, beta, g, go, M,
                      batch));
    }
    LC_TRY(lc_grad_target(c, b, &wants, &g, &go, &acc));
    if (wants) {
        float beta = acc ? 1.0f : 0.0f;
        if (!tb) // dB (K, N) = op(A)^T dC
            LC_TRY(mm(c, !ta, 0, K, N, M, a->buf, a->off, ta ? M : K, gy, gyo, N, beta, g, go, N,
                      batch));
        else // B (N, K): dB = dC^T op(A)
            LC_TRY(mm(c, 1, ta, N, K, M, gy, gyo, N, a->buf, a->off, ta ? M : K, beta, g, go, K,
                      batch));
    }
    return LC_OK;
}

static lc_status matmul_any(lc_ctx *c, lc_tensor **y, lc_tensor *a, lc_tensor *b, int ta, int tb,
                            int batched, const char *name) {
    *y = NULL;
    int nd_ = batched ? 3 : 2;
    if (a->ndim != nd_ || b->ndim != nd_ || (batched && a->shape[0] != b->shape[0]))
        return lc_shape_fail(
            name, batched ? "needs (B, M, K) and (B, K, N), got" : "needs (M, K) and (K, N), got",
            a, b);
    if (a->dtype != LC_F32 || b->dtype != LC_F32)
        return lc_shape_fail(name, "needs float32 tensors:", a, b);
    int o = batched;
    int64_t M = ta ? a->shape[o + 1] : a->shape[o], Ka = ta ? a->shape[o] : a->shape[o + 1];
    int64_t Kb = tb ? b->shape[o + 1] : b->shape[o], N = tb ? b->shape[o] : b->shape[o + 1];
    if (Ka != Kb) return lc_shape_fail(name, "inner dimensions differ:", a, b);
    int64_t shape[3] = {a->shape[0], M, N};
    lc_tensor *in[2] = {a, b};
    LC_TRY(lc_tensor_out(c, y, nd_, batched ? shape : shape + 1, in, 2));
    size_t batch = batched ? (size_t)a->shape[0] : 1;
    LC_TRY(mm(c, ta, tb, (size_t)M, (size_t)N, (size_t)Ka, a->buf, a->off, (size_t)a->shape[o + 1],
              b->buf, b->off, (size_t)b->shape[o + 1], 0.0f, (*y)->buf, (*y)->off, (size_t)N,
              batch));
    lc_node *nd;
    LC_TRY(lc_record(c, &nd, name, matmul_bw, *y, in, 2));
    if (nd) {
        nd->iv[0] = ta;
        nd->iv[1] = tb;
        nd->iv[2] = M;
        nd->iv[3] = N;
        nd->iv[4] = Ka;
        nd->iv[5] = (int64_t)batch;
    }
    return LC_OK;
}

lc_status lc_matmul(lc_ctx *c, lc_tensor **y, lc_tensor *a, lc_tensor *b, int ta, int tb) {
    return matmul_any(c, y, a, b, ta != 0, tb != 0, 0, "matmul");
}

lc_status lc_bmm(lc_ctx *c, lc_tensor **y, lc_tensor *a, lc_tensor *b, int ta, int tb) {
    return matmul_any(c, y, a, b, ta != 0, tb != 0, 1, "bmm");
}

// Node (linear with a bias, no activation): in = {x, w, b}.
static lc_status linear_bias_bw(lc_ctx *c, lc_node *nd) {
    lc_tensor *x = nd->in[0], *w = nd->in[1], *b = nd->in[2];
    size_t N = (size_t)x->shape[0], I = (size_t)x->shape[1], O = (size_t)w->shape[0];
    cl_mem gy, g;
    size_t gyo, go;
    int wants, acc;
    lc_grad_source(nd->out, &gy, &gyo);
    LC_TRY(lc_grad_target(c, x, &wants, &g, &go, &acc));
    if (wants) // dx (N, in) = dy w
        LC_TRY(mm(c, 0, 0, N, I, O, gy, gyo, O, w->buf, w->off, I, acc ? 1.0f : 0.0f, g, go, I, 1));
    LC_TRY(lc_grad_target(c, w, &wants, &g, &go, &acc));
    if (wants) // dw (out, in) = dy^T x
        LC_TRY(mm(c, 1, 0, O, I, N, gy, gyo, O, x->buf, x->off, I, acc ? 1.0f : 0.0f, g, go, I, 1));
    LC_TRY(lc_grad_target(c, b, &wants, &g, &go, &acc));
    if (wants) LC_TRY(lc_bias_grad(c, g, go, acc, gy, gyo, lc_i(N), lc_i(O)));
    return LC_OK;
}

// y = x w^T + b: the bias is written first and the GEMM adds onto it (beta = 1), so neither
// pass re-reads y; the backward hands dy to the GEMMs as it is (no dx copy).
static lc_status linear_bias(lc_ctx *c, lc_tensor **y, lc_tensor *x, lc_tensor *w, lc_tensor *b) {
    int64_t N = x->shape[0], I = x->shape[1], O = w->shape[0];
    if (b->ndim != 1 || b->shape[0] != O || b->dtype != LC_F32)
        return lc_shape_fail("linear", "bias must be (out) for weight (out, in):", w, b);
    lc_tensor *in[3] = {x, w, b};
    LC_TRY(lc_tensor_out(c, y, 2, (int64_t[]){N, O}, in, 3));
    LC_TRY(lc_check_numel("linear", *y));
    cl_kernel k;
    LC_TRY(lc_kernel(c, &k, "elementwise", "bias_rows"));
    int yo = lc_i((*y)->off), bo = lc_i(b->off), n = lc_i((*y)->numel), cols = lc_i(O);
    LC_SET(k, 0, (*y)->buf);
    LC_SET(k, 1, yo);
    LC_SET(k, 2, b->buf);
    LC_SET(k, 3, bo);
    LC_SET(k, 4, n);
    LC_SET(k, 5, cols);
    LC_TRY(lc_launch1(c, k, "bias_rows", ((size_t)n + 3) / 4));
    LC_TRY(mm(c, 0, 1, (size_t)N, (size_t)O, (size_t)I, x->buf, x->off, (size_t)I, w->buf, w->off,
              (size_t)I, 1.0f, (*y)->buf, (*y)->off, (size_t)O, 1));
    lc_node *nd;
    return lc_record(c, &nd, "linear", linear_bias_bw, *y, in, 3);
}

lc_status lc_linear_act(lc_ctx *c, lc_tensor **y, lc_tensor *x, lc_tensor *w, lc_tensor *b,
                        lc_act act, float alpha) {
    *y = NULL;
    if (x->ndim != 2 || w->ndim != 2 || x->shape[1] != w->shape[1])
        return lc_shape_fail("linear", "needs x (N, in) and weight (out, in), got", x, w);
    lc_tensor *pre;
    if (b && act == LC_ACT_NONE && x->dtype == LC_F32 && w->dtype == LC_F32)
        return linear_bias(c, y, x, w, b);
    LC_TRY(lc_matmul(c, &pre, x, w, 0, 1));
    if (!b && act == LC_ACT_NONE) {
        *y = pre;
        return LC_OK;
    }
    return lc_bias_act(c, y, pre, b, act, alpha);
}
