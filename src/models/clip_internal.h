// Internals of the CLIP family shared by clip.c (network, embeddings, the training step)
// and clip_model.c (config, checkpoints, data, the training loop's hooks, evaluation).
#ifndef LATENTCL_CLIP_INTERNAL_H
#define LATENTCL_CLIP_INTERNAL_H

#include <CL/cl.h>

#include "latentcl/clip.h"
#include "latentcl/nn.h"

enum { CLIP_RING = 4, CLIP_CHUNK = 500 };

// Host memory a training batch is written from without waiting (one slot per step in
// flight; a slot is reused after its last upload completed).
typedef struct {
    float *x;                    // (cap, C, H, W)
    int32_t *ids, *eos, *groups; // (cap, T), (cap), (cap)
    int64_t cap;
    cl_event written;
} clip_staging;

struct lc_clip {
    lc_device *dev;
    lc_ctx *ctx;
    lc_params params;
    lc_clip_config cfg;
    lc_vocab vocab;
    uint64_t seed;
    lc_conv conv1, conv2;
    lc_linear fc, image_projection, text_projection;
    lc_text_encoder text;
    size_t log_scale; // offset of logit_scale (1)

    // Training data (borrowed) and its caption table: item i's caption is row i (captions)
    // or row label * M + a template drawn per epoch (templated).
    const lc_dataset *train, *test;
    int32_t *rows_ids, *rows_eos; // (n_rows, T), (n_rows)
    int64_t n_rows;
    bool templated;
    clip_staging ring[CLIP_RING];
    int64_t steps;
};

// The forward passes (current step of m->ctx): x (B, C, H, W) -> u (B, E); ids (B, T),
// eos (B) -> v (B, E); both L2-normalised rows.
lc_status clip_image_forward(lc_clip *m, lc_tensor **u, lc_tensor *x);
lc_status clip_text_forward(lc_clip *m, lc_tensor **v, lc_tensor *ids, lc_tensor *eos);
// Declares and allocates the parameters (zero) of m->cfg; init: PyTorch defaults from seed.
lc_status clip_build(lc_clip *m, int init);
// One training step on the batch staged in the ring slot of m->steps (see clip_model.c):
// count pairs, ids (count, T) with T <= max_len columns.
lc_status clip_stage(lc_clip *m, clip_staging **st, int64_t count);
// The step of the staged batch: B captions (ids (B, T), eos, groups) of which rows
// [first, first + n) are this rank's, with their n images (all of them with one rank).
lc_status clip_step(lc_clip *m, cl_mem loss_out, int64_t n, int64_t first, int64_t B, int64_t T);
void clip_ring_free(lc_clip *m);

#endif
