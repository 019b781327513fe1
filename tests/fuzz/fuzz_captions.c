// libFuzzer target: a PNG folder's captions.tsv (lc_image_folder_load). The input is the
// TSV; the folder also holds two tiny valid PNGs (a.png gray 2x2, b.png RGB 2x2) that the
// TSV may name, so accepted inputs reach image loading, gray-to-RGB widening and labels.
#include <stdlib.h>

#include "fuzz_util.h"
#include "latentcl/data.h"
#include "latentcl/image.h"

static void write_png(const char *name, int channels) {
    uint8_t px[2 * 2 * 3] = {0, 64, 128, 255, 1, 2, 3, 4, 5, 6, 7, 8};
    lc_image img = {2, 2, channels, px};
    char path[320];
    snprintf(path, sizeof path, "%s/%s", fuzz_dir(), name);
    if (lc_png_write(path, &img) != LC_OK) abort();
    strcpy(fuzz_written[fuzz_n_written++], path);
}

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    write_png("a.png", 1);
    write_png("b.png", 3);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    fuzz_write("captions.tsv", data, size);
    lc_dataset d;
    if (lc_image_folder_load(&d, fuzz_dir()) != LC_OK) return 0;
    if (d.n <= 0 || d.height != 2 || d.width != 2) abort();
    for (int64_t i = 0; i < d.n; i++) {
        if (d.captions && !d.captions[i]) abort();
        if (d.labels && (d.labels[i] < 0 || d.labels[i] >= d.n_classes)) abort();
    }
    (void)lc_dataset_checksum(&d);
    lc_dataset_free(&d);
    return 0;
}
