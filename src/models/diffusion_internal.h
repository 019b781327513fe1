// Internals of the diffusion family: the model struct, its networks (diffusion_mlp.c,
// diffusion_unet.c) and the kernel launches the files share (diffusion_kernels.c).
#ifndef LATENTCL_DIFFUSION_INTERNAL_H
#define LATENTCL_DIFFUSION_INTERNAL_H

#include "latentcl/checkpoint.h"
#include "latentcl/diffusion.h"
#include "latentcl/tensor.h"

// A layer's parameters: offsets into lc_params and shapes.
typedef struct {
    size_t w, b;
    int ndim;
    int64_t wshape[4];
    int64_t bshape[1];
    bool has_b;
} dif_layer;

enum { DIF_MLP_MAX_DEPTH = 8, DIF_UNET_LEVELS = 3, DIF_UNET_MAX_BLOCKS = 4 };

// A residual block: GroupNorm, SiLU, conv 3x3, + time projection, GroupNorm, SiLU, conv 3x3,
// + skip (a 1x1 conv when the channel count changes).
typedef struct {
    int cin, cout;
    dif_layer norm1, conv1, temb, norm2, conv2, skip;
    bool has_skip;
} dif_resblock;

typedef struct {
    int ch;
    dif_layer norm, qkv, proj; // GroupNorm, 1x1 conv to q, k, v, 1x1 conv back
} dif_attention;

// Levels 0, 1, 2 at H, H/2, H/4 with widths w0, w1, w2; one skip per level (0 and 1).
typedef struct {
    dif_layer time1, time2; // time MLP: Linear(w0, 4 w0), SiLU, Linear(4 w0, 4 w0)
    size_t class_emb;       // (K + 1, 4 w0) when class-conditional
    dif_layer text_proj;    // Linear(D, 4 w0) of the pooled caption embedding (text_cond)
    dif_layer conv_in, norm_out, conv_out;
    dif_resblock down[DIF_UNET_LEVELS][DIF_UNET_MAX_BLOCKS]; // then 2 x 2 average pooling
    dif_attention attn;                                      // at the lowest resolution
    dif_resblock up[DIF_UNET_LEVELS][DIF_UNET_MAX_BLOCKS];   // after nearest x2 and the skip
} dif_unet;

struct lc_diffusion {
    lc_device *dev; // borrowed
    lc_diffusion_config cfg;
    lc_params params;
    lc_ctx *ctx;
    lc_dif_schedule sched;
    uint64_t seed;
    int64_t step; // of the checkpoint loaded
    int64_t dim;  // floats per sample
    // mlp
    dif_layer time0, layers[DIF_MLP_MAX_DEPTH], out;
    size_t class_emb; // (K + 1, H) when class-conditional
    dif_unet unet;
    // text conditioning: the encoder, its vocabulary and the caption table (rows n_cond + 1,
    // each T token ids and the <eos> position; the last row is the empty caption)
    lc_text_encoder text;
    lc_vocab vocab;
    int32_t *cond_ids, *cond_eos;
    int64_t n_cond;
    int32_t *rows_ids, *rows_eos; // (rows_cap, T), (rows_cap): one forward's captions
    int64_t rows_cap;
    // training data on the device, scaled to the model's space
    cl_mem train_x;
    int32_t *train_y; // (n_train) host, or NULL
    int64_t n_train;
    float *pics; // (n_pics, dim) host copy of training items in data space (scatters)
    int64_t n_pics;
    int32_t *batch_y; // (batch) scratch
    int64_t batch_cap;
    int64_t sample_every;
    char run_dir[4096];
};

// ---- networks ----
lc_status dif_mlp_declare(lc_diffusion *m);
lc_status dif_mlp_predict(void *self, lc_ctx *ctx, lc_tensor **out, lc_tensor *x, const int32_t *t,
                          const int32_t *y, int64_t n);
lc_status dif_unet_declare(lc_diffusion *m);
lc_status dif_unet_predict(void *self, lc_ctx *ctx, lc_tensor **out, lc_tensor *x, const int32_t *t,
                           const int32_t *y, int64_t n);
// Declares "<name>.weight" (wshape) and, with bias > 0, "<name>.bias" (bias).
lc_status dif_add_layer(lc_diffusion *m, dif_layer *l, const char *name, int ndim,
                        const int64_t *wshape, int64_t bias);
lc_tensor *dif_param(lc_diffusion *m, size_t offset, int ndim, const int64_t *shape);
// The sinusoidal features [sin(t f_j), cos(t f_j)], f_j = 10000^(-j / (dim/2)), of host
// timesteps (lc_time_embedding), (n, dim).
lc_status dif_time_features(lc_ctx *ctx, lc_tensor **out, const int32_t *t, int64_t n, int dim);
// The text-conditioned U-Net's caption term: text_proj(encoder(captions of rows y)), (n, D')
// with y NULL meaning the empty caption for every row.
lc_status dif_text_embedding(lc_diffusion *m, lc_tensor **out, const int32_t *y, int64_t n);
// save_extra of a text model: the vocabulary in the checkpoint's metadata ("vocab").
lc_status dif_save_vocab(void *self, lc_st_builder *b);
// Fills the caption table with n captions (+ the empty row); *n_unknown counts <unk> words.
lc_status dif_set_captions(lc_diffusion *m, const char *const *captions, int64_t n,
                           int64_t *n_unknown);
// Rows y[i] of the class embedding table (K + 1, D) (row K = n_classes is "no class").
lc_status dif_class_embedding(lc_ctx *ctx, lc_tensor **out, lc_tensor *table, const int32_t *y,
                              int64_t n);

// ---- kernels ----
lc_status dif_launch_q_sample(lc_ctx *ctx, lc_tensor *xt, lc_tensor *target, lc_tensor *data,
                              lc_tensor *ids, lc_tensor *coef, int v_pred, uint64_t seed,
                              uint32_t ctr2, uint32_t purpose);
lc_status dif_launch_normal_start(lc_device *dev, cl_mem x, int64_t rows, int64_t cols,
                                  int64_t first, uint64_t seed, uint32_t ctr2, uint32_t purpose);
lc_status dif_launch_guide(lc_device *dev, cl_mem eps, const lc_tensor *pred, cl_mem x, int64_t n,
                           int guided, float w, int v_pred, float va, float vb);
lc_status dif_launch_reverse(lc_device *dev, cl_mem x, cl_mem eps, int64_t rows, int64_t cols,
                             lc_dif_step_coef c, int64_t first, uint64_t seed, uint32_t ctr2,
                             uint32_t purpose);

#endif
