// latentcl — data-parallel training across processes (MPI), behind a small interface.
//
// Built with -DLATENTCL_MPI=ON, these wrap MPI on MPI_COMM_WORLD; otherwise (and in a
// process that never called lc_dist_init) they describe one process: rank 0 of 1, and
// every collective is a no-op that leaves its buffer as it is. The training loop
// (lc_train), the HMM's Baum-Welch and the CLIP loss call these; nothing else needs to
// know whether MPI is there.
//
// Every collective must be called by every rank in the same order (MPI's rule). A rank
// whose call fails returns the error; the program should then end the whole job with
// lc_dist_abort (the library itself never does).
#ifndef LATENTCL_DIST_H
#define LATENTCL_DIST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "latentcl/status.h"

#ifdef __cplusplus
extern "C" {
#endif

// True when this library was built with MPI (-DLATENTCL_MPI=ON).
bool lc_dist_built_with_mpi(void);

// Starts MPI (MPI_Init_thread, funneled) unless it is running already; without MPI it
// does nothing. argc/argv may be NULL. Safe to call more than once.
lc_status lc_dist_init(int *argc, char ***argv);
// Ends MPI if lc_dist_init started it (collective: every rank calls it).
lc_status lc_dist_finalize(void);
// Ends every rank of the job with this exit code (MPI_Abort); without MPI, returns.
// For a program's error path only: the library never calls it.
void lc_dist_abort(int code);

// This process's rank and the number of ranks (0 and 1 without MPI or before init).
int lc_dist_rank(void);
int lc_dist_size(void);
// The rank among the ranks on this machine and their number (from MPI's shared-memory
// split; OMPI_COMM_WORLD_LOCAL_RANK/SIZE say the same under Open MPI's mpirun).
int lc_dist_local_rank(void);
int lc_dist_local_size(void);

// The part of `count` items that rank `rank` of `size` takes: [*first, *first + *n),
// contiguous, sizes differing by at most one, in rank order.
void lc_dist_shard(int64_t *first, int64_t *n, int64_t count, int rank, int size);

// buf[i] = sum over ranks of buf[i] (in place). The result is the same on every rank.
lc_status lc_dist_allreduce_sum_f32(float *buf, size_t n);
lc_status lc_dist_allreduce_sum_f64(double *buf, size_t n);
// *flag = the largest *flag over ranks (any rank asking to stop stops all).
lc_status lc_dist_allreduce_max_int(int *flag);
// out = the n_per_rank floats of rank 0, then rank 1, ... (out holds size * n_per_rank).
lc_status lc_dist_allgather_f32(float *out, const float *in, size_t n_per_rank);
// As lc_dist_allgather_f32 with a count per rank: counts[r] floats from rank r, placed one
// after the other in rank order (out holds their sum); counts[rank] is this rank's n.
lc_status lc_dist_allgatherv_f32(float *out, const float *in, const size_t *counts);
// bytes of buf from rank `root` to every rank.
lc_status lc_dist_broadcast(void *buf, size_t bytes, int root);
lc_status lc_dist_barrier(void);

// ---- on the tape: losses that couple the samples of a batch (CLIP's InfoNCE) ---------------
typedef struct lc_ctx lc_ctx;       // include/latentcl/tensor.h
typedef struct lc_tensor lc_tensor; // include/latentcl/tensor.h

// all (total, cols) = every rank's rows of a batch of `total` items, rank r's being its
// lc_dist_shard slice, in rank order; mine (n, cols) is this rank's slice (NULL when n is
// 0). Gradients flow back into mine's rows only: the other ranks' rows are constants here,
// because every rank differentiates the loss of the whole batch through its own rows and
// the training loop sums the ranks' gradients (lc_train_model.gathers_batch). Blocks: it
// reads mine to the host and exchanges (MPI_Allgatherv). With one rank, *all = mine.
lc_status lc_dist_gather_rows(lc_ctx *ctx, lc_tensor **all, lc_tensor *mine, int64_t cols,
                              int64_t total);

#ifdef __cplusplus
}
#endif
#endif
