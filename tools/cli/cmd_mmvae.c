// latentcl train mmvae --data shapes|shapes-one|fashion-mnist|DIR [options] --out RUN, and the
// image-caption data the multimodal VAE verbs share.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "cmd_mmvae.h"

enum { SHAPES_TRAIN = 20000, SHAPES_TEST = 1000 };

int mmvae_cli_data(lc_dataset *out, lc_shapes_item **items, const char *spec, lc_data_split split,
                   int64_t count, bool fallback) {
    memset(out, 0, sizeof *out);
    if (items) *items = NULL;
    lc_data d;
    lc_data_options o = {0};
    o.split = split;
    if (lc_data_shapes_spec(spec) >= 0) // shapes, shapes-one, shapes-two (the data layer's)
        o.shapes_count = count > 0 ? count : split == LC_SPLIT_TEST ? SHAPES_TEST : SHAPES_TRAIN;
    lc_status s = lc_data_open(&d, spec, &o);
    if (s == LC_ERR_UNSUPPORTED && split == LC_SPLIT_TEST && fallback) {
        o.split = LC_SPLIT_TRAIN;
        s = lc_data_open(&d, spec, &o);
    }
    if (s != LC_OK) return cli_report(s);
    if (d.kind != LC_DATA_IMAGES) {
        lc_data_free(&d);
        return cli_error("--data %s: not images (the mmvae needs images with captions)", spec);
    }
    if (d.images.n < 1) {
        lc_data_free(&d);
        return cli_error("--data %s: no images", spec);
    }
    if (!d.images.captions && !d.images.class_names) {
        lc_data_free(&d);
        return cli_error("--data %s: no captions (a folder needs captions.tsv) and no class names",
                         spec);
    }
    *out = d.images;
    memset(&d.images, 0, sizeof d.images);
    if (items) { // the generator's attributes of shapes items
        *items = d.shapes_items;
        d.shapes_items = NULL;
    }
    lc_data_free(&d);
    if (count > 0 && count < out->n) {
        lc_dataset sub;
        int64_t *idx = malloc((size_t)count * sizeof *idx);
        if (!idx) return lc_dataset_free(out), cli_error("out of memory");
        for (int64_t i = 0; i < count; i++)
            idx[i] = i;
        s = lc_dataset_subset(&sub, out, idx, count);
        free(idx);
        lc_dataset_free(out);
        if (s != LC_OK) return cli_report(s);
        *out = sub;
    }
    return 0;
}

int cmd_train_mmvae(int argc, char **argv) {
    const char *verb = "train mmvae";
    lc_train_options opts;
    lc_train_options_default(&opts);
    // cosine by default: at a constant rate the images from captions swing by +-10 points
    // between checkpoints (shapes-one t2i 73.7% .. 90.8%); a decaying rate settles them
    opts.lr_schedule = "cosine";
    lc_mmvae_config cfg;
    lc_mmvae_config_default(&cfg, 0);
    const char *data = "shapes";
    long latent = cfg.latent, hidden = cfg.hidden, kl_warmup = 0, max_len = cfg.text.max_len,
         text_dim = cfg.text.dim, text_layers = cfg.text.layers, heads = cfg.text.heads,
         train_size = 0, test_size = 0;
    double beta = cfg.beta, text_weight = cfg.text_weight, image_scale = cfg.image_scale,
           cross_image_weight = cfg.cross_image_weight, align_weight = cfg.align_weight;
    const char *likelihood = lc_mmvae_likelihood_name(cfg.image_likelihood);
    bool cross = false;
    const cli_opt extra[] = {
        {"--data", OPT_STRING, &data,
         "image-caption pairs: shapes | shapes-one (one shape per image) | fashion-mnist "
         "(template captions) | DIR (PNGs with captions.tsv)",
         "SRC"},
        {"--train-size", OPT_INT, &train_size, "training pairs (0: shapes 20000, else all)", "N"},
        {"--test-size", OPT_INT, &test_size, "test pairs (0: shapes 1000, else all)", "N"},
        {"--latent", OPT_INT, &latent, "size of the shared code z", "Z"},
        {"--hidden", OPT_INT, &hidden, "dense width of the image encoder/decoder", "H"},
        {"--beta", OPT_FLOAT, &beta, "weight of the KL terms", "B"},
        {"--kl-warmup", OPT_INT, &kl_warmup, "raise the KL weight linearly from 0 over N steps",
         "N"},
        {"--text-weight", OPT_FLOAT, &text_weight, "weight of the caption reconstruction terms",
         "W"},
        {"--cross", OPT_FLAG, &cross, "one-modality terms also reconstruct the missing modality",
         NULL},
        {"--image-likelihood", OPT_STRING, &likelihood,
         "p(x|z) around sigmoid(logits): bernoulli, or logistic of scale --image-scale (nearly "
         "L1: crisp medians where a caption leaves pixels open)",
         "bernoulli|logistic"},
        {"--image-scale", OPT_FLOAT, &image_scale,
         "scale of the logistic image likelihood (smaller: sharper, heavier image term)", "S"},
        {"--cross-image-weight", OPT_FLOAT, &cross_image_weight,
         "with --cross, weight of rebuilding the image from the caption alone", "W"},
        {"--align-weight", OPT_FLOAT, &align_weight,
         "JMVAE-kl alignment: add A [KL(q(z|x,y) || q(z|x)) + KL(q(z|x,y) || q(z|y))] to the "
         "loss, pulling the caption's posterior to the joint one (0: off)",
         "A"},
        {"--max-len", OPT_INT, &max_len, "caption tokens, <bos> and <eos> included", "T"},
        {"--text-dim", OPT_INT, &text_dim, "width of the text transformers", "D"},
        {"--text-layers", OPT_INT, &text_layers, "layers of the text transformers", "L"},
        {"--heads", OPT_INT, &heads, "attention heads of the text transformers", "H"},
        {NULL}};
    const char *usage = "[--data SRC] [--latent Z] [--kl-warmup N] [options] --out RUN";
    const char *desc =
        "Train a multimodal VAE (MVAE): one latent z generates an image and its caption; the "
        "posterior is the product of the image expert, the text expert and the prior, trained "
        "on the joint ELBO and on each modality alone. Each epoch RUN gets captions.png "
        "(test images with their greedy captions), generated.png (images from their captions), "
        "curves.png, metrics and a checkpoint.";
    lc_cfg_strings keep = {0};
    int rc = 0, npos = 0;
    if (cli_train_parse(verb, usage, desc, argc, argv, &opts, extra, &keep, NULL, 0, &npos, &rc)) {
        lc_cfg_strings_free(&keep);
        return rc;
    }
    const struct {
        const char *name;
        long value, lo, hi;
    } ranges[] = {{"--train-size", train_size, 0, 1L << 26},
                  {"--test-size", test_size, 0, 1L << 26},
                  {"--latent", latent, 1, 4096},
                  {"--hidden", hidden, 1, 65536},
                  {"--max-len", max_len, 3, 1024},
                  {"--text-dim", text_dim, 1, 4096},
                  {"--text-layers", text_layers, 0, LC_TEXT_MAX_LAYERS},
                  {"--heads", heads, 1, 64}};
    for (size_t i = 0; i < sizeof ranges / sizeof *ranges; i++)
        if (ranges[i].value < ranges[i].lo || ranges[i].value > ranges[i].hi) {
            fprintf(stderr, "latentcl %s: %s %ld out of range (%ld..%ld)\n", verb, ranges[i].name,
                    ranges[i].value, ranges[i].lo, ranges[i].hi);
            lc_cfg_strings_free(&keep);
            return 2;
        }
    lc_mmvae_likelihood lik;
    if (lc_mmvae_likelihood_parse(&lik, likelihood) != LC_OK) {
        fprintf(stderr, "latentcl %s: --image-likelihood %s: bernoulli or logistic\n", verb,
                likelihood);
        lc_cfg_strings_free(&keep);
        return 2;
    }
    lc_dataset train_set = {0}, test_set = {0};
    bool has_test = false;
    rc = mmvae_cli_data(&train_set, NULL, data, LC_SPLIT_TRAIN, train_size, false);
    if (!rc) {
        bool folder =
            lc_data_shapes_spec(data) < 0 && strcmp(data, "fashion-mnist") && strcmp(data, "mnist");
        if (!folder) {
            rc = mmvae_cli_data(&test_set, NULL, data, LC_SPLIT_TEST, test_size, false);
            has_test = !rc;
        }
    }
    lc_vocab vocab = {0};
    if (!rc) {
        lc_status s = lc_mmvae_build_vocab(&vocab, &train_set);
        if (s != LC_OK) rc = cli_report(s);
    }
    lc_device *dev = NULL;
    lc_mmvae *m = NULL;
    if (!rc) {
        lc_mmvae_config_default(&cfg, vocab.size);
        cfg.channels = train_set.channels;
        cfg.height = train_set.height;
        cfg.width = train_set.width;
        cfg.latent = (int)latent;
        cfg.hidden = (int)hidden;
        cfg.beta = beta;
        cfg.kl_warmup = kl_warmup;
        cfg.text_weight = text_weight;
        cfg.cross = cross;
        cfg.image_scale = image_scale;
        cfg.cross_image_weight = cross_image_weight;
        cfg.align_weight = align_weight;
        cfg.text.max_len = max_len;
        cfg.text.dim = text_dim;
        cfg.text.layers = (int)text_layers;
        cfg.text.heads = (int)heads;
        snprintf(cfg.data, sizeof cfg.data, "%s", data);
        cfg.image_likelihood = lik;
        lc_status s = lc_mmvae_config_check(&cfg);
        if (s != LC_OK) rc = cli_report(s);
    }
    if (!rc) rc = cli_open_device(&dev);
    lc_status s = LC_OK;
    if (!rc) s = lc_mmvae_new(&m, dev, &cfg, &vocab, (uint64_t)opts.seed);
    if (!rc && s == LC_OK) s = lc_mmvae_set_data(m, &train_set, has_test ? &test_set : NULL);
    lc_dataset_free(&train_set); // the model holds its own copy
    lc_train_model tm;
    if (!rc && s == LC_OK) s = lc_mmvae_train_model(&tm, m);
    if (!rc && s == LC_OK) {
        rc = cli_train_run(verb, dev, &tm, &opts);
        if (!rc && opts.out && !g_cli.json && has_test)
            printf("pictures: %s/captions.png, %s/generated.png, %s/curves.png\n", opts.out,
                   opts.out, opts.out);
    } else if (!rc) {
        rc = cli_report(s);
    }
    lc_mmvae_free(m);
    cli_close_device(dev);
    lc_vocab_free(&vocab);
    if (has_test) lc_dataset_free(&test_set);
    lc_cfg_strings_free(&keep);
    return rc;
}
