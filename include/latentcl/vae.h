// latentcl — autoencoders and variational autoencoders (src/models/ae.c, vae.c).
//
// One object, lc_vae, holds either model; they share the networks:
//   AE   z = f(x), x' = g(z), trained on the reconstruction loss (optionally of a noisy
//        input: the denoising AE).
//   VAE  prior p(z) = N(0, I); encoder q(z|x) = N(mu(x), diag exp(logvar(x)));
//        decoder p(x|z) Bernoulli (logits) or Gaussian (mean, fixed sigma);
//        loss = -ELBO = E_q[-log p(x|z)] + beta KL(q(z|x) || p(z)), z = mu + sigma eps.
// Networks (PyTorch state_dict names, so `latentcl export` loads into the module of
// tools/bench/vae_reference.py):
//   mlp   encoder.0 Linear(P, 512), ReLU, encoder.2 Linear(512, 256), ReLU,
//         VAE: fc_mu, fc_logvar Linear(256, Z) / AE: encoder.4 Linear(256, Z);
//         decoder.0 Linear(Z, 256), ReLU, decoder.2 Linear(256, 512), ReLU,
//         decoder.4 Linear(512, P) -> logits
//   conv  encoder.0 Conv2d(C, 32, 4, 2, 1), ReLU, encoder.2 Conv2d(32, 64, 4, 2, 1), ReLU,
//         flatten, encoder.5 Linear(64 H/4 W/4, 256), ReLU, then the heads as mlp
//         (AE: encoder.7); decoder.0 Linear(Z, 256), ReLU, decoder.2 Linear(256, 64 H/4 W/4),
//         ReLU, unflatten, decoder.5 ConvTranspose2d(64, 32, 4, 2, 1), ReLU,
//         decoder.7 ConvTranspose2d(32, C, 4, 2, 1) -> logits
// Images are (C, H, W) floats in [0, 1]; every host array below is row-major.
// Random draws are keyed by (seed, step or draw number, item index), never by a stream
// position, so results do not depend on batching.
#ifndef LATENTCL_VAE_H
#define LATENTCL_VAE_H

#include <stdbool.h>
#include <stdint.h>

#include "latentcl/data.h"
#include "latentcl/device.h"
#include "latentcl/params.h"
#include "latentcl/progress.h"
#include "latentcl/train.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum { LC_VAE_KIND_AE = 0, LC_VAE_KIND_VAE = 1 } lc_vae_kind;
typedef enum { LC_VAE_NET_MLP = 0, LC_VAE_NET_CONV = 1 } lc_vae_net;
typedef enum { LC_VAE_BERNOULLI = 0, LC_VAE_GAUSSIAN = 1 } lc_vae_decoder;

typedef struct {
    lc_vae_kind kind;
    lc_vae_net net;
    int channels, height, width; // of the images (conv: height and width multiples of 4)
    int latent;                  // Z, 32
    int hidden1, hidden2;        // mlp widths 512, 256 (conv: the dense layer is hidden2)
    lc_vae_decoder decoder;      // Bernoulli: BCE with logits; Gaussian: mean sigmoid(logits)
    double sigma;                // Gaussian decoder's fixed standard deviation, 0.1
    double beta;                 // VAE: KL weight, 1
    long kl_warmup;              // VAE: beta rises linearly from 0 over this many steps, 0
    double noise;                // AE: std of the Gaussian noise added to the input, 0
    char data[512];              // the --data the model was trained on ("" if unknown)
} lc_vae_config;

// The defaults above for kind (mlp, 1 x 28 x 28, Z 32, Bernoulli).
void lc_vae_config_default(lc_vae_config *c, lc_vae_kind kind);
// Range checks: LC_ERR_INVALID_ARG naming the field.
lc_status lc_vae_config_check(const lc_vae_config *c);
// The config as one JSON object (malloc'ed; caller frees) and back. The family ("ae" or
// "vae") is not in the JSON; from_json takes it. An unknown or mistyped member is
// LC_ERR_FORMAT naming it.
lc_status lc_vae_config_to_json(char **out, const lc_vae_config *c);
lc_status lc_vae_config_from_json(lc_vae_config *c, lc_vae_kind kind, const char *json);
// "ae" / "vae" and back (LC_ERR_INVALID_ARG for another name).
const char *lc_vae_family(lc_vae_kind k);
lc_status lc_vae_kind_parse(lc_vae_kind *out, const char *family);

typedef struct lc_vae lc_vae;

// A new model on dev (borrowed; it must outlive the model), weights initialised as
// PyTorch's defaults (Kaiming-uniform weights, uniform biases in +-1/sqrt(fan_in)) from
// Philox keyed by seed.
lc_status lc_vae_new(lc_vae **out, lc_device *dev, const lc_vae_config *cfg, uint64_t seed);
// Loads a trained model: path is a run folder (its last.safetensors) or a checkpoint. The
// checkpoint's family must be "ae" or "vae"; its config and every tensor are checked.
// With ema, the EMA weights are loaded (LC_ERR_FORMAT naming the tensor if there are none).
lc_status lc_vae_load(lc_vae **out, lc_device *dev, const char *path, bool ema);
void lc_vae_free(lc_vae *m); // NULL-safe

const lc_vae_config *lc_vae_get_config(const lc_vae *m);
lc_params *lc_vae_params(lc_vae *m);
// The seed the model was created with (a loaded run: its training seed, which keys the
// fixed prior draws of its samples.png).
uint64_t lc_vae_seed(const lc_vae *m);
// The training step of the last checkpoint loaded (0 for a new model).
int64_t lc_vae_step(const lc_vae *m);
// Floats per image: C * H * W.
int64_t lc_vae_image_size(const lc_vae *m);

// ---- inference (host arrays in and out; blocking) --------------------------------------
// mean (n, Z) = the mean of q(z|x) (AE: z = f(x)); logvar (n, Z) may be NULL (AE: zeros).
lc_status lc_vae_encode(lc_vae *m, float *mean, float *logvar, const float *x, int64_t n);
// x (n, C, H, W) = the decoder's mean for each code z (n, Z): sigmoid(logits).
lc_status lc_vae_decode(lc_vae *m, float *x, const float *z, int64_t n);
// n images decoded from draws z_i ~ N(0, I) keyed by (seed, i). An AE has no prior:
// its draws come from the diagonal Gaussian in lc_vae_set_code_stats (else N(0, I)).
lc_status lc_vae_sample(lc_vae *m, float *x, int64_t n, uint64_t seed);
// The prior draws lc_vae_sample decodes: z (n, Z).
lc_status lc_vae_prior_draws(lc_vae *m, float *z, int64_t n, uint64_t seed);
// AE sampling: codes are drawn from N(mean, diag std^2) (each (Z)), e.g. fitted to the
// codes of the training images.
lc_status lc_vae_set_code_stats(lc_vae *m, const float *mean, const float *std);
// x' (n, C, H, W) = decode(encode mean of x).
lc_status lc_vae_reconstruct(lc_vae *m, float *out, const float *x, int64_t n);

// ---- evaluation ----------------------------------------------------------------------
typedef struct {
    double neg_elbo;    // VAE: E[-log p(x|z)] + KL, nats per image (one z draw per image)
    double rec;         // reconstruction term, nats per image (AE: of z = f(x))
    double kl;          // KL(q(z|x) || p(z)), nats per image (AE: 0)
    double iwae_neg_ll; // -(IWAE bound with k samples), nats per image; NAN when k == 0
    double mse;         // mean squared error per pixel of the mean reconstruction
    int64_t n;          // images
} lc_vae_eval;
// Evaluates on n images x (a host array) or, with x == NULL, on the test set given to
// lc_vae_set_data. Draws are keyed by (seed, draw, image index). iwae_k: importance
// samples for the IWAE bound (0: not computed; VAE only). progress may be NULL.
lc_status lc_vae_evaluate(lc_vae *m, lc_vae_eval *out, const float *x, int64_t n, int iwae_k,
                          uint64_t seed, lc_progress_fn progress, void *user);

// ---- training (the shared loop, include/latentcl/train.h) -------------------------------
// Copies the training set (and the test set, may be NULL) to the device. Images must have
// the config's shape.
lc_status lc_vae_set_data(lc_vae *m, const lc_dataset *train, const lc_dataset *test);
// Fills the loop's model interface: family "ae"/"vae", loss terms (VAE: "rec", "kl";
// AE: "rec"), test evaluation (figures neg_elbo, rec, kl / AE: rec, mse), and pictures
// each epoch in the run folder: samples.png (fixed draws keyed by the run's seed),
// recon.png, curves.png and, with Z = 2, latent_scatter.png and latent_grid.png.
lc_status lc_vae_train_model(lc_train_model *out, lc_vae *m);

// ---- pictures (host images in [0, 1]) ----------------------------------------------------
// Writes a PNG grid of n images (C, H, W) with cols per row.
lc_status lc_vae_write_grid(const char *path, const lc_vae *m, const float *images, int n,
                            int cols);
// latent_scatter.png: codes (n, 2) coloured by label (n; may be NULL) with a legend of
// class names (may be NULL).
lc_status lc_vae_write_scatter(const char *path, const float *codes, const int32_t *labels,
                               int64_t n, int n_classes, char *const *class_names);
// latent_grid.png: the decoder's images over a steps x steps grid of z in [-span, span]^2
// (Z == 2 only).
lc_status lc_vae_write_latent_grid(const char *path, lc_vae *m, int steps, double span);

#ifdef __cplusplus
}
#endif
#endif
