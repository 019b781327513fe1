// GEMM: both backends (CLBlast, host BLAS as a native kernel) against a naive
// double-precision host reference on awkward shapes, strided batches, k == 0,
// bad arguments, backend choice (LATENTCL_GEMM, the auto rule) and profiling.
// CLBlast compiles kernels on first use in the process (seconds on PoCL), so
// the shapes are few and the device is opened once.
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "test_util.h"

#include "device/gemm_internal.h"
#include "latentcl/device.h"
#include "latentcl/gemm.h"
#include "latentcl/selftest.h"

static lc_device *g_dev;

static int setup(void **state) {
    (void)state;
    unsetenv("LATENTCL_GEMM");
    lc_device_options o = {.spec = "cpu", .profile = 0};
    lc_status s = lc_device_open(&g_dev, &o);
    if (s != LC_OK) {
        print_error("lc_device_open: %s\n", lc_last_error());
        return -1;
    }
    return 0;
}

static int teardown(void **state) {
    (void)state;
    lc_device_close(g_dev);
    return 0;
}

static float frand(unsigned *seed) {
    *seed = *seed * 1664525u + 1013904223u;
    return (float)((*seed >> 8) & 0xffff) / 32768.0f - 1.0f; // [-1, 1)
}

static cl_mem upload(const float *x, size_t count) {
    cl_mem m = NULL;
    assert_ok(lc_buffer_alloc(&m, g_dev, count * sizeof(float)));
    assert_ok(lc_write(g_dev, m, 0, x, count * sizeof(float)));
    return m;
}

typedef struct {
    int trans_a, trans_b;
    size_t m, n, k;
    float alpha, beta;
    size_t off_a, off_b, off_c; // elements
    size_t pad_a, pad_b, pad_c; // ld = columns as stored + pad
    size_t batch;               // 0 means a plain lc_gemm call
    size_t gap;                 // extra elements between batch matrices
} gemm_case;

// Runs one case on `backend` and checks every element of C (and that the
// padding and the space around C is untouched) against a double reference.
static void check_case(lc_gemm_backend backend, const gemm_case *t) {
    size_t batch = t->batch ? t->batch : 1;
    size_t ra = t->trans_a ? t->k : t->m, ca = t->trans_a ? t->m : t->k;
    size_t rb = t->trans_b ? t->n : t->k, cb = t->trans_b ? t->k : t->n;
    size_t lda = ca + t->pad_a, ldb = cb + t->pad_b, ldc = t->n + t->pad_c;
    size_t sa = ra * lda + t->gap, sb = rb * ldb + t->gap, sc = t->m * ldc + t->gap;
    size_t na = t->off_a + batch * sa, nb = t->off_b + batch * sb, nc = t->off_c + batch * sc + 3;
    // +1: k == 0 cases have empty A and B, and malloc(0) may return NULL.
    float *a = malloc((na + 1) * sizeof *a), *b = malloc((nb + 1) * sizeof *b);
    float *c = malloc(nc * sizeof *c);
    float *out = malloc(nc * sizeof *out);
    assert_non_null(a);
    assert_non_null(b);
    assert_non_null(c);
    assert_non_null(out);
    unsigned seed = 12345u + (unsigned)(t->m * 7 + t->n * 13 + t->k);
    for (size_t i = 0; i < na; i++)
        a[i] = frand(&seed);
    for (size_t i = 0; i < nb; i++)
        b[i] = frand(&seed);
    // beta == 0 means C is not read: NaN there must not reach the result.
    for (size_t i = 0; i < nc; i++)
        c[i] = t->beta == 0.0f ? NAN : frand(&seed);
    cl_mem da = upload(a, na), db = upload(b, nb), dc = upload(c, nc);
    assert_ok(lc_gemm_set_backend(g_dev, backend));
    lc_matrix ma = {da, t->off_a, lda}, mb = {db, t->off_b, ldb}, mc = {dc, t->off_c, ldc};
    if (t->batch)
        assert_ok(lc_gemm_strided_batched(g_dev, t->trans_a, t->trans_b, t->m, t->n, t->k, t->alpha,
                                          ma, sa, mb, sb, t->beta, mc, sc, t->batch));
    else
        assert_ok(lc_gemm(g_dev, t->trans_a, t->trans_b, t->m, t->n, t->k, t->alpha, ma, mb,
                          t->beta, mc));
    assert_ok(lc_read(g_dev, out, dc, 0, nc * sizeof *out));

    // Everything outside the m x n blocks keeps its bits.
    char *inside = calloc(nc, 1);
    assert_non_null(inside);
    for (size_t p = 0; p < batch; p++)
        for (size_t i = 0; i < t->m; i++)
            for (size_t j = 0; j < t->n; j++)
                inside[t->off_c + p * sc + i * ldc + j] = 1;
    for (size_t i = 0; i < nc; i++)
        if (!inside[i] && memcmp(&out[i], &c[i], sizeof(float)) != 0)
            fail_msg("%s: element %zu outside C changed", lc_gemm_backend_name(backend), i);

    for (size_t p = 0; p < batch; p++) {
        const float *pa = a + t->off_a + p * sa, *pb = b + t->off_b + p * sb;
        const float *pc = c + t->off_c + p * sc, *po = out + t->off_c + p * sc;
        for (size_t i = 0; i < t->m; i++)
            for (size_t j = 0; j < t->n; j++) {
                double sum = 0, mag = 0;
                for (size_t q = 0; q < t->k; q++) {
                    double x = t->trans_a ? pa[q * lda + i] : pa[i * lda + q];
                    double y = t->trans_b ? pb[j * ldb + q] : pb[q * ldb + j];
                    sum += x * y;
                    mag += fabs(x * y);
                }
                double ref = t->alpha * sum, bound = fabs(t->alpha) * mag;
                if (t->beta != 0.0f) {
                    ref += t->beta * (double)pc[i * ldc + j];
                    bound += fabs(t->beta * (double)pc[i * ldc + j]);
                }
                double got = po[i * ldc + j];
                // float accumulation: error grows at most ~k ulps of the magnitudes.
                double tol = 4.0 * (double)(t->k + 2) * FLT_EPSILON * bound + 1e-6;
                if (!(fabs(got - ref) <= tol))
                    fail_msg("%s m=%zu n=%zu k=%zu ta=%d tb=%d batch %zu C[%zu,%zu] = %.7g, "
                             "reference %.7g (tol %.2g)",
                             lc_gemm_backend_name(backend), t->m, t->n, t->k, t->trans_a,
                             t->trans_b, p, i, j, got, ref, tol);
            }
    }
    free(inside);
    lc_buffer_free(da);
    lc_buffer_free(db);
    lc_buffer_free(dc);
    free(a);
    free(b);
    free(c);
    free(out);
}

// Few distinct shapes: every CLBlast shape class costs a kernel build.
static const gemm_case cases[] = {
    {0, 0, 1, 1, 1, 1.0f, 0.0f, 0, 0, 0, 0, 0, 0, 0, 0},
    {0, 0, 7, 33, 129, 0.5f, -2.0f, 3, 5, 7, 1, 2, 3, 0, 0},
    {1, 0, 33, 7, 1, -1.5f, 0.25f, 1, 1, 1, 4, 0, 2, 0, 0},
    {0, 1, 129, 1, 7, 2.0f, 1.0f, 0, 2, 5, 0, 3, 1, 0, 0},
    {1, 1, 33, 129, 33, 1.0f, 0.0f, 11, 0, 2, 2, 2, 0, 0, 0},
    {0, 0, 64, 48, 96, 1.0f, 0.5f, 0, 0, 0, 0, 0, 0, 0, 0},
};

static void test_cases_host(void **state) {
    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        check_case(LC_GEMM_HOST, &cases[i]);
}

static void test_cases_clblast(void **state) {
    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        check_case(LC_GEMM_CLBLAST, &cases[i]);
}

static const gemm_case batched = {1, 0, 7, 33, 5, 0.75f, 0.5f, 2, 3, 1, 1, 0, 2, 3, 4};

static void test_batched_host(void **state) {
    (void)state;
    check_case(LC_GEMM_HOST, &batched);
}

static void test_batched_clblast(void **state) {
    (void)state;
    check_case(LC_GEMM_CLBLAST, &batched);
}

// Products large enough (>= 4 MFLOP) for the host backend to split them over its threads:
// bands of rows (m >= n), of columns (m < n), or whole products of a batch; sizes that are
// not multiples of the bands' alignment, every transpose, offsets and padded rows. Run
// with 3 threads (uneven bands) and with the device's automatic count.
static const gemm_case split_cases[] = {
    {0, 0, 301, 45, 173, 1.0f, 0.0f, 3, 1, 2, 1, 0, 3, 0, 0},
    {1, 0, 37, 517, 129, 0.5f, 1.0f, 0, 2, 0, 0, 5, 0, 0, 0},
    {0, 1, 250, 251, 33, -1.0f, 0.5f, 1, 0, 4, 2, 1, 0, 0, 0},
    {1, 1, 67, 403, 97, 2.0f, 0.0f, 0, 0, 0, 3, 0, 1, 0, 0},
    {0, 1, 129, 65, 130, 1.0f, 0.0f, 2, 1, 0, 0, 2, 0, 5, 3},  // batch: whole products
    {1, 0, 200, 33, 400, 1.0f, -1.0f, 0, 0, 1, 1, 1, 1, 1, 2}, // batch of one: bands
};

static void test_split_host(void **state) {
    (void)state;
    lc_device *saved = g_dev;
    lc_device_options o = {.spec = "cpu", .profile = 0, .threads = 3};
    assert_ok(lc_device_open(&g_dev, &o));
    for (size_t i = 0; i < sizeof split_cases / sizeof split_cases[0]; i++)
        check_case(LC_GEMM_HOST, &split_cases[i]);
    lc_device_close(g_dev);
    g_dev = saved;
    for (size_t i = 0; i < sizeof split_cases / sizeof split_cases[0]; i++)
        check_case(LC_GEMM_HOST, &split_cases[i]);
}

// k == 0: C = beta * C on both backends (beta == 0 clears NaNs, as BLAS does).
static void test_k_zero(void **state) {
    (void)state;
    const gemm_case scale = {0, 1, 5, 9, 0, 3.0f, -0.5f, 0, 0, 4, 0, 0, 3, 2, 1};
    const gemm_case clear = {0, 0, 5, 9, 0, 3.0f, 0.0f, 0, 0, 4, 0, 0, 3, 0, 0};
    check_case(LC_GEMM_HOST, &scale);
    check_case(LC_GEMM_CLBLAST, &scale);
    check_case(LC_GEMM_HOST, &clear);
    check_case(LC_GEMM_CLBLAST, &clear);
}

static void test_bad_arguments(void **state) {
    (void)state;
    cl_mem buf = NULL;
    assert_ok(lc_buffer_alloc(&buf, g_dev, 64 * sizeof(float))); // 64 floats
    lc_matrix a = {buf, 0, 8}, b = {buf, 0, 8}, c = {buf, 0, 8};
    for (int backend = LC_GEMM_CLBLAST; backend <= LC_GEMM_HOST; backend++) {
        assert_ok(lc_gemm_set_backend(g_dev, (lc_gemm_backend)backend));
        // m == 0 / n == 0: nothing to do, nothing checked.
        assert_ok(lc_gemm(g_dev, 0, 0, 0, 8, 8, 1, a, b, 0, c));
        // lda 4 < 8 columns of A.
        lc_matrix narrow = {buf, 0, 4};
        assert_int_equal(lc_gemm(g_dev, 0, 0, 8, 8, 8, 1, narrow, b, 0, c), LC_ERR_INVALID_ARG);
        assert_non_null(strstr(lc_last_error(), "leading dimension of A is 4"));
        // Transposed B is stored (n, k) = (8, 16): ldb 8 < 16.
        assert_int_equal(lc_gemm(g_dev, 0, 1, 4, 8, 16, 1, (lc_matrix){buf, 0, 16}, b, 0, c),
                         LC_ERR_INVALID_ARG);
        assert_non_null(strstr(lc_last_error(), "of B is 8"));
        // 9 x 8 C needs 72 floats; the buffer holds 64.
        assert_int_equal(lc_gemm(g_dev, 0, 0, 9, 8, 1, 1, a, b, 0, c), LC_ERR_SHAPE);
        assert_non_null(strstr(lc_last_error(), "matrix C needs 72 floats"));
        assert_non_null(strstr(lc_last_error(), "m=9, n=8, k=1"));
        // An offset that pushes A past the end.
        lc_matrix shifted = {buf, 60, 8};
        assert_int_equal(lc_gemm(g_dev, 0, 0, 1, 1, 8, 1, shifted, b, 0, c), LC_ERR_SHAPE);
        // The last batch runs past the end.
        assert_int_equal(lc_gemm_strided_batched(g_dev, 0, 0, 2, 8, 8, 1, a, 0, b, 0, 0, c, 32, 3),
                         LC_ERR_SHAPE);
        // Overlapping batches of C would race.
        assert_int_equal(lc_gemm_strided_batched(g_dev, 0, 0, 2, 8, 2, 1, a, 0, b, 0, 0, c, 8, 2),
                         LC_ERR_INVALID_ARG);
        // No buffer at all.
        lc_matrix none = {NULL, 0, 8};
        assert_int_equal(lc_gemm(g_dev, 0, 0, 1, 1, 1, 1, none, b, 0, c), LC_ERR_INVALID_ARG);
        // Huge sizes overflow rather than wrap around.
        lc_matrix huge = {buf, 0, SIZE_MAX / 2};
        assert_int_equal(lc_gemm(g_dev, 0, 0, 4, 1, 1, 1, huge, b, 0, c), LC_ERR_SHAPE);
    }
    assert_int_equal(lc_gemm(NULL, 0, 0, 1, 1, 1, 1, a, b, 0, c), LC_ERR_INVALID_ARG);
    assert_int_equal(lc_gemm_set_backend(g_dev, (lc_gemm_backend)7), LC_ERR_INVALID_ARG);
    assert_ok(lc_finish(g_dev));
    lc_buffer_free(buf);
}

static lc_gemm_backend backend_with_env(const char *value) {
    if (value)
        setenv("LATENTCL_GEMM", value, 1);
    else
        unsetenv("LATENTCL_GEMM");
    lc_device *dev = NULL;
    lc_device_options o = {.spec = "cpu", .profile = 0};
    assert_ok(lc_device_open(&dev, &o));
    lc_gemm_backend b = lc_gemm_active_backend(dev);
    lc_device_close(dev);
    unsetenv("LATENTCL_GEMM");
    return b;
}

static void test_backend_choice(void **state) {
    (void)state;
    const lc_device_info *info = lc_device_get_info(g_dev);
    // PoCL's CPU device runs native kernels, so the fixed rule picks host BLAS.
    assert_true(info->is_cpu);
    assert_true(info->native_kernels);
    assert_int_equal(backend_with_env(NULL), LC_GEMM_HOST);
    assert_int_equal(backend_with_env("auto"), LC_GEMM_HOST);
    assert_int_equal(backend_with_env("clblast"), LC_GEMM_CLBLAST);
    assert_int_equal(backend_with_env("host"), LC_GEMM_HOST);
    assert_ok(lc_gemm_set_backend(g_dev, LC_GEMM_AUTO));
    assert_int_equal(lc_gemm_active_backend(g_dev), LC_GEMM_HOST);
    assert_string_equal(lc_gemm_backend_name(LC_GEMM_CLBLAST), "clblast");
    assert_string_equal(lc_gemm_backend_name(LC_GEMM_HOST), "host");
    assert_string_equal(lc_gemm_backend_name(LC_GEMM_AUTO), "auto");
    assert_true(lc_gemm_threads(g_dev) >= 1);
    // --threads N sets the host backend's OpenBLAS threads.
    lc_device *dev = NULL;
    lc_device_options o = {.spec = "cpu", .profile = 0, .threads = 3};
    assert_ok(lc_device_open(&dev, &o));
    assert_int_equal(lc_gemm_threads(dev), 3);
    lc_device_close(dev);
    // Without --threads, OpenBLAS's own variable is honoured.
    setenv("OPENBLAS_NUM_THREADS", "1", 1);
    o.threads = 0;
    assert_ok(lc_device_open(&dev, &o));
    assert_int_equal(lc_gemm_threads(dev), 1);
    lc_device_close(dev);
    unsetenv("OPENBLAS_NUM_THREADS");
}

static void test_status_names(void **state) {
    (void)state;
    assert_string_equal(lc_clblast_status_name(-1011), "CLBlastInsufficientMemoryA");
    assert_string_equal(lc_clblast_status_name(-2046), "CLBlastInvalidLocalMemUsage");
    assert_string_equal(lc_clblast_status_name(-5), "CLBlastOpenCLOutOfResources");
    assert_string_equal(lc_clblast_status_name(-1001), "CL_PLATFORM_NOT_FOUND_KHR");
    assert_string_equal(lc_clblast_status_name(-4242), "CLBlastUnknownStatus(-4242)");
}

// With profiling on, each backend's GEMM shows up as a row of the profile.
// A, B and C share one buffer here: PoCL 3.1 breaks a buffer's reference count
// when it appears twice in a native kernel's mem list, which would crash at
// lc_buffer_free below if the host backend did not pass each buffer once.
static void test_profiling(void **state) {
    (void)state;
    lc_device *dev = NULL;
    lc_device_options o = {.spec = "cpu", .profile = 1};
    assert_ok(lc_device_open(&dev, &o));
    cl_mem buf = NULL;
    assert_ok(lc_buffer_alloc(&buf, dev, 64 * sizeof(float)));
    assert_ok(lc_fill_zero(dev, buf, 0, 64 * sizeof(float)));
    lc_matrix x = {buf, 0, 8};
    assert_ok(lc_gemm_set_backend(dev, LC_GEMM_HOST));
    assert_ok(lc_gemm(dev, 0, 0, 4, 8, 4, 1, x, x, 0, (lc_matrix){buf, 32, 8}));
    assert_ok(lc_gemm_set_backend(dev, LC_GEMM_CLBLAST));
    assert_ok(lc_gemm(dev, 0, 0, 4, 8, 4, 1, x, x, 0, (lc_matrix){buf, 32, 8}));
    lc_profile_row *rows = NULL;
    int n = 0, seen = 0;
    assert_ok(lc_device_profile(dev, &rows, &n));
    for (int i = 0; i < n; i++)
        if (!strcmp(rows[i].name, "gemm (host)") || !strcmp(rows[i].name, "gemm (clblast)")) {
            assert_int_equal(rows[i].calls, 1);
            seen++;
        }
    assert_int_equal(seen, 2);
    free(rows);
    lc_buffer_free(buf);
    lc_device_close(dev);
}

// The selftest check (src/device/check_gemm.c) passes on both backends.
lc_status lc_check_gemm(lc_device *dev, lc_selftest_result *r);
static void test_selftest_check(void **state) {
    (void)state;
    for (int backend = LC_GEMM_CLBLAST; backend <= LC_GEMM_HOST; backend++) {
        assert_ok(lc_gemm_set_backend(g_dev, (lc_gemm_backend)backend));
        lc_selftest_result r = {0};
        assert_ok(lc_check_gemm(g_dev, &r));
        assert_true(r.ok);
        assert_true(r.fwd_err <= r.tolerance);
    }
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_status_names),   cmocka_unit_test(test_backend_choice),
        cmocka_unit_test(test_cases_host),     cmocka_unit_test(test_cases_clblast),
        cmocka_unit_test(test_batched_host),   cmocka_unit_test(test_batched_clblast),
        cmocka_unit_test(test_split_host),     cmocka_unit_test(test_k_zero),
        cmocka_unit_test(test_bad_arguments),  cmocka_unit_test(test_profiling),
        cmocka_unit_test(test_selftest_check),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
