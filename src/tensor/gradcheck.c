// The op-check driver (see gradcheck.h).
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "latentcl/rng.h"
#include "tensor/gradcheck.h"

enum { MAX_FD_PER_INPUT = 48 };

const lc_op_case *lc_op_case_find(const char *name) {
    for (const lc_op_case *c = lc_op_cases; c->name; c++)
        if (!strcmp(c->name, name)) return c;
    return NULL;
}

static size_t numel_of(const lc_case_cfg *cfg, int i) {
    size_t n = 1;
    for (int d = 0; d < cfg->ndim[i]; d++)
        n *= (size_t)cfg->shape[i][d];
    return n;
}

typedef struct {
    double *in[LC_CASE_MAX_IN];
    double *out, *w;
    float *fin[LC_CASE_MAX_IN], *fout, *fw, *grad;
} buffers;

static void free_buffers(buffers *b) {
    for (int i = 0; i < LC_CASE_MAX_IN; i++) {
        free(b->in[i]);
        free(b->fin[i]);
    }
    free(b->out);
    free(b->w);
    free(b->fout);
    free(b->fw);
    free(b->grad);
}

// L = sum(w * ref(in)) in double.
static double weighted(const lc_op_case *oc, const lc_case_cfg *cfg, buffers *b) {
    oc->ref(b->out, b->in, cfg);
    double s = 0;
    for (int64_t i = 0; i < cfg->out_numel; i++)
        s += b->w[i] * b->out[i];
    return s;
}

static lc_status run_case(lc_ctx *ctx, const lc_op_case *oc, const lc_case_cfg *cfg, buffers *b,
                          uint64_t seed, lc_case_result *res) {
    uint32_t ctr[4] = {0, 0, 0, 0};
    for (int i = 0; i < cfg->n_in; i++) {
        size_t n = numel_of(cfg, i);
        b->in[i] = malloc(n * sizeof(double));
        b->fin[i] = malloc(n * sizeof(float));
        if (!b->in[i] || !b->fin[i]) return lc_fail(LC_ERR_NOMEM, "out of memory");
        ctr[1] = (uint32_t)i;
        lc_rng_fill_host(b->fin[i], n, 0, seed, ctr);
        for (size_t j = 0; j < n; j++) {
            float u = b->fin[i][j];
            if (cfg->int_range[i] > 0) {
                int32_t v = (int32_t)(u * (float)cfg->int_range[i]);
                if (v >= cfg->int_range[i]) v = cfg->int_range[i] - 1;
                memcpy(&b->fin[i][j], &v, 4);
                b->in[i][j] = v;
                continue;
            }
            float lo = cfg->lo[i], hi = cfg->hi[i];
            if (lo == 0 && hi == 0) lo = -1, hi = 1;
            float x = lo + (hi - lo) * u;
            if (cfg->away > 0 && fabsf(x) < cfg->away) x = x < 0 ? -cfg->away : cfg->away;
            b->fin[i][j] = x;
            b->in[i][j] = x;
        }
    }
    size_t on = (size_t)cfg->out_numel;
    b->out = malloc(on * sizeof(double));
    b->w = malloc(on * sizeof(double));
    b->fout = malloc(on * sizeof(float));
    b->fw = malloc(on * sizeof(float));
    if (!b->out || !b->w || !b->fout || !b->fw) return lc_fail(LC_ERR_NOMEM, "out of memory");
    ctr[1] = 99;
    lc_rng_fill_host(b->fw, on, 0, seed, ctr);
    for (size_t j = 0; j < on; j++) {
        b->fw[j] = 2 * b->fw[j] - 1;
        b->w[j] = b->fw[j];
    }

    // Device forward.
    lc_step_begin(ctx);
    lc_tensor *in[LC_CASE_MAX_IN] = {0}, *out, *w;
    for (int i = 0; i < cfg->n_in; i++) {
        if (cfg->int_range[i] > 0) {
            LC_TRY(lc_tensor_from_host_i32(ctx, &in[i], (const int32_t *)b->fin[i], cfg->ndim[i],
                                           cfg->shape[i]));
        } else {
            LC_TRY(lc_tensor_from_host(ctx, &in[i], b->fin[i], cfg->ndim[i], cfg->shape[i]));
            if (!cfg->no_grad[i] && lc_grad_enabled(ctx))
                LC_TRY(lc_tensor_set_requires_grad(ctx, in[i]));
        }
    }
    int before = lc_tape_size(ctx);
    LC_TRY(oc->run(ctx, &out, in, cfg));
    res->tape_nodes = lc_tape_size(ctx) - before;
    if ((int64_t)out->numel != cfg->out_numel)
        return lc_fail(LC_ERR_SHAPE, "%s: device output has %zu elements, reference %lld", oc->name,
                       out->numel, (long long)cfg->out_numel);
    LC_TRY(lc_tensor_to_host(ctx, b->fout, out));
    oc->ref(b->out, b->in, cfg);
    double err = 0, scale = 1;
    for (size_t j = 0; j < on; j++)
        scale = fmax(scale, fabs(b->out[j]));
    for (size_t j = 0; j < on; j++) {
        double e = fabs((double)b->fout[j] - b->out[j]);
        if (!isfinite(e)) e = 1e30; // JSON-printable "huge"
        err = fmax(err, e);
    }
    res->fwd_err = err / scale;
    res->grad_err = -1;
    if (!lc_grad_enabled(ctx) || !out->requires_grad) return LC_OK;

    // Device backward from w, against central differences of the reference.
    LC_TRY(lc_tensor_from_host(ctx, &w, b->fw, out->ndim, out->shape));
    LC_TRY(lc_backward_from(ctx, out, w));
    double gerr = 0;
    for (int i = 0; i < cfg->n_in; i++) {
        if (cfg->int_range[i] > 0 || cfg->no_grad[i]) continue;
        res->grad_checked = 1;
        size_t n = numel_of(cfg, i);
        free(b->grad);
        b->grad = malloc(n * sizeof(float));
        if (!b->grad) return lc_fail(LC_ERR_NOMEM, "out of memory");
        LC_TRY(lc_tensor_grad_to_host(ctx, b->grad, in[i]));
        size_t step = n > MAX_FD_PER_INPUT ? n / MAX_FD_PER_INPUT : 1;
        double maxfd = 0, maxdiff = 0;
        for (size_t j = (size_t)(seed % step); j < n; j += step) {
            const double h = 1e-5;
            double x = b->in[i][j];
            b->in[i][j] = x + h;
            double lp = weighted(oc, cfg, b);
            b->in[i][j] = x - h;
            double lm = weighted(oc, cfg, b);
            b->in[i][j] = x;
            double fd = (lp - lm) / (2 * h);
            double d = fabs(fd - (double)b->grad[j]);
            if (!isfinite(d)) d = 1e30;
            maxfd = fmax(maxfd, fabs(fd));
            maxdiff = fmax(maxdiff, d);
        }
        gerr = fmax(gerr, maxdiff / (maxfd + 1e-6));
    }
    res->grad_err = gerr;
    return LC_OK;
}

lc_status lc_run_case(lc_ctx *ctx, const lc_op_case *oc, const int *sz, uint64_t seed,
                      lc_case_result *res) {
    lc_case_cfg cfg;
    memset(&cfg, 0, sizeof cfg);
    memset(res, 0, sizeof *res);
    oc->setup(&cfg, sz ? sz : oc->sz);
    buffers b;
    memset(&b, 0, sizeof b);
    lc_status s = run_case(ctx, oc, &cfg, &b, seed, res);
    free_buffers(&b);
    return s;
}
