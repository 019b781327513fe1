// Baum-Welch across ranks: the slice of the sequences each rank scores, and the sum of
// the expected counts (see hmm_dist.h).
#include <stdlib.h>
#include <string.h>

#include "latentcl/dist.h"
#include "models/hmm_dist.h"

lc_status hmm_dist_part(lc_sequences *part, double **center, const lc_hmm *h,
                        const lc_sequences *x) {
    *center = NULL;
    memset(part, 0, sizeof *part);
    int64_t first = 0, n = 0;
    lc_dist_shard(&first, &n, x->n, lc_dist_rank(), lc_dist_size());
    part->offsets = malloc((size_t)(n + 1) * sizeof *part->offsets);
    if (!part->offsets) return lc_fail(LC_ERR_NOMEM, "HMM: out of memory for this rank's part");
    int64_t base = x->offsets[first];
    for (int64_t i = 0; i <= n; i++)
        part->offsets[i] = x->offsets[first + i] - base;
    part->n = n;
    part->n_steps = part->offsets[n];
    part->symbols = x->symbols ? x->symbols + base : NULL;
    part->values = x->values ? x->values + (size_t)base * (size_t)x->dim : NULL;
    part->dim = x->dim;
    part->alphabet = x->alphabet;
    if (h->emission != LC_HMM_GAUSSIAN) return LC_OK;
    // The same sum, in the same order, as the device E-step's centring of all the data.
    int D = x->dim;
    *center = calloc((size_t)(D > 0 ? D : 1), sizeof(double));
    if (!*center) {
        hmm_dist_part_free(part);
        return lc_fail(LC_ERR_NOMEM, "HMM: out of memory");
    }
    for (int64_t i = 0; i < x->n_steps; i++)
        for (int d = 0; d < D; d++)
            (*center)[d] += x->values[(size_t)i * D + d];
    for (int d = 0; d < D; d++)
        (*center)[d] /= (double)(x->n_steps > 0 ? x->n_steps : 1);
    return LC_OK;
}

void hmm_dist_part_free(lc_sequences *part) {
    free(part->offsets);
    memset(part, 0, sizeof *part);
}

// obs and obs2 are sums of gamma (x - c) and gamma (x - c)^2: with delta = c - c',
// sum gamma (x - c') = obs + post delta, sum gamma (x - c')^2 = obs2 + 2 delta obs +
// post delta^2.
static void recenter(lc_hmm_stats *s, const double *center) {
    int D = s->d;
    for (int k = 0; k < s->k; k++)
        for (int d = 0; d < D; d++) {
            double delta = s->center[d] - center[d], post = s->post[k];
            double *o1 = &s->obs[(size_t)k * D + d], *o2 = &s->obs2[(size_t)k * D + d];
            *o2 += 2 * delta * *o1 + post * delta * delta;
            *o1 += post * delta;
        }
    memcpy(s->center, center, (size_t)D * sizeof(double));
}

lc_status hmm_dist_reduce(lc_hmm_stats *s, const double *center) {
    size_t k = (size_t)s->k, cols = s->emission == LC_HMM_CATEGORICAL ? (size_t)s->m : (size_t)s->d;
    bool gauss = s->emission == LC_HMM_GAUSSIAN;
    if (gauss) recenter(s, center);
    // One buffer, one allreduce: [log L | start | trans | post | obs | obs2].
    size_t n = 1 + k + k * k + k + k * cols + (gauss ? k * cols : 0);
    double *buf = malloc(n * sizeof *buf);
    if (!buf) return lc_fail(LC_ERR_NOMEM, "HMM: out of memory for the count allreduce");
    struct {
        double *p;
        size_t n;
    } parts[] = {{&s->log_likelihood, 1}, {s->start, k},
                 {s->trans, k * k},       {s->post, k},
                 {s->obs, k * cols},      {s->obs2, gauss ? k * cols : 0}};
    enum { N_PARTS = sizeof parts / sizeof *parts };
    for (size_t i = 0, o = 0; i < N_PARTS; o += parts[i].n, i++)
        if (parts[i].n) memcpy(buf + o, parts[i].p, parts[i].n * sizeof *buf);
    lc_status st = lc_dist_allreduce_sum_f64(buf, n);
    for (size_t i = 0, o = 0; st == LC_OK && i < N_PARTS; o += parts[i].n, i++)
        if (parts[i].n) memcpy(parts[i].p, buf + o, parts[i].n * sizeof *buf);
    free(buf);
    return st;
}
