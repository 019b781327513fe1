// latentcl selftest — compile every kernel and check each against its host reference.
#include <stdio.h>
#include <time.h>

#include "cli.h"
#include "latentcl/gemm.h"
#include "latentcl/selftest.h"

static int report_line(void *user, const lc_selftest_result *r) {
    (void)user;
    if (g_cli.json) {
        printf("{\"op\":\"%s\",\"fwd_err\":%.3g,", r->name, r->fwd_err);
        if (r->grad_err >= 0)
            printf("\"grad_err\":%.3g,", r->grad_err);
        else
            printf("\"grad_err\":null,");
        printf("\"tolerance\":%.3g,\"ok\":%s}\n", r->tolerance, r->ok ? "true" : "false");
    } else {
        printf("%-4s %-24s fwd_err %-10.3g", r->ok ? "ok" : "FAIL", r->name, r->fwd_err);
        if (r->grad_err >= 0)
            printf(" grad_err %-10.3g", r->grad_err);
        else
            printf(" %-19s", "");
        printf(" tol %-8.3g %s\n", r->tolerance, r->detail ? r->detail : "");
    }
    fflush(stdout);
    return 0;
}

int cmd_selftest(int argc, char **argv) {
    const char *filter = NULL;
    const cli_opt opts[] = {
        {"--only", OPT_STRING, &filter, "run only the checks whose name contains this", "TEXT"},
        CLI_COMMON_OPTS,
        {NULL}};
    int code;
    if (cli_parse("selftest", "[--device D] [--only TEXT] [--json]",
                  "Compile every kernel for the device and check each against its plain-C host\n"
                  "reference (backward passes against finite differences). Exit 1 if any fails.",
                  argc, argv, 1, opts, NULL, 0, NULL, &code))
        return code;
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    lc_device *dev = NULL;
    if (cli_open_device(&dev)) return 1;
    int n_run = 0, n_failed = 0;
    lc_status s = lc_selftest(dev, filter, report_line, NULL, &n_run, &n_failed);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double secs = (double)(t1.tv_sec - t0.tv_sec) + 1e-9 * (double)(t1.tv_nsec - t0.tv_nsec);
    lc_device_counters c = lc_device_get_counters(dev);
    const char *gemm = lc_gemm_backend_name(lc_gemm_active_backend(dev));
    const char *name = lc_device_get_info(dev)->name;
    if (s != LC_OK) {
        cli_close_device(dev);
        return cli_report(s);
    }
    if (n_run == 0) { // a misspelt --only must not pass as "0 checks, 0 failed"
        cli_close_device(dev);
        return cli_error("selftest: no check's name contains '%s'", filter ? filter : "");
    }
    if (g_cli.json)
        printf("{\"summary\":true,\"device\":\"%s\",\"gemm\":\"%s\",\"checks\":%d,\"failed\":%d,"
               "\"programs_built\":%llu,\"cache_hits\":%llu,\"seconds\":%.3f}\n",
               name, gemm, n_run, n_failed, (unsigned long long)c.programs_built,
               (unsigned long long)c.cache_hits, secs);
    else
        printf("%d checks, %d failed on %s (gemm: %s; programs compiled %llu, from cache %llu) "
               "in %.2f s\n",
               n_run, n_failed, name, gemm, (unsigned long long)c.programs_built,
               (unsigned long long)c.cache_hits, secs);
    cli_close_device(dev);
    return n_failed ? 1 : 0;
}
