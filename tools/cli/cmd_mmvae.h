// latentcl CLI — the multimodal VAE verbs (cmd_mmvae.c: train; cmd_mmvae_use.c: caption,
// generate, eval) and the helpers they share.
#ifndef LATENTCL_CLI_CMD_MMVAE_H
#define LATENTCL_CLI_CMD_MMVAE_H

#include "latentcl/data.h"
#include "latentcl/mmvae.h"

// Image-caption pairs of --data SPEC (lc_data_open): "shapes" (the generator, one or two
// shapes), "shapes-one" / "shapes-two" (only those items), fashion-mnist (captions from
// class-name templates) or a folder. count: items (0: shapes 20000 train / 1000 test;
// other sources: all). items (may be NULL): the shapes generator's attributes (n),
// malloc'ed, else NULL. A folder has no test split: with fallback the training split is
// used. 0, or the exit code after printing one error line.
int mmvae_cli_data(lc_dataset *out, lc_shapes_item **items, const char *spec, lc_data_split split,
                   int64_t count, bool fallback);

int cmd_train_mmvae(int argc, char **argv);
int cmd_caption(int argc, char **argv);
int cmd_generate(int argc, char **argv);
int cmd_eval_mmvae(int argc, char **argv);

#endif
