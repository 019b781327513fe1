// Temp file + fsync + rename. See atomic_file.h.
#include "io/atomic_file.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static void atomic_release(lc_atomic_file *af) {
    free(af->path);
    free(af->temp_path);
    af->path = af->temp_path = NULL;
    af->file = NULL;
}

lc_status lc_atomic_open(lc_atomic_file *af, const char *path) {
    memset(af, 0, sizeof *af);
    if (!path || !*path) return lc_fail(LC_ERR_INVALID_ARG, "lc_atomic_open: empty path");
    size_t n = strlen(path);
    af->path = strdup(path);
    af->temp_path = malloc(n + 12);
    if (!af->path || !af->temp_path) {
        atomic_release(af);
        return lc_fail(LC_ERR_NOMEM, "%s: out of memory", path);
    }
    memcpy(af->temp_path, path, n);
    memcpy(af->temp_path + n, ".tmp.XXXXXX", 12);
    int fd = mkstemp(af->temp_path);
    if (fd < 0) {
        lc_status s =
            lc_fail(LC_ERR_IO, "%s: cannot create a temporary file: %s", path, strerror(errno));
        atomic_release(af);
        return s;
    }
    // mkstemp makes 0600; a finished file should be readable like any other.
    mode_t mask = umask(0);
    umask(mask);
    (void)fchmod(fd, 0666 & ~mask);
    af->file = fdopen(fd, "wb");
    if (!af->file) {
        lc_status s = lc_fail(LC_ERR_IO, "%s: fdopen: %s", path, strerror(errno));
        close(fd);
        unlink(af->temp_path);
        atomic_release(af);
        return s;
    }
    return LC_OK;
}

lc_status lc_atomic_commit(lc_atomic_file *af) {
    if (!af->file) return lc_fail(LC_ERR_INVALID_ARG, "lc_atomic_commit: file not open");
    int failed = fflush(af->file) != 0 || ferror(af->file);
    int err = errno;
    if (!failed && fsync(fileno(af->file)) != 0) failed = 1, err = errno;
    if (fclose(af->file) != 0 && !failed) failed = 1, err = errno;
    af->file = NULL;
    if (!failed && rename(af->temp_path, af->path) != 0) failed = 1, err = errno;
    if (failed) {
        lc_status s = lc_fail(LC_ERR_IO, "%s: write failed: %s", af->path, strerror(err));
        unlink(af->temp_path);
        atomic_release(af);
        return s;
    }
    atomic_release(af);
    return LC_OK;
}

void lc_atomic_abort(lc_atomic_file *af) {
    if (!af) return;
    if (af->file) fclose(af->file);
    if (af->temp_path) unlink(af->temp_path);
    atomic_release(af);
}
