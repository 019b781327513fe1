// The shapes judge inside (include/latentcl/shapes_judge.h is its public face): the
// heads, the network on the tensor floor, and the labels an item gives each head.
#ifndef LATENTCL_SHAPES_JUDGE_INTERNAL_H
#define LATENTCL_SHAPES_JUDGE_INTERNAL_H

#include "latentcl/nn.h"
#include "latentcl/shapes_judge.h"
#include "models/upload_ring.h"
#include "latentcl/tensor.h"

// One head per attribute. The second shape's heads, the relation and the place have a
// last "none" class for images where the attribute does not apply.
typedef enum {
    SJ_KIND1,
    SJ_COLOUR1,
    SJ_SIZE1,
    SJ_KIND2,
    SJ_COLOUR2,
    SJ_SIZE2,
    SJ_RELATION,
    SJ_COUNT,
    SJ_PLACE,
    SJ_HEADS
} sj_head;

typedef struct {
    const char *name; // parameters "heads.NAME.weight" / ".bias"
    int classes;
} sj_head_info;
extern const sj_head_info sj_heads[SJ_HEADS];

enum {
    SJ_CHANNELS = 3,
    SJ_SIZE = LC_SHAPES_SIZE, // 32
    SJ_IMAGE = SJ_CHANNELS * SJ_SIZE * SJ_SIZE,
    SJ_HIDDEN = 256, // the trunk's dense layer
    SJ_CHUNK = 500,  // images per no-grad forward: bounds the step arena
};

struct lc_shapes_judge {
    lc_device *dev;
    lc_ctx *ctx;
    lc_params params;
    lc_conv conv[2];
    lc_linear dense, head[SJ_HEADS];
    // Training batches: images (3, 32, 32); labels (SJ_HEADS, count), head h's at y + h * count.
    lc_upload_slot ring[LC_UPLOAD_RING];
    int64_t steps; // training steps enqueued: picks the ring slot
    // While training (borrowed options):
    const lc_shapes_judge_data *data;
};

// The label of every head for one item (canonicalised first): labels[h * stride].
void sj_labels(int32_t *labels, int64_t stride, const lc_shapes_item *item);
// The item the heads' logits (row i of each head's (n, K_h) block) say, canonical.
void sj_decode(lc_shapes_item *out, const float *const *logits, int64_t i);

// Training step: hands out host memory for count images (count, 3, 32, 32) and their
// labels (SJ_HEADS, count) to fill (sj_labels with stride count)...
lc_status sj_batch(lc_shapes_judge *j, float **x, int32_t **labels, int64_t count);
// ...then enqueues upload, forward, the summed loss (into loss_out[0]) and backward.
lc_status sj_step(lc_shapes_judge *j, cl_mem loss_out, int64_t count);
// The judge's config JSON (malloc'ed, caller frees).
lc_status sj_config_json(char **out);

#endif
