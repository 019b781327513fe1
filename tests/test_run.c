// Run folders: refuse / force / resume, config.json, metrics.jsonl round trips,
// atomic writes that leave no temp files.
#include <cjson/cJSON.h>
#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "io/atomic.h"
#include "latentcl/run.h"
#include "test_util.h"

static char *dir;

static int setup(void **state) { return test_open_tmpdir(&dir); }

static int teardown(void **state) { return test_close_tmpdir(&dir); }

static const char *in_dir(const char *name) { return test_path(dir, name); }

static int count_temp_files(const char *folder) {
    DIR *d = opendir(folder);
    int n = 0;
    for (struct dirent *e; d && (e = readdir(d));)
        n += strstr(e->d_name, ".tmp") != NULL;
    if (d) closedir(d);
    return n;
}

static void test_atomic_write_file(void **state) {
    const char *path = in_dir("a.txt");
    assert_ok(lc_write_file_atomic(path, "first", 5));
    assert_ok(lc_write_file_atomic(path, "second!", 7));
    size_t n = 0;
    char *text = test_read_file(path, &n);
    assert_int_equal(n, 7);
    assert_memory_equal(text, "second!", 7);
    free(text);
    assert_ok(lc_write_file_atomic(in_dir("empty.txt"), "", 0));
    assert_int_equal(lc_write_file_atomic(in_dir("missing/b.txt"), "x", 1), LC_ERR_IO);
    assert_non_null(strstr(lc_last_error(), "missing/b.txt"));
    assert_int_equal(count_temp_files(dir), 0);
}

static void test_new_refuses_existing(void **state) {
    const char *run_dir = in_dir("runs/one"); // parents are created
    lc_run *r = NULL;
    assert_ok(lc_run_open(&r, run_dir, LC_RUN_NEW));
    assert_string_equal(lc_run_dir(r), run_dir);
    char path[4096];
    assert_ok(lc_run_path(r, "x.png", path, sizeof path));
    assert_non_null(strstr(path, "runs/one/x.png"));
    assert_int_equal(lc_run_path(r, "x.png", path, 8), LC_ERR_INVALID_ARG);
    assert_ok(lc_run_log_metrics(r, (lc_metric[]){{"step", 1}, {"loss", 2.5}}, 2));
    lc_run_close(r);

    // Now non-empty: NEW is refused with a message naming the folder.
    r = (lc_run *)0x1;
    assert_int_equal(lc_run_open(&r, run_dir, LC_RUN_NEW), LC_ERR_EXISTS);
    assert_null(r);
    assert_non_null(strstr(lc_last_error(), run_dir));
    assert_non_null(strstr(lc_last_error(), "--force"));
    // An empty existing folder is fine.
    mkdir(in_dir("empty"), 0777);
    assert_ok(lc_run_open(&r, in_dir("empty"), LC_RUN_NEW));
    lc_run_close(r);
    // A file where the folder should be is refused.
    assert_int_equal(test_write_file(in_dir("plain"), "x", 1), 0);
    assert_int_equal(lc_run_open(&r, in_dir("plain"), LC_RUN_NEW), LC_ERR_EXISTS);
    assert_int_equal(lc_run_open(&r, in_dir("plain"), LC_RUN_FORCE), LC_ERR_EXISTS);
    // Resume needs an existing folder.
    assert_int_equal(lc_run_open(&r, in_dir("nope"), LC_RUN_RESUME), LC_ERR_IO);
    assert_int_not_equal(access(in_dir("nope"), F_OK), 0);
}

static void test_force_and_resume(void **state) {
    const char *run_dir = in_dir("run");
    lc_run *r = NULL;
    assert_ok(lc_run_open(&r, run_dir, LC_RUN_NEW));
    assert_ok(lc_run_log_metrics(r, (lc_metric[]){{"step", 1}, {"loss", 9}}, 2));
    lc_run_close(r);
    assert_int_equal(test_write_file(in_dir("run/mine.txt"), "keep", 4), 0);
    assert_int_equal(test_write_file(in_dir("run/last.safetensors"), "old", 3), 0);

    // Resume appends.
    assert_ok(lc_run_open(&r, run_dir, LC_RUN_RESUME));
    assert_ok(lc_run_log_metrics(r, (lc_metric[]){{"step", 2}, {"loss", 8}}, 2));
    lc_run_close(r);
    lc_metrics m;
    assert_ok(lc_metrics_read(&m, in_dir("run/metrics.jsonl")));
    assert_int_equal(m.n_rows, 2);
    lc_metrics_free(&m);

    // Force starts the metrics over and removes the files latentcl names, nothing else.
    assert_ok(lc_run_open(&r, run_dir, LC_RUN_FORCE));
    assert_ok(lc_run_log_metrics(r, (lc_metric[]){{"step", 5}, {"loss", 1}}, 2));
    lc_run_close(r);
    assert_ok(lc_metrics_read(&m, in_dir("run/metrics.jsonl")));
    assert_int_equal(m.n_rows, 1);
    assert_true(lc_metrics_at(&m, 0, lc_metrics_column(&m, "step")) == 5);
    lc_metrics_free(&m);
    assert_int_equal(access(in_dir("run/mine.txt"), F_OK), 0);
    assert_int_not_equal(access(in_dir("run/last.safetensors"), F_OK), 0);
}

static void test_config_round_trip(void **state) {
    lc_run *r = NULL;
    assert_ok(lc_run_open(&r, in_dir("cfg"), LC_RUN_NEW));
    cJSON *cfg = cJSON_CreateObject();
    cJSON_AddStringToObject(cfg, "family", "vae");
    cJSON_AddNumberToObject(cfg, "seed", 1234);
    cJSON_AddNumberToObject(cfg, "lr", 1e-3);
    cJSON_AddStringToObject(cfg, "device", "pocl cpu \xc3\xa9");
    assert_ok(lc_run_write_config(r, cfg));
    cJSON_ReplaceItemInObject(cfg, "seed", cJSON_CreateNumber(99));
    assert_ok(lc_run_write_config(r, cfg)); // replaced atomically
    assert_int_equal(count_temp_files(in_dir("cfg")), 0);
    cJSON *back = NULL;
    assert_ok(lc_run_read_config(&back, in_dir("cfg")));
    assert_true(cJSON_Compare(cfg, back, 1));
    cJSON_Delete(back);
    cJSON_Delete(cfg);
    lc_run_close(r);
    assert_int_equal(lc_run_read_config(&back, in_dir("nothing")), LC_ERR_IO);
    assert_int_equal(test_write_file(in_dir("cfg/config.json"), "{\"a\":", 5), 0);
    assert_int_equal(lc_run_read_config(&back, in_dir("cfg")), LC_ERR_FORMAT);
    assert_null(back);
}

static void test_metrics_round_trip(void **state) {
    lc_run *r = NULL;
    assert_ok(lc_run_open(&r, in_dir("m"), LC_RUN_NEW));
    for (int step = 1; step <= 10; step++) {
        lc_metric row[] = {{"step", step}, {"epoch", (step - 1) / 5},  {"loss", 10.0 / step},
                           {"lr", 1e-3},   {"samples_per_s", 20000.5}, {"elapsed_s", 0.25 * step}};
        assert_ok(lc_run_log_metrics(r, row, 6));
        if (step % 5 == 0) { // an evaluation line with a new key, as a cJSON object
            cJSON *obj = cJSON_CreateObject();
            cJSON_AddNumberToObject(obj, "step", step);
            cJSON_AddNumberToObject(obj, "test_elbo", -250.0 + step);
            cJSON_AddStringToObject(obj, "phase", "eval");
            assert_ok(lc_run_log(r, obj));
            cJSON_Delete(obj);
        }
    }
    assert_ok(lc_run_log_metrics(r, (lc_metric[]){{"step", 11}, {"loss", NAN}}, 2));
    assert_int_equal(lc_run_log(r, NULL), LC_ERR_INVALID_ARG);
    lc_run_close(r);

    lc_metrics m;
    assert_ok(lc_metrics_read(&m, in_dir("m/metrics.jsonl")));
    assert_int_equal(m.n_rows, 13);
    assert_int_equal(m.n_cols, 7); // step epoch loss lr samples_per_s elapsed_s test_elbo
    assert_string_equal(m.names[0], "step");
    assert_string_equal(m.names[6], "test_elbo");
    assert_int_equal(lc_metrics_column(&m, "phase"), -1); // strings are not columns
    int loss = lc_metrics_column(&m, "loss"), elbo = lc_metrics_column(&m, "test_elbo");
    assert_true(lc_metrics_at(&m, 0, loss) == 10.0);
    assert_true(lc_metrics_at(&m, 1, loss) == 5.0);
    assert_true(isnan(lc_metrics_at(&m, 0, elbo)));
    assert_true(lc_metrics_at(&m, 5, elbo) == -245.0); // row 5 is the eval line after step 5
    assert_true(lc_metrics_at(&m, 1, lc_metrics_column(&m, "lr")) == 1e-3);
    assert_true(isnan(lc_metrics_at(&m, 12, loss))); // NaN was written as null
    lc_metrics_free(&m);

    // Resume from step 6: later lines go, earlier ones stay, appends continue.
    assert_ok(lc_run_open(&r, in_dir("m"), LC_RUN_RESUME));
    assert_ok(lc_run_truncate_metrics(r, 6));
    assert_ok(lc_run_log_metrics(r, (lc_metric[]){{"step", 7}, {"loss", 0.5}}, 2));
    lc_run_close(r);
    assert_ok(lc_metrics_read(&m, in_dir("m/metrics.jsonl")));
    assert_int_equal(m.n_rows, 8); // steps 1..5, the eval at 5, step 6, the new 7
    assert_true(lc_metrics_at(&m, 7, lc_metrics_column(&m, "loss")) == 0.5);
    lc_metrics_free(&m);
    assert_int_equal(count_temp_files(in_dir("m")), 0);
}

static void test_metrics_bad_lines(void **state) {
    lc_metrics m;
    const char *path = in_dir("bad.jsonl");
    const char *bad = "{\"step\":1,\"loss\":2}\n\n{\"step\":2,\"loss\":\n{\"step\":3}\n";
    assert_int_equal(test_write_file(path, bad, strlen(bad)), 0);
    assert_int_equal(lc_metrics_read(&m, path), LC_ERR_FORMAT);
    assert_non_null(strstr(lc_last_error(), "bad.jsonl:3"));
    assert_null(m.values);
    const char *array = "{\"step\":1}\n[1,2]\n";
    assert_int_equal(test_write_file(path, array, strlen(array)), 0);
    assert_int_equal(lc_metrics_read(&m, path), LC_ERR_FORMAT);
    assert_non_null(strstr(lc_last_error(), "bad.jsonl:2"));
    // A torn last line (no newline) is what a crash leaves: ignored.
    const char *torn = "{\"step\":1,\"loss\":2}\n{\"step\":2,\"lo";
    assert_int_equal(test_write_file(path, torn, strlen(torn)), 0);
    assert_ok(lc_metrics_read(&m, path));
    assert_int_equal(m.n_rows, 1);
    lc_metrics_free(&m);
    // A complete last line without a newline counts.
    const char *last = "{\"step\":1}\n{\"step\":2}";
    assert_int_equal(test_write_file(path, last, strlen(last)), 0);
    assert_ok(lc_metrics_read(&m, path));
    assert_int_equal(m.n_rows, 2);
    lc_metrics_free(&m);
    // Empty file: no rows, no error.
    assert_int_equal(test_write_file(path, "", 0), 0);
    assert_ok(lc_metrics_read(&m, path));
    assert_int_equal(m.n_rows, 0);
    lc_metrics_free(&m);
    assert_int_equal(lc_metrics_read(&m, in_dir("absent.jsonl")), LC_ERR_IO);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_atomic_write_file),  cmocka_unit_test(test_new_refuses_existing),
        cmocka_unit_test(test_force_and_resume),   cmocka_unit_test(test_config_round_trip),
        cmocka_unit_test(test_metrics_round_trip), cmocka_unit_test(test_metrics_bad_lines),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
