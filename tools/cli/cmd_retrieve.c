// `latentcl retrieve` (text -> images, image -> captions) and `latentcl embed` (embeddings
// as TSV) for every family with a shared image/caption space: CLIP (cosine between
// normalised embeddings) and the MMVAE (negative Euclidean distance between posterior
// means). Add a family with one entry in the table below.
#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "cli_run.h"
#include "cmd_clip.h"
#include "prompt_check.h"
#include "latentcl/image.h"
#include "latentcl/mmvae.h"

// ---- the families -------------------------------------------------------------------------

typedef struct {
    int channels, height, width;
    int64_t dim;            // embedding width
    const lc_vocab *vocab;  // the model's
    char data[512];         // the run's --data spec ("" if unknown)
    lc_templates templates; // captions of labelled data without captions
} embed_info;

typedef struct {
    const char *family;
    lc_similarity similarity;
    lc_status (*load)(void **m, lc_device *dev, const char *path, bool ema);
    void (*free)(void *m);
    void (*info)(void *m, embed_info *out);
    lc_status (*images)(void *m, float *out, const float *x, int64_t n);
    lc_status (*texts)(void *m, float *out, const char *const *c, int64_t n, int64_t *unknown);
} embed_family;

static lc_status clip_load(void **m, lc_device *dev, const char *path, bool ema) {
    return lc_clip_load((lc_clip **)m, dev, path, ema);
}
static void clip_free(void *m) { lc_clip_free(m); }
static void clip_info(void *m, embed_info *out) {
    const lc_clip_config *c = lc_clip_get_config(m);
    *out = (embed_info){c->channels, c->height, c->width, c->embed, lc_clip_vocab(m)};
    snprintf(out->data, sizeof out->data, "%s",
             c->shapes ? clip_cli_shapes_spec(c->shapes) : c->data);
    out->templates = c->templates;
}
static lc_status clip_images(void *m, float *out, const float *x, int64_t n) {
    return lc_clip_embed_images(m, out, x, n);
}
static lc_status clip_texts(void *m, float *out, const char *const *c, int64_t n, int64_t *unk) {
    return lc_clip_embed_texts(m, out, c, n, unk);
}

static lc_status mmvae_load(void **m, lc_device *dev, const char *path, bool ema) {
    return lc_mmvae_load((lc_mmvae **)m, dev, path, ema);
}
static void mmvae_free(void *m) { lc_mmvae_free(m); }
static void mmvae_info(void *m, embed_info *out) {
    const lc_mmvae_config *c = lc_mmvae_get_config(m);
    *out = (embed_info){c->channels, c->height, c->width, c->latent, lc_mmvae_vocab(m)};
    snprintf(out->data, sizeof out->data, "%s", c->data);
    lc_templates_train(&out->templates); // the MMVAE's captions of labelled data
}
static lc_status mmvae_images(void *m, float *out, const float *x, int64_t n) {
    return lc_mmvae_embed_images(m, out, x, n);
}
static lc_status mmvae_texts(void *m, float *out, const char *const *c, int64_t n, int64_t *unk) {
    return lc_mmvae_embed_texts(m, out, c, n, unk);
}

static const embed_family families[] = {
    {LC_CLIP_FAMILY, LC_SIM_COSINE, clip_load, clip_free, clip_info, clip_images, clip_texts},
    {LC_MMVAE_FAMILY, LC_SIM_NEG_L2, mmvae_load, mmvae_free, mmvae_info, mmvae_images, mmvae_texts},
    {NULL},
};

// A loaded model of RUN with its family.
typedef struct {
    const embed_family *fam;
    void *model;
    embed_info info;
    lc_device *dev;
    char path[4096];
} embed_model;

static int open_model(embed_model *em, const char *verb, const char *run, const char *which,
                      const char *weights) {
    memset(em, 0, sizeof *em);
    const char *prefix;
    int rc = cli_weights_prefix(&prefix, weights);
    if (!rc) rc = cli_run_checkpoint(em->path, sizeof em->path, run, which);
    if (rc) return rc;
    lc_st_file *f = NULL;
    lc_status s = lc_st_open(&f, em->path);
    if (s != LC_OK) return cli_report(s);
    const char *family = lc_st_meta_get(f, LC_META_FAMILY);
    for (const embed_family *e = families; family && e->family; e++)
        if (!strcmp(e->family, family)) em->fam = e;
    if (!em->fam)
        rc = cli_error("%s: %s works with clip and mmvae runs; this is a %s model", em->path, verb,
                       family ? family : "(unknown family)");
    lc_st_close(f);
    if (!rc) rc = cli_open_device(&em->dev);
    if (rc) return rc;
    s = em->fam->load(&em->model, em->dev, em->path, *prefix != '\0');
    if (s != LC_OK) return cli_report(s);
    em->fam->info(em->model, &em->info);
    return 0;
}

static void close_model(embed_model *em) {
    if (em->fam && em->model) em->fam->free(em->model);
    cli_close_device(em->dev);
}

// The images and caption of each item of SRC (or the run's data), test split (a folder:
// its one split), the first n (0: all; shapes 1000).
static lc_status open_pairs(lc_dataset *d, char ***caps, const embed_model *em, const char *data,
                            long n) {
    const char *src = data ? data : em->info.data;
    if (!*src)
        return lc_fail(LC_ERR_INVALID_ARG, "%s does not record its data: give --data SRC",
                       em->path);
    LC_TRY(clip_cli_data(d, src, LC_SPLIT_TEST, n, NULL, NULL));
    const embed_info *in = &em->info;
    if (d->channels != in->channels || d->height != in->height || d->width != in->width)
        return lc_fail(LC_ERR_INVALID_ARG,
                       "--data %s: images are %dx%dx%d (CxHxW); the model takes %dx%dx%d", src,
                       d->channels, d->height, d->width, in->channels, in->height, in->width);
    return lc_clip_captions(caps, d, &in->templates);
}

// Reads a PNG into (C, H, W) floats for the model, or a one-line error.
static lc_status read_image(float **out, const char *path, const embed_info *in) {
    *out = NULL;
    lc_image img;
    LC_TRY(lc_png_read(&img, path));
    lc_status s = LC_OK;
    if (img.channels != in->channels || img.height != in->height || img.width != in->width)
        s = lc_fail(LC_ERR_INVALID_ARG,
                    "%s is %dx%d with %d channel%s; the model takes %dx%d with %d channel%s", path,
                    img.width, img.height, img.channels, img.channels == 1 ? "" : "s", in->width,
                    in->height, in->channels, in->channels == 1 ? "" : "s");
    size_t HW = (size_t)img.height * img.width;
    float *x = s == LC_OK ? malloc(HW * img.channels * sizeof *x) : NULL;
    if (s == LC_OK && !x) s = lc_fail(LC_ERR_NOMEM, "out of memory");
    for (size_t p = 0; x && p < HW; p++)
        for (int c = 0; c < img.channels; c++)
            x[c * HW + p] = img.pixels[p * img.channels + c] / 255.0f;
    lc_image_free(&img);
    *out = x;
    return s;
}

static void print_json(cJSON *j) {
    char *text = j ? cJSON_PrintUnformatted(j) : NULL;
    if (text) printf("%s\n", text);
    free(text);
    cJSON_Delete(j);
}

// ---- latentcl retrieve
// ----------------------------------------------------------------------------

// Text -> the k images of the set nearest the query, as a grid with their captions.
static lc_status text_to_images(const embed_model *em, const char *query, const lc_dataset *d,
                                char **caps, long k, const char *out) {
    LC_TRY(cli_check_prompt(em->info.vocab, query, "--query"));
    int64_t E = em->info.dim, n = d->n;
    float *q = malloc((size_t)E * sizeof *q), *u = malloc((size_t)(n * E) * sizeof *u);
    float *sim = malloc((size_t)n * sizeof *sim), *grid = NULL;
    int64_t *top = malloc((size_t)k * sizeof *top);
    const char **labels = calloc((size_t)k, sizeof *labels);
    lc_status s = q && u && sim && top && labels ? LC_OK : lc_fail(LC_ERR_NOMEM, "out of memory");
    if (s == LC_OK) s = em->fam->texts(em->model, q, &query, 1, NULL);
    if (s == LC_OK) s = em->fam->images(em->model, u, d->images, n);
    if (s == LC_OK) {
        lc_similarity_matrix(sim, q, 1, u, n, E, em->fam->similarity);
        lc_top_k(top, sim, n, k);
        size_t image = lc_dataset_image_size(d);
        if (!(grid = malloc((size_t)k * image * sizeof *grid)))
            s = lc_fail(LC_ERR_NOMEM, "out of memory");
        for (long r = 0; grid && r < k; r++) {
            memcpy(grid + r * image, d->images + (size_t)top[r] * image, image * sizeof *grid);
            labels[r] = caps[top[r]];
        }
    }
    if (s == LC_OK)
        s = lc_grid_write(out, grid, (int)k, d->channels, d->height, d->width, (int)k,
                          d->height < 64 ? 4 : 1, labels);
    if (s == LC_OK && g_cli.json) {
        cJSON *j = cJSON_CreateObject(), *res = cJSON_CreateArray();
        cJSON_AddStringToObject(j, "query", query);
        for (long r = 0; r < k; r++) {
            cJSON *o = cJSON_CreateObject();
            cJSON_AddNumberToObject(o, "index", (double)top[r]);
            cJSON_AddNumberToObject(o, "score", sim[top[r]]);
            cJSON_AddStringToObject(o, "caption", caps[top[r]]);
            cJSON_AddItemToArray(res, o);
        }
        cJSON_AddItemToObject(j, "results", res);
        cJSON_AddNumberToObject(j, "n", (double)n);
        cJSON_AddStringToObject(j, "out", out);
        print_json(j);
    } else if (s == LC_OK) {
        printf("top %ld of %lld images for \"%s\" (%s):\n", k, (long long)n, query,
               em->fam->similarity == LC_SIM_COSINE ? "cosine" : "-L2 distance");
        for (long r = 0; r < k; r++)
            printf("%3ld  %8.4f  #%-6lld %s\n", r + 1, sim[top[r]], (long long)top[r],
                   caps[top[r]]);
        printf("wrote %s\n", out);
    }
    free(q), free(u), free(sim), free(grid), free(top), free(labels);
    return s;
}

// Image -> the k nearest of the set's distinct captions.
static lc_status image_to_texts(const embed_model *em, const char *path, char **caps, int64_t n,
                                long k) {
    float *x = NULL;
    LC_TRY(read_image(&x, path, &em->info));
    int64_t E = em->info.dim, m = 0;
    // The distinct captions, in first-seen order.
    const char **uniq = malloc((size_t)n * sizeof *uniq);
    float *v = malloc((size_t)(n * E) * sizeof *v), *u = malloc((size_t)E * sizeof *u);
    float *sim = malloc((size_t)n * sizeof *sim);
    int64_t *top = malloc((size_t)k * sizeof *top);
    lc_status s = uniq && v && u && sim && top ? LC_OK : lc_fail(LC_ERR_NOMEM, "out of memory");
    for (int64_t i = 0; s == LC_OK && i < n; i++) {
        int64_t j = 0;
        while (j < m && strcmp(uniq[j], caps[i]))
            j++;
        if (j == m) uniq[m++] = caps[i];
    }
    if (k > m) k = (long)m;
    if (s == LC_OK) s = em->fam->images(em->model, u, x, 1);
    if (s == LC_OK) s = em->fam->texts(em->model, v, uniq, m, NULL);
    if (s == LC_OK) {
        lc_similarity_matrix(sim, u, 1, v, m, E, em->fam->similarity);
        lc_top_k(top, sim, m, k);
        if (g_cli.json) {
            cJSON *j = cJSON_CreateObject(), *res = cJSON_CreateArray();
            cJSON_AddStringToObject(j, "image", path);
            for (long r = 0; r < k; r++) {
                cJSON *o = cJSON_CreateObject();
                cJSON_AddStringToObject(o, "caption", uniq[top[r]]);
                cJSON_AddNumberToObject(o, "score", sim[top[r]]);
                cJSON_AddItemToArray(res, o);
            }
            cJSON_AddItemToObject(j, "results", res);
            cJSON_AddNumberToObject(j, "candidates", (double)m);
            print_json(j);
        } else {
            printf("top %ld of %lld captions for %s:\n", k, (long long)m, path);
            for (long r = 0; r < k; r++)
                printf("%3ld  %8.4f  %s\n", r + 1, sim[top[r]], uniq[top[r]]);
        }
    }
    free(x), free(uniq), free(v), free(u), free(sim), free(top);
    return s;
}

int cmd_retrieve(int argc, char **argv) {
    const char *query = NULL, *image = NULL, *data = NULL, *out = NULL, *which = "last",
               *weights = "raw";
    long k = 5, n = 0;
    const cli_opt opts[] = {
        {"--query", OPT_STRING, &query, "caption to find images for", "TEXT"},
        {"--image", OPT_STRING, &image, "PNG to find captions for", "PNG"},
        {"--data", OPT_STRING, &data,
         "the images / captions searched (default: the run's data, test split)", "SRC"},
        {"--n", OPT_INT, &n, "search the first N items (0: all; shapes: 1000)", "N"},
        {"--k", OPT_INT, &k, "results to show", "K"},
        {"--out", OPT_STRING, &out, "--query: the grid of the top K images (PNG)", "PNG"},
        CLIP_CLI_LOAD_OPTS(&which, &weights),
        CLI_COMMON_OPTS,
        {NULL},
    };
    const char *run = NULL;
    int code = 0;
    if (cli_parse_one("retrieve",
                      "RUN (--query TEXT --out PNG | --image PNG) [--data SRC] [--k K] [--json]",
                      "Cross-modal retrieval with a clip or mmvae run: the K images of SRC "
                      "nearest a caption (a PNG grid), or the K captions of SRC nearest an image.",
                      argc, argv, opts, "RUN", &run, &code))
        return code;
    if (!query == !image) return cli_error("retrieve: give one of --query TEXT or --image PNG"), 2;
    if (query && !out) return cli_error("retrieve --query: --out PNG is required"), 2;
    if (k < 1 || k > 100) return cli_error("--k must be in 1..100"), 2;
    if (n < 0) return cli_error("--n must be >= 0"), 2;
    if (query && cli_check_out(out)) return 1;
    embed_model em;
    int rc = open_model(&em, "retrieve", run, which, weights);
    lc_dataset d = {0};
    char **caps = NULL;
    if (!rc) {
        lc_status s = open_pairs(&d, &caps, &em, data, n);
        if (s == LC_OK && k > d.n) k = (long)d.n;
        if (s == LC_OK)
            s = query ? text_to_images(&em, query, &d, caps, k, out)
                      : image_to_texts(&em, image, caps, d.n, k);
        if (s != LC_OK) rc = cli_report(s);
    }
    lc_captions_free(caps, d.n);
    lc_dataset_free(&d);
    close_model(&em);
    return rc;
}

// ---- latentcl embed
// -------------------------------------------------------------------------------

// One row per item and modality: "image|text <TAB> index <TAB> label <TAB> caption <TAB> e0..".
static lc_status write_tsv(const char *path, const lc_dataset *d, char **caps, const float *u,
                           const float *v, int64_t E) {
    char tmp[4200];
    snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid());
    FILE *f = fopen(tmp, "w");
    if (!f) return lc_fail(LC_ERR_IO, "%s: %s", path, strerror(errno));
    fprintf(f, "modality\tindex\tlabel\tcaption");
    for (int64_t e = 0; e < E; e++)
        fprintf(f, "\te%lld", (long long)e);
    fprintf(f, "\n");
    for (int mod = 0; mod < 2; mod++)
        for (int64_t i = 0; i < d->n; i++) {
            const float *x = (mod ? v : u) + i * E;
            fprintf(f, "%s\t%lld\t", mod ? "text" : "image", (long long)i);
            if (d->labels)
                fprintf(f, "%d", d->labels[i]);
            else
                fprintf(f, "-");
            fprintf(f, "\t%s", caps[i]);
            for (int64_t e = 0; e < E; e++)
                fprintf(f, "\t%.6g", x[e]);
            fprintf(f, "\n");
        }
    // The first failure's errno names the reason (a short write sets it too).
    int err = ferror(f) ? (errno ? errno : EIO) : 0;
    if (fflush(f) != 0 && !err) err = errno;
    if (fsync(fileno(f)) != 0 && !err) err = errno;
    if (fclose(f) != 0 && !err) err = errno;
    if (!err && rename(tmp, path) != 0) err = errno;
    if (err) {
        unlink(tmp);
        return lc_fail(LC_ERR_IO, "%s: %s", path, strerror(err));
    }
    return LC_OK;
}

int cmd_embed(int argc, char **argv) {
    const char *data = NULL, *out = NULL, *which = "last", *weights = "raw";
    long n = 0;
    const cli_opt opts[] = {
        {"--data", OPT_STRING, &data, "images and captions (default: the run's data, test split)",
         "SRC"},
        {"--n", OPT_INT, &n, "the first N items (0: all; shapes: 1000)", "N"},
        {"--out", OPT_STRING, &out, "TSV file to write", "FILE"},
        CLIP_CLI_LOAD_OPTS(&which, &weights),
        CLI_COMMON_OPTS,
        {NULL},
    };
    const char *run = NULL;
    int code = 0;
    if (cli_parse_one("embed", "RUN [--data SRC] [--n N] --out FILE.tsv",
                      "Embeddings of a clip run (normalised) or an mmvae run (posterior means) "
                      "for every image and caption of SRC, as TSV: modality, index, label, "
                      "caption, e0...",
                      argc, argv, opts, "RUN", &run, &code))
        return code;
    if (!out) return cli_error("embed: --out FILE is required"), 2;
    if (n < 0) return cli_error("--n must be >= 0"), 2;
    if (cli_check_out(out)) return 1;
    embed_model em;
    int rc = open_model(&em, "embed", run, which, weights);
    lc_dataset d = {0};
    char **caps = NULL;
    float *u = NULL, *v = NULL;
    if (!rc) {
        lc_status s = open_pairs(&d, &caps, &em, data, n);
        int64_t E = em.info.dim, unknown = 0;
        if (s == LC_OK) {
            u = malloc((size_t)(d.n * E) * sizeof *u);
            v = malloc((size_t)(d.n * E) * sizeof *v);
            if (!u || !v) s = lc_fail(LC_ERR_NOMEM, "out of memory");
        }
        if (s == LC_OK) s = em.fam->images(em.model, u, d.images, d.n);
        if (s == LC_OK) s = em.fam->texts(em.model, v, (const char *const *)caps, d.n, &unknown);
        if (s == LC_OK && unknown)
            fprintf(stderr,
                    "latentcl: warning: %lld caption words are not in the vocabulary "
                    "and read as <unk>\n",
                    (long long)unknown);
        if (s == LC_OK) s = write_tsv(out, &d, caps, u, v, E);
        if (s != LC_OK)
            rc = cli_report(s);
        else if (g_cli.json) {
            cJSON *j = cJSON_CreateObject();
            cJSON_AddNumberToObject(j, "n", (double)d.n);
            cJSON_AddNumberToObject(j, "dim", (double)E);
            cJSON_AddStringToObject(j, "out", out);
            print_json(j);
        } else
            printf("wrote %lld image and %lld caption embeddings (%lld wide) to %s\n",
                   (long long)d.n, (long long)d.n, (long long)E, out);
    }
    free(u), free(v);
    lc_captions_free(caps, d.n);
    lc_dataset_free(&d);
    close_model(&em);
    return rc;
}
