// latentcl export RUN [--weights ema|raw] [--checkpoint best|last] --out FILE — the
// weights alone under their plain (PyTorch state_dict) names, for torch's
// load_state_dict, numpy, or --init. Generic over families: it only copies tensors.
#include <cjson/cJSON.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "cli_run.h"

static bool has_prefix(const char *s, const char *p) { return !strncmp(s, p, strlen(p)); }

// Training state (EMA copies, optimiser moments) is not a weight.
static bool is_state(const char *name) {
    return has_prefix(name, LC_ST_PREFIX_EMA) || has_prefix(name, "optim/");
}

// Refuses to overwrite the checkpoint being read.
static bool same_file(const char *a, const char *b) {
    char ra[PATH_MAX], rb[PATH_MAX];
    return realpath(a, ra) && realpath(b, rb) && !strcmp(ra, rb);
}

int cmd_export(int argc, char **argv) {
    const char *weights = "raw", *which = "last", *out = NULL;
    const cli_opt opts[] = {
        {"--weights", OPT_STRING, &weights, "ema (the EMA of the weights) or raw", "W"},
        {"--checkpoint", OPT_STRING, &which, "last or best (runs with --val-split)", "C"},
        {"--out", OPT_STRING, &out, "the safetensors file to write", "FILE"},
        CLI_COMMON_OPTS,
        {NULL},
    };
    const char *pos[1];
    int npos = 0, code = 0;
    if (cli_parse(
            "export", "RUN [--weights ema|raw] [--checkpoint best|last] --out FILE",
            "Writes a run's weights alone, under their PyTorch state_dict names, to a "
            "safetensors file\n(load_state_dict(strict=True) in PyTorch, --init in latentcl).",
            argc, argv, 1, opts, pos, 1, &npos, &code))
        return code;
    if (npos != 1) return cli_error("export: which RUN? (a run folder or a .safetensors file)"), 2;
    if (!out) return cli_error("export: --out FILE is required"), 2;
    const char *prefix;
    int rc = cli_weights_prefix(&prefix, weights);
    if (rc) return rc;
    lc_st_file *f = NULL;
    if ((rc = cli_run_open(&f, pos[0], which))) return rc;
    if (same_file(lc_st_path(f), out)) {
        rc = cli_error("export: --out %s is the checkpoint being read", out);
        lc_st_close(f);
        return rc;
    }
    int n = lc_st_count(f), kept = 0, from_ema = 0;
    lc_st_tensor *t = calloc((size_t)(n ? n : 1), sizeof *t);
    if (!t) rc = cli_error("out of memory");
    for (int i = 0; !rc && i < n; i++) {
        const lc_st_tensor *src = lc_st_at(f, i);
        if (is_state(src->name)) continue;
        t[kept] = *src;
        if (*prefix) { // the EMA copy of this tensor, where there is one
            char name[1024];
            snprintf(name, sizeof name, "%s%s", prefix, src->name);
            const lc_st_tensor *e = lc_st_find(f, name);
            if (e) {
                t[kept] = *e;
                t[kept].name = src->name;
                from_ema++;
            }
        }
        kept++;
    }
    if (!rc && *prefix && from_ema == 0)
        rc = cli_error("%s has no EMA weights (train with --ema DECAY)", lc_st_path(f));
    if (!rc && kept == 0) rc = cli_error("%s holds no weights", lc_st_path(f));
    // Metadata that says what the weights are (the format's reader ignores it).
    static const char *const keys[] = {LC_META_FAMILY, LC_META_CONFIG, LC_META_STEP, LC_META_EPOCH,
                                       LC_META_VERSION};
    lc_st_meta meta[7];
    int nm = 0;
    for (size_t i = 0; i < sizeof keys / sizeof *keys; i++) {
        const char *v = lc_st_meta_get(f, keys[i]);
        if (v) meta[nm++] = (lc_st_meta){keys[i], v};
    }
    meta[nm++] = (lc_st_meta){"weights", *prefix ? "ema" : "raw"};
    meta[nm++] = (lc_st_meta){"exported_from", lc_st_path(f)};
    if (!rc) {
        lc_status s = lc_st_write(out, t, kept, meta, nm);
        if (s != LC_OK)
            rc = cli_report(s);
        else if (g_cli.json) {
            cJSON *j = cJSON_CreateObject();
            cJSON_AddStringToObject(j, "out", out);
            cJSON_AddNumberToObject(j, "tensors", kept);
            cJSON_AddStringToObject(j, "weights", *prefix ? "ema" : "raw");
            char *text = cJSON_PrintUnformatted(j);
            if (text) printf("%s\n", text);
            free(text);
            cJSON_Delete(j);
        } else
            printf("wrote %d tensors (%s weights) to %s\n", kept, *prefix ? "EMA" : "raw", out);
    }
    free(t);
    lc_st_close(f);
    return rc;
}
