// Self-checks of cl/rng.cl against the host Philox.
#include <stdlib.h>
#include <string.h>

#include "latentcl/rng.h"
#include "selftest/selftest.h"

enum { CHECK_N = 4099 }; // not a multiple of 4: the tail path runs too

lc_status lc_check_philox_bits(lc_device *dev, lc_selftest_result *r) {
    // The published known answer (Random123 kat_vectors) first, then a run of blocks.
    const uint32_t ctr[4] = {0x243f6a88u, 0x85a308d3u, 0x13198a2eu, 0x03707344u};
    const uint64_t seed = ((uint64_t)0x299f31d0u << 32) | 0xa4093822u;
    const uint32_t want[4] = {0xd16cfe09u, 0x94fdccebu, 0x5001e420u, 0x24126ea1u};
    enum { BLOCKS = 1000 };
    uint32_t *got = malloc(BLOCKS * 4 * sizeof *got);
    if (!got) return lc_fail(LC_ERR_NOMEM, "out of memory");
    cl_mem buf = NULL;
    lc_status s = lc_buffer_alloc(&buf, dev, BLOCKS * 4 * sizeof *got);
    if (s == LC_OK) s = lc_rng_bits(dev, buf, BLOCKS, seed, ctr);
    if (s == LC_OK) s = lc_read(dev, got, buf, 0, BLOCKS * 4 * sizeof *got);
    lc_buffer_free(buf);
    if (s != LC_OK) {
        free(got);
        return s;
    }
    int bad = memcmp(got, want, sizeof want) != 0;
    uint32_t key[2];
    lc_seed_key(key, seed);
    for (uint32_t i = 0; i < BLOCKS && !bad; i++) {
        uint32_t c[4] = {ctr[0] + i, ctr[1], ctr[2], ctr[3]}, h[4];
        lc_philox4x32_10(h, c, key);
        bad = memcmp(h, got + 4 * i, sizeof h) != 0;
    }
    free(got);
    r->fwd_err = bad ? 1 : 0;
    r->tolerance = 0;
    r->ok = !bad;
    r->detail = "known-answer vector and 1000 blocks bit-identical to the host";
    return LC_OK;
}

static lc_status check_fill(lc_device *dev, lc_selftest_result *r, int normal, double tol) {
    const uint32_t ctr[4] = {7, 0, 3, 0};
    float *dev_vals = malloc(CHECK_N * sizeof(float)), *host_vals = malloc(CHECK_N * sizeof(float));
    cl_mem buf = NULL;
    lc_status s = (dev_vals && host_vals) ? lc_buffer_alloc(&buf, dev, CHECK_N * sizeof(float))
                                          : lc_fail(LC_ERR_NOMEM, "out of memory");
    if (s == LC_OK) s = lc_rng_fill(dev, buf, CHECK_N, normal, 12345, ctr);
    if (s == LC_OK) s = lc_read(dev, dev_vals, buf, 0, CHECK_N * sizeof(float));
    if (s == LC_OK) {
        lc_rng_fill_host(host_vals, CHECK_N, normal, 12345, ctr);
        r->fwd_err = lc_max_abs_diff(dev_vals, host_vals, CHECK_N);
        r->tolerance = tol;
        r->ok = r->fwd_err <= tol;
    }
    lc_buffer_free(buf);
    free(dev_vals);
    free(host_vals);
    return s;
}

lc_status lc_check_philox_uniform(lc_device *dev, lc_selftest_result *r) {
    r->detail = "4099 uniforms, bit-identical to the host";
    return check_fill(dev, r, 0, 0.0);
}

lc_status lc_check_philox_normal(lc_device *dev, lc_selftest_result *r) {
    r->detail = "4099 normals (Box-Muller), within the device's log/sqrt/cos rounding";
    return check_fill(dev, r, 1, 1e-4);
}
