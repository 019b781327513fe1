// A folder of PNG images, with captions.tsv ("file<TAB>caption[<TAB>label]") or
// without (every *.png in name order). Every line is checked: missing tab, missing
// or unsafe file names, empty or oversized captions, bad labels, invalid UTF-8, and
// images whose size differs from the first one.
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "data/data_util.h"
#include "latentcl/data.h"
#include "latentcl/image.h"

#define CAPTIONS_MAX_BYTES ((size_t)256 << 20)
enum { FOLDER_MAX_ITEMS = 10000000, LABEL_MAX = 65535 };

typedef struct {
    char **files;    // (n) paths
    char **captions; // (n) or NULL
    int32_t *labels; // (n) or NULL
    int64_t *lines;  // (n) captions.tsv line of each item, or NULL
    int64_t n, cap;
} listing;

static void listing_free(listing *l) {
    lc_strings_free(l->files, l->n);
    lc_strings_free(l->captions, l->captions ? l->n : 0);
    free(l->labels);
    free(l->lines);
    memset(l, 0, sizeof *l);
}

static bool listing_grow(listing *l, bool with_captions) {
    if (l->n < l->cap) return true;
    int64_t cap = l->cap ? l->cap * 2 : 64;
    char **f = realloc(l->files, (size_t)cap * sizeof *f);
    if (f) l->files = f;
    if (!f) return false;
    if (with_captions) {
        char **c = realloc(l->captions, (size_t)cap * sizeof *c);
        if (c) l->captions = c;
        int32_t *b = realloc(l->labels, (size_t)cap * sizeof *b);
        if (b) l->labels = b;
        int64_t *n = realloc(l->lines, (size_t)cap * sizeof *n);
        if (n) l->lines = n;
        if (!c || !b || !n) return false;
    }
    l->cap = cap;
    return true;
}

static bool safe_relative_name(const char *name) {
    if (!*name || name[0] == '/') return false;
    for (const char *p = name; *p;) { // no ".." component
        const char *slash = strchr(p, '/');
        size_t len = slash ? (size_t)(slash - p) : strlen(p);
        if (len == 2 && p[0] == '.' && p[1] == '.') return false;
        if (!slash) break;
        p = slash + 1;
    }
    return true;
}

static bool blank(const char *s, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (s[i] != ' ' && s[i] != '\t') return false;
    return true;
}

// Parses one line "file<TAB>caption[<TAB>label]" (already NUL-terminated, no newline).
static lc_status parse_caption_line(listing *l, const char *dir, const char *tsv, int64_t line_no,
                                    char *line, int *has_label) {
    char *tab = strchr(line, '\t');
    if (!tab)
        return lc_fail(LC_ERR_FORMAT, "%s:%lld: no tab (expected file<TAB>caption[<TAB>label])",
                       tsv, (long long)line_no);
    *tab = '\0';
    char *caption = tab + 1, *label_text = strchr(caption, '\t');
    if (label_text) *label_text++ = '\0';
    if (label_text && strchr(label_text, '\t'))
        return lc_fail(LC_ERR_FORMAT, "%s:%lld: more than three tab-separated fields", tsv,
                       (long long)line_no);
    if (!safe_relative_name(line))
        return lc_fail(LC_ERR_FORMAT, "%s:%lld: file name \"%.200s\" is empty, absolute or has ..",
                       tsv, (long long)line_no, line);
    size_t cap_len = strlen(caption);
    if (blank(caption, cap_len))
        return lc_fail(LC_ERR_FORMAT, "%s:%lld: empty caption for %.200s", tsv, (long long)line_no,
                       line);
    if (cap_len > LC_CAPTION_MAX_BYTES)
        return lc_fail(LC_ERR_FORMAT, "%s:%lld: caption of %zu bytes (at most %d)", tsv,
                       (long long)line_no, cap_len, LC_CAPTION_MAX_BYTES);
    int this_has_label = label_text != NULL;
    if (*has_label < 0) *has_label = this_has_label;
    if (this_has_label != *has_label)
        return lc_fail(LC_ERR_FORMAT, "%s:%lld: %s a label column but earlier lines %s", tsv,
                       (long long)line_no, this_has_label ? "has" : "lacks",
                       this_has_label ? "do not" : "do");
    long label = 0;
    if (label_text) {
        char *end;
        errno = 0;
        label = strtol(label_text, &end, 10);
        if (errno || end == label_text || *end || label < 0 || label > LABEL_MAX)
            return lc_fail(LC_ERR_FORMAT, "%s:%lld: label \"%.40s\" is not an integer 0..%d", tsv,
                           (long long)line_no, label_text, LABEL_MAX);
    }
    if (l->n >= FOLDER_MAX_ITEMS)
        return lc_fail(LC_ERR_FORMAT, "%s: more than %d items", tsv, FOLDER_MAX_ITEMS);
    if (!listing_grow(l, true)) return lc_fail(LC_ERR_NOMEM, "%s: out of memory", tsv);
    char *path = lc_path_join(dir, line), *cap_copy = strdup(caption);
    if (!path || !cap_copy) {
        free(path);
        free(cap_copy);
        return lc_fail(LC_ERR_NOMEM, "%s: out of memory", tsv);
    }
    l->files[l->n] = path;
    l->captions[l->n] = cap_copy;
    l->labels[l->n] = (int32_t)label;
    l->lines[l->n] = line_no;
    l->n++;
    if (!lc_is_file(path))
        return lc_fail(LC_ERR_IO, "%s:%lld: image %s does not exist", tsv, (long long)line_no,
                       path);
    return LC_OK;
}

static lc_status read_captions(listing *l, const char *dir, const char *tsv, int *has_label) {
    char *text;
    size_t len;
    lc_status s = lc_read_file(&text, &len, tsv, CAPTIONS_MAX_BYTES);
    if (s != LC_OK) return s;
    *has_label = -1;
    int64_t line_no = 0;
    char *p = text, *end = text + len;
    while (p < end && s == LC_OK) {
        char *nl = memchr(p, '\n', (size_t)(end - p));
        char *stop = nl ? nl : end;
        line_no++;
        size_t n = (size_t)(stop - p);
        if (n && p[n - 1] == '\r') n--;
        p[n] = '\0';
        size_t bad = lc_utf8_check((const unsigned char *)p, n);
        if (memchr(p, '\0', n))
            s = lc_fail(LC_ERR_FORMAT, "%s:%lld: NUL byte", tsv, (long long)line_no);
        else if (bad != n)
            s = lc_fail(LC_ERR_FORMAT, "%s:%lld: invalid UTF-8 at byte %zu", tsv,
                        (long long)line_no, bad + 1);
        else if (blank(p, n)) {                                         // blank lines are skipped
        } else if (l->n == 0 && !strncasecmp(p, "file\tcaption", 12)) { // header
        } else
            s = parse_caption_line(l, dir, tsv, line_no, p, has_label);
        p = stop + 1;
    }
    free(text);
    if (s == LC_OK && l->n == 0) s = lc_fail(LC_ERR_FORMAT, "%s: no images listed", tsv);
    return s;
}

static int has_png_suffix(const struct dirent *e) {
    size_t n = strlen(e->d_name);
    return e->d_name[0] != '.' && n > 4 && !strcasecmp(e->d_name + n - 4, ".png");
}

static int cmp_names(const struct dirent **a, const struct dirent **b) {
    return strcmp((*a)->d_name, (*b)->d_name);
}

static lc_status list_pngs(listing *l, const char *dir) {
    struct dirent **names = NULL;
    int n = scandir(dir, &names, has_png_suffix, cmp_names);
    if (n < 0) return lc_fail(LC_ERR_IO, "%s: %s", dir, strerror(errno));
    lc_status s = LC_OK;
    for (int i = 0; i < n; i++) {
        if (s == LC_OK && !listing_grow(l, false)) s = lc_fail(LC_ERR_NOMEM, "out of memory");
        if (s == LC_OK && !(l->files[l->n] = lc_path_join(dir, names[i]->d_name)))
            s = lc_fail(LC_ERR_NOMEM, "out of memory");
        if (s == LC_OK) l->n++;
        free(names[i]);
    }
    free(names);
    if (s == LC_OK && n == 0)
        s = lc_fail(LC_ERR_FORMAT, "%s: no captions.tsv and no *.png files", dir);
    return s;
}

// Decodes every image into out (n, C, H, W), checking all share the first one's size.
static lc_status load_images(lc_dataset *out, const listing *l, const char *tsv) {
    lc_image *imgs = calloc((size_t)l->n, sizeof *imgs);
    if (!imgs) return lc_fail(LC_ERR_NOMEM, "out of memory");
    lc_status s = LC_OK;
    int channels = 1;
    for (int64_t i = 0; i < l->n && s == LC_OK; i++) {
        s = lc_png_read(&imgs[i], l->files[i]);
        if (s != LC_OK) {
            if (l->lines) lc_fail_context(s, "%s:%lld", tsv, (long long)l->lines[i]);
            break;
        }
        if (imgs[i].width != imgs[0].width || imgs[i].height != imgs[0].height)
            s = lc_fail(LC_ERR_FORMAT, "%s is %dx%d but %s (the first image) is %dx%d", l->files[i],
                        imgs[i].width, imgs[i].height, l->files[0], imgs[0].width, imgs[0].height);
        if (imgs[i].channels == 3) channels = 3;
    }
    if (s == LC_OK) {
        out->n = l->n;
        out->channels = channels, out->height = imgs[0].height, out->width = imgs[0].width;
        size_t plane = (size_t)out->height * out->width;
        out->images = malloc((size_t)l->n * channels * plane * sizeof(float));
        if (!out->images)
            s = lc_fail(LC_ERR_NOMEM, "out of memory for %lld images", (long long)l->n);
        for (int64_t i = 0; s == LC_OK && i < l->n; i++) {
            float *dst = out->images + (size_t)i * channels * plane; // (C, H, W)
            const lc_image *im = &imgs[i];
            for (int c = 0; c < channels; c++)
                for (size_t k = 0; k < plane; k++)
                    dst[c * plane + k] =
                        im->pixels[k * im->channels + (im->channels == 3 ? c : 0)] / 255.0f;
        }
    }
    for (int64_t i = 0; i < l->n; i++)
        lc_image_free(&imgs[i]);
    free(imgs);
    return s;
}

lc_status lc_image_folder_load(lc_dataset *out, const char *dir) {
    memset(out, 0, sizeof *out);
    if (!lc_is_dir(dir)) return lc_fail(LC_ERR_IO, "%s: not a folder", dir);
    char *tsv = lc_path_join(dir, "captions.tsv");
    if (!tsv) return lc_fail(LC_ERR_NOMEM, "out of memory");
    listing l = {0};
    int has_label = 0;
    lc_status s = lc_is_file(tsv) ? read_captions(&l, dir, tsv, &has_label) : list_pngs(&l, dir);
    if (s == LC_OK) s = load_images(out, &l, tsv);
    if (s == LC_OK && l.captions) {
        out->captions = l.captions;
        l.captions = NULL;
    }
    if (s == LC_OK && has_label == 1) {
        out->labels = l.labels;
        l.labels = NULL;
        for (int64_t i = 0; i < out->n; i++)
            if (out->labels[i] >= out->n_classes) out->n_classes = out->labels[i] + 1;
    }
    listing_free(&l);
    free(tsv);
    if (s != LC_OK) lc_dataset_free(out);
    return s;
}
