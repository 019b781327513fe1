// What every build shares: how a batch is split between ranks.
#include "latentcl/dist.h"

void lc_dist_shard(int64_t *first, int64_t *n, int64_t count, int rank, int size) {
    if (size < 1 || rank < 0 || rank >= size || count < 1) {
        *first = 0;
        *n = size <= 1 && count > 0 ? count : 0;
        return;
    }
    // floor(count r / size) .. floor(count (r + 1) / size): contiguous, sizes within one
    int64_t lo = count / size * rank + count % size * rank / size;
    int64_t hi = count / size * (rank + 1) + count % size * (rank + 1) / size;
    *first = lo;
    *n = hi - lo;
}
