// latentcl — aligned image/caption embeddings, CLIP-style (src/models/clip*.c).
//
// Two encoders map an image x and a caption y into one space, u = f(x), v = g(y), both
// L2-normalised; training pulls matching pairs together with the symmetric InfoNCE loss
// over a batch:
//   logits = s u v^T, s = min(exp(t), 100), t a learnable log-scale initialised ln(1/0.07)
//   loss   = (CE over each image's row + CE over each caption's column) / 2,
// where the target of a pair is uniform over the captions of the batch that are word for
// word its own (shapes captions repeat: those are positives, not negatives).
//   image encoder  image.0 Conv2d(C, 32, 4, 2, 1), ReLU, image.2 Conv2d(32, 64, 4, 2, 1),
//                  ReLU, flatten, image.5 Linear(64 H/4 W/4, 256), ReLU (the conv VAE's
//                  encoder), image_projection Linear(256, 128, bias=False)
//   text encoder   text.* (include/latentcl/text.h: 2 layers, d 128, 4 heads, the <eos>
//                  state), text_projection Linear(128, 128, bias=False)
//   logit_scale    (1)
// Images are (C, H, W) floats in [0, 1]; host arrays row-major.
#ifndef LATENTCL_CLIP_H
#define LATENTCL_CLIP_H

#include <stdbool.h>
#include <stdint.h>

#include "latentcl/data.h"
#include "latentcl/device.h"
#include "latentcl/params.h"
#include "latentcl/progress.h"
#include "latentcl/tensor.h"
#include "latentcl/text.h"
#include "latentcl/train.h"

#ifdef __cplusplus
extern "C" {
#endif

#define LC_CLIP_FAMILY "clip"

// ---- the loss as a tensor op ----------------------------------------------------------------

// sim (B, B) cosine similarities (row i: image i, column j: caption j), log_scale (1) the
// learnable t, groups int32 (B): pairs i and j have the same caption iff groups[i] ==
// groups[j]. loss (1) = symmetric InfoNCE of logits min(exp(t), max_scale) sim with uniform
// targets over each pair's group. Gradients to sim and log_scale (zero for log_scale while
// exp(t) > max_scale, as torch.clamp).
lc_status lc_info_nce(lc_ctx *ctx, lc_tensor **loss, lc_tensor *sim, lc_tensor *log_scale,
                      lc_tensor *groups, float max_scale);
// Host reference in double (tests): the same loss and, when not NULL, its gradients
// dsim (B, B) and *dlog_scale.
double lc_info_nce_host(double *dsim, double *dlog_scale, const float *sim, float log_scale,
                        const int32_t *groups, int64_t B, float max_scale);
// groups (B) from token rows ids (B, T): groups[i] = the first row equal to row i.
void lc_caption_groups(int32_t *groups, const int32_t *ids, int64_t B, int64_t T);

// ---- captions from class names and templates --------------------------------------------------

enum { LC_TEMPLATES_MAX = 32, LC_TEMPLATE_MAX_BYTES = 128 };
typedef struct {
    int n;
    char items[LC_TEMPLATES_MAX][LC_TEMPLATE_MAX_BYTES]; // each with one "{class}"
} lc_templates;
// The training templates "a {class}", "a picture of a {class}", "an image of a {class}",
// "a {class} in black and white" and the held-out zero-shot ones "a photo of a {class}",
// "a small photo of the {class}".
void lc_templates_train(lc_templates *t);
void lc_templates_zeroshot(lc_templates *t);
// One template per line (blank lines and lines starting with '#' skipped); every one must
// hold "{class}" exactly once. An empty file, a line without "{class}", too many or too long
// lines: LC_ERR_FORMAT naming the file and line.
lc_status lc_templates_read(lc_templates *t, const char *path);
// The template with {class} replaced by the class name in lower case.
lc_status lc_template_fill(char *buf, size_t cap, const char *tmpl, const char *class_name);

// ---- the model --------------------------------------------------------------------------------

typedef struct {
    int channels, height, width; // of the images (height and width multiples of 4)
    int hidden;                  // the conv encoder's dense width, 256
    int embed;                   // the shared embedding width, 128
    lc_text_config text;         // vocab from the data; max_len 16, dim 128, 2 layers, 4 heads
    double init_log_scale;       // ln(1 / 0.07)
    double max_scale;            // 100
    int shapes;                  // shapes data: shapes per image (1 or 2; 0 = both)
    double word_dropout;         // training: each caption word becomes <unk> with this
                                 // probability (robustness to words outside the vocabulary), 0
    lc_templates templates;      // training captions of a labelled set without captions
    char data[512];              // the --data the model was trained on ("" if unknown)
} lc_clip_config;

// The defaults above for 3 x 32 x 32 images (shapes), a vocabulary of `vocab` words and the
// training templates.
void lc_clip_config_default(lc_clip_config *c, int64_t vocab);
lc_status lc_clip_config_check(const lc_clip_config *c);
lc_status lc_clip_config_to_json(char **out, const lc_clip_config *c);
lc_status lc_clip_config_from_json(lc_clip_config *c, const char *json);

typedef struct lc_clip lc_clip;

// A new model (vocab copied; its size must equal cfg->text.vocab), weights from seed.
lc_status lc_clip_new(lc_clip **out, lc_device *dev, const lc_clip_config *cfg,
                      const lc_vocab *vocab, uint64_t seed);
// A run folder (last.safetensors) or a checkpoint of family "clip" (another family:
// LC_ERR_FORMAT naming it), its config, vocabulary (metadata "vocab"), every tensor checked.
lc_status lc_clip_load(lc_clip **out, lc_device *dev, const char *path, bool ema);
void lc_clip_free(lc_clip *m); // NULL-safe

const lc_clip_config *lc_clip_get_config(const lc_clip *m);
const lc_vocab *lc_clip_vocab(const lc_clip *m);
lc_params *lc_clip_params(lc_clip *m);
// min(exp(t), max_scale) now (reads the device).
lc_status lc_clip_logit_scale(lc_clip *m, double *scale);

// ---- inference (host arrays, blocking) -------------------------------------------------------
// L2-normalised embeddings (n, embed): images (n, C, H, W); captions (unknown words become
// <unk>, counted in *n_unknown, may be NULL).
lc_status lc_clip_embed_images(lc_clip *m, float *out, const float *x, int64_t n);
lc_status lc_clip_embed_texts(lc_clip *m, float *out, const char *const *captions, int64_t n,
                              int64_t *n_unknown);

// ---- evaluation ---------------------------------------------------------------------------------

// How embeddings are compared: CLIP's cosine (dot product of normalised vectors) or the
// MMVAE's negative Euclidean distance.
typedef enum { LC_SIM_COSINE, LC_SIM_NEG_L2 } lc_similarity;
// sim (na, nb) = similarity of a (na, E) rows to b (nb, E) rows.
void lc_similarity_matrix(float *sim, const float *a, int64_t na, const float *b, int64_t nb,
                          int64_t E, lc_similarity kind);
// Indices of the k largest of x (n) in decreasing order (ties: lower index first).
void lc_top_k(int64_t *idx, const float *x, int64_t n, int64_t k);

typedef struct {
    double recall_i2t[3], recall_t2i[3]; // at 1, 5, 10
    int64_t n;
} lc_retrieval;
// Retrieval among n pairs: image i -> captions ranked by similarity, a hit at k when one of
// the top k captions is word for word caption i (same token row); caption i -> images, a hit
// when one of the top k images' captions is. ids (n, T) the captions' tokens.
lc_status lc_retrieval_eval(lc_retrieval *out, const float *u, const float *v, int64_t n, int64_t E,
                            const int32_t *ids, int64_t T, lc_similarity kind);

// Zero-shot classification of images with labels: each class's text embedding is the
// normalised mean of its templates' embeddings; an image takes the class of highest
// cosine. confusion (K, K) (may be NULL) counts (true, predicted). *n_unknown counts the
// template words outside the vocabulary.
lc_status lc_clip_zeroshot(lc_clip *m, double *accuracy, int64_t *confusion, const lc_dataset *d,
                           const lc_templates *t, int64_t *n_unknown);

typedef struct {
    lc_retrieval retrieval;
    double zeroshot_accuracy; // NAN when the data has no classes
    int64_t zeroshot_n;
} lc_clip_eval;

// ---- data and training (include/latentcl/train.h) ----------------------------------------------
// The training set (and the test set, may be NULL) must have the config's image shape and
// captions, or labels with class names (then item i's caption is a training template drawn
// per step: every template is seen; zero-shot templates stay held out).
lc_status lc_clip_set_data(lc_clip *m, const lc_dataset *train, const lc_dataset *test);
// The caption pairs of a set: its captions, or class names in template i % n (malloc'ed
// strings into *out, free with lc_captions_free).
lc_status lc_clip_captions(char ***out, const lc_dataset *d, const lc_templates *t);
void lc_captions_free(char **c, int64_t n);
// A vocabulary of every word of the set's captions (or its template captions).
lc_status lc_clip_build_vocab(lc_vocab *out, const lc_dataset *d, const lc_templates *t);
// Family "clip", test figures recall_at_1_i2t, recall_at_1_t2i (the first 1,000 test pairs)
// and zeroshot_accuracy where the test set has classes.
lc_status lc_clip_train_model(lc_train_model *out, lc_clip *m);
// Retrieval over the first n pairs of d (n <= 0: all) and zero-shot accuracy over all of d
// (when it has labels and class names) with the templates zs (NULL: the zero-shot ones).
lc_status lc_clip_evaluate(lc_clip *m, lc_clip_eval *out, const lc_dataset *d, int64_t n,
                           const lc_templates *zs);

// Shapes items first.. with `shapes` shapes per image (1 or 2; 0: the generator's mix) until
// n are found: the n-th such item of the set (items (n) may be NULL).
lc_status lc_clip_shapes(lc_dataset *out, lc_shapes_item *items, int64_t first, int64_t n,
                         uint64_t seed, int shapes);

#ifdef __cplusplus
}
#endif
#endif
