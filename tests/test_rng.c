// Philox4x32-10: published known answers, device == host, distributions.
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "test_util.h"
#include "latentcl/rng.h"

static void test_known_answers(void **state) {
    (void)state;
    // Random123's kat_vectors for philox4x32_10.
    struct {
        uint32_t ctr[4], key[2], want[4];
    } kat[] = {
        {{0, 0, 0, 0}, {0, 0}, {0x6627e8d5u, 0xe169c58du, 0xbc57ac4cu, 0x9b00dbd8u}},
        {{~0u, ~0u, ~0u, ~0u}, {~0u, ~0u}, {0x408f276du, 0x41c83b0eu, 0xa20bc7c6u, 0x6d5451fdu}},
        {{0x243f6a88u, 0x85a308d3u, 0x13198a2eu, 0x03707344u},
         {0xa4093822u, 0x299f31d0u},
         {0xd16cfe09u, 0x94fdccebu, 0x5001e420u, 0x24126ea1u}},
    };
    for (size_t i = 0; i < sizeof kat / sizeof *kat; i++) {
        uint32_t out[4];
        lc_philox4x32_10(out, kat[i].ctr, kat[i].key);
        assert_memory_equal(out, kat[i].want, sizeof out);
    }
}

static void test_device_matches_host(void **state) {
    (void)state;
    lc_device *dev = NULL;
    assert_ok(lc_device_open(&dev, NULL));
    // Device known answers through the kernel: all three vectors.
    struct {
        uint32_t ctr[4];
        uint64_t seed;
        uint32_t want[4];
    } kat[] = {
        {{0, 0, 0, 0}, 0, {0x6627e8d5u, 0xe169c58du, 0xbc57ac4cu, 0x9b00dbd8u}},
        {{~0u, ~0u, ~0u, ~0u}, ~0ull, {0x408f276du, 0x41c83b0eu, 0xa20bc7c6u, 0x6d5451fdu}},
    };
    cl_mem buf;
    assert_ok(lc_buffer_alloc(&buf, dev, 1003 * sizeof(float)));
    for (size_t i = 0; i < 2; i++) {
        uint32_t got[4];
        assert_ok(lc_rng_bits(dev, buf, 1, kat[i].seed, kat[i].ctr));
        assert_ok(lc_read(dev, got, buf, 0, sizeof got));
        assert_memory_equal(got, kat[i].want, sizeof got);
    }
    // Uniforms bit-identical, normals within rounding, odd counts included.
    float dv[1003], hv[1003];
    uint32_t ctr[4] = {5, 1, 2, 3};
    assert_ok(lc_rng_fill(dev, buf, 1003, 0, 42, ctr));
    assert_ok(lc_read(dev, dv, buf, 0, sizeof dv));
    lc_rng_fill_host(hv, 1003, 0, 42, ctr);
    assert_memory_equal(dv, hv, sizeof dv);
    assert_ok(lc_rng_fill(dev, buf, 1003, 1, 42, ctr));
    assert_ok(lc_read(dev, dv, buf, 0, sizeof dv));
    lc_rng_fill_host(hv, 1003, 1, 42, ctr);
    for (int i = 0; i < 1003; i++)
        assert_float_equal(dv[i], hv[i], 1e-4);
    lc_buffer_free(buf);
    lc_device_close(dev);
}

static void test_distributions(void **state) {
    (void)state;
    enum { N = 200000 };
    float *v = malloc(N * sizeof *v);
    uint32_t ctr[4] = {0, 0, 0, 0};
    lc_rng_fill_host(v, N, 0, 7, ctr);
    double mean = 0, lo = 1, hi = 0;
    for (int i = 0; i < N; i++) {
        mean += v[i];
        if (v[i] < lo) lo = v[i];
        if (v[i] > hi) hi = v[i];
    }
    mean /= N;
    assert_true(fabs(mean - 0.5) < 0.005); // sd of the mean = 0.29/sqrt(N) = 0.00065
    assert_true(lo > 0 && hi < 1);
    lc_rng_fill_host(v, N, 1, 7, ctr);
    double m = 0, m2 = 0;
    for (int i = 0; i < N; i++)
        m += v[i], m2 += (double)v[i] * v[i];
    m /= N;
    m2 = m2 / N - m * m;
    assert_true(fabs(m) < 0.01);
    assert_true(fabs(m2 - 1) < 0.02);
    // Different seeds and counters differ; the same ones agree.
    float a[8], b[8], c[8];
    lc_rng_fill_host(a, 8, 0, 1, ctr);
    lc_rng_fill_host(b, 8, 0, 1, ctr);
    lc_rng_fill_host(c, 8, 0, 2, ctr);
    assert_memory_equal(a, b, sizeof a);
    assert_memory_not_equal(a, c, sizeof a);
    free(v);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_known_answers),
        cmocka_unit_test(test_device_matches_host),
        cmocka_unit_test(test_distributions),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
