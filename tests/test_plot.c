// Metrics plots: a PNG of sane size with drawn pixels; bad input is an error.
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "latentcl/plot.h"
#include "test_util.h"

static char *dir;

static int setup(void **state) { return test_open_tmpdir(&dir); }

static int teardown(void **state) { return test_close_tmpdir(&dir); }

static const char *in_dir(const char *name) { return test_path(dir, name); }

// Pixels of image that are neither white nor gray (drawn in a series colour).
static long coloured_pixels(const lc_image *img) {
    long n = 0;
    for (long i = 0; i < (long)img->width * img->height; i++) {
        const uint8_t *p = img->pixels + 3 * i;
        n += !(p[0] == p[1] && p[1] == p[2]);
    }
    return n;
}

static void write_run(const char *run_dir, int steps) {
    lc_run *r = NULL;
    assert_ok(lc_run_open(&r, run_dir, LC_RUN_FORCE));
    for (int s = 1; s <= steps; s++) {
        lc_metric row[] = {{"step", s * 10},
                           {"epoch", s / 10},
                           {"loss", 300.0 / (1 + s)},
                           {"kl", 0.5 * s},
                           {"lr", 1e-3 * exp(-s * 0.01)},
                           {"samples_per_s", 18000 + s},
                           {"elapsed_s", s}};
        assert_ok(lc_run_log_metrics(r, row, 7));
        if (s % 10 == 0)
            assert_ok(lc_run_log_metrics(
                r, (lc_metric[]){{"step", s * 10}, {"test_loss", 320.0 / (1 + s)}}, 2));
    }
    lc_run_close(r);
}

static void test_plot_run_folder(void **state) {
    const char *run_dir = in_dir("run");
    write_run(run_dir, 100);
    int n_series = 0;
    assert_ok(lc_plot_metrics(run_dir, NULL, &n_series));
    assert_int_equal(n_series, 5); // loss, test_loss, kl, lr, samples_per_s
    lc_image img;
    assert_ok(lc_png_read(&img, in_dir("run/curves.png")));
    assert_int_equal(img.channels, 3);
    // 4 panels (loss + test_loss share one) in 2 columns.
    assert_true(img.width >= 400 && img.width <= 4000);
    assert_true(img.height >= 300 && img.height <= 4000);
    assert_true(coloured_pixels(&img) > 1000);
    // Axes and text: black or dark pixels exist as well.
    long dark = 0;
    for (long i = 0; i < (long)img.width * img.height; i++)
        dark += img.pixels[3 * i] < 100;
    assert_true(dark > 500);
    lc_image_free(&img);

    // Direct rendering agrees, and an explicit output path is honoured.
    assert_ok(lc_plot_metrics(in_dir("run/metrics.jsonl"), in_dir("other.png"), NULL));
    assert_int_equal(access(in_dir("other.png"), F_OK), 0);
}

static void test_plot_edge_cases(void **state) {
    // One row, one series, no step column: still a picture.
    const char *one = in_dir("one.jsonl");
    assert_int_equal(test_write_file(one, "{\"loss\": 3}\n", 12), 0);
    lc_metrics m;
    assert_ok(lc_metrics_read(&m, one));
    lc_image img;
    int n = 0;
    assert_ok(lc_plot_render(&img, &m, &n));
    assert_int_equal(n, 1);
    assert_true(coloured_pixels(&img) > 10);
    lc_image_free(&img);
    lc_metrics_free(&m);

    // Constant values, huge and tiny magnitudes, NaN holes, negative steps.
    const char *odd = in_dir("odd.jsonl");
    const char *text = "{\"step\":-5,\"a\":1,\"b\":1e300,\"c\":1e-300}\n"
                       "{\"step\":0,\"a\":1,\"b\":null,\"c\":2e-300}\n"
                       "{\"step\":5,\"a\":1,\"b\":-1e300,\"c\":null}\n"
                       "{\"step\":null,\"a\":7}\n";
    assert_int_equal(test_write_file(odd, text, strlen(text)), 0);
    assert_ok(lc_plot_metrics(odd, NULL, &n));
    assert_int_equal(n, 3);
    assert_int_equal(access(in_dir("curves.png"), F_OK), 0);

    // Nothing numeric to plot, a bad line, a missing run: errors naming the file.
    const char *none = in_dir("none.jsonl");
    assert_int_equal(test_write_file(none, "{\"phase\":\"x\"}\n", 14), 0);
    assert_int_equal(lc_plot_metrics(none, in_dir("none.png"), NULL), LC_ERR_FORMAT);
    assert_non_null(strstr(lc_last_error(), "none.jsonl"));
    assert_int_not_equal(access(in_dir("none.png"), F_OK), 0);
    const char *bad = in_dir("bad.jsonl");
    assert_int_equal(test_write_file(bad, "{\"loss\":1}\nnot json\n{\"loss\":2}\n", 31), 0);
    assert_int_equal(lc_plot_metrics(bad, in_dir("bad.png"), NULL), LC_ERR_FORMAT);
    assert_non_null(strstr(lc_last_error(), "bad.jsonl:2"));
    assert_int_not_equal(access(in_dir("bad.png"), F_OK), 0);
    assert_int_equal(lc_plot_metrics(in_dir("no-such-run"), NULL, NULL), LC_ERR_IO);
}

// "X@a" and "X@b" share X's panel; a "minutes" column is the x axis, not a series.
static void test_plot_shared_panels(void **state) {
    (void)state;
    const char *text = "{\"minutes\":5,\"acc@latentcl\":0.5,\"acc@pytorch\":0.4}\n"
                       "{\"minutes\":10,\"acc@latentcl\":0.7,\"acc@pytorch\":0.6}\n";
    const char *apart = "{\"minutes\":5,\"acc_latentcl\":0.5,\"acc_pytorch\":0.4}\n"
                        "{\"minutes\":10,\"acc_latentcl\":0.7,\"acc_pytorch\":0.6}\n";
    int widths[2];
    const char *texts[2] = {text, apart};
    for (int i = 0; i < 2; i++) {
        const char *path = in_dir(i ? "apart.jsonl" : "shared.jsonl");
        assert_int_equal(test_write_file(path, texts[i], strlen(texts[i])), 0);
        lc_metrics m;
        assert_ok(lc_metrics_read(&m, path));
        lc_image img;
        int n = 0;
        assert_ok(lc_plot_render(&img, &m, &n));
        assert_int_equal(n, 2); // minutes is the x axis
        widths[i] = img.width;
        lc_image_free(&img);
        lc_metrics_free(&m);
    }
    assert_int_equal(widths[1], 2 * widths[0]); // one panel against two side by side
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_plot_run_folder),
        cmocka_unit_test(test_plot_edge_cases),
        cmocka_unit_test(test_plot_shared_panels),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
