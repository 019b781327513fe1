// The reverse chain: start at x_T ~ N(0, I) and apply the DDPM or DDIM step S times,
// the noise predicted with classifier-free guidance (one network pass over the
// conditional and unconditional rows together). Samples are made in batches; every
// random draw is keyed by (seed, reverse step, sample index), so a sample does not
// depend on the batch size.
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "models/diffusion_internal.h"

void lc_dif_sample_options_default(lc_dif_sample_options *o) {
    memset(o, 0, sizeof *o);
    o->sampler = LC_DIF_DDIM;
    o->steps = 50;
    o->eta = 0.0;
    o->cls = -1;
    o->guidance = 1.0; // the CLI's default for image models is LC_DIF_GUIDANCE_DEFAULT
}

// eps (rows, dim) on the device for x (rows, dim) at timestep t. y (rows) or NULL.
static lc_status predict_device(lc_ctx *ctx, const lc_dif_schedule *s, const lc_dif_net *net,
                                cl_mem eps, cl_mem xbuf, int64_t rows, int t, const int32_t *y,
                                double w) {
    lc_device *dev = lc_ctx_device(ctx);
    int K = net->n_classes;
    bool cond = K > 0 && y, guided = cond && w != 1.0;
    int64_t B = guided ? 2 * rows : rows, shape[2] = {B, net->dim};
    int32_t *tt = malloc((size_t)B * sizeof *tt),
            *yy = K > 0 ? malloc((size_t)B * sizeof *yy) : NULL;
    lc_status st = tt && (K == 0 || yy) ? LC_OK : lc_fail(LC_ERR_NOMEM, "out of memory");
    for (int64_t i = 0; st == LC_OK && i < B; i++) {
        tt[i] = t;
        // the unconditional rows (or every row without a class) take the null label K
        if (yy) yy[i] = cond && i < rows ? y[i] : K;
    }
    lc_tensor *x = NULL, *pred = NULL;
    if (st == LC_OK) st = lc_tensor_new(ctx, &x, 2, shape);
    size_t bytes = (size_t)rows * (size_t)net->dim * sizeof(float);
    for (int h = 0; st == LC_OK && h < (guided ? 2 : 1); h++) {
        cl_int e =
            clEnqueueCopyBuffer(lc_device_queue(dev), xbuf, x->buf, 0,
                                x->off * sizeof(float) + (size_t)h * bytes, bytes, 0, NULL, NULL);
        if (e != CL_SUCCESS) st = lc_cl_fail(e, "clEnqueueCopyBuffer", "diffusion: x_t rows");
    }
    if (st == LC_OK) st = net->predict(net->self, ctx, &pred, x, tt, yy, B);
    if (st == LC_OK && (pred->numel != (size_t)(B * net->dim)))
        st = lc_fail(LC_ERR_SHAPE, "diffusion: the network returned %zu floats for %lld",
                     pred->numel, (long long)(B * net->dim));
    bool v = net->target == LC_DIF_PRED_V;
    float va = (float)sqrt(s->alpha_bar[t]), vb = (float)sqrt(1.0 - s->alpha_bar[t]);
    if (st == LC_OK)
        st = dif_launch_guide(dev, eps, pred, xbuf, rows * net->dim, guided, (float)w, v, va, vb);
    free(tt);
    free(yy);
    return st;
}

lc_status lc_dif_predict_eps(lc_ctx *ctx, const lc_dif_schedule *s, const lc_dif_net *net,
                             float *out, const float *x, int64_t n, int t, const int32_t *y,
                             double w) {
    if (t < 1 || t > s->T) return lc_fail(LC_ERR_INVALID_ARG, "timestep %d: 1..%d", t, s->T);
    lc_device *dev = lc_ctx_device(ctx);
    size_t bytes = (size_t)n * (size_t)net->dim * sizeof(float);
    cl_mem xb = NULL, eb = NULL;
    lc_status st = lc_buffer_alloc(&xb, dev, bytes);
    if (st == LC_OK) st = lc_buffer_alloc(&eb, dev, bytes);
    if (st == LC_OK) st = lc_write(dev, xb, 0, x, bytes);
    int prev = lc_set_grad_enabled(ctx, 0);
    lc_set_training(ctx, 0);
    if (st == LC_OK) {
        lc_step_begin(ctx);
        st = predict_device(ctx, s, net, eb, xb, n, t, y, w);
    }
    if (st == LC_OK) st = lc_read(dev, out, eb, 0, bytes);
    lc_set_grad_enabled(ctx, prev);
    lc_buffer_free(xb);
    lc_buffer_free(eb);
    return st;
}

// Copies rows of samples first.. that are among the first traj_n into slot k of traj.
static lc_status record(lc_device *dev, const lc_dif_sample_options *o, int64_t dim, cl_mem x,
                        int64_t first, int64_t rows, int k) {
    if (first >= o->traj_n) return LC_OK;
    int64_t m = o->traj_n - first < rows ? o->traj_n - first : rows;
    float *dst = o->traj + ((size_t)k * (size_t)o->traj_n + (size_t)first) * (size_t)dim;
    return lc_read(dev, dst, x, 0, (size_t)(m * dim) * sizeof(float));
}

static lc_status record_at(lc_device *dev, const lc_dif_sample_options *o, int64_t dim, cl_mem x,
                           int64_t first, int64_t rows, int done) {
    for (int k = 0; o->traj && k < o->traj_count; k++)
        if (o->traj_at[k] == done) LC_TRY(record(dev, o, dim, x, first, rows, k));
    return LC_OK;
}

lc_status lc_dif_sample(lc_ctx *ctx, const lc_dif_schedule *s, const lc_dif_net *net, float *x,
                        int64_t n, const lc_dif_sample_options *o) {
    int S = o->steps, T = s->T, K = net->n_classes;
    if (S < 1 || S > T)
        return lc_fail(LC_ERR_INVALID_ARG, "--steps %d: the model has T = %d steps (1..%d)", S, T,
                       T);
    if (o->cls >= K && !o->classes)
        return lc_fail(LC_ERR_INVALID_ARG, "--class %d: the model has %d classes%s", o->cls, K,
                       K ? "" : " (it is unconditional)");
    if (o->sampler == LC_DIF_DDIM && !(o->eta >= 0.0 && o->eta <= 10.0))
        return lc_fail(LC_ERR_INVALID_ARG, "--eta %g: 0..10", o->eta);
    if (!isfinite(o->guidance)) return lc_fail(LC_ERR_INVALID_ARG, "--guidance: not a number");
    if (n < 1 || n > INT32_MAX) return lc_fail(LC_ERR_INVALID_ARG, "%lld samples", (long long)n);
    lc_device *dev = lc_ctx_device(ctx);
    int64_t B = o->batch > 0 ? o->batch : 256, dim = net->dim;
    if (B > n) B = n;
    int *tau = malloc((size_t)S * sizeof *tau);
    int32_t *y = K > 0 ? malloc((size_t)n * sizeof *y) : NULL;
    lc_status st = tau && (K == 0 || y) ? LC_OK : lc_fail(LC_ERR_NOMEM, "out of memory");
    if (st == LC_OK) st = lc_dif_timesteps(tau, S, T);
    for (int64_t i = 0; st == LC_OK && y && i < n; i++) {
        y[i] = o->classes ? o->classes[i] : o->cls >= 0 ? o->cls : K;
        if (y[i] < 0 || y[i] > K)
            st = lc_fail(LC_ERR_INVALID_ARG, "class %d of sample %lld: 0..%d", y[i], (long long)i,
                         K - 1);
    }
    bool cond = y && (o->classes || o->cls >= 0);
    cl_mem xb = NULL, eb = NULL;
    if (st == LC_OK) st = lc_buffer_alloc(&xb, dev, (size_t)(B * dim) * sizeof(float));
    if (st == LC_OK) st = lc_buffer_alloc(&eb, dev, (size_t)(B * dim) * sizeof(float));
    int prev = lc_set_grad_enabled(ctx, 0);
    lc_set_training(ctx, 0);
    int64_t batches = (n + B - 1) / B, done_steps = 0;
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    double t0 = (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
    for (int64_t first = 0; st == LC_OK && first < n; first += B) {
        int64_t rows = n - first < B ? n - first : B;
        st = dif_launch_normal_start(dev, xb, rows, dim, first, o->seed, 0, LC_DIF_DRAW_XT);
        if (st == LC_OK) st = record_at(dev, o, dim, xb, first, rows, 0);
        for (int k = S - 1; st == LC_OK && k >= 0; k--) {
            int t = tau[k], t_prev = k > 0 ? tau[k - 1] : 0, done = S - k;
            lc_step_begin(ctx);
            st = predict_device(ctx, s, net, eb, xb, rows, t, y ? y + first : NULL,
                                cond ? o->guidance : 1.0);
            lc_dif_step_coef c = o->sampler == LC_DIF_DDPM ? lc_dif_ddpm_coef(s, t, t_prev)
                                                           : lc_dif_ddim_coef(s, t, t_prev, o->eta);
            if (st == LC_OK)
                st = dif_launch_reverse(dev, xb, eb, rows, dim, c, first, o->seed, (uint32_t)done,
                                        LC_DIF_DRAW_Z);
            if (st == LC_OK) st = record_at(dev, o, dim, xb, first, rows, done);
            done_steps++;
            if (st == LC_OK && o->progress) {
                lc_progress p = lc_progress_init("sample");
                p.step = done_steps;
                p.total = batches * S;
                clock_gettime(CLOCK_MONOTONIC, &ts);
                p.elapsed = (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec - t0;
                p.rate =
                    p.elapsed > 0 ? ((double)first + (double)rows * (S - k) / S) / p.elapsed : 0;
                if (o->progress(o->user, &p)) st = lc_fail(LC_ERR_CANCELLED, "sampling cancelled");
            }
        }
        if (st == LC_OK)
            st = lc_read(dev, x + first * dim, xb, 0, (size_t)(rows * dim) * sizeof(float));
    }
    lc_set_grad_enabled(ctx, prev);
    lc_buffer_free(xb);
    lc_buffer_free(eb);
    free(tau);
    free(y);
    return st;
}
