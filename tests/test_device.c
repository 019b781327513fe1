// Device floor: choice, build failures, the binary cache, arena, profiling, error names.
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include "test_util.h"
#include "latentcl/device.h"

static char *cache_dir; // fresh per test program run

static int count_bin_files(const char *dir, char paths[][1200], int max) {
    DIR *d = opendir(dir);
    int n = 0;
    if (!d) return 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        size_t len = strlen(e->d_name);
        if (len > 4 && !strcmp(e->d_name + len - 4, ".bin")) {
            if (n < max) snprintf(paths[n], 1200, "%s/%s", dir, e->d_name);
            n++;
        }
    }
    closedir(d);
    return n;
}

static void upper_copy(char *dst, const char *src) {
    while ((*dst++ = (char)toupper((unsigned char)*src++)))
        ;
}

static void test_list_and_resolve(void **state) {
    (void)state;
    lc_device_info *list = NULL;
    int count = 0, idx = -1;
    assert_ok(lc_device_list(&list, &count));
    assert_true(count >= 1);
    int defaults = 0;
    for (int i = 0; i < count; i++)
        defaults += list[i].is_default;
    assert_int_equal(defaults, 1);
    assert_ok(lc_device_resolve(&idx, list, count, "cpu"));
    assert_true(list[idx].is_cpu);
    assert_ok(lc_device_resolve(&idx, list, count, "0"));
    assert_int_equal(idx, 0);
    // A name part matches case-insensitively: the last device's name, upper-cased, from its
    // second character on (PoCL's name differs between versions, so it is not spelt here).
    char part[sizeof list[0].name], found[sizeof list[0].name];
    upper_copy(part, list[count - 1].name + 1);
    if (part[0]) {
        assert_ok(lc_device_resolve(&idx, list, count, part));
        upper_copy(found, list[idx].name);
        assert_non_null(strstr(found, part));
    }
    assert_int_equal(lc_device_resolve(&idx, list, count, "99"), LC_ERR_NO_DEVICE);
    assert_non_null(strstr(lc_last_error(), "no device 99 (see `latentcl devices`)"));
    assert_int_equal(lc_device_resolve(&idx, list, count, "no-such-device-xyz"), LC_ERR_NO_DEVICE);
    assert_int_equal(lc_device_resolve(&idx, list, count, "-1"), LC_ERR_NO_DEVICE);
    free(list);
}

static void test_open_bad_spec(void **state) {
    (void)state;
    lc_device *dev = NULL;
    lc_device_options o = {.spec = "99", .profile = 0};
    assert_int_equal(lc_device_open(&dev, &o), LC_ERR_NO_DEVICE);
    assert_null(dev);
    setenv("LATENTCL_DEVICE", "nonexistent-gpu-name", 1);
    assert_int_equal(lc_device_open(&dev, NULL), LC_ERR_NO_DEVICE);
    unsetenv("LATENTCL_DEVICE");
}

static void test_build_failure_has_log(void **state) {
    (void)state;
    lc_device *dev = NULL;
    assert_ok(lc_device_open(&dev, NULL));
    lc_status s = lc_device_build_source(
        dev, "broken", "__kernel void k(__global float *x) { x[0] = undefined_name; }\n");
    assert_int_equal(s, LC_ERR_BUILD);
    const char *msg = lc_last_error();
    assert_non_null(strstr(msg, "'broken'"));
    assert_non_null(strstr(msg, "CL_BUILD_PROGRAM_FAILURE"));
    assert_non_null(strstr(msg, "undefined_name")); // the compiler's log is in the message
    cl_kernel k;
    assert_int_equal(lc_device_kernel(&k, dev, "no_such_program", "k"), LC_ERR_INVALID_ARG);
    assert_int_equal(lc_device_kernel(&k, dev, "rng", "no_such_kernel"), LC_ERR_OPENCL);
    assert_non_null(strstr(lc_last_error(), "CL_INVALID_KERNEL_NAME"));
    lc_device_close(dev);
}

// Three small programs in a kernels folder: the cache's behaviour does not
// depend on how many kernels the project has (and stays fast under ASan).
static void write_small_programs(const char *dir) {
    assert_int_equal(mkdir(dir, 0755), 0);
    const char *names[3] = {"one", "two", "three"};
    for (int i = 0; i < 3; i++) {
        char path[1200], src[256];
        snprintf(path, sizeof path, "%s/%s.cl", dir, names[i]);
        snprintf(src, sizeof src,
                 "__kernel void k_%s(__global float *x) { x[get_global_id(0)] += %d.0f; }\n",
                 names[i], i + 1);
        assert_int_equal(test_write_file(path, src, strlen(src)), 0);
    }
}

static void test_cache_miss_hit_corrupt(void **state) {
    (void)state;
    char dir[1024], kernels[1024];
    snprintf(dir, sizeof dir, "%s/kc", cache_dir);
    snprintf(kernels, sizeof kernels, "%s/small-programs", cache_dir);
    write_small_programs(kernels);
    setenv("LATENTCL_KERNELS", kernels, 1);
    setenv("LATENTCL_CACHE_DIR", dir, 1);
    lc_device *dev = NULL;
    // Cold: every program compiled and written.
    assert_ok(lc_device_open(&dev, NULL));
    int n = lc_device_program_count(dev);
    assert_int_equal(n, 3);
    assert_ok(lc_device_build_all(dev));
    lc_device_counters c = lc_device_get_counters(dev);
    assert_int_equal(c.cache_enabled, 1);
    assert_int_equal(c.programs_built, n);
    assert_int_equal(c.cache_misses, n);
    assert_int_equal(c.cache_hits, 0);
    assert_int_equal(c.cache_writes, n);
    lc_device_close(dev);
    // Warm: nothing compiled.
    assert_ok(lc_device_open(&dev, NULL));
    assert_ok(lc_device_build_all(dev));
    c = lc_device_get_counters(dev);
    assert_int_equal(c.programs_built, 0);
    assert_int_equal(c.cache_hits, n);
    lc_device_close(dev);
    // Corrupt: truncate one entry, flip a payload byte in another.
    char paths[64][1200];
    int files = count_bin_files(dir, paths, 64);
    assert_int_equal(files, n);
    assert_int_equal(truncate(paths[0], 20), 0);
    size_t len = 0;
    unsigned char *bytes = test_read_file(paths[1], &len);
    assert_non_null(bytes);
    bytes[len - 1] ^= 0x5a;
    assert_int_equal(test_write_file(paths[1], bytes, len), 0);
    free(bytes);
    assert_ok(lc_device_open(&dev, NULL));
    assert_ok(lc_device_build_all(dev));
    c = lc_device_get_counters(dev);
    assert_int_equal(c.cache_rejected, 2);
    assert_int_equal(c.programs_built, 2);
    assert_int_equal(c.cache_hits, n - 2);
    // The rebuilt kernels work.
    cl_kernel k;
    assert_ok(lc_device_kernel(&k, dev, "one", "k_one"));
    assert_ok(lc_device_kernel(&k, dev, "two", "k_two"));
    lc_device_close(dev);
    // ... and were rewritten: warm again.
    assert_ok(lc_device_open(&dev, NULL));
    assert_ok(lc_device_build_all(dev));
    c = lc_device_get_counters(dev);
    assert_int_equal(c.programs_built, 0);
    assert_int_equal(c.cache_rejected, 0);
    lc_device_close(dev);
    // A changed source is a different key: a miss, not a stale hit.
    char path[1200];
    snprintf(path, sizeof path, "%s/one.cl", kernels);
    const char *changed =
        "__kernel void k_one(__global float *x) { x[get_global_id(0)] -= 1.0f; }\n";
    assert_int_equal(test_write_file(path, changed, strlen(changed)), 0);
    assert_ok(lc_device_open(&dev, NULL));
    assert_ok(lc_device_build_all(dev));
    c = lc_device_get_counters(dev);
    assert_int_equal(c.programs_built, 1);
    assert_int_equal(c.cache_misses, 1);
    assert_int_equal(c.cache_hits, n - 1);
    lc_device_close(dev);
    unsetenv("LATENTCL_CACHE_DIR");
    unsetenv("LATENTCL_KERNELS");
}

static void test_cache_off_and_unwritable(void **state) {
    (void)state;
    lc_device *dev = NULL;
    setenv("LATENTCL_CACHE", "off", 1);
    assert_ok(lc_device_open(&dev, NULL));
    assert_int_equal(lc_device_get_counters(dev).cache_enabled, 0);
    assert_string_equal(lc_device_cache_dir(dev), "");
    lc_device_close(dev);
    unsetenv("LATENTCL_CACHE");
    // Root ignores permission bits: a path under a regular file is unwritable for anyone.
    char file[1024], dir[1100];
    snprintf(file, sizeof file, "%s/plainfile", cache_dir);
    assert_int_equal(test_write_file(file, "x", 1), 0);
    snprintf(dir, sizeof dir, "%s/cache", file);
    setenv("LATENTCL_CACHE_DIR", dir, 1);
    assert_ok(lc_device_open(&dev, NULL));
    assert_int_equal(lc_device_get_counters(dev).cache_enabled, 0);
    assert_non_null(strstr(lc_device_warning(dev), "cannot write the kernel cache"));
    cl_kernel k;
    assert_ok(lc_device_kernel(&k, dev, "rng", "philox_bits")); // still works without it
    lc_device_close(dev);
    unsetenv("LATENTCL_CACHE_DIR");
}

// Runs kernel `name` of `program` (one float buffer argument, one work item per value) on
// the n values v, in place on the device; out gets the results.
static void run_in_place(float *out, lc_device *dev, const char *program, const char *name,
                         const float *v, size_t n) {
    cl_kernel k;
    assert_ok(lc_device_kernel(&k, dev, program, name));
    cl_mem buf;
    assert_ok(lc_buffer_alloc(&buf, dev, n * sizeof *v));
    assert_ok(lc_write(dev, buf, 0, v, n * sizeof *v));
    assert_ok(LC_ARG(k, 0, buf));
    assert_ok(lc_launch(dev, k, name, 1, &n, NULL));
    assert_ok(lc_read(dev, out, buf, 0, n * sizeof *out));
    lc_buffer_free(buf);
}

static void test_kernels_from_dir(void **state) {
    (void)state;
    char dir[1024], path[1100];
    snprintf(dir, sizeof dir, "%s/kernels", cache_dir);
    assert_int_equal(mkdir(dir, 0755), 0);
    snprintf(path, sizeof path, "%s/mine.cl", dir);
    const char *src =
        "__kernel void twice(__global float *x) { size_t i = get_global_id(0); x[i] *= 2.0f; }\n";
    assert_int_equal(test_write_file(path, src, strlen(src)), 0);
    setenv("LATENTCL_KERNELS", dir, 1);
    setenv("LATENTCL_CACHE", "off", 1);
    lc_device *dev = NULL;
    assert_ok(lc_device_open(&dev, NULL));
    assert_int_equal(lc_device_program_count(dev), 1);
    assert_string_equal(lc_device_program_name(dev, 0), "mine");
    float v[5] = {1, 2, 3, 4, 5}, out[5];
    run_in_place(out, dev, "mine", "twice", v, 5);
    for (int i = 0; i < 5; i++)
        assert_true(out[i] == 2 * v[i]);
    lc_device_close(dev);
    unsetenv("LATENTCL_KERNELS");
    unsetenv("LATENTCL_CACHE");
}

static void test_kernel_includes(void **state) {
    (void)state;
    // A program pulls shared code from NAME.clh; the library is not a program itself.
    char dir[1024], path[1100];
    snprintf(dir, sizeof dir, "%s/inc", cache_dir);
    assert_int_equal(mkdir(dir, 0755), 0);
    const char *lib = "float triple(float x) { return 3.0f * x; }\n";
    const char *prog = "#include \"shared.clh\"\n"
                       "__kernel void k(__global float *x) { x[get_global_id(0)] = "
                       "triple(x[get_global_id(0)]); }\n";
    const char *bad = "#include \"missing.clh\"\n__kernel void k2(__global float *x) { }\n";
    snprintf(path, sizeof path, "%s/shared.clh", dir);
    assert_int_equal(test_write_file(path, lib, strlen(lib)), 0);
    snprintf(path, sizeof path, "%s/uses.cl", dir);
    assert_int_equal(test_write_file(path, prog, strlen(prog)), 0);
    snprintf(path, sizeof path, "%s/broken.cl", dir);
    assert_int_equal(test_write_file(path, bad, strlen(bad)), 0);
    setenv("LATENTCL_KERNELS", dir, 1);
    lc_device *dev = NULL;
    assert_ok(lc_device_open(&dev, NULL));
    assert_int_equal(lc_device_program_count(dev), 2); // the .clh is not a program
    float v[3] = {1, 2, -4}, out[3];
    run_in_place(out, dev, "uses", "k", v, 3);
    for (int i = 0; i < 3; i++)
        assert_true(out[i] == 3 * v[i]);
    cl_kernel k;
    assert_int_equal(lc_device_kernel(&k, dev, "broken", "k2"), LC_ERR_BUILD);
    assert_non_null(strstr(lc_last_error(), "includes unknown 'missing.clh'"));
    assert_int_equal(lc_device_kernel(&k, dev, "shared.clh", "triple"), LC_ERR_INVALID_ARG);
    lc_device_close(dev);
    unsetenv("LATENTCL_KERNELS");
}

static void test_kernels_dir_missing(void **state) {
    (void)state;
    lc_device *dev = NULL;
    setenv("LATENTCL_KERNELS", "/nonexistent/dir", 1);
    assert_int_equal(lc_device_open(&dev, NULL), LC_ERR_IO);
    assert_non_null(strstr(lc_last_error(), "/nonexistent/dir"));
    unsetenv("LATENTCL_KERNELS");
}

static void test_arena_reuses_buffers(void **state) {
    (void)state;
    lc_device *dev = NULL;
    assert_ok(lc_device_open(&dev, NULL));
    cl_mem a1, b1, a2, b2, c2;
    assert_ok(lc_arena_alloc(&a1, dev, 1000));
    assert_ok(lc_arena_alloc(&b1, dev, 64));
    lc_arena_reset(dev);
    assert_ok(lc_arena_alloc(&a2, dev, 1000));
    assert_ok(lc_arena_alloc(&b2, dev, 32)); // smaller fits in the old block
    assert_ptr_equal(a1, a2);
    assert_ptr_equal(b1, b2);
    assert_int_equal(lc_arena_bytes(dev), 1064);
    assert_ok(lc_arena_alloc(&c2, dev, 16)); // a third block grows the arena
    assert_int_equal(lc_arena_bytes(dev), 1080);
    lc_device_close(dev);
}

static void test_profiling_rows(void **state) {
    (void)state;
    lc_device *dev = NULL;
    lc_device_options o = {.profile = 1};
    assert_ok(lc_device_open(&dev, &o));
    assert_int_equal(lc_device_profiling(dev), 1);
    cl_kernel k;
    assert_ok(lc_device_kernel(&k, dev, "rng", "philox_bits"));
    cl_mem buf;
    assert_ok(lc_buffer_alloc(&buf, dev, 4 * 16 * 3));
    cl_uint n = 3, z = 0;
    assert_ok(LC_ARG(k, 0, buf));
    assert_ok(LC_ARG(k, 1, n));
    for (cl_uint i = 2; i < 8; i++)
        assert_ok(LC_ARG(k, i, z));
    size_t g = 3;
    for (int i = 0; i < 5; i++)
        assert_ok(lc_launch(dev, k, "philox_bits", 1, &g, NULL));
    lc_profile_row *rows = NULL;
    int count = 0;
    assert_ok(lc_device_profile(dev, &rows, &count));
    assert_int_equal(count, 1);
    assert_string_equal(rows[0].name, "philox_bits");
    assert_int_equal(rows[0].calls, 5);
    assert_true(rows[0].total_ms >= 0);
    free(rows);
    lc_buffer_free(buf);
    lc_device_close(dev);
}

static void test_error_names(void **state) {
    (void)state;
    assert_string_equal(lc_cl_error_name(-54), "CL_INVALID_WORK_GROUP_SIZE");
    assert_string_equal(lc_cl_error_name(-4), "CL_MEM_OBJECT_ALLOCATION_FAILURE");
    assert_string_equal(lc_cl_error_name(-9999), "CL_UNKNOWN_ERROR(-9999)");
    assert_int_equal(lc_cl_fail(-5, "clEnqueueNDRangeKernel(q, k, 1)", "relu_forward"),
                     LC_ERR_OPENCL);
    assert_string_equal(lc_last_error(),
                        "clEnqueueNDRangeKernel failed: CL_OUT_OF_RESOURCES (relu_forward)");
    lc_fail(LC_ERR_IO, "inner");
    lc_fail_context(LC_ERR_IO, "outer %d", 1);
    assert_string_equal(lc_last_error(), "outer 1: inner");
}

int main(void) {
    cache_dir = test_tmpdir();
    char pocl[1100];
    snprintf(pocl, sizeof pocl, "%s/pocl-cache", cache_dir);
    setenv("POCL_CACHE_DIR", pocl, 1); // PoCL's own cache must not hide our counters' meaning
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_list_and_resolve),
        cmocka_unit_test(test_open_bad_spec),
        cmocka_unit_test(test_build_failure_has_log),
        cmocka_unit_test(test_cache_miss_hit_corrupt),
        cmocka_unit_test(test_cache_off_and_unwritable),
        cmocka_unit_test(test_kernels_from_dir),
        cmocka_unit_test(test_kernel_includes),
        cmocka_unit_test(test_kernels_dir_missing),
        cmocka_unit_test(test_arena_reuses_buffers),
        cmocka_unit_test(test_profiling_rows),
        cmocka_unit_test(test_error_names),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    test_rmtree(cache_dir);
    free(cache_dir);
    return rc;
}
