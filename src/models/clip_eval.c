// Host side of aligned embeddings (include/latentcl/clip.h): the InfoNCE reference,
// caption groups, similarity matrices, top-k and recall@k in both directions.
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "latentcl/clip.h"

void lc_caption_groups(int32_t *groups, const int32_t *ids, int64_t B, int64_t T) {
    for (int64_t i = 0; i < B; i++) {
        groups[i] = (int32_t)i;
        for (int64_t j = 0; j < i; j++)
            if (groups[j] == j && !memcmp(ids + i * T, ids + j * T, (size_t)T * sizeof *ids)) {
                groups[i] = (int32_t)j;
                break;
            }
    }
}

double lc_info_nce_host(double *dsim, double *dlog_scale, const float *sim, float log_scale,
                        const int32_t *groups, int64_t B, float max_scale) {
    double e = exp((double)log_scale), s = e < max_scale ? e : max_scale;
    double *lse_r = calloc((size_t)B, sizeof *lse_r), *lse_c = calloc((size_t)B, sizeof *lse_c);
    double loss = 0, dt = 0;
    if (!lse_r || !lse_c) {
        free(lse_r);
        free(lse_c);
        return NAN;
    }
    for (int64_t i = 0; i < B; i++) {
        double mr = -INFINITY, mc = -INFINITY, sr = 0, sc = 0, pos_r = 0, pos_c = 0;
        int64_t n = 0;
        for (int64_t k = 0; k < B; k++) {
            mr = fmax(mr, s * sim[i * B + k]);
            mc = fmax(mc, s * sim[k * B + i]);
        }
        for (int64_t k = 0; k < B; k++) {
            sr += exp(s * sim[i * B + k] - mr);
            sc += exp(s * sim[k * B + i] - mc);
            if (groups[k] == groups[i]) {
                pos_r += s * sim[i * B + k];
                pos_c += s * sim[k * B + i];
                n++;
            }
        }
        lse_r[i] = mr + log(sr);
        lse_c[i] = mc + log(sc);
        loss += (lse_r[i] - pos_r / (double)n) + (lse_c[i] - pos_c / (double)n);
    }
    for (int64_t i = 0; i < B; i++) {
        int64_t n = 0;
        for (int64_t k = 0; k < B; k++)
            n += groups[k] == groups[i];
        for (int64_t j = 0; j < B; j++) {
            double z = s * sim[i * B + j], y = groups[j] == groups[i] ? 1.0 / (double)n : 0;
            double dz = (exp(z - lse_r[i]) + exp(z - lse_c[j]) - 2 * y) / (2.0 * (double)B);
            if (dsim) dsim[i * B + j] = s * dz;
            dt += dz * z;
        }
    }
    if (dlog_scale) *dlog_scale = e < max_scale ? dt : 0;
    free(lse_r);
    free(lse_c);
    return loss / (2.0 * (double)B);
}

void lc_similarity_matrix(float *sim, const float *a, int64_t na, const float *b, int64_t nb,
                          int64_t E, lc_similarity kind) {
    for (int64_t i = 0; i < na; i++)
        for (int64_t j = 0; j < nb; j++) {
            const float *x = a + i * E, *y = b + j * E;
            float s = 0;
            if (kind == LC_SIM_COSINE) {
                for (int64_t e = 0; e < E; e++)
                    s += x[e] * y[e];
            } else {
                for (int64_t e = 0; e < E; e++)
                    s += (x[e] - y[e]) * (x[e] - y[e]);
                s = -sqrtf(s);
            }
            sim[i * nb + j] = s;
        }
}

void lc_top_k(int64_t *idx, const float *x, int64_t n, int64_t k) {
    if (k > n) k = n;
    int64_t have = 0;
    for (int64_t i = 0; i < n; i++) {
        // insert i into the sorted list idx[0..have) if it belongs in the top k
        if (have == k && !(x[i] > x[idx[k - 1]])) continue;
        int64_t at = have < k ? have++ : k - 1;
        while (at > 0 && x[i] > x[idx[at - 1]]) {
            idx[at] = idx[at - 1];
            at--;
        }
        idx[at] = i;
    }
}

static const int64_t KS[3] = {1, 5, 10};

lc_status lc_retrieval_eval(lc_retrieval *out, const float *u, const float *v, int64_t n, int64_t E,
                            const int32_t *ids, int64_t T, lc_similarity kind) {
    memset(out, 0, sizeof *out);
    if (n < 1) return lc_fail(LC_ERR_INVALID_ARG, "retrieval: no pairs");
    float *sim = malloc((size_t)n * (size_t)n * sizeof *sim),
          *col = malloc((size_t)n * sizeof *col);
    int32_t *groups = malloc((size_t)n * sizeof *groups);
    int64_t top[10];
    if (!sim || !col || !groups) {
        free(sim), free(col), free(groups);
        return lc_fail(LC_ERR_NOMEM, "retrieval: out of memory for %lld pairs", (long long)n);
    }
    lc_caption_groups(groups, ids, n, T);
    lc_similarity_matrix(sim, u, n, v, n, E, kind); // (images, captions)
    int64_t hits_i2t[3] = {0}, hits_t2i[3] = {0};
    for (int64_t i = 0; i < n; i++) {
        lc_top_k(top, sim + i * n, n, 10); // captions for image i
        for (int q = 0; q < 3; q++)
            for (int64_t r = 0; r < KS[q] && r < n; r++)
                if (groups[top[r]] == groups[i]) {
                    hits_i2t[q]++;
                    break;
                }
        for (int64_t j = 0; j < n; j++)
            col[j] = sim[j * n + i];
        lc_top_k(top, col, n, 10); // images for caption i
        for (int q = 0; q < 3; q++)
            for (int64_t r = 0; r < KS[q] && r < n; r++)
                if (groups[top[r]] == groups[i]) {
                    hits_t2i[q]++;
                    break;
                }
    }
    for (int q = 0; q < 3; q++) {
        out->recall_i2t[q] = (double)hits_i2t[q] / (double)n;
        out->recall_t2i[q] = (double)hits_t2i[q] / (double)n;
    }
    out->n = n;
    free(sim), free(col), free(groups);
    return LC_OK;
}
