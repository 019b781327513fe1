// Internals of the multimodal VAE: the model struct, its layers, and the pieces its files
// share (mmvae.c: experts, decoders and the ELBO; mmvae_model.c: the object;
// mmvae_train.c: the training loop's hooks; mmvae_infer.c: captions, images, embeddings).
#ifndef LATENTCL_MMVAE_INTERNAL_H
#define LATENTCL_MMVAE_INTERNAL_H

#include "latentcl/mmvae.h"
#include "latentcl/nn.h"
#include "latentcl/tensor.h"
#include "latentcl/text.h"
#include "models/image_nets.h"

// Purposes of random draws (the last Philox counter word), so streams never overlap.
enum {
    MMVAE_DRAW_JOINT = 1, // reparameterisation noise of the joint term (ctr2 = step)
    MMVAE_DRAW_IMAGE = 2, // ... of the image-only term
    MMVAE_DRAW_TEXT = 3,  // ... of the text-only term
    MMVAE_DRAW_EVAL = 4,  // evaluation noise
    MMVAE_DRAW_GEN = 5,   // text-to-image draws (item = sample number)
};

// Items per inference chunk (bounded memory whatever n is).
enum { MMVAE_CHUNK = 256 };

// Which experts a posterior multiplies (bit set), which modalities a term reconstructs.
enum { MMVAE_X = 1, MMVAE_Y = 2 };

struct lc_mmvae {
    lc_device *dev; // borrowed
    lc_mmvae_config cfg;
    lc_vocab vocab;
    lc_params params;
    lc_ctx *ctx;
    uint64_t seed;
    int64_t step; // of the checkpoint loaded
    int64_t P;    // floats per image
    // q(z|x): the conv VAE's image encoder (models/image_nets.h) and two heads
    image_encoder image_enc;
    lc_linear img_mu, img_logvar;
    // q(z|y)
    lc_text_encoder text_enc;
    lc_linear txt_mu, txt_logvar;
    // p(x|z): the conv VAE's image decoder; p(y|z)
    image_decoder image_dec;
    lc_text_decoder text_dec;
    // Data (host; a step gathers its batch and uploads it).
    float *train_x;
    int32_t *train_ids, *train_eos; // (n_train, T), (n_train)
    int64_t n_train;
    float *test_x;
    char **test_captions;
    int32_t *test_ids, *test_eos;
    int64_t n_test;
    // Step scratch (host), sized for the largest batch seen.
    float *batch_x, *batch_eps, *batch_target;
    int32_t *batch_ids, *batch_eos;
    int64_t batch_cap;
};

// ---- networks and loss (mmvae.c) ----
lc_status mmvae_declare(lc_mmvae *m);
lc_status mmvae_init_weights(lc_mmvae *m, uint64_t seed);
// q(z|x): x (B, P) -> mu, logvar (B, Z).
lc_status mmvae_image_expert(lc_mmvae *m, lc_tensor **mu, lc_tensor **logvar, lc_tensor *x);
// q(z|y): ids (B, T), eos (B) -> mu, logvar (B, Z).
lc_status mmvae_text_expert(lc_mmvae *m, lc_tensor **mu, lc_tensor **logvar, lc_tensor *ids,
                            lc_tensor *eos);
// p(x|z): z (B, Z) -> logits (B, P).
lc_status mmvae_image_decoder(lc_mmvae *m, lc_tensor **logits, lc_tensor *z);
// p(y|z): teacher-forced ids (B, T), z (B, Z) -> logits (B, T, V).
lc_status mmvae_text_decoder(lc_mmvae *m, lc_tensor **logits, lc_tensor *ids, lc_tensor *z);
// -log p(x|z) per image averaged over the batch (1): logits (B, P), x (B, P) in [0, 1]
// (Bernoulli or logistic, as the config says).
lc_status mmvae_image_rec(lc_mmvae *m, lc_tensor **rec, lc_tensor *logits, lc_tensor *x);
// -log p(y|z) per caption averaged over the batch (1): target (B*T, V) one-hot rows of the
// next token, zero rows at padding.
lc_status mmvae_text_rec(lc_mmvae *m, lc_tensor **rec, lc_tensor *logits, lc_tensor *target);

// One batch on the device (tensors of the current step).
typedef struct {
    lc_tensor *x;      // (B, P)
    lc_tensor *ids;    // (B, T) int32
    lc_tensor *eos;    // (B) int32
    lc_tensor *target; // (B*T, V)
    lc_tensor *eps[3]; // (B, Z) standard normals for the joint, image and text terms
} mmvae_batch;

// The three terms' sums: loss = rec_x + text_weight rec_y + beta kl (each (1), per item
// averaged over the batch) + align_weight align when align_weight > 0 (*align NULL when
// off, and with only_joint). only_joint: the joint term alone (evaluation).
lc_status mmvae_neg_elbo(lc_mmvae *m, lc_tensor **loss, lc_tensor **rec_x, lc_tensor **rec_y,
                         lc_tensor **kl, lc_tensor **align, const mmvae_batch *b, float beta,
                         bool only_joint);
// JMVAE-kl's alignment (1) of the three terms' posteriors, mus/logvars (B, Z) in the
// terms' order: [0] q(z|x,y), [1] q(z|x), [2] q(z|y) (each with the prior expert):
// KL(q(z|x,y) || q(z|x)) + KL(q(z|x,y) || q(z|y)), summed over Z, averaged over B;
// gradients reach all six tensors.
lc_status mmvae_align(lc_ctx *ctx, lc_tensor **align, lc_tensor *const *mus,
                      lc_tensor *const *logvars);

// ---- host batches (mmvae_train.c) ----
// Grows the step scratch to B items.
lc_status mmvae_scratch(lc_mmvae *m, int64_t B);
// Next-token one-hot targets (B*T, V) of ids (B, T).
void mmvae_targets(float *target, const int32_t *ids, int64_t B, int64_t T, int64_t V);
// Standard normals (B, Z): row i keyed by (seed, item[i], ctr2, purpose).
void mmvae_normals(float *out, const int64_t *items, int64_t B, int64_t Z, uint64_t seed,
                   uint32_t ctr2, uint32_t purpose);
// Uploads a batch from host arrays (x (B, P), ids, eos) with noise keyed by items.
lc_status mmvae_upload(lc_mmvae *m, mmvae_batch *b, const float *x, const int32_t *ids,
                       const int32_t *eos, const int64_t *items, int64_t B, uint32_t ctr2,
                       bool eval);

#endif
