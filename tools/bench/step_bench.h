// What the micro benchmarks of the tensor floor (tools/bench/*_step_bench.c) share: their
// error check, a wall clock, and the per-kernel profile lines. Header only, so that each
// benchmark still builds with one cc line.
#ifndef LATENTCL_STEP_BENCH_H
#define LATENTCL_STEP_BENCH_H
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "latentcl/tensor.h"

// In main(): print the failed call and the library's message, and exit 1.
#define CHECK(x)                                                                                   \
    do {                                                                                           \
        lc_status s_ = (x);                                                                        \
        if (s_ != LC_OK) {                                                                         \
            fprintf(stderr, "%s: %s\n", #x, lc_last_error());                                      \
            return 1;                                                                              \
        }                                                                                          \
    } while (0)

static double now_ms(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

// With LATENTCL_PROFILE=1, where the time goes: one JSON line per kernel, its calls and its
// milliseconds per step over the `steps` steps run.
static lc_status print_kernel_profile(lc_device *dev, int steps) {
    if (!lc_device_profiling(dev)) return LC_OK;
    lc_profile_row *rows;
    int n;
    lc_status s = lc_device_profile(dev, &rows, &n);
    if (s != LC_OK) return s;
    for (int i = 0; i < n; i++)
        printf("{\"kernel\":\"%s\",\"calls\":%llu,\"ms_per_step\":%.4f}\n", rows[i].name,
               (unsigned long long)rows[i].calls, rows[i].total_ms / steps);
    free(rows);
    return LC_OK;
}
#endif
