// Optimisers over the one parameter buffer: state, the per-step launches, reading
// back what the device decided (see include/latentcl/optim.h and cl/optim.cl).
#include <stdlib.h>
#include <string.h>

#include "latentcl/optim.h"
#include "optim/optim_internal.h"

static const char *const kind_names[] = {"sgd", "adam", "adamw"};

const char *lc_optim_kind_name(lc_optim_kind k) { return (unsigned)k < 3 ? kind_names[k] : "?"; }

lc_status lc_optim_kind_parse(lc_optim_kind *out, const char *name) {
    for (int i = 0; i < 3; i++)
        if (name && !strcmp(name, kind_names[i])) {
            *out = (lc_optim_kind)i;
            return LC_OK;
        }
    return lc_fail(LC_ERR_INVALID_ARG, "unknown optimizer '%s' (choose sgd, adam or adamw)",
                   name ? name : "");
}

lc_optim_config lc_optim_defaults(lc_optim_kind kind) {
    lc_optim_config c = {0};
    c.kind = kind;
    c.beta1 = 0.9;
    c.beta2 = 0.999;
    c.eps = 1e-8;
    c.weight_decay = kind == LC_OPTIM_ADAMW ? 0.01 : 0.0;
    c.zero_grad = true;
    return c;
}

// valid[b] = lanes of 16-float block b that belong to a parameter (0 for blocks no
// parameter touches, which lc_params never makes but a hand-built layout might).
static lc_status build_valid(uint8_t **out, const lc_params *p, size_t nblocks) {
    uint8_t *v = calloc(nblocks ? nblocks : 1, 1);
    if (!v) return lc_fail(LC_ERR_NOMEM, "optimiser: out of memory for %zu blocks", nblocks);
    for (int i = 0; i < p->count; i++) {
        const lc_param_info *it = &p->items[i];
        if (it->offset % LC_PARAM_ALIGN || it->offset + it->numel > p->total) {
            free(v);
            return lc_fail(LC_ERR_INVALID_ARG, "optimiser: parameter %s is not 16-float aligned",
                           it->name);
        }
        for (size_t j = 0; j < it->numel; j += LC_PARAM_ALIGN) {
            size_t left = it->numel - j;
            v[(it->offset + j) / LC_PARAM_ALIGN] = (uint8_t)(left < 16 ? left : 16);
        }
    }
    *out = v;
    return LC_OK;
}

static lc_status alloc_zero(cl_mem *m, lc_device *dev, size_t bytes) {
    LC_TRY(lc_buffer_alloc(m, dev, bytes));
    return lc_fill_zero(dev, *m, 0, bytes);
}

// Zeroes the loss sums and the step count; bad_step too when all is set.
lc_status optim_reset_state(lc_optim *o, int64_t t, int64_t skipped, bool all) {
    int32_t st[OPTIM_NSTATE] = {(int32_t)t, (int32_t)skipped, -1, 0};
    if (!all) {
        // Only the sums: keep t, skipped and bad_step as the device has them.
        LC_TRY(
            lc_write(o->dev, o->state, ST_COUNT * sizeof(int32_t), &st[ST_COUNT], sizeof(int32_t)));
        float zeros[LC_LOSS_MAX] = {0};
        return lc_write(o->dev, o->fstate, FS_LOSS * sizeof(float), zeros, sizeof zeros);
    }
    float fs[OPTIM_NFSTATE] = {1.0f};
    LC_TRY(lc_write(o->dev, o->state, 0, st, sizeof st));
    return lc_write(o->dev, o->fstate, 0, fs, sizeof fs);
}

lc_status lc_optim_new(lc_optim **out, lc_device *dev, const lc_params *p,
                       const lc_optim_config *cfg) {
    *out = NULL;
    if (!p->data || !p->grad)
        return lc_fail(LC_ERR_INVALID_ARG, "optimiser: parameters not allocated");
    if (p->total % LC_PARAM_ALIGN)
        return lc_fail(LC_ERR_INVALID_ARG, "optimiser: %zu floats is not a multiple of 16",
                       p->total);
    if ((unsigned)cfg->kind > LC_OPTIM_ADAMW)
        return lc_fail(LC_ERR_INVALID_ARG, "optimiser: unknown kind %d", (int)cfg->kind);
    if (!(cfg->clip >= 0) || !(cfg->ema >= 0 && cfg->ema < 1) || !(cfg->eps >= 0) ||
        !(cfg->beta1 >= 0 && cfg->beta1 < 1) || !(cfg->beta2 >= 0 && cfg->beta2 < 1) ||
        !(cfg->momentum >= 0) || !(cfg->weight_decay >= 0) || !(cfg->ema_warmup >= 0))
        return lc_fail(LC_ERR_INVALID_ARG,
                       "optimiser: bad hyper-parameter (clip %g, ema %g, ema warm-up %g, betas %g "
                       "%g, eps %g, momentum %g, weight decay %g)",
                       cfg->clip, cfg->ema, cfg->ema_warmup, cfg->beta1, cfg->beta2, cfg->eps,
                       cfg->momentum, cfg->weight_decay);
    if (p->total / LC_PARAM_ALIGN > 0xFFFFFFFFu)
        return lc_fail(LC_ERR_INVALID_ARG, "optimiser: %zu parameters is too many", p->total);
    lc_optim *o = calloc(1, sizeof *o);
    if (!o) return lc_fail(LC_ERR_NOMEM, "optimiser: out of memory");
    o->dev = dev;
    o->cfg = *cfg;
    o->total = p->total;
    o->nblocks = p->total / LC_PARAM_ALIGN;
    size_t bytes = (o->total ? o->total : LC_PARAM_ALIGN) * sizeof(float);
    uint8_t *valid = NULL;
    lc_status s = build_valid(&valid, p, o->nblocks);
    if (s == LC_OK) s = lc_buffer_alloc(&o->valid, dev, o->nblocks ? o->nblocks : 1);
    if (s == LC_OK && o->nblocks) s = lc_write(dev, o->valid, 0, valid, o->nblocks);
    free(valid);
    bool adam = cfg->kind != LC_OPTIM_SGD;
    if (s == LC_OK && (adam || cfg->momentum != 0)) s = alloc_zero(&o->m1, dev, bytes);
    if (s == LC_OK && adam) s = alloc_zero(&o->m2, dev, bytes);
    if (s == LC_OK && cfg->ema > 0) {
        s = lc_buffer_alloc(&o->ema, dev, bytes);
        if (s == LC_OK) {
            cl_int e = clEnqueueCopyBuffer(lc_device_queue(dev), p->data, o->ema, 0, 0, bytes, 0,
                                           NULL, NULL);
            if (e != CL_SUCCESS) s = lc_cl_fail(e, "clEnqueueCopyBuffer", "EMA initial copy");
        }
    }
    if (s == LC_OK) s = lc_buffer_alloc(&o->state, dev, OPTIM_NSTATE * sizeof(int32_t));
    if (s == LC_OK) s = lc_buffer_alloc(&o->fstate, dev, OPTIM_NFSTATE * sizeof(float));
    if (s == LC_OK) s = lc_buffer_alloc(&o->partial, dev, OPTIM_GROUPS * sizeof(float));
    if (s == LC_OK) s = lc_fill_zero(dev, o->partial, 0, OPTIM_GROUPS * sizeof(float));
    if (s == LC_OK) s = optim_reset_state(o, 0, 0, true);
    if (s != LC_OK) {
        lc_optim_free(o);
        return s;
    }
    *out = o;
    return LC_OK;
}

void lc_optim_free(lc_optim *o) {
    if (!o) return;
    lc_buffer_free(o->valid);
    lc_buffer_free(o->m1);
    lc_buffer_free(o->m2);
    lc_buffer_free(o->ema);
    lc_buffer_free(o->state);
    lc_buffer_free(o->fstate);
    lc_buffer_free(o->partial);
    free(o);
}

const lc_optim_config *lc_optim_get_config(const lc_optim *o) { return &o->cfg; }
cl_mem lc_optim_ema(const lc_optim *o) { return o->ema; }

lc_status lc_optim_swap_ema(lc_optim *o, lc_params *p) {
    if (!o->ema) return lc_fail(LC_ERR_INVALID_ARG, "no EMA weights (train with --ema DECAY)");
    cl_mem t = p->data;
    p->data = o->ema;
    o->ema = t;
    return LC_OK;
}

static lc_status launch_norm(lc_optim *o, const lc_params *p) {
    cl_kernel k;
    LC_TRY(lc_device_kernel(&k, o->dev, "optim", "grad_sumsq_partial"));
    cl_uint nb = (cl_uint)o->nblocks;
    LC_TRY(LC_ARG(k, 0, o->partial));
    LC_TRY(LC_ARG(k, 1, p->grad));
    LC_TRY(LC_ARG(k, 2, o->valid));
    LC_TRY(LC_ARG(k, 3, nb));
    size_t global = OPTIM_GROUPS * OPTIM_WG, local = OPTIM_WG;
    return lc_launch(o->dev, k, "grad_sumsq_partial", 1, &global, &local);
}

static lc_status launch_control(lc_optim *o, cl_mem loss, int n_loss, bool have_norm,
                                int64_t step) {
    cl_kernel k;
    LC_TRY(lc_device_kernel(&k, o->dev, "optim", "train_control"));
    cl_uint npartial = have_norm ? OPTIM_GROUPS : 0, nloss = loss ? (cl_uint)n_loss : 0;
    cl_uint flags = (o->cfg.skip_nonfinite ? 1u : 0u) | (have_norm ? 2u : 0u);
    cl_float clip = (cl_float)o->cfg.clip, b1 = (cl_float)o->cfg.beta1, b2 = (cl_float)o->cfg.beta2;
    cl_int st = (cl_int)step;
    cl_mem lossbuf = loss ? loss : o->partial; // never read when nloss == 0
    LC_TRY(LC_ARG(k, 0, o->state));
    LC_TRY(LC_ARG(k, 1, o->fstate));
    LC_TRY(LC_ARG(k, 2, o->partial));
    LC_TRY(LC_ARG(k, 3, npartial));
    LC_TRY(LC_ARG(k, 4, lossbuf));
    LC_TRY(LC_ARG(k, 5, nloss));
    LC_TRY(LC_ARG(k, 6, clip));
    LC_TRY(LC_ARG(k, 7, flags));
    LC_TRY(LC_ARG(k, 8, st));
    LC_TRY(LC_ARG(k, 9, b1));
    LC_TRY(LC_ARG(k, 10, b2));
    size_t global = OPTIM_WG, local = OPTIM_WG;
    return lc_launch(o->dev, k, "train_control", 1, &global, &local);
}

// The EMA decay of the update at 0-based step `step`. With a warm-up w the decay grows as
// (1 + t) / (w + t) towards cfg->ema, t = step + 1 (TF/timm's rule): a fixed 0.999 from the
// first step keeps ~1/e of the random initial weights for 1,000 steps, which a short run's
// samples show.
static double ema_decay_at(const lc_optim_config *cfg, int64_t step) {
    if (cfg->ema_warmup <= 0) return cfg->ema;
    double t = (double)step + 1.0, ramp = (1.0 + t) / (cfg->ema_warmup + t);
    return ramp < cfg->ema ? ramp : cfg->ema;
}

static lc_status launch_update(lc_optim *o, lc_params *p, float lr, bool check, int64_t step) {
    cl_kernel k;
    cl_uint nb = (cl_uint)o->nblocks, zero = o->cfg.zero_grad ? 1u : 0u, chk = check ? 1u : 0u;
    cl_int st = (cl_int)step;
    cl_float wd = (cl_float)o->cfg.weight_decay;
    cl_float decay = o->ema ? (cl_float)ema_decay_at(&o->cfg, step) : 0.0f;
    cl_mem ema = o->ema ? o->ema : p->data; // untouched when decay is 0
    const char *name;
    if (o->cfg.kind == LC_OPTIM_SGD) {
        name = "sgd_step";
        LC_TRY(lc_device_kernel(&k, o->dev, "optim", name));
        cl_mem buf = o->m1 ? o->m1 : p->grad; // untouched when momentum is 0
        cl_float mom = (cl_float)o->cfg.momentum, damp = (cl_float)o->cfg.dampening;
        cl_uint nest = o->cfg.nesterov ? 1u : 0u;
        LC_TRY(LC_ARG(k, 0, p->data));
        LC_TRY(LC_ARG(k, 1, p->grad));
        LC_TRY(LC_ARG(k, 2, buf));
        LC_TRY(LC_ARG(k, 3, o->valid));
        LC_TRY(LC_ARG(k, 4, nb));
        LC_TRY(LC_ARG(k, 5, o->state));
        LC_TRY(LC_ARG(k, 6, o->fstate));
        LC_TRY(LC_ARG(k, 7, lr));
        LC_TRY(LC_ARG(k, 8, mom));
        LC_TRY(LC_ARG(k, 9, damp));
        LC_TRY(LC_ARG(k, 10, wd));
        LC_TRY(LC_ARG(k, 11, nest));
        LC_TRY(LC_ARG(k, 12, zero));
        LC_TRY(LC_ARG(k, 13, chk));
        LC_TRY(LC_ARG(k, 14, st));
        LC_TRY(LC_ARG(k, 15, ema));
        LC_TRY(LC_ARG(k, 16, decay));
    } else {
        name = "adam_step";
        LC_TRY(lc_device_kernel(&k, o->dev, "optim", name));
        cl_float b1 = (cl_float)o->cfg.beta1, b2 = (cl_float)o->cfg.beta2,
                 eps = (cl_float)o->cfg.eps;
        cl_uint decoupled = o->cfg.kind == LC_OPTIM_ADAMW ? 1u : 0u;
        LC_TRY(LC_ARG(k, 0, p->data));
        LC_TRY(LC_ARG(k, 1, p->grad));
        LC_TRY(LC_ARG(k, 2, o->m1));
        LC_TRY(LC_ARG(k, 3, o->m2));
        LC_TRY(LC_ARG(k, 4, o->valid));
        LC_TRY(LC_ARG(k, 5, nb));
        LC_TRY(LC_ARG(k, 6, o->state));
        LC_TRY(LC_ARG(k, 7, o->fstate));
        LC_TRY(LC_ARG(k, 8, lr));
        LC_TRY(LC_ARG(k, 9, b1));
        LC_TRY(LC_ARG(k, 10, b2));
        LC_TRY(LC_ARG(k, 11, eps));
        LC_TRY(LC_ARG(k, 12, wd));
        LC_TRY(LC_ARG(k, 13, decoupled));
        LC_TRY(LC_ARG(k, 14, zero));
        LC_TRY(LC_ARG(k, 15, chk));
        LC_TRY(LC_ARG(k, 16, st));
        LC_TRY(LC_ARG(k, 17, ema));
        LC_TRY(LC_ARG(k, 18, decay));
    }
    // An explicit work-group size: PoCL's own choice for a 1-D range this long is slower.
    size_t global = o->nblocks, local = OPTIM_UPDATE_WG;
    return lc_launch(o->dev, k, name, 1, &global, &local);
}

lc_status lc_optim_step(lc_optim *o, lc_params *p, float lr, cl_mem loss, int n_loss,
                        int64_t step) {
    if (p->total != o->total)
        return lc_fail(LC_ERR_SHAPE, "optimiser made for %zu floats, stepped with %zu", o->total,
                       p->total);
    if (n_loss < 0 || n_loss > LC_LOSS_MAX)
        return lc_fail(LC_ERR_INVALID_ARG, "optimiser: %d loss entries (at most %d)", n_loss,
                       LC_LOSS_MAX);
    if (step < 0 || step > INT32_MAX)
        return lc_fail(LC_ERR_INVALID_ARG, "optimiser: step %lld out of range", (long long)step);
    if (o->nblocks == 0) return LC_OK;
    bool have_norm = o->cfg.clip > 0 || o->cfg.skip_nonfinite;
    if (have_norm) LC_TRY(launch_norm(o, p));
    LC_TRY(launch_control(o, loss, n_loss, have_norm, step));
    LC_TRY(launch_update(o, p, lr, !have_norm, step));
    return LC_OK;
}

lc_status lc_optim_read(lc_optim *o, lc_optim_report *r, bool reset) {
    int32_t st[OPTIM_NSTATE];
    float fs[OPTIM_NFSTATE];
    LC_TRY(lc_read(o->dev, st, o->state, 0, sizeof st));
    LC_TRY(lc_read(o->dev, fs, o->fstate, 0, sizeof fs));
    memset(r, 0, sizeof *r);
    r->updates = st[ST_T];
    r->skipped = st[ST_SKIPPED];
    r->bad_step = st[ST_BAD];
    r->steps = st[ST_COUNT];
    r->grad_norm = o->cfg.clip > 0 || o->cfg.skip_nonfinite ? fs[FS_NORM] : 0.0;
    for (int i = 0; i < LC_LOSS_MAX && r->steps > 0; i++)
        r->loss[i] = (double)fs[FS_LOSS + i] / (double)r->steps;
    if (reset) LC_TRY(optim_reset_state(o, 0, 0, false));
    return LC_OK;
}
