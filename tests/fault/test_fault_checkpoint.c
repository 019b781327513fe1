// Fault injection (tests/fault/fault_hooks.h) over whole operations of a real model
// (the diffusion MLP on 2-D points: tensors, kernels, optimiser, checkpoints, PNGs):
// the n-th host allocation, clCreateBuffer, clBuildProgram or write fails, for every n
// the operation reaches (a stride past a cap, see SWEEP_CAP). Every injected failure
// must come back as an error status with a message (naming the call where the kind
// has one), leak nothing (LeakSanitizer in the ASan build), leave no temporary file,
// and leave RUN/last.safetensors loadable: the old checkpoint byte for byte, or a
// newer complete one. A run of the operation with nothing injected must succeed.
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>

#include <cjson/cJSON.h>

#include "fault_hooks.h"
#include "test_util.h"
#include "latentcl/checkpoint.h"
#include "latentcl/device.h"
#include "latentcl/diffusion.h"
#include "latentcl/points.h"
#include "latentcl/run.h"
#include "latentcl/train.h"

enum { NPTS = 128, BATCH = 32, BASE_STEPS = 2, MORE_STEPS = 4 };
// Past this many calls of one kind in one operation, every k-th call is injected
// (k chosen so that about SWEEP_CAP points are tried): the sweep stays within seconds.
enum { SWEEP_CAP = 150 };

static lc_device *g_dev;
static char *g_dir;
static char g_pristine[1024], g_work[1024];
static unsigned char *g_pristine_ckpt; // pristine/last.safetensors
static size_t g_pristine_size;

// ---- the model and its run folders ------------------------------------------------------------

// A new diffusion MLP on moons, trained to `iters` steps into run (resume: continue it).
static lc_status train_run(const char *run, long iters, bool resume, long save_every) {
    float xy[2 * NPTS];
    int32_t lab[NPTS];
    lc_points_moons(xy, lab, NPTS, 0.05, 0);
    lc_diffusion_config cfg;
    lc_diffusion_config_default(&cfg, LC_DIF_NET_MLP, false);
    cfg.hidden = 16;
    cfg.depth = 2;
    cfg.T = 20;
    lc_diffusion *m = NULL;
    LC_TRY(lc_diffusion_new(&m, g_dev, &cfg, 3));
    lc_status s = lc_diffusion_set_points(m, xy, NULL, NPTS);
    lc_train_model tm;
    if (s == LC_OK) s = lc_diffusion_train_model(&tm, m);
    lc_train_options o;
    lc_train_options_default(&o);
    o.iters = iters;
    o.batch = BATCH;
    o.seed = 5;
    o.ema = 0.9;
    o.log_every = 1;
    o.save_every = save_every;
    o.out = run;
    o.resume = resume;
    if (s == LC_OK) s = lc_train(NULL, g_dev, &tm, &o, NULL, NULL);
    lc_diffusion_free(m);
    return s;
}

// Copies every plain file of pristine/ into a fresh work/ (outside any armed window).
static void reset_work(void) {
    test_rmtree(g_work);
    assert_int_equal(mkdir(g_work, 0755), 0);
    DIR *d = opendir(g_pristine);
    assert_non_null(d);
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.') continue;
        char from[1400], to[1400];
        snprintf(from, sizeof from, "%s/%s", g_pristine, e->d_name);
        snprintf(to, sizeof to, "%s/%s", g_work, e->d_name);
        size_t n;
        void *bytes = test_read_file(from, &n);
        assert_non_null(bytes);
        assert_int_equal(test_write_file(to, bytes, n), 0);
        free(bytes);
    }
    closedir(d);
}

// Whether a checkpoint's metadata has every entry of the pristine one, and each JSON
// object among them every member (a member silently dropped by a failed allocation
// would make a checkpoint that loads but does not resume). *what: the first missing.
static bool same_metadata_shape(const lc_st_file *f, char *what, size_t cap) {
    lc_st_file *p = NULL;
    char path[1400];
    snprintf(path, sizeof path, "%s/" LC_RUN_LAST, g_pristine);
    assert_ok(lc_st_open(&p, path));
    bool ok = true;
    for (int i = 0; ok && i < lc_st_meta_count(p); i++) {
        lc_st_meta m = lc_st_meta_at(p, i);
        const char *v = lc_st_meta_get(f, m.key);
        snprintf(what, cap, "%s", m.key);
        if (!v) ok = false;
        cJSON *a = cJSON_Parse(m.value), *b = v ? cJSON_Parse(v) : NULL;
        if (ok && cJSON_IsObject(a)) {
            ok = cJSON_IsObject(b) && cJSON_GetArraySize(a) == cJSON_GetArraySize(b);
            for (const cJSON *e = a->child; ok && e; e = e->next)
                ok = cJSON_GetObjectItemCaseSensitive(b, e->string) != NULL;
        }
        cJSON_Delete(a);
        cJSON_Delete(b);
    }
    lc_st_close(p);
    return ok;
}

// The invariants after any operation on work/, failed or not: no temporary file left,
// last.safetensors opens, and it is either the pristine one byte for byte or a later
// complete checkpoint of the same run.
static void check_work_intact(const char *what, long n) {
    DIR *d = opendir(g_work);
    assert_non_null(d);
    struct dirent *e;
    while ((e = readdir(d)))
        if (strstr(e->d_name, ".tmp"))
            fail_msg("%s, fault %ld: temporary file %s left in the run", what, n, e->d_name);
    closedir(d);
    char path[1400];
    snprintf(path, sizeof path, "%s/" LC_RUN_LAST, g_work);
    size_t size;
    unsigned char *bytes = test_read_file(path, &size);
    if (!bytes) fail_msg("%s, fault %ld: %s is gone", what, n, path);
    lc_st_file *f = NULL;
    lc_status s = lc_st_open(&f, path);
    long step = -1;
    if (s == LC_OK && lc_st_meta_get(f, LC_META_STEP)) step = atol(lc_st_meta_get(f, LC_META_STEP));
    char missing[128] = "";
    bool complete = s == LC_OK && same_metadata_shape(f, missing, sizeof missing);
    lc_st_close(f);
    bool same = size == g_pristine_size && !memcmp(bytes, g_pristine_ckpt, size);
    free(bytes);
    if (s != LC_OK) fail_msg("%s, fault %ld: %s does not load: %s", what, n, path, lc_last_error());
    if (s == LC_OK && !complete)
        fail_msg("%s, fault %ld: last.safetensors lacks (part of) metadata \"%s\"", what, n,
                 missing);
    if (step == BASE_STEPS && !same)
        fail_msg("%s, fault %ld: the step-%d checkpoint changed", what, n, BASE_STEPS);
    if (step < BASE_STEPS || step > MORE_STEPS)
        fail_msg("%s, fault %ld: last.safetensors holds step %ld", what, n, step);
    // And it loads as a model (the weights, the EMA weights).
    lc_diffusion *m = NULL;
    s = lc_diffusion_load(&m, g_dev, g_work, true);
    if (s != LC_OK)
        fail_msg("%s, fault %ld: the model does not load: %s", what, n, lc_last_error());
    lc_diffusion_free(m);
}

// ---- the sweep ------------------------------------------------------------------------------

typedef struct {
    const char *name;
    lc_status (*run)(void);                  // the operation, inside the armed window
    void (*prepare)(void);                   // before each try, outside the window (may be NULL)
    void (*check)(const char *what, long n); // after each try (may be NULL)
} operation;

typedef struct {
    long calls, tried, errors, absorbed, cjson_parse;
    int by_status[LC_ERR_EXISTS + 1];
} sweep_figures;

// Whether msg says what failed, for a failure of this kind.
static bool message_names_call(fault_kind kind, lc_status s, const char *msg) {
    switch (kind) {
    case FAULT_ALLOC: return s == LC_ERR_NOMEM && strstr(msg, "memory");
    case FAULT_CL_BUFFER:
        return strstr(msg, "clCreateBuffer") && (strstr(msg, "CL_MEM_OBJECT_ALLOCATION_FAILURE") ||
                                                 strstr(msg, "CL_OUT_OF_RESOURCES"));
    case FAULT_CL_BUILD:
        return s == LC_ERR_BUILD && strstr(msg, "building kernel program '") &&
               strstr(msg, "CL_BUILD_PROGRAM_FAILURE");
    case FAULT_WRITE: return s == LC_ERR_IO && strstr(msg, strerror(ENOSPC));
    default: return false;
    }
}

// Injects a failure at each call of `kind` the operation makes (every one up to
// SWEEP_CAP, then a stride); `from`: the failure persists for every later call too.
static sweep_figures sweep(const operation *op, fault_kind kind, bool from) {
    sweep_figures fig = {0};
    // LATENTCL_FAULT_OP=TEXT: only the operations whose name holds TEXT (debugging).
    const char *only_op = getenv("LATENTCL_FAULT_OP");
    if (only_op && !strstr(op->name, only_op)) return (sweep_figures){1000, 1, 1, 0, 0, {0}};
    double t0 = (double)clock();
    // A clean run counts the calls (and must succeed).
    if (op->prepare) op->prepare();
    fault_arm(kind, 0);
    lc_status s = op->run();
    fig.calls = fault_calls();
    fault_disarm();
    if (s != LC_OK)
        fail_msg("%s with nothing injected: %s: %s", op->name, lc_status_name(s), lc_last_error());
    if (op->check) op->check(op->name, 0);
    // LATENTCL_FAULT_CAP=N overrides the cap (a large N: every call, for a thorough run).
    long cap = getenv("LATENTCL_FAULT_CAP") ? atol(getenv("LATENTCL_FAULT_CAP")) : SWEEP_CAP;
    if (cap < 1) cap = SWEEP_CAP;
    long stride = fig.calls > cap ? (fig.calls + cap - 1) / cap : 1;
    // LATENTCL_FAULT_ONLY=N: only the N-th call (debugging one failure in its own process).
    long only = getenv("LATENTCL_FAULT_ONLY") ? atol(getenv("LATENTCL_FAULT_ONLY")) : 0;
    for (long n = only > 0 ? only : 1; n <= fig.calls && (only <= 0 || n == only); n += stride) {
        if (op->prepare) op->prepare();
        if (kind == FAULT_CL_BUFFER) // both ways a device says it is out of memory
            fault_set_cl_error(n % 2 ? CL_MEM_OBJECT_ALLOCATION_FAILURE : CL_OUT_OF_RESOURCES);
        lc_clear_error();
        const char *trace = getenv("LATENTCL_FAULT_TRACE");
        fault_set_trace(trace && !strcmp(trace, "all")); // every injection's stack (ASan)
        if (from)
            fault_arm_from(kind, n);
        else
            fault_arm(kind, n);
        s = op->run();
        bool fired = fault_fired();
        fault_disarm();
        fault_set_trace(false);
        if (!fired) break; // the operation took another path with fewer calls this time
        fig.tried++;
        if (s == LC_OK) {
            fig.absorbed++; // a failure the library may recover from (a cache, a fallback)
            if (getenv("LATENTCL_FAULT_TRACE")) { // where it was (ASan builds): try it again
                if (op->prepare) op->prepare();
                printf("# recovered: %s, %s %ld:\n", op->name, fault_kind_names[kind], n);
                fflush(stdout);
                fault_set_trace(true);
                from ? fault_arm_from(kind, n) : fault_arm(kind, n);
                (void)op->run();
                fault_disarm();
                fault_set_trace(false);
            }
        } else {
            fig.errors++;
            fig.by_status[s]++;
            const char *msg = lc_last_error();
            if (!msg[0])
                fail_msg("%s, %s %ld: %s without a message", op->name, fault_kind_names[kind], n,
                         lc_status_name(s));
            // cJSON_Parse answers NULL to a failed allocation as to bad JSON: a parse
            // error is the best its caller can say (counted, not failed).
            if (kind == FAULT_ALLOC && fault_fired_in_cjson() && s != LC_ERR_NOMEM)
                fig.cjson_parse++;
            else if (!message_names_call(kind, s, msg))
                fail_msg("%s, %s %ld failed: %s: %s (the message should say what failed)", op->name,
                         fault_kind_names[kind], n, lc_status_name(s), msg);
        }
        if (op->check) op->check(op->name, n);
    }
    printf("# %-20s %-15s %5ld calls, %4ld injected: %4ld errors (%ld in cJSON), %3ld recovered "
           "(%.1f s CPU)\n",
           op->name, fault_kind_names[kind], fig.calls, fig.tried, fig.errors, fig.cjson_parse,
           fig.absorbed, ((double)clock() - t0) / CLOCKS_PER_SEC);
    return fig;
}

// ---- operations -------------------------------------------------------------------------------

static lc_status op_load(void) { // both weight sets of a checkpoint into a new model
    lc_diffusion *m = NULL;
    LC_TRY(lc_diffusion_load(&m, g_dev, g_pristine, false));
    lc_diffusion_free(m);
    LC_TRY(lc_diffusion_load(&m, g_dev, g_pristine, true));
    lc_diffusion_free(m);
    return LC_OK;
}

static lc_status op_resume(void) { // a new model, --resume, 2 more steps saved after each
    return train_run(g_work, MORE_STEPS, true, 1);
}

static lc_status op_run_open(void) { // open a run to resume it, log a line, close
    lc_run *r = NULL;
    LC_TRY(lc_run_open(&r, g_work, LC_RUN_RESUME));
    lc_status s = lc_run_truncate_metrics(r, BASE_STEPS);
    lc_run_close(r);
    return s;
}

static lc_status op_device(void) { // open a device, build every program, close
    lc_device *dev = NULL;
    LC_TRY(lc_device_open(&dev, NULL));
    lc_status s = lc_device_build_all(dev);
    lc_device_close(dev);
    return s;
}

static const operation OP_LOAD = {"load checkpoint", op_load, NULL, NULL};
static const operation OP_RESUME = {"resume, train, save", op_resume, reset_work,
                                    check_work_intact};
static const operation OP_RUN_OPEN = {"open run (resume)", op_run_open, reset_work, NULL};

// ---- tests
// ---------------------------------------------------------------------------------------

static void test_alloc_failures(void **state) {
    (void)state;
    sweep_figures f = sweep(&OP_LOAD, FAULT_ALLOC, false);
    assert_true(f.calls > 10 && f.errors > 0);
    f = sweep(&OP_RUN_OPEN, FAULT_ALLOC, false);
    assert_true(f.calls > 0 && f.errors > 0);
    f = sweep(&OP_RESUME, FAULT_ALLOC, false);
    assert_true(f.calls > 100 && f.errors > 0);
}

static void test_cl_buffer_failures(void **state) {
    (void)state;
    sweep_figures f = sweep(&OP_LOAD, FAULT_CL_BUFFER, false);
    assert_true(f.calls > 0 && f.errors > 0);
    f = sweep(&OP_RESUME, FAULT_CL_BUFFER, false);
    assert_true(f.calls > 0 && f.errors > 0);
}

static void test_disk_full(void **state) {
    (void)state;
    sweep_figures f = sweep(&OP_RESUME, FAULT_WRITE, false);
    assert_true(f.calls > 10 && f.errors > 0);
}

// A real short write: the file size limit (as a full disk, EFBIG instead of ENOSPC) cuts
// the next checkpoint in half; the step-2 checkpoint stays as it was.
static void test_file_size_limit(void **state) {
    (void)state;
    reset_work();
    struct rlimit old, lim;
    assert_int_equal(getrlimit(RLIMIT_FSIZE, &old), 0);
    void (*old_handler)(int) = signal(SIGXFSZ, SIG_IGN);
    lim = old;
    lim.rlim_cur = g_pristine_size / 2;
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &lim), 0);
    lc_status s = op_resume();
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &old), 0);
    signal(SIGXFSZ, old_handler);
    assert_int_equal(s, LC_ERR_IO);
    const char *msg = lc_last_error();
    if (!strstr(msg, strerror(EFBIG)) || !strstr(msg, LC_RUN_LAST)) fail_msg("message: %s", msg);
    check_work_intact("file size limit", 1);
}

// A kernel program that fails to build: the error names the program and the CL error,
// and the same program builds once the compiler works again (nothing stuck or leaked).
static void test_build_failure(void **state) {
    (void)state;
    lc_device *dev = NULL;
    assert_ok(lc_device_open(&dev, NULL));
    const char *name = "misc";
    cl_kernel k;
    fault_arm_from(FAULT_CL_BUILD, 1); // the cached binary and the source build both fail
    lc_status s = lc_device_kernel(&k, dev, name, "copy_block");
    fault_disarm();
    assert_int_equal(s, LC_ERR_BUILD);
    const char *msg = lc_last_error();
    if (!strstr(msg, name) || !strstr(msg, "CL_BUILD_PROGRAM_FAILURE"))
        fail_msg("message: %s", msg);
    assert_ok(lc_device_kernel(&k, dev, name, "copy_block"));
    lc_device_close(dev);
    // Every build of opening a device and building a program, failing from there on.
    operation op = {"open device, build", op_device, NULL, NULL};
    sweep_figures f = sweep(&op, FAULT_CL_BUILD, true);
    assert_true(f.calls > 0 && f.errors == f.tried);
    // The same operation with each host allocation failing (ours only: not PoCL's).
    f = sweep(&op, FAULT_ALLOC, false);
    assert_true(f.calls > 0 && f.errors > 0);
}

static int setup(void **state) {
    (void)state;
    fault_hook_cjson();
    if (lc_device_open(&g_dev, NULL) != LC_OK) return -1;
    g_dir = test_tmpdir();
    snprintf(g_pristine, sizeof g_pristine, "%s/pristine", g_dir);
    snprintf(g_work, sizeof g_work, "%s/work", g_dir);
    if (train_run(g_pristine, BASE_STEPS, false, 0) != LC_OK) {
        fprintf(stderr, "setup: %s\n", lc_last_error());
        return -1;
    }
    char path[1400];
    snprintf(path, sizeof path, "%s/" LC_RUN_LAST, g_pristine);
    g_pristine_ckpt = test_read_file(path, &g_pristine_size);
    return g_pristine_ckpt ? 0 : -1;
}

static int teardown(void **state) {
    (void)state;
    free(g_pristine_ckpt);
    test_rmtree(g_dir);
    free(g_dir);
    lc_device_close(g_dev);
    return 0;
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_alloc_failures), cmocka_unit_test(test_cl_buffer_failures),
        cmocka_unit_test(test_disk_full),      cmocka_unit_test(test_file_size_limit),
        cmocka_unit_test(test_build_failure),
    };
    // LATENTCL_FAULT_TEST=PATTERN runs only the matching tests (debugging one sweep).
    if (getenv("LATENTCL_FAULT_TEST")) cmocka_set_test_filter(getenv("LATENTCL_FAULT_TEST"));
    return cmocka_run_group_tests(tests, setup, teardown);
}
