// latentcl — the image classifier: the stack's end-to-end check on Fashion-MNIST and
// the judge of generated images in later families (its feature layer feeds the
// Fréchet distance).
//
// Two models (shared/REFERENCE.md), parameters named as the PyTorch nn.Sequential of
// tools/bench/classifier_reference.py:
//   mlp   flatten, layers.0 Linear(C*H*W, 512), ReLU, layers.2 Linear(512, 256), ReLU,
//         layers.4 Linear(256, K)
//   conv  layers.0 Conv2d(C, 32, 3, pad 1), ReLU, MaxPool2d(2), layers.3 Conv2d(32, 64, 3,
//         pad 1), ReLU, MaxPool2d(2), flatten, layers.7 Linear(64 (H/4)(W/4), 128), ReLU
//         (the features), layers.9 Linear(128, K)
// Images are (C, H, W) floats in [0, 1], as lc_dataset holds them.
//
// Checkpoints carry metadata family = "classifier" and config = the JSON of
// lc_classifier_config_json ({"model","channels","height","width","classes",
// "class_names","data"}), so lc_classifier_load rebuilds the model from a file alone.
#ifndef LATENTCL_CLASSIFIER_H
#define LATENTCL_CLASSIFIER_H

#include <stdint.h>

#include "latentcl/data.h"
#include "latentcl/device.h"
#include "latentcl/params.h"
#include "latentcl/train.h"

#ifdef __cplusplus
extern "C" {
#endif

#define LC_CLASSIFIER_FAMILY "classifier"

typedef enum { LC_CLASSIFIER_MLP, LC_CLASSIFIER_CONV } lc_classifier_kind;
const char *lc_classifier_kind_name(lc_classifier_kind k); // "mlp", "conv"
// LC_ERR_INVALID_ARG naming the choices for anything else.
lc_status lc_classifier_kind_parse(lc_classifier_kind *out, const char *name);

typedef struct lc_classifier lc_classifier;

// A new model for (channels, height, width) images and `classes` classes on dev
// (borrowed: it must outlive the model), weights drawn as PyTorch's defaults from seed.
// class_names (classes strings, copied) may be NULL: then "0", "1", ...
lc_status lc_classifier_new(lc_classifier **out, lc_device *dev, lc_classifier_kind kind,
                            int channels, int height, int width, int classes,
                            const char *const *class_names, uint64_t seed);
// The same shaped for a labelled dataset (its image shape, class count and names).
lc_status lc_classifier_for_dataset(lc_classifier **out, lc_device *dev, lc_classifier_kind kind,
                                    const lc_dataset *d, uint64_t seed);
void lc_classifier_free(lc_classifier *m); // NULL-safe

lc_params *lc_classifier_params(lc_classifier *m); // the one parameter buffer (owned by m)
lc_classifier_kind lc_classifier_get_kind(const lc_classifier *m);
int lc_classifier_classes(const lc_classifier *m);
const char *lc_classifier_class_name(const lc_classifier *m, int k); // NULL out of range
// The input image shape.
void lc_classifier_input(const lc_classifier *m, int *channels, int *height, int *width);
// Width of the feature layer (conv: 128, the judge's features; MLP: 256).
int lc_classifier_feature_dim(const lc_classifier *m);
// The --data source the model was trained on (recorded in its config), or NULL.
const char *lc_classifier_data(const lc_classifier *m);
lc_status lc_classifier_set_data(lc_classifier *m, const char *data);

// ---- inference (no gradients) ----------------------------------------------------------

// n images (n, C, H, W) -> logits (n, classes), in chunks of 500. Blocks.
lc_status lc_classifier_logits(lc_classifier *m, float *logits, const float *images, int64_t n);
// n images -> features (n, feature_dim): the feature layer after its ReLU (for the
// conv model, the judge's 128-wide layer used by Fréchet distances). Blocks.
lc_status lc_classifier_features(lc_classifier *m, float *features, const float *images, int64_t n);
// Accuracy, mean cross-entropy and the confusion matrix (classes x classes, row = true
// class, column = predicted; may be NULL) over a labelled dataset of the model's shape.
// LC_ERR_INVALID_ARG for an unlabelled set, another image shape, or labels >= classes.
lc_status lc_classifier_evaluate(lc_classifier *m, double *accuracy, double *loss,
                                 int64_t *confusion, const lc_dataset *d);

// ---- training ----------------------------------------------------------------------------

// Trains on `train` with the shared loop (lc_train; every option of lc_train_options).
// After each epoch, test accuracy and loss on `test` (may be NULL) go into the metrics as
// test_accuracy and test_loss; with o->val_split, val_accuracy picks best.safetensors.
// Both datasets must match the model's shape and be labelled; they are borrowed.
lc_status lc_classifier_train(lc_train_result *res, lc_classifier *m, const lc_dataset *train,
                              const lc_dataset *test, const lc_train_options *o,
                              lc_progress_fn progress, void *user);

// ---- checkpoints -------------------------------------------------------------------------

// The model's config (malloc'ed JSON text, caller frees).
lc_status lc_classifier_config_json(const lc_classifier *m, char **out);
// Builds the model a checkpoint (or an exported file) describes and loads its weights:
// prefix "" for the trained weights, LC_ST_PREFIX_EMA for the EMA weights. A file of
// another family, without a config, or missing a tensor is an error naming the file.
lc_status lc_classifier_load(lc_classifier **out, lc_device *dev, const char *path,
                             const char *prefix);

#ifdef __cplusplus
}
#endif
#endif
