// Seeded shuffling and batching. The order of an epoch is a pure function of
// (n, seed, epoch): Fisher-Yates whose draw at step i is Philox(counter = (i, epoch),
// key = seed), so every machine, and a resumed run, sees the same order.
#include <stdlib.h>
#include <string.h>

#include "latentcl/data.h"
#include "latentcl/rng.h"

enum { SHUFFLE_PURPOSE = 0x53485546 }; // "SHUF"

void lc_shuffle_order(int64_t *order, int64_t n, uint64_t seed, uint64_t epoch) {
    uint32_t key[2];
    lc_seed_key(key, seed);
    key[1] ^= SHUFFLE_PURPOSE;
    for (int64_t i = 0; i < n; i++)
        order[i] = i;
    for (int64_t i = n - 1; i > 0; i--) {
        uint32_t counter[4] = {(uint32_t)i, (uint32_t)((uint64_t)i >> 32), (uint32_t)epoch,
                               (uint32_t)(epoch >> 32)};
        uint32_t r[4];
        lc_philox4x32_10(r, counter, key);
        uint64_t bits = (uint64_t)r[0] << 32 | r[1];
        int64_t j = (int64_t)(bits % (uint64_t)(i + 1)); // bias < n / 2^64
        int64_t t = order[i];
        order[i] = order[j];
        order[j] = t;
    }
}

lc_status lc_batcher_init(lc_batcher *b, int64_t n, int64_t batch_size, uint64_t seed, bool shuffle,
                          bool drop_last) {
    memset(b, 0, sizeof *b);
    if (n < 1 || batch_size < 1)
        return lc_fail(LC_ERR_INVALID_ARG, "batcher: %lld items in batches of %lld", (long long)n,
                       (long long)batch_size);
    if (drop_last && batch_size > n)
        return lc_fail(LC_ERR_INVALID_ARG,
                       "batcher: batch size %lld is larger than the %lld items (drop_last)",
                       (long long)batch_size, (long long)n);
    b->order = malloc((size_t)n * sizeof(int64_t));
    if (!b->order) return lc_fail(LC_ERR_NOMEM, "batcher: out of memory");
    b->n = n, b->batch_size = batch_size, b->seed = seed;
    b->shuffle = shuffle, b->drop_last = drop_last;
    lc_batcher_start_epoch(b, 0, 0);
    return LC_OK;
}

void lc_batcher_start_epoch(lc_batcher *b, uint64_t epoch, int64_t position) {
    b->epoch = epoch;
    b->next = position < 0 ? 0 : position > b->n ? b->n : position;
    if (b->shuffle)
        lc_shuffle_order(b->order, b->n, b->seed, epoch);
    else
        for (int64_t i = 0; i < b->n; i++)
            b->order[i] = i;
}

bool lc_batcher_next(lc_batcher *b, const int64_t **indices, int64_t *count) {
    int64_t left = b->n - b->next;
    if (left <= 0 || (b->drop_last && left < b->batch_size)) return false;
    *count = left < b->batch_size ? left : b->batch_size;
    *indices = b->order + b->next;
    b->next += *count;
    return true;
}

int64_t lc_batcher_batches_per_epoch(const lc_batcher *b) {
    return b->drop_last ? b->n / b->batch_size : (b->n + b->batch_size - 1) / b->batch_size;
}

void lc_batcher_free(lc_batcher *b) {
    if (!b) return;
    free(b->order);
    memset(b, 0, sizeof *b);
}
