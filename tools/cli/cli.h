// latentcl CLI — shared declarations: the verb table, option parsing, output helpers.
// Only the CLI prints; the library reports through lc_status and callbacks.
#ifndef LATENTCL_CLI_H
#define LATENTCL_CLI_H

#include <stdbool.h>
#include <stdint.h>

#include "latentcl/status.h"

// ---- option parsing -----------------------------------------------------------
typedef enum { OPT_FLAG, OPT_INT, OPT_FLOAT, OPT_STRING } cli_opt_type;

typedef struct {
    const char *name; // "--epochs"
    cli_opt_type type;
    void *value;      // bool*, long*, double*, const char**
    const char *help; // one line; "(default: ...)" is appended from the current value
    const char *metavar;
} cli_opt;

// Parses argv[first..argc) against opts (terminated by {NULL}). Positional
// arguments are collected into positional[] (up to max_positional; more is an
// error). "--help"/"-h" prints usage and returns 1 with *exit_code 0. A bad
// option prints "latentcl VERB: ..." plus usage hint on stderr and returns 1
// with *exit_code 2. Returns 0 when the verb should run.
int cli_parse(const char *verb, const char *usage, const char *description, int argc, char **argv,
              int first, const cli_opt *opts, const char **positional, int max_positional,
              int *n_positional, int *exit_code);

// cli_parse for verbs that take exactly one positional argument (a RUN, a FILE):
// anything else is a usage error "expected one <what>", exit code 2.
int cli_parse_one(const char *verb, const char *usage, const char *description, int argc,
                  char **argv, const cli_opt *opts, const char *what, const char **arg,
                  int *exit_code);

// The process-wide options every verb accepts (--device, --threads, --json).
typedef struct {
    const char *device; // NULL: $LATENTCL_DEVICE, else default
    long threads;       // 0: automatic
    bool json;
} cli_common;
extern cli_common g_cli;
// Append these to a verb's table with CLI_COMMON_OPTS.
#define CLI_COMMON_OPTS                                                                            \
    {"--device", OPT_STRING, &g_cli.device, "OpenCL device: gpu, cpu, an index or a name part",    \
     "D"},                                                                                         \
        {"--threads", OPT_INT, &g_cli.threads, "CPU threads for host BLAS / PoCL (0: auto)", "N"}, \
    {                                                                                              \
        "--json", OPT_FLAG, &g_cli.json, "print one JSON object per line", NULL                    \
    }

// Prints "latentcl: <message>" for a failed status to stderr; returns 1 (the exit code).
int cli_report(lc_status s);
// Prints "latentcl: <formatted>" to stderr and returns 1.
int cli_error(const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 1, 2)))
#endif
    ;

// Opens the device named by --device/$LATENTCL_DEVICE (prints the cache
// warning once); returns 0, or 1 after printing the error.
struct lc_device;
int cli_open_device(struct lc_device **dev);
// Prints the LATENTCL_PROFILE table (when on) and closes the device.
void cli_close_device(struct lc_device *dev);

// ---- verbs ------------------------------------------------------------------------
typedef struct {
    const char *name;
    const char *summary;
    int (*run)(int argc, char **argv); // argv[0] is the verb
} cli_verb;

int cmd_devices(int argc, char **argv);
int cmd_selftest(int argc, char **argv);
int cmd_bench(int argc, char **argv);
int cmd_inspect(int argc, char **argv);
int cmd_plot(int argc, char **argv);
int cmd_data(int argc, char **argv);
int cmd_train(int argc, char **argv);
int cmd_score(int argc, char **argv);
int cmd_decode(int argc, char **argv);
int cmd_sample(int argc, char **argv);
int cmd_reconstruct(int argc, char **argv), cmd_interpolate(int argc, char **argv),
    cmd_encode(int argc, char **argv), cmd_train_ae(int argc, char **argv),
    cmd_train_vae(int argc, char **argv), cmd_sample_vae(int argc, char **argv),
    cmd_eval_vae(int argc, char **argv);  // AE/VAE (cmd_vae*.c)
int cmd_bench_hmm(int argc, char **argv); // bench hmm
int cmd_eval(int argc, char **argv);      // dispatches on the run's family
int cmd_predict(int argc, char **argv);
int cmd_export(int argc, char **argv);
int cmd_train_classifier(int argc, char **argv); // train classifier
int cmd_eval_classifier(int argc, char **argv);  // eval RUN of a classifier
// train classifier --data shapes: the multi-head shapes judge (cmd_shapes_judge.c)
bool cli_wants_shapes_judge(int argc, char **argv);
int cmd_train_shapes_judge(int argc, char **argv), cmd_eval_shapes_judge(int argc, char **argv);
int cmd_train_diffusion(int argc, char **argv), cmd_sample_diffusion(int argc, char **argv),
    cmd_eval_diffusion(int argc, char **argv); // diffusion (cmd_diffusion*.c)
int cmd_train_mmvae(int argc, char **argv), cmd_caption(int argc, char **argv),
    cmd_generate(int argc, char **argv), cmd_eval_mmvae(int argc, char **argv); // cmd_mmvae*.c
int cmd_train_clip(int argc, char **argv), cmd_eval_clip(int argc, char **argv),
    cmd_zeroshot(int argc, char **argv), cmd_retrieve(int argc, char **argv),
    cmd_embed(int argc, char **argv); // CLIP (cmd_clip.c), retrieve/embed (cmd_retrieve.c)

// ---- progress (progress.c): a bar on a terminal, plain lines in logs, Ctrl-C --------
#include "latentcl/progress.h"
typedef struct {
    const char *label; // shown when a report has no phase
    bool tty;          // stderr is a terminal: redraw one line with \r
    bool drawn, told_stop, printed_last;
    double last_draw, last_frac; // elapsed and fraction at the last output
} cli_progress;
void cli_progress_begin(cli_progress *pr, const char *label);
int cli_progress_report(void *user, const lc_progress *p); // an lc_progress_fn; user = pr
void cli_progress_clear(cli_progress *pr); // erase the bar before printing something else
void cli_progress_end(cli_progress *pr);   // finish the bar's line
void cli_sigint_install(void);             // first Ctrl-C: cli_interrupted(); second: quit
bool cli_interrupted(void);
#include "train_opts.h" // the shared options of training verbs (train_opts.c)

#endif
