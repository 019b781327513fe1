// Evaluation in nats per image: the negative ELBO split into its reconstruction and
// KL terms (one reparameterised draw per image), the importance-weighted bound
// (Burda et al. 2016) with k draws,
//     log p(x) >= log (1/k) sum_j p(x|z_j) p(z_j) / q(z_j|x),  z_j ~ q(z|x),
// and, for the AE, the reconstruction loss and the mean squared error per pixel.
// The encoder and decoder run on the device; the Gaussian log-densities of the codes
// are summed on the host in double. Draw j of image i is keyed by (seed, i, j).
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "models/vae_internal.h"

// log N(v; 0, 1) without the constant, summed: the constants of log p(z) and log q(z|x)
// cancel in their difference.
static double half_sq(const float *v, int64_t n) {
    double s = 0;
    for (int64_t i = 0; i < n; i++)
        s += 0.5 * (double)v[i] * (double)v[i];
    return s;
}

typedef struct {
    lc_vae *m;
    cl_mem src;         // images on the device
    const int64_t *ids; // rows of src (and the draw keys); NULL: 0..n-1
    int64_t n;
    int k; // IWAE draws (0: none)
    uint64_t seed;
    // host scratch for one chunk
    float *mu, *lv, *eps, *z, *ll, *mean;
    double rec, kl, iwae, sq;
} eval_job;

// Decodes rows z (rows, Z) on the device and returns log p(x_i | z_r) per row, where
// row r belongs to image r / per of the chunk x.
static lc_status loglik_rows(eval_job *j, lc_tensor *x, int64_t rows, int64_t per) {
    lc_vae *m = j->m;
    int64_t shape[2] = {rows, m->cfg.latent}, one = rows;
    lc_tensor *zt, *logits, *ll;
    LC_TRY(lc_tensor_from_host(m->ctx, &zt, j->z, 2, shape));
    LC_TRY(vae_decoder(m, &logits, zt));
    LC_TRY(lc_tensor_new(m->ctx, &ll, 1, &one));
    LC_TRY(vae_row_loglik(m, ll->buf, logits, x, per));
    if (j->mean && per == 1) { // the AE's reconstruction for the pixel error
        lc_tensor *mean;
        LC_TRY(lc_sigmoid(m->ctx, &mean, logits));
        LC_TRY(lc_tensor_to_host(m->ctx, j->mean, mean));
    }
    return lc_tensor_to_host(m->ctx, j->ll, ll);
}

static lc_status eval_chunk(eval_job *j, int64_t i0, int64_t c) {
    lc_vae *m = j->m;
    int64_t Z = m->cfg.latent, P = m->P;
    bool vae = m->cfg.kind == LC_VAE_KIND_VAE;
    lc_step_begin(m->ctx);
    cl_mem ids;
    LC_TRY(vae_upload_ids(m, &ids, j->ids ? j->ids + i0 : NULL, i0, c));
    lc_tensor *x, *mu, *lv;
    LC_TRY(vae_gather(m, &x, j->src, ids, c));
    LC_TRY(vae_encoder(m, &mu, &lv, x));
    LC_TRY(lc_tensor_to_host(m->ctx, j->mu, mu));
    if (lv) LC_TRY(lc_tensor_to_host(m->ctx, j->lv, lv));
    // One draw per image (the AE's code is deterministic): the ELBO's terms.
    for (int64_t i = 0; i < c; i++) {
        uint32_t item = (uint32_t)(j->ids ? j->ids[i0 + i] : i0 + i);
        float *zi = j->z + i * Z;
        const float *mi = j->mu + i * Z, *li = j->lv + i * Z;
        if (!vae) {
            memcpy(zi, mi, (size_t)Z * sizeof *zi);
            continue;
        }
        vae_host_normals(j->eps, Z, j->seed, item, 0, VAE_DRAW_EVAL);
        for (int64_t d = 0; d < Z; d++) {
            zi[d] = mi[d] + expf(0.5f * li[d]) * j->eps[d];
            // KL(N(mu, s^2) || N(0, 1)) = (mu^2 + s^2 - 1 - log s^2) / 2
            j->kl += 0.5 * ((double)mi[d] * mi[d] + exp((double)li[d]) - 1.0 - (double)li[d]);
        }
    }
    LC_TRY(loglik_rows(j, x, c, 1));
    for (int64_t i = 0; i < c; i++)
        j->rec -= j->ll[i];
    if (j->mean) {
        float *xh = malloc((size_t)(c * P) * sizeof *xh);
        if (!xh) return lc_fail(LC_ERR_NOMEM, "out of memory");
        lc_status s = lc_tensor_to_host(m->ctx, xh, x);
        for (int64_t e = 0; s == LC_OK && e < c * P; e++)
            j->sq += ((double)xh[e] - j->mean[e]) * ((double)xh[e] - j->mean[e]);
        free(xh);
        LC_TRY(s);
    }
    if (!vae || j->k < 1) return LC_OK;
    // IWAE: k draws per image, rows (image, draw); log w = log p(x|z) + log p(z) - log q(z|x).
    int64_t k = j->k;
    double *logw = malloc((size_t)(c * k) * sizeof *logw);
    if (!logw) return lc_fail(LC_ERR_NOMEM, "out of memory");
    for (int64_t i = 0; i < c; i++) {
        uint32_t item = (uint32_t)(j->ids ? j->ids[i0 + i] : i0 + i);
        const float *mi = j->mu + i * Z, *li = j->lv + i * Z;
        for (int64_t d = 0; d < k; d++) {
            float *zr = j->z + (i * k + d) * Z;
            vae_host_normals(j->eps, Z, j->seed, item, (uint32_t)d, VAE_DRAW_EVAL);
            double log_q = -half_sq(j->eps, Z), log_p;
            for (int64_t e = 0; e < Z; e++) {
                zr[e] = mi[e] + expf(0.5f * li[e]) * j->eps[e];
                log_q -= 0.5 * (double)li[e];
            }
            log_p = -half_sq(zr, Z);
            logw[i * k + d] = log_p - log_q;
        }
    }
    lc_status s = loglik_rows(j, x, c * k, k);
    for (int64_t i = 0; s == LC_OK && i < c; i++) {
        double mx = -INFINITY, sum = 0;
        for (int64_t d = 0; d < k; d++) {
            logw[i * k + d] += j->ll[i * k + d];
            if (logw[i * k + d] > mx) mx = logw[i * k + d];
        }
        for (int64_t d = 0; d < k; d++)
            sum += exp(logw[i * k + d] - mx);
        j->iwae -= mx + log(sum) - log((double)k);
    }
    free(logw);
    return s;
}

// Evaluation over n items of src (rows ids[i], or 0..n-1).
lc_status vae_evaluate_device(lc_vae *m, lc_vae_eval *out, cl_mem src, const int64_t *ids,
                              int64_t n, int iwae_k, uint64_t seed, lc_progress_fn progress,
                              void *user) {
    memset(out, 0, sizeof *out);
    out->iwae_neg_ll = out->mse = NAN;
    if (n < 1) return lc_fail(LC_ERR_INVALID_ARG, "evaluate: no images");
    if (iwae_k < 0 || iwae_k > 100000)
        return lc_fail(LC_ERR_INVALID_ARG, "--iwae %d out of range (0..100000)", iwae_k);
    if (iwae_k > 0 && m->cfg.kind != LC_VAE_KIND_VAE)
        return lc_fail(LC_ERR_INVALID_ARG, "--iwae needs a VAE (an AE has no q(z|x))");
    int64_t Z = m->cfg.latent, per = iwae_k > 1 ? iwae_k : 1;
    // Chunk so that a chunk's decoder rows stay near 4096.
    int64_t chunk = 4096 / per;
    if (chunk < 1) chunk = 1;
    if (chunk > VAE_CHUNK) chunk = VAE_CHUNK;
    eval_job j = {m, src, ids, n, iwae_k, seed, NULL, NULL, NULL, NULL, NULL, NULL, 0, 0, 0, 0};
    j.mu = malloc((size_t)(chunk * Z) * sizeof(float));
    j.lv = calloc((size_t)(chunk * Z), sizeof(float));
    j.eps = malloc((size_t)Z * sizeof(float));
    j.z = malloc((size_t)(chunk * per * Z) * sizeof(float));
    j.ll = malloc((size_t)(chunk * per) * sizeof(float));
    if (m->cfg.kind == LC_VAE_KIND_AE) j.mean = malloc((size_t)(chunk * m->P) * sizeof(float));
    lc_status s = j.mu && j.lv && j.eps && j.z && j.ll && (m->cfg.kind != LC_VAE_KIND_AE || j.mean)
                      ? LC_OK
                      : lc_fail(LC_ERR_NOMEM, "out of memory for evaluation");
    lc_set_grad_enabled(m->ctx, 0);
    lc_set_training(m->ctx, 0);
    for (int64_t i = 0; s == LC_OK && i < n; i += chunk) {
        s = eval_chunk(&j, i, n - i < chunk ? n - i : chunk);
        if (s == LC_OK && progress) {
            lc_progress p = lc_progress_init("eval");
            p.step = i + (n - i < chunk ? n - i : chunk);
            p.total = n;
            if (progress(user, &p)) s = lc_fail(LC_ERR_CANCELLED, "evaluation cancelled");
        }
    }
    free(j.mu);
    free(j.lv);
    free(j.eps);
    free(j.z);
    free(j.ll);
    free(j.mean);
    LC_TRY(s);
    out->n = n;
    out->rec = j.rec / (double)n;
    out->kl = j.kl / (double)n;
    out->neg_elbo = out->rec + out->kl;
    if (iwae_k > 0) out->iwae_neg_ll = j.iwae / (double)n;
    if (m->cfg.kind == LC_VAE_KIND_AE) out->mse = j.sq / ((double)n * (double)m->P);
    return LC_OK;
}

lc_status lc_vae_evaluate(lc_vae *m, lc_vae_eval *out, const float *x, int64_t n, int iwae_k,
                          uint64_t seed, lc_progress_fn progress, void *user) {
    if (x == NULL) {
        if (!m->test_x) return lc_fail(LC_ERR_INVALID_ARG, "evaluate: no test set was given");
        return vae_evaluate_device(m, out, m->test_x, NULL, m->n_test, iwae_k, seed, progress,
                                   user);
    }
    if (n < 1) return lc_fail(LC_ERR_INVALID_ARG, "evaluate: no images");
    cl_mem buf;
    LC_TRY(lc_buffer_alloc(&buf, m->dev, (size_t)(n * m->P) * sizeof(float)));
    lc_status s = lc_write(m->dev, buf, 0, x, (size_t)(n * m->P) * sizeof(float));
    if (s == LC_OK) s = vae_evaluate_device(m, out, buf, NULL, n, iwae_k, seed, progress, user);
    lc_buffer_free(buf);
    return s;
}
