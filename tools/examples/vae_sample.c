// Loads a trained VAE (or AE) through the public API and writes a grid of samples
// decoded from prior draws:
//     latentcl train vae --epochs 3 --out run-vae
//     vae_sample run-vae 64 samples.png [seed]
// Build against an installed latentcl: cc vae_sample.c $(pkg-config --cflags --libs latentcl)
#include <stdio.h>
#include <stdlib.h>

#include "latentcl/device.h"
#include "latentcl/status.h"
#include "latentcl/vae.h"

static int fail(lc_status s) {
    fprintf(stderr, "vae_sample: %s: %s\n", lc_status_name(s), lc_last_error());
    return 1;
}

int main(int argc, char **argv) {
    if (argc < 4) {
        fprintf(stderr, "usage: vae_sample RUN|CHECKPOINT N OUT.png [SEED]\n");
        return 2;
    }
    const char *run = argv[1], *out = argv[3];
    int n = atoi(argv[2]);
    unsigned long long seed = argc > 4 ? strtoull(argv[4], NULL, 10) : 0;
    if (n < 1 || n > 4096) {
        fprintf(stderr, "vae_sample: N must be 1..4096\n");
        return 2;
    }

    // The default device: the first GPU, else the CPU (PoCL); $LATENTCL_DEVICE overrides.
    lc_device *dev = NULL;
    lc_status s = lc_device_open(&dev, NULL);
    if (s != LC_OK) return fail(s);

    // The model: its config and weights come from the checkpoint's metadata and tensors.
    lc_vae *vae = NULL;
    s = lc_vae_load(&vae, dev, run, false);
    if (s != LC_OK) {
        lc_device_close(dev);
        return fail(s);
    }
    const lc_vae_config *cfg = lc_vae_get_config(vae);
    printf("%s: %s, %d x %d x %d images, latent %d, trained %lld steps\n", run,
           lc_vae_family(cfg->kind), cfg->channels, cfg->height, cfg->width, cfg->latent,
           (long long)lc_vae_step(vae));

    // n draws z ~ N(0, I), decoded to the means of p(x|z): (n, C, H, W) floats in [0, 1].
    float *images = malloc((size_t)n * (size_t)lc_vae_image_size(vae) * sizeof *images);
    s = images ? lc_vae_sample(vae, images, n, seed) : LC_ERR_NOMEM;
    if (s == LC_OK) s = lc_vae_write_grid(out, vae, images, n, 0);
    if (s == LC_OK) printf("wrote %d samples to %s\n", n, out);

    free(images);
    lc_vae_free(vae);
    lc_device_close(dev);
    return s == LC_OK ? 0 : fail(s);
}
