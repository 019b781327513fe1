// The one parameter buffer of a model (see include/latentcl/params.h).
#include <stdlib.h>
#include <string.h>

#include "latentcl/params.h"

lc_status lc_params_add(lc_params *p, const char *name, int ndim, const int64_t *shape,
                        size_t *offset) {
    if (p->data) return lc_fail(LC_ERR_INVALID_ARG, "parameter %s added after allocation", name);
    if (ndim < 1 || ndim > LC_PARAM_MAX_DIMS)
        return lc_fail(LC_ERR_INVALID_ARG, "parameter %s: %d dimensions", name, ndim);
    if (strlen(name) >= LC_PARAM_NAME_MAX)
        return lc_fail(LC_ERR_INVALID_ARG, "parameter name too long: %s", name);
    if (lc_params_find(p, name)) return lc_fail(LC_ERR_INVALID_ARG, "duplicate parameter %s", name);
    size_t numel = 1;
    for (int i = 0; i < ndim; i++) {
        if (shape[i] <= 0 || (size_t)shape[i] > ((size_t)1 << 40) / numel)
            return lc_fail(LC_ERR_INVALID_ARG, "parameter %s: bad dimension %lld", name,
                           (long long)shape[i]);
        numel *= (size_t)shape[i];
    }
    if (p->count == p->cap) {
        int cap = p->cap ? 2 * p->cap : 16;
        lc_param_info *n = realloc(p->items, (size_t)cap * sizeof *n);
        if (!n) return lc_fail(LC_ERR_NOMEM, "out of memory adding parameter %s", name);
        p->items = n;
        p->cap = cap;
    }
    lc_param_info *it = &p->items[p->count++];
    memset(it, 0, sizeof *it);
    strcpy(it->name, name);
    it->ndim = ndim;
    for (int i = 0; i < ndim; i++)
        it->shape[i] = shape[i];
    it->offset = p->total;
    it->numel = numel;
    p->total += (numel + LC_PARAM_ALIGN - 1) / LC_PARAM_ALIGN * LC_PARAM_ALIGN;
    if (offset) *offset = it->offset;
    return LC_OK;
}

lc_status lc_params_alloc(lc_params *p, lc_device *dev) {
    if (p->data) return lc_fail(LC_ERR_INVALID_ARG, "parameters allocated twice");
    size_t bytes = (p->total ? p->total : LC_PARAM_ALIGN) * sizeof(float);
    LC_TRY(lc_buffer_alloc(&p->data, dev, bytes));
    lc_status s = lc_buffer_alloc(&p->grad, dev, bytes);
    if (s == LC_OK) s = lc_fill_zero(dev, p->data, 0, bytes);
    if (s == LC_OK) s = lc_fill_zero(dev, p->grad, 0, bytes);
    if (s != LC_OK) {
        lc_buffer_free(p->data);
        lc_buffer_free(p->grad);
        p->data = p->grad = NULL;
    }
    return s;
}

const lc_param_info *lc_params_find(const lc_params *p, const char *name) {
    for (int i = 0; i < p->count; i++)
        if (!strcmp(p->items[i].name, name)) return &p->items[i];
    return NULL;
}

size_t lc_params_numel(const lc_params *p) {
    size_t n = 0;
    for (int i = 0; i < p->count; i++)
        n += p->items[i].numel;
    return n;
}

void lc_params_free(lc_params *p) {
    lc_buffer_free(p->data);
    lc_buffer_free(p->grad);
    free(p->items);
    memset(p, 0, sizeof *p);
}
