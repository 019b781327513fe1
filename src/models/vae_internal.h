// Internals of the AE/VAE family: the model struct, its layers and the pieces the
// files share (vae_nets.c networks, vae.c / ae.c losses, vae_kernels.c launches).
#ifndef LATENTCL_VAE_INTERNAL_H
#define LATENTCL_VAE_INTERNAL_H

#include "latentcl/tensor.h"
#include "latentcl/vae.h"
#include "models/image_nets.h"

// Purposes of random draws: the last counter word, so streams never overlap.
enum {
    VAE_DRAW_TRAIN = 1,   // reparameterisation noise of a training step (ctr2 = step)
    VAE_DRAW_EVAL = 2,    // evaluation noise (ctr2 = importance sample number)
    VAE_DRAW_PRIOR = 3,   // prior draws for sampling (item = sample number)
    VAE_DRAW_DENOISE = 4, // the denoising AE's input noise (ctr2 = step)
    VAE_DRAW_INIT = 5,    // initial weights (item = parameter number)
};

// Items per evaluation/inference chunk (bounded memory whatever n is).
enum { VAE_CHUNK = 256, VAE_IDX_RING = 2 };

struct lc_vae {
    lc_device *dev; // borrowed
    lc_vae_config cfg;
    lc_params params;
    lc_ctx *ctx;
    uint64_t seed;
    int64_t step; // of the checkpoint loaded
    int64_t P;    // floats per image
    // Networks: mlp: enc_fc, dec_fc (dec_fc[2] is the output); conv: image_enc, image_dec;
    // both: the heads (AE: head_mu is z's layer).
    lc_linear enc_fc[2], dec_fc[3], head_mu, head_logvar;
    image_encoder image_enc;
    image_decoder image_dec;
    // Data on the device (lc_vae_set_data).
    cl_mem train_x, test_x;
    int64_t n_train, n_test;
    float *test_host;     // (n_pics, P): the test set (else the first training images),
    int32_t *test_labels; // (n_pics) or NULL                       for pictures
    int64_t n_pics;
    int n_classes;
    char **class_names; // (n_classes) copies, or NULL
    // Per-step item ids: a small ring written without a host wait.
    cl_mem ids[VAE_IDX_RING];
    cl_event ids_ev[VAE_IDX_RING];
    int32_t *ids_host[VAE_IDX_RING];
    int64_t ids_cap;
    int ring;
    // AE sampling: the code distribution.
    float *code_mean, *code_std; // (Z) or NULL
};

// ---- networks (vae_nets.c) ----
lc_status vae_declare(lc_vae *m);
lc_status vae_init_weights(lc_vae *m, uint64_t seed);
// Encoder: x (B, P) -> mu (B, Z) and, for a VAE, logvar (B, Z) (AE: *logvar = NULL, mu = z).
lc_status vae_encoder(lc_vae *m, lc_tensor **mu, lc_tensor **logvar, lc_tensor *x);
// Decoder: z (B, Z) -> logits (B, P).
lc_status vae_decoder(lc_vae *m, lc_tensor **logits, lc_tensor *z);

// ---- the losses (vae.c, ae.c) ----
// -ELBO of a batch: loss = rec + beta kl, all (1), per image averaged over the batch.
// ids (B) int32 on the device key the noise with (ctr2, purpose).
lc_status vae_neg_elbo(lc_vae *m, lc_tensor **loss, lc_tensor **rec, lc_tensor **kl, lc_tensor *x,
                       cl_mem ids, uint32_t ctr2, uint32_t purpose, float beta);
// The reconstruction term -log p(x | logits) per image averaged over the batch (1).
lc_status vae_rec_loss(lc_vae *m, lc_tensor **rec, lc_tensor *logits, lc_tensor *x);
// The beta of step `step` under KL warm-up.
float vae_beta_at(const lc_vae_config *c, int64_t step);
// AE loss of a batch (the input noised by the denoising option).
lc_status ae_loss(lc_vae *m, lc_tensor **loss, lc_tensor *x, cl_mem ids, uint32_t step);

// ---- kernels (vae_kernels.c) ----
lc_status vae_gather(lc_vae *m, lc_tensor **out, cl_mem src, cl_mem ids, int64_t rows);
lc_status vae_normal_rows(lc_vae *m, lc_tensor **out, cl_mem ids, int64_t rows, int64_t cols,
                          uint32_t ctr2, uint32_t purpose);
lc_status vae_add_noise(lc_vae *m, lc_tensor *x, cl_mem ids, float scale, uint32_t ctr2,
                        uint32_t purpose);
lc_status vae_row_loglik(lc_vae *m, cl_mem out, lc_tensor *logits, lc_tensor *x, int64_t k);
// Writes n item ids into the next ring slot (no host wait); *buf is the device buffer.
lc_status vae_upload_ids(lc_vae *m, cl_mem *buf, const int64_t *ids, int64_t first, int64_t n);

// Evaluation over n images of src (device rows ids[i], or 0..n-1; draws keyed likewise).
lc_status vae_evaluate_device(lc_vae *m, lc_vae_eval *out, cl_mem src, const int64_t *ids,
                              int64_t n, int iwae_k, uint64_t seed, lc_progress_fn progress,
                              void *user);

// A host normal from the same Philox keying as normal_rows (host reference and sampling).
void vae_host_normals(float *out, int64_t cols, uint64_t seed, uint32_t item, uint32_t ctr2,
                      uint32_t purpose);

#endif
