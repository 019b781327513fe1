// lc_dist in one process (include/latentcl/dist.h): how a batch is split between ranks,
// and that every collective of a single rank leaves the data as it is. The N-rank
// behaviour is tested by tests/mpi/*.sh under mpirun (built with -DLATENTCL_MPI=ON).
#include <stdlib.h>
#include <string.h>

#include "latentcl/dist.h"
#include "test_util.h"

// Every split is contiguous, in rank order, covers the batch exactly once, and its
// sizes differ by at most one.
static void test_shard_covers_batch(void **state) {
    (void)state;
    for (int size = 1; size <= 9; size++)
        for (int64_t count = 0; count <= 40; count++) {
            int64_t next = 0, lo = INT64_MAX, hi = 0;
            for (int r = 0; r < size; r++) {
                int64_t first, n;
                lc_dist_shard(&first, &n, count, r, size);
                if (count == 0) {
                    assert_int_equal(n, 0);
                    continue;
                }
                assert_int_equal(first, next);
                assert_true(n >= 0);
                next = first + n;
                lo = n < lo ? n : lo;
                hi = n > hi ? n : hi;
            }
            if (count > 0) {
                assert_int_equal(next, count);
                assert_true(hi - lo <= 1);
            }
        }
}

static void test_shard_examples(void **state) {
    (void)state;
    int64_t first, n;
    lc_dist_shard(&first, &n, 15, 0, 2); // 7 + 8
    assert_int_equal(first, 0);
    assert_int_equal(n, 7);
    lc_dist_shard(&first, &n, 15, 1, 2);
    assert_int_equal(first, 7);
    assert_int_equal(n, 8);
    lc_dist_shard(&first, &n, 2, 0, 3); // fewer items than ranks: rank 0 idle
    assert_int_equal(n, 0);
    lc_dist_shard(&first, &n, 5, 0, 1); // one rank: everything
    assert_int_equal(first, 0);
    assert_int_equal(n, 5);
}

// Without mpirun (this test is never started by one) the process is rank 0 of 1 and the
// collectives are identities.
static void test_single_rank_collectives(void **state) {
    (void)state;
    assert_ok(lc_dist_init(NULL, NULL));
    assert_int_equal(lc_dist_size(), 1);
    assert_int_equal(lc_dist_rank(), 0);
    assert_int_equal(lc_dist_local_size(), 1);
    assert_int_equal(lc_dist_local_rank(), 0);
    float f[3] = {1.5f, -2.0f, 3.25f};
    assert_ok(lc_dist_allreduce_sum_f32(f, 3));
    assert_true(f[0] == 1.5f && f[1] == -2.0f && f[2] == 3.25f);
    double d[2] = {0.125, 7.0};
    assert_ok(lc_dist_allreduce_sum_f64(d, 2));
    assert_true(d[0] == 0.125 && d[1] == 7.0);
    int flag = 1;
    assert_ok(lc_dist_allreduce_max_int(&flag));
    assert_int_equal(flag, 1);
    float out[3] = {0};
    assert_ok(lc_dist_allgather_f32(out, f, 3));
    assert_memory_equal(out, f, sizeof f);
    float out2[3] = {0};
    size_t counts[1] = {3};
    assert_ok(lc_dist_allgatherv_f32(out2, f, counts));
    assert_memory_equal(out2, f, sizeof f);
    char text[6] = "hello";
    assert_ok(lc_dist_broadcast(text, sizeof text, 0));
    assert_string_equal(text, "hello");
    assert_ok(lc_dist_barrier());
    assert_ok(lc_dist_finalize());
    assert_int_equal(lc_dist_size(), 1);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_shard_covers_batch),
        cmocka_unit_test(test_shard_examples),
        cmocka_unit_test(test_single_rank_collectives),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
