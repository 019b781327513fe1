// latentcl CLI — the CLIP verbs (cmd_clip.c: train clip, eval of a clip run, zeroshot;
// cmd_retrieve.c: retrieve and embed for clip and mmvae runs) and what they share.
#ifndef LATENTCL_CLI_CMD_CLIP_H
#define LATENTCL_CLI_CMD_CLIP_H

#include <stdbool.h>
#include <stdint.h>

#include "latentcl/clip.h"
#include "latentcl/data.h"

// Image-caption pairs of SRC: "shapes" (the generator's mix of one and two shapes),
// "shapes-one" / "shapes-two" (only those), fashion-mnist / mnist (labels and class names:
// captions come from templates), or a folder of PNGs (captions.tsv). count: shapes items
// (0: 60000 train, 1000 test); for other sources the first count items (0: all). A folder
// has no test split: *absent is set (when absent != NULL) or its training split is used
// (absent == NULL). *shapes (may be NULL) gets the shapes per image (0 for other sources).
lc_status clip_cli_data(lc_dataset *out, const char *spec, lc_data_split split, int64_t count,
                        bool *absent, int *shapes);
// The shapes spec for a run's config: "shapes", "shapes-one", "shapes-two".
const char *clip_cli_shapes_spec(int shapes);

// --checkpoint last|best and --weights raw|ema: which saved weights of RUN a verb loads
// (entries of a cli_opt table; which and weights are const char **).
#define CLIP_CLI_LOAD_OPTS(which, weights)                                                         \
    {"--checkpoint", OPT_STRING, (which), "last or best", "C"}, {                                  \
        "--weights", OPT_STRING, (weights), "raw or ema", "W"                                      \
    }

int cmd_train_clip(int argc, char **argv);
int cmd_eval_clip(int argc, char **argv);
int cmd_zeroshot(int argc, char **argv);
int cmd_retrieve(int argc, char **argv);
int cmd_embed(int argc, char **argv);

#endif
