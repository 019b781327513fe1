// latentcl — counter-based random numbers (Philox4x32-10).
//
// The same (key, counter) gives the same four 32-bit words on the host and on
// every OpenCL device (cl/rng.cl implements the identical function), so a seed
// reproduces a run anywhere. Draws are keyed, not streamed: a value is a pure
// function of (seed, purpose, step, index), never of how many draws came before.
#ifndef LATENTCL_RNG_H
#define LATENTCL_RNG_H

#include <stddef.h>
#include <stdint.h>

#include "latentcl/device.h"

#ifdef __cplusplus
extern "C" {
#endif

// One Philox4x32-10 block: out = philox(counter, key).
void lc_philox4x32_10(uint32_t out[4], const uint32_t counter[4], const uint32_t key[2]);

// A uniform float in (0, 1) from 32 random bits (24 bits of mantissa, never 0 or 1).
static inline float lc_uniform_from_u32(uint32_t x) {
    return ((float)(x >> 8) + 0.5f) * (1.0f / 16777216.0f);
}

// The key words of a 64-bit seed.
static inline void lc_seed_key(uint32_t key[2], uint64_t seed) {
    key[0] = (uint32_t)seed;
    key[1] = (uint32_t)(seed >> 32);
}

// Fills out[0..count) on the device: uniform (0, 1) or, with normal != 0,
// standard normal (Box-Muller). Value j comes from the Philox block with
// counter (counter[0] + j / 4, counter[1], counter[2], counter[3]), lane j % 4.
lc_status lc_rng_fill(lc_device *dev, cl_mem out, size_t count, int normal, uint64_t seed,
                      const uint32_t counter[4]);
// The same numbers on the host (the reference; uniforms bit-identical, normals
// equal up to the rounding of the device's log/sqrt/cos).
void lc_rng_fill_host(float *out, size_t count, int normal, uint64_t seed,
                      const uint32_t counter[4]);
// Raw Philox blocks on the device: out holds 4 * blocks words.
lc_status lc_rng_bits(lc_device *dev, cl_mem out, size_t blocks, uint64_t seed,
                      const uint32_t counter[4]);

#ifdef __cplusplus
}
#endif
#endif
