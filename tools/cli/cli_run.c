// RUN folders and checkpoint files for eval, predict and export (see cli_run.h).
#include "cli_run.h"

#include <errno.h>
#include <fcntl.h>
#include <unistd.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"
#include "latentcl/run.h"

int cli_run_checkpoint(char *path, size_t cap, const char *run, const char *which) {
    if (!which) which = "last";
    if (strcmp(which, "last") && strcmp(which, "best"))
        return cli_error("--checkpoint must be best or last, not '%s'", which), 2;
    struct stat st;
    if (stat(run, &st) != 0) return cli_error("%s: no such run folder or checkpoint file", run);
    if (!S_ISDIR(st.st_mode)) {
        if ((size_t)snprintf(path, cap, "%s", run) >= cap)
            return cli_error("%s: path too long", run);
        return 0;
    }
    const char *name = !strcmp(which, "best") ? LC_RUN_BEST : LC_RUN_LAST;
    if ((size_t)snprintf(path, cap, "%s/%s", run, name) >= cap)
        return cli_error("%s: path too long", run);
    if (stat(path, &st) != 0) {
        if (!strcmp(which, "best"))
            return cli_error("%s has no %s (only runs with --val-split keep one)", run, name);
        return cli_error("%s has no %s: not a run folder, or no checkpoint saved yet", run, name);
    }
    return 0;
}

int cli_weights_prefix(const char **prefix, const char *weights) {
    if (!weights || !strcmp(weights, "raw"))
        *prefix = "";
    else if (!strcmp(weights, "ema"))
        *prefix = LC_ST_PREFIX_EMA;
    else
        return cli_error("--weights must be ema or raw, not '%s'", weights), 2;
    return 0;
}

int cli_run_open(lc_st_file **f, const char *run, const char *which) {
    char path[4096];
    int rc = cli_run_checkpoint(path, sizeof path, run, which);
    if (rc) return rc;
    lc_status s = lc_st_open(f, path);
    return s == LC_OK ? 0 : cli_report(s);
}

int cli_check_out(const char *path) {
    struct stat st;
    if (stat(path, &st) == 0 && S_ISDIR(st.st_mode))
        return cli_error("%s: %s", path, strerror(EISDIR));
    char tmp[4200];
    snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid());
    int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL, 0644);
    if (fd < 0) return cli_error("%s: %s", path, strerror(errno));
    close(fd);
    unlink(tmp);
    return 0;
}
