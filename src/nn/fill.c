// Parameter fills for the initialisers: Philox draws keyed by (seed, the
// parameter's index), the same scheme as nn/init_default.c.
#include <stdlib.h>

#include "latentcl/nn.h"
#include "latentcl/rng.h"

enum { INIT_PURPOSE = 0x696e6974 }; // "init", as in init_default.c

static lc_status fill(lc_device *dev, lc_params *p, const char *name, int kind, double a,
                      uint64_t seed) {
    const lc_param_info *info = lc_params_find(p, name);
    if (!info || !p->data)
        return lc_fail(LC_ERR_INVALID_ARG, "init: no allocated parameter %s", name);
    float *v = malloc(info->numel * sizeof *v);
    if (!v) return lc_fail(LC_ERR_NOMEM, "out of memory initialising %s", name);
    const uint32_t counter[4] = {0, (uint32_t)(info - p->items), INIT_PURPOSE, 0};
    if (kind == 0) {
        lc_rng_fill_host(v, info->numel, 0, seed, counter);
        for (size_t j = 0; j < info->numel; j++)
            v[j] = (float)(a * (2.0 * v[j] - 1.0));
    } else if (kind == 1) {
        lc_rng_fill_host(v, info->numel, 1, seed, counter);
        for (size_t j = 0; j < info->numel; j++)
            v[j] = (float)(a * v[j]);
    } else {
        for (size_t j = 0; j < info->numel; j++)
            v[j] = (float)a;
    }
    lc_status s = lc_write(dev, p->data, info->offset * sizeof(float), v, info->numel * sizeof *v);
    free(v);
    return s;
}

lc_status lc_param_fill_uniform(lc_device *dev, lc_params *p, const char *name, double bound,
                                uint64_t seed) {
    return fill(dev, p, name, 0, bound, seed);
}
lc_status lc_param_fill_normal(lc_device *dev, lc_params *p, const char *name, double std,
                               uint64_t seed) {
    return fill(dev, p, name, 1, std, seed);
}
lc_status lc_param_fill_value(lc_device *dev, lc_params *p, const char *name, float value) {
    return fill(dev, p, name, 2, value, 0);
}
