// The smallest latentcl program: open the default device, draw eight normal
// numbers with Philox on it, and print them.
//   cc hello_device.c $(pkg-config --cflags --libs latentcl) -o hello_device
#include <stdio.h>

#include <latentcl/latentcl.h>

int main(void) {
    lc_device *dev = NULL;
    lc_status s = lc_device_open(&dev, NULL); // $LATENTCL_DEVICE, else first GPU, else CPU
    if (s != LC_OK) {
        fprintf(stderr, "hello_device: %s\n", lc_last_error());
        return 1;
    }
    cl_mem buf = NULL;
    float values[8];
    const uint32_t counter[4] = {0, 0, 0, 0};
    s = lc_buffer_alloc(&buf, dev, sizeof values);
    if (s == LC_OK) s = lc_rng_fill(dev, buf, 8, 1, 42, counter);
    if (s == LC_OK) s = lc_read(dev, values, buf, 0, sizeof values);
    if (s == LC_OK) {
        printf("%s:", lc_device_get_info(dev)->name);
        for (int i = 0; i < 8; i++)
            printf(" %.4f", values[i]);
        printf("\n");
    } else {
        fprintf(stderr, "hello_device: %s\n", lc_last_error());
    }
    lc_buffer_free(buf);
    lc_device_close(dev);
    return s == LC_OK ? 0 : 1;
}
