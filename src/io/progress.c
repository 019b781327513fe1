// The one library-side helper for progress reports. See progress.h.
#include "latentcl/progress.h"

#include <math.h>

lc_progress lc_progress_init(const char *phase) {
    lc_progress p = {0};
    p.phase = phase ? phase : "";
    p.epoch = -1;
    p.loss = NAN;
    return p;
}
