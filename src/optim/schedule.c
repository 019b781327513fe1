// Learning-rate schedules: pure functions of the step, so a resumed run gets the
// same rate at the same step without any saved schedule state.
#include <math.h>
#include <string.h>

#include "latentcl/optim.h"

static const char *const lr_names[] = {"constant", "cosine"};

const char *lc_lr_kind_name(lc_lr_kind k) { return (unsigned)k < 2 ? lr_names[k] : "?"; }

lc_status lc_lr_kind_parse(lc_lr_kind *out, const char *name) {
    for (int i = 0; i < 2; i++)
        if (name && !strcmp(name, lr_names[i])) {
            *out = (lc_lr_kind)i;
            return LC_OK;
        }
    return lc_fail(LC_ERR_INVALID_ARG, "unknown lr schedule '%s' (choose constant or cosine)",
                   name ? name : "");
}

double lc_lr_at(const lc_lr_schedule *s, int64_t step) {
    if (step < 0) step = 0;
    if (s->warmup > 0 && step < s->warmup) return s->base * (double)(step + 1) / (double)s->warmup;
    if (s->kind == LC_LR_CONSTANT) return s->base;
    int64_t span = s->total_steps - s->warmup;
    if (span <= 0 || step >= s->total_steps) return s->min_lr;
    double progress = (double)(step - s->warmup) / (double)span;
    return s->min_lr + (s->base - s->min_lr) * 0.5 * (1.0 + cos(M_PI * progress));
}
