#include "test_util.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "latentcl/checkpoint.h"

char *test_tmpdir(void) {
    const char *base = getenv("TMPDIR");
    char tmpl[4096];
    snprintf(tmpl, sizeof tmpl, "%s/latentcl-test-XXXXXX", base && *base ? base : "/tmp");
    char *d = mkdtemp(tmpl);
    return d ? strdup(d) : NULL;
}

void test_rmtree(const char *path) {
    if (path && strncmp(path, "/tmp/", 5) == 0) test_system("rm -rf '%s'", path);
}

int test_write_file(const char *path, const void *data, size_t n) {
    FILE *f = fopen(path, "wb");
    if (!f) return -1;
    size_t w = fwrite(data, 1, n, f);
    return (fclose(f) == 0 && w == n) ? 0 : -1;
}

void *test_read_file(const char *path, size_t *n) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long len = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = malloc((size_t)len + 1);
    if (buf && fread(buf, 1, (size_t)len, f) != (size_t)len) {
        free(buf);
        buf = NULL;
    }
    fclose(f);
    if (buf) {
        buf[len] = '\0';
        if (n) *n = (size_t)len;
    }
    return buf;
}

int test_system(const char *fmt, ...) {
    char cmd[8192];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cmd, sizeof cmd, fmt, ap);
    va_end(ap);
    int rc = system(cmd);
    if (rc == -1) return -1;
    return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

int test_open_device(lc_device **dev, lc_ctx **ctx) {
    if (lc_device_open(dev, NULL) != LC_OK) return -1;
    if (ctx && lc_ctx_create(ctx, *dev) != LC_OK) return -1;
    return 0;
}

int test_close_device(lc_device *dev, lc_ctx *ctx) {
    lc_ctx_free(ctx); // the context goes before its device
    lc_device_close(dev);
    return 0;
}

int test_open_tmpdir(char **dir) {
    *dir = test_tmpdir();
    return *dir ? 0 : -1;
}

int test_close_tmpdir(char **dir) {
    test_rmtree(*dir);
    free(*dir);
    *dir = NULL;
    return 0;
}

const char *test_path(const char *dir, const char *name) {
    static char path[4][4096];
    static int k;
    k = (k + 1) % 4;
    snprintf(path[k], sizeof path[k], "%s/%s", dir, name);
    return path[k];
}

void test_assert_same_checkpoint(const char *a, const char *b, const char *const *keys) {
    lc_st_file *fa, *fb;
    assert_ok(lc_st_open(&fa, a));
    assert_ok(lc_st_open(&fb, b));
    assert_int_equal(lc_st_count(fa), lc_st_count(fb));
    for (int i = 0; i < lc_st_count(fa); i++) {
        const lc_st_tensor *ta = lc_st_at(fa, i), *tb = lc_st_find(fb, ta->name);
        if (!tb) fail_msg("%s lacks %s", b, ta->name);
        assert_int_equal(lc_st_numel(ta), lc_st_numel(tb));
        if (memcmp(ta->data, tb->data, (size_t)lc_st_numel(ta) * lc_dtype_size(ta->dtype)))
            fail_msg("%s differs between %s and %s", ta->name, a, b);
    }
    for (; *keys; keys++) {
        const char *va = lc_st_meta_get(fa, *keys), *vb = lc_st_meta_get(fb, *keys);
        if (!va || !vb || strcmp(va, vb))
            fail_msg("metadata %s: %s in %s, %s in %s", *keys, va ? va : "(none)", a,
                     vb ? vb : "(none)", b);
    }
    lc_st_close(fa);
    lc_st_close(fb);
}

float *test_rand_uniform(size_t n, unsigned *seed) {
    float *v = malloc(n * sizeof *v);
    assert_non_null(v);
    for (size_t i = 0; i < n; i++) {
        *seed = *seed * 1103515245u + 12345u;
        v[i] = (float)((*seed >> 8) & 0xffff) / 65536.0f - 0.5f;
    }
    return v;
}

double test_rel_err(const float *got, const double *want, size_t n) {
    double e = 0, scale = 1;
    for (size_t i = 0; i < n; i++)
        scale = fmax(scale, fabs(want[i]));
    for (size_t i = 0; i < n; i++)
        e = fmax(e, fabs(got[i] - want[i]));
    return e / scale;
}

lc_tensor *test_leaf(lc_ctx *ctx, const float *v, int ndim, const int64_t *shape) {
    lc_tensor *t;
    assert_ok(lc_tensor_from_host(ctx, &t, v, ndim, shape));
    assert_ok(lc_tensor_set_requires_grad(ctx, t));
    return t;
}

int test_profile_calls(lc_device *dev, const char *name) {
    lc_profile_row *rows;
    int n;
    assert_ok(lc_device_profile(dev, &rows, &n));
    int calls = 0;
    for (int i = 0; i < n; i++)
        if (!strcmp(rows[i].name, name)) calls = (int)rows[i].calls;
    free(rows);
    return calls;
}
