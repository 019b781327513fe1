// latentcl score / decode — inference with a trained HMM: the total log-likelihood
// (forward pass on the device) with AIC/BIC, and state paths by Viterbi or
// posterior decoding.
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "cli.h"
#include "cmd_hmm.h"
#include "latentcl/device.h"

// Loads RUN and --data, mapped onto the model's alphabet. 0 or 1 (printed).
static int open_model_and_data(lc_hmm *h, lc_hmm_meta *meta, lc_data *d, const char *run,
                               const char *data, hmm_text_flags *tf) {
    if (hmm_cli_load(h, meta, run)) return 1;
    tf->tokens = tf->tokens || meta->tokens;
    if (hmm_cli_open_data(d, data, tf)) return 1;
    lc_status s = hmm_map_to_model(&d->sequences, h, &meta->alphabet);
    if (s == LC_OK) s = lc_hmm_check_data(h, &d->sequences);
    return s == LC_OK ? 0 : cli_report(s);
}

int cmd_score(int argc, char **argv) {
    const char *data = NULL, *run = NULL;
    hmm_text_flags tf = {0};
    const cli_opt opts[] = {
        {"--data", OPT_STRING, &data, "sequences to score (.txt, .csv, words)", "FILE"},
        HMM_TEXT_OPTS(tf),
        CLI_COMMON_OPTS,
        {NULL}};
    int code, npos = 0;
    if (cli_parse(
            "score", "RUN --data FILE [--json]",
            "Total log-likelihood of the sequences under the model of RUN (a run folder or a\n"
            "checkpoint), with AIC and BIC.",
            argc, argv, 1, opts, &run, 1, &npos, &code))
        return code;
    if (!run || !data) return cli_error("score: RUN and --data are required"), 2;
    lc_hmm h = {0};
    lc_hmm_meta meta = {0};
    lc_data d = {0};
    lc_device *dev = NULL;
    lc_hmm_device *hd = NULL;
    int rc = open_model_and_data(&h, &meta, &d, run, data, &tf);
    double ll = NAN;
    if (!rc) rc = cli_open_device(&dev);
    if (!rc) {
        lc_status s = lc_hmm_device_new(&hd, dev, &h, &d.sequences);
        if (s == LC_OK) s = lc_hmm_score_device(NULL, &ll, hd, &h);
        if (s != LC_OK) rc = cli_report(s);
    }
    if (!rc) {
        const lc_sequences *x = &d.sequences;
        double aic = lc_hmm_aic(&h, ll), bic = lc_hmm_bic(&h, ll, x->n_steps);
        if (g_cli.json)
            printf("{\"log_likelihood\":%.10g,\"n_sequences\":%lld,\"n_observations\":%lld,"
                   "\"aic\":%.10g,\"bic\":%.10g}\n",
                   ll, (long long)x->n, (long long)x->n_steps, aic, bic);
        else
            printf(
                "log-likelihood %.6f  (%lld sequences, %lld observations, %.4f per observation)\n"
                "AIC %.3f  BIC %.3f  (%lld free parameters)\n",
                ll, (long long)x->n, (long long)x->n_steps, ll / (double)x->n_steps, aic, bic,
                (long long)lc_hmm_n_free_params(&h));
    }
    lc_hmm_device_free(hd);
    cli_close_device(dev);
    lc_data_free(&d);
    lc_hmm_meta_free(&meta);
    lc_hmm_free(&h);
    return rc;
}

int cmd_decode(int argc, char **argv) {
    const char *data = NULL, *run = NULL;
    hmm_text_flags tf = {0};
    bool viterbi = false, posterior = false, probs = false;
    const cli_opt opts[] = {
        {"--data", OPT_STRING, &data, "sequences to decode (.txt, .csv, words)", "FILE"},
        {"--viterbi", OPT_FLAG, &viterbi, "the most probable path (the default)", NULL},
        {"--posterior", OPT_FLAG, &posterior, "the most probable state at each step", NULL},
        {"--probs", OPT_FLAG, &probs, "--json: add the state posteriors of every step", NULL},
        HMM_TEXT_OPTS(tf),
        CLI_COMMON_OPTS,
        {NULL}};
    int code, npos = 0;
    if (cli_parse("decode", "RUN --data FILE [--viterbi|--posterior] [--json [--probs]]",
                  "Print the hidden state sequence of each input sequence: Viterbi (max-product\n"
                  "in log space) or posterior decoding. --json: one object per sequence.",
                  argc, argv, 1, opts, &run, 1, &npos, &code))
        return code;
    if (!run || !data) return cli_error("decode: RUN and --data are required"), 2;
    if (viterbi && posterior) return cli_error("decode: --viterbi or --posterior, not both"), 2;
    if (probs && !g_cli.json) return cli_error("decode: --probs goes with --json"), 2;
    lc_hmm h = {0};
    lc_hmm_meta meta = {0};
    lc_data d = {0};
    int rc = open_model_and_data(&h, &meta, &d, run, data, &tf);
    const lc_sequences *x = &d.sequences;
    int32_t *z = NULL;
    double *gamma = NULL;
    if (!rc) {
        int64_t longest = 1;
        for (int64_t b = 0; b < x->n; b++)
            if (lc_sequence_length(x, b) > longest) longest = lc_sequence_length(x, b);
        z = malloc((size_t)longest * sizeof(int32_t));
        if (probs) gamma = malloc((size_t)longest * (size_t)h.k * sizeof(double));
        if (!z || (probs && !gamma)) rc = cli_error("out of memory");
    }
    for (int64_t b = 0; !rc && b < x->n; b++) {
        int64_t T = lc_sequence_length(x, b);
        double lp = posterior ? lc_hmm_posterior_decode(z, &h, x, b) : lc_hmm_viterbi(z, &h, x, b);
        if (isnan(lp)) {
            rc = cli_error("decode: out of memory at sequence %lld", (long long)b + 1);
            break;
        }
        if (g_cli.json) {
            printf("{\"index\":%lld,\"states\":[", (long long)b);
            for (int64_t t = 0; t < T; t++)
                printf("%s%d", t ? "," : "", z[t]);
            printf("],\"log_prob\":%.10g", lp);
            if (probs) { // gamma_t(k) = p(z_t = k | x)
                lc_hmm_posteriors_host(gamma, &h, x, b);
                printf(",\"posteriors\":[");
                for (int64_t t = 0; t < T; t++) {
                    printf("%s[", t ? "," : "");
                    for (int k = 0; k < h.k; k++)
                        printf("%s%.6g", k ? "," : "", gamma[t * h.k + k]);
                    printf("]");
                }
                printf("]");
            }
            printf("}\n");
        } else {
            for (int64_t t = 0; t < T; t++) {
                if (meta.state_names)
                    printf("%s%s", t ? " " : "", meta.state_names[z[t]]);
                else
                    printf("%s%d", t ? " " : "", z[t]);
            }
            printf("\n");
        }
    }
    free(z);
    free(gamma);
    lc_data_free(&d);
    lc_hmm_meta_free(&meta);
    lc_hmm_free(&h);
    return rc;
}
