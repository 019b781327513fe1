// Shared helpers for the cmocka tests.
#ifndef LATENTCL_TEST_UTIL_H
#define LATENTCL_TEST_UTIL_H
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "latentcl/status.h"

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
#endif
