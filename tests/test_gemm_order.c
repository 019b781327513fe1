// Regression: the host-BLAS GEMM must not depend on the order in which its
// buffers were created (PoCL 3.1 fills a native kernel's mem-list pointer
// slots in its own buffer order; that once swapped A and B).
#include <stdlib.h>
#include <string.h>

#include "test_util.h"
#include "latentcl/gemm.h"
#include "latentcl/rng.h"

static void check_order(lc_gemm_backend backend, const int order[3]) {
    lc_device *dev = NULL;
    assert_ok(lc_device_open(&dev, NULL));
    if (lc_gemm_set_backend(dev, backend) != LC_OK) { // CLBlast may be absent on a device
        lc_device_close(dev);
        skip();
    }
    // C (2, 3) = A (2, 2) * B^T, B (3, 2): distinct values so a swap shows.
    const float a[4] = {1, 2, 3, 4}, b[6] = {1, 0, 2, 1, 0, 1};
    const float want[6] = {1, 4, 2, 3, 10, 4};
    cl_mem bufs[3] = {NULL, NULL, NULL}; // A, B, C
    size_t sizes[3] = {sizeof a, sizeof b, 6 * sizeof(float)};
    for (int i = 0; i < 3; i++)
        assert_ok(lc_buffer_alloc(&bufs[order[i]], dev, sizes[order[i]]));
    assert_ok(lc_write(dev, bufs[0], 0, a, sizeof a));
    assert_ok(lc_write(dev, bufs[1], 0, b, sizeof b));
    lc_matrix ma = {bufs[0], 0, 2}, mb = {bufs[1], 0, 2}, mc = {bufs[2], 0, 3};
    assert_ok(lc_gemm(dev, 0, 1, 2, 3, 2, 1.0f, ma, mb, 0.0f, mc));
    float c[6];
    assert_ok(lc_read(dev, c, bufs[2], 0, sizeof c));
    for (int i = 0; i < 6; i++)
        assert_float_equal(c[i], want[i], 1e-6);
    // A, B and C in one buffer (offsets) too.
    cl_mem one;
    assert_ok(lc_buffer_alloc(&one, dev, 16 * sizeof(float)));
    assert_ok(lc_write(dev, one, 0, a, sizeof a));
    assert_ok(lc_write(dev, one, 4 * sizeof(float), b, sizeof b));
    lc_matrix sa = {one, 0, 2}, sb = {one, 4, 2}, sc = {one, 10, 3};
    assert_ok(lc_gemm(dev, 0, 1, 2, 3, 2, 1.0f, sa, sb, 0.0f, sc));
    assert_ok(lc_read(dev, c, one, 10 * sizeof(float), sizeof c));
    for (int i = 0; i < 6; i++)
        assert_float_equal(c[i], want[i], 1e-6);
    lc_buffer_free(one);
    for (int i = 0; i < 3; i++)
        lc_buffer_free(bufs[i]);
    lc_device_close(dev);
}

static void test_host_any_creation_order(void **state) {
    (void)state;
    const int orders[6][3] = {{0, 1, 2}, {1, 0, 2}, {2, 1, 0}, {1, 2, 0}, {2, 0, 1}, {0, 2, 1}};
    for (int i = 0; i < 6; i++)
        check_order(LC_GEMM_HOST, orders[i]);
}

static void test_clblast_any_creation_order(void **state) {
    (void)state;
    const int order[3] = {1, 0, 2};
    check_order(LC_GEMM_CLBLAST, order);
}

// Inputs written by a kernel and by clEnqueueCopyBuffer (not by the host) are
// what the host GEMM sees: it runs in the queue after them.
static void test_host_after_kernel_and_copy(void **state) {
    (void)state;
    lc_device *dev = NULL;
    assert_ok(lc_device_open(&dev, NULL));
    if (lc_gemm_set_backend(dev, LC_GEMM_HOST) == LC_ERR_UNSUPPORTED) {
        // The default device runs no native kernels (a GPU): test on the CPU device.
        lc_device_close(dev);
        lc_device_options cpu = {.spec = "cpu", .profile = 0};
        assert_ok(lc_device_open(&dev, &cpu));
        assert_ok(lc_gemm_set_backend(dev, LC_GEMM_HOST));
    }
    enum { M = 5, N = 7, K = 9 };
    cl_mem a, a_copy, b, c;
    assert_ok(lc_buffer_alloc(&c, dev, M * N * sizeof(float)));
    assert_ok(lc_buffer_alloc(&b, dev, K * N * sizeof(float)));
    assert_ok(lc_buffer_alloc(&a, dev, M * K * sizeof(float)));
    assert_ok(lc_buffer_alloc(&a_copy, dev, M * K * sizeof(float)));
    const uint32_t ctr_a[4] = {1, 0, 0, 0}, ctr_b[4] = {2, 0, 0, 0};
    assert_ok(lc_rng_fill(dev, a, M * K, 1, 5, ctr_a));
    assert_ok(lc_rng_fill(dev, b, K * N, 1, 5, ctr_b));
    cl_int err = clEnqueueCopyBuffer(lc_device_queue(dev), a, a_copy, 0, 0, M * K * sizeof(float),
                                     0, NULL, NULL);
    assert_int_equal(err, CL_SUCCESS);
    lc_matrix ma = {a_copy, 0, K}, mb = {b, 0, N}, mc = {c, 0, N};
    assert_ok(lc_gemm(dev, 0, 0, M, N, K, 1.0f, ma, mb, 0.0f, mc));
    float ha[M * K], hb[K * N], hc[M * N];
    assert_ok(lc_read(dev, ha, a, 0, sizeof ha));
    assert_ok(lc_read(dev, hb, b, 0, sizeof hb));
    assert_ok(lc_read(dev, hc, c, 0, sizeof hc));
    for (int i = 0; i < M; i++)
        for (int j = 0; j < N; j++) {
            double want = 0;
            for (int k = 0; k < K; k++)
                want += (double)ha[i * K + k] * hb[k * N + j];
            assert_float_equal(hc[i * N + j], want, 1e-4);
        }
    lc_buffer_free(a);
    lc_buffer_free(a_copy);
    lc_buffer_free(b);
    lc_buffer_free(c);
    lc_device_close(dev);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_host_any_creation_order),
        cmocka_unit_test(test_clblast_any_creation_order),
        cmocka_unit_test(test_host_after_kernel_and_copy),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
