// libFuzzer target: the IDX readers (images 0x803 and labels 0x801, plain or gzip).
#include <stdlib.h>

#include "fuzz_util.h"
#include "latentcl/data.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const char *path = fuzz_write("in-idx-ubyte", data, size);
    lc_dataset d;
    if (lc_idx_read_images(&d, path) == LC_OK) {
        size_t n = (size_t)d.n * lc_dataset_image_size(&d);
        float sum = 0;
        for (size_t i = 0; i < n; i++)
            sum += d.images[i];
        if (!(sum >= 0)) abort(); // pixels are in [0, 1]
        lc_dataset_free(&d);
    }
    int32_t *labels = NULL;
    int64_t n = 0;
    if (lc_idx_read_labels(&labels, &n, path) == LC_OK) {
        for (int64_t i = 0; i < n; i++)
            if (labels[i] < 0 || labels[i] > 255) abort();
        free(labels);
    } else if (labels) {
        abort();
    }
    return 0;
}
