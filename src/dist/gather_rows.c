// lc_dist_gather_rows: every rank's rows of a batch, on the tape, with the gradient
// flowing into this rank's rows only (include/latentcl/dist.h).
#include <stdlib.h>

#include "latentcl/dist.h"
#include "latentcl/tensor.h"

// Rows [from, to) of host (rows, cols) as a constant tensor, or NULL when empty.
static lc_status constant_rows(lc_ctx *ctx, lc_tensor **out, const float *host, int64_t from,
                               int64_t to, int64_t cols) {
    *out = NULL;
    if (to <= from) return LC_OK;
    return lc_tensor_from_host(ctx, out, host + from * cols, 2, (int64_t[]){to - from, cols});
}

lc_status lc_dist_gather_rows(lc_ctx *ctx, lc_tensor **all, lc_tensor *mine, int64_t cols,
                              int64_t total) {
    int size = lc_dist_size(), rank = lc_dist_rank();
    int64_t first, n;
    lc_dist_shard(&first, &n, total, rank, size);
    int64_t have = mine ? mine->shape[0] : 0;
    if (cols < 1 || (mine && (mine->ndim != 2 || mine->shape[1] != cols)) || have != n)
        return lc_fail(LC_ERR_SHAPE,
                       "lc_dist_gather_rows: rank %d of %d holds %lld rows of a batch of %lld, "
                       "its slice is %lld rows of %lld columns",
                       rank, size, (long long)have, (long long)total, (long long)n,
                       (long long)cols);
    if (size == 1) {
        *all = mine;
        return LC_OK;
    }
    size_t *counts = malloc((size_t)size * sizeof *counts);
    float *host = malloc((size_t)(total * cols) * sizeof *host);
    float *own = malloc((size_t)(n > 0 ? n * cols : 1) * sizeof *own);
    lc_status s = counts && host && own ? LC_OK : lc_fail(LC_ERR_NOMEM, "out of memory");
    for (int r = 0; s == LC_OK && r < size; r++) {
        int64_t f, c;
        lc_dist_shard(&f, &c, total, r, size);
        counts[r] = (size_t)(c * cols);
    }
    if (s == LC_OK && n > 0) s = lc_tensor_to_host(ctx, own, mine);
    if (s == LC_OK) s = lc_dist_allgatherv_f32(host, own, counts);
    lc_tensor *before = NULL, *after = NULL, *t = mine;
    if (s == LC_OK) s = constant_rows(ctx, &before, host, 0, first, cols);
    if (s == LC_OK) s = constant_rows(ctx, &after, host, first + n, total, cols);
    // [rows of the ranks before | mine | rows of the ranks after] (mine may be absent)
    if (s == LC_OK && before) {
        if (t)
            s = lc_concat(ctx, &t, before, t, 0);
        else
            t = before;
    }
    if (s == LC_OK && after) {
        if (t)
            s = lc_concat(ctx, &t, t, after, 0);
        else
            t = after;
    }
    free(counts);
    free(host);
    free(own);
    if (s == LC_OK) *all = t;
    return s;
}
