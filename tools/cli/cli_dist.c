// One rank of a data-parallel job (see cli_dist.h and include/latentcl/dist.h): start
// MPI when launched by mpirun, pick this rank's device and threads, keep the other
// ranks quiet, and end the whole job when one rank fails.
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "cli_dist.h"
#include "latentcl/device.h"
#include "latentcl/dist.h"

// A launcher (Open MPI, MPICH/Hydra, PMIx, Slurm's srun) started this process.
static int under_launcher(void) {
    const char *vars[] = {"OMPI_COMM_WORLD_SIZE", "PMIX_RANK", "PMI_SIZE", "PMI_RANK", NULL};
    for (int i = 0; vars[i]; i++)
        if (getenv(vars[i])) return 1;
    return 0;
}

// CPU threads for this rank: the cores the launcher bound it to, else the machine's cores
// shared between the ranks on it.
static long threads_per_rank(void) {
    long online = sysconf(_SC_NPROCESSORS_ONLN);
    if (online < 1) online = 1;
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof set, &set) == 0) {
        long bound = CPU_COUNT(&set);
        if (bound > 0 && bound < online) return bound;
    }
    long t = online / lc_dist_local_size();
    return t > 0 ? t : 1;
}

// The --device value on the command line (the last one wins), its argv slot and form.
static const char *find_device_arg(int argc, char **argv, int *slot, int *inline_eq) {
    const char *v = NULL;
    *slot = -1;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--device") && i + 1 < argc) {
            v = argv[i + 1];
            *slot = i + 1;
            *inline_eq = 0;
            i++;
        } else if (!strncmp(argv[i], "--device=", 9)) {
            v = argv[i] + 9;
            *slot = i;
            *inline_eq = 1;
        }
    }
    return v;
}

// This rank's device spec (in out) from the shared one.
static void device_for_rank(char *out, size_t cap, const char *spec) {
    int r = lc_dist_local_rank();
    snprintf(out, cap, "%s", spec ? spec : "");
    if (spec && strchr(spec, ',')) { // a list: local rank r takes item r mod count
        int n = 1;
        for (const char *c = spec; *c; c++)
            n += *c == ',';
        const char *item = spec;
        for (int k = r % n; k > 0; k--)
            item = strchr(item, ',') + 1;
        size_t len = strcspn(item, ",");
        snprintf(out, cap, "%.*s", (int)len, item);
        return;
    }
    if (spec && *spec && strcmp(spec, "gpu")) return; // one named device: every rank on it
    lc_device_info *list = NULL;
    int count = 0, gpus = 0;
    if (lc_device_list(&list, &count) != LC_OK) return; // the verb reports it when it opens
    for (int i = 0; i < count; i++)
        gpus += list[i].is_gpu != 0;
    if (gpus > 0) { // the GPUs round-robin by local rank
        int want = r % gpus;
        for (int i = 0; i < count; i++)
            if (list[i].is_gpu && want-- == 0) {
                snprintf(out, cap, "%d", i);
                break;
            }
    }
    free(list);
}

static char device_arg[512];

static void choose_device(int argc, char **argv) {
    char threads[32];
    snprintf(threads, sizeof threads, "%ld", threads_per_rank());
    // PoCL reads this when the platform starts (the device list below starts it).
    setenv("POCL_MAX_PTHREAD_COUNT", threads, 0);
    setenv("OPENBLAS_NUM_THREADS", threads, 0);
    int slot = -1, inline_eq = 0;
    const char *spec = find_device_arg(argc, argv, &slot, &inline_eq);
    if (!spec) spec = getenv("LATENTCL_DEVICE");
    char chosen[256];
    device_for_rank(chosen, sizeof chosen, spec);
    if (slot < 0) {
        if (*chosen) setenv("LATENTCL_DEVICE", chosen, 1);
        return;
    }
    snprintf(device_arg, sizeof device_arg, "%s%s", inline_eq ? "--device=" : "", chosen);
    argv[slot] = device_arg;
}

int cli_dist_writer(void) { return lc_dist_rank() == 0; }

// Ranks other than 0: stdout goes nowhere, stderr (progress bars, warnings) into a
// scratch file whose "latentcl..." lines (the error) are shown if the rank fails.
typedef struct {
    FILE *scratch;
    int real_stderr;
} quiet_rank;

static void quiet_begin(quiet_rank *q) {
    q->scratch = NULL;
    q->real_stderr = -1;
    fflush(stdout);
    fflush(stderr);
    if (!freopen("/dev/null", "w", stdout)) return;
    q->scratch = tmpfile();
    q->real_stderr = q->scratch ? dup(STDERR_FILENO) : -1;
    if (q->real_stderr >= 0) dup2(fileno(q->scratch), STDERR_FILENO);
}

static void quiet_end(quiet_rank *q, int failed) {
    if (q->real_stderr < 0) return;
    fflush(stderr);
    dup2(q->real_stderr, STDERR_FILENO);
    close(q->real_stderr);
    if (failed) {
        char line[4096];
        rewind(q->scratch);
        while (fgets(line, sizeof line, q->scratch))
            if (!strncmp(line, "latentcl", 8)) fprintf(stderr, "rank %d: %s", lc_dist_rank(), line);
    }
    fclose(q->scratch);
}

int cli_dist_run(int (*run)(int argc, char **argv), int argc, char **argv) {
    if (!lc_dist_built_with_mpi() || !under_launcher()) return run(argc, argv);
    lc_status s = lc_dist_init(NULL, NULL);
    if (s != LC_OK) return cli_report(s);
    if (lc_dist_size() == 1) {
        int rc = run(argc, argv);
        lc_dist_finalize();
        return rc;
    }
    choose_device(argc, argv);
    quiet_rank q = {NULL, -1};
    if (lc_dist_rank() != 0) quiet_begin(&q);
    int rc = run(argc, argv);
    fflush(stdout);
    // A failure that every rank meets (a bad --data) is best told once, by rank 0: the
    // others give it a moment to print and end the job before they speak up themselves.
    if (lc_dist_rank() != 0 && rc != 0) sleep(2);
    if (lc_dist_rank() != 0) quiet_end(&q, rc != 0);
    fflush(stderr);
    // A rank that failed may leave the others waiting in a collective: end them all.
    if (rc != 0) lc_dist_abort(rc);
    lc_dist_finalize();
    return rc;
}
