// The Fashion-MNIST classifier's network (see classifier_net.h): two models, the
// MLP and the conv net of shared/REFERENCE.md, with parameters named as the
// PyTorch nn.Sequential of tools/bench/classifier_reference.py names them.
//
//   MLP   x (N, C*H*W) -> layers.0 Linear 512, ReLU -> layers.2 Linear 256, ReLU
//         -> layers.4 Linear K
//   conv  x (N, C, H, W) -> layers.0 Conv 3x3 32, ReLU, MaxPool 2 -> layers.3 Conv 3x3 64,
//         ReLU, MaxPool 2 -> flatten -> layers.7 Linear 128, ReLU (features) -> layers.9
//         Linear K
#include <stdio.h>
#include <stdlib.h>

#include "latentcl/tensor.h"
#include "models/classifier_net.h"
#include "models/upload_ring.h"
#include "nn/init_default.h"

enum { EVAL_CHUNK = 500 }; // images per no-grad forward: bounds the step arena

struct lc_classifier_net {
    lc_device *dev;
    lc_ctx *ctx;
    lc_params params;
    int conv, channels, height, width, classes;
    int feature_dim;
    lc_upload_slot ring[LC_UPLOAD_RING]; // training batches: images (C, H, W), labels (1)
    int64_t steps;                       // training steps enqueued: picks the ring slot
};

static const char *const mlp_layers[] = {"layers.0", "layers.2", "layers.4"};
static const char *const conv_layers[] = {"layers.0", "layers.3", "layers.7", "layers.9"};

static lc_status declare(lc_params *p, const char *layer, int ndim, const int64_t *wshape) {
    char name[LC_PARAM_NAME_MAX];
    snprintf(name, sizeof name, "%s.weight", layer);
    LC_TRY(lc_params_add(p, name, ndim, wshape, NULL));
    snprintf(name, sizeof name, "%s.bias", layer);
    return lc_params_add(p, name, 1, wshape, NULL); // (out)
}

static lc_status declare_all(lc_classifier_net *n) {
    int64_t in = (int64_t)n->channels * n->height * n->width, K = n->classes;
    if (!n->conv) {
        n->feature_dim = 256;
        LC_TRY(declare(&n->params, mlp_layers[0], 2, (int64_t[]){512, in}));
        LC_TRY(declare(&n->params, mlp_layers[1], 2, (int64_t[]){256, 512}));
        return declare(&n->params, mlp_layers[2], 2, (int64_t[]){K, 256});
    }
    int64_t flat = 64 * (int64_t)(n->height / 4) * (n->width / 4);
    n->feature_dim = 128;
    LC_TRY(declare(&n->params, conv_layers[0], 4, (int64_t[]){32, n->channels, 3, 3}));
    LC_TRY(declare(&n->params, conv_layers[1], 4, (int64_t[]){64, 32, 3, 3}));
    LC_TRY(declare(&n->params, conv_layers[2], 2, (int64_t[]){128, flat}));
    return declare(&n->params, conv_layers[3], 2, (int64_t[]){K, 128});
}

lc_status lc_classifier_net_new(lc_classifier_net **out, lc_device *dev, int conv, int channels,
                                int height, int width, int classes) {
    *out = NULL;
    if (channels < 1 || height < 1 || width < 1 || classes < 2 ||
        (int64_t)channels * height * width > (1 << 24))
        return lc_fail(LC_ERR_INVALID_ARG, "classifier: bad input %dx%dx%d or %d classes", channels,
                       height, width, classes);
    if (conv && (height < 4 || width < 4))
        return lc_fail(LC_ERR_INVALID_ARG,
                       "classifier: the conv model needs images of at least "
                       "4x4, not %dx%d",
                       height, width);
    lc_classifier_net *n = calloc(1, sizeof *n);
    if (!n) return lc_fail(LC_ERR_NOMEM, "out of memory for the classifier");
    *n = (lc_classifier_net){.dev = dev,
                             .conv = conv,
                             .channels = channels,
                             .height = height,
                             .width = width,
                             .classes = classes};
    lc_status s = declare_all(n);
    if (s == LC_OK) s = lc_params_alloc(&n->params, dev);
    if (s == LC_OK) s = lc_ctx_create(&n->ctx, dev);
    if (s != LC_OK) {
        lc_classifier_net_free(n);
        return s;
    }
    *out = n;
    return LC_OK;
}

void lc_classifier_net_free(lc_classifier_net *n) {
    if (!n) return;
    // Pending writes read the staging memory: let them finish before it is freed.
    if (n->ctx) (void)lc_finish(n->dev);
    lc_upload_ring_free(n->ring);
    lc_ctx_free(n->ctx);
    lc_params_free(&n->params);
    free(n);
}

lc_params *lc_classifier_net_params(lc_classifier_net *n) { return &n->params; }
int lc_classifier_net_feature_dim(const lc_classifier_net *n) { return n->feature_dim; }

lc_status lc_classifier_net_init(lc_classifier_net *n, uint64_t seed) {
    int count = n->conv ? 4 : 3;
    for (int i = 0; i < count; i++)
        LC_TRY(lc_init_torch_default(n->dev, &n->params, n->conv ? conv_layers[i] : mlp_layers[i],
                                     seed));
    return LC_OK;
}

// ---- forward ---------------------------------------------------------------------

static lc_status param(lc_classifier_net *n, lc_tensor **t, const char *layer, const char *what) {
    char name[LC_PARAM_NAME_MAX];
    snprintf(name, sizeof name, "%s.%s", layer, what);
    return lc_tensor_param(n->ctx, t, &n->params, name);
}

// y = act(x W^T + b) with the layer's weight (out, in) and bias (out).
static lc_status linear(lc_classifier_net *n, lc_tensor **y, lc_tensor *x, const char *layer,
                        lc_act act) {
    lc_tensor *w, *b;
    LC_TRY(param(n, &w, layer, "weight"));
    LC_TRY(param(n, &b, layer, "bias"));
    return lc_linear_act(n->ctx, y, x, w, b, act, 0.0f);
}

// y = maxpool2(relu(conv3x3(x) + b)), padding 1: (N, C, H, W) -> (N, O, H/2, W/2).
// Computed as relu(maxpool2(...)): ReLU is monotonic, so the two orders agree (values
// and gradients), and the ReLU then touches a quarter of the elements.
static lc_status conv_block(lc_classifier_net *n, lc_tensor **y, lc_tensor *x, const char *layer) {
    lc_tensor *w, *b, *c, *p;
    LC_TRY(param(n, &w, layer, "weight"));
    LC_TRY(param(n, &b, layer, "bias"));
    LC_TRY(lc_conv2d(n->ctx, &c, x, w, b, 1, 1));
    LC_TRY(lc_max_pool2d(n->ctx, &p, c, 2, 2));
    return lc_relu(n->ctx, y, p);
}

// x (N, C, H, W) -> features (N, feature_dim) and logits (N, K).
static lc_status forward(lc_classifier_net *n, lc_tensor **features, lc_tensor **logits,
                         lc_tensor *x) {
    int64_t N = x->shape[0];
    if (!n->conv) {
        lc_tensor *flat, *h;
        LC_TRY(lc_reshape(n->ctx, &flat, x, 2, (int64_t[]){N, (int64_t)x->numel / N}));
        LC_TRY(linear(n, &h, flat, mlp_layers[0], LC_ACT_RELU));         // (N, 512)
        LC_TRY(linear(n, features, h, mlp_layers[1], LC_ACT_RELU));      // (N, 256)
        return linear(n, logits, *features, mlp_layers[2], LC_ACT_NONE); // (N, K)
    }
    lc_tensor *h1, *h2, *flat;
    LC_TRY(conv_block(n, &h1, x, conv_layers[0]));  // (N, 32, H/2, W/2)
    LC_TRY(conv_block(n, &h2, h1, conv_layers[1])); // (N, 64, H/4, W/4)
    LC_TRY(lc_reshape(n->ctx, &flat, h2, 2, (int64_t[]){N, (int64_t)h2->numel / N}));
    LC_TRY(linear(n, features, flat, conv_layers[2], LC_ACT_RELU));   // (N, 128)
    return linear(n, logits, *features, conv_layers[3], LC_ACT_NONE); // (N, K)
}

static lc_status upload(lc_classifier_net *n, lc_tensor **x, const float *images, int64_t count) {
    int64_t shape[4] = {count, n->channels, n->height, n->width};
    return lc_tensor_from_host(n->ctx, x, images, 4, shape);
}

lc_status lc_classifier_net_batch(lc_classifier_net *n, float **x, int32_t **labels,
                                  int64_t count) {
    size_t image = (size_t)n->channels * n->height * n->width;
    lc_upload_slot *st;
    LC_TRY(lc_upload_slot_fill(&st, n->ring, n->steps, count, image, 1));
    *x = st->x;
    *labels = st->y;
    return LC_OK;
}

lc_status lc_classifier_net_step(lc_classifier_net *n, cl_mem loss_out, int64_t count) {
    lc_upload_slot *st = &n->ring[n->steps % LC_UPLOAD_RING];
    if (count < 1 || count > st->cap || st->written)
        return lc_fail(LC_ERR_INVALID_ARG,
                       "classifier step: %lld images without a batch from "
                       "lc_classifier_net_batch",
                       (long long)count);
    lc_step_begin(n->ctx);
    lc_set_training(n->ctx, 1);
    lc_set_grad_enabled(n->ctx, 1);
    lc_tensor *x, *y, *features, *logits, *loss;
    int64_t shape[4] = {count, n->channels, n->height, n->width};
    LC_TRY(lc_tensor_new(n->ctx, &x, 4, shape));
    LC_TRY(lc_tensor_new_i32(n->ctx, &y, 1, shape));
    LC_TRY(lc_upload_slot_send(st, n->dev, x, y, "uploading a training batch"));
    n->steps++;
    LC_TRY(forward(n, &features, &logits, x));
    LC_TRY(lc_cross_entropy(n->ctx, &loss, logits, y)); // mean over the batch
    LC_TRY(lc_backward(n->ctx, loss));
    LC_CL(clEnqueueCopyBuffer(lc_device_queue(n->dev), loss->buf, loss_out,
                              loss->off * sizeof(float), 0, sizeof(float), 0, NULL, NULL),
          "copying the classifier's loss");
    return LC_OK;
}

lc_status lc_classifier_net_forward(lc_classifier_net *n, float *logits, float *features,
                                    const float *images, int64_t count) {
    size_t image = (size_t)n->channels * n->height * n->width;
    int was_grad = lc_set_grad_enabled(n->ctx, 0);
    lc_set_training(n->ctx, 0);
    lc_status s = LC_OK;
    for (int64_t i = 0; i < count && s == LC_OK; i += EVAL_CHUNK) {
        int64_t m = count - i < EVAL_CHUNK ? count - i : EVAL_CHUNK;
        lc_step_begin(n->ctx);
        lc_tensor *x, *f, *l;
        s = upload(n, &x, images + (size_t)i * image, m);
        if (s == LC_OK) s = forward(n, &f, &l, x);
        if (s == LC_OK && logits) s = lc_tensor_to_host(n->ctx, logits + i * n->classes, l);
        if (s == LC_OK && features) s = lc_tensor_to_host(n->ctx, features + i * n->feature_dim, f);
    }
    lc_set_grad_enabled(n->ctx, was_grad);
    lc_set_training(n->ctx, 1);
    return s;
}
