// PyTorch's default layer initialisation (see init_default.h).
#include "nn/init_default.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "latentcl/rng.h"

enum { INIT_PURPOSE = 0x696e6974 }; // "init": keeps these draws apart from other uses of a seed

// Fills parameter `info` with uniform values in (-bound, bound).
static lc_status fill_uniform(lc_device *dev, lc_params *p, const lc_param_info *info, double bound,
                              uint64_t seed) {
    float *v = malloc(info->numel * sizeof *v);
    if (!v) return lc_fail(LC_ERR_NOMEM, "out of memory initialising %s", info->name);
    const uint32_t counter[4] = {0, (uint32_t)(info - p->items), INIT_PURPOSE, 0};
    lc_rng_fill_host(v, info->numel, 0, seed, counter);
    for (size_t j = 0; j < info->numel; j++)
        v[j] = (float)(bound * (2.0 * v[j] - 1.0));
    lc_status s = lc_write(dev, p->data, info->offset * sizeof(float), v, info->numel * sizeof *v);
    free(v);
    return s;
}

lc_status lc_init_torch_default(lc_device *dev, lc_params *p, const char *layer, uint64_t seed) {
    char name[LC_PARAM_NAME_MAX];
    snprintf(name, sizeof name, "%s.weight", layer);
    const lc_param_info *w = lc_params_find(p, name);
    if (!w || !p->data) return lc_fail(LC_ERR_INVALID_ARG, "init: no allocated parameter %s", name);
    double fan_in = (double)w->numel / (double)w->shape[0];
    double bound = 1.0 / sqrt(fan_in);
    LC_TRY(fill_uniform(dev, p, w, bound, seed));
    snprintf(name, sizeof name, "%s.bias", layer);
    const lc_param_info *b = lc_params_find(p, name);
    return b ? fill_uniform(dev, p, b, bound, seed) : LC_OK;
}
