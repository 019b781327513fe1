// CLIP-style aligned embeddings: the two encoders, L2 normalisation, the symmetric InfoNCE
// loss of a batch, and inference in chunks (include/latentcl/clip.h).
//
//   u = normalise(image_projection(f(x)))      f: the conv VAE's encoder trunk
//   v = normalise(text_projection(g(y)))       g: the text encoder's <eos> state
//   loss = InfoNCE(u v^T, t, caption groups)   s = min(exp(t), 100) inside the op
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "latentcl/dist.h"
#include "models/clip_internal.h"

lc_status clip_build(lc_clip *m, int init) {
    const lc_clip_config *c = &m->cfg;
    lc_params *p = &m->params;
    int64_t flat = 64 * (int64_t)(c->height / 4) * (c->width / 4);
    LC_TRY(lc_conv_declare(&m->conv1, p, "image.0", c->channels, 32, 4, 2, 1, 1));
    LC_TRY(lc_conv_declare(&m->conv2, p, "image.2", 32, 64, 4, 2, 1, 1));
    LC_TRY(lc_linear_declare(&m->fc, p, "image.5", flat, c->hidden, 1));
    LC_TRY(lc_linear_declare(&m->image_projection, p, "image_projection", c->hidden, c->embed, 0));
    LC_TRY(lc_text_encoder_declare(&m->text, p, "text", &c->text));
    LC_TRY(lc_linear_declare(&m->text_projection, p, "text_projection", c->text.dim, c->embed, 0));
    LC_TRY(lc_params_add(p, "logit_scale", 1, (int64_t[]){1}, &m->log_scale));
    LC_TRY(lc_params_alloc(p, m->dev));
    if (!init) return LC_OK;
    uint64_t seed = m->seed;
    LC_TRY(lc_conv_reset(m->dev, p, &m->conv1, seed));
    LC_TRY(lc_conv_reset(m->dev, p, &m->conv2, seed));
    LC_TRY(lc_linear_reset(m->dev, p, &m->fc, seed));
    LC_TRY(lc_linear_reset(m->dev, p, &m->image_projection, seed));
    LC_TRY(lc_text_encoder_reset(m->dev, p, &m->text, seed));
    LC_TRY(lc_linear_reset(m->dev, p, &m->text_projection, seed));
    return lc_param_fill_value(m->dev, p, "logit_scale", (float)c->init_log_scale);
}

// Rows of x (B, E) divided by their L2 norms (+ 1e-12 inside the root, so a zero row stays
// finite). The scale multiplies x transposed, where lc_mul repeats a (B) vector.
static lc_status normalise_rows(lc_ctx *ctx, lc_tensor **y, lc_tensor *x) {
    lc_tensor *sq, *ss, *inv, *xt, *yt;
    LC_TRY(lc_mul(ctx, &sq, x, x));
    LC_TRY(lc_sum(ctx, &ss, sq, -1)); // (B)
    const lc_unary_step rsqrt[3] = {
        {LC_ACT_SCALE, 1.0f, 1e-12f}, {LC_ACT_LOG, 0, 0}, {LC_ACT_SCALE, -0.5f, 0}};
    lc_tensor *lg;
    LC_TRY(lc_chain(ctx, &lg, ss, 3, rsqrt));
    LC_TRY(lc_exp(ctx, &inv, lg));                        // (B) = 1 / |x_b|
    LC_TRY(lc_permute(ctx, &xt, x, (const int[]){1, 0})); // (E, B)
    LC_TRY(lc_mul(ctx, &yt, xt, inv));                    // column b scaled
    return lc_permute(ctx, y, yt, (const int[]){1, 0});   // (B, E)
}

lc_status clip_image_forward(lc_clip *m, lc_tensor **u, lc_tensor *x) {
    lc_ctx *ctx = m->ctx;
    lc_params *p = &m->params;
    lc_tensor *h1, *h2, *flat, *h, *e;
    int64_t B = x->shape[0];
    LC_TRY(lc_conv_forward(ctx, &h1, p, &m->conv1, x, LC_ACT_RELU));  // (B, 32, H/2, W/2)
    LC_TRY(lc_conv_forward(ctx, &h2, p, &m->conv2, h1, LC_ACT_RELU)); // (B, 64, H/4, W/4)
    LC_TRY(lc_reshape(ctx, &flat, h2, 2, (int64_t[]){B, (int64_t)(h2->numel / (size_t)B)}));
    LC_TRY(lc_linear_forward(ctx, &h, p, &m->fc, flat, LC_ACT_RELU));            // (B, 256)
    LC_TRY(lc_linear_forward(ctx, &e, p, &m->image_projection, h, LC_ACT_NONE)); // (B, E)
    return normalise_rows(ctx, u, e);
}

lc_status clip_text_forward(lc_clip *m, lc_tensor **v, lc_tensor *ids, lc_tensor *eos) {
    lc_tensor *h, *e;
    LC_TRY(lc_text_encoder_forward(m->ctx, &h, &m->params, &m->text, ids, eos)); // (B, D)
    LC_TRY(lc_linear_forward(m->ctx, &e, &m->params, &m->text_projection, h, LC_ACT_NONE));
    return normalise_rows(m->ctx, v, e);
}

// ---- training step ---------------------------------------------------------------------

lc_status clip_stage(lc_clip *m, clip_staging **out, int64_t count) {
    clip_staging *st = &m->ring[m->steps % CLIP_RING];
    if (st->written) { // normally long done: the queue runs a step or two behind
        cl_int e = clWaitForEvents(1, &st->written);
        clReleaseEvent(st->written);
        st->written = NULL;
        if (e != CL_SUCCESS) return lc_cl_fail(e, "clWaitForEvents", "a CLIP batch upload");
    }
    if (count > st->cap) {
        size_t image = lc_dataset_image_size(&(lc_dataset){
            .channels = m->cfg.channels, .height = m->cfg.height, .width = m->cfg.width});
        int64_t T = m->cfg.text.max_len;
        free(st->x), free(st->ids), free(st->eos), free(st->groups);
        st->x = malloc((size_t)count * image * sizeof *st->x);
        st->ids = malloc((size_t)(count * T) * sizeof *st->ids);
        st->eos = malloc((size_t)count * sizeof *st->eos);
        st->groups = malloc((size_t)count * sizeof *st->groups);
        st->cap = count;
        if (!st->x || !st->ids || !st->eos || !st->groups) {
            st->cap = 0;
            return lc_fail(LC_ERR_NOMEM, "out of memory for a CLIP batch of %lld",
                           (long long)count);
        }
    }
    *out = st;
    return LC_OK;
}

static lc_status upload(lc_clip *m, lc_tensor *t, const void *host, size_t bytes, cl_event *ev) {
    cl_int e = clEnqueueWriteBuffer(lc_device_queue(m->dev), t->buf, CL_FALSE,
                                    t->off * sizeof(float), bytes, host, 0, NULL, ev);
    return e == CL_SUCCESS ? LC_OK : lc_cl_fail(e, "clEnqueueWriteBuffer", "a CLIP batch");
}

// Data parallel: every rank encodes its n pairs, gathers the others' embeddings
// (lc_dist_gather_rows: the gradient reaches its own rows only) and differentiates the
// loss of all B pairs; the loop sums the ranks' gradients. logit_scale enters the loss
// directly, so rank 0 alone takes its gradient.
lc_status clip_step(lc_clip *m, cl_mem loss_out, int64_t n, int64_t first, int64_t B, int64_t T) {
    clip_staging *st = &m->ring[m->steps % CLIP_RING];
    if (B < 1 || B > st->cap || n < 0 || first < 0 || first + n > B || st->written)
        return lc_fail(LC_ERR_INVALID_ARG,
                       "clip step: %lld pairs (rows %lld..) of %lld without a staged batch",
                       (long long)n, (long long)first, (long long)B);
    lc_ctx *ctx = m->ctx;
    lc_step_begin(ctx);
    lc_set_training(ctx, 1);
    lc_set_grad_enabled(ctx, 1);
    const lc_clip_config *c = &m->cfg;
    if (T < 2 || T > c->text.max_len)
        return lc_fail(LC_ERR_INVALID_ARG, "clip step: %lld token columns", (long long)T);
    lc_tensor *x = NULL, *ids = NULL, *eos = NULL, *u_mine = NULL, *v_mine = NULL;
    lc_tensor *groups, *u, *v, *sim, *t, *loss;
    LC_TRY(lc_tensor_new_i32(ctx, &groups, 1, &B));
    if (n > 0) { // this rank's pairs: rows [first, first + n) of the staged captions
        LC_TRY(lc_tensor_new(ctx, &x, 4, (int64_t[]){n, c->channels, c->height, c->width}));
        LC_TRY(lc_tensor_new_i32(ctx, &ids, 2, (int64_t[]){n, T}));
        LC_TRY(lc_tensor_new_i32(ctx, &eos, 1, &n));
        LC_TRY(upload(m, x, st->x, x->numel * sizeof(float), NULL));
        LC_TRY(upload(m, ids, st->ids + first * T, ids->numel * sizeof(int32_t), NULL));
        LC_TRY(upload(m, eos, st->eos + first, (size_t)n * sizeof(int32_t), NULL));
    }
    // In-order queue: the last write ends after the others; its event frees the slot.
    LC_TRY(upload(m, groups, st->groups, (size_t)B * sizeof(int32_t), &st->written));
    m->steps++;
    if (n > 0) {
        LC_TRY(clip_image_forward(m, &u_mine, x));       // (n, E)
        LC_TRY(clip_text_forward(m, &v_mine, ids, eos)); // (n, E)
    }
    LC_TRY(lc_dist_gather_rows(ctx, &u, u_mine, c->embed, B)); // (B, E); u_mine with one rank
    LC_TRY(lc_dist_gather_rows(ctx, &v, v_mine, c->embed, B)); // (B, E)
    LC_TRY(lc_matmul(ctx, &sim, u, v, 0, 1));                  // (B, B) images x captions
    if (lc_dist_rank() == 0) {
        LC_TRY(lc_tensor_param_at(ctx, &t, &m->params, m->log_scale, 1, (int64_t[]){1}));
    } else { // the same value without a gradient: rank 0 alone adds d loss / d t
        float log_scale;
        LC_TRY(lc_read(m->dev, &log_scale, m->params.data, m->log_scale * sizeof(float),
                       sizeof log_scale));
        LC_TRY(lc_tensor_from_host(ctx, &t, &log_scale, 1, (int64_t[]){1}));
    }
    LC_TRY(lc_info_nce(ctx, &loss, sim, t, groups, (float)c->max_scale));
    if (n > 0 || lc_dist_rank() == 0) LC_TRY(lc_backward(ctx, loss)); // else nothing to learn
    cl_int e = clEnqueueCopyBuffer(lc_device_queue(m->dev), loss->buf, loss_out,
                                   loss->off * sizeof(float), 0, sizeof(float), 0, NULL, NULL);
    return e == CL_SUCCESS ? LC_OK : lc_cl_fail(e, "clEnqueueCopyBuffer", "the CLIP loss");
}

void clip_ring_free(lc_clip *m) {
    for (int i = 0; i < CLIP_RING; i++) {
        clip_staging *st = &m->ring[i];
        if (st->written) {
            clWaitForEvents(1, &st->written);
            clReleaseEvent(st->written);
        }
        free(st->x), free(st->ids), free(st->eos), free(st->groups);
        memset(st, 0, sizeof *st);
    }
}

// ---- inference -------------------------------------------------------------------------

lc_status lc_clip_embed_images(lc_clip *m, float *out, const float *x, int64_t n) {
    const lc_clip_config *c = &m->cfg;
    size_t image = (size_t)c->channels * c->height * c->width;
    int was = lc_set_grad_enabled(m->ctx, 0);
    lc_set_training(m->ctx, 0);
    lc_status s = LC_OK;
    for (int64_t i = 0; s == LC_OK && i < n; i += CLIP_CHUNK) {
        int64_t b = n - i < CLIP_CHUNK ? n - i : CLIP_CHUNK;
        lc_step_begin(m->ctx);
        lc_tensor *tx, *u;
        s = lc_tensor_from_host(m->ctx, &tx, x + (size_t)i * image, 4,
                                (int64_t[]){b, c->channels, c->height, c->width});
        if (s == LC_OK) s = clip_image_forward(m, &u, tx);
        if (s == LC_OK) s = lc_tensor_to_host(m->ctx, out + i * c->embed, u);
    }
    lc_set_grad_enabled(m->ctx, was);
    lc_set_training(m->ctx, 1);
    return s;
}

lc_status lc_clip_embed_texts(lc_clip *m, float *out, const char *const *captions, int64_t n,
                              int64_t *n_unknown) {
    const lc_clip_config *c = &m->cfg;
    int64_t T = c->text.max_len, unknown = 0;
    int32_t *ids = malloc((size_t)(CLIP_CHUNK * T) * sizeof *ids),
            *eos = malloc(CLIP_CHUNK * sizeof *eos);
    if (!ids || !eos) {
        free(ids), free(eos);
        return lc_fail(LC_ERR_NOMEM, "out of memory for captions");
    }
    int was = lc_set_grad_enabled(m->ctx, 0);
    lc_set_training(m->ctx, 0);
    lc_status s = LC_OK;
    for (int64_t i = 0; s == LC_OK && i < n; i += CLIP_CHUNK) {
        int64_t b = n - i < CLIP_CHUNK ? n - i : CLIP_CHUNK, unk = 0;
        lc_step_begin(m->ctx);
        lc_tensor *tid, *teos, *v;
        s = lc_text_batch(ids, eos, &m->vocab, captions + i, b, T, &unk);
        unknown += unk;
        if (s == LC_OK) s = lc_tensor_from_host_i32(m->ctx, &tid, ids, 2, (int64_t[]){b, T});
        if (s == LC_OK) s = lc_tensor_from_host_i32(m->ctx, &teos, eos, 1, &b);
        if (s == LC_OK) s = clip_text_forward(m, &v, tid, teos);
        if (s == LC_OK) s = lc_tensor_to_host(m->ctx, out + i * c->embed, v);
    }
    lc_set_grad_enabled(m->ctx, was);
    lc_set_training(m->ctx, 1);
    free(ids), free(eos);
    if (n_unknown) *n_unknown = unknown;
    return s;
}

lc_status lc_clip_logit_scale(lc_clip *m, double *scale) {
    float t;
    LC_TRY(lc_read(m->dev, &t, m->params.data, m->log_scale * sizeof(float), sizeof t));
    double e = exp((double)t);
    *scale = e < m->cfg.max_scale ? e : m->cfg.max_scale;
    return LC_OK;
}
