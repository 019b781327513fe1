// Device random numbers (cl/rng.cl) and their host reference.
#include <math.h>

#include "latentcl/rng.h"

// The Philox key (the seed's two words) and counter: kernel arguments first .. first + 5.
static lc_status set_philox_args(cl_kernel k, cl_uint first, uint64_t seed,
                                 const uint32_t counter[4]) {
    const cl_uint key[2] = {(cl_uint)seed, (cl_uint)(seed >> 32)};
    for (cl_uint i = 0; i < 2; i++)
        LC_TRY(LC_ARG(k, first + i, key[i]));
    for (cl_uint i = 0; i < 4; i++) {
        cl_uint c = counter[i];
        LC_TRY(LC_ARG(k, first + 2 + i, c));
    }
    return LC_OK;
}

lc_status lc_rng_fill(lc_device *dev, cl_mem out, size_t count, int normal, uint64_t seed,
                      const uint32_t counter[4]) {
    if (count == 0) return LC_OK;
    if (count > 0xFFFFFFFFull)
        return lc_fail(LC_ERR_INVALID_ARG, "lc_rng_fill: %zu values is too many", count);
    cl_kernel k;
    LC_TRY(lc_device_kernel(&k, dev, "rng", "philox_fill"));
    cl_uint n = (cl_uint)count, nrm = normal ? 1u : 0u;
    LC_TRY(LC_ARG(k, 0, out));
    LC_TRY(LC_ARG(k, 1, n));
    LC_TRY(LC_ARG(k, 2, nrm));
    LC_TRY(set_philox_args(k, 3, seed, counter));
    size_t global = (count + 3) / 4;
    return lc_launch(dev, k, "philox_fill", 1, &global, NULL);
}

lc_status lc_rng_bits(lc_device *dev, cl_mem out, size_t blocks, uint64_t seed,
                      const uint32_t counter[4]) {
    if (blocks == 0) return LC_OK;
    if (blocks > 0xFFFFFFFFull) return lc_fail(LC_ERR_INVALID_ARG, "lc_rng_bits: too many blocks");
    cl_kernel k;
    LC_TRY(lc_device_kernel(&k, dev, "rng", "philox_bits"));
    cl_uint n = (cl_uint)blocks;
    LC_TRY(LC_ARG(k, 0, out));
    LC_TRY(LC_ARG(k, 1, n));
    LC_TRY(set_philox_args(k, 2, seed, counter));
    size_t global = blocks;
    return lc_launch(dev, k, "philox_bits", 1, &global, NULL);
}

void lc_rng_fill_host(float *out, size_t count, int normal, uint64_t seed,
                      const uint32_t counter[4]) {
    uint32_t key[2];
    lc_seed_key(key, seed);
    for (size_t base = 0, i = 0; base < count; base += 4, i++) {
        uint32_t ctr[4] = {counter[0] + (uint32_t)i, counter[1], counter[2], counter[3]}, r[4];
        lc_philox4x32_10(r, ctr, key);
        float v[4];
        for (int j = 0; j < 4; j++)
            v[j] = lc_uniform_from_u32(r[j]);
        if (normal) {
            float rad0 = sqrtf(-2.0f * logf(v[0])), rad1 = sqrtf(-2.0f * logf(v[2]));
            float ang0 = 6.28318530717958647692f * v[1], ang1 = 6.28318530717958647692f * v[3];
            float nv[4] = {rad0 * cosf(ang0), rad0 * sinf(ang0), rad1 * cosf(ang1),
                           rad1 * sinf(ang1)};
            for (int j = 0; j < 4; j++)
                v[j] = nv[j];
        }
        for (int j = 0; j < 4 && base + (size_t)j < count; j++)
            out[base + (size_t)j] = v[j];
    }
}
