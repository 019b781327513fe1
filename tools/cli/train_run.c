// latentcl CLI — one training run of a `latentcl train FAMILY` verb: lc_train with the
// progress line and Ctrl-C handling, then the closing report (declared in train_opts.h;
// a file of its own so that tests which include train_opts.c need no progress.c).
#include "cli.h"

int cli_train_run(const char *label, lc_device *dev, lc_train_model *tm,
                  const lc_train_options *opts) {
    cli_progress pr;
    cli_progress_begin(&pr, label);
    cli_sigint_install();
    lc_train_result res;
    lc_status s = lc_train(&res, dev, tm, opts, cli_progress_report, &pr);
    cli_progress_end(&pr);
    return cli_train_finish(s, &res, opts);
}
