// Captions built from class names and templates ("a picture of a {class}"), the caption
// pairs of a dataset, and their vocabulary (include/latentcl/clip.h).
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "latentcl/clip.h"

static void set(lc_templates *t, const char *const *items, int n) {
    memset(t, 0, sizeof *t);
    for (int i = 0; i < n; i++)
        snprintf(t->items[i], sizeof t->items[i], "%s", items[i]);
    t->n = n;
}

void lc_templates_train(lc_templates *t) {
    static const char *const items[] = {"a {class}", "a picture of a {class}",
                                        "an image of a {class}", "a {class} in black and white"};
    set(t, items, 4);
}

void lc_templates_zeroshot(lc_templates *t) {
    static const char *const items[] = {"a photo of a {class}", "a small photo of the {class}"};
    set(t, items, 2);
}

static int count_marks(const char *s) {
    int n = 0;
    for (const char *p = strstr(s, "{class}"); p; p = strstr(p + 1, "{class}"))
        n++;
    return n;
}

lc_status lc_templates_read(lc_templates *t, const char *path) {
    memset(t, 0, sizeof *t);
    FILE *f = fopen(path, "rb");
    if (!f) return lc_fail(LC_ERR_IO, "templates %s: %s", path, strerror(errno));
    char line[4 * LC_TEMPLATE_MAX_BYTES];
    lc_status s = LC_OK;
    for (int no = 1; s == LC_OK && fgets(line, sizeof line, f); no++) {
        size_t len = strlen(line);
        if (len + 1 == sizeof line && line[len - 1] != '\n') {
            s = lc_fail(LC_ERR_FORMAT, "%s:%d: line too long", path, no);
            break;
        }
        while (len && (line[len - 1] == '\n' || line[len - 1] == '\r'))
            line[--len] = '\0';
        const char *p = line;
        while (*p == ' ' || *p == '\t')
            p++;
        if (!*p || *p == '#') continue;
        if (count_marks(p) != 1)
            s = lc_fail(LC_ERR_FORMAT, "%s:%d: a template needs {class} exactly once: %s", path, no,
                        p);
        else if (strlen(p) >= LC_TEMPLATE_MAX_BYTES)
            s = lc_fail(LC_ERR_FORMAT, "%s:%d: template longer than %d bytes", path, no,
                        LC_TEMPLATE_MAX_BYTES - 1);
        else if (t->n == LC_TEMPLATES_MAX)
            s = lc_fail(LC_ERR_FORMAT, "%s:%d: more than %d templates", path, no, LC_TEMPLATES_MAX);
        else
            memcpy(t->items[t->n++], p, strlen(p) + 1); // length checked above
    }
    if (s == LC_OK && ferror(f)) s = lc_fail(LC_ERR_IO, "templates %s: read error", path);
    fclose(f);
    if (s == LC_OK && t->n == 0)
        s = lc_fail(LC_ERR_FORMAT, "templates %s: no template (one per line, with {class})", path);
    return s;
}

lc_status lc_template_fill(char *buf, size_t cap, const char *tmpl, const char *class_name) {
    const char *at = strstr(tmpl, "{class}");
    if (!at) return lc_fail(LC_ERR_INVALID_ARG, "template without {class}: %s", tmpl);
    size_t pre = (size_t)(at - tmpl), name = strlen(class_name), post = strlen(at + 7);
    if (pre + name + post + 1 > cap)
        return lc_fail(LC_ERR_INVALID_ARG, "caption too long: %s with %s", tmpl, class_name);
    memcpy(buf, tmpl, pre);
    for (size_t i = 0; i < name; i++)
        buf[pre + i] = (char)tolower((unsigned char)class_name[i]);
    memcpy(buf + pre + name, at + 7, post + 1);
    return LC_OK;
}

void lc_captions_free(char **c, int64_t n) {
    for (int64_t i = 0; c && i < n; i++)
        free(c[i]);
    free(c);
}

static char *dup_str(const char *s) {
    size_t n = strlen(s) + 1;
    char *d = malloc(n);
    if (d) memcpy(d, s, n);
    return d;
}

lc_status lc_clip_captions(char ***out, const lc_dataset *d, const lc_templates *t) {
    *out = NULL;
    bool classes = d->labels && d->class_names && d->n_classes > 0 && t && t->n > 0;
    if (!d->captions && !classes)
        return lc_fail(LC_ERR_INVALID_ARG,
                       "the data has neither captions nor labelled classes to build them from");
    char **c = calloc((size_t)(d->n ? d->n : 1), sizeof *c);
    if (!c) return lc_fail(LC_ERR_NOMEM, "out of memory for %lld captions", (long long)d->n);
    lc_status s = LC_OK;
    for (int64_t i = 0; s == LC_OK && i < d->n; i++) {
        if (d->captions) {
            c[i] = dup_str(d->captions[i] ? d->captions[i] : "");
        } else {
            int32_t y = d->labels[i];
            if (y < 0 || y >= d->n_classes) {
                s = lc_fail(LC_ERR_INVALID_ARG, "item %lld: label %d outside 0..%d", (long long)i,
                            y, d->n_classes - 1);
                break;
            }
            char buf[LC_TEMPLATE_MAX_BYTES + 256];
            s = lc_template_fill(buf, sizeof buf, t->items[i % t->n], d->class_names[y]);
            if (s == LC_OK) c[i] = dup_str(buf);
        }
        if (s == LC_OK && !c[i]) s = lc_fail(LC_ERR_NOMEM, "out of memory for captions");
    }
    if (s != LC_OK) {
        lc_captions_free(c, d->n);
        return s;
    }
    *out = c;
    return LC_OK;
}

lc_status lc_clip_build_vocab(lc_vocab *out, const lc_dataset *d, const lc_templates *t) {
    memset(out, 0, sizeof *out);
    if (d->captions) return lc_vocab_build(out, (const char *const *)d->captions, d->n, 1, 0);
    if (!d->labels || !d->class_names || d->n_classes < 1 || !t || t->n < 1)
        return lc_fail(LC_ERR_INVALID_ARG,
                       "the data has neither captions nor labelled classes to build them from");
    // Every class in every template: the words do not depend on which items exist.
    int64_t n = (int64_t)d->n_classes * t->n;
    char **c = calloc((size_t)n, sizeof *c);
    if (!c) return lc_fail(LC_ERR_NOMEM, "out of memory");
    lc_status s = LC_OK;
    for (int64_t i = 0; s == LC_OK && i < n; i++) {
        char buf[LC_TEMPLATE_MAX_BYTES + 256];
        s = lc_template_fill(buf, sizeof buf, t->items[i % t->n], d->class_names[i / t->n]);
        if (s == LC_OK && !(c[i] = dup_str(buf))) s = lc_fail(LC_ERR_NOMEM, "out of memory");
    }
    if (s == LC_OK) s = lc_vocab_build(out, (const char *const *)c, n, 1, 0);
    lc_captions_free(c, n);
    return s;
}
