// latentcl bench gemm — GFLOP/s of each GEMM backend through lc_gemm on the
// chosen device, and of OpenBLAS called directly on host memory as the
// yardstick. Warm-up calls (CLBlast compiles its kernels on first use) are
// not timed; each timed run enqueues `reps` products and waits once, as a
// training step does.
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cblas.h>

#include "cli.h"
#include "latentcl/device.h"
#include "latentcl/gemm.h"

typedef struct {
    size_t m, n, k;
    int trans_a, trans_b;
} gemm_shape;

static double now_s(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static long auto_reps(double one_call_s) {
    // About 0.2 s of timed work per round, at least 3 calls.
    double r = 0.2 / (one_call_s > 1e-6 ? one_call_s : 1e-6);
    return r < 3 ? 3 : r > 1000 ? 1000 : (long)r;
}

static double gflops_of(const gemm_shape *s, double ms) {
    return 2.0 * (double)s->m * (double)s->n * (double)s->k / (ms * 1e6);
}

// The operands as stored, tightly packed: A (m,k) or (k,m), B (k,n) or (n,k), C (m,n).
typedef struct {
    float *a, *b, *c, *c_ref, *c_dev;
    cl_mem da, db, dc;
    size_t lda, ldb, ldc, na, nb, nc;
} operands;

static void operands_free(operands *o) {
    free(o->a);
    free(o->b);
    free(o->c);
    free(o->c_ref);
    free(o->c_dev);
    lc_buffer_free(o->da);
    lc_buffer_free(o->db);
    lc_buffer_free(o->dc);
}

static lc_status operands_make(operands *o, lc_device *dev, const gemm_shape *s) {
    memset(o, 0, sizeof *o);
    o->lda = s->trans_a ? s->m : s->k;
    o->ldb = s->trans_b ? s->k : s->n;
    o->ldc = s->n;
    o->na = s->m * s->k;
    o->nb = s->k * s->n;
    o->nc = s->m * s->n;
    o->a = malloc(o->na * sizeof(float));
    o->b = malloc(o->nb * sizeof(float));
    o->c = malloc(o->nc * sizeof(float));
    o->c_ref = malloc(o->nc * sizeof(float));
    o->c_dev = malloc(o->nc * sizeof(float));
    if (!o->a || !o->b || !o->c || !o->c_ref || !o->c_dev)
        return lc_fail(LC_ERR_NOMEM, "out of memory for %zux%zux%zu operands", s->m, s->n, s->k);
    unsigned seed = 42;
    for (size_t i = 0; i < o->na; i++)
        o->a[i] = (float)((seed = seed * 1664525u + 1013904223u) >> 9) / 8388608.0f - 1.0f;
    for (size_t i = 0; i < o->nb; i++)
        o->b[i] = (float)((seed = seed * 1664525u + 1013904223u) >> 9) / 8388608.0f - 1.0f;
    memset(o->c, 0, o->nc * sizeof(float));
    LC_TRY(lc_buffer_alloc(&o->da, dev, o->na * sizeof(float)));
    LC_TRY(lc_buffer_alloc(&o->db, dev, o->nb * sizeof(float)));
    LC_TRY(lc_buffer_alloc(&o->dc, dev, o->nc * sizeof(float)));
    LC_TRY(lc_write(dev, o->da, 0, o->a, o->na * sizeof(float)));
    LC_TRY(lc_write(dev, o->db, 0, o->b, o->nb * sizeof(float)));
    return LC_OK;
}

static void openblas_call(const gemm_shape *s, operands *o, float *c) {
    cblas_sgemm(CblasRowMajor, s->trans_a ? CblasTrans : CblasNoTrans,
                s->trans_b ? CblasTrans : CblasNoTrans, (int)s->m, (int)s->n, (int)s->k, 1.0f, o->a,
                (int)o->lda, o->b, (int)o->ldb, 0.0f, c, (int)o->ldc);
}

static lc_status device_call(lc_device *dev, const gemm_shape *s, operands *o) {
    return lc_gemm(dev, s->trans_a, s->trans_b, s->m, s->n, s->k, 1.0f,
                   (lc_matrix){o->da, 0, o->lda}, (lc_matrix){o->db, 0, o->ldb}, 0.0f,
                   (lc_matrix){o->dc, 0, o->ldc});
}

// One contestant: OpenBLAS on host memory (the yardstick) or lc_gemm with a backend.
typedef struct {
    const char *name;
    lc_gemm_backend backend; // unused for OpenBLAS
    int is_openblas;
    long reps;
    double best_ms, max_diff;
} contestant;

// Runs `reps` products with one contestant and waits for them.
static lc_status run_reps(lc_device *dev, const contestant *c, const gemm_shape *s, operands *o,
                          long reps) {
    if (c->is_openblas) {
        // Its own threads: the host backend sets OpenBLAS single-threaded for its bands.
        openblas_set_num_threads(lc_gemm_threads(dev));
        for (long i = 0; i < reps; i++)
            openblas_call(s, o, o->c);
        return LC_OK;
    }
    LC_TRY(lc_gemm_set_backend(dev, c->backend));
    for (long i = 0; i < reps; i++)
        LC_TRY(device_call(dev, s, o));
    return lc_finish(dev);
}

static lc_status timed(double *ms, lc_device *dev, const contestant *c, const gemm_shape *s,
                       operands *o, long reps) {
    double t0 = now_s();
    LC_TRY(run_reps(dev, c, s, o, reps));
    *ms = 1e3 * (now_s() - t0) / (double)reps;
    return LC_OK;
}

// Largest |C - C_openblas| after a device run (NaN sticks).
static lc_status compare(double *diff, lc_device *dev, operands *o) {
    LC_TRY(lc_read(dev, o->c_dev, o->dc, 0, o->nc * sizeof(float)));
    *diff = 0;
    for (size_t i = 0; i < o->nc; i++) {
        double d = fabs((double)o->c_dev[i] - (double)o->c_ref[i]);
        if (!(d <= *diff)) *diff = d;
    }
    return LC_OK;
}

// Warm-up (CLBlast compiles here, OpenBLAS starts its threads), then
// `rounds` rounds that take turns between the contestants; each keeps its
// best round, so a burst of load from elsewhere on a shared machine does not
// decide the comparison.
static lc_status bench_contestants(contestant *cs, int n_cs, lc_device *dev, const gemm_shape *s,
                                   operands *o, long reps, long rounds) {
    openblas_call(s, o, o->c_ref);
    for (int i = 0; i < n_cs; i++) {
        contestant *c = &cs[i];
        LC_TRY(run_reps(dev, c, s, o, 1));
        c->max_diff = -1;
        if (!c->is_openblas) LC_TRY(compare(&c->max_diff, dev, o));
        double one = 0;
        LC_TRY(timed(&one, dev, c, s, o, 1));
        c->reps = reps > 0 ? reps : auto_reps(one / 1e3);
        c->best_ms = INFINITY;
    }
    for (long r = 0; r < rounds; r++)
        for (int i = 0; i < n_cs; i++) {
            double ms = 0;
            LC_TRY(timed(&ms, dev, &cs[i], s, o, cs[i].reps));
            if (ms < cs[i].best_ms) cs[i].best_ms = ms;
        }
    return LC_OK;
}

static void print_result(const contestant *c, const gemm_shape *s, int threads,
                         const char *resolved, double openblas_ms) {
    double gflops = gflops_of(s, c->best_ms);
    if (g_cli.json) {
        printf("{\"bench\":\"gemm\",\"backend\":\"%s\",", c->name);
        if (resolved) printf("\"resolved\":\"%s\",", resolved);
        printf("\"m\":%zu,\"n\":%zu,\"k\":%zu,\"trans_a\":%s,\"trans_b\":%s,\"reps\":%ld,"
               "\"threads\":%d,\"ms\":%.4f,\"gflops\":%.2f,"
               "\"ratio_to_openblas\":%.3f",
               s->m, s->n, s->k, s->trans_a ? "true" : "false", s->trans_b ? "true" : "false",
               c->reps, threads, c->best_ms, gflops, openblas_ms / c->best_ms);
        if (c->max_diff >= 0 || isnan(c->max_diff)) printf(",\"max_abs_diff\":%.3g", c->max_diff);
        printf("}\n");
    } else {
        char name[32];
        snprintf(name, sizeof name, "%s%s%s%s", c->name, resolved ? " (" : "",
                 resolved ? resolved : "", resolved ? ")" : "");
        printf("%5zu %5zu %5zu  %d  %d  %-14s %6ld %10.3f %9.2f %8.3f", s->m, s->n, s->k,
               s->trans_a, s->trans_b, name, c->reps, c->best_ms, gflops, openblas_ms / c->best_ms);
        if (c->max_diff >= 0 || isnan(c->max_diff)) printf("   %.2g", c->max_diff);
        printf("\n");
    }
    fflush(stdout);
}

static lc_status bench_shape(lc_device *dev, const gemm_shape *s, long reps, long rounds,
                             lc_gemm_backend chosen) {
    int threads = lc_gemm_threads(dev); // the yardstick gets what the host backend gets
    contestant cs[3] = {{"openblas", LC_GEMM_AUTO, 1, 0, 0, 0}};
    int n_cs = 1;
    cs[n_cs++] = (contestant){"clblast", LC_GEMM_CLBLAST, 0, 0, 0, 0};
    if (lc_device_get_info(dev)->native_kernels)
        cs[n_cs++] = (contestant){"host", LC_GEMM_HOST, 0, 0, 0, 0};
    operands o;
    lc_status st = operands_make(&o, dev, s);
    if (st == LC_OK) st = bench_contestants(cs, n_cs, dev, s, &o, reps, rounds);
    if (st == LC_OK) {
        for (int i = 1; i < n_cs; i++)
            print_result(&cs[i], s, threads, NULL, cs[0].best_ms);
        print_result(&cs[0], s, threads, NULL, cs[0].best_ms);
        // "auto" is whichever of the above the device uses when nothing forces a
        // backend (the fixed rule, or $LATENTCL_GEMM): reported under its own name.
        for (int i = 1; i < n_cs; i++)
            if (cs[i].backend == chosen) {
                contestant a = cs[i];
                a.name = "auto";
                a.max_diff = -1;
                print_result(&a, s, threads, lc_gemm_backend_name(chosen), cs[0].best_ms);
            }
    }
    operands_free(&o);
    return st;
}

int bench_gemm(int argc, char **argv) {
    long m = 1024, n = 1024, k = 1024, reps = 0, rounds = 3;
    bool trans_a = false, trans_b = false, mlp = false;
    const cli_opt opts[] = {
        {"--m", OPT_INT, &m, "rows of C and op(A)", "M"},
        {"--n", OPT_INT, &n, "columns of C and op(B)", "N"},
        {"--k", OPT_INT, &k, "the shared dimension", "K"},
        {"--trans-a", OPT_FLAG, &trans_a, "A is stored transposed, (k, m)", NULL},
        {"--trans-b", OPT_FLAG, &trans_b, "B is stored transposed, (n, k)", NULL},
        {"--reps", OPT_INT, &reps, "timed calls per round and backend (0: about 0.2 s)", "R"},
        {"--rounds", OPT_INT, &rounds, "rounds taking turns between backends; each keeps its best",
         "N"},
        {"--mlp", OPT_FLAG, &mlp,
         "the reference MLP's 784-512 layer at batch 128: 128x512x784, 128x784x512 and "
         "512x784x128 in all four transpose combinations",
         NULL},
        CLI_COMMON_OPTS,
        {NULL}};
    int code;
    if (cli_parse("bench gemm",
                  "[--m M --n N --k K] [--trans-a] [--trans-b] [--mlp] [--reps R] [--rounds N] "
                  "[--device D] "
                  "[--threads N] [--json]",
                  "GFLOP/s of C = op(A) op(B) through lc_gemm with each backend (clblast; host\n"
                  "BLAS where the device runs native kernels) and of OpenBLAS called directly on\n"
                  "host memory, the yardstick. 'auto' is the backend the fixed rule picks; its\n"
                  "ratio to OpenBLAS is the figure to watch. Warm-up calls are not timed.",
                  argc, argv, 1, opts, NULL, 0, NULL, &code))
        return code;
    if (m < 1 || n < 1 || k < 1 || m > 65536 || n > 65536 || k > 65536 || reps < 0 || rounds < 1 ||
        rounds > 1000) {
        cli_error(
            "bench gemm: --m, --n and --k must be in 1..65536, --reps >= 0, --rounds in 1..1000");
        return 2;
    }

    gemm_shape shapes[12];
    int n_shapes = 0;
    if (mlp) {
        // Forward x W^T, backward dY W and dY^T x for the 784 -> 512 layer.
        const size_t mnk[3][3] = {{128, 512, 784}, {128, 784, 512}, {512, 784, 128}};
        for (int i = 0; i < 3; i++)
            for (int t = 0; t < 4; t++)
                shapes[n_shapes++] = (gemm_shape){mnk[i][0], mnk[i][1], mnk[i][2], t >> 1, t & 1};
    } else {
        shapes[n_shapes++] = (gemm_shape){(size_t)m, (size_t)n, (size_t)k, trans_a, trans_b};
    }

    lc_device *dev = NULL;
    if (cli_open_device(&dev)) return 1;
    const lc_device_info *info = lc_device_get_info(dev);
    lc_gemm_backend resolved = lc_gemm_active_backend(dev);
    if (!g_cli.json) {
        printf("gemm on %s (%s); OpenBLAS threads %d; auto = %s\n", info->name, info->platform,
               lc_gemm_threads(dev), lc_gemm_backend_name(resolved));
        printf("%5s %5s %5s %2s %2s  %-14s %6s %10s %9s %7s   %s\n", "m", "n", "k", "ta", "tb",
               "backend", "reps", "ms", "GFLOP/s", "vs_oblas", "max|diff|");
    }
    lc_status st = LC_OK;
    for (int i = 0; i < n_shapes && st == LC_OK; i++)
        st = bench_shape(dev, &shapes[i], reps, rounds, resolved);
    int rc = st == LC_OK ? 0 : cli_report(st);
    cli_close_device(dev);
    return rc;
}
