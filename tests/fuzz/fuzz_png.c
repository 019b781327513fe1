// libFuzzer target: the PNG reader (lc_png_read, libpng underneath).
#include <stdlib.h>

#include "fuzz_util.h"
#include "latentcl/image.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const char *path = fuzz_write("in.png", data, size);
    lc_image img;
    if (lc_png_read(&img, path) != LC_OK) {
        if (img.pixels) abort(); // a failure returns nothing
        return 0;
    }
    if (img.width <= 0 || img.height <= 0 || (img.channels != 1 && img.channels != 3)) abort();
    // Touch every byte so that a short allocation shows up under ASan.
    size_t n = (size_t)img.width * img.height * img.channels;
    unsigned sum = 0;
    for (size_t i = 0; i < n; i++)
        sum += img.pixels[i];
    (void)sum;
    lc_image_free(&img);
    return 0;
}
