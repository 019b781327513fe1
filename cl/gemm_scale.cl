// C = beta * C for a GEMM with k == 0 (no products to add). beta == 0 writes
// zeros without reading C, as BLAS does, so NaNs in C do not survive.
// Global size (n, m, batch); C row-major with leading dimension ld.
__kernel void gemm_scale_c(__global float *c, ulong offset, ulong ld, ulong stride, uint m, uint n,
                           float beta) {
    size_t j = get_global_id(0), i = get_global_id(1), b = get_global_id(2);
    if (i >= m || j >= n) return;
    __global float *p = c + offset + b * stride + i * ld + j;
    *p = beta == 0.0f ? 0.0f : beta * *p;
}
