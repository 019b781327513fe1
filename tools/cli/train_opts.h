// latentcl CLI — the options and the closing report every `latentcl train FAMILY`
// verb shares (train_opts.c). Included by cli.h.
#ifndef LATENTCL_CLI_TRAIN_OPTS_H
#define LATENTCL_CLI_TRAIN_OPTS_H

#include "latentcl/train.h"

// Parses a training verb's command line into *opts (which the verb first fills with
// lc_train_options_default and any family defaults): the shared training options
// (--epochs --iters --batch --lr --optimizer --weight-decay --momentum --lr-schedule
// --warmup --clip --ema --seed --save-every --val-split --skip-nonfinite --init --config
// --out --resume --force --log-every), the verb's own `extra` options ({NULL}-terminated,
// may be NULL) and --device/--threads/--json. A --config FILE (JSON with the same option
// names, for the verb's own options too) is applied first, so the command line wins;
// strings from it live in *keep until lc_cfg_strings_free. opts->device and
// opts->threads are set from --device/--threads. Returns like cli_parse: 0 = run; else
// exit with *exit_code (2 for usage errors and bad config files, 0 after --help).
int cli_train_parse(const char *verb, const char *usage, const char *description, int argc,
                    char **argv, lc_train_options *opts, const cli_opt *extra, lc_cfg_strings *keep,
                    const char **positional, int max_positional, int *n_positional, int *exit_code);

// Progress and Ctrl-C: use cli_progress_report (an lc_progress_fn, user = a cli_progress)
// and cli_sigint_install from progress.c; lc_train stops after the step, saves and says
// how to resume.

// Reports lc_train's outcome: a summary (one JSON object with --json) on success, the
// library's message otherwise. Returns the exit code (0 or 1).
int cli_train_finish(lc_status s, const lc_train_result *r, const lc_train_options *opts);
// Runs lc_train on tm with the progress line (labelled `label`) and Ctrl-C handling, then
// reports like cli_train_finish. Returns the exit code (0 or 1). In train_run.c.
int cli_train_run(const char *label, lc_device *dev, lc_train_model *tm,
                  const lc_train_options *opts);

#endif
