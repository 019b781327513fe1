// Opening the device for a verb: --device, --threads, the cache warning,
// and the LATENTCL_PROFILE table when the verb is done.
#include <stdio.h>
#include <stdlib.h>

#include "cli.h"
#include "latentcl/device.h"

int cli_open_device(lc_device **dev) {
    lc_device_options o = {.spec = g_cli.device, .threads = (int)g_cli.threads, .profile = -1};
    if (g_cli.threads < 0) return cli_error("--threads must be >= 0");
    lc_status s = lc_device_open(dev, &o);
    if (s != LC_OK) return cli_report(s);
    const char *w = lc_device_warning(*dev);
    if (w && *w) fprintf(stderr, "latentcl: warning: %s\n", w);
    return 0;
}

void cli_close_device(lc_device *dev) {
    if (!dev) return;
    if (lc_device_profiling(dev)) {
        lc_profile_row *rows = NULL;
        int n = 0;
        if (lc_device_profile(dev, &rows, &n) == LC_OK && n > 0) {
            double total = 0;
            for (int i = 0; i < n; i++)
                total += rows[i].total_ms;
            fprintf(stderr,
                    "\nLATENTCL_PROFILE: device time per kernel\n%-32s %10s %12s %10s %6s\n",
                    "kernel", "calls", "total ms", "us/call", "%");
            for (int i = 0; i < n; i++)
                fprintf(stderr, "%-32s %10llu %12.3f %10.2f %6.1f\n", rows[i].name,
                        (unsigned long long)rows[i].calls, rows[i].total_ms,
                        rows[i].calls ? 1e3 * rows[i].total_ms / (double)rows[i].calls : 0.0,
                        total > 0 ? 100.0 * rows[i].total_ms / total : 0.0);
            fprintf(stderr, "%-32s %10s %12.3f\n", "total", "", total);
        }
        free(rows);
    }
    lc_device_close(dev);
}
