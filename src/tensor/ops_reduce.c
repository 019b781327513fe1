// Reductions (cl/reduce.cl): sum/mean over an axis, softmax, log-softmax.
#include "tensor/tensor_internal.h"

// Node: iv[0..2] = outer, n, inner; fv[0] = scale.
static lc_status axis_bw(lc_ctx *c, lc_node *nd) {
    lc_tensor *x = nd->in[0];
    lc_unary_grads u;
    int wants;
    LC_TRY(lc_unary_grad_targets(c, nd, &u, &wants));
    if (!wants) return LC_OK;
    cl_kernel k;
    LC_TRY(lc_kernel(c, &k, "reduce", "axis_expand"));
    int dxo = lc_i(u.gxo), dyo = lc_i(u.gyo), total = lc_i(x->numel), n = (int)nd->iv[1],
        inner = (int)nd->iv[2];
    float scale = nd->fv[0];
    LC_SET(k, 0, u.gx);
    LC_SET(k, 1, dxo);
    LC_SET(k, 2, u.gy);
    LC_SET(k, 3, dyo);
    LC_SET(k, 4, total);
    LC_SET(k, 5, n);
    LC_SET(k, 6, inner);
    LC_SET(k, 7, scale);
    LC_SET(k, 8, u.acc);
    return lc_launch1(c, k, "axis_expand", (x->numel + 3) / 4);
}

static lc_status reduce_axis(lc_ctx *c, lc_tensor **y, lc_tensor *x, int axis, int mean,
                             const char *name) {
    *y = NULL;
    if (x->dtype != LC_F32) return lc_shape_fail(name, "needs float32, got int32", x, NULL);
    LC_TRY(lc_check_numel(name, x));
    int64_t shape[LC_MAX_DIMS];
    int ndim;
    size_t outer = 1, n, inner = 1;
    if (axis == LC_ALL_AXES) {
        n = x->numel;
        ndim = 1;
        shape[0] = 1;
    } else {
        int a = axis < 0 ? axis + x->ndim : axis;
        if (a < 0 || a >= x->ndim)
            return lc_fail(LC_ERR_SHAPE, "%s: axis %d out of range for %d dims", name, axis,
                           x->ndim);
        for (int i = 0; i < a; i++)
            outer *= (size_t)x->shape[i];
        for (int i = a + 1; i < x->ndim; i++)
            inner *= (size_t)x->shape[i];
        n = (size_t)x->shape[a];
        ndim = 0;
        for (int i = 0; i < x->ndim; i++)
            if (i != a) shape[ndim++] = x->shape[i];
        if (!ndim) shape[ndim++] = 1;
    }
    LC_TRY(lc_tensor_out(c, y, ndim, shape, &x, 1));
    float scale = mean ? 1.0f / (float)n : 1.0f;
    cl_kernel k;
    LC_TRY(lc_kernel(c, &k, "reduce", "axis_sum"));
    int yo = lc_i((*y)->off), xo = lc_i(x->off), oi = lc_i(outer), ni = lc_i(n), ii = lc_i(inner);
    LC_SET(k, 0, (*y)->buf);
    LC_SET(k, 1, yo);
    LC_SET(k, 2, x->buf);
    LC_SET(k, 3, xo);
    LC_SET(k, 4, oi);
    LC_SET(k, 5, ni);
    LC_SET(k, 6, ii);
    LC_SET(k, 7, scale);
    LC_TRY(lc_launch1(c, k, name, outer * inner));
    lc_node *nd;
    LC_TRY(lc_record(c, &nd, name, axis_bw, *y, &x, 1));
    if (nd) {
        nd->iv[0] = (int64_t)outer;
        nd->iv[1] = (int64_t)n;
        nd->iv[2] = (int64_t)inner;
        nd->fv[0] = scale;
    }
    return LC_OK;
}

lc_status lc_sum(lc_ctx *c, lc_tensor **y, lc_tensor *x, int axis) {
    return reduce_axis(c, y, x, axis, 0, "sum");
}
lc_status lc_mean(lc_ctx *c, lc_tensor **y, lc_tensor *x, int axis) {
    return reduce_axis(c, y, x, axis, 1, "mean");
}

// Node: iv[0] = log, iv[1] = causal; fv[0] = scale.
static lc_status softmax_bw(lc_ctx *c, lc_node *nd) {
    lc_tensor *x = nd->in[0], *y = nd->out;
    lc_unary_grads u;
    int wants;
    LC_TRY(lc_unary_grad_targets(c, nd, &u, &wants));
    if (!wants) return LC_OK;
    cl_kernel k;
    LC_TRY(lc_kernel(c, &k, "reduce", "softmax_bwd"));
    int cols = lc_i(x->shape[x->ndim - 1]), rows = lc_i(x->numel / (size_t)cols);
    int dxo = lc_i(u.gxo), dyo = lc_i(u.gyo), yo = lc_i(y->off), lg = (int)nd->iv[0];
    float scale = nd->fv[0];
    LC_SET(k, 0, u.gx);
    LC_SET(k, 1, dxo);
    LC_SET(k, 2, u.gy);
    LC_SET(k, 3, dyo);
    LC_SET(k, 4, y->buf);
    LC_SET(k, 5, yo);
    LC_SET(k, 6, rows);
    LC_SET(k, 7, cols);
    LC_SET(k, 8, lg);
    LC_SET(k, 9, scale);
    LC_SET(k, 10, u.acc);
    return lc_launch1(c, k, "softmax_bwd", (size_t)rows);
}

lc_status lc_softmax_ex(lc_ctx *c, lc_tensor **y, lc_tensor *x, int lg, float scale, int causal,
                        const char *name) {
    *y = NULL;
    if (causal && (x->ndim < 2 || x->shape[x->ndim - 1] != x->shape[x->ndim - 2]))
        return lc_shape_fail(name, "a causal mask needs square (..., T, T) scores, got", x, NULL);
    if (x->dtype != LC_F32) return lc_shape_fail(name, "needs float32, got int32", x, NULL);
    LC_TRY(lc_check_numel(name, x));
    LC_TRY(lc_tensor_out(c, y, x->ndim, x->shape, &x, 1));
    cl_kernel k;
    LC_TRY(lc_kernel(c, &k, "reduce", "softmax_fwd"));
    int cols = lc_i(x->shape[x->ndim - 1]), rows = lc_i(x->numel / (size_t)cols);
    int yo = lc_i((*y)->off), xo = lc_i(x->off);
    LC_SET(k, 0, (*y)->buf);
    LC_SET(k, 1, yo);
    LC_SET(k, 2, x->buf);
    LC_SET(k, 3, xo);
    LC_SET(k, 4, rows);
    LC_SET(k, 5, cols);
    LC_SET(k, 6, lg);
    LC_SET(k, 7, scale);
    LC_SET(k, 8, causal);
    LC_TRY(lc_launch1(c, k, name, (size_t)rows));
    lc_node *nd;
    LC_TRY(lc_record(c, &nd, name, softmax_bw, *y, &x, 1));
    if (nd) {
        nd->iv[0] = lg;
        nd->iv[1] = causal;
        nd->fv[0] = scale;
    }
    return LC_OK;
}

lc_status lc_softmax(lc_ctx *c, lc_tensor **y, lc_tensor *x) {
    return lc_softmax_ex(c, y, x, 0, 1.0f, 0, "softmax");
}
lc_status lc_log_softmax(lc_ctx *c, lc_tensor **y, lc_tensor *x) {
    return lc_softmax_ex(c, y, x, 1, 1.0f, 0, "log_softmax");
}
