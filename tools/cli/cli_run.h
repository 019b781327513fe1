// Finding a trained model for the verbs that use one (eval, predict, export, ...):
// RUN is a run folder (its last.safetensors or best.safetensors) or a .safetensors file.
#ifndef LATENTCL_CLI_RUN_H
#define LATENTCL_CLI_RUN_H

#include <stddef.h>

#include "latentcl/checkpoint.h"

// The checkpoint of RUN: which = "last" or "best" (NULL: last) for a folder; a file is
// itself. Returns 0, or prints one error line and returns 1 (2 for a bad `which`).
int cli_run_checkpoint(char *path, size_t cap, const char *run, const char *which);
// The tensor prefix of --weights ema|raw (NULL: raw): "ema/" or "". Prints and returns
// 2 for anything else.
int cli_weights_prefix(const char **prefix, const char *weights);
// Opens RUN's checkpoint (as cli_run_checkpoint) into *f; 0, or the exit code after
// printing one error line.
int cli_run_open(lc_st_file **f, const char *run, const char *which);

// Whether an output file can be created or replaced at path, checked before any work (by
// creating and removing a temp file beside it): 0, or prints "path: reason" and returns 1.
int cli_check_out(const char *path);

#endif
