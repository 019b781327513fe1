// The diffusion model in the shared training loop (include/latentcl/train.h): one step
// is the denoising loss of a batch (timesteps and noise keyed by (seed, step, item)), and
// pictures go to the run folder: a grid (or scatter) every --sample-every steps and
// samples.png after each epoch with the EMA weights when the run keeps them.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "latentcl/dist.h"
#include "latentcl/image.h"
#include "models/diffusion_internal.h"

// Training-time pictures: 64 images, or 500 points with 25 DDIM steps (2-D epochs are short).
enum { N_GRID = 64, N_SCATTER = 500, SCATTER_STEPS = 25 };

void lc_diffusion_set_sample_every(lc_diffusion *m, int64_t every, const char *run_dir) {
    m->sample_every = every > 0 && run_dir ? every : 0;
    snprintf(m->run_dir, sizeof m->run_dir, "%s", run_dir ? run_dir : "");
}

// A picture of the model's samples now: an image grid, or points over the data.
static lc_status write_samples(lc_diffusion *m, const char *path) {
    bool points = m->cfg.net == LC_DIF_NET_MLP;
    int64_t n = points ? N_SCATTER : N_GRID;
    float *x = malloc((size_t)n * (size_t)m->dim * sizeof *x);
    // the condition of row r: class r, or (text) the caption of training item r
    int K = m->cfg.text_cond ? (int)(m->n_cond < 8 ? m->n_cond : 8) : m->cfg.n_classes;
    int32_t *cls = K > 0 ? malloc((size_t)n * sizeof *cls) : NULL;
    lc_status s = x && (K == 0 || cls) ? LC_OK : lc_fail(LC_ERR_NOMEM, "out of memory");
    lc_dif_sample_options o;
    lc_dif_sample_options_default(&o);
    o.seed = m->seed;
    if (points)
        o.steps = SCATTER_STEPS < m->cfg.T ? SCATTER_STEPS : m->cfg.T;
    else if (o.steps > m->cfg.T)
        o.steps = m->cfg.T;
    if (cls) { // rows of classes 0, 1, ... (8 per row in the grid)
        for (int64_t i = 0; i < n; i++)
            cls[i] = (int32_t)((points ? i : i / 8) % K);
        o.classes = cls;
    }
    if (s == LC_OK) s = lc_diffusion_sample(m, x, n, &o);
    if (s == LC_OK && points)
        s = lc_diffusion_write_scatter(path, m->pics, m->n_pics, x, n);
    else if (s == LC_OK)
        s = lc_grid_write(path, x, (int)n, m->cfg.channels, m->cfg.height, m->cfg.width, 8, 2,
                          NULL);
    free(x);
    free(cls);
    return s;
}

static lc_status step(void *self, lc_device *dev, cl_mem loss, const lc_batch *b) {
    lc_diffusion *m = self;
    (void)dev;
    m->seed = b->seed;
    // Pictures are rank 0's alone when training data-parallel (include/latentcl/dist.h).
    if (m->sample_every && b->step > 0 && b->step % m->sample_every == 0 && lc_dist_rank() == 0) {
        char path[4200];
        snprintf(path, sizeof path, "%s/samples_step%06lld.png", m->run_dir, (long long)b->step);
        LC_TRY(write_samples(m, path)); // the weights after b->step updates
    }
    if (m->train_y && b->count > m->batch_cap) {
        free(m->batch_y);
        m->batch_y = malloc((size_t)b->count * sizeof *m->batch_y);
        if (!m->batch_y) return lc_fail(LC_ERR_NOMEM, "out of memory");
        m->batch_cap = b->count;
    }
    for (int64_t i = 0; m->train_y && i < b->count; i++)
        m->batch_y[i] = m->train_y[b->index[i]];
    lc_step_begin(m->ctx);
    lc_set_grad_enabled(m->ctx, 1);
    lc_set_training(m->ctx, 1);
    lc_tensor *data, *l;
    int64_t shape[2] = {m->n_train, m->dim};
    LC_TRY(lc_tensor_wrap(m->ctx, &data, m->train_x, 0, LC_F32, 2, shape));
    lc_dif_net net = lc_diffusion_net(m);
    LC_TRY(lc_dif_loss(m->ctx, &l, &m->sched, &net, data, b->index, m->train_y ? m->batch_y : NULL,
                       b->count, m->cfg.p_uncond, b->seed, b->step));
    LC_TRY(lc_backward(m->ctx, l));
    LC_CL(clEnqueueCopyBuffer(lc_device_queue(m->dev), l->buf, loss, l->off * sizeof(float), 0,
                              sizeof(float), 0, NULL, NULL),
          "copying the diffusion loss");
    return LC_OK;
}

static lc_status epoch_end(void *self, lc_device *dev, const char *run_dir, int64_t epoch,
                           lc_optim *opt) {
    lc_diffusion *m = self;
    (void)dev;
    (void)epoch;
    if (!run_dir) return LC_OK;
    char path[4200];
    snprintf(path, sizeof path, "%s/samples.png", run_dir);
    bool ema = opt && lc_optim_ema(opt);
    if (ema) LC_TRY(lc_optim_swap_ema(opt, &m->params));
    lc_status s = write_samples(m, path);
    if (ema) {
        lc_status s2 = lc_optim_swap_ema(opt, &m->params);
        if (s == LC_OK) s = s2;
    }
    return s;
}

static lc_status config_json(void *self, char **out) {
    lc_diffusion *m = self;
    return lc_diffusion_config_to_json(out, &m->cfg);
}

lc_status lc_diffusion_train_model(lc_train_model *out, lc_diffusion *m) {
    if (!m->train_x)
        return lc_fail(LC_ERR_INVALID_ARG, "lc_diffusion_train_model: set the data first");
    memset(out, 0, sizeof *out);
    out->family = LC_DIFFUSION_FAMILY;
    out->self = m;
    out->params = &m->params;
    out->n_train = m->n_train;
    out->n_terms = 0;
    out->step = step;
    out->epoch_end = epoch_end;
    out->config_json = config_json;
    if (m->cfg.text_cond) out->save_extra = dif_save_vocab;
    return LC_OK;
}
