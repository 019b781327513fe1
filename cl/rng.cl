// Philox4x32-10 counter-based random numbers (twin of src/device/philox_host.c).
// Work item i produces four values from counter (ctr0 + i, ctr1, ctr2, ctr3)
// under key (key0, key1): a value depends only on (key, counter), never on
// the launch shape, so every device draws the same numbers.

#define PHILOX_M0 0xD2511F53u
#define PHILOX_M1 0xCD9E8D57u
#define PHILOX_W0 0x9E3779B9u
#define PHILOX_W1 0xBB67AE85u

uint4 philox4x32_10(uint4 c, uint2 k) {
    for (int round = 0; round < 10; round++) {
        uint hi0 = mul_hi(PHILOX_M0, c.x), lo0 = PHILOX_M0 * c.x;
        uint hi1 = mul_hi(PHILOX_M1, c.z), lo1 = PHILOX_M1 * c.z;
        c = (uint4)(hi1 ^ c.y ^ k.x, lo1, hi0 ^ c.w ^ k.y, lo0);
        k += (uint2)(PHILOX_W0, PHILOX_W1);
    }
    return c;
}

// 24 random bits -> (0, 1), never 0 or 1 (log() of it is finite).
float4 philox_uniform4(uint4 r) {
    return (convert_float4(r >> 8) + 0.5f) * (1.0f / 16777216.0f);
}

// Box-Muller on two uniform pairs: four standard normals.
float4 philox_normal4(uint4 r) {
    float4 u = philox_uniform4(r);
    float2 rad = sqrt(-2.0f * log(u.s02));
    float2 ang = 6.28318530717958647692f * u.s13;
    return (float4)(rad.x * cos(ang.x), rad.x * sin(ang.x), rad.y * cos(ang.y), rad.y * sin(ang.y));
}

// Raw bits: out (4 * n) words.
__kernel void philox_bits(__global uint4 *out, uint n, uint key0, uint key1, uint ctr0, uint ctr1,
                          uint ctr2, uint ctr3) {
    uint i = get_global_id(0);
    if (i >= n) return;
    out[i] = philox4x32_10((uint4)(ctr0 + i, ctr1, ctr2, ctr3), (uint2)(key0, key1));
}

// out[j] for j < count: uniform (0,1) (normal = 0) or standard normal (normal = 1),
// value j taken from block j / 4, lane j % 4.
__kernel void philox_fill(__global float *out, uint count, uint normal, uint key0, uint key1,
                          uint ctr0, uint ctr1, uint ctr2, uint ctr3) {
    uint i = get_global_id(0);
    uint base = i * 4;
    if (base >= count) return;
    uint4 r = philox4x32_10((uint4)(ctr0 + i, ctr1, ctr2, ctr3), (uint2)(key0, key1));
    float4 v = normal ? philox_normal4(r) : philox_uniform4(r);
    if (base + 3 < count) {
        vstore4(v, 0, out + base);
    } else {
        float tail[4] = {v.x, v.y, v.z, v.w};
        for (uint j = 0; base + j < count; j++) out[base + j] = tail[j];
    }
}
