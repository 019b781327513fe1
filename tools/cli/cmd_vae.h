// Helpers shared by the AE/VAE verbs (train ae|vae, sample, reconstruct, interpolate,
// encode, eval).
#ifndef LATENTCL_CLI_CMD_VAE_H
#define LATENTCL_CLI_CMD_VAE_H

#include <stdbool.h>

#include "latentcl/data.h"
#include "latentcl/vae.h"

// Opens --data SRC (a name or folder of images) for a split; a source without a test
// split falls back to its training images when fallback is set (*used_train says so).
// Returns 0, or 1 after printing the error.
int vae_cli_open_images(lc_data *out, const char *spec, lc_data_split split, bool fallback,
                        bool *used_train);

// Loads the AE/VAE of RUN (a run folder or a checkpoint) on an opened device: 0, or 1
// after printing the error.
int vae_cli_load(lc_vae **m, lc_device *dev, const char *run, bool ema);

// The data source of a model: --data if given, else the one it was trained on. Prints an
// error and returns NULL when neither is known.
const char *vae_cli_data_spec(const lc_vae *m, const char *given);

int cmd_train_ae(int argc, char **argv);
int cmd_train_vae(int argc, char **argv);
int cmd_sample_vae(int argc, char **argv); // argv[0] "sample", argv[1] RUN
int cmd_eval_vae(int argc, char **argv);   // argv[0] "eval", argv[1] RUN
#endif
