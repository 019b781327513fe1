// GEMM dispatch: argument checks (shapes, leading dimensions, buffer sizes),
// the fixed backend rule, and the k == 0 case (C = beta * C).
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "device/gemm_internal.h"

const char *lc_gemm_backend_name(lc_gemm_backend b) {
    switch (b) {
    case LC_GEMM_AUTO: return "auto";
    case LC_GEMM_CLBLAST: return "clblast";
    case LC_GEMM_HOST: return "host";
    }
    return "unknown";
}

// The fixed rule (never a timing, so a run always takes the same path): host
// BLAS on a CPU device that runs native kernels, CLBlast everywhere else.
static lc_gemm_backend auto_rule(const lc_device_info *info) {
    return info->is_cpu && info->native_kernels ? LC_GEMM_HOST : LC_GEMM_CLBLAST;
}

lc_gemm_backend lc_gemm_active_backend(const lc_device *dev) {
    return dev->gemm != LC_GEMM_AUTO ? dev->gemm : auto_rule(&dev->info);
}

int lc_gemm_threads(const lc_device *dev) { return lc_gemm_host_threads_for(dev); }

static lc_status check_backend(const lc_device *dev, lc_gemm_backend b) {
    if (b == LC_GEMM_HOST && !dev->info.native_kernels)
        return lc_fail(LC_ERR_UNSUPPORTED,
                       "GEMM backend 'host' needs native kernels, which device '%s' cannot run "
                       "(use LATENTCL_GEMM=clblast or auto)",
                       dev->info.name);
    if (b != LC_GEMM_AUTO && b != LC_GEMM_CLBLAST && b != LC_GEMM_HOST)
        return lc_fail(LC_ERR_INVALID_ARG, "unknown GEMM backend %d", (int)b);
    return LC_OK;
}

lc_status lc_gemm_set_backend(lc_device *dev, lc_gemm_backend b) {
    if (!dev) return lc_fail(LC_ERR_INVALID_ARG, "lc_gemm_set_backend: no device");
    LC_TRY(check_backend(dev, b));
    dev->gemm = b;
    return LC_OK;
}

// a * b + c without wrapping; 0 on overflow.
static int mul_add(size_t *out, size_t a, size_t b, size_t c) {
    if (b && a > (SIZE_MAX - c) / b) return 0;
    *out = a * b + c;
    return 1;
}

// One operand as stored: `rows` x `cols` with leading dimension x.ld, `batch`
// copies `stride` apart. Checks ld and that the last element lies inside the
// buffer (CL_MEM_SIZE), so no backend ever reads or writes past its end.
static lc_status check_operand(const char *call, char name, lc_matrix x, size_t rows, size_t cols,
                               size_t stride, size_t batch) {
    size_t min_ld = cols ? cols : 1;
    if (!x.buf)
        return lc_fail(LC_ERR_INVALID_ARG, "%s: matrix %c (%zux%zu as stored) has no buffer", call,
                       name, rows, cols);
    if (x.ld < min_ld)
        return lc_fail(LC_ERR_INVALID_ARG,
                       "%s: leading dimension of %c is %zu, less than its %zu columns as stored "
                       "(%zux%zu)",
                       call, name, x.ld, cols, rows, cols);
    // Elements touched: offset + (batch-1)*stride + (rows-1)*ld + cols.
    size_t last_row = 0, need = 0;
    if (!mul_add(&last_row, rows - 1, x.ld, cols) || !mul_add(&need, batch - 1, stride, last_row) ||
        need > SIZE_MAX - x.offset || need + x.offset > SIZE_MAX / sizeof(float))
        return lc_fail(LC_ERR_SHAPE, "%s: matrix %c (%zux%zu, ld %zu, offset %zu) overflows size_t",
                       call, name, rows, cols, x.ld, x.offset);
    need += x.offset;
    size_t bytes = 0;
    cl_int err = clGetMemObjectInfo(x.buf, CL_MEM_SIZE, sizeof bytes, &bytes, NULL);
    if (err != CL_SUCCESS) {
        char ctx[64];
        snprintf(ctx, sizeof ctx, "%s: matrix %c", call, name);
        return lc_cl_fail(err, "clGetMemObjectInfo", ctx);
    }
    if (need > bytes / sizeof(float)) {
        if (batch > 1)
            return lc_fail(
                LC_ERR_SHAPE,
                "%s: matrix %c needs %zu floats (batch %zu x %zux%zu, stride %zu, ld %zu, "
                "offset %zu) but its buffer holds %zu",
                call, name, need, batch, rows, cols, stride, x.ld, x.offset, bytes / sizeof(float));
        return lc_fail(
            LC_ERR_SHAPE,
            "%s: matrix %c needs %zu floats (%zux%zu, ld %zu, offset %zu) but its buffer "
            "holds %zu",
            call, name, need, rows, cols, x.ld, x.offset, bytes / sizeof(float));
    }
    return LC_OK;
}

// k == 0: no products, C = beta * C (BLAS semantics; CLBlast rejects k == 0).
static lc_status scale_c(lc_device *dev, const lc_gemm_call *g) {
    if (g->beta == 1.0f) return LC_OK;
    if (g->m > UINT32_MAX || g->n > UINT32_MAX)
        return lc_fail(LC_ERR_UNSUPPORTED, "lc_gemm: k == 0 with m or n above 2^32");
    cl_kernel kern;
    LC_TRY(lc_device_kernel(&kern, dev, "gemm_scale", "gemm_scale_c"));
    cl_ulong offset = g->c.offset, ld = g->c.ld, stride = g->stride_c;
    cl_uint m = (cl_uint)g->m, n = (cl_uint)g->n;
    cl_float beta = g->beta;
    LC_TRY(LC_ARG(kern, 0, g->c.buf));
    LC_TRY(LC_ARG(kern, 1, offset));
    LC_TRY(LC_ARG(kern, 2, ld));
    LC_TRY(LC_ARG(kern, 3, stride));
    LC_TRY(LC_ARG(kern, 4, m));
    LC_TRY(LC_ARG(kern, 5, n));
    LC_TRY(LC_ARG(kern, 6, beta));
    size_t global[3] = {g->n, g->m, g->batch};
    return lc_launch(dev, kern, "gemm_scale_c", 3, global, NULL);
}

lc_status lc_gemm_strided_batched(lc_device *dev, int trans_a, int trans_b, size_t m, size_t n,
                                  size_t k, float alpha, lc_matrix a, size_t stride_a, lc_matrix b,
                                  size_t stride_b, float beta, lc_matrix c, size_t stride_c,
                                  size_t batch) {
    if (!dev) return lc_fail(LC_ERR_INVALID_ARG, "lc_gemm: no device");
    char call[160];
    snprintf(call, sizeof call, "lc_gemm(m=%zu, n=%zu, k=%zu, trans_a=%d, trans_b=%d%s)", m, n, k,
             trans_a != 0, trans_b != 0, batch != 1 ? ", batched" : "");
    if (m == 0 || n == 0 || batch == 0) return LC_OK; // C is empty: nothing to do
    lc_gemm_backend backend = lc_gemm_active_backend(dev);
    LC_TRY(check_backend(dev, backend));
    LC_TRY(check_operand(call, 'C', c, m, n, stride_c, batch));
    // Batches of C must not overlap: the products would race.
    if (batch > 1 && stride_c < (m - 1) * c.ld + n)
        return lc_fail(LC_ERR_INVALID_ARG,
                       "%s: stride of C (%zu) is less than one %zux%zu matrix "
                       "with ld %zu, so the batches overlap",
                       call, stride_c, m, n, c.ld);
    lc_gemm_call g = {trans_a != 0, trans_b != 0, m,        n,    k, alpha, beta, a, b, c,
                      stride_a,     stride_b,     stride_c, batch};
    if (k == 0) return scale_c(dev, &g);
    // op(A) is (m, k): stored (k, m) when transposed; op(B) is (k, n).
    LC_TRY(check_operand(call, 'A', a, trans_a ? k : m, trans_a ? m : k, stride_a, batch));
    LC_TRY(check_operand(call, 'B', b, trans_b ? n : k, trans_b ? k : n, stride_b, batch));
    lc_status s =
        backend == LC_GEMM_HOST ? lc_gemm_run_host(dev, &g) : lc_gemm_run_clblast(dev, &g);
    if (s != LC_OK) return lc_fail_context(s, "%s", call);
    return LC_OK;
}

lc_status lc_gemm(lc_device *dev, int trans_a, int trans_b, size_t m, size_t n, size_t k,
                  float alpha, lc_matrix a, lc_matrix b, float beta, lc_matrix c) {
    return lc_gemm_strided_batched(dev, trans_a, trans_b, m, n, k, alpha, a, 0, b, 0, beta, c, 0,
                                   1);
}
