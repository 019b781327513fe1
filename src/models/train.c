// The one training loop (see include/latentcl/train.h).
//
// Per step the host only enqueues: the model's forward + backward, then the
// optimiser's few kernels. It waits for the device every log_every steps (to
// read the loss and the non-finite flag), at epoch ends and before saving.
// Everything that decides the next step (data order, validation split, LR,
// random keys) is a pure function of (seed, epoch, step), and a checkpoint
// holds the rest (weights, optimiser state, EMA), so a resume is bit-exact.
//
// Data parallel (several ranks, include/latentcl/dist.h): every rank walks the same global
// batches and steps on its contiguous slice of each; the gradients and the loss, weighted
// by slice size, are summed over the ranks before every rank applies the same update. Rank
// 0 alone writes the run folder and evaluates; the state in a checkpoint does not depend
// on the number of ranks, so a run resumes with any number.
#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "latentcl/data.h"
#include "latentcl/dist.h"
#include "latentcl/plot.h"
#include "latentcl/run.h"
#include "latentcl/gemm.h"
#include "latentcl/train.h"
#include "models/model_io.h"

// The epoch key of the validation split's permutation (never a real epoch).
#define VAL_SPLIT_EPOCH UINT64_MAX

typedef struct {
    lc_device *dev;
    lc_train_model *m;
    const lc_train_options *o;
    lc_progress_fn progress;
    void *user;
    lc_run *run; // NULL without o->out
    lc_optim *opt;
    lc_optim_config ocfg;
    lc_lr_schedule sched;
    cl_mem loss;
    int n_loss;
    char *model_config; // the model's JSON config text
    char *options_json; // the options as JSON text
    int64_t *train_idx; // (n_tr) dataset items trained on, NULL when all of them
    int64_t *val_idx;   // (n_val)
    int64_t n_tr, n_val;
    int64_t *batch_idx; // (batch) the current batch's dataset items
    lc_batcher batcher;
    int64_t step;        // steps done
    int64_t epoch;       // current epoch, 0-based
    int64_t total;       // steps planned
    int64_t logged_step; // step of the last metrics line
    int64_t saved_step;  // step of the last checkpoint written, -1 none
    int64_t eval_step;   // step of the last evaluation, -1 none
    int64_t skipped;
    double best;      // best validation figure, NAN none
    double loss_mean; // of the last logged interval
    double t0, t_last;
    int64_t items_since;
    int64_t items_call; // items trained by this call (the progress bar's rate)
    lc_figures eval;
    int rank, nranks;  // this process among the data-parallel ranks (0 of 1 without MPI)
    bool writer;       // rank 0: writes the run folder, evaluates, draws pictures
    float *reduce;     // (params total + n_loss) host staging of the gradient allreduce
    double loop_t0;    // when this call's loop began
    double aside_s;    // of the time since, what went to pictures, evaluation and checkpoints
    int64_t snapshots; // snapshots written by this call
} trainer;

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int cmp_i64(const void *a, const void *b) {
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

// Validation = the first n_val items of a seeded permutation; training = the rest,
// both in dataset order. With val_split 0 every item trains (train_idx NULL).
static lc_status make_split(trainer *t) {
    int64_t n = t->m->n_train;
    t->n_val = (int64_t)floor(t->o->val_split * (double)n);
    if (t->o->val_split > 0 && t->n_val == 0) t->n_val = 1;
    t->n_tr = n - t->n_val;
    if (t->n_tr < 1)
        return lc_fail(LC_ERR_INVALID_ARG, "--val-split %g leaves no training items of %lld",
                       t->o->val_split, (long long)n);
    if (t->n_val == 0) return LC_OK;
    int64_t *perm = malloc((size_t)n * sizeof *perm);
    if (!perm) return lc_fail(LC_ERR_NOMEM, "out of memory for the validation split");
    lc_shuffle_order(perm, n, (uint64_t)t->o->seed, VAL_SPLIT_EPOCH);
    t->val_idx = malloc((size_t)t->n_val * sizeof *t->val_idx);
    t->train_idx = malloc((size_t)t->n_tr * sizeof *t->train_idx);
    if (!t->val_idx || !t->train_idx) {
        free(perm);
        return lc_fail(LC_ERR_NOMEM, "out of memory for the validation split");
    }
    memcpy(t->val_idx, perm, (size_t)t->n_val * sizeof *perm);
    memcpy(t->train_idx, perm + t->n_val, (size_t)t->n_tr * sizeof *perm);
    free(perm);
    qsort(t->val_idx, (size_t)t->n_val, sizeof *t->val_idx, cmp_i64);
    qsort(t->train_idx, (size_t)t->n_tr, sizeof *t->train_idx, cmp_i64);
    return LC_OK;
}

static lc_status path_in_run(const trainer *t, const char *name, char *out, size_t cap) {
    return lc_run_path(t->run, name, out, cap);
}

// ---- checkpoints --------------------------------------------------------------------

// The loop's own state as one JSON string: where the data order stands.
static lc_status train_state_json(char **out, const trainer *t) {
    cJSON *j = cJSON_CreateObject();
    if (!j) return lc_fail(LC_ERR_NOMEM, "out of memory");
    cJSON_AddNumberToObject(j, "step", (double)t->step);
    cJSON_AddNumberToObject(j, "epoch", (double)t->epoch);
    cJSON_AddNumberToObject(j, "position", (double)t->batcher.next);
    cJSON_AddNumberToObject(j, "seed", (double)t->o->seed);
    cJSON_AddNumberToObject(j, "batch", (double)t->o->batch);
    cJSON_AddNumberToObject(j, "n_train", (double)t->m->n_train);
    cJSON_AddNumberToObject(j, "n_val", (double)t->n_val);
    cJSON_AddNumberToObject(j, "skipped", (double)t->skipped);
    if (isnan(t->best))
        cJSON_AddNullToObject(j, "best");
    else
        cJSON_AddNumberToObject(j, "best", t->best);
    // A failed cJSON_Add* (out of memory) drops its member silently: a checkpoint without
    // one would not resume, so all 9 must be there.
    *out = cJSON_GetArraySize(j) == 9 ? cJSON_PrintUnformatted(j) : NULL;
    cJSON_Delete(j);
    return *out ? LC_OK : lc_fail(LC_ERR_NOMEM, "out of memory");
}

static lc_status nonfinite_stop(trainer *t, int64_t bad_step) {
    char where[4200] = "no checkpoint was saved before it";
    if (t->run && t->saved_step >= 0) {
        char path[4096];
        if (path_in_run(t, LC_RUN_LAST, path, sizeof path) == LC_OK)
            snprintf(where, sizeof where, "the last good checkpoint is %s (step %lld)", path,
                     (long long)t->saved_step);
    }
    return lc_fail(LC_ERR_NONFINITE,
                   "non-finite loss or gradient at step %lld (epoch %lld): training stopped; %s "
                   "(--skip-nonfinite skips such steps instead)",
                   (long long)(bad_step + 1), (long long)t->epoch + 1, where);
}

// Writes RUN/last.safetensors (and best.safetensors when is_best, and `also` when not NULL).
// Never writes a state that went through a non-finite step: the device flag is read first.
static lc_status save_as(trainer *t, bool is_best, const char *also) {
    // With several ranks every rank reads the flag, so that all stop at the same step.
    if (!t->run && t->nranks == 1) return LC_OK;
    lc_optim_report r;
    LC_TRY(lc_optim_read(t->opt, &r, false));
    if (r.bad_step >= 0 && !t->o->skip_nonfinite) return nonfinite_stop(t, r.bad_step);
    t->skipped = r.skipped;
    if (!t->run) return LC_OK;
    lc_st_builder *b = NULL;
    LC_TRY(lc_st_builder_new(&b));
    char *state = NULL, num[32];
    char rng[128];
    lc_status s = lc_train_params_save(t->m->params, t->dev, b);
    if (s == LC_OK) s = lc_optim_save(t->opt, t->m->params, b);
    if (s == LC_OK && t->m->save_extra) s = t->m->save_extra(t->m->self, b);
    if (s == LC_OK) s = train_state_json(&state, t);
    if (s == LC_OK) s = lc_st_builder_meta(b, LC_META_FAMILY, t->m->family);
    if (s == LC_OK) s = lc_st_builder_meta(b, LC_META_CONFIG, t->model_config);
    snprintf(num, sizeof num, "%lld", (long long)t->step);
    if (s == LC_OK) s = lc_st_builder_meta(b, LC_META_STEP, num);
    snprintf(num, sizeof num, "%lld", (long long)t->epoch);
    if (s == LC_OK) s = lc_st_builder_meta(b, LC_META_EPOCH, num);
    // Every draw is keyed by (seed, step, item): the seed and the step are the whole RNG state.
    snprintf(rng, sizeof rng, "{\"seed\":%ld,\"step\":%lld}", t->o->seed, (long long)t->step);
    if (s == LC_OK) s = lc_st_builder_meta(b, LC_META_RNG, rng);
    if (s == LC_OK) s = lc_st_builder_meta(b, "train", state);
    if (s == LC_OK) s = lc_st_builder_meta(b, "train_options", t->options_json);
    if (s == LC_OK) s = lc_st_builder_meta(b, LC_META_VERSION, LATENTCL_VERSION_STRING);
    char path[4096];
    if (s == LC_OK) s = path_in_run(t, LC_RUN_LAST, path, sizeof path);
    if (s == LC_OK) s = lc_st_builder_save(b, path);
    if (s == LC_OK && is_best) {
        s = path_in_run(t, LC_RUN_BEST, path, sizeof path);
        if (s == LC_OK) s = lc_st_builder_save(b, path);
    }
    if (s == LC_OK && also) {
        s = path_in_run(t, also, path, sizeof path);
        if (s == LC_OK) s = lc_st_builder_save(b, path);
    }
    if (s == LC_OK) t->saved_step = t->step;
    free(state);
    lc_st_builder_free(b);
    return s;
}

static lc_status save(trainer *t, bool is_best) { return save_as(t, is_best, NULL); }

static lc_status json_count(int64_t *out, const cJSON *j, const char *key, const char *path) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, key);
    if (!cJSON_IsNumber(v) || v->valuedouble < 0 || v->valuedouble != floor(v->valuedouble))
        return lc_fail(LC_ERR_FORMAT, "%s: metadata train.%s missing or not a count", path, key);
    *out = (int64_t)v->valuedouble;
    return LC_OK;
}

// Restores a run from RUN/last.safetensors, refusing one made by another model, data
// order or dataset.
static lc_status resume(trainer *t) {
    char path[4096];
    // Ranks other than 0 never open the run folder: they only read its checkpoint.
    if (t->run)
        LC_TRY(path_in_run(t, LC_RUN_LAST, path, sizeof path));
    else
        LC_TRY(lc_run_checkpoint_path(path, sizeof path, t->o->out));
    lc_st_file *f = NULL;
    lc_status s = lc_st_open(&f, path);
    if (s != LC_OK)
        return lc_fail_context(s, "cannot resume %s (no usable %s)",
                               t->run ? lc_run_dir(t->run) : t->o->out, LC_RUN_LAST);
    const char *family = lc_st_meta_get(f, LC_META_FAMILY);
    const char *config = lc_st_meta_get(f, LC_META_CONFIG);
    const char *state = lc_st_meta_get(f, "train");
    if (!family || strcmp(family, t->m->family))
        s = lc_fail(LC_ERR_INVALID_ARG, "cannot resume %s: it trained a %s model, not %s", path,
                    family ? family : "(unknown)", t->m->family);
    else if (!config || strcmp(config, t->model_config))
        s = lc_fail(LC_ERR_INVALID_ARG,
                    "cannot resume %s: its model config %s differs from this one %s", path,
                    config ? config : "(none)", t->model_config);
    else if (!state)
        s = lc_fail(LC_ERR_FORMAT, "%s: no training state (metadata \"train\")", path);
    cJSON *j = s == LC_OK ? cJSON_Parse(state) : NULL;
    if (s == LC_OK && !j) s = lc_fail(LC_ERR_FORMAT, "%s: metadata \"train\" is not JSON", path);
    int64_t step = 0, epoch = 0, position = 0, seed = 0, batch = 0, n_train = 0, n_val = 0,
            skipped = 0;
    if (s == LC_OK) s = json_count(&step, j, "step", path);
    if (s == LC_OK) s = json_count(&epoch, j, "epoch", path);
    if (s == LC_OK) s = json_count(&position, j, "position", path);
    if (s == LC_OK) s = json_count(&seed, j, "seed", path);
    if (s == LC_OK) s = json_count(&batch, j, "batch", path);
    if (s == LC_OK) s = json_count(&n_train, j, "n_train", path);
    if (s == LC_OK) s = json_count(&n_val, j, "n_val", path);
    if (s == LC_OK) s = json_count(&skipped, j, "skipped", path);
    if (s == LC_OK && (seed != t->o->seed || batch != t->o->batch))
        s = lc_fail(LC_ERR_INVALID_ARG,
                    "cannot resume %s bit-exactly with --seed %ld --batch %ld: the run used "
                    "--seed %lld --batch %lld",
                    path, t->o->seed, t->o->batch, (long long)seed, (long long)batch);
    if (s == LC_OK && (n_train != t->m->n_train || n_val != t->n_val))
        s = lc_fail(LC_ERR_INVALID_ARG,
                    "cannot resume %s: it trained on %lld items (%lld held out), this data has "
                    "%lld (%lld held out)",
                    path, (long long)n_train, (long long)n_val, (long long)t->m->n_train,
                    (long long)t->n_val);
    if (s == LC_OK && position > t->n_tr)
        s = lc_fail(LC_ERR_FORMAT, "%s: position %lld past the epoch", path, (long long)position);
    if (s == LC_OK) {
        const cJSON *best = cJSON_GetObjectItemCaseSensitive(j, "best");
        t->best = cJSON_IsNumber(best) ? best->valuedouble : NAN;
    }
    cJSON_Delete(j);
    if (s == LC_OK) s = lc_train_params_load(t->m->params, t->dev, f, "");
    if (s == LC_OK) s = lc_optim_load(t->opt, t->m->params, f);
    if (s == LC_OK && t->m->load_extra) s = t->m->load_extra(t->m->self, f);
    lc_st_close(f);
    LC_TRY(s);
    t->step = t->logged_step = t->saved_step = t->eval_step = step;
    t->epoch = epoch;
    t->skipped = skipped;
    lc_batcher_start_epoch(&t->batcher, (uint64_t)epoch, position);
    return t->run ? lc_run_truncate_metrics(t->run, (double)step) : LC_OK;
}

static lc_status load_init(trainer *t) {
    lc_st_file *f = NULL;
    LC_TRY(lc_st_open(&f, t->o->init));
    lc_status s = lc_train_params_load(t->m->params, t->dev, f, "");
    lc_st_close(f);
    return s == LC_OK ? s : lc_fail_context(s, "--init %s", t->o->init);
}

static lc_status write_config(trainer *t) {
    cJSON *j = cJSON_CreateObject(), *model = cJSON_Parse(t->model_config),
          *opts = cJSON_Parse(t->options_json);
    if (!j || !model || !opts) {
        cJSON_Delete(j);
        cJSON_Delete(model);
        cJSON_Delete(opts);
        return lc_fail(LC_ERR_INVALID_ARG, "the %s model's config is not a JSON object: %s",
                       t->m->family, t->model_config);
    }
    const lc_device_info *info = lc_device_get_info(t->dev);
    // The GEMM path decides speed and the last bits of every result: record it. Data
    // parallel: the batch is split over "ranks" processes (the threads are each one's).
    const char *gemm = lc_gemm_backend_name(lc_gemm_active_backend(t->dev));
    lc_status s = MODEL_JSON_ADD(
        j, MJ_STR("family", t->m->family), MJ_ITEM("model", model), MJ_ITEM("train", opts),
        MJ_IF(info, MJ_STR("device_name", info->name)),
        MJ_IF(info, MJ_STR("device_platform", info->platform)), MJ_STR("gemm_backend", gemm),
        MJ_NUM("gemm_threads", lc_gemm_threads(t->dev)),
        MJ_IF(t->nranks > 1, MJ_NUM("ranks", t->nranks)),
        MJ_STR("latentcl_version", LATENTCL_VERSION_STRING));
    if (s == LC_OK) s = lc_run_write_config(t->run, j);
    cJSON_Delete(j);
    return s;
}

// ---- metrics --------------------------------------------------------------------------

// Reads the device (loss sums, the non-finite flag) and writes one metrics line.
static lc_status log_interval(trainer *t) {
    if (t->step == t->logged_step) return LC_OK;
    lc_optim_report r;
    LC_TRY(lc_optim_read(t->opt, &r, true));
    if (r.bad_step >= 0 && !t->o->skip_nonfinite) return nonfinite_stop(t, r.bad_step);
    double now = now_s();
    double rate = now > t->t_last ? (double)t->items_since / (now - t->t_last) : 0.0;
    t->t_last = now;
    t->items_since = 0;
    t->skipped = r.skipped;
    t->loss_mean = r.steps > 0 ? r.loss[0] : NAN;
    t->logged_step = t->step;
    if (!t->run) return LC_OK;
    cJSON *row = cJSON_CreateObject();
    if (!row) return lc_fail(LC_ERR_NOMEM, "out of memory");
    cJSON_AddNumberToObject(row, "step", (double)t->step);
    cJSON_AddNumberToObject(row, "epoch", (double)(t->epoch + 1));
    cJSON_AddNumberToObject(row, "loss", t->loss_mean);
    for (int i = 0; i < t->m->n_terms; i++)
        cJSON_AddNumberToObject(row, t->m->term_names[i], r.steps > 0 ? r.loss[1 + i] : NAN);
    cJSON_AddNumberToObject(row, "lr", lc_lr_at(&t->sched, t->step - 1));
    if (t->o->clip > 0 || t->o->skip_nonfinite)
        cJSON_AddNumberToObject(row, "grad_norm", r.grad_norm);
    if (t->o->skip_nonfinite) cJSON_AddNumberToObject(row, "skipped", (double)r.skipped);
    cJSON_AddNumberToObject(row, "samples_per_s", rate);
    cJSON_AddNumberToObject(row, "elapsed_s", now - t->t0);
    lc_status s = lc_run_log(t->run, row);
    cJSON_Delete(row);
    return s;
}

// Evaluates on the validation split and the test set; *is_best when the validation
// figure improved. Writes one metrics line.
static lc_status evaluate(trainer *t, bool *is_best) {
    *is_best = false;
    memset(&t->eval, 0, sizeof t->eval);
    if (!t->m->evaluate) return LC_OK;
    lc_figures f;
    if (t->n_val > 0) {
        memset(&f, 0, sizeof f);
        LC_TRY(t->m->evaluate(t->m->self, t->dev, LC_EVAL_VAL, t->val_idx, t->n_val, &f));
        for (int i = 0; i < f.count; i++)
            LC_TRY(lc_figures_add(&t->eval, "val_", f.items[i].name, f.items[i].value));
        if (f.count > 0 && isfinite(f.items[0].value)) {
            double v = f.items[0].value;
            if (isnan(t->best) || (t->m->higher_is_better ? v > t->best : v < t->best)) {
                t->best = v;
                *is_best = true;
            }
        }
    }
    if (t->m->has_test) {
        memset(&f, 0, sizeof f);
        LC_TRY(t->m->evaluate(t->m->self, t->dev, LC_EVAL_TEST, NULL, 0, &f));
        for (int i = 0; i < f.count; i++)
            LC_TRY(lc_figures_add(&t->eval, "test_", f.items[i].name, f.items[i].value));
    }
    if (!t->run || t->eval.count == 0) return LC_OK;
    cJSON *row = cJSON_CreateObject();
    if (!row) return lc_fail(LC_ERR_NOMEM, "out of memory");
    cJSON_AddNumberToObject(row, "step", (double)t->step);
    cJSON_AddNumberToObject(row, "epoch", (double)(t->epoch + 1));
    for (int i = 0; i < t->eval.count; i++)
        cJSON_AddNumberToObject(row, t->eval.items[i].name, t->eval.items[i].value);
    cJSON_AddNumberToObject(row, "elapsed_s", now_s() - t->t0);
    lc_status s = lc_run_log(t->run, row);
    cJSON_Delete(row);
    return s;
}

// Metrics, evaluation and pictures: at each epoch end, and at the end of a run that
// stops mid-epoch (--iters).
static lc_status checkpoint_figures(trainer *t, bool *is_best) {
    LC_TRY(log_interval(t));
    if (!t->writer) { // evaluation and pictures are rank 0's
        *is_best = false;
        t->eval_step = t->step;
        return LC_OK;
    }
    LC_TRY(evaluate(t, is_best));
    t->eval_step = t->step;
    if (t->m->epoch_end)
        LC_TRY(t->m->epoch_end(t->m->self, t->dev, t->run ? lc_run_dir(t->run) : NULL, t->epoch,
                               t->opt));
    // Every family's curves, redrawn each epoch from the metrics just written.
    if (t->run) LC_TRY(lc_plot_metrics(lc_run_dir(t->run), NULL, NULL));
    return LC_OK;
}

// The end of an epoch: figures, the next epoch's order, the checkpoint.
static lc_status end_epoch(trainer *t) {
    bool is_best = false;
    LC_TRY(checkpoint_figures(t, &is_best));
    t->epoch++;
    lc_batcher_start_epoch(&t->batcher, (uint64_t)t->epoch, 0);
    return save(t, is_best);
}

static int report_progress(trainer *t, const char *phase) {
    if (!t->progress) return 0;
    lc_progress p = lc_progress_init(phase);
    p.step = t->step;
    p.total = t->total;
    p.epoch = t->epoch;
    p.loss = t->loss_mean;
    double el = now_s() - t->t0;
    p.elapsed = el;
    // Items per second over this whole call: steps are enqueued ahead of the device, so
    // a rate over the few steps since the last metrics line (which waits for the device)
    // jumps up and down with the queue's depth.
    p.rate = t->items_call > 0 && el > 0 ? (double)t->items_call / el : 0.0;
    return t->progress(t->user, &p);
}

static lc_status cancelled(trainer *t) {
    if (!t->run)
        return lc_fail(LC_ERR_CANCELLED, "cancelled after step %lld (no run folder: nothing saved)",
                       (long long)t->step);
    char path[4096];
    LC_TRY(path_in_run(t, LC_RUN_LAST, path, sizeof path));
    return lc_fail(LC_ERR_CANCELLED,
                   "cancelled after step %lld (epoch %lld); saved %s; continue with the same "
                   "command plus --resume --out %s",
                   (long long)t->step, (long long)t->epoch + 1, path, lc_run_dir(t->run));
}

// ---- data parallel ----------------------------------------------------------------------

// After every rank's step on its n of the batch's count items: its gradients and loss are
// means over its n items; weighted by n / count and summed over the ranks they are the
// means over the whole batch, as one process computes them (up to float reassociation).
// (A gathers_batch model's gradients are already shares of the whole batch's: summed
// as they are; its loss, the same on every rank, is rank 0's.) Every rank then holds
// the same sums and applies the same update.
static lc_status average_over_ranks(trainer *t, int64_t n, int64_t count) {
    size_t total = t->m->params->total, n_loss = (size_t)t->n_loss;
    float *grad = t->reduce, *loss = t->reduce + total;
    bool gathers = t->m->gathers_batch;
    if (n > 0 || gathers) {
        LC_TRY(lc_read(t->dev, grad, t->m->params->grad, 0, total * sizeof(float)));
        LC_TRY(lc_read(t->dev, loss, t->loss, 0, n_loss * sizeof(float)));
        float w = gathers ? 1.0f : (float)((double)n / (double)count);
        float w_loss = gathers ? (t->rank == 0 ? 1.0f : 0.0f) : w;
        if (w != 1.0f)
            for (size_t i = 0; i < total; i++)
                grad[i] *= w;
        for (size_t i = 0; i < n_loss; i++)
            loss[i] = w_loss == 0.0f ? 0.0f : loss[i] * w_loss; // no NaN * 0 from a stale slot
    } else { // a batch smaller than the number of ranks: this one adds nothing
        memset(grad, 0, (total + n_loss) * sizeof(float));
    }
    LC_TRY(lc_dist_allreduce_sum_f32(grad, total + n_loss));
    LC_TRY(lc_write(t->dev, t->m->params->grad, 0, grad, total * sizeof(float)));
    return lc_write(t->dev, t->loss, 0, loss, n_loss * sizeof(float));
}

// Every rank starts from rank 0's weights (the same seed makes the same weights on the
// same kind of device; this makes it so on a mixed set too).
static lc_status broadcast_weights(trainer *t) {
    size_t bytes = t->m->params->total * sizeof(float);
    LC_TRY(lc_read(t->dev, t->reduce, t->m->params->data, 0, bytes));
    LC_TRY(lc_dist_broadcast(t->reduce, bytes, 0));
    return lc_write(t->dev, t->m->params->data, 0, t->reduce, bytes);
}

// ---- the loop ---------------------------------------------------------------------------

// Minutes of training in this call: wall time less what went to pictures, evaluation and
// checkpoints (so that a curve of quality against training time means what it says).
static double training_minutes(const trainer *t) {
    return (now_s() - t->loop_t0 - t->aside_s) / 60.0;
}

// --snapshot-every: RUN/snapshot_0005min.safetensors once 5 minutes of training are done (a
// checkpoint like last.safetensors, so eval, sample and --resume read it). With several
// ranks the count is agreed (the largest), so that every rank saves at the same step.
static lc_status maybe_snapshot(trainer *t, bool *saved) {
    if (!(t->o->snapshot_every > 0)) return LC_OK;
    int due = (int)(training_minutes(t) / t->o->snapshot_every);
    if (t->nranks > 1) LC_TRY(lc_dist_allreduce_max_int(&due));
    if (due <= t->snapshots) return LC_OK;
    t->snapshots = due;
    char name[64];
    double at = (double)due * t->o->snapshot_every;
    if (fabs(at - round(at)) < 1e-9)
        snprintf(name, sizeof name, "snapshot_%04.0fmin.safetensors", at);
    else // fractions of a minute (short tests)
        snprintf(name, sizeof name, "snapshot_%07.2fmin.safetensors", at);
    *saved = true;
    return save_as(t, false, name);
}

static lc_status run_loop(trainer *t) {
    lc_train_model *m = t->m;
    t->loop_t0 = now_s();
    while (t->step < t->total) {
        const int64_t *idx;
        int64_t count;
        if (!lc_batcher_next(&t->batcher, &idx, &count)) { // an epoch resumed at its very end
            LC_TRY(end_epoch(t));
            continue;
        }
        for (int64_t i = 0; i < count; i++)
            t->batch_idx[i] = t->train_idx ? t->train_idx[idx[i]] : idx[i];
        // This rank's contiguous slice of the global batch (all of it with one rank). The
        // draws of a sample are keyed by (seed, step, its dataset index), never by the rank.
        int64_t first = 0, n = count;
        if (t->nranks > 1) lc_dist_shard(&first, &n, count, t->rank, t->nranks);
        lc_batch batch = {.index = t->batch_idx + first,
                          .count = n,
                          .step = t->step,
                          .epoch = t->epoch,
                          .seed = (uint64_t)t->o->seed,
                          .global_index = t->batch_idx,
                          .global_count = count,
                          .first = first};
        if (n > 0 || m->gathers_batch) LC_TRY(m->step(m->self, t->dev, t->loss, &batch));
        if (t->nranks > 1) LC_TRY(average_over_ranks(t, n, count));
        double lr = lc_lr_at(&t->sched, t->step);
        LC_TRY(lc_optim_step(t->opt, m->params, (float)lr, t->loss, t->n_loss, t->step));
        t->step++;
        t->items_since += count;
        t->items_call += count;
        bool saved = false;
        if (t->step % t->o->log_every == 0) LC_TRY(log_interval(t));
        double aside = now_s();
        if (t->batcher.next >= t->batcher.n) {
            LC_TRY(end_epoch(t));
            saved = true;
        } else if (t->o->save_every > 0 && t->step % t->o->save_every == 0) {
            LC_TRY(save(t, false));
            saved = true;
        }
        LC_TRY(maybe_snapshot(t, &saved));
        t->aside_s += now_s() - aside;
        // 2: cancelled (the caller's progress callback said so), 1: --minutes are done.
        int stop = report_progress(t, "train") ? 2 : 0;
        if (!stop && t->o->minutes > 0 && training_minutes(t) >= t->o->minutes) stop = 1;
        if (t->nranks > 1) LC_TRY(lc_dist_allreduce_max_int(&stop)); // one stops, all stop
        if (stop == 2) {
            LC_TRY(log_interval(t));
            if (!saved) LC_TRY(save(t, false));
            return cancelled(t);
        }
        if (stop) break; // --minutes: a normal end
    }
    bool is_best = false;
    if (t->eval_step != t->step) LC_TRY(checkpoint_figures(t, &is_best));
    if (t->saved_step != t->step) LC_TRY(save(t, is_best));
    return LC_OK;
}

static lc_status check_model(const lc_train_model *m) {
    if (!m || !m->family || !m->step || !m->config_json || !m->params)
        return lc_fail(LC_ERR_INVALID_ARG, "lc_train: the model lacks family, step, config_json "
                                           "or params");
    if (!m->params->data || !m->params->grad)
        return lc_fail(LC_ERR_INVALID_ARG, "lc_train: the %s model's parameters are not allocated",
                       m->family);
    if (m->n_terms < 0 || m->n_terms >= LC_LOSS_MAX)
        return lc_fail(LC_ERR_INVALID_ARG, "lc_train: %d loss terms (at most %d)", m->n_terms,
                       LC_LOSS_MAX - 1);
    for (int i = 0; i < m->n_terms; i++)
        if (!m->term_names[i])
            return lc_fail(LC_ERR_INVALID_ARG, "lc_train: loss term %d unnamed", i);
    if (m->n_train < 1)
        return lc_fail(LC_ERR_INVALID_ARG, "lc_train: the %s model has no training items",
                       m->family);
    return LC_OK;
}

static lc_status setup(trainer *t) {
    const lc_train_options *o = t->o;
    LC_TRY(t->m->config_json(t->m->self, &t->model_config));
    LC_TRY(lc_train_options_json(&t->options_json, o));
    LC_TRY(make_split(t));
    LC_TRY(lc_train_optim_config(&t->ocfg, o));
    // --init first: before the optimiser (the EMA starts from these weights) and before
    // --force clears the run folder (the file may be that run's last checkpoint).
    if (o->init) LC_TRY(load_init(t));
    // Every rank has read --init before rank 0 may clear the run folder (--force).
    if (t->nranks > 1) LC_TRY(lc_dist_barrier());
    if (o->out && t->writer) {
        lc_run_mode mode = o->resume ? LC_RUN_RESUME : o->force ? LC_RUN_FORCE : LC_RUN_NEW;
        LC_TRY(lc_run_open(&t->run, o->out, mode));
    }
    t->n_loss = 1 + t->m->n_terms;
    if (t->nranks > 1) {
        t->reduce = malloc((t->m->params->total + (size_t)t->n_loss) * sizeof(float));
        if (!t->reduce) return lc_fail(LC_ERR_NOMEM, "out of memory for the gradient allreduce");
        if (!o->resume) LC_TRY(broadcast_weights(t)); // before the EMA copies them
    }
    LC_TRY(lc_optim_new(&t->opt, t->dev, t->m->params, &t->ocfg));
    LC_TRY(lc_buffer_alloc(&t->loss, t->dev, (size_t)t->n_loss * sizeof(float)));
    LC_TRY(lc_fill_zero(t->dev, t->loss, 0, (size_t)t->n_loss * sizeof(float)));
    LC_TRY(lc_batcher_init(&t->batcher, t->n_tr, o->batch, (uint64_t)o->seed, true, false));
    int64_t in_batch = o->batch < t->n_tr ? o->batch : t->n_tr;
    t->batch_idx = malloc((size_t)in_batch * sizeof *t->batch_idx);
    if (!t->batch_idx) return lc_fail(LC_ERR_NOMEM, "out of memory");
    int64_t per_epoch = lc_batcher_batches_per_epoch(&t->batcher);
    t->total = o->iters > 0 ? o->iters : o->epochs * per_epoch;
    lc_lr_kind lk;
    LC_TRY(lc_lr_kind_parse(&lk, o->lr_schedule));
    t->sched = (lc_lr_schedule){lk, o->lr, o->warmup, t->total, 0.0};
    if (o->resume)
        LC_TRY(resume(t));
    else if (t->run)
        LC_TRY(write_config(t));
    return LC_OK;
}

lc_status lc_train(lc_train_result *res, lc_device *dev, lc_train_model *m,
                   const lc_train_options *o, lc_progress_fn progress, void *user) {
    if (res) {
        memset(res, 0, sizeof *res);
        res->loss = res->best = NAN;
    }
    LC_TRY(lc_train_options_check(o));
    LC_TRY(check_model(m));
    trainer t = {0};
    t.dev = dev;
    t.m = m;
    t.o = o;
    t.progress = progress;
    t.user = user;
    t.saved_step = -1;
    t.eval_step = -1;
    t.best = NAN;
    t.loss_mean = NAN;
    t.t0 = t.t_last = now_s();
    t.rank = lc_dist_rank();
    t.nranks = lc_dist_size();
    t.writer = t.rank == 0;
    lc_status s = setup(&t);
    if (s == LC_OK) s = run_loop(&t);
    if (res) {
        res->steps = t.step;
        res->epochs = t.epoch;
        res->skipped = t.skipped;
        res->loss = t.loss_mean;
        res->eval = t.eval;
        res->best = t.best;
        res->seconds = now_s() - t.t0;
        if (s == LC_ERR_NONFINITE && t.opt) {
            lc_optim_report r;
            if (lc_optim_read(t.opt, &r, false) == LC_OK && r.bad_step >= 0)
                res->bad_step = r.bad_step + 1;
        }
    }
    lc_batcher_free(&t.batcher);
    free(t.batch_idx);
    free(t.reduce);
    free(t.train_idx);
    free(t.val_idx);
    free(t.model_config);
    free(t.options_json);
    lc_buffer_free(t.loss);
    lc_optim_free(t.opt);
    lc_run_close(t.run);
    return s;
}
