// The shapes set on disk: PNGs, captions.tsv and attributes.tsv, written into a
// temporary sibling folder and renamed into place, so the folder appears whole or not at all.
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "data/data_util.h"
#include "io/atomic.h"
#include "io/png_direct.h"
#include "latentcl/data.h"
#include "latentcl/image.h"

static const char *const place_tokens[LC_PLACES] = {
    "top_left", "top",         "top_right", "left",         "center",
    "right",    "bottom_left", "bottom",    "bottom_right",
};
static const char *const relation_tokens[LC_RELATIONS] = {"left_of", "right_of", "above", "below"};

// Removes the files this writer made in tmp (only names it could have written) and tmp.
static void remove_temp_folder(const char *tmp, int64_t n_written) {
    char path[4096];
    for (int64_t i = 0; i < n_written; i++) {
        snprintf(path, sizeof path, "%s/%06lld.png", tmp, (long long)i);
        unlink(path);
    }
    snprintf(path, sizeof path, "%s/captions.tsv", tmp);
    unlink(path);
    snprintf(path, sizeof path, "%s/attributes.tsv", tmp);
    unlink(path);
    rmdir(tmp);
}

static bool is_empty_dir(const char *dir) {
    DIR *d = opendir(dir);
    if (!d) return false;
    bool empty = true;
    for (struct dirent *e; empty && (e = readdir(d));)
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) empty = false;
    closedir(d);
    return empty;
}

static lc_status write_text(const char *dir, const char *name, const lc_buf *text) {
    char *path = lc_path_join(dir, name);
    if (!path) return lc_fail(LC_ERR_NOMEM, "out of memory");
    lc_status s = lc_write_file_atomic(path, text->data, text->len);
    free(path);
    return s;
}

static bool append_shape(lc_buf *b, const lc_shape *s) {
    char cell[160];
    if (!s) return lc_buf_append(b, "\t-\t-\t-\t-\t-\t-", 12);
    int n = snprintf(cell, sizeof cell, "\t%s\t%s\t%s\t%d\t%d\t%d", lc_shape_kind_names[s->kind],
                     lc_shape_colour_names[s->colour], lc_shape_size_names[s->size], s->cx, s->cy,
                     s->half_size);
    return lc_buf_append(b, cell, (size_t)n);
}

lc_status lc_shapes_write_folder(const char *dir, int64_t first, int64_t n, uint64_t seed) {
    if (!dir || !*dir) return lc_fail(LC_ERR_INVALID_ARG, "shapes: no output folder");
    if (n < 1 || n > 10000000 || first < 0)
        return lc_fail(LC_ERR_INVALID_ARG, "shapes: %lld items requested (1..10000000)",
                       (long long)n);
    bool existed = lc_is_dir(dir);
    if (existed ? !is_empty_dir(dir) : access(dir, F_OK) == 0)
        return lc_fail(LC_ERR_EXISTS, "%s: already exists (choose a new folder)", dir);
    size_t len = strlen(dir);
    while (len > 1 && dir[len - 1] == '/')
        len--;
    char *tmp = malloc(len + 16);
    if (!tmp) return lc_fail(LC_ERR_NOMEM, "out of memory");
    memcpy(tmp, dir, len);
    memcpy(tmp + len, ".tmp.XXXXXX", 12);
    if (!mkdtemp(tmp)) {
        lc_status s =
            lc_fail(LC_ERR_IO, "%s: cannot create a folder beside it: %s", dir, strerror(errno));
        free(tmp);
        return s;
    }
    mode_t mask = umask(0); // mkdtemp makes 0700; the finished folder should look like any other
    umask(mask);
    (void)chmod(tmp, 0777 & ~mask);
    lc_buf captions = {0}, attributes = {0};
    static const char header[] = "file\tn_shapes\tplace\trelation\tkind1\tcolour1\tsize1\tx1\ty1\t"
                                 "half_size1\tkind2\tcolour2\tsize2\tx2\ty2\thalf_size2\n";
    bool ok = lc_buf_append(&attributes, header, sizeof header - 1) &&
              lc_buf_append(&captions, "file\tcaption\tlabel\n", 19);
    float image[3 * LC_SHAPES_SIZE * LC_SHAPES_SIZE];
    lc_image img = {LC_SHAPES_SIZE, LC_SHAPES_SIZE, 3, malloc(sizeof image / sizeof(float))};
    lc_status s = ok && img.pixels ? LC_OK : lc_fail(LC_ERR_NOMEM, "out of memory");
    int64_t written = 0;
    enum { P = LC_SHAPES_SIZE * LC_SHAPES_SIZE };
    for (int64_t i = 0; i < n && s == LC_OK; i++) {
        lc_shapes_item item;
        lc_shapes_item_make(&item, seed, first + i);
        lc_shapes_render(image, &item);
        for (int k = 0; k < P; k++) // (3, H, W) floats -> (H, W, 3) bytes
            for (int c = 0; c < 3; c++)
                img.pixels[k * 3 + c] = (uint8_t)(image[c * P + k] * 255.0f + 0.5f);
        char name[32], path[4096], caption[160], line[256];
        snprintf(name, sizeof name, "%06lld.png", (long long)i);
        snprintf(path, sizeof path, "%s/%s", tmp, name);
        if ((s = lc_png_write_direct(path, &img)) != LC_OK) break;
        written = i + 1;
        lc_shapes_caption(caption, sizeof caption, &item);
        int m = snprintf(line, sizeof line, "%s\t%s\t%d\n", name, caption, (int)item.shape[0].kind);
        ok = lc_buf_append(&captions, line, (size_t)m);
        m = snprintf(line, sizeof line, "%s\t%d\t%s\t%s", name, item.n_shapes,
                     item.n_shapes == 1 ? place_tokens[item.place] : "-",
                     item.n_shapes == 2 ? relation_tokens[item.relation] : "-");
        ok = ok && lc_buf_append(&attributes, line, (size_t)m) &&
             append_shape(&attributes, &item.shape[0]) &&
             append_shape(&attributes, item.n_shapes == 2 ? &item.shape[1] : NULL) &&
             lc_buf_append(&attributes, "\n", 1);
        if (!ok) s = lc_fail(LC_ERR_NOMEM, "out of memory");
    }
    if (s == LC_OK) s = write_text(tmp, "captions.tsv", &captions);
    if (s == LC_OK) s = write_text(tmp, "attributes.tsv", &attributes);
    if (s == LC_OK && existed && rmdir(dir) != 0)
        s = lc_fail(LC_ERR_IO, "%s: cannot replace the empty folder: %s", dir, strerror(errno));
    if (s == LC_OK && rename(tmp, dir) != 0)
        s = lc_fail(LC_ERR_IO, "%s: rename from %s failed: %s", dir, tmp, strerror(errno));
    if (s != LC_OK) remove_temp_folder(tmp, written);
    free(img.pixels);
    free(captions.data);
    free(attributes.data);
    free(tmp);
    return s;
}
