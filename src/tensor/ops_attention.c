// Multi-head self-attention from the packed in-projection (cl/attention.cl): no head
// split/merge copies and no per-head GEMM calls. Forward and backward side by side.
#include <math.h>

#include "tensor/ops_attn_cm.h"
#include "tensor/tensor_internal.h"

// The arguments every attention backward kernel (packed multi-head and channel-major) takes
// in slots 0..8: (dqkv, dscores, dy, probs, qkv); the sizes follow.
typedef struct {
    cl_mem g, ds, gy, probs, qkv;
    int gof, acc, dyo, qo, B, T, H, D;
} attn_bwd_args;

static lc_status set_attn_bwd_buffers(cl_kernel k, const attn_bwd_args *a) {
    LC_SET(k, 0, a->g);
    LC_SET(k, 1, a->gof);
    LC_SET(k, 2, a->acc);
    LC_SET(k, 3, a->ds);
    LC_SET(k, 4, a->gy);
    LC_SET(k, 5, a->dyo);
    LC_SET(k, 6, a->probs);
    LC_SET(k, 7, a->qkv);
    LC_SET(k, 8, a->qo);
    return LC_OK;
}

// The packed multi-head kernels: the buffers, then B, T, H, D in slots 9..12; each kernel's
// own arguments follow from slot 13.
static lc_status set_attn_bwd_args(cl_kernel k, const attn_bwd_args *a) {
    LC_TRY(set_attn_bwd_buffers(k, a));
    LC_SET(k, 9, a->B);
    LC_SET(k, 10, a->T);
    LC_SET(k, 11, a->H);
    LC_SET(k, 12, a->D);
    return LC_OK;
}

// Node: in[0] = qkv, saved[0] = probs (B, H, T, T); iv[0] = heads, iv[1] = causal.
static lc_status attn_qkv_bw(lc_ctx *c, lc_node *nd) {
    lc_tensor *qkv = nd->in[0], *probs = nd->saved[0];
    attn_bwd_args a;
    int wants;
    size_t go, gyo;
    LC_TRY(lc_grad_target(c, qkv, &wants, &a.g, &go, &a.acc));
    if (!wants) return LC_OK;
    lc_grad_source(nd->out, &a.gy, &gyo);
    a.B = lc_i(qkv->shape[0]), a.T = lc_i(qkv->shape[1]), a.H = (int)nd->iv[0];
    a.D = lc_i(qkv->shape[2] / 3 / a.H);
    a.gof = lc_i(go), a.dyo = lc_i(gyo), a.qo = lc_i(qkv->off);
    a.probs = probs->buf, a.qkv = qkv->buf;
    int causal = (int)nd->iv[1];
    float scale = 1.0f / sqrtf((float)a.D);
    LC_TRY(lc_scratch(c, &a.ds, probs->numel));
    size_t items = (size_t)a.B * a.H * a.T;
    cl_kernel k;
    LC_TRY(lc_kernel(c, &k, "attention", "attn_bwd_rows"));
    LC_TRY(set_attn_bwd_args(k, &a));
    LC_SET(k, 13, scale);
    LC_SET(k, 14, causal);
    LC_TRY(lc_launch1(c, k, "attention_bwd_rows", items));
    LC_TRY(lc_kernel(c, &k, "attention", "attn_bwd_cols"));
    LC_TRY(set_attn_bwd_args(k, &a));
    LC_SET(k, 13, causal);
    return lc_launch1(c, k, "attention_bwd_cols", items);
}

lc_status lc_attention_qkv(lc_ctx *c, lc_tensor **y, lc_tensor *qkv, int heads, int causal) {
    *y = NULL;
    if (qkv->ndim != 3 || qkv->dtype != LC_F32 || heads < 1 || qkv->shape[2] % (3 * heads) ||
        qkv->shape[2] == 0)
        return lc_shape_fail("attention_qkv", "needs float qkv (B, T, 3 * heads * D), got", qkv,
                             NULL);
    int64_t B = qkv->shape[0], T = qkv->shape[1], C = qkv->shape[2] / 3, H = heads;
    LC_TRY(lc_check_numel("attention_qkv", qkv));
    lc_tensor *probs;
    LC_TRY(lc_tensor_new(c, &probs, 4, (int64_t[]){B, H, T, T}));
    LC_TRY(lc_check_numel("attention_qkv", probs));
    LC_TRY(lc_tensor_out(c, y, 3, (int64_t[]){B, T, C}, &qkv, 1));
    int b = lc_i(B), t = lc_i(T), h = heads, d = lc_i(C / H), yo = lc_i((*y)->off),
        qo = lc_i(qkv->off);
    float scale = 1.0f / sqrtf((float)d);
    cl_kernel k;
    LC_TRY(lc_kernel(c, &k, "attention", "attn_fwd"));
    LC_SET(k, 0, (*y)->buf);
    LC_SET(k, 1, yo);
    LC_SET(k, 2, probs->buf);
    LC_SET(k, 3, qkv->buf);
    LC_SET(k, 4, qo);
    LC_SET(k, 5, b);
    LC_SET(k, 6, t);
    LC_SET(k, 7, h);
    LC_SET(k, 8, d);
    LC_SET(k, 9, scale);
    LC_SET(k, 10, causal);
    LC_TRY(lc_launch1(c, k, "attention_fwd", (size_t)B * H * T));
    lc_node *nd;
    LC_TRY(lc_record(c, &nd, "attention_qkv", attn_qkv_bw, *y, &qkv, 1));
    if (nd) {
        nd->saved[0] = probs;
        nd->iv[0] = heads;
        nd->iv[1] = causal != 0;
    }
    return LC_OK;
}

// ---- channel-major single-head attention (ops_attn_cm.h) ----------------------------------

// Node: in[0] = qkv (B, 3C, T), saved[0] = probs (B, 2, T, Tp) (cl/attention.cl).
static lc_status attn_cm_bw(lc_ctx *c, lc_node *nd) {
    lc_tensor *qkv = nd->in[0], *probs = nd->saved[0];
    attn_bwd_args a;
    int wants;
    size_t go, gyo;
    LC_TRY(lc_grad_target(c, qkv, &wants, &a.g, &go, &a.acc));
    if (!wants) return LC_OK;
    lc_grad_source(nd->out, &a.gy, &gyo);
    int C = lc_i(qkv->shape[1] / 3);
    a.B = lc_i(qkv->shape[0]), a.T = lc_i(qkv->shape[2]), a.H = 1, a.D = C;
    a.gof = lc_i(go), a.dyo = lc_i(gyo), a.qo = lc_i(qkv->off);
    a.probs = probs->buf, a.qkv = qkv->buf;
    float scale = 1.0f / sqrtf((float)C);
    LC_TRY(lc_scratch(c, &a.ds, probs->numel));
    size_t items = (size_t)a.B * (size_t)((a.T + 7) / 8); // a work item per 8 positions
    // Both kernels: the buffers, then B, C, T in slots 9..11.
    static const char *const kernels[2] = {"attn_cm_bwd_rows", "attn_cm_bwd_cols"};
    static const char *const names[2] = {"attention_cm_bwd_rows", "attention_cm_bwd_cols"};
    for (int i = 0; i < 2; i++) {
        cl_kernel k;
        LC_TRY(lc_kernel(c, &k, "attention", kernels[i]));
        LC_TRY(set_attn_bwd_buffers(k, &a));
        LC_SET(k, 9, a.B);
        LC_SET(k, 10, C);
        LC_SET(k, 11, a.T);
        if (i == 0) LC_SET(k, 12, scale); // the rows kernel also takes the softmax scale
        LC_TRY(lc_launch1(c, k, names[i], items));
    }
    return LC_OK;
}

lc_status lc_attention_cm(lc_ctx *c, lc_tensor **y, lc_tensor *qkv) {
    *y = NULL;
    if (qkv->ndim != 3 || qkv->dtype != LC_F32 || qkv->shape[1] % 3 || qkv->shape[1] == 0)
        return lc_shape_fail("attention_cm", "needs float qkv (B, 3 C, T), got", qkv, NULL);
    int64_t B = qkv->shape[0], C = qkv->shape[1] / 3, T = qkv->shape[2];
    LC_TRY(lc_check_numel("attention_cm", qkv));
    lc_tensor *probs;
    int64_t Tp = (T + 7) / 8 * 8; // both layouts of the probabilities, rows padded to 8
    LC_TRY(lc_tensor_new(c, &probs, 4, (int64_t[]){B, 2, T, Tp}));
    LC_TRY(lc_check_numel("attention_cm", probs));
    LC_TRY(lc_tensor_out(c, y, 3, (int64_t[]){B, C, T}, &qkv, 1));
    int b = lc_i(B), ch = lc_i(C), t = lc_i(T), yo = lc_i((*y)->off), qo = lc_i(qkv->off);
    float scale = 1.0f / sqrtf((float)C);
    cl_kernel k;
    LC_TRY(lc_kernel(c, &k, "attention", "attn_cm_fwd"));
    LC_SET(k, 0, (*y)->buf);
    LC_SET(k, 1, yo);
    LC_SET(k, 2, probs->buf);
    LC_SET(k, 3, qkv->buf);
    LC_SET(k, 4, qo);
    LC_SET(k, 5, b);
    LC_SET(k, 6, ch);
    LC_SET(k, 7, t);
    LC_SET(k, 8, scale);
    LC_TRY(lc_launch1(c, k, "attention_cm_fwd", (size_t)B * (size_t)(Tp / 8)));
    lc_node *nd;
    LC_TRY(lc_record(c, &nd, "attention_cm", attn_cm_bw, *y, &qkv, 1));
    if (nd) nd->saved[0] = probs;
    return LC_OK;
}
