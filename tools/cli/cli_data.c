// Shared --data options: see cli_data.h.
#include "cli_data.h"

#include <string.h>

cli_data_options g_cli_data = {.split = "train"};

int cli_open_data(lc_data *out, const char *spec) {
    memset(out, 0, sizeof *out);
    if (!spec) return cli_error("--data SRC is required (" CLI_DATA_SOURCE_HELP ")"), 2;
    lc_data_options opt = {0};
    if (!strcmp(g_cli_data.split, "test"))
        opt.split = LC_SPLIT_TEST;
    else if (strcmp(g_cli_data.split, "train"))
        return cli_error("--split must be train or test, not '%s'", g_cli_data.split), 2;
    if (g_cli_data.seed < 0 || g_cli_data.count < 0)
        return cli_error("--data-seed and --count must be >= 0"), 2;
    opt.seed = (uint64_t)g_cli_data.seed;
    opt.shapes_count = g_cli_data.count;
    opt.text = (lc_text_options){g_cli_data.tokens, g_cli_data.lowercase, g_cli_data.alphabet};
    lc_status s = lc_data_open(out, spec, &opt);
    return s == LC_OK ? 0 : cli_report(s);
}
