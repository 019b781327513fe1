// Kernels of the caption transformer (src/models/text.c).

// out[b] = b * T + eos[eo + b] (clamped into the row): the flat index of caption b's <eos>
// position in the (B * T, D) hidden states, for gathering them with lc_embedding.
__kernel void eos_rows(__global int *out, __global const int *eos, int eo, int B, int T) {
    int b = get_global_id(0);
    if (b >= B) return;
    out[b] = b * T + clamp(eos[eo + b], 0, T - 1);
}
