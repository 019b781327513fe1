// Launches of the diffusion family's kernels (cl/diffusion.cl).
#include "latentcl/rng.h"
#include "models/diffusion_internal.h"

enum { LOCAL = 64 };

static lc_status launch(lc_device *dev, cl_kernel k, const char *name, size_t items) {
    size_t local = LOCAL, global = (items + LOCAL - 1) / LOCAL * LOCAL;
    if (global == 0) global = LOCAL;
    return lc_launch(dev, k, name, 1, &global, &local);
}

static lc_status set_key(cl_kernel k, int first, uint64_t seed, uint32_t ctr2, uint32_t purpose) {
    uint32_t key[2];
    lc_seed_key(key, seed);
    cl_uint k0 = key[0], k1 = key[1], c2 = ctr2, c3 = purpose;
    LC_TRY(LC_ARG(k, (cl_uint)first, k0));
    LC_TRY(LC_ARG(k, (cl_uint)first + 1, k1));
    LC_TRY(LC_ARG(k, (cl_uint)first + 2, c2));
    return LC_ARG(k, (cl_uint)first + 3, c3);
}

static lc_status check_whole(const lc_tensor *t, const char *what) {
    if (t->off != 0) return lc_fail(LC_ERR_INVALID_ARG, "diffusion kernels: %s is a view", what);
    return LC_OK;
}

lc_status dif_launch_q_sample(lc_ctx *ctx, lc_tensor *xt, lc_tensor *target, lc_tensor *data,
                              lc_tensor *ids, lc_tensor *coef, int v_pred, uint64_t seed,
                              uint32_t ctr2, uint32_t purpose) {
    lc_device *dev = lc_ctx_device(ctx);
    LC_TRY(check_whole(xt, "x_t"));
    LC_TRY(check_whole(target, "the target"));
    LC_TRY(check_whole(ids, "the ids"));
    LC_TRY(check_whole(coef, "the coefficients"));
    cl_kernel k;
    LC_TRY(lc_device_kernel(&k, dev, "diffusion", "q_sample"));
    cl_int doff = (cl_int)data->off, rows = (cl_int)xt->shape[0],
           cols = (cl_int)(xt->numel / (size_t)xt->shape[0]), v = v_pred;
    LC_TRY(LC_ARG(k, 0, xt->buf));
    LC_TRY(LC_ARG(k, 1, target->buf));
    LC_TRY(LC_ARG(k, 2, data->buf));
    LC_TRY(LC_ARG(k, 3, doff));
    LC_TRY(LC_ARG(k, 4, ids->buf));
    LC_TRY(LC_ARG(k, 5, coef->buf));
    LC_TRY(LC_ARG(k, 6, rows));
    LC_TRY(LC_ARG(k, 7, cols));
    LC_TRY(LC_ARG(k, 8, v));
    LC_TRY(set_key(k, 9, seed, ctr2, purpose));
    return launch(dev, k, "diffusion_q_sample", (size_t)rows * (size_t)((cols + 3) / 4));
}

lc_status dif_launch_normal_start(lc_device *dev, cl_mem x, int64_t rows, int64_t cols,
                                  int64_t first, uint64_t seed, uint32_t ctr2, uint32_t purpose) {
    cl_kernel k;
    LC_TRY(lc_device_kernel(&k, dev, "diffusion", "normal_start"));
    cl_int r = (cl_int)rows, c = (cl_int)cols, f = (cl_int)first;
    LC_TRY(LC_ARG(k, 0, x));
    LC_TRY(LC_ARG(k, 1, r));
    LC_TRY(LC_ARG(k, 2, c));
    LC_TRY(LC_ARG(k, 3, f));
    LC_TRY(set_key(k, 4, seed, ctr2, purpose));
    return launch(dev, k, "diffusion_normal_start", (size_t)rows * (size_t)((cols + 3) / 4));
}

lc_status dif_launch_guide(lc_device *dev, cl_mem eps, const lc_tensor *pred, cl_mem x, int64_t n,
                           int guided, float w, int v_pred, float va, float vb) {
    cl_kernel k;
    LC_TRY(lc_device_kernel(&k, dev, "diffusion", "guide"));
    cl_int off = (cl_int)pred->off, nn = (cl_int)n, g = guided, v = v_pred;
    LC_TRY(LC_ARG(k, 0, eps));
    LC_TRY(LC_ARG(k, 1, pred->buf));
    LC_TRY(LC_ARG(k, 2, off));
    LC_TRY(LC_ARG(k, 3, x));
    LC_TRY(LC_ARG(k, 4, nn));
    LC_TRY(LC_ARG(k, 5, g));
    LC_TRY(LC_ARG(k, 6, w));
    LC_TRY(LC_ARG(k, 7, v));
    LC_TRY(LC_ARG(k, 8, va));
    LC_TRY(LC_ARG(k, 9, vb));
    return launch(dev, k, "diffusion_guide", (size_t)n);
}

lc_status dif_launch_reverse(lc_device *dev, cl_mem x, cl_mem eps, int64_t rows, int64_t cols,
                             lc_dif_step_coef c, int64_t first, uint64_t seed, uint32_t ctr2,
                             uint32_t purpose) {
    cl_kernel k;
    LC_TRY(lc_device_kernel(&k, dev, "diffusion", "reverse_step"));
    cl_int r = (cl_int)rows, cc = (cl_int)cols, f = (cl_int)first;
    cl_float cx = (cl_float)c.c_x, ce = (cl_float)c.c_eps, sg = (cl_float)c.sigma;
    LC_TRY(LC_ARG(k, 0, x));
    LC_TRY(LC_ARG(k, 1, eps));
    LC_TRY(LC_ARG(k, 2, r));
    LC_TRY(LC_ARG(k, 3, cc));
    LC_TRY(LC_ARG(k, 4, cx));
    LC_TRY(LC_ARG(k, 5, ce));
    LC_TRY(LC_ARG(k, 6, sg));
    LC_TRY(LC_ARG(k, 7, f));
    LC_TRY(set_key(k, 8, seed, ctr2, purpose));
    return launch(dev, k, "diffusion_reverse_step", (size_t)rows * (size_t)((cols + 3) / 4));
}
