// lc_write_file_atomic and lc_atomic_write. See atomic.h.
#include "io/atomic.h"

#include <errno.h>
#include <string.h>

lc_status lc_atomic_write(lc_atomic_file *af, const void *bytes, size_t n) {
    if (!af || !af->file) return lc_fail(LC_ERR_INVALID_ARG, "lc_atomic_write: file not open");
    if (n == 0) return LC_OK;
    if (fwrite(bytes, 1, n, af->file) != n)
        return lc_fail(LC_ERR_IO, "%s: write failed: %s", af->path, strerror(errno));
    return LC_OK;
}

lc_status lc_write_file_atomic(const char *path, const void *bytes, size_t n) {
    if (!bytes && n) return lc_fail(LC_ERR_INVALID_ARG, "lc_write_file_atomic: NULL data");
    lc_atomic_file af;
    lc_status s = lc_atomic_open(&af, path);
    if (s != LC_OK) return s;
    s = lc_atomic_write(&af, bytes, n);
    if (s != LC_OK) {
        lc_atomic_abort(&af);
        return s;
    }
    return lc_atomic_commit(&af);
}
