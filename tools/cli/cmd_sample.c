// latentcl sample RUN ... — draws from a trained model; dispatches on the family
// stored in the checkpoint's metadata. Add a family with one line in the table.
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "cmd_hmm.h"
#include "latentcl/checkpoint.h"

typedef struct {
    const char *family;
    int (*run)(int argc, char **argv); // argv[0] is "sample", argv[1] the run
} sample_family;

static const sample_family families[] = {
    {"hmm", cmd_sample_hmm},
    {"vae", cmd_sample_vae},
    {"ae", cmd_sample_vae},
    {"diffusion", cmd_sample_diffusion},
    {NULL, NULL},
};

static void usage(FILE *f) {
    fprintf(f, "usage: latentcl sample RUN [options]\n\n"
               "Draw samples from the model of RUN (a run folder or a checkpoint); the options\n"
               "depend on its family:\n");
    for (const sample_family *t = families; t->family; t++)
        fprintf(f, "  %s\n", t->family);
    fprintf(f, "\n'latentcl sample RUN --help' describes them.\n");
}

int cmd_sample(int argc, char **argv) {
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
        usage(stdout);
        return 0;
    }
    char path[4096];
    hmm_cli_checkpoint_path(path, sizeof path, argv[1]);
    lc_st_file *f;
    lc_status s = lc_st_open(&f, path);
    if (s != LC_OK) return cli_report(s);
    const char *family = lc_st_meta_get(f, LC_META_FAMILY);
    char name[64];
    // a checkpoint written by hand with numpy has no family: hmmlearn's names tell
    snprintf(name, sizeof name, "%s", family ? family : lc_st_find(f, "transmat") ? "hmm" : "");
    lc_st_close(f);
    for (const sample_family *t = families; t->family; t++)
        if (!strcmp(t->family, name)) return t->run(argc, argv);
    return cli_error("sample: %s: %s", path,
                     *name ? "this family has no sampler yet" : "no 'family' in the metadata");
}
