// The --data options every verb that reads a dataset shares, and opening SRC with them.
//   const cli_opt opts[] = {..., CLI_DATA_OPTS, CLI_COMMON_OPTS, {NULL}};
//   lc_data data;
//   int rc = cli_open_data(&data, g_cli_data.data);  // 0, or the exit code after an error
#ifndef LATENTCL_CLI_DATA_H
#define LATENTCL_CLI_DATA_H

#include <stdbool.h>

#include "cli.h"
#include "latentcl/data.h"

typedef struct {
    const char *data;  // --data NAME|PATH (verbs that take SRC positionally ignore it)
    const char *split; // "train" or "test"
    long seed;         // shapes generator seed
    long count;        // shapes items (0: default)
    bool tokens, lowercase;
    const char *alphabet;
} cli_data_options;
extern cli_data_options g_cli_data;

#define CLI_DATA_SOURCE_HELP                                                                       \
    "SRC: fashion-mnist | mnist | shapes | words | DIR (IDX files, or PNGs with captions.tsv) | "  \
    "FILE.csv | FILE.txt"

// The options that shape how a dataset is opened (without --data itself).
#define CLI_DATA_SOURCE_OPTS                                                                       \
    {"--split", OPT_STRING, &g_cli_data.split, "train or test", "S"},                              \
        {"--data-seed", OPT_INT, &g_cli_data.seed, "seed of the shapes generator", "N"},           \
        {"--count", OPT_INT, &g_cli_data.count,                                                    \
         "shapes: number of items (0: 60000 train, 10000 test)", "N"},                             \
        {"--tokens", OPT_FLAG, &g_cli_data.tokens,                                                 \
         ".txt: whitespace-separated tokens, not characters", NULL},                               \
        {"--lowercase", OPT_FLAG, &g_cli_data.lowercase, ".txt: fold case", NULL}, {               \
        "--alphabet", OPT_STRING, &g_cli_data.alphabet,                                            \
            ".txt: keep only lines made of these symbols (a-z; tokens: a,b,c)", "A"                \
    }
// --data plus the above, for training verbs.
#define CLI_DATA_OPTS                                                                              \
    {"--data", OPT_STRING, &g_cli_data.data, "dataset: " CLI_DATA_SOURCE_HELP, "SRC"},             \
        CLI_DATA_SOURCE_OPTS

// Opens spec with the options above. Returns 0, or prints one error line and returns the
// exit code (1 failure, 2 usage).
int cli_open_data(lc_data *out, const char *spec);

#endif
