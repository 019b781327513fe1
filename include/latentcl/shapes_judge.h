// latentcl — the shapes judge: a conv net that reads the attributes of a shapes image
// (data.h's generator: one or two shapes, 3x32x32 RGB) so that images generated from a
// caption can be checked against the caption (MMVAE text-to-image, text-conditioned
// diffusion: "every requested attribute recognised").
//
// Model (family "shapes-judge" in checkpoints; trained by `latentcl train classifier
// --data shapes`): a shared trunk conv 3x3 3->32 pad 1, ReLU, max-pool 2; conv 3x3
// 32->64 pad 1, ReLU, max-pool 2; dense 64*8*8 -> 256, ReLU; then one linear head per
// attribute: the first shape's kind (5), colour (8), size (2); the second shape's kind
// (5 + none), colour (8 + none), size (2 + none); the relation (4 + none; canonical
// labels use two of the four, see below); the number of shapes (2); the place of a
// lone shape (9 + none). Loss: the sum of the heads' mean cross-entropies.
//
// Which shape is "first": an image does not show which shape a caption named first ("a
// red circle left of a blue square" is the picture of "a blue square right of a red
// circle"), so the judge reads two-shape images in a canonical order: the first shape is
// the left one of a horizontal pair (relation "left of") or the upper one of a vertical
// pair ("above"). Captions and items are compared after lc_shapes_canonical.
#ifndef LATENTCL_SHAPES_JUDGE_H
#define LATENTCL_SHAPES_JUDGE_H

#include <stdint.h>

#include "latentcl/data.h"
#include "latentcl/device.h"
#include "latentcl/params.h"
#include "latentcl/train.h"

#ifdef __cplusplus
extern "C" {
#endif

#define LC_SHAPES_JUDGE_FAMILY "shapes-judge"

typedef struct lc_shapes_judge lc_shapes_judge;

// ---- the model ------------------------------------------------------------------------

// A new judge on dev (borrowed: it must outlive the judge), weights drawn as PyTorch's
// defaults from seed.
lc_status lc_shapes_judge_new(lc_shapes_judge **out, lc_device *dev, uint64_t seed);
// Loads a trained judge: path is a run folder (its last.safetensors) or a .safetensors
// file. A checkpoint of another family (a plain classifier, a VAE, ...) is
// LC_ERR_INVALID_ARG naming the file and its family.
lc_status lc_shapes_judge_load(lc_shapes_judge **out, lc_device *dev, const char *path);
void lc_shapes_judge_free(lc_shapes_judge *j);         // NULL-safe
lc_params *lc_shapes_judge_params(lc_shapes_judge *j); // the one parameter buffer (owned by j)

// ---- reading images (no gradients; blocks) ------------------------------------------------

// n images (n, channels, height, width) host floats in [0, 1] -> out (n) the attributes
// the judge sees: n_shapes, kind/colour/size of each shape (half_size from the size;
// cx, cy 0), place (one shape) or relation (two shapes, canonical order). Images of any
// other shape than 3x32x32 are LC_ERR_SHAPE naming both shapes.
lc_status lc_shapes_judge_predict(lc_shapes_judge *j, lc_shapes_item *out, const float *images,
                                  int64_t n, int channels, int height, int width);

// How well images show what was asked for. Shares in [0, 1]; NAN where nothing was asked.
typedef struct {
    int64_t n;       // images judged
    double all;      // images in which every requested attribute is recognised (the number
                     // of shapes, each shape's kind, colour and size, the place or relation)
    double kind;     // requested shapes whose kind is recognised (over all shapes asked for)
    double colour;   // ... whose colour is recognised
    double size;     // ... whose size is recognised
    double count;    // images with the requested number of shapes
    double place;    // one-shape requests with the place recognised
    double relation; // two-shape requests with the relation recognised
    int64_t n_shapes_requested, n_one, n_two; // the denominators: shapes, 1- and 2-shape requests
} lc_shapes_judgement;

// Judges n images against the captions they were generated from (parsed with
// lc_shapes_parse_caption; a caption that is not a shapes caption is LC_ERR_FORMAT naming
// its index). Comparison is attribute by attribute in canonical order (see above).
lc_status lc_shapes_judge_score(lc_shapes_judge *j, lc_shapes_judgement *out, const float *images,
                                const char *const *captions, int64_t n, int channels, int height,
                                int width);
// The same against attribute items (the generator's: accuracy on real images).
lc_status lc_shapes_judge_compare(lc_shapes_judge *j, lc_shapes_judgement *out, const float *images,
                                  const lc_shapes_item *wanted, int64_t n, int channels, int height,
                                  int width);

// Host only: the judgement of items `seen` (n) against `wanted` (n), both canonicalised
// here first.
void lc_shapes_judgement_of(lc_shapes_judgement *out, const lc_shapes_item *seen,
                            const lc_shapes_item *wanted, int64_t n);
// The canonical form of an item: two shapes ordered left/upper first (relation "left of"
// or "above"); one shape unchanged. out may equal in.
void lc_shapes_canonical(lc_shapes_item *out, const lc_shapes_item *in);

// ---- training ------------------------------------------------------------------------------

typedef struct {
    int64_t n_train;    // items 0..n_train-1 of the shapes set (rendered per batch): 60000
    int64_t n_test;     // items from LC_SHAPES_TEST_FIRST judged after every epoch (0: none)
    uint64_t data_seed; // the generator's seed: 0, as `--data shapes`
} lc_shapes_judge_data;

// Trains with the shared loop (lc_train; every option of lc_train_options). After each
// epoch the test figures go into the metrics: test_accuracy (all attributes right),
// test_kind, test_colour, test_size, test_relation, test_place, test_count.
lc_status lc_shapes_judge_train(lc_train_result *res, lc_shapes_judge *j,
                                const lc_shapes_judge_data *d, const lc_train_options *o,
                                lc_progress_fn progress, void *user);

#ifdef __cplusplus
}
#endif
#endif
