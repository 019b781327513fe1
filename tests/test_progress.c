// The CLI's progress reporter: plain lines when stderr is not a terminal, the
// stop request after Ctrl-C. The CLI is not a library, so its one file is
// compiled into this test directly.
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../tools/cli/progress.c"
#include "test_util.h"

// Runs `steps` reports with stderr sent to a file; returns what was printed (caller frees).
static char *capture(int steps, int total, double seconds_per_step) {
    char *dir = test_tmpdir();
    char path[4096];
    snprintf(path, sizeof path, "%s/err.txt", dir);
    fflush(stderr);
    int saved = dup(STDERR_FILENO);
    FILE *f = fopen(path, "w");
    dup2(fileno(f), STDERR_FILENO);
    cli_progress pr;
    cli_progress_begin(&pr, "train");
    for (int s = 1; s <= steps; s++) {
        lc_progress p = lc_progress_init("train");
        p.step = s, p.total = total, p.epoch = 0, p.loss = 1.0 / s, p.rate = 1000;
        p.elapsed = s * seconds_per_step;
        assert_int_equal(cli_progress_report(&pr, &p), 0);
    }
    cli_progress_end(&pr);
    fflush(stderr);
    dup2(saved, STDERR_FILENO);
    close(saved);
    fclose(f);
    char *text = test_read_file(path, NULL);
    test_rmtree(dir);
    free(dir);
    return text;
}

static int count_lines(const char *text) {
    int n = 0;
    for (const char *c = text; *c; c++)
        n += *c == '\n';
    return n;
}

static void test_plain_lines_every_5_percent(void **state) {
    char *text = capture(1000, 1000, 0.001); // one second in all: the 5% rule decides
    assert_non_null(text);
    int lines = count_lines(text);
    assert_true(lines >= 20 && lines <= 22);
    assert_non_null(strstr(text, "train: epoch 0 1/1000   0%"));
    assert_non_null(strstr(text, "1000/1000 100%"));
    assert_non_null(strstr(text, "loss 0.001\n")); // the last line
    assert_non_null(strstr(text, "eta 0:00"));
    assert_null(strchr(text, '\r'));
    free(text);
}

static void test_plain_lines_every_10_seconds(void **state) {
    // Unknown total, 2 s per step: a line every 5 steps (10 s).
    char *text = capture(50, 0, 2.0);
    int lines = count_lines(text);
    assert_true(lines >= 9 && lines <= 11);
    assert_non_null(strstr(text, "step 1 "));
    assert_null(strstr(text, "%"));
    free(text);
}

static void test_ctrl_c_asks_to_stop(void **state) {
    cli_sigint_install();
    assert_false(cli_interrupted());
    raise(SIGINT); // the handler resets itself: only one raise here
    assert_true(cli_interrupted());
    cli_progress pr;
    cli_progress_begin(&pr, "train");
    lc_progress p = lc_progress_init("train");
    p.step = 1, p.total = 10;
    assert_int_not_equal(cli_progress_report(&pr, &p), 0);
    assert_int_not_equal(cli_progress_report(&pr, &p), 0); // and keeps asking
    signal(SIGINT, SIG_DFL);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_plain_lines_every_5_percent),
        cmocka_unit_test(test_plain_lines_every_10_seconds),
        cmocka_unit_test(test_ctrl_c_asks_to_stop),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
