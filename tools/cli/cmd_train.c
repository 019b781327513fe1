// latentcl train FAMILY ... — one verb for every model family; this file only
// dispatches on the family name. Add a family with one line in the table.
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "cli_dist.h"
#include "cmd_hmm.h"

typedef struct {
    const char *family;
    const char *summary;
    int (*run)(int argc, char **argv); // argv[0] is the family
} train_family;

static const train_family families[] = {
    {"hmm", "hidden Markov model: Baum-Welch on the device, or counting", cmd_train_hmm},
    {"classifier", "image classifier (mlp or conv) on Fashion-MNIST or a folder",
     cmd_train_classifier},
    {"ae", "autoencoder (mlp or conv; --noise: denoising)", cmd_train_ae},
    {"vae", "variational autoencoder: -ELBO, Bernoulli or Gaussian decoder", cmd_train_vae},
    {"diffusion", "denoising diffusion (DDPM/DDIM): U-Net on images, MLP on 2-D points",
     cmd_train_diffusion},
    {"mmvae", "multimodal VAE: images + captions, product-of-experts posterior", cmd_train_mmvae},
    {"clip", "CLIP-style aligned image/caption embeddings (symmetric InfoNCE)", cmd_train_clip},
    {NULL, NULL, NULL},
};

static void usage(FILE *f) {
    fprintf(f, "usage: latentcl train FAMILY [options]\n\nfamilies:\n");
    for (const train_family *t = families; t->family; t++)
        fprintf(f, "  %-12s %s\n", t->family, t->summary);
    fprintf(f, "\n'latentcl train FAMILY --help' describes its options.\n");
}

int cmd_train(int argc, char **argv) {
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
        usage(stdout);
        return 0;
    }
    for (const train_family *t = families; t->family; t++)
        if (!strcmp(t->family, argv[1])) return cli_dist_run(t->run, argc - 1, argv + 1);
    fprintf(stderr, "latentcl train: unknown family '%s'\n\n", argv[1]);
    usage(stderr);
    return 2;
}
