// latentcl — the command-line program. One file per verb; this file only
// dispatches. Exit codes: 0 success, 1 failure, 2 usage error.
#include <stdio.h>
#include <string.h>

#include "cli.h"

static const cli_verb verbs[] = {
    {"devices", "list OpenCL devices", cmd_devices},
    {"selftest", "compile every kernel and check it against the host reference", cmd_selftest},
    {"bench", "measure speed (gemm, ...)", cmd_bench},
    {"inspect", "list a checkpoint's metadata and tensors (name, dtype, shape, min/max/mean)",
     cmd_inspect},
    {"plot", "draw a run's metrics.jsonl curves as a PNG", cmd_plot},
    {"data", "dataset info, picture grids, and the shapes set on disk", cmd_data},
    {"train",
     "train a model: train classifier|ae|vae|diffusion|hmm|mmvae|clip --data ... --out RUN",
     cmd_train},
    {"score", "log-likelihood of data under a trained model, with AIC/BIC", cmd_score},
    {"decode", "hidden state paths of sequences (Viterbi or posterior)", cmd_decode},
    {"sample", "draw samples from a trained model", cmd_sample},
    {"reconstruct", "AE/VAE: test images above their reconstructions (PNG)", cmd_reconstruct},
    {"interpolate", "AE/VAE: decode the line between two images' codes (PNG)", cmd_interpolate},
    {"encode", "AE/VAE: the code of every image with its label (TSV)", cmd_encode},
    {"eval", "evaluate a trained model on its test data (classifier: accuracy, confusion)",
     cmd_eval},
    {"predict", "classify PNG images with a trained classifier", cmd_predict},
    {"caption", "mmvae: caption images (PNG or a data set, as a captioned grid)", cmd_caption},
    {"generate", "mmvae: images from a caption (text to image)", cmd_generate},
    {"zeroshot", "clip: zero-shot classification by prompts, with a confusion-matrix PNG",
     cmd_zeroshot},
    {"retrieve", "clip/mmvae: images for a caption (PNG grid) or captions for an image",
     cmd_retrieve},
    {"embed", "clip/mmvae: image and caption embeddings of a data set (TSV)", cmd_embed},
    {"export", "write a run's weights alone under their PyTorch names (safetensors)", cmd_export},
    {NULL, NULL, NULL},
};

static void print_usage(FILE *f) {
    fprintf(f, "usage: latentcl [--version] [--help] VERB [options]\n\n"
               "Train, sample and evaluate latent-variable models on any OpenCL device.\n\n"
               "verbs:\n");
    for (const cli_verb *v = verbs; v->name; v++)
        fprintf(f, "  %-12s %s\n", v->name, v->summary);
    fprintf(f, "\n'latentcl VERB --help' describes a verb's options.\n");
}

int main(int argc, char **argv) {
    if (argc < 2) {
        print_usage(stderr);
        return 2;
    }
    const char *verb = argv[1];
    if (!strcmp(verb, "--help") || !strcmp(verb, "-h") || !strcmp(verb, "help")) {
        print_usage(stdout);
        return 0;
    }
    if (!strcmp(verb, "--version")) {
        printf("latentcl %s\n", LATENTCL_VERSION_STRING);
        return 0;
    }
    for (const cli_verb *v = verbs; v->name; v++)
        if (!strcmp(v->name, verb)) return v->run(argc - 1, argv + 1);
    fprintf(stderr, "latentcl: unknown verb '%s'\n\n", verb);
    print_usage(stderr);
    return 2;
}
