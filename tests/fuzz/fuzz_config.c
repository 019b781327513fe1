// libFuzzer target: the --config JSON reader of training verbs (lc_cfg_apply_json over
// every training option, then the range checks and the JSON written back into a run).
#include <stdlib.h>

#include "fuzz_util.h"
#include "latentcl/train.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    char *json = fuzz_string(data, size);
    lc_train_options o;
    lc_train_options_default(&o);
    lc_cfg_key keys[LC_TRAIN_OPTION_COUNT];
    int n = lc_train_option_keys(keys, &o);
    if (n != LC_TRAIN_OPTION_COUNT) abort();
    lc_cfg_strings keep = {0};
    if (lc_cfg_apply_json(keys, n, json, "fuzz.json", &keep) == LC_OK) {
        if (lc_train_options_check(&o) == LC_OK) {
            lc_optim_config oc;
            (void)lc_train_optim_config(&oc, &o);
        }
        char *back = NULL;
        if (lc_train_options_json(&back, &o) == LC_OK) {
            // What a run writes must read back.
            lc_train_options o2;
            lc_train_options_default(&o2);
            lc_cfg_key keys2[LC_TRAIN_OPTION_COUNT];
            lc_train_option_keys(keys2, &o2);
            lc_cfg_strings keep2 = {0};
            if (lc_cfg_apply_json(keys2, n, back, "written.json", &keep2) != LC_OK) abort();
            lc_cfg_strings_free(&keep2);
        }
        free(back);
    }
    lc_cfg_strings_free(&keep);
    free(json);
    return 0;
}
