// The optimiser's private state, shared by src/optim/*.c (layout of cl/optim.cl's
// state and fstate words).
#ifndef LATENTCL_OPTIM_INTERNAL_H
#define LATENTCL_OPTIM_INTERNAL_H

#include "latentcl/optim.h"

enum {
    OPTIM_WG = 64,        // work-group size of the reductions (WG in cl/optim.cl)
    OPTIM_GROUPS = 64,    // work-groups of the norm pass: fixed, so the sum order never changes
    OPTIM_UPDATE_WG = 64, // work-group size of the update kernels
    ST_T = 0,
    ST_SKIPPED = 1,
    ST_BAD = 2,
    ST_COUNT = 3,
    OPTIM_NSTATE = 4,
    FS_SCALE = 0,
    FS_SKIP = 1,
    FS_BC1 = 2,
    FS_BC2 = 3,
    FS_NORM = 4,
    FS_LOSS = 5,
    OPTIM_NFSTATE = FS_LOSS + LC_LOSS_MAX,
};

struct lc_optim {
    lc_device *dev;
    lc_optim_config cfg;
    size_t total;   // floats, padding included
    size_t nblocks; // total / 16
    cl_mem valid;   // (nblocks) uchar: lanes of each block that are parameters
    cl_mem m1;      // exp_avg (Adam/AdamW) or momentum_buffer (SGD with momentum), or NULL
    cl_mem m2;      // exp_avg_sq (Adam/AdamW), or NULL
    cl_mem ema;     // EMA weights, or NULL
    cl_mem state;   // (OPTIM_NSTATE) int
    cl_mem fstate;  // (OPTIM_NFSTATE) float
    cl_mem partial; // (OPTIM_GROUPS) float: partial sums of grad^2
};

// Writes t, skipped, bad_step = -1 and zero sums (all), or only zeroes the sums.
lc_status optim_reset_state(lc_optim *o, int64_t t, int64_t skipped, bool all);

#endif
