// latentcl — the one training loop shared by every gradient-trained family.
//
// A family implements lc_train_model (a few function pointers: one step of
// forward + backward on a batch, evaluation on a split, pictures, its config as
// JSON) and calls lc_train with the options every `latentcl train FAMILY` verb
// takes. The loop owns everything else: the seeded batch order, the validation
// split, the LR schedule, the optimiser (clipping, EMA, the non-finite rule),
// metrics lines and checkpoints in the run folder, progress and cancellation,
// and --resume, which continues bit for bit.
//
// Steps are counted from 1 in metrics, messages and checkpoints ("step": steps
// done); lc_batch.step is the 0-based index of the step being taken.
#ifndef LATENTCL_TRAIN_H
#define LATENTCL_TRAIN_H

#include <stdbool.h>
#include <stdint.h>

#include "latentcl/checkpoint.h"
#include "latentcl/device.h"
#include "latentcl/optim.h"
#include "latentcl/params.h"
#include "latentcl/progress.h"

#ifdef __cplusplus
extern "C" {
#endif

// ---- options ------------------------------------------------------------------------

// Every option of a training verb (the CLI spells them --epochs, --lr-schedule, ...;
// a --config JSON file spells them "epochs", "lr-schedule" or "lr_schedule").
typedef struct {
    long epochs;             // 5; used when iters == 0
    long iters;              // 0: train for `epochs` epochs; else for this many steps
    long batch;              // 128
    double lr;               // 1e-3 (the peak rate of the schedule)
    const char *optimizer;   // "adam" | "adamw" | "sgd"
    double weight_decay;     // -1: the optimiser's default (0; AdamW 0.01)
    double momentum;         // SGD momentum, 0.9
    const char *lr_schedule; // "constant" | "cosine"
    long warmup;             // linear LR warm-up steps, 0
    double clip;             // max global gradient norm, 0 = off
    double ema;              // EMA decay of the weights, 0 = off
    long ema_warmup;         // 10: the decay at step t is min(ema, (1 + t) / (10 + t)); 0 = off
    long seed;               // 0: data order, initial weights, random draws
    const char *device;      // for the caller that opens the device (the loop is given one)
    long threads;            // likewise
    long save_every;         // also save last.safetensors every N steps (0: epoch ends only)
    double val_split;        // fraction of the training set held out for validation, 0
    bool skip_nonfinite;     // skip a step with a NaN/Inf loss or gradient (counted) instead of
                             // stopping with the step number
    const char *init;        // start from the weights (NAME tensors) of this safetensors file
    const char *config;      // the --config file these came from (recorded only)
    const char *out;         // the run folder; NULL: nothing written (tests, library use)
    bool resume;             // continue RUN/last.safetensors (with out)
    bool force;              // reuse an existing non-empty run folder
    long log_every;          // read the loss back and write a metrics line every N steps, 50
    double minutes;          // also stop after this many minutes of training, 0 = off (the
                             // learning-rate schedule still spans iters/epochs)
    double snapshot_every;   // keep RUN/snapshot_MMMMmin.safetensors after every this many
                             // minutes of training, 0 = off (curves of quality against time)
} lc_train_options;

// The defaults above (Adam 1e-3, batch 128, 5 epochs, as ../shared/REFERENCE.md).
void lc_train_options_default(lc_train_options *o);
// Range and name checks (LC_ERR_INVALID_ARG naming the option).
lc_status lc_train_options_check(const lc_train_options *o);
// The optimiser configuration the options ask for.
lc_status lc_train_optim_config(lc_optim_config *out, const lc_train_options *o);

// ---- JSON config files ----------------------------------------------------------------
// A table of keys a JSON object may set. Types: bool*, long*, double*, const char**
// (a JSON null sets a string to NULL).
typedef enum { LC_CFG_BOOL, LC_CFG_LONG, LC_CFG_DOUBLE, LC_CFG_STRING } lc_cfg_type;
typedef struct {
    const char *name; // "lr-schedule" (a member may spell '-' as '_')
    lc_cfg_type type;
    void *value;
} lc_cfg_key;
// Strings set from a config file are owned here until lc_cfg_strings_free.
typedef struct {
    char **items;
    int count;
} lc_cfg_strings;
void lc_cfg_strings_free(lc_cfg_strings *s);

// Applies the members of one JSON object to keys. An unknown member, a value of the wrong
// type (a fraction for an integer, a string for a number), a repeated member or a file
// that is not one JSON object is LC_ERR_INVALID_ARG naming `what` (the file) and the key.
lc_status lc_cfg_apply_json(const lc_cfg_key *keys, int n_keys, const char *json, const char *what,
                            lc_cfg_strings *keep);
lc_status lc_cfg_apply_file(const lc_cfg_key *keys, int n_keys, const char *path,
                            lc_cfg_strings *keep);

enum { LC_TRAIN_OPTION_COUNT = 26 };
// The keys of every option of o (pointing into o): LC_TRAIN_OPTION_COUNT entries into keys[].
int lc_train_option_keys(lc_cfg_key *keys, lc_train_options *o);
// Applies a JSON config file to o (command-line options are applied after, so they win).
lc_status lc_train_options_load(lc_train_options *o, const char *path, lc_cfg_strings *keep);
// The options as a JSON object (malloc'ed text, caller frees).
lc_status lc_train_options_json(char **out, const lc_train_options *o);

// ---- the model interface ---------------------------------------------------------------

// One batch of the training set. Data parallel (include/latentcl/dist.h), each rank gets
// its contiguous slice of the global batch: index/count are the slice, global_index/
// global_count the whole batch, index[i] == global_index[first + i]. With one rank (and
// where global_index is NULL) the slice is the whole batch.
// count is 0 only for a gathers_batch model on a rank whose slice is empty.
typedef struct {
    const int64_t *index; // (count) dataset items, in this epoch's shuffled order
    int64_t count;        // <= the batch size (the last batch of an epoch may be short)
    int64_t step;         // 0-based index of this step: with seed and index, the key of
                          // every random draw of a sample (dropout, noise, timesteps)
    int64_t epoch;        // 0-based
    uint64_t seed;        // the run's seed

    const int64_t *global_index; // (global_count) the whole global batch
    int64_t global_count;        // the batch's items over all ranks
    int64_t first;               // where this rank's slice starts in global_index
} lc_batch;

// Named figures from an evaluation ("accuracy", "loss", ...).
enum { LC_FIGURES_MAX = 32, LC_FIGURE_NAME_MAX = 48 };
typedef struct {
    char name[LC_FIGURE_NAME_MAX];
    double value;
} lc_figure;
typedef struct {
    int count;
    lc_figure items[LC_FIGURES_MAX];
} lc_figures;
// Appends (prefix + name, value); LC_ERR_INVALID_ARG when full or the name is too long.
lc_status lc_figures_add(lc_figures *f, const char *prefix, const char *name, double value);
// The value of name, or NAN.
double lc_figures_get(const lc_figures *f, const char *name);

typedef enum { LC_EVAL_VAL, LC_EVAL_TEST } lc_eval_split;

typedef struct {
    const char *family; // "classifier", "vae", ...: checkpoint metadata; a resume checks it
    void *self;         // handed back to every hook
    lc_params *params;  // the model's one parameter buffer, allocated and initialised
    int64_t n_train;    // items in the training set (batches index 0..n_train-1)
    int n_terms;        // named loss terms written after the loss (< LC_LOSS_MAX)
    const char *term_names[LC_LOSS_MAX - 1]; // "recon", "kl", ...: metrics keys
    bool has_test;         // evaluate(LC_EVAL_TEST) is meaningful (run after every epoch)
    bool higher_is_better; // of evaluate's first figure, which picks best.safetensors

    // Data parallel. false (every family whose loss is a mean of per-sample terms): step
    // differentiates the mean over its slice; the loop weights each rank's gradients and
    // loss by its share of the batch and sums them. true (a loss that couples the samples,
    // CLIP's InfoNCE): step gathers what it needs from the other ranks (lc_dist_gather_rows,
    // so it runs on every rank, even with count 0) and differentiates the loss of the
    // whole global batch through its own slice's rows only; the loop sums the gradients
    // unweighted and takes loss[] from rank 0 (every rank computed the same value).
    bool gathers_batch;

    // Required. Forward + backward of one batch, enqueued without a host wait: gradients
    // ADDED into params->grad (zero on entry: the optimiser zeroes it after each update),
    // loss[0] = the mean loss that was differentiated, loss[1..n_terms] its named terms
    // (device floats the loop owns). The loop checks loss[0] for NaN/Inf on the device.
    lc_status (*step)(void *self, lc_device *dev, cl_mem loss, const lc_batch *batch);

    // Optional. Figures on a split, in no-grad mode: LC_EVAL_VAL: the `count` training-set
    // items index[] (the held-out validation split); LC_EVAL_TEST: the model's own test set
    // (index NULL, count 0). The first figure is the one best.safetensors tracks.
    lc_status (*evaluate)(void *self, lc_device *dev, lc_eval_split split, const int64_t *index,
                          int64_t count, lc_figures *out);

    // Optional. After each epoch's evaluation: pictures into run_dir (NULL when there is no
    // run folder). opt gives the EMA weights (lc_optim_ema / lc_optim_swap_ema).
    lc_status (*epoch_end)(void *self, lc_device *dev, const char *run_dir, int64_t epoch,
                           lc_optim *opt);

    // Required. The model's config as one JSON object (malloc'ed text, caller frees):
    // RUN/config.json and the checkpoint's "config"; --resume refuses a different one.
    lc_status (*config_json)(void *self, char **out);

    // Optional. Extra tensors/metadata in a checkpoint (vocabulary, buffers), and back.
    lc_status (*save_extra)(void *self, lc_st_builder *b);
    lc_status (*load_extra)(void *self, const lc_st_file *f);
} lc_train_model;

// What a training call did.
typedef struct {
    int64_t steps;    // steps done in all (a resumed run counts its earlier ones)
    int64_t epochs;   // epochs completed
    int64_t skipped;  // steps skipped as non-finite (--skip-nonfinite)
    int64_t bad_step; // the step (from 1) with a NaN/Inf when stopped for one, else 0
    double loss;      // mean loss over the last logged interval (NAN if none)
    lc_figures eval;  // the last evaluation: "val_accuracy", "test_loss", ...
    double best;      // best validation figure so far (NAN if none)
    double seconds;   // wall time of this call
} lc_train_result;

// Trains m with options o on dev. progress (may be NULL) is called after every step and
// evaluation; a non-zero return finishes the step, saves RUN/last.safetensors and returns
// LC_ERR_CANCELLED with a message saying how to resume.
//
// Files (with o->out): RUN/config.json, RUN/metrics.jsonl, RUN/last.safetensors (each epoch
// end, every save_every steps, the end, a cancel), RUN/best.safetensors (val_split > 0).
// A NaN/Inf loss or gradient stops with LC_ERR_NONFINITE naming the step and the last good
// checkpoint (which is never overwritten by a bad state); with skip_nonfinite the step is
// skipped and counted ("skipped" in the metrics). res may be NULL.
lc_status lc_train(lc_train_result *res, lc_device *dev, lc_train_model *m,
                   const lc_train_options *o, lc_progress_fn progress, void *user);

// ---- checkpoints of a model --------------------------------------------------------------
// Adds every parameter of p (NAME, PyTorch layout) to b (reads the device).
lc_status lc_train_params_save(const lc_params *p, lc_device *dev, lc_st_builder *b);
// Loads every parameter of p from f (prefix "" for the weights, "ema/" for the EMA weights):
// a missing tensor or another shape is LC_ERR_FORMAT naming the file and the tensor.
lc_status lc_train_params_load(lc_params *p, lc_device *dev, const lc_st_file *f,
                               const char *prefix);

#ifdef __cplusplus
}
#endif
#endif
