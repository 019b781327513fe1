// Launches of the family's own kernels (cl/vae.cl): gathering a batch from the
// images on the device, noise keyed by item, per-row log-likelihoods; and the ring of
// item-id buffers a training step writes without waiting for the device.
#include <stdlib.h>
#include <string.h>

#include "latentcl/rng.h"
#include "models/vae_internal.h"

enum { LOCAL = 64 };

static lc_status launch(lc_vae *m, cl_kernel k, const char *name, size_t items) {
    size_t local = LOCAL, global = (items + LOCAL - 1) / LOCAL * LOCAL;
    if (global == 0) global = LOCAL;
    return lc_launch(m->dev, k, name, 1, &global, &local);
}

lc_status vae_gather(lc_vae *m, lc_tensor **out, cl_mem src, cl_mem ids, int64_t rows) {
    int64_t shape[2] = {rows, m->P};
    LC_TRY(lc_tensor_new(m->ctx, out, 2, shape));
    cl_kernel k;
    LC_TRY(lc_device_kernel(&k, m->dev, "vae", "gather_rows"));
    cl_int r = (cl_int)rows, cols = (cl_int)m->P;
    LC_TRY(LC_ARG(k, 0, (*out)->buf));
    LC_TRY(LC_ARG(k, 1, src));
    LC_TRY(LC_ARG(k, 2, ids));
    LC_TRY(LC_ARG(k, 3, r));
    LC_TRY(LC_ARG(k, 4, cols));
    return launch(m, k, "vae_gather_rows", (size_t)(rows * ((m->P + 15) / 16)));
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

lc_status vae_normal_rows(lc_vae *m, lc_tensor **out, cl_mem ids, int64_t rows, int64_t cols,
                          uint32_t ctr2, uint32_t purpose) {
    int64_t shape[2] = {rows, cols};
    LC_TRY(lc_tensor_new(m->ctx, out, 2, shape));
    cl_kernel k;
    LC_TRY(lc_device_kernel(&k, m->dev, "vae", "normal_rows"));
    cl_int r = (cl_int)rows, c = (cl_int)cols;
    LC_TRY(LC_ARG(k, 0, (*out)->buf));
    LC_TRY(LC_ARG(k, 1, ids));
    LC_TRY(LC_ARG(k, 2, r));
    LC_TRY(LC_ARG(k, 3, c));
    LC_TRY(set_key(k, 4, m->seed, ctr2, purpose));
    return launch(m, k, "vae_normal_rows", (size_t)(rows * ((cols + 3) / 4)));
}

lc_status vae_add_noise(lc_vae *m, lc_tensor *x, cl_mem ids, float scale, uint32_t ctr2,
                        uint32_t purpose) {
    if (x->off != 0) return lc_fail(LC_ERR_INVALID_ARG, "vae_add_noise: a view");
    cl_kernel k;
    LC_TRY(lc_device_kernel(&k, m->dev, "vae", "add_noise_rows"));
    cl_int r = (cl_int)x->shape[0], c = (cl_int)(x->numel / (size_t)x->shape[0]);
    LC_TRY(LC_ARG(k, 0, x->buf));
    LC_TRY(LC_ARG(k, 1, ids));
    LC_TRY(LC_ARG(k, 2, r));
    LC_TRY(LC_ARG(k, 3, c));
    LC_TRY(LC_ARG(k, 4, scale));
    LC_TRY(set_key(k, 5, m->seed, ctr2, purpose));
    return launch(m, k, "vae_add_noise_rows", (size_t)r * (size_t)((c + 3) / 4));
}

lc_status vae_row_loglik(lc_vae *m, cl_mem out, lc_tensor *logits, lc_tensor *x, int64_t k_per) {
    cl_kernel k;
    LC_TRY(lc_device_kernel(&k, m->dev, "vae", "row_loglik"));
    cl_int lo = (cl_int)logits->off, xo = (cl_int)x->off, rows = (cl_int)logits->shape[0],
           P = (cl_int)m->P, kk = (cl_int)k_per, gaussian = m->cfg.decoder == LC_VAE_GAUSSIAN;
    cl_float sigma = (cl_float)m->cfg.sigma;
    LC_TRY(LC_ARG(k, 0, out));
    LC_TRY(LC_ARG(k, 1, logits->buf));
    LC_TRY(LC_ARG(k, 2, lo));
    LC_TRY(LC_ARG(k, 3, x->buf));
    LC_TRY(LC_ARG(k, 4, xo));
    LC_TRY(LC_ARG(k, 5, rows));
    LC_TRY(LC_ARG(k, 6, P));
    LC_TRY(LC_ARG(k, 7, kk));
    LC_TRY(LC_ARG(k, 8, gaussian));
    LC_TRY(LC_ARG(k, 9, sigma));
    return launch(m, k, "vae_row_loglik", (size_t)rows);
}

// The write of slot s is non-blocking; its host memory is reused VAE_IDX_RING writes
// later, after waiting for that write's event (long finished by then in practice).
lc_status vae_upload_ids(lc_vae *m, cl_mem *buf, const int64_t *ids, int64_t first, int64_t n) {
    if (n > m->ids_cap) {
        for (int s = 0; s < VAE_IDX_RING; s++) {
            if (m->ids_ev[s]) {
                LC_CL(clWaitForEvents(1, &m->ids_ev[s]), "waiting for an id upload");
                clReleaseEvent(m->ids_ev[s]);
                m->ids_ev[s] = NULL;
            }
            lc_buffer_free(m->ids[s]);
            m->ids[s] = NULL;
            free(m->ids_host[s]);
            m->ids_host[s] = malloc((size_t)n * sizeof(int32_t));
            if (!m->ids_host[s]) return lc_fail(LC_ERR_NOMEM, "out of memory for batch ids");
            LC_TRY(lc_buffer_alloc(&m->ids[s], m->dev, (size_t)n * sizeof(int32_t)));
        }
        m->ids_cap = n;
    }
    int s = m->ring;
    m->ring = (m->ring + 1) % VAE_IDX_RING;
    if (m->ids_ev[s]) {
        LC_CL(clWaitForEvents(1, &m->ids_ev[s]), "waiting for an id upload");
        clReleaseEvent(m->ids_ev[s]);
        m->ids_ev[s] = NULL;
    }
    for (int64_t i = 0; i < n; i++)
        m->ids_host[s][i] = (int32_t)(ids ? ids[i] : first + i);
    LC_CL(clEnqueueWriteBuffer(lc_device_queue(m->dev), m->ids[s], CL_FALSE, 0,
                               (size_t)n * sizeof(int32_t), m->ids_host[s], 0, NULL, &m->ids_ev[s]),
          "writing batch ids");
    *buf = m->ids[s];
    return LC_OK;
}

void vae_host_normals(float *out, int64_t cols, uint64_t seed, uint32_t item, uint32_t ctr2,
                      uint32_t purpose) {
    const uint32_t counter[4] = {0, item, ctr2, purpose};
    lc_rng_fill_host(out, (size_t)cols, 1, seed, counter);
}
