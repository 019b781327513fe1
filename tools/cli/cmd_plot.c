// latentcl plot RUN — draw a run's metrics.jsonl as a PNG of curves.
#include <stdio.h>

#include "cli.h"
#include "latentcl/plot.h"

int cmd_plot(int argc, char **argv) {
    const char *out = NULL;
    const cli_opt opts[] = {
        {"--out", OPT_STRING, &out, "PNG to write (default: RUN/curves.png)", "PNG"},
        {"--json", OPT_FLAG, &g_cli.json, "print the result as one JSON object", NULL},
        {NULL}};
    const char *run = NULL;
    int code;
    if (cli_parse_one(
            "plot", "RUN [--out curves.png]",
            "Draw the curves of RUN/metrics.jsonl (RUN may also be a metrics file): one "
            "panel per quantity against step, train/val/test splits of a quantity together.",
            argc, argv, opts, "RUN folder or metrics file", &run, &code))
        return code;
    char metrics[4096], png[4096];
    lc_status s = lc_plot_paths(metrics, png, sizeof png, run);
    int n_series = 0;
    if (s == LC_OK) s = lc_plot_metrics(run, out ? out : png, &n_series);
    if (s != LC_OK) return cli_report(s);
    const char *written = out ? out : png;
    if (g_cli.json) {
        // Paths are printed as given; escape the two characters JSON requires.
        printf("{\"out\":\"");
        for (const char *c = written; *c; c++) {
            if (*c == '"' || *c == '\\') putchar('\\');
            if ((unsigned char)*c < 0x20)
                printf("\\u%04x", (unsigned char)*c);
            else
                putchar(*c);
        }
        printf("\",\"series\":%d}\n", n_series);
    } else {
        printf("wrote %s (%d series)\n", written, n_series);
    }
    return 0;
}
