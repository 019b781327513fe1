// Shared helpers for the cmocka tests.
#ifndef LATENTCL_TEST_UTIL_H
#define LATENTCL_TEST_UTIL_H
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "latentcl/device.h"
#include "latentcl/status.h"
#include "latentcl/tensor.h"

// Fails the test with the library's last error message when s != LC_OK.
#define assert_ok(expr)                                                                            \
    do {                                                                                           \
        lc_status s__ = (expr);                                                                    \
        if (s__ != LC_OK) fail_msg("%s -> %s: %s", #expr, lc_status_name(s__), lc_last_error());   \
    } while (0)

// A fresh temporary directory (mkdtemp under $TMPDIR or /tmp); caller frees the string.
char *test_tmpdir(void);
// rm -rf of a directory made by test_tmpdir.
void test_rmtree(const char *path);
// Write bytes to path; returns 0 on success.
int test_write_file(const char *path, const void *data, size_t n);
// Read a whole file (caller frees); NULL on failure.
void *test_read_file(const char *path, size_t *n);
// Run a shell command, return its exit status (-1 if it could not run).
int test_system(const char *fmt, ...);

// Group fixtures, for a test program's setup/teardown (0 on success, as cmocka wants):
// the default device, and a context on it when ctx is not NULL. test_close_device frees
// both (NULL-safe) and returns 0.
int test_open_device(lc_device **dev, lc_ctx **ctx);
int test_close_device(lc_device *dev, lc_ctx *ctx);
// A fresh temporary folder in *dir; test_close_tmpdir removes it, frees the string, sets
// *dir to NULL and returns 0.
int test_open_tmpdir(char **dir);
int test_close_tmpdir(char **dir);
// "dir/name" in one of four rotating static buffers: up to four paths can be in use at once.
const char *test_path(const char *dir, const char *name);
// Two checkpoints (safetensors files) hold the same tensors, byte for byte, and the same
// value for each metadata key of keys (NULL-terminated); fails the test otherwise.
void test_assert_same_checkpoint(const char *a, const char *b, const char *const *keys);

// Numeric fixtures of the conv tests:
// n floats uniform in [-0.5, 0.5) from a linear congruential generator that advances *seed
// (caller frees).
float *test_rand_uniform(size_t n, unsigned *seed);
// max |got - want| / max(1, max |want|): the error relative to the reference's scale.
double test_rel_err(const float *got, const double *want, size_t n);
// A tensor (ndim, shape) on ctx holding v, that records gradients.
lc_tensor *test_leaf(lc_ctx *ctx, const float *v, int ndim, const int64_t *shape);
// The calls of the profile row named name (0 when there is none); needs a profiling device.
int test_profile_calls(lc_device *dev, const char *name);
#endif
