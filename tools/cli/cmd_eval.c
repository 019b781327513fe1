// latentcl eval RUN [...] — evaluates a trained model. This file only reads the family
// from the checkpoint's metadata and hands the command line to that family's eval; add a
// family with one line in the table.
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "cli_run.h"

typedef struct {
    const char *family;
    int (*run)(int argc, char **argv); // the whole command line, argv[0] = "eval"
} eval_family;

static const eval_family families[] = {
    {"classifier", cmd_eval_classifier},
    {"vae", cmd_eval_vae},
    {"ae", cmd_eval_vae},
    {"diffusion", cmd_eval_diffusion},
    {"shapes-judge", cmd_eval_shapes_judge},
    {"mmvae", cmd_eval_mmvae},
    {"clip", cmd_eval_clip},
    {NULL, NULL},
};

static void usage(FILE *f) {
    fprintf(f,
            "usage: latentcl eval RUN [--checkpoint best|last] [--weights ema|raw] [--json] "
            "[family options]\n\n"
            "Evaluates the model of RUN (a run folder or a .safetensors file) on its test data.\n"
            "families:");
    for (const eval_family *e = families; e->family; e++)
        fprintf(f, " %s", e->family);
    fprintf(f, "\n\n'latentcl eval RUN --help' describes the options for RUN's family.\n");
}

int cmd_eval(int argc, char **argv) {
    if (argc < 2 || argv[1][0] == '-') {
        bool help = argc >= 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"));
        usage(help ? stdout : stderr);
        return help ? 0 : 2;
    }
    const char *which = NULL;
    for (int i = 2; i + 1 < argc; i++)
        if (!strcmp(argv[i], "--checkpoint")) which = argv[i + 1];
    lc_st_file *f = NULL;
    int rc = cli_run_open(&f, argv[1], which);
    if (rc) return rc;
    const char *family = lc_st_meta_get(f, LC_META_FAMILY);
    for (const eval_family *e = families; family && e->family; e++)
        if (!strcmp(e->family, family)) {
            lc_st_close(f);
            return e->run(argc, argv);
        }
    rc = cli_error("%s: no evaluation for a model of family '%s'", lc_st_path(f),
                   family ? family : "(none recorded)");
    lc_st_close(f);
    return rc;
}
