// latentcl — the one parameter buffer of a model.
//
// A model declares its parameters by name and shape (PyTorch's state_dict
// names and layouts: "encoder.0.weight" (out, in), conv (out, in, kh, kw)),
// then allocates once: all values live in one contiguous device buffer and
// all gradients in another of the same layout. One allocation, one optimiser
// launch, one checkpoint blob. Offsets are padded to 16 floats (64 bytes) so
// every parameter starts on a float16-aligned boundary.
#ifndef LATENTCL_PARAMS_H
#define LATENTCL_PARAMS_H

#include <stddef.h>
#include <stdint.h>

#include "latentcl/device.h"

#ifdef __cplusplus
extern "C" {
#endif

enum { LC_PARAM_MAX_DIMS = 4, LC_PARAM_NAME_MAX = 128, LC_PARAM_ALIGN = 16 };

typedef struct {
    char name[LC_PARAM_NAME_MAX];
    int ndim;
    int64_t shape[LC_PARAM_MAX_DIMS];
    size_t offset; // in floats, into data and grad
    size_t numel;
} lc_param_info;

typedef struct {
    lc_param_info *items;
    int count, cap;
    size_t total; // floats, padding included
    cl_mem data;  // (total) values, NULL until lc_params_alloc
    cl_mem grad;  // (total) gradients
} lc_params;

// Declares a parameter; *offset (may be NULL) receives its offset in floats.
// Names must be unique; allowed before lc_params_alloc only.
lc_status lc_params_add(lc_params *p, const char *name, int ndim, const int64_t *shape,
                        size_t *offset);
// Allocates data and grad (zeroed).
lc_status lc_params_alloc(lc_params *p, lc_device *dev);
// Looks a parameter up by name (NULL if absent).
const lc_param_info *lc_params_find(const lc_params *p, const char *name);
// Number of real (unpadded) parameter values.
size_t lc_params_numel(const lc_params *p);
void lc_params_free(lc_params *p);

#ifdef __cplusplus
}
#endif
#endif
