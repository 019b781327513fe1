// lc_dist without MPI: one process, rank 0 of 1; every collective leaves its data as it is.
#ifndef LATENTCL_MPI
#include <string.h>

#include "latentcl/dist.h"

bool lc_dist_built_with_mpi(void) { return false; }
lc_status lc_dist_init(int *argc, char ***argv) {
    (void)argc;
    (void)argv;
    return LC_OK;
}
lc_status lc_dist_finalize(void) { return LC_OK; }
void lc_dist_abort(int code) { (void)code; }
int lc_dist_rank(void) { return 0; }
int lc_dist_size(void) { return 1; }
int lc_dist_local_rank(void) { return 0; }
int lc_dist_local_size(void) { return 1; }
lc_status lc_dist_allreduce_sum_f32(float *buf, size_t n) {
    (void)buf;
    (void)n;
    return LC_OK;
}
lc_status lc_dist_allreduce_sum_f64(double *buf, size_t n) {
    (void)buf;
    (void)n;
    return LC_OK;
}
lc_status lc_dist_allreduce_max_int(int *flag) {
    (void)flag;
    return LC_OK;
}
lc_status lc_dist_allgather_f32(float *out, const float *in, size_t n_per_rank) {
    if (out != in && n_per_rank) memmove(out, in, n_per_rank * sizeof *out);
    return LC_OK;
}
lc_status lc_dist_allgatherv_f32(float *out, const float *in, const size_t *counts) {
    if (out != in && counts[0]) memmove(out, in, counts[0] * sizeof *out);
    return LC_OK;
}
lc_status lc_dist_broadcast(void *buf, size_t bytes, int root) {
    (void)buf;
    (void)bytes;
    (void)root;
    return LC_OK;
}
lc_status lc_dist_barrier(void) { return LC_OK; }
#endif
