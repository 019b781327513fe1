// latentcl bench — speed measurements. One sub-verb per thing measured; each
// lives in its own file (bench_gemm.c, ...) and is listed here.
#include <stdio.h>
#include <string.h>

#include "cli.h"

int bench_gemm(int argc, char **argv);
int bench_allreduce(int argc, char **argv);

static const cli_verb benches[] = {
    {"gemm", "GFLOP/s of each GEMM backend against OpenBLAS on the host", bench_gemm},
    {"hmm", "seconds per Baum-Welch iteration (categorical or Gaussian HMM)", cmd_bench_hmm},
    {"allreduce", "ms per gradient allreduce across MPI ranks (mpirun -np N)", bench_allreduce},
    {NULL, NULL, NULL},
};

static void print_usage(FILE *f) {
    fprintf(f, "usage: latentcl bench WHAT [options]\n\nMeasure speed.\n\nwhat:\n");
    for (const cli_verb *b = benches; b->name; b++)
        fprintf(f, "  %-12s %s\n", b->name, b->summary);
    fprintf(f, "\n'latentcl bench WHAT --help' describes its options.\n");
}

int cmd_bench(int argc, char **argv) {
    if (argc < 2) {
        print_usage(stderr);
        return 2;
    }
    const char *what = argv[1];
    if (!strcmp(what, "--help") || !strcmp(what, "-h")) {
        print_usage(stdout);
        return 0;
    }
    for (const cli_verb *b = benches; b->name; b++)
        if (!strcmp(b->name, what)) return b->run(argc - 1, argv + 1);
    fprintf(stderr, "latentcl bench: unknown benchmark '%s'\n\n", what);
    print_usage(stderr);
    return 2;
}
