// Helpers shared by the HMM verbs (train hmm, score, decode, sample, bench hmm).
#ifndef LATENTCL_CLI_CMD_HMM_H
#define LATENTCL_CLI_CMD_HMM_H

#include <stdbool.h>

#include "latentcl/data.h"
#include "latentcl/hmm.h"

// The text options of --tokens / --lowercase / --alphabet.
typedef struct {
    bool tokens, lowercase;
    const char *alphabet;
} hmm_text_flags;
// Their rows in a verb's option table, read into the hmm_text_flags tf.
#define HMM_TEXT_OPTS(tf)                                                                          \
    {"--tokens", OPT_FLAG, &(tf).tokens, "symbols are whitespace-separated tokens", NULL},         \
        {"--lowercase", OPT_FLAG, &(tf).lowercase, "fold case", NULL}, {                           \
        "--alphabet", OPT_STRING, &(tf).alphabet, "keep only lines made of these symbols (a-z)",   \
            "SET"                                                                                  \
    }

// Opens --data as sequences (text or CSV). Returns 0, or 1 after printing the error.
int hmm_cli_open_data(lc_data *out, const char *spec, const hmm_text_flags *f);

// RUN folder -> RUN/last.safetensors; a file path is used as is. out holds cap bytes.
void hmm_cli_checkpoint_path(char *out, size_t cap, const char *run);

// Loads the model of RUN (0, or 1 after printing the error).
int hmm_cli_load(lc_hmm *h, lc_hmm_meta *meta, const char *run);

// Maps the data's symbol indices onto the model's alphabet (in place). A symbol the
// model does not know is an error naming the line. Returns LC_OK or the error.
lc_status hmm_map_to_model(lc_sequences *x, const lc_hmm *h, const lc_alphabet *model);

// Heat map PNG of a (rows, cols) table with row and column labels.
lc_status hmm_heatmap_write(const char *path, const double *v, int rows, int cols,
                            const char *const *row_labels, const char *const *col_labels,
                            const char *title);

int cmd_train_hmm(int argc, char **argv);
int cmd_sample_hmm(int argc, char **argv);
int cmd_bench_hmm(int argc, char **argv);
#endif
