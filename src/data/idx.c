// IDX files (the MNIST / Fashion-MNIST layout), plain or gzip, read through zlib
// (gzread passes plain files through unchanged). The header is trusted for nothing:
// memory grows only as bytes actually arrive, and the byte count must equal the
// header's product exactly.
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "data/data_util.h"
#include "latentcl/data.h"

enum { IDX_MAGIC_U8_1D = 0x00000801, IDX_MAGIC_U8_3D = 0x00000803 };
#define IDX_MAX_ITEMS ((int64_t)1 << 31)
#define IDX_MAX_BYTES ((uint64_t)1 << 32)
enum { IDX_MAX_SIDE = 4096 };

const char *const lc_fashion_mnist_classes[10] = {
    "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
    "Sandal",      "Shirt",   "Sneaker",  "Bag",   "Ankle boot",
};

static uint32_t be32(const uint8_t *b) {
    return (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
}

// Reads the header (4 + 4 * dims bytes) and then exactly `expect` payload bytes.
static lc_status idx_read(uint8_t **payload, uint32_t dims_out[3], const char *path, uint32_t magic,
                          int ndims) {
    *payload = NULL;
    gzFile gz = gzopen(path, "rb");
    if (!gz) return lc_fail(LC_ERR_IO, "%s: %s", path, errno ? strerror(errno) : "cannot open");
    uint8_t header[16];
    int want = 4 + 4 * ndims;
    int got = gzread(gz, header, (unsigned)want);
    lc_status s = LC_OK;
    if (got != want) {
        s = lc_fail(LC_ERR_FORMAT, "%s: too short for an IDX header (%d of %d bytes)", path,
                    got < 0 ? 0 : got, want);
        goto done;
    }
    if (be32(header) != magic) {
        s = lc_fail(LC_ERR_FORMAT, "%s: IDX magic number 0x%08x, expected 0x%08x", path,
                    be32(header), magic);
        goto done;
    }
    uint64_t expect = 1;
    for (int d = 0; d < ndims; d++) {
        dims_out[d] = be32(header + 4 + 4 * d);
        if (d > 0 && (dims_out[d] == 0 || dims_out[d] > IDX_MAX_SIDE)) {
            s = lc_fail(LC_ERR_FORMAT, "%s: IDX dimension %d is %u (allowed 1..%d)", path, d,
                        dims_out[d], IDX_MAX_SIDE);
            goto done;
        }
        expect *= dims_out[d];
    }
    if (dims_out[0] == 0 || dims_out[0] > IDX_MAX_ITEMS || expect > IDX_MAX_BYTES) {
        s = lc_fail(LC_ERR_FORMAT, "%s: IDX header declares %u items (%llu bytes): out of range",
                    path, dims_out[0], (unsigned long long)expect);
        goto done;
    }
    lc_buf b = {0};
    uint8_t chunk[1 << 16];
    while (b.len < expect) {
        size_t ask = expect - b.len < sizeof chunk ? (size_t)(expect - b.len) : sizeof chunk;
        int n = gzread(gz, chunk, (unsigned)ask);
        if (n < 0) {
            int errnum;
            const char *msg = gzerror(gz, &errnum);
            s = lc_fail(LC_ERR_FORMAT, "%s: corrupt gzip data: %s", path, msg);
            free(b.data);
            goto done;
        }
        if (n == 0) break;
        if (!lc_buf_append(&b, chunk, (size_t)n)) {
            s = lc_fail(LC_ERR_NOMEM, "%s: out of memory", path);
            free(b.data);
            goto done;
        }
    }
    if (b.len < expect) {
        s = lc_fail(LC_ERR_FORMAT, "%s: header declares %llu data bytes but the file holds %zu",
                    path, (unsigned long long)expect, b.len);
        free(b.data);
        goto done;
    }
    if (gzread(gz, chunk, 1) != 0) {
        s = lc_fail(LC_ERR_FORMAT, "%s: more data than the header's %llu bytes", path,
                    (unsigned long long)expect);
        free(b.data);
        goto done;
    }
    *payload = (uint8_t *)b.data;
done:
    gzclose(gz);
    return s;
}

lc_status lc_idx_read_images(lc_dataset *out, const char *path) {
    memset(out, 0, sizeof *out);
    uint8_t *bytes;
    uint32_t dims[3];
    lc_status s = idx_read(&bytes, dims, path, IDX_MAGIC_U8_3D, 3);
    if (s != LC_OK) return s;
    size_t count = (size_t)dims[0] * dims[1] * dims[2];
    out->images = malloc(count * sizeof(float));
    if (!out->images) {
        free(bytes);
        return lc_fail(LC_ERR_NOMEM, "%s: out of memory for %zu pixels", path, count);
    }
    for (size_t i = 0; i < count; i++)
        out->images[i] = (float)bytes[i] * (1.0f / 255.0f);
    free(bytes);
    out->n = dims[0];
    out->channels = 1;
    out->height = (int)dims[1];
    out->width = (int)dims[2];
    return LC_OK;
}

lc_status lc_idx_read_labels(int32_t **labels, int64_t *n, const char *path) {
    *labels = NULL;
    uint8_t *bytes;
    uint32_t dims[3];
    lc_status s = idx_read(&bytes, dims, path, IDX_MAGIC_U8_1D, 1);
    if (s != LC_OK) return s;
    *labels = malloc((size_t)dims[0] * sizeof(int32_t));
    if (!*labels) {
        free(bytes);
        return lc_fail(LC_ERR_NOMEM, "%s: out of memory", path);
    }
    for (uint32_t i = 0; i < dims[0]; i++)
        (*labels)[i] = bytes[i];
    free(bytes);
    *n = dims[0];
    return LC_OK;
}

// dir/name or dir/name.gz, whichever exists (gzip preferred); NULL if neither.
static char *find_idx(const char *dir, const char *name) {
    char gzname[128];
    snprintf(gzname, sizeof gzname, "%s.gz", name);
    char *p = lc_path_join(dir, gzname);
    if (p && lc_is_file(p)) return p;
    free(p);
    p = lc_path_join(dir, name);
    if (p && lc_is_file(p)) return p;
    free(p);
    return NULL;
}

lc_status lc_mnist_load(lc_dataset *out, const char *dir, lc_data_split split, bool fashion) {
    memset(out, 0, sizeof *out);
    const char *prefix = split == LC_SPLIT_TEST ? "t10k" : "train";
    char images_name[64], labels_name[64];
    snprintf(images_name, sizeof images_name, "%s-images-idx3-ubyte", prefix);
    snprintf(labels_name, sizeof labels_name, "%s-labels-idx1-ubyte", prefix);
    char *images_path = find_idx(dir, images_name);
    char *labels_path = find_idx(dir, labels_name);
    lc_status s = LC_OK;
    if (!images_path || !labels_path) {
        s = lc_fail(LC_ERR_IO, "%s: no %s[.gz]", dir, images_path ? labels_name : images_name);
        goto done;
    }
    s = lc_idx_read_images(out, images_path);
    if (s != LC_OK) goto done;
    int64_t n_labels;
    s = lc_idx_read_labels(&out->labels, &n_labels, labels_path);
    if (s != LC_OK) goto done;
    if (n_labels != out->n) {
        s = lc_fail(LC_ERR_FORMAT, "%s: %lld labels for %lld images in %s", labels_path,
                    (long long)n_labels, (long long)out->n, images_path);
        goto done;
    }
    for (int64_t i = 0; i < out->n; i++)
        if (out->labels[i] > 9) {
            s = lc_fail(LC_ERR_FORMAT, "%s: label %d of item %lld is not a class 0..9", labels_path,
                        out->labels[i], (long long)i);
            goto done;
        }
    static const char *const digits[10] = {"0", "1", "2", "3", "4", "5", "6", "7", "8", "9"};
    out->n_classes = 10;
    out->class_names = lc_strings_dup(fashion ? lc_fashion_mnist_classes : digits, 10);
    if (!out->class_names) s = lc_fail(LC_ERR_NOMEM, "out of memory");
done:
    if (s != LC_OK) lc_dataset_free(out);
    free(images_path);
    free(labels_path);
    return s;
}
