// lc_dist over MPI_COMM_WORLD (built with -DLATENTCL_MPI=ON). Only the thread that
// called lc_dist_init calls MPI (MPI_THREAD_FUNNELED). Before lc_dist_init, and in a
// process started without mpirun, this is one rank of one.
#ifdef LATENTCL_MPI
#include <limits.h>
#include <mpi.h>
#include <stdlib.h>

#include "latentcl/dist.h"

static struct {
    bool ready;   // MPI is running and the fields below are set
    bool started; // lc_dist_init started it (so lc_dist_finalize ends it)
    int rank, size, local_rank, local_size;
} g = {false, false, 0, 1, 0, 1};

// The largest piece one MPI call moves (its counts are int).
enum { CHUNK = INT_MAX / 2 };

static lc_status mpi_fail(int err, const char *call) {
    char text[MPI_MAX_ERROR_STRING] = "";
    int len = 0;
    MPI_Error_string(err, text, &len);
    return lc_fail(LC_ERR_IO, "%s failed on rank %d of %d: %s", call, g.rank, g.size, text);
}

#define MPI_TRY(call, name)                                                                        \
    do {                                                                                           \
        int e_ = (call);                                                                           \
        if (e_ != MPI_SUCCESS) return mpi_fail(e_, name);                                          \
    } while (0)

bool lc_dist_built_with_mpi(void) { return true; }

lc_status lc_dist_init(int *argc, char ***argv) {
    if (g.ready) return LC_OK;
    int up = 0, down = 0;
    MPI_Finalized(&down);
    if (down) return lc_fail(LC_ERR_INVALID_ARG, "lc_dist_init: MPI was already finalized");
    MPI_Initialized(&up);
    if (!up) {
        int provided = 0;
        int e = MPI_Init_thread(argc, argv, MPI_THREAD_FUNNELED, &provided);
        if (e != MPI_SUCCESS) return lc_fail(LC_ERR_IO, "MPI_Init_thread failed (%d)", e);
        g.started = true;
    }
    // Errors come back as codes (and become lc_status), not as an abort inside MPI.
    MPI_TRY(MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN), "MPI_Comm_set_errhandler");
    MPI_TRY(MPI_Comm_rank(MPI_COMM_WORLD, &g.rank), "MPI_Comm_rank");
    MPI_TRY(MPI_Comm_size(MPI_COMM_WORLD, &g.size), "MPI_Comm_size");
    MPI_Comm node;
    MPI_TRY(MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, g.rank, MPI_INFO_NULL, &node),
            "MPI_Comm_split_type");
    MPI_Comm_rank(node, &g.local_rank);
    MPI_Comm_size(node, &g.local_size);
    MPI_Comm_free(&node);
    g.ready = true;
    return LC_OK;
}

lc_status lc_dist_finalize(void) {
    if (!g.ready) return LC_OK;
    g.ready = false;
    bool started = g.started;
    g.started = false;
    g.rank = 0, g.size = 1, g.local_rank = 0, g.local_size = 1;
    if (started) MPI_TRY(MPI_Finalize(), "MPI_Finalize");
    return LC_OK;
}

void lc_dist_abort(int code) {
    if (g.ready && g.size > 1) MPI_Abort(MPI_COMM_WORLD, code);
}

int lc_dist_rank(void) { return g.rank; }
int lc_dist_size(void) { return g.size; }
int lc_dist_local_rank(void) { return g.local_rank; }
int lc_dist_local_size(void) { return g.local_size; }

lc_status lc_dist_allreduce_sum_f32(float *buf, size_t n) {
    if (!g.ready || g.size == 1) return LC_OK;
    for (size_t i = 0; i < n; i += CHUNK) {
        int c = (int)(n - i < CHUNK ? n - i : CHUNK);
        MPI_TRY(MPI_Allreduce(MPI_IN_PLACE, buf + i, c, MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD),
                "MPI_Allreduce");
    }
    return LC_OK;
}

lc_status lc_dist_allreduce_sum_f64(double *buf, size_t n) {
    if (!g.ready || g.size == 1) return LC_OK;
    for (size_t i = 0; i < n; i += CHUNK) {
        int c = (int)(n - i < CHUNK ? n - i : CHUNK);
        MPI_TRY(MPI_Allreduce(MPI_IN_PLACE, buf + i, c, MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD),
                "MPI_Allreduce");
    }
    return LC_OK;
}

lc_status lc_dist_allreduce_max_int(int *flag) {
    if (!g.ready || g.size == 1) return LC_OK;
    MPI_TRY(MPI_Allreduce(MPI_IN_PLACE, flag, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD),
            "MPI_Allreduce");
    return LC_OK;
}

lc_status lc_dist_allgather_f32(float *out, const float *in, size_t n_per_rank) {
    if (!g.ready || g.size == 1) return lc_dist_allgatherv_f32(out, in, &n_per_rank);
    if (n_per_rank > CHUNK)
        return lc_fail(LC_ERR_INVALID_ARG, "lc_dist_allgather_f32: %zu floats per rank",
                       n_per_rank);
    MPI_TRY(MPI_Allgather(in, (int)n_per_rank, MPI_FLOAT, out, (int)n_per_rank, MPI_FLOAT,
                          MPI_COMM_WORLD),
            "MPI_Allgather");
    return LC_OK;
}

lc_status lc_dist_allgatherv_f32(float *out, const float *in, const size_t *counts) {
    if (!g.ready || g.size == 1) {
        for (size_t i = 0; out != in && i < counts[0]; i++)
            out[i] = in[i];
        return LC_OK;
    }
    int *cnt = malloc(2 * (size_t)g.size * sizeof *cnt);
    if (!cnt) return lc_fail(LC_ERR_NOMEM, "lc_dist_allgatherv_f32: out of memory");
    int *displ = cnt + g.size;
    size_t total = 0;
    for (int r = 0; r < g.size; r++) {
        if (counts[r] > CHUNK || total > CHUNK) {
            free(cnt);
            return lc_fail(LC_ERR_INVALID_ARG, "lc_dist_allgatherv_f32: too many floats");
        }
        cnt[r] = (int)counts[r];
        displ[r] = (int)total;
        total += counts[r];
    }
    int e = MPI_Allgatherv(in, cnt[g.rank], MPI_FLOAT, out, cnt, displ, MPI_FLOAT, MPI_COMM_WORLD);
    free(cnt);
    if (e != MPI_SUCCESS) return mpi_fail(e, "MPI_Allgatherv");
    return LC_OK;
}

lc_status lc_dist_broadcast(void *buf, size_t bytes, int root) {
    if (!g.ready || g.size == 1) return LC_OK;
    if (root < 0 || root >= g.size)
        return lc_fail(LC_ERR_INVALID_ARG, "lc_dist_broadcast: no rank %d of %d", root, g.size);
    for (size_t i = 0; i < bytes; i += CHUNK) {
        int c = (int)(bytes - i < CHUNK ? bytes - i : CHUNK);
        MPI_TRY(MPI_Bcast((char *)buf + i, c, MPI_BYTE, root, MPI_COMM_WORLD), "MPI_Bcast");
    }
    return LC_OK;
}

lc_status lc_dist_barrier(void) {
    if (!g.ready || g.size == 1) return LC_OK;
    MPI_TRY(MPI_Barrier(MPI_COMM_WORLD), "MPI_Barrier");
    return LC_OK;
}
#endif
