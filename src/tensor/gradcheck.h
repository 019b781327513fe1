// Op checks shared by `latentcl selftest` and tests/test_ops.c: the device
// forward against a plain-C reference in double precision, and the device
// backward against central finite differences of that reference.
//
// fwd_err  = max |device - reference| / max(1, max |reference|)
// grad_err = max |device grad - finite difference| / (max |finite difference| + 1e-6)
// with L = sum(w * op(inputs)) for a random upstream gradient w, h = 1e-5
// around the float inputs, evaluated in double.
#ifndef LATENTCL_GRADCHECK_H
#define LATENTCL_GRADCHECK_H

#include "latentcl/tensor.h"

enum { LC_CASE_MAX_IN = 4 };

typedef struct {
    int n_in;
    int ndim[LC_CASE_MAX_IN];
    int64_t shape[LC_CASE_MAX_IN][LC_MAX_DIMS];
    int int_range[LC_CASE_MAX_IN];                // > 0: an int32 input with values in [0, range)
    int no_grad[LC_CASE_MAX_IN];                  // float input whose gradient is not checked
    float lo[LC_CASE_MAX_IN], hi[LC_CASE_MAX_IN]; // uniform input range (default -1, 1)
    float away;                                   // keep |x| >= away from kinks (ReLU at 0)
    int ip[8];
    float fp[4];
    int64_t out_numel; // filled by setup: the reference's output size
} lc_case_cfg;

typedef struct {
    const char *name;
    // Shapes from four sizes (each >= 1); sets n_in, shapes, parameters, out_numel.
    void (*setup)(lc_case_cfg *cfg, const int *sz);
    lc_status (*run)(lc_ctx *ctx, lc_tensor **out, lc_tensor **in, const lc_case_cfg *cfg);
    void (*ref)(double *out, double *const *in, const lc_case_cfg *cfg);
    double fwd_tol, grad_tol;
    int sz[4]; // the sizes the selftest uses
} lc_op_case;

extern const lc_op_case lc_op_cases[]; // ends with a NULL name
const lc_op_case *lc_op_case_find(const char *name);

typedef struct {
    double fwd_err, grad_err;
    int tape_nodes;   // nodes recorded by the run
    int grad_checked; // some input's gradient was checked (else grad_err = -1)
} lc_case_result;

// Runs one case on sizes sz (NULL: the case's own) with a seed for the inputs.
lc_status lc_run_case(lc_ctx *ctx, const lc_op_case *oc, const int *sz, uint64_t seed,
                      lc_case_result *res);

#endif
