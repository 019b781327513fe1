// libFuzzer target: command-line parsing (tools/cli/args.c cli_parse with an option of
// every type, and train_opts.c cli_train_parse with its --config files). Parsing only:
// nothing here opens an OpenCL device. The input is argv, NUL-separated; the first byte
// picks the parser. Arguments holding '/' are refused so that --config can only name
// files in the scratch folder (not /dev/zero or /dev/stdin).
#include <stdbool.h>
#include <stdlib.h>

#include "../../tools/cli/cli.h" // tools/cli: relative, so tests/test_fuzz_corpus.c needs no include path
#include "fuzz_util.h"

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    const char *cfg = "{\"epochs\": 2, \"lr\": 0.01, \"optimizer\": \"sgd\", \"out\": null}";
    fuzz_write("cfg.json", (const uint8_t *)cfg, strlen(cfg));
    if (chdir(fuzz_dir())) abort();
    return 0;
}

enum { MAX_ARGS = 64 };

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1 || memchr(data, '/', size)) return 0;
    bool train = data[0] & 1;
    char *buf = fuzz_string(data + 1, size - 1);
    char *argv[MAX_ARGS + 1];
    int argc = 0;
    argv[argc++] = "verb";
    for (char *p = buf; p < buf + (size - 1) && argc < MAX_ARGS; p += strlen(p) + 1)
        argv[argc++] = p;
    argv[argc] = NULL;

    const char *positional[4] = {NULL};
    int n_pos = -1, code = -1;
    g_cli = (cli_common){0};
    if (!train) {
        bool flag = false;
        long count = 7;
        double rate = 0.5;
        const char *name = "x";
        cli_opt opts[] = {
            {"--flag", OPT_FLAG, &flag, "a flag", NULL},
            {"--count", OPT_INT, &count, "an integer", "N"},
            {"--rate", OPT_FLOAT, &rate, "a number", "X"},
            {"--name", OPT_STRING, &name, "a string", "S"},
            CLI_COMMON_OPTS,
            {NULL},
        };
        int r = cli_parse("verb", "[options] A B", "Fuzzing.", argc, argv, 1, opts, positional, 4,
                          &n_pos, &code);
        if (r == 0 && (code != 0 || n_pos < 0 || n_pos > 4)) abort();
        if (r != 0 && code != 0 && code != 2) abort();
        if (!(rate == rate)) abort(); // finite numbers only
    } else {
        lc_train_options o;
        lc_train_options_default(&o);
        long width = 4;
        cli_opt extra[] = {{"--width", OPT_INT, &width, "a family option", "N"}, {NULL}};
        lc_cfg_strings keep = {0};
        int r = cli_train_parse("train fuzz", "[options]", "Fuzzing.", argc, argv, &o, extra, &keep,
                                positional, 4, &n_pos, &code);
        if (r != 0 && code != 0 && code != 2) abort();
        lc_cfg_strings_free(&keep);
    }
    free(buf);
    return 0;
}
