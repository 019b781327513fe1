// A model's parameters in a checkpoint (NAME tensors, PyTorch layout), and the
// small figure lists evaluations return.
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "latentcl/train.h"

lc_status lc_train_params_save(const lc_params *p, lc_device *dev, lc_st_builder *b) {
    float *host = malloc(p->total * sizeof *host + 1);
    if (!host) return lc_fail(LC_ERR_NOMEM, "out of memory saving %zu parameters", p->total);
    lc_status s = lc_read(dev, host, p->data, 0, p->total * sizeof *host);
    for (int i = 0; s == LC_OK && i < p->count; i++) {
        const lc_param_info *it = &p->items[i];
        s = lc_st_builder_add_f32(b, NULL, it->name, it->ndim, it->shape, host + it->offset);
    }
    free(host);
    return s;
}

lc_status lc_train_params_load(lc_params *p, lc_device *dev, const lc_st_file *f,
                               const char *prefix) {
    float *host = calloc(p->total + 1, sizeof *host); // padding stays 0
    if (!host) return lc_fail(LC_ERR_NOMEM, "out of memory loading %zu parameters", p->total);
    lc_status s = LC_OK;
    for (int i = 0; s == LC_OK && i < p->count; i++) {
        const lc_param_info *it = &p->items[i];
        char name[LC_PARAM_NAME_MAX + 32];
        s = lc_st_name(name, sizeof name, prefix ? prefix : "", it->name);
        if (s == LC_OK && !lc_st_find(f, name))
            s = lc_fail(LC_ERR_FORMAT,
                        "%s: no tensor %s (the model has %d parameters: is it "
                        "the same model?)",
                        lc_st_path(f), name, p->count);
        if (s == LC_OK)
            s = lc_st_read_f32(f, name, it->ndim, it->shape, host + it->offset, it->numel);
    }
    if (s == LC_OK) s = lc_write(dev, p->data, 0, host, p->total * sizeof *host);
    free(host);
    return s;
}

lc_status lc_figures_add(lc_figures *f, const char *prefix, const char *name, double value) {
    if (f->count >= LC_FIGURES_MAX)
        return lc_fail(LC_ERR_INVALID_ARG, "more than %d figures (adding %s)", LC_FIGURES_MAX,
                       name);
    lc_figure *it = &f->items[f->count];
    int n = snprintf(it->name, sizeof it->name, "%s%s", prefix ? prefix : "", name);
    if (n < 0 || (size_t)n >= sizeof it->name)
        return lc_fail(LC_ERR_INVALID_ARG, "figure name too long: %s%s", prefix ? prefix : "",
                       name);
    it->value = value;
    f->count++;
    return LC_OK;
}

double lc_figures_get(const lc_figures *f, const char *name) {
    for (int i = 0; i < f->count; i++)
        if (!strcmp(f->items[i].name, name)) return f->items[i].value;
    return NAN;
}
