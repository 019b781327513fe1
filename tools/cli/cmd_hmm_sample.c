// latentcl sample RUN (HMM) — sequences drawn from the model, printed in the input's
// format: text lines of symbols (tokens separated by spaces), or CSV with a seq column.
#include <stdio.h>
#include <stdlib.h>

#include "cli.h"
#include "cmd_hmm.h"

int cmd_sample_hmm(int argc, char **argv) {
    const char *run = NULL;
    long n = 10, length = 20, seed = 0;
    bool states = false;
    const cli_opt opts[] = {{"--n", OPT_INT, &n, "sequences to draw", "N"},
                            {"--length", OPT_INT, &length, "steps per sequence", "T"},
                            {"--seed", OPT_INT, &seed, "random seed", "S"},
                            {"--states", OPT_FLAG, &states,
                             "also print the hidden states (a second line / column)", NULL},
                            CLI_COMMON_OPTS,
                            {NULL}};
    int code, npos = 0;
    if (cli_parse("sample", "RUN [--n N] [--length T] [--seed S] [--states]",
                  "Draw sequences from the HMM of RUN and print them as the training data was\n"
                  "written: one line of symbols per sequence, or CSV rows with a seq column.",
                  argc, argv, 1, opts, &run, 1, &npos, &code))
        return code;
    if (!run) return cli_error("sample: RUN is required"), 2;
    if (n < 1 || length < 1) return cli_error("sample: --n and --length must be >= 1");
    if ((double)n * (double)length > 1e8)
        return cli_error("sample: --n x --length is above 10^8 steps");
    lc_hmm h;
    lc_hmm_meta meta;
    if (hmm_cli_load(&h, &meta, run)) return 1;
    size_t steps = (size_t)n * (size_t)length;
    int32_t *z = malloc(steps * sizeof(int32_t)), *sym = NULL;
    float *val = NULL;
    if (h.emission == LC_HMM_CATEGORICAL)
        sym = malloc(steps * sizeof(int32_t));
    else
        val = malloc(steps * (size_t)h.d * sizeof(float));
    int rc = 0;
    if (!z || (!sym && !val)) rc = cli_error("sample: out of memory");
    lc_status s = rc ? LC_OK : lc_hmm_sample(z, sym, val, &h, n, length, (uint64_t)seed);
    if (s != LC_OK) rc = cli_report(s);
    bool named = meta.alphabet.size == h.m && h.m > 0;
    if (!rc && val) {
        printf("seq");
        for (int d = 0; d < h.d; d++) {
            if (meta.column_names)
                printf(",%s", meta.column_names[d]);
            else
                printf(",x%d", d);
        }
        printf(states ? ",state\n" : "\n");
    }
    for (long b = 0; !rc && b < n; b++) {
        for (long t = 0; t < length; t++) {
            size_t i = (size_t)b * (size_t)length + (size_t)t;
            if (val) {
                printf("%ld", b);
                for (int d = 0; d < h.d; d++)
                    printf(",%.7g", val[i * (size_t)h.d + (size_t)d]);
                if (states) printf(",%d", z[i]);
                printf("\n");
            } else if (named) {
                printf("%s%s", t && (meta.tokens) ? " " : "", meta.alphabet.symbols[sym[i]]);
            } else {
                printf("%s%d", t ? " " : "", sym[i]);
            }
        }
        if (sym) {
            printf("\n");
            if (states) {
                for (long t = 0; t < length; t++)
                    printf("%s%d", t ? " " : "", z[(size_t)b * (size_t)length + (size_t)t]);
                printf("\n");
            }
        }
    }
    free(z), free(sym), free(val);
    lc_hmm_meta_free(&meta);
    lc_hmm_free(&h);
    return rc;
}
