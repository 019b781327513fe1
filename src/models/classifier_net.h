// The classifier's network on the tensor floor: parameters, forward, loss and
// backward. Internal: include/latentcl/classifier.h is the public face (datasets,
// training, evaluation, checkpoints), built in classifier_model.c on top of this.
#ifndef LATENTCL_CLASSIFIER_NET_H
#define LATENTCL_CLASSIFIER_NET_H

#include <stdint.h>

#include "latentcl/device.h"
#include "latentcl/params.h"

typedef struct lc_classifier_net lc_classifier_net;

// MLP (conv = 0): flatten, 784-512-256-K with ReLU. Conv (conv = 1): conv3x3 C->32 pad 1,
// ReLU, max-pool 2; conv3x3 32->64 pad 1, ReLU, max-pool 2; dense 64 (H/4)(W/4) -> 128,
// ReLU (the features); dense 128 -> K. Parameters declared and allocated (zero).
lc_status lc_classifier_net_new(lc_classifier_net **out, lc_device *dev, int conv, int channels,
                                int height, int width, int classes);
void lc_classifier_net_free(lc_classifier_net *n); // NULL-safe
lc_params *lc_classifier_net_params(lc_classifier_net *n);
// Width of the layer before the logits (MLP 256, conv 128).
int lc_classifier_net_feature_dim(const lc_classifier_net *n);
// PyTorch's default initialisation of every layer from seed.
lc_status lc_classifier_net_init(lc_classifier_net *n, uint64_t seed);

// One training step in two calls: lc_classifier_net_batch hands out host memory for
// count images (count, C, H, W) and their labels (count), to fill; then
// lc_classifier_net_step uploads them without waiting and enqueues the forward, the
// mean cross-entropy (written to loss_out[0]) and the backward (gradients added into
// the params' grad buffer). No host wait.
lc_status lc_classifier_net_batch(lc_classifier_net *n, float **x, int32_t **labels, int64_t count);
lc_status lc_classifier_net_step(lc_classifier_net *n, cl_mem loss_out, int64_t count);
// No-grad forward of count images (any number; done in chunks): logits (count, K) and
// features (count, feature_dim) copied to the host, either may be NULL.
lc_status lc_classifier_net_forward(lc_classifier_net *n, float *logits, float *features,
                                    const float *x, int64_t count);

#endif
