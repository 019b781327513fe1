// Random numbers on the device: raw Philox blocks and uniform / normal fills.
// Work item i produces four values from counter (ctr0 + i, ctr1, ctr2, ctr3)
// under key (key0, key1).
#include "philox.clh"

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
