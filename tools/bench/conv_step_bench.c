// Micro benchmark (not a test): forward + backward of the conv layers on the
// tensor floor, without the optimiser. Build against a Release build:
//   cc -O2 -I include tools/bench/conv_step_bench.c BUILD/liblatentcl.a \
//      -lOpenCL -lclblast -lopenblas -lpng -lz -lm -o /tmp/conv_step_bench
//   /tmp/conv_step_bench cls|vae|unet|unetfwd [steps]
// cls:  batch 128, conv 1->32 3x3 p1 relu, maxpool2, conv 32->64 3x3 p1 relu,
//       maxpool2, dense 3136->128 relu, dense 128->10, cross entropy.
// vae:  batch 128, conv 1->32 4x4 s2 p1 relu, conv 32->64 4x4 s2 p1 relu,
//       convT 64->32 4x4 s2 p1, relu, convT 32->1 4x4 s2 p1, mean.
// unet: batch 64, the U-Net's conv shapes: conv 1->32 3x3 at 28x28, conv 32->32
//       3x3, conv 32->64 3x3 s2, conv 64->64 3x3 at 14x14, upsample x2,
//       conv 1x1 (skip) 64->32, conv 32->1 3x3, mean.
// unetfwd: the unet layers forward only, gradients off (as sampling).
// Prints ms per step; LATENTCL_PROFILE=1 adds a line per kernel (ms per step).
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "latentcl/gemm.h"
#include "latentcl/rng.h"
#include "latentcl/tensor.h"

#include "step_bench.h"

typedef struct {
    int ndim;
    int64_t shape[4];
    size_t w, b; // offsets in the params
} layer;

static lc_params P;
static layer L[8];
static int nl;

static int add(int ndim, int64_t a, int64_t b, int64_t c, int64_t d) {
    layer *l = &L[nl];
    char name[32];
    l->ndim = ndim;
    l->shape[0] = a, l->shape[1] = b, l->shape[2] = c, l->shape[3] = d;
    snprintf(name, sizeof name, "l%d.weight", nl);
    if (lc_params_add(&P, name, ndim, l->shape, &l->w) != LC_OK) return 1;
    snprintf(name, sizeof name, "l%d.bias", nl);
    // Sized by dim 0 (enough for a transposed conv's (O) = dim 1 too, see wb()).
    if (lc_params_add(&P, name, 1, &l->shape[0], &l->b) != LC_OK) return 1;
    nl++;
    return 0;
}

static lc_status wb(lc_ctx *ctx, lc_tensor **w, lc_tensor **b, int i, int bias_dim) {
    LC_TRY(lc_tensor_param_at(ctx, w, &P, L[i].w, L[i].ndim, L[i].shape));
    return lc_tensor_param_at(ctx, b, &P, L[i].b, 1, &L[i].shape[bias_dim]);
}

int main(int argc, char **argv) {
    const char *mode = argc > 1 ? argv[1] : "cls";
    int steps = argc > 2 ? atoi(argv[2]) : 10;
    int cls = !strcmp(mode, "cls"), vae = !strcmp(mode, "vae"), fwd_only = !strcmp(mode, "unetfwd"),
        unet = !strcmp(mode, "unet") || fwd_only;
    if (!cls && !vae && !unet) {
        fprintf(stderr, "usage: conv_step_bench cls|vae|unet|unetfwd [steps]\n");
        return 2;
    }
    int B = unet ? 64 : 128;
    lc_device *dev;
    lc_ctx *ctx;
    CHECK(lc_device_open(&dev, NULL));
    CHECK(lc_ctx_create(&ctx, dev));
    if (fwd_only) lc_set_grad_enabled(ctx, 0); // as sampling: no tape, no backward
    if (cls) {
        add(4, 32, 1, 3, 3), add(4, 64, 32, 3, 3), add(2, 128, 3136, 1, 1), add(2, 10, 128, 1, 1);
    } else if (vae) { // bias of a transposed conv is (O) = shape[1]: both 32 here by symmetry
        add(4, 32, 1, 4, 4), add(4, 64, 32, 4, 4), add(4, 64, 32, 4, 4), add(4, 32, 1, 4, 4);
        // (the bias of a transposed conv (C, O, ..) is (O): dim 1, at most dim 0 here)
    } else {
        add(4, 32, 1, 3, 3), add(4, 32, 32, 3, 3), add(4, 64, 32, 3, 3), add(4, 64, 64, 3, 3);
        add(4, 32, 64, 1, 1), add(4, 1, 32, 3, 3);
    }
    CHECK(lc_params_alloc(&P, dev));
    float *host = malloc(P.total * sizeof(float)), *x = malloc((size_t)B * 784 * sizeof(float));
    int32_t labels[128];
    uint32_t ctr[4] = {0};
    lc_rng_fill_host(host, P.total, 0, 1, ctr);
    for (size_t i = 0; i < P.total; i++)
        host[i] = (host[i] - 0.5f) * 0.1f;
    lc_rng_fill_host(x, (size_t)B * 784, 0, 2, ctr);
    for (int i = 0; i < 128; i++)
        labels[i] = i % 10;
    CHECK(lc_write(dev, P.data, 0, host, P.total * sizeof(float)));
    cl_mem xbuf, ybuf;
    CHECK(lc_buffer_alloc(&xbuf, dev, (size_t)B * 784 * sizeof(float)));
    CHECK(lc_buffer_alloc(&ybuf, dev, sizeof labels));
    CHECK(lc_write(dev, xbuf, 0, x, (size_t)B * 784 * sizeof(float)));
    CHECK(lc_write(dev, ybuf, 0, labels, sizeof labels));
    double t0 = 0;
    float loss_v = 0;
    int warm = 2;
    for (int it = 0; it < warm + steps; it++) {
        if (it == warm) {
            CHECK(lc_finish(dev));
            t0 = now_ms();
        }
        lc_step_begin(ctx);
        lc_tensor *h, *w, *b, *loss, *t;
        CHECK(lc_tensor_wrap(ctx, &h, xbuf, 0, LC_F32, 4, (int64_t[]){B, 1, 28, 28}));
        if (cls) {
            lc_tensor *y;
            CHECK(lc_tensor_wrap(ctx, &y, ybuf, 0, LC_I32, 1, (int64_t[]){B}));
            for (int l = 0; l < 2; l++) {
                CHECK(wb(ctx, &w, &b, l, 0));
                CHECK(lc_conv2d_act(ctx, &h, h, w, b, 1, 1, LC_ACT_RELU, 0));
                CHECK(lc_max_pool2d(ctx, &h, h, 2, 2));
            }
            CHECK(lc_reshape(ctx, &h, h, 2, (int64_t[]){B, 3136}));
            for (int l = 2; l < 4; l++) {
                CHECK(wb(ctx, &w, &b, l, 0));
                CHECK(lc_linear_act(ctx, &h, h, w, b, l < 3 ? LC_ACT_RELU : LC_ACT_NONE, 0));
            }
            CHECK(lc_cross_entropy(ctx, &loss, h, y));
        } else if (vae) {
            for (int l = 0; l < 2; l++) {
                CHECK(wb(ctx, &w, &b, l, 0));
                CHECK(lc_conv2d_act(ctx, &h, h, w, b, 2, 1, LC_ACT_RELU, 0));
            }
            for (int l = 2; l < 4; l++) {
                CHECK(wb(ctx, &w, &b, l, 1));
                CHECK(lc_conv_transpose2d(ctx, &h, h, w, b, 2, 1, 0));
                if (l == 2) CHECK(lc_relu(ctx, &h, h));
            }
            CHECK(lc_reshape(ctx, &h, h, 1, (int64_t[]){(int64_t)B * 784}));
            CHECK(lc_mean(ctx, &loss, h, 0));
        } else {
            CHECK(wb(ctx, &w, &b, 0, 0));
            CHECK(lc_conv2d(ctx, &h, h, w, b, 1, 1));
            CHECK(wb(ctx, &w, &b, 1, 0));
            CHECK(lc_conv2d(ctx, &h, h, w, b, 1, 1));
            CHECK(wb(ctx, &w, &b, 2, 0));
            CHECK(lc_conv2d(ctx, &h, h, w, b, 2, 1));
            CHECK(wb(ctx, &w, &b, 3, 0));
            CHECK(lc_conv2d(ctx, &t, h, w, b, 1, 1));
            CHECK(lc_upsample_nearest(ctx, &h, t, 2));
            CHECK(wb(ctx, &w, &b, 4, 0));
            CHECK(lc_conv2d(ctx, &h, h, w, b, 1, 0));
            CHECK(wb(ctx, &w, &b, 5, 0));
            CHECK(lc_conv2d(ctx, &h, h, w, b, 1, 1));
            CHECK(lc_reshape(ctx, &h, h, 1, (int64_t[]){(int64_t)B * 784}));
            CHECK(lc_mean(ctx, &loss, h, 0));
        }
        if (!fwd_only) CHECK(lc_backward(ctx, loss));
        if (it + 1 == warm + steps) CHECK(lc_tensor_to_host(ctx, &loss_v, loss));
    }
    CHECK(lc_finish(dev));
    double ms = (now_ms() - t0) / steps;
    printf("{\"bench\":\"conv_%s_fwd_bwd\",\"batch\":%d,\"ms_per_step\":%.3f,\"loss\":%.6f}\n",
           mode, B, ms, loss_v);
    CHECK(print_kernel_profile(dev, warm + steps));
    lc_buffer_free(xbuf);
    lc_buffer_free(ybuf);
    lc_params_free(&P);
    free(host);
    free(x);
    lc_ctx_free(ctx);
    lc_device_close(dev);
    return 0;
}
