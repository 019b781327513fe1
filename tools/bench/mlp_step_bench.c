// Micro benchmark (not a test): forward + backward of the MLP 784-512-256-10
// at batch 128 on the tensor floor, without the optimiser. Build against a
// Release build of the library:
//   cc -O2 -I include tools/bench/mlp_step_bench.c BUILD/liblatentcl.a \
//      -lOpenCL -lclblast -lopenblas -lpng -lz -lm -o /tmp/mlp_step_bench
//   /tmp/mlp_step_bench [steps]     (LATENTCL_GEMM=host|clblast picks the GEMM)
// Prints ms per step (the queue is drained once per 50 steps, as a training
// loop that reads the loss every N steps would). LATENTCL_PROFILE=1 adds a
// line per kernel.
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "latentcl/gemm.h"
#include "latentcl/rng.h"
#include "latentcl/tensor.h"

#include "step_bench.h"

enum { B = 128 };
static const int64_t sizes[4] = {784, 512, 256, 10};

int main(int argc, char **argv) {
    int steps = argc > 1 ? atoi(argv[1]) : 500;
    lc_device *dev;
    lc_ctx *ctx;
    CHECK(lc_device_open(&dev, NULL));
    CHECK(lc_ctx_create(&ctx, dev));
    lc_params p = {0};
    size_t off[6];
    for (int l = 0; l < 3; l++) {
        char name[32];
        snprintf(name, sizeof name, "layers.%d.weight", 2 * l);
        CHECK(lc_params_add(&p, name, 2, (int64_t[]){sizes[l + 1], sizes[l]}, &off[2 * l]));
        snprintf(name, sizeof name, "layers.%d.bias", 2 * l);
        CHECK(lc_params_add(&p, name, 1, &sizes[l + 1], &off[2 * l + 1]));
    }
    CHECK(lc_params_alloc(&p, dev));
    float *host = malloc(p.total * sizeof(float)), *x = malloc(B * 784 * sizeof(float));
    int32_t labels[B];
    uint32_t ctr[4] = {0};
    lc_rng_fill_host(host, p.total, 0, 1, ctr);
    for (size_t i = 0; i < p.total; i++)
        host[i] = (host[i] - 0.5f) * 0.08f;
    lc_rng_fill_host(x, B * 784, 0, 2, ctr);
    for (int i = 0; i < B; i++)
        labels[i] = i % 10;
    CHECK(lc_write(dev, p.data, 0, host, p.total * sizeof(float)));
    cl_mem xbuf, ybuf;
    CHECK(lc_buffer_alloc(&xbuf, dev, B * 784 * sizeof(float)));
    CHECK(lc_buffer_alloc(&ybuf, dev, B * sizeof(int32_t)));
    CHECK(lc_write(dev, xbuf, 0, x, B * 784 * sizeof(float)));
    CHECK(lc_write(dev, ybuf, 0, labels, sizeof labels));
    double t0 = 0;
    float loss_v = 0;
    int warm = 20;
    for (int it = 0; it < warm + steps; it++) {
        if (it == warm) {
            CHECK(lc_finish(dev));
            t0 = now_ms();
        }
        lc_step_begin(ctx);
        // No lc_zero_grad here: in training the optimiser's update kernel zeroes
        // the gradients it consumes (lc_optim_config.zero_grad), so a step has no fill.
        lc_tensor *h, *y, *w, *b, *loss;
        CHECK(lc_tensor_wrap(ctx, &h, xbuf, 0, LC_F32, 2, (int64_t[]){B, 784}));
        CHECK(lc_tensor_wrap(ctx, &y, ybuf, 0, LC_I32, 1, (int64_t[]){B}));
        for (int l = 0; l < 3; l++) {
            CHECK(lc_tensor_param_at(ctx, &w, &p, off[2 * l], 2,
                                     (int64_t[]){sizes[l + 1], sizes[l]}));
            CHECK(lc_tensor_param_at(ctx, &b, &p, off[2 * l + 1], 1, &sizes[l + 1]));
            CHECK(lc_linear_act(ctx, &h, h, w, b, l < 2 ? LC_ACT_RELU : LC_ACT_NONE, 0));
        }
        CHECK(lc_cross_entropy(ctx, &loss, h, y));
        CHECK(lc_backward(ctx, loss));
        if ((it + 1) % 50 == 0) CHECK(lc_tensor_to_host(ctx, &loss_v, loss));
    }
    CHECK(lc_finish(dev));
    double ms = (now_ms() - t0) / steps;
    printf("{\"bench\":\"mlp_784_512_256_10_fwd_bwd\",\"batch\":%d,\"ms_per_step\":%.3f,"
           "\"gemm\":\"%s\",\"loss\":%.4f,\"device\":\"%s\"}\n",
           B, ms, lc_gemm_backend_name(lc_gemm_active_backend(dev)), loss_v,
           lc_device_get_info(dev)->name);
    CHECK(print_kernel_profile(dev, warm + steps));
    lc_buffer_free(xbuf);
    lc_buffer_free(ybuf);
    lc_params_free(&p);
    free(host);
    free(x);
    lc_ctx_free(ctx);
    lc_device_close(dev);
    return 0;
}
