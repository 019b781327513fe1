// latentcl bench hmm — seconds per Baum-Welch iteration (E-step on the device plus
// the M-step) on synthetic data drawn from a random HMM of the same shape.
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "cli.h"
#include "cmd_hmm.h"
#include "latentcl/device.h"
#include "latentcl/rng.h"

static double clock_s(clockid_t id) {
    struct timespec ts;
    clock_gettime(id, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}
static double now(void) { return clock_s(CLOCK_MONOTONIC); }

int cmd_bench_hmm(int argc, char **argv) {
    long k = 16, m = 64, d = 16, n = 2000, length = 200, iters = 5, seed = 1;
    const char *emission = "categorical";
    const cli_opt opts[] = {
        {"--n-states", OPT_INT, &k, "hidden states K", "K"},
        {"--symbols", OPT_INT, &m, "categorical: alphabet size M", "M"},
        {"--dims", OPT_INT, &d, "Gaussian: dimensions D", "D"},
        {"--sequences", OPT_INT, &n, "sequences", "N"},
        {"--length", OPT_INT, &length, "steps per sequence", "T"},
        {"--emission", OPT_STRING, &emission, "categorical | gaussian", "E"},
        {"--iters", OPT_INT, &iters, "timed EM iterations (after one warm-up)", "N"},
        {"--seed", OPT_INT, &seed, "seed of the data and the initialisation", "S"},
        CLI_COMMON_OPTS,
        {NULL}};
    int code;
    if (cli_parse("bench hmm",
                  "[--n-states K --symbols M --dims D --sequences N --length T] "
                  "[--emission categorical|gaussian] [--iters N] [--json]",
                  "Seconds per EM iteration (E-step on the device + M-step) on N sequences of\n"
                  "length T drawn from a random HMM; the figure is the mean over --iters\n"
                  "iterations after one warm-up iteration.",
                  argc, argv, 1, opts, NULL, 0, NULL, &code))
        return code;
    lc_hmm_emission kind;
    if (lc_hmm_emission_parse(&kind, emission))
        return cli_error("bench hmm: --emission must be categorical or gaussian"), 2;
    if (k < 1 || m < 1 || d < 1 || n < 1 || length < 1 || iters < 1)
        return cli_error("bench hmm: sizes and --iters must be >= 1"), 2;
    int md = kind == LC_HMM_GAUSSIAN ? (int)d : (int)m;
    lc_hmm truth = {0}, h = {0};
    lc_sequences x = {0};
    lc_hmm_stats st = {0};
    lc_device *dev = NULL;
    lc_hmm_device *hd = NULL;
    int rc = 0;
    lc_status s = lc_hmm_init(&truth, (int)k, kind, md);
    if (s == LC_OK) s = lc_hmm_init(&h, (int)k, kind, md);
    // The data: n sequences from a random model (means spread so states differ).
    x.n = n;
    x.n_steps = n * length;
    x.offsets = malloc((size_t)(n + 1) * sizeof(int64_t));
    if (kind == LC_HMM_GAUSSIAN)
        x.dim = md, x.values = malloc((size_t)x.n_steps * md * sizeof(float));
    else
        x.symbols = malloc((size_t)x.n_steps * sizeof(int32_t));
    if (s == LC_OK && (!x.offsets || (!x.values && !x.symbols)))
        s = lc_fail(LC_ERR_NOMEM, "out of memory");
    if (s == LC_OK) {
        for (int64_t b = 0; b <= n; b++)
            x.offsets[b] = b * length;
        s = lc_hmm_init_random(&truth, "ste", &x, (uint64_t)seed + 1000, 0, 1e-3);
        if (kind == LC_HMM_GAUSSIAN) {
            float *z = malloc((size_t)(k * md) * sizeof(float));
            const uint32_t ctr[4] = {0, 0, 0, 0x484d4d}; // "HMM"
            if (!z)
                s = lc_fail(LC_ERR_NOMEM, "out of memory");
            else
                lc_rng_fill_host(z, (size_t)(k * md), 1, (uint64_t)seed, ctr);
            for (long i = 0; z && i < k * md; i++)
                truth.means[i] = 3.0 * z[i], truth.covars[i] = 1.0;
            free(z);
        }
    }
    if (s == LC_OK) s = lc_hmm_sample(NULL, x.symbols, x.values, &truth, n, length, (uint64_t)seed);
    if (s == LC_OK) s = lc_hmm_init_random(&h, NULL, &x, (uint64_t)seed, 0, 1e-3);
    if (s == LC_OK) s = lc_hmm_stats_init(&st, &h);
    if (s == LC_OK && cli_open_device(&dev)) rc = 1;
    if (s == LC_OK && !rc) s = lc_hmm_device_new(&hd, dev, &h, &x);
    lc_hmm_mstep_options mo;
    lc_hmm_mstep_defaults(&mo);
    // CPU seconds too: on a shared machine they move less than wall time.
    double total = 0, cpu = 0, first_ll = NAN, last_ll = NAN;
    for (long it = 0; s == LC_OK && !rc && it <= iters; it++) {
        double t0 = now(), c0 = clock_s(CLOCK_PROCESS_CPUTIME_ID);
        s = lc_hmm_estep_device(&st, hd, &h);
        if (s == LC_OK) lc_hmm_mstep(&h, &st, NULL, &mo);
        double dt = now() - t0, dc = clock_s(CLOCK_PROCESS_CPUTIME_ID) - c0;
        if (it == 0)
            first_ll = st.log_likelihood;
        else
            total += dt, cpu += dc;
        last_ll = st.log_likelihood;
    }
    if (s != LC_OK && !rc) rc = cli_report(s);
    if (!rc) {
        double per = total / (double)iters;
        const char *name = lc_device_get_info(dev)->name;
        if (g_cli.json)
            printf("{\"bench\":\"hmm\",\"emission\":\"%s\",\"k\":%ld,\"m\":%ld,\"d\":%ld,"
                   "\"sequences\":%ld,"
                   "\"length\":%ld,\"sec_per_iter\":%.6f,\"cpu_sec_per_iter\":%.6f,\"iters\":%ld,"
                   "\"log_likelihood_first\":%.10g,"
                   "\"log_likelihood_last\":%.10g,\"device\":\"%s\"}\n",
                   emission, k, kind == LC_HMM_CATEGORICAL ? m : 0, kind == LC_HMM_GAUSSIAN ? d : 0,
                   n, length, per, cpu / (double)iters, iters, first_ll, last_ll, name);
        else
            printf(
                "hmm %s K=%ld %s=%ld, %ld sequences x %ld: %.2f ms per EM iteration (mean of %ld; "
                "%.2f CPU ms) on %s; log-likelihood %.6g -> %.6g\n",
                emission, k, kind == LC_HMM_CATEGORICAL ? "M" : "D",
                kind == LC_HMM_CATEGORICAL ? m : d, n, length, 1e3 * per, iters,
                1e3 * cpu / (double)iters, name, first_ll, last_ll);
    }
    lc_hmm_device_free(hd);
    cli_close_device(dev);
    lc_hmm_stats_free(&st);
    lc_sequences_free(&x);
    lc_hmm_free(&truth);
    lc_hmm_free(&h);
    return rc;
}
