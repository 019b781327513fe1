// The AE/VAE in the shared training loop (include/latentcl/train.h): the images on
// the device, the step (gather the batch, loss, backward), test evaluation, and the
// pictures written to the run folder after each epoch.
#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "latentcl/checkpoint.h"
#include "models/model_io.h"
#include "models/vae_internal.h"

enum { N_SAMPLES = 64, N_RECON = 32, MAX_PICS = 10000 };

static lc_status upload(lc_vae *m, cl_mem *buf, const lc_dataset *d) {
    size_t bytes = (size_t)d->n * (size_t)m->P * sizeof(float);
    LC_TRY(lc_buffer_alloc(buf, m->dev, bytes));
    return lc_write(m->dev, *buf, 0, d->images, bytes);
}

lc_status lc_vae_set_data(lc_vae *m, const lc_dataset *train, const lc_dataset *test) {
    LC_TRY(model_check_images(train, "training", m->cfg.channels, m->cfg.height, m->cfg.width));
    if (test)
        LC_TRY(model_check_images(test, "test", m->cfg.channels, m->cfg.height, m->cfg.width));
    LC_TRY(upload(m, &m->train_x, train));
    m->n_train = train->n;
    if (test) {
        LC_TRY(upload(m, &m->test_x, test));
        m->n_test = test->n;
    }
    // Pictures come from the test set, else from the first training images.
    const lc_dataset *pics = test ? test : train;
    m->n_pics = pics->n < MAX_PICS ? pics->n : MAX_PICS;
    size_t floats = (size_t)m->n_pics * (size_t)m->P;
    m->test_host = malloc(floats * sizeof(float));
    if (!m->test_host) return lc_fail(LC_ERR_NOMEM, "out of memory");
    memcpy(m->test_host, pics->images, floats * sizeof(float));
    if (pics->labels) {
        m->test_labels = malloc((size_t)m->n_pics * sizeof(int32_t));
        if (!m->test_labels) return lc_fail(LC_ERR_NOMEM, "out of memory");
        memcpy(m->test_labels, pics->labels, (size_t)m->n_pics * sizeof(int32_t));
        m->n_classes = pics->n_classes;
    }
    if (pics->class_names && pics->n_classes > 0) {
        m->class_names = calloc((size_t)pics->n_classes, sizeof(char *));
        if (!m->class_names) return lc_fail(LC_ERR_NOMEM, "out of memory");
        for (int i = 0; i < pics->n_classes; i++)
            if (pics->class_names[i] && !(m->class_names[i] = strdup(pics->class_names[i])))
                return lc_fail(LC_ERR_NOMEM, "out of memory");
    }
    return LC_OK;
}

// ---- the step ------------------------------------------------------------------------

static lc_status step(void *self, lc_device *dev, cl_mem loss, const lc_batch *b) {
    lc_vae *m = self;
    (void)dev;
    m->seed = b->seed;
    lc_step_begin(m->ctx);
    lc_set_grad_enabled(m->ctx, 1);
    lc_set_training(m->ctx, 1);
    cl_mem ids;
    LC_TRY(vae_upload_ids(m, &ids, b->index, 0, b->count));
    lc_tensor *x, *l, *rec = NULL, *kl = NULL;
    LC_TRY(vae_gather(m, &x, m->train_x, ids, b->count)); // (B, P)
    if (m->cfg.kind == LC_VAE_KIND_VAE)
        LC_TRY(vae_neg_elbo(m, &l, &rec, &kl, x, ids, (uint32_t)b->step, VAE_DRAW_TRAIN,
                            vae_beta_at(&m->cfg, b->step)));
    else
        LC_TRY(ae_loss(m, &l, x, ids, (uint32_t)b->step));
    LC_TRY(lc_backward(m->ctx, l));
    LC_TRY(model_copy_term(m->dev, loss, 0, l));
    if (m->cfg.kind == LC_VAE_KIND_AE) return model_copy_term(m->dev, loss, 1, l);
    LC_TRY(model_copy_term(m->dev, loss, 1, rec));
    return model_copy_term(m->dev, loss, 2, kl);
}

// ---- evaluation ------------------------------------------------------------------------

static lc_status evaluate(void *self, lc_device *dev, lc_eval_split split, const int64_t *index,
                          int64_t count, lc_figures *out) {
    lc_vae *m = self;
    (void)dev;
    lc_vae_eval e;
    if (split == LC_EVAL_VAL)
        LC_TRY(vae_evaluate_device(m, &e, m->train_x, index, count, 0, m->seed, NULL, NULL));
    else
        LC_TRY(lc_vae_evaluate(m, &e, NULL, 0, 0, m->seed, NULL, NULL));
    if (m->cfg.kind == LC_VAE_KIND_AE) {
        LC_TRY(lc_figures_add(out, NULL, "rec", e.rec));
        return lc_figures_add(out, NULL, "mse", e.mse);
    }
    LC_TRY(lc_figures_add(out, NULL, "neg_elbo", e.neg_elbo));
    LC_TRY(lc_figures_add(out, NULL, "rec", e.rec));
    return lc_figures_add(out, NULL, "kl", e.kl);
}

// ---- pictures ----------------------------------------------------------------------------

static lc_status run_file(char *out, size_t cap, const char *dir, const char *name) {
    int n = snprintf(out, cap, "%s/%s", dir, name);
    return n > 0 && (size_t)n < cap ? LC_OK : lc_fail(LC_ERR_INVALID_ARG, "path too long");
}

// The AE's code distribution: mean and std of the picture images' codes, per dimension.
static lc_status fit_code_stats(lc_vae *m, const float *codes, int64_t n) {
    int Z = m->cfg.latent;
    float *mu = calloc((size_t)Z, sizeof *mu), *sd = calloc((size_t)Z, sizeof *sd);
    lc_status s = mu && sd ? LC_OK : lc_fail(LC_ERR_NOMEM, "out of memory");
    for (int d = 0; s == LC_OK && d < Z; d++) {
        double a = 0, q = 0;
        for (int64_t i = 0; i < n; i++)
            a += codes[i * Z + d];
        a /= (double)n;
        for (int64_t i = 0; i < n; i++)
            q += (codes[i * Z + d] - a) * (codes[i * Z + d] - a);
        mu[d] = (float)a;
        sd[d] = (float)sqrt(q / (double)n);
    }
    if (s == LC_OK) s = lc_vae_set_code_stats(m, mu, sd);
    free(mu);
    free(sd);
    return s;
}

// recon.png: rows of 8 test images, each above the row of their reconstructions.
static lc_status write_recon(lc_vae *m, const char *path) {
    int n = m->n_pics < N_RECON ? (int)m->n_pics : N_RECON, cols = 8;
    size_t P = (size_t)m->P, cells = 2 * (size_t)((n + cols - 1) / cols * cols);
    float *rec = malloc((size_t)n * P * sizeof *rec), *grid = malloc(cells * P * sizeof *grid);
    lc_status s = rec && grid ? LC_OK : lc_fail(LC_ERR_NOMEM, "out of memory");
    if (s == LC_OK) s = lc_vae_reconstruct(m, rec, m->test_host, n);
    int cell = 0;
    for (int r0 = 0; s == LC_OK && r0 < n; r0 += cols)
        for (int half = 0; half < 2; half++)
            for (int c = 0; c < cols; c++) {
                int i = r0 + c;
                float *dst = grid + (size_t)cell++ * P;
                if (i < n)
                    memcpy(dst, (half ? rec : m->test_host) + (size_t)i * P, P * sizeof *dst);
                else
                    memset(dst, 0, P * sizeof *dst);
            }
    if (s == LC_OK) s = lc_vae_write_grid(path, m, grid, cell, cols);
    free(rec);
    free(grid);
    return s;
}

static lc_status epoch_end(void *self, lc_device *dev, const char *run_dir, int64_t epoch,
                           lc_optim *opt) {
    lc_vae *m = self;
    (void)dev;
    (void)epoch;
    (void)opt;
    if (!run_dir) return LC_OK;
    char path[4096];
    int64_t Z = m->cfg.latent;
    bool need_codes = m->cfg.kind == LC_VAE_KIND_AE || Z == 2;
    float *codes = need_codes ? malloc((size_t)(m->n_pics * Z) * sizeof *codes) : NULL;
    float *x = malloc((size_t)N_SAMPLES * (size_t)m->P * sizeof *x);
    lc_status s = (!need_codes || codes) && x ? LC_OK : lc_fail(LC_ERR_NOMEM, "out of memory");
    if (s == LC_OK && need_codes) s = lc_vae_encode(m, codes, NULL, m->test_host, m->n_pics);
    if (s == LC_OK && m->cfg.kind == LC_VAE_KIND_AE) s = fit_code_stats(m, codes, m->n_pics);
    // samples.png: the same prior draws every epoch, so epochs compare
    if (s == LC_OK) s = lc_vae_sample(m, x, N_SAMPLES, m->seed);
    if (s == LC_OK) s = run_file(path, sizeof path, run_dir, "samples.png");
    if (s == LC_OK) s = lc_vae_write_grid(path, m, x, N_SAMPLES, 8);
    if (s == LC_OK) s = run_file(path, sizeof path, run_dir, "recon.png");
    if (s == LC_OK) s = write_recon(m, path);
    if (s == LC_OK && Z == 2) {
        s = run_file(path, sizeof path, run_dir, "latent_scatter.png");
        if (s == LC_OK)
            s = lc_vae_write_scatter(path, codes, m->test_labels, m->n_pics, m->n_classes,
                                     m->class_names);
        if (s == LC_OK) s = run_file(path, sizeof path, run_dir, "latent_grid.png");
        if (s == LC_OK) s = lc_vae_write_latent_grid(path, m, 20, 3.0);
    }
    free(codes);
    free(x);
    return s;
}

// ---- config and checkpoint extras ----------------------------------------------------

static lc_status config_json(void *self, char **out) {
    lc_vae *m = self;
    return lc_vae_config_to_json(out, &m->cfg);
}

// The AE's code distribution (what `latentcl sample` draws from) as metadata.
static lc_status save_extra(void *self, lc_st_builder *b) {
    lc_vae *m = self;
    if (m->cfg.kind != LC_VAE_KIND_AE || !m->code_mean) return LC_OK;
    cJSON *j = cJSON_CreateObject();
    cJSON *mu = cJSON_AddArrayToObject(j, "mean"), *sd = cJSON_AddArrayToObject(j, "std");
    for (int d = 0; mu && sd && d < m->cfg.latent; d++) {
        cJSON_AddItemToArray(mu, cJSON_CreateNumber(m->code_mean[d]));
        cJSON_AddItemToArray(sd, cJSON_CreateNumber(m->code_std[d]));
    }
    char *text = cJSON_PrintUnformatted(j);
    cJSON_Delete(j);
    if (!text) return lc_fail(LC_ERR_NOMEM, "out of memory");
    lc_status s = lc_st_builder_meta(b, "ae_code_stats", text);
    free(text);
    return s;
}

lc_status lc_vae_train_model(lc_train_model *out, lc_vae *m) {
    if (!m->train_x)
        return lc_fail(LC_ERR_INVALID_ARG, "lc_vae_train_model: call lc_vae_set_data first");
    memset(out, 0, sizeof *out);
    out->family = lc_vae_family(m->cfg.kind);
    out->self = m;
    out->params = &m->params;
    out->n_train = m->n_train;
    out->n_terms = m->cfg.kind == LC_VAE_KIND_VAE ? 2 : 1;
    out->term_names[0] = "rec";
    out->term_names[1] = "kl";
    out->has_test = m->test_x != NULL;
    out->higher_is_better = false;
    out->step = step;
    out->evaluate = evaluate;
    out->epoch_end = epoch_end;
    out->config_json = config_json;
    out->save_extra = save_extra;
    return LC_OK;
}
