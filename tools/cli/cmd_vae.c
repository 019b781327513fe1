// latentcl train ae|vae --data SRC --model mlp|conv --latent Z [training options] --out RUN
// and the helpers the other AE/VAE verbs share.
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"
#include "cmd_vae.h"
#include "latentcl/checkpoint.h"
#include "latentcl/run.h"

int vae_cli_open_images(lc_data *out, const char *spec, lc_data_split split, bool fallback,
                        bool *used_train) {
    lc_data_options o = {0};
    o.split = split;
    if (used_train) *used_train = false;
    lc_status s = lc_data_open(out, spec, &o);
    if (s == LC_ERR_UNSUPPORTED && split == LC_SPLIT_TEST && fallback) {
        o.split = LC_SPLIT_TRAIN;
        s = lc_data_open(out, spec, &o);
        if (used_train) *used_train = true;
    }
    if (s != LC_OK) return cli_report(s);
    if (out->kind != LC_DATA_IMAGES) {
        lc_data_free(out);
        return cli_error("--data %s: not images (an AE/VAE needs an image set)", spec);
    }
    return 0;
}

int vae_cli_load(lc_vae **m, lc_device *dev, const char *run, bool ema) {
    lc_status s = lc_vae_load(m, dev, run, ema);
    return s == LC_OK ? 0 : cli_report(s);
}

const char *vae_cli_data_spec(const lc_vae *m, const char *given) {
    if (given) return given;
    const char *d = lc_vae_get_config(m)->data;
    if (*d) return d;
    cli_error("the model does not record its data: give --data SRC");
    return NULL;
}

// --resume of a run made by another family or config: one line naming the difference.
static int check_resume(const char *out, const char *family, const char *config) {
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", out, LC_RUN_LAST);
    lc_st_file *f;
    if (lc_st_open(&f, path) != LC_OK) return 0; // the loop reports a missing checkpoint
    const char *fam = lc_st_meta_get(f, LC_META_FAMILY), *old = lc_st_meta_get(f, LC_META_CONFIG);
    int rc = 0;
    if (!fam || strcmp(fam, family)) {
        rc = cli_error("cannot resume %s: it trained a %s model, not %s", out,
                       fam ? fam : "(unknown)", family);
    } else if (old && strcmp(old, config)) {
        cJSON *a = cJSON_Parse(old), *b = cJSON_Parse(config);
        for (const cJSON *it = b ? b->child : NULL; it && !rc; it = it->next) {
            const cJSON *o = cJSON_GetObjectItemCaseSensitive(a, it->string);
            if (o && cJSON_Compare(o, it, 1)) continue;
            char *was = o ? cJSON_PrintUnformatted(o) : NULL, *now = cJSON_PrintUnformatted(it);
            rc = cli_error("cannot resume %s: it was trained with %s %s, this command asks for %s "
                           "(use the same options, or a new --out)",
                           out, it->string, was ? was : "(unset)", now ? now : "?");
            free(was);
            free(now);
        }
        if (!rc)
            rc = cli_error("cannot resume %s: its model config %s differs from %s", out, old,
                           config);
        cJSON_Delete(a);
        cJSON_Delete(b);
    }
    lc_st_close(f);
    return rc;
}

static int parse_hidden(lc_vae_config *c, const char *s) {
    int a, b;
    char tail;
    if (sscanf(s, "%d,%d%c", &a, &b, &tail) != 2 || a < 1 || b < 1) return 1;
    c->hidden1 = a;
    c->hidden2 = b;
    return 0;
}

static int train(lc_vae_kind kind, int argc, char **argv) {
    const char *verb = kind == LC_VAE_KIND_VAE ? "train vae" : "train ae";
    lc_train_options opts;
    lc_train_options_default(&opts);
    lc_vae_config cfg;
    lc_vae_config_default(&cfg, kind);
    const char *data = "fashion-mnist", *model = "mlp", *decoder = "bernoulli", *hidden = "512,256";
    long latent = cfg.latent, kl_warmup = 0;
    double sigma = cfg.sigma, beta = cfg.beta, noise = 0;
    cli_opt extra[16];
    int n = 0;
    extra[n++] =
        (cli_opt){"--data", OPT_STRING, &data,
                  "images: fashion-mnist | mnist | shapes | DIR (IDX files or PNGs)", "SRC"};
    extra[n++] = (cli_opt){"--model", OPT_STRING, &model, "mlp (784-512-256-Z) or conv", "NET"};
    extra[n++] = (cli_opt){"--latent", OPT_INT, &latent, "size of the code z", "Z"};
    extra[n++] = (cli_opt){"--hidden", OPT_STRING, &hidden, "mlp widths (conv: ,dense)", "H1,H2"};
    extra[n++] = (cli_opt){"--decoder", OPT_STRING, &decoder,
                           "p(x|z): bernoulli (BCE on logits) or gaussian (fixed --sigma)", "D"};
    extra[n++] = (cli_opt){"--sigma", OPT_FLOAT, &sigma, "std of the gaussian decoder", "S"};
    if (kind == LC_VAE_KIND_VAE) {
        extra[n++] = (cli_opt){"--beta", OPT_FLOAT, &beta, "weight of the KL term", "B"};
        extra[n++] = (cli_opt){"--kl-warmup", OPT_INT, &kl_warmup,
                               "raise the KL weight linearly from 0 over N steps", "N"};
    } else {
        extra[n++] = (cli_opt){"--noise", OPT_FLOAT, &noise,
                               "denoising: std of Gaussian noise added to the input", "S"};
    }
    extra[n] = (cli_opt){NULL};
    const char *usage = "[--data SRC] [--model mlp|conv] [--latent Z] [options] --out RUN";
    const char *desc =
        kind == LC_VAE_KIND_VAE
            ? "Train a variational autoencoder: encoder q(z|x), prior N(0, I), "
              "decoder p(x|z), loss -ELBO = reconstruction + beta KL. Each epoch "
              "RUN gets samples.png, recon.png, curves.png, metrics and a checkpoint."
            : "Train an autoencoder z = f(x), x' = g(z) on the reconstruction loss "
              "(--noise S: denoising). Each epoch RUN gets samples.png, recon.png, "
              "curves.png, metrics and a checkpoint.";
    lc_cfg_strings keep = {0};
    int rc = 0, npos = 0;
    if (cli_train_parse(verb, usage, desc, argc, argv, &opts, extra, &keep, NULL, 0, &npos, &rc)) {
        lc_cfg_strings_free(&keep);
        return rc;
    }
    cfg.latent = (int)(latent > 0 && latent < 100000 ? latent : 0);
    cfg.sigma = sigma;
    cfg.beta = beta;
    cfg.kl_warmup = kl_warmup;
    cfg.noise = noise;
    if (!strcmp(model, "conv"))
        cfg.net = LC_VAE_NET_CONV;
    else if (strcmp(model, "mlp"))
        rc = 2;
    if (!strcmp(decoder, "gaussian"))
        cfg.decoder = LC_VAE_GAUSSIAN;
    else if (strcmp(decoder, "bernoulli"))
        rc = 2;
    if (parse_hidden(&cfg, hidden)) rc = 2;
    if (rc) {
        fprintf(stderr,
                "latentcl %s: --model mlp|conv, --decoder bernoulli|gaussian, --hidden H1,H2\n",
                verb);
        lc_cfg_strings_free(&keep);
        return 2;
    }
    snprintf(cfg.data, sizeof cfg.data, "%s", data);
    lc_data train_set = {0}, test_set = {0};
    bool has_test = false, no_test = false;
    rc = vae_cli_open_images(&train_set, data, LC_SPLIT_TRAIN, false, NULL);
    if (!rc) {
        lc_data_options o = {0};
        o.split = LC_SPLIT_TEST;
        lc_status s = lc_data_open(&test_set, data, &o);
        if (s == LC_OK)
            has_test = true;
        else if (s == LC_ERR_UNSUPPORTED)
            no_test = true;
        else
            rc = cli_report(s);
    }
    lc_device *dev = NULL;
    lc_vae *m = NULL;
    char *config_text = NULL;
    if (!rc) {
        cfg.channels = train_set.images.channels;
        cfg.height = train_set.images.height;
        cfg.width = train_set.images.width;
        lc_status s = lc_vae_config_check(&cfg);
        if (s != LC_OK) rc = cli_report(s);
    }
    if (!rc && opts.resume && opts.out) {
        if (lc_vae_config_to_json(&config_text, &cfg) != LC_OK)
            rc = cli_error("out of memory");
        else
            rc = check_resume(opts.out, lc_vae_family(kind), config_text);
    }
    if (!rc) rc = cli_open_device(&dev);
    lc_status s = LC_OK;
    if (!rc) s = lc_vae_new(&m, dev, &cfg, (uint64_t)opts.seed);
    if (!rc && s == LC_OK)
        s = lc_vae_set_data(m, &train_set.images, has_test ? &test_set.images : NULL);
    lc_train_model tm;
    if (!rc && s == LC_OK) s = lc_vae_train_model(&tm, m);
    if (!rc && s == LC_OK) {
        rc = cli_train_run(verb, dev, &tm, &opts);
        if (!rc && opts.out && !g_cli.json)
            printf("pictures: %s/samples.png, %s/recon.png, %s/curves.png\n", opts.out, opts.out,
                   opts.out);
        if (!rc && no_test && !g_cli.json)
            printf("note: %s has no test split, so there are no test figures\n", data);
    } else if (!rc) {
        rc = cli_report(s);
    }
    free(config_text);
    lc_vae_free(m);
    cli_close_device(dev);
    lc_data_free(&train_set);
    if (has_test) lc_data_free(&test_set);
    lc_cfg_strings_free(&keep);
    return rc;
}

int cmd_train_ae(int argc, char **argv) { return train(LC_VAE_KIND_AE, argc, argv); }
int cmd_train_vae(int argc, char **argv) { return train(LC_VAE_KIND_VAE, argc, argv); }
