// Denoising diffusion, as in the lecture (Ho et al. 2020; Song et al. 2021):
//   1. the noise schedule beta_1..beta_T and abar_t = prod (1 - beta_s);
//   2. the forward chain q(x_t | x_{t-1}) and its closed form q(x_t | x_0);
//   3. the network eps_theta(x_t, t, y) that predicts the noise (any lc_dif_net);
//   4. the loss E || eps - eps_theta(x_t, t, y) ||^2 over t, x_0 and eps;
//   5. the reverse step p(x_{t-1} | x_t): DDPM's ancestral step and DDIM's (eta).
// Sampling (the loop over reverse steps, guidance) is in diffusion_sample.c.
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "latentcl/rng.h"
#include "models/diffusion_internal.h"

// ---- 1. schedules --------------------------------------------------------------------------

const char *lc_dif_schedule_name(lc_dif_schedule_kind k) {
    return k == LC_DIF_COSINE ? "cosine" : "linear";
}

lc_status lc_dif_schedule_parse(lc_dif_schedule_kind *out, const char *name) {
    if (name && !strcmp(name, "linear"))
        *out = LC_DIF_LINEAR;
    else if (name && !strcmp(name, "cosine"))
        *out = LC_DIF_COSINE;
    else
        return lc_fail(LC_ERR_INVALID_ARG, "noise schedule '%s': linear or cosine",
                       name ? name : "(null)");
    return LC_OK;
}

// The improved-DDPM cosine: abar(t) = f(t) / f(0), f(t) = cos^2(((t/T + s) / (1 + s)) pi / 2).
static double cosine_f(int t, int T) {
    const double s = 0.008;
    double c = cos(((double)t / T + s) / (1.0 + s) * M_PI / 2.0);
    return c * c;
}

lc_status lc_dif_schedule_make(lc_dif_schedule *out, lc_dif_schedule_kind kind, int T) {
    memset(out, 0, sizeof *out);
    if (T < 1 || T > 100000) return lc_fail(LC_ERR_INVALID_ARG, "diffusion: T = %d (1..100000)", T);
    out->kind = kind;
    out->T = T;
    out->beta = calloc((size_t)T + 1, sizeof(double));
    out->alpha = calloc((size_t)T + 1, sizeof(double));
    out->alpha_bar = calloc((size_t)T + 1, sizeof(double));
    if (!out->beta || !out->alpha || !out->alpha_bar) {
        lc_dif_schedule_free(out);
        return lc_fail(LC_ERR_NOMEM, "out of memory for the schedule");
    }
    // Linear: DDPM's endpoints 1e-4..0.02 are for T = 1000; for other T they scale by 1000 / T
    // (Improved DDPM's rule), so that abar_T stays near 0 and x_T near N(0, I) (T = 100 with
    // the unscaled endpoints ends at abar_T = 0.37). 1000.0 / T is exactly 1 at T = 1000, so
    // that schedule is unchanged bit for bit. For T <= 20 hi would reach 1 (alpha_t <= 0): it is
    // clamped at 0.999, as the cosine's betas are; lo = 0.1 / T <= 0.1 stays below it.
    double scale = 1000.0 / T;
    double lo = 1e-4 * scale, hi = 0.02 * scale;
    if (hi > 0.999) hi = 0.999;
    if (lo > hi) lo = hi;
    out->alpha[0] = out->alpha_bar[0] = 1.0;
    for (int t = 1; t <= T; t++) {
        if (kind == LC_DIF_LINEAR) {
            out->beta[t] = T == 1 ? lo : lo + (hi - lo) * (double)(t - 1) / (double)(T - 1);
        } else {
            double b = 1.0 - cosine_f(t, T) / cosine_f(t - 1, T);
            out->beta[t] = b < 0.999 ? b : 0.999;
        }
        out->alpha[t] = 1.0 - out->beta[t];
        out->alpha_bar[t] = out->alpha_bar[t - 1] * out->alpha[t];
    }
    return LC_OK;
}

void lc_dif_schedule_free(lc_dif_schedule *s) {
    if (!s) return;
    free(s->beta);
    free(s->alpha);
    free(s->alpha_bar);
    memset(s, 0, sizeof *s);
}

// ---- 2. the forward chain -------------------------------------------------------------------

// q(x_t | x_{t-1}) = N(sqrt(1 - beta_t) x_{t-1}, beta_t I).
void lc_dif_q_step(float *x_t, const float *x_prev, const float *eps, double beta_t, int64_t n) {
    double a = sqrt(1.0 - beta_t), b = sqrt(beta_t);
    for (int64_t i = 0; i < n; i++)
        x_t[i] = (float)(a * x_prev[i] + b * eps[i]);
}

// Composing the steps, the variances add up: q(x_t | x_0) = N(sqrt(abar_t) x_0, (1 - abar_t) I).
void lc_dif_q_sample(float *x_t, const float *x0, const float *eps, double alpha_bar_t, int64_t n) {
    double a = sqrt(alpha_bar_t), b = sqrt(1.0 - alpha_bar_t);
    for (int64_t i = 0; i < n; i++)
        x_t[i] = (float)(a * x0[i] + b * eps[i]);
}

// ---- 4. the loss ------------------------------------------------------------------------------

void lc_dif_draw_t(int32_t *t, bool *drop, uint64_t seed, int64_t step, int64_t id, int T,
                   double p_uncond) {
    uint32_t key[2], ctr[4] = {0, (uint32_t)id, (uint32_t)step, LC_DIF_DRAW_T}, r[4];
    lc_seed_key(key, seed);
    lc_philox4x32_10(r, ctr, key);
    int k = (int)(lc_uniform_from_u32(r[0]) * (float)T); // uniform over 0..T-1
    *t = 1 + (k < T ? k : T - 1);
    if (drop) *drop = lc_uniform_from_u32(r[1]) < p_uncond;
}

lc_status lc_dif_loss(lc_ctx *ctx, lc_tensor **loss, const lc_dif_schedule *s,
                      const lc_dif_net *net, lc_tensor *data, const int64_t *ids,
                      const int32_t *labels, int64_t n, double p_uncond, uint64_t seed,
                      int64_t step) {
    if (data->ndim != 2 || data->shape[1] != net->dim)
        return lc_fail(LC_ERR_SHAPE, "lc_dif_loss: data has %lld floats per row, the network %lld",
                       (long long)(data->ndim == 2 ? data->shape[1] : -1), (long long)net->dim);
    if (n < 1 || n > INT32_MAX)
        return lc_fail(LC_ERR_INVALID_ARG, "lc_dif_loss: batch of %lld", (long long)n);
    bool cond = net->n_classes > 0;
    if (cond && !labels)
        return lc_fail(LC_ERR_INVALID_ARG, "lc_dif_loss: a class-conditional network needs labels");
    int32_t *t = malloc((size_t)n * sizeof *t), *y = malloc((size_t)n * sizeof *y),
            *id32 = malloc((size_t)n * sizeof *id32);
    float *coef = malloc((size_t)n * 2 * sizeof *coef);
    lc_status st = t && y && id32 && coef ? LC_OK : lc_fail(LC_ERR_NOMEM, "out of memory");
    // t ~ U{1..T} and, for classifier-free guidance, the label dropped with probability p_uncond
    for (int64_t i = 0; st == LC_OK && i < n; i++) {
        if (ids[i] < 0 || ids[i] >= data->shape[0]) {
            st = lc_fail(LC_ERR_INVALID_ARG, "lc_dif_loss: item %lld of %lld", (long long)ids[i],
                         (long long)data->shape[0]);
            break;
        }
        bool drop;
        lc_dif_draw_t(&t[i], &drop, seed, step, ids[i], s->T, p_uncond);
        if (cond) {
            if (labels[i] < 0 || labels[i] >= net->n_classes) {
                st = lc_fail(LC_ERR_INVALID_ARG, "lc_dif_loss: label %d of item %lld (%d classes)",
                             labels[i], (long long)ids[i], net->n_classes);
                break;
            }
            y[i] = drop ? net->n_classes : labels[i];
        }
        id32[i] = (int32_t)ids[i];
        coef[2 * i] = (float)sqrt(s->alpha_bar[t[i]]);
        coef[2 * i + 1] = (float)sqrt(1.0 - s->alpha_bar[t[i]]);
    }
    // x_t = sqrt(abar_t) x_0 + sqrt(1 - abar_t) eps, eps keyed by (seed, step, item)
    lc_tensor *id_t = NULL, *coef_t = NULL, *xt = NULL, *target = NULL, *pred = NULL;
    int64_t shape[2] = {n, net->dim}, cshape[2] = {n, 2};
    if (st == LC_OK) st = lc_tensor_from_host_i32(ctx, &id_t, id32, 1, &n);
    if (st == LC_OK) st = lc_tensor_from_host(ctx, &coef_t, coef, 2, cshape);
    if (st == LC_OK) st = lc_tensor_new(ctx, &xt, 2, shape);
    if (st == LC_OK) st = lc_tensor_new(ctx, &target, 2, shape);
    if (st == LC_OK)
        st = dif_launch_q_sample(ctx, xt, target, data, id_t, coef_t, net->target == LC_DIF_PRED_V,
                                 seed, (uint32_t)step, LC_DIF_DRAW_EPS);
    // the network's guess of the noise, and the mean squared error
    if (st == LC_OK) st = net->predict(net->self, ctx, &pred, xt, t, cond ? y : NULL, n);
    if (st == LC_OK) st = lc_mse(ctx, loss, pred, target, LC_REDUCE_MEAN);
    free(t);
    free(y);
    free(id32);
    free(coef);
    return st;
}

// ---- 5. the reverse step ----------------------------------------------------------------------

// DDPM: x_{t-1} = 1/sqrt(alpha_t) (x_t - beta_t / sqrt(1 - abar_t) eps) + sigma_t z with the
// posterior variance sigma_t^2 = beta_t (1 - abar_{t-1}) / (1 - abar_t). A respaced chain
// (t_prev < t - 1) uses alpha = abar_t / abar_{t_prev}, beta = 1 - alpha.
lc_dif_step_coef lc_dif_ddpm_coef(const lc_dif_schedule *s, int t, int t_prev) {
    double ab = s->alpha_bar[t], ab_prev = s->alpha_bar[t_prev];
    double alpha = ab / ab_prev, beta = 1.0 - alpha;
    lc_dif_step_coef c;
    c.c_x = 1.0 / sqrt(alpha);
    c.c_eps = -beta / (sqrt(alpha) * sqrt(1.0 - ab));
    c.sigma = sqrt(beta * (1.0 - ab_prev) / (1.0 - ab));
    return c;
}

// DDIM: predict x_0 = (x_t - sqrt(1 - abar_t) eps) / sqrt(abar_t), then
// x_prev = sqrt(abar_prev) x_0 + sqrt(1 - abar_prev - sigma^2) eps + sigma z with
// sigma = eta sqrt((1 - abar_prev) / (1 - abar_t)) sqrt(1 - abar_t / abar_prev).
lc_dif_step_coef lc_dif_ddim_coef(const lc_dif_schedule *s, int t, int t_prev, double eta) {
    double ab = s->alpha_bar[t], ab_prev = s->alpha_bar[t_prev];
    double sigma = eta * sqrt((1.0 - ab_prev) / (1.0 - ab)) * sqrt(1.0 - ab / ab_prev);
    double dir = 1.0 - ab_prev - sigma * sigma;
    lc_dif_step_coef c;
    c.c_x = sqrt(ab_prev) / sqrt(ab);
    c.c_eps = sqrt(dir > 0 ? dir : 0) - sqrt(ab_prev) * sqrt(1.0 - ab) / sqrt(ab);
    c.sigma = sigma;
    return c;
}

lc_status lc_dif_timesteps(int *tau, int S, int T) {
    if (S < 1 || S > T)
        return lc_fail(LC_ERR_INVALID_ARG, "%d sampling steps: 1..T (T = %d)", S, T);
    for (int i = 0; i < S; i++) {
        tau[i] = (int)llround((double)(i + 1) * T / S);
        if (i > 0 && tau[i] <= tau[i - 1]) tau[i] = tau[i - 1] + 1;
    }
    return LC_OK;
}
