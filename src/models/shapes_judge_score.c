// Judging images against what was asked for: the canonical order of two shapes, the
// attribute-by-attribute comparison of seen and wanted items, and the same for images
// the judge reads (against generator items or captions).
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "models/shapes_judge_internal.h"

void lc_shapes_canonical(lc_shapes_item *out, const lc_shapes_item *in) {
    lc_shapes_item c = *in;
    if (c.n_shapes == 2) {
        // "A right of B" is "B left of A"; "A below B" is "B above A".
        if (c.relation == LC_REL_RIGHT_OF || c.relation == LC_REL_BELOW) {
            lc_shape t = c.shape[0];
            c.shape[0] = c.shape[1];
            c.shape[1] = t;
            c.relation = c.relation == LC_REL_RIGHT_OF ? LC_REL_LEFT_OF : LC_REL_ABOVE;
        }
        c.place = 0;
    } else {
        memset(&c.shape[1], 0, sizeof c.shape[1]);
        c.relation = LC_REL_LEFT_OF;
    }
    *out = c;
}

static double share(int64_t hits, int64_t of) { return of > 0 ? (double)hits / (double)of : NAN; }

void lc_shapes_judgement_of(lc_shapes_judgement *out, const lc_shapes_item *seen,
                            const lc_shapes_item *wanted, int64_t n) {
    int64_t all = 0, kind = 0, colour = 0, size = 0, count = 0, place = 0, relation = 0;
    int64_t shapes = 0, one = 0, two = 0;
    for (int64_t i = 0; i < n; i++) {
        lc_shapes_item s, w;
        lc_shapes_canonical(&s, &seen[i]);
        lc_shapes_canonical(&w, &wanted[i]);
        bool ok = s.n_shapes == w.n_shapes;
        count += ok;
        for (int k = 0; k < w.n_shapes && k < 2; k++) {
            // A shape the judge did not see counts as wrong in every attribute.
            bool there = k < s.n_shapes;
            bool kind_ok = there && s.shape[k].kind == w.shape[k].kind;
            bool colour_ok = there && s.shape[k].colour == w.shape[k].colour;
            bool size_ok = there && s.shape[k].size == w.shape[k].size;
            kind += kind_ok, colour += colour_ok, size += size_ok;
            ok = ok && kind_ok && colour_ok && size_ok;
            shapes++;
        }
        if (w.n_shapes == 1) {
            bool place_ok = s.n_shapes == 1 && s.place == w.place;
            place += place_ok, one++;
            ok = ok && place_ok;
        } else {
            bool relation_ok = s.n_shapes == 2 && s.relation == w.relation;
            relation += relation_ok, two++;
            ok = ok && relation_ok;
        }
        all += ok;
    }
    *out = (lc_shapes_judgement){
        .n = n,
        .all = share(all, n),
        .kind = share(kind, shapes),
        .colour = share(colour, shapes),
        .size = share(size, shapes),
        .count = share(count, n),
        .place = share(place, one),
        .relation = share(relation, two),
        .n_shapes_requested = shapes,
        .n_one = one,
        .n_two = two,
    };
}

lc_status lc_shapes_judge_compare(lc_shapes_judge *j, lc_shapes_judgement *out, const float *images,
                                  const lc_shapes_item *wanted, int64_t n, int channels, int height,
                                  int width) {
    memset(out, 0, sizeof *out);
    for (int64_t i = 0; i < n; i++)
        if (wanted[i].n_shapes < 1 || wanted[i].n_shapes > 2)
            return lc_fail(LC_ERR_INVALID_ARG,
                           "shapes judge: item %lld asks for %d shapes (1 or 2)", (long long)i,
                           wanted[i].n_shapes);
    lc_shapes_item *seen = malloc((size_t)(n > 0 ? n : 1) * sizeof *seen);
    if (!seen) return lc_fail(LC_ERR_NOMEM, "out of memory for %lld items", (long long)n);
    lc_status s = lc_shapes_judge_predict(j, seen, images, n, channels, height, width);
    if (s == LC_OK) lc_shapes_judgement_of(out, seen, wanted, n);
    free(seen);
    return s;
}

lc_status lc_shapes_judge_score(lc_shapes_judge *j, lc_shapes_judgement *out, const float *images,
                                const char *const *captions, int64_t n, int channels, int height,
                                int width) {
    memset(out, 0, sizeof *out);
    if (n < 0) return lc_fail(LC_ERR_INVALID_ARG, "shapes judge: %lld images", (long long)n);
    lc_shapes_item *wanted = malloc((size_t)(n > 0 ? n : 1) * sizeof *wanted);
    if (!wanted) return lc_fail(LC_ERR_NOMEM, "out of memory for %lld captions", (long long)n);
    lc_status s = LC_OK;
    for (int64_t i = 0; i < n && s == LC_OK; i++) {
        if (!captions[i])
            s = lc_fail(LC_ERR_INVALID_ARG, "shapes judge: caption %lld is missing", (long long)i);
        else if ((s = lc_shapes_parse_caption(&wanted[i], captions[i])) != LC_OK)
            s = lc_fail_context(s, "caption %lld", (long long)i);
    }
    if (s == LC_OK) s = lc_shapes_judge_compare(j, out, images, wanted, n, channels, height, width);
    free(wanted);
    return s;
}
