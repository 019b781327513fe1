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
#endif
