// latentcl — the shared-latent multimodal VAE (MVAE, Wu & Goodman 2018) over images and
// captions (src/models/mmvae*.c).
//
// One latent z generates both modalities: p(x, y, z) = p(z) p(x|z) p(y|z).
//   prior       p(z) = N(0, I), Z = 32
//   image expert q(z|x) = N(mu_x, diag exp(logvar_x)): the conv VAE's encoder
//   text expert  q(z|y) = N(mu_y, diag exp(logvar_y)): the text encoder (text.h) and two
//                linear heads
//   posterior    the product of the experts present and the prior expert (precision-weighted:
//                T = 1 + sum_i exp(-logvar_i), mu = sum_i mu_i exp(-logvar_i) / T,
//                logvar = -log T), so either modality may be missing
//   decoders     p(x|z): the conv VAE's decoder, mean sigmoid(logits): Bernoulli, or
//                logistic of scale s around the mean (image_likelihood);
//                p(y|z): the autoregressive text decoder (text.h) conditioned on z,
//                token cross-entropy over the caption (padding ignored)
// Loss per batch (MVAE's subsampled ELBO terms): -ELBO(x, y) - ELBO(x) - ELBO(y), each
// -ELBO = reconstruction of the modalities it was given + beta KL(q || p(z)), beta rising
// linearly from 0 over kl_warmup steps. With `cross`, the one-modality terms also
// reconstruct the missing modality from their posterior (what captioning and
// text-to-image use at test time); the text-only term's image reconstruction is weighted
// by cross_image_weight.
// With align_weight A > 0 the loss gains JMVAE-kl's alignment (Suzuki et al. 2016)
//   A [KL(q(z|x,y) || q(z|x)) + KL(q(z|x,y) || q(z|y))]
// between the three terms' posteriors (each with the prior expert, as inference uses them),
// nats per item averaged over the batch, gradients to both sides of each KL: it pulls the
// one-modality posteriors (text-to-image decodes the mean of q(z|y)) to where the joint
// posterior, and so the decoders, put each item.
// Parameter names (PyTorch state_dict; tools/bench/mmvae_reference.py builds the same):
//   image_encoder.0 Conv2d(C, 32, 4, 2, 1), ReLU, image_encoder.2 Conv2d(32, 64, 4, 2, 1),
//   ReLU, flatten, image_encoder.5 Linear(64 H/4 W/4, 256), ReLU; image_mu, image_logvar
//   Linear(256, Z); text.* (text encoder), text_mu, text_logvar Linear(D, Z);
//   image_decoder.0 Linear(Z, 256), ReLU, image_decoder.2 Linear(256, 64 H/4 W/4), ReLU,
//   unflatten, image_decoder.5 ConvTranspose2d(64, 32, 4, 2, 1), ReLU,
//   image_decoder.7 ConvTranspose2d(32, C, 4, 2, 1); text_decoder.* (text decoder, cond Z).
// Images are (C, H, W) floats in [0, 1]; host arrays row-major.
#ifndef LATENTCL_MMVAE_H
#define LATENTCL_MMVAE_H

#include <stdbool.h>
#include <stdint.h>

#include "latentcl/data.h"
#include "latentcl/device.h"
#include "latentcl/params.h"
#include "latentcl/progress.h"
#include "latentcl/text.h"
#include "latentcl/train.h"

#ifdef __cplusplus
extern "C" {
#endif

// p(x|z) around the mean m = sigmoid(logits): Bernoulli (binary cross-entropy), or logistic
// of scale s, -log p = softplus(u) + softplus(-u) + log s with u = (x - m) / s: nearly L1 for
// small s, so where a code cannot tell the exact pixels (a caption leaves the shape's jitter
// open) the best image is the per-pixel median (crisp edges) rather than the mean (a blur).
typedef enum { LC_MMVAE_BERNOULLI = 0, LC_MMVAE_LOGISTIC = 1 } lc_mmvae_likelihood;

typedef struct {
    int channels, height, width; // of the images (height and width multiples of 4)
    int latent;                  // Z, 32
    int hidden;                  // the conv nets' dense width, 256
    lc_text_config text;         // vocab from the data; max_len 16, dim 128, 2 layers, 4 heads
    double beta;                 // KL weight, 1
    long kl_warmup;              // beta rises linearly from 0 over this many steps, 0
    double text_weight;          // weight of the caption's reconstruction term, 1
    bool cross;                  // one-modality terms also reconstruct the other, false
    lc_mmvae_likelihood image_likelihood; // p(x|z), LC_MMVAE_LOGISTIC (a config without
                                          // this member reads as LC_MMVAE_BERNOULLI)
    double image_scale;                   // s of the logistic likelihood, 0.3
    double cross_image_weight;            // weight of x rebuilt from q(z|y) (cross), 1
    double align_weight;                  // A of the JMVAE-kl alignment, 0 (off; also when a
                                          // config lacks the member)
    char data[512];                       // the --data the model was trained on ("" if unknown)
} lc_mmvae_config;

// The defaults above for 3 x 32 x 32 images (shapes) and a vocabulary of `vocab` words.
void lc_mmvae_config_default(lc_mmvae_config *c, int64_t vocab);
lc_status lc_mmvae_config_check(const lc_mmvae_config *c);
// "bernoulli" / "logistic" and back (another name: LC_ERR_INVALID_ARG).
const char *lc_mmvae_likelihood_name(lc_mmvae_likelihood l);
lc_status lc_mmvae_likelihood_parse(lc_mmvae_likelihood *out, const char *name);
// The config as one JSON object (malloc'ed) and back (unknown members: LC_ERR_FORMAT).
lc_status lc_mmvae_config_to_json(char **out, const lc_mmvae_config *c);
lc_status lc_mmvae_config_from_json(lc_mmvae_config *c, const char *json);

#define LC_MMVAE_FAMILY "mmvae"

typedef struct lc_mmvae lc_mmvae;

// A new model; vocab is copied (its size must equal cfg->text.vocab). Weights as PyTorch's
// defaults, drawn from Philox keyed by seed.
lc_status lc_mmvae_new(lc_mmvae **out, lc_device *dev, const lc_mmvae_config *cfg,
                       const lc_vocab *vocab, uint64_t seed);
// Loads a run folder (last.safetensors) or checkpoint: family "mmvae" (another family is
// LC_ERR_FORMAT naming it), config, vocabulary (metadata "vocab") and every tensor checked.
lc_status lc_mmvae_load(lc_mmvae **out, lc_device *dev, const char *path, bool ema);
void lc_mmvae_free(lc_mmvae *m); // NULL-safe

const lc_mmvae_config *lc_mmvae_get_config(const lc_mmvae *m);
const lc_vocab *lc_mmvae_vocab(const lc_mmvae *m);
lc_params *lc_mmvae_params(lc_mmvae *m);
uint64_t lc_mmvae_seed(const lc_mmvae *m);
int64_t lc_mmvae_image_size(const lc_mmvae *m); // C * H * W

// ---- the product of Gaussian experts (exposed for tests) ----------------------------------
// Host closed form: n experts (mu[e], logvar[e], each (count)) and the prior N(0, 1):
// T = 1 + sum_e exp(-logvar_e), mu = sum_e mu_e exp(-logvar_e) / T, logvar = -log T.
void lc_poe_host(float *mu, float *logvar, const float *const *mus, const float *const *logvars,
                 int n, int64_t count);
// The same from tensor ops (recorded on the tape): mus/logvars n tensors of one shape.
lc_status lc_poe(lc_ctx *ctx, lc_tensor **mu, lc_tensor **logvar, lc_tensor *const *mus,
                 lc_tensor *const *logvars, int n);

// ---- inference (host arrays; blocking) -------------------------------------------------
// Posterior means (n, Z): images x (n, C, H, W) through q(z|x) x prior; captions through
// q(z|y) x prior (unknown words become <unk>, counted in *n_unknown, may be NULL). These are
// the embeddings of cross-modal retrieval (L2 distance).
lc_status lc_mmvae_embed_images(lc_mmvae *m, float *out, const float *x, int64_t n);
lc_status lc_mmvae_embed_texts(lc_mmvae *m, float *out, const char *const *captions, int64_t n,
                               int64_t *n_unknown);
// Greedy captions of images: out[i] malloc'ed strings (free each, and lc_mmvae_free nothing).
lc_status lc_mmvae_caption(lc_mmvae *m, char **out, const float *x, int64_t n);
// Greedy captions of codes z (n, Z).
lc_status lc_mmvae_caption_codes(lc_mmvae *m, char **out, const float *z, int64_t n);
// Images (n, C, H, W) = sigmoid(decoder logits) of codes z (n, Z).
lc_status lc_mmvae_decode_images(lc_mmvae *m, float *x, const float *z, int64_t n);
// Text to image of n captions: images (n, C, H, W) decoded from the mean of each q(z|y)
// (sample == false) or from one draw z ~ q(z|y) per caption keyed by (seed, i).
lc_status lc_mmvae_text_to_image(lc_mmvae *m, float *x, const char *const *captions, int64_t n,
                                 bool sample, uint64_t seed);
// Text to image: n images for one prompt, from z = mean of q(z|y) (sample == false, all n
// equal) or z ~ q(z|y) keyed by (seed, i). *n_unknown: the prompt's unknown words (may be
// NULL); a prompt of no known word is LC_ERR_INVALID_ARG.
lc_status lc_mmvae_generate(lc_mmvae *m, float *x, const char *prompt, int64_t n, bool sample,
                            uint64_t seed, int64_t *n_unknown);

// ---- evaluation -----------------------------------------------------------------------------
typedef struct {
    double caption_exact; // shapes: greedy captions naming every attribute right
    double recall_at_1_i2t, recall_at_5_i2t, recall_at_1_t2i, recall_at_5_t2i;
    int64_t n;
} lc_mmvae_eval;
// On n image-caption pairs. items (n) are the shapes generator's attributes for
// caption_exact (NULL: caption_exact = the fraction of captions equal word for word to the
// given ones). Retrieval ranks all n candidates by L2 distance between posterior means; a
// hit when a retrieved caption is word for word the true one (shapes captions repeat).
lc_status lc_mmvae_evaluate(lc_mmvae *m, lc_mmvae_eval *out, const float *x,
                            const char *const *captions, const lc_shapes_item *items, int64_t n,
                            lc_progress_fn progress, void *user);

// A PNG grid of n images (C, H, W) in [0, 1], cols per row, each drawn 4x with its caption
// (wrapped, up to 3 lines) under it; written atomically.
lc_status lc_mmvae_write_captioned(const char *path, const float *images, char *const *captions,
                                   int n, int channels, int height, int width, int cols);

// ---- training (include/latentcl/train.h) ------------------------------------------------------
// The training set (and test set, may be NULL) must have captions (or class names: then
// captions are built from the templates "a {class}", "a picture of a {class}", "an image of a
// {class}", "a {class} in black and white", item i using template i % 4) and the config's
// image shape.
lc_status lc_mmvae_set_data(lc_mmvae *m, const lc_dataset *train, const lc_dataset *test);
// Family "mmvae", loss terms "rec_x", "rec_y", "kl" (summed over the three ELBO terms) and,
// with align_weight > 0, "align" (the alignment's two KLs, unweighted), test
// figures neg_elbo, rec_x, rec_y, kl (the joint term), caption pictures each epoch.
lc_status lc_mmvae_train_model(lc_train_model *out, lc_mmvae *m);

// Captions of a dataset without captions from its class names (see lc_mmvae_set_data):
// (n) malloc'ed strings into *out (free with lc_mmvae_captions_free). LC_ERR_INVALID_ARG
// when the set has neither captions nor class names.
lc_status lc_mmvae_template_captions(char ***out, const lc_dataset *d);
void lc_mmvae_captions_free(char **c, int64_t n);
// A vocabulary of the set's captions (or template captions): every word seen.
lc_status lc_mmvae_build_vocab(lc_vocab *out, const lc_dataset *d);

#ifdef __cplusplus
}
#endif
#endif
