// latentcl bench allreduce — what averaging the gradients costs a data-parallel step:
// the time of one MPI_Allreduce (sum, float32, in place) of each size, run as
// `mpirun -np N latentcl bench allreduce` (one process: the figures are ~0), and with
// --copy the device round trip the training loop adds around it (read the gradients to
// the host, write the sums back).
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "cli_dist.h"
#include "latentcl/device.h"
#include "latentcl/dist.h"

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

// "1000,4e6": counts of floats; at most cap of them.
static int parse_sizes(long *out, int cap, const char *text) {
    int n = 0;
    const char *p = text;
    while (*p && n < cap) {
        char *end = NULL;
        double v = strtod(p, &end);
        if (end == p || v < 1 || v > 1e10) return -1;
        out[n++] = (long)v;
        p = *end == ',' ? end + 1 : end;
        if (*end && *end != ',') return -1;
    }
    return n;
}

static int run_bench(int argc, char **argv) {
    const char *sizes_text = "1e3,1e4,1e5,1e6,4e6,1.6e7";
    long iters = 20;
    bool copy = false;
    const cli_opt opts[] = {
        {"--floats", OPT_STRING, &sizes_text, "buffer sizes in float32 values, comma-separated",
         "N,N,.."},
        {"--iters", OPT_INT, &iters, "timed allreduces per size (after 3 warm-ups)", "N"},
        {"--copy", OPT_FLAG, &copy, "also time the device -> host -> device round trip", NULL},
        CLI_COMMON_OPTS,
        {NULL}};
    int code;
    if (cli_parse("bench allreduce", "[--floats N,N,..] [--iters N] [--copy] [--json]",
                  "Milliseconds per MPI_Allreduce (sum of float32, in place) over the ranks of\n"
                  "`mpirun -np N latentcl bench allreduce`, the mean over --iters calls after\n"
                  "a barrier; algbw = bytes / time, busbw = algbw 2 (N - 1) / N (the bytes each\n"
                  "rank's link carries in a ring allreduce). Sizes to try: each family's\n"
                  "parameter count (`latentcl inspect RUN` lists them).",
                  argc, argv, 1, opts, NULL, 0, NULL, &code))
        return code;
    long sizes[32];
    int n_sizes = parse_sizes(sizes, 32, sizes_text);
    if (n_sizes < 1) return cli_error("bench allreduce: --floats wants counts like 1e6,4e6"), 2;
    if (iters < 1) return cli_error("bench allreduce: --iters must be >= 1"), 2;
    int ranks = lc_dist_size();
    if (!lc_dist_built_with_mpi() && !g_cli.json)
        printf("note: built without MPI (-DLATENTCL_MPI=ON): one rank, nothing moves\n");
    lc_device *dev = NULL;
    if (copy && cli_open_device(&dev)) return 1;
    long most = 0;
    for (int i = 0; i < n_sizes; i++)
        most = sizes[i] > most ? sizes[i] : most;
    float *buf = malloc((size_t)most * sizeof *buf);
    cl_mem dbuf = NULL;
    lc_status s = buf ? LC_OK : lc_fail(LC_ERR_NOMEM, "out of memory for %ld floats", most);
    if (s == LC_OK && dev) s = lc_buffer_alloc(&dbuf, dev, (size_t)most * sizeof(float));
    if (s == LC_OK && !g_cli.json)
        printf("%12s %12s %6s %10s %10s %10s%s\n", "floats", "bytes", "ranks", "ms", "algbw GB/s",
               "busbw GB/s", dev ? "    copy ms" : "");
    for (int i = 0; s == LC_OK && i < n_sizes; i++) {
        size_t n = (size_t)sizes[i];
        for (size_t j = 0; j < n; j++)
            buf[j] = 1e-3f * (float)(j % 1000);
        for (int w = 0; s == LC_OK && w < 3; w++)
            s = lc_dist_allreduce_sum_f32(buf, n);
        if (s == LC_OK) s = lc_dist_barrier();
        double t0 = now();
        for (long it = 0; s == LC_OK && it < iters; it++)
            s = lc_dist_allreduce_sum_f32(buf, n);
        double ms = 1e3 * (now() - t0) / (double)iters;
        // Every rank's time, averaged: the slowest link sets the pace for all anyway.
        double mean = ms;
        if (s == LC_OK) s = lc_dist_allreduce_sum_f64(&mean, 1);
        mean /= ranks;
        double copy_ms = 0;
        if (s == LC_OK && dev) {
            s = lc_write(dev, dbuf, 0, buf, n * sizeof(float));
            double c0 = now();
            for (long it = 0; s == LC_OK && it < iters; it++) {
                s = lc_read(dev, buf, dbuf, 0, n * sizeof(float));
                if (s == LC_OK) s = lc_write(dev, dbuf, 0, buf, n * sizeof(float));
            }
            copy_ms = 1e3 * (now() - c0) / (double)iters;
        }
        if (s != LC_OK) break;
        double bytes = (double)n * sizeof(float);
        double algbw = mean > 0 ? bytes / (mean * 1e-3) / 1e9 : 0;
        double busbw = algbw * 2.0 * (ranks - 1) / ranks;
        if (g_cli.json) {
            printf("{\"floats\":%zu,\"bytes\":%.0f,\"ranks\":%d,\"ms\":%.6g,\"algbw_gbs\":%.6g,"
                   "\"busbw_gbs\":%.6g",
                   n, bytes, ranks, mean, algbw, busbw);
            if (dev) printf(",\"copy_ms\":%.6g", copy_ms);
            printf("}\n");
        } else {
            printf("%12zu %12.0f %6d %10.4f %10.3f %10.3f", n, bytes, ranks, mean, algbw, busbw);
            if (dev) printf(" %11.4f", copy_ms);
            printf("\n");
        }
        fflush(stdout);
    }
    lc_buffer_free(dbuf);
    free(buf);
    cli_close_device(dev);
    return s == LC_OK ? 0 : cli_report(s);
}

int bench_allreduce(int argc, char **argv) { return cli_dist_run(run_bench, argc, argv); }
