// The caption transformer shared by CLIP, the multimodal VAE and text-conditioned
// diffusion (include/latentcl/text.h): token + position embedding, pre-LayerNorm causal
// blocks, a final LayerNorm; the encoder reads the <eos> position, the decoder adds a
// projected condition to every position and predicts the next token.
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "latentcl/rng.h"
#include "latentcl/text.h"

static const float LN_EPS = 1e-5f;

void lc_text_config_default(lc_text_config *c, int64_t vocab) {
    c->vocab = vocab;
    c->max_len = 16;
    c->dim = 128;
    c->layers = 2;
    c->heads = 4;
}

lc_status lc_text_config_check(const lc_text_config *c) {
    if (c->vocab < LC_TOK_SPECIALS || c->vocab > (1 << 24))
        return lc_fail(LC_ERR_INVALID_ARG, "text config: vocab %lld (needs %d..%d)",
                       (long long)c->vocab, LC_TOK_SPECIALS, 1 << 24);
    if (c->max_len < 2 || c->max_len > 4096)
        return lc_fail(LC_ERR_INVALID_ARG, "text config: max_len %lld (needs 2..4096)",
                       (long long)c->max_len);
    if (c->layers < 1 || c->layers > LC_TEXT_MAX_LAYERS)
        return lc_fail(LC_ERR_INVALID_ARG, "text config: %d layers (needs 1..%d)", c->layers,
                       LC_TEXT_MAX_LAYERS);
    if (c->heads < 1 || c->dim < 1 || c->dim > 65536 || c->dim % c->heads)
        return lc_fail(LC_ERR_INVALID_ARG, "text config: dim %lld with %d heads", (long long)c->dim,
                       c->heads);
    return LC_OK;
}

// ---- blocks shared by encoder and decoder ----------------------------------------------

static lc_status name_of(char *dst, size_t cap, const char *prefix, const char *what) {
    if ((size_t)snprintf(dst, cap, "%s%s%s", prefix, *prefix ? "." : "", what) >= cap)
        return lc_fail(LC_ERR_INVALID_ARG, "text: parameter prefix too long: %s", prefix);
    return LC_OK;
}

static lc_status declare_trunk(lc_embed *token, lc_embed *position, lc_text_block *block,
                               lc_norm *ln_final, lc_params *p, const char *prefix,
                               const lc_text_config *c) {
    char name[LC_LAYER_NAME_MAX];
    LC_TRY(lc_text_config_check(c));
    LC_TRY(name_of(name, sizeof name, prefix, "token_embedding"));
    LC_TRY(lc_embed_declare(token, p, name, c->vocab, c->dim));
    LC_TRY(name_of(name, sizeof name, prefix, "position_embedding"));
    LC_TRY(lc_embed_declare(position, p, name, c->max_len, c->dim));
    for (int l = 0; l < c->layers; l++) {
        char blk[LC_LAYER_NAME_MAX], sub[LC_LAYER_NAME_MAX + 16];
        snprintf(sub, sizeof sub, "blocks.%d", l);
        LC_TRY(name_of(blk, sizeof blk, prefix, sub));
        lc_text_block *b = &block[l];
        snprintf(sub, sizeof sub, "%s.ln_1", blk);
        LC_TRY(lc_layer_norm_declare(&b->ln_1, p, sub, c->dim, LN_EPS));
        snprintf(sub, sizeof sub, "%s.attn", blk);
        LC_TRY(lc_mha_declare(&b->attn, p, sub, c->dim, c->heads));
        snprintf(sub, sizeof sub, "%s.ln_2", blk);
        LC_TRY(lc_layer_norm_declare(&b->ln_2, p, sub, c->dim, LN_EPS));
        snprintf(sub, sizeof sub, "%s.mlp", blk);
        LC_TRY(lc_mlp_declare(&b->mlp, p, sub, 3, (int64_t[]){c->dim, 4 * c->dim, c->dim}));
    }
    LC_TRY(name_of(name, sizeof name, prefix, "ln_final"));
    return lc_layer_norm_declare(ln_final, p, name, c->dim, LN_EPS);
}

// Embeddings as CLIP's: tokens N(0, 0.02^2), positions N(0, 0.01^2) (small, so the first
// LayerNorm sees the token and the blocks start near the identity).
static lc_status reset_trunk(lc_device *dev, lc_params *p, const lc_embed *token,
                             const lc_embed *position, const lc_text_block *block,
                             const lc_norm *ln_final, const lc_text_config *c, uint64_t seed) {
    char name[LC_PARAM_NAME_MAX];
    snprintf(name, sizeof name, "%s.weight", token->name);
    LC_TRY(lc_param_fill_normal(dev, p, name, 0.02, seed));
    snprintf(name, sizeof name, "%s.weight", position->name);
    LC_TRY(lc_param_fill_normal(dev, p, name, 0.01, seed));
    for (int l = 0; l < c->layers; l++) {
        LC_TRY(lc_norm_reset(dev, p, &block[l].ln_1));
        LC_TRY(lc_mha_reset(dev, p, &block[l].attn, seed));
        LC_TRY(lc_norm_reset(dev, p, &block[l].ln_2));
        LC_TRY(lc_mlp_reset(dev, p, &block[l].mlp, seed));
    }
    return lc_norm_reset(dev, p, ln_final);
}

static lc_status check_ids(const lc_tensor *ids, const lc_text_config *c, const char *who) {
    if (ids->dtype != LC_I32 || ids->ndim != 2 || ids->shape[1] > c->max_len)
        return lc_fail(LC_ERR_SHAPE, "%s: ids %s, expected int32 (B, T <= %lld)", who,
                       lc_shape_str(ids, (char[96]){0}, 96), (long long)c->max_len);
    return LC_OK;
}

// ids (B, T) -> token + position embedding (B, T, D).
static lc_status embed_tokens(lc_ctx *ctx, lc_tensor **x, lc_params *p, const lc_embed *token,
                              const lc_embed *position, lc_tensor *ids) {
    int64_t T = ids->shape[1], D = token->dim;
    lc_tensor *tok, *pos_all, *pos;
    LC_TRY(lc_embed_forward(ctx, &tok, p, token, ids)); // (B, T, D)
    LC_TRY(lc_tensor_param_at(ctx, &pos_all, p, position->w, 2, (int64_t[]){position->num, D}));
    LC_TRY(lc_slice0(ctx, &pos, pos_all, 0, T)); // (T, D), repeated over B by lc_add
    return lc_add(ctx, x, tok, pos);
}

// x (B, T, D) through the causal blocks and the final LayerNorm -> y (B, T, D); with rows
// (R) int32 indices b * T + t, y (R, D) at those positions only. Everything after the last
// block's attention acts on each position alone, so from there on only the R rows are
// computed: for an encoder read at <eos> that skips the last block's output projection and
// MLP at T - 1 of every T positions (a quarter of CLIP's text FLOPs), same values.
static lc_status run_blocks(lc_ctx *ctx, lc_tensor **y, lc_params *p, const lc_text_block *block,
                            const lc_norm *ln_final, int layers, lc_tensor *x, lc_tensor *rows) {
    for (int l = 0; l < layers; l++) {
        const lc_text_block *b = &block[l];
        lc_tensor *h, *a;
        LC_TRY(lc_norm_forward(ctx, &h, p, &b->ln_1, x));
        if (rows && l == layers - 1) { // x (B, T, D) -> its rows (R, D)
            LC_TRY(lc_mha_forward_rows(ctx, &a, p, &b->attn, h, 1, rows));
            LC_TRY(lc_take_rows(ctx, &x, x, rows));
        } else {
            LC_TRY(lc_mha_forward(ctx, &a, p, &b->attn, h, 1));
        }
        LC_TRY(lc_add(ctx, &x, x, a));
        LC_TRY(lc_norm_forward(ctx, &h, p, &b->ln_2, x));
        LC_TRY(lc_mlp_forward(ctx, &a, p, &b->mlp, h, LC_ACT_GELU, LC_ACT_NONE));
        LC_TRY(lc_add(ctx, &x, x, a));
    }
    return lc_norm_forward(ctx, y, p, ln_final, x);
}

// ---- encoder ---------------------------------------------------------------------------

lc_status lc_text_encoder_declare(lc_text_encoder *t, lc_params *p, const char *prefix,
                                  const lc_text_config *cfg) {
    memset(t, 0, sizeof *t);
    t->cfg = *cfg;
    return declare_trunk(&t->token, &t->position, t->block, &t->ln_final, p, prefix, cfg);
}

lc_status lc_text_encoder_reset(lc_device *dev, lc_params *p, const lc_text_encoder *t,
                                uint64_t seed) {
    return reset_trunk(dev, p, &t->token, &t->position, t->block, &t->ln_final, &t->cfg, seed);
}

// rows (B) = b * T + eos[b], on the device (no host wait inside a step).
static lc_status eos_rows(lc_ctx *ctx, lc_tensor **rows, lc_tensor *eos, int64_t T) {
    lc_device *dev = lc_ctx_device(ctx);
    int64_t B = eos->shape[0];
    LC_TRY(lc_tensor_new_i32(ctx, rows, 1, &B));
    cl_kernel k;
    LC_TRY(lc_device_kernel(&k, dev, "text", "eos_rows"));
    cl_int eo = (cl_int)eos->off, b = (cl_int)B, t = (cl_int)T;
    if ((*rows)->off != 0) return lc_fail(LC_ERR_INVALID_ARG, "text eos_rows: a view");
    LC_TRY(LC_ARG(k, 0, (*rows)->buf));
    LC_TRY(LC_ARG(k, 1, eos->buf));
    LC_TRY(LC_ARG(k, 2, eo));
    LC_TRY(LC_ARG(k, 3, b));
    LC_TRY(LC_ARG(k, 4, t));
    size_t local = 64, global = ((size_t)B + 63) / 64 * 64;
    return lc_launch(dev, k, "text_eos_rows", 1, &global, &local);
}

lc_status lc_text_encoder_forward(lc_ctx *ctx, lc_tensor **out, lc_params *p,
                                  const lc_text_encoder *t, lc_tensor *ids, lc_tensor *eos) {
    *out = NULL;
    LC_TRY(check_ids(ids, &t->cfg, "text encoder"));
    int64_t B = ids->shape[0], T = ids->shape[1];
    if (eos->dtype != LC_I32 || eos->ndim != 1 || eos->shape[0] != B)
        return lc_fail(LC_ERR_SHAPE, "text encoder: eos %s, expected int32 (%lld)",
                       lc_shape_str(eos, (char[96]){0}, 96), (long long)B);
    lc_tensor *x, *rows;
    LC_TRY(embed_tokens(ctx, &x, p, &t->token, &t->position, ids));
    // Each caption's <eos> row of the (B*T, D) states: the blocks compute their output there
    // alone (an embedding lookup by row index) once attention has mixed the positions.
    LC_TRY(eos_rows(ctx, &rows, eos, T));
    return run_blocks(ctx, out, p, t->block, &t->ln_final, t->cfg.layers, x, rows); // (B, D)
}

// ---- decoder ---------------------------------------------------------------------------

lc_status lc_text_decoder_declare(lc_text_decoder *t, lc_params *p, const char *prefix,
                                  const lc_text_config *cfg, int64_t cond_dim) {
    memset(t, 0, sizeof *t);
    t->cfg = *cfg;
    t->cond_dim = cond_dim;
    if (cond_dim < 1)
        return lc_fail(LC_ERR_INVALID_ARG, "text decoder %s: cond_dim %lld", prefix,
                       (long long)cond_dim);
    LC_TRY(declare_trunk(&t->token, &t->position, t->block, &t->ln_final, p, prefix, cfg));
    char name[LC_LAYER_NAME_MAX];
    LC_TRY(name_of(name, sizeof name, prefix, "cond"));
    LC_TRY(lc_linear_declare(&t->cond, p, name, cond_dim, cfg->dim, 1));
    LC_TRY(name_of(name, sizeof name, prefix, "head"));
    return lc_linear_declare(&t->head, p, name, cfg->dim, cfg->vocab, 1);
}

lc_status lc_text_decoder_reset(lc_device *dev, lc_params *p, const lc_text_decoder *t,
                                uint64_t seed) {
    LC_TRY(reset_trunk(dev, p, &t->token, &t->position, t->block, &t->ln_final, &t->cfg, seed));
    LC_TRY(lc_linear_reset(dev, p, &t->cond, seed));
    return lc_linear_reset(dev, p, &t->head, seed);
}

lc_status lc_text_decoder_forward(lc_ctx *ctx, lc_tensor **logits, lc_params *p,
                                  const lc_text_decoder *t, lc_tensor *ids, lc_tensor *cond) {
    *logits = NULL;
    LC_TRY(check_ids(ids, &t->cfg, "text decoder"));
    int64_t B = ids->shape[0];
    if (cond->dtype != LC_F32 || cond->ndim != 2 || cond->shape[0] != B ||
        cond->shape[1] != t->cond_dim)
        return lc_fail(LC_ERR_SHAPE, "text decoder: cond %s, expected (%lld, %lld)",
                       lc_shape_str(cond, (char[96]){0}, 96), (long long)B, (long long)t->cond_dim);
    lc_tensor *x, *c, *xt, *xc, *h;
    LC_TRY(embed_tokens(ctx, &x, p, &t->token, &t->position, ids));     // (B, T, D)
    LC_TRY(lc_linear_forward(ctx, &c, p, &t->cond, cond, LC_ACT_NONE)); // (B, D)
    // The condition joins every position: time first, so lc_add repeats c over T.
    LC_TRY(lc_permute(ctx, &xt, x, (const int[]){1, 0, 2})); // (T, B, D)
    LC_TRY(lc_add(ctx, &xc, xt, c));
    LC_TRY(lc_permute(ctx, &x, xc, (const int[]){1, 0, 2})); // (B, T, D)
    LC_TRY(run_blocks(ctx, &h, p, t->block, &t->ln_final, t->cfg.layers, x, NULL));
    return lc_linear_forward(ctx, logits, p, &t->head, h, LC_ACT_NONE); // (B, T, V)
}

// ---- decoding (host loop) ---------------------------------------------------------------

// The next token from one row of logits: argmax (temperature <= 0) or a draw from
// softmax(logits / temperature) keyed by (seed, row, position). <pad> and <bos> are never
// produced.
static int32_t pick(const float *logits, int64_t V, float temperature, uint64_t seed, int64_t row,
                    int64_t pos) {
    int32_t best = LC_TOK_EOS;
    for (int64_t v = LC_TOK_EOS; v < V; v++)
        if (logits[v] > logits[best]) best = (int32_t)v;
    if (temperature <= 0) return best;
    double total = 0;
    for (int64_t v = LC_TOK_EOS; v < V; v++)
        total += exp(((double)logits[v] - logits[best]) / temperature);
    uint32_t key[2], ctr[4] = {(uint32_t)pos, (uint32_t)row, (uint32_t)(row >> 32), 0x74657874u},
                     bits[4];
    lc_seed_key(key, seed);
    lc_philox4x32_10(bits, ctr, key);
    double u = lc_uniform_from_u32(bits[0]) * total, acc = 0;
    for (int64_t v = LC_TOK_EOS; v < V; v++) {
        acc += exp(((double)logits[v] - logits[best]) / temperature);
        if (u < acc) return (int32_t)v;
    }
    return best;
}

static lc_status decode(lc_ctx *ctx, int32_t *ids, lc_params *p, const lc_text_decoder *t,
                        lc_tensor *cond, float temperature, uint64_t seed) {
    int64_t B = cond->shape[0], T = t->cfg.max_len, V = t->cfg.vocab;
    for (int64_t i = 0; i < B * T; i++)
        ids[i] = LC_TOK_PAD;
    for (int64_t b = 0; b < B; b++)
        ids[b * T] = LC_TOK_BOS;
    int32_t *prefix = malloc((size_t)(B * T) * sizeof *prefix);
    float *last = malloc((size_t)(B * T * V) * sizeof *last);
    char *done = calloc((size_t)B, 1);
    lc_status s = prefix && last && done
                      ? LC_OK
                      : lc_fail(LC_ERR_NOMEM, "text decode: %lld rows", (long long)B);
    // Position i's logits predict token i + 1; causal attention lets the forward run on the
    // prefix 0..i alone.
    for (int64_t i = 0; s == LC_OK && i + 1 < T; i++) {
        int64_t n = i + 1, remaining = 0;
        for (int64_t b = 0; b < B; b++)
            memcpy(prefix + b * n, ids + b * T, (size_t)n * sizeof *prefix);
        lc_tensor *tid, *logits;
        s = lc_tensor_from_host_i32(ctx, &tid, prefix, 2, (int64_t[]){B, n});
        if (s == LC_OK) s = lc_text_decoder_forward(ctx, &logits, p, t, tid, cond);
        if (s == LC_OK) s = lc_tensor_to_host(ctx, last, logits); // (B, n, V)
        for (int64_t b = 0; s == LC_OK && b < B; b++) {
            if (done[b]) continue;
            int32_t tok = pick(last + (b * n + i) * V, V, temperature, seed, b, i);
            ids[b * T + i + 1] = tok;
            // The last position must be <eos>: a caption is cut there.
            if (i + 2 == T && tok != LC_TOK_EOS) ids[b * T + i + 1] = LC_TOK_EOS;
            done[b] = tok == LC_TOK_EOS || i + 2 == T;
            remaining += !done[b];
        }
        if (remaining == 0) break;
    }
    free(prefix);
    free(last);
    free(done);
    return s;
}

lc_status lc_text_decode(lc_ctx *ctx, int32_t *ids, lc_params *p, const lc_text_decoder *t,
                         lc_tensor *cond, float temperature, uint64_t seed) {
    if (cond->ndim != 2 || cond->shape[1] != t->cond_dim)
        return lc_fail(LC_ERR_SHAPE, "text decode: cond %s, expected (B, %lld)",
                       lc_shape_str(cond, (char[96]){0}, 96), (long long)t->cond_dim);
    int was = lc_set_grad_enabled(ctx, 0);
    lc_status s = decode(ctx, ids, p, t, cond, temperature, seed);
    lc_set_grad_enabled(ctx, was);
    return s;
}

lc_status lc_text_decode_greedy(lc_ctx *ctx, int32_t *ids, lc_params *p, const lc_text_decoder *t,
                                lc_tensor *cond) {
    return lc_text_decode(ctx, ids, p, t, cond, 0.0f, 0);
}

// ---- token batches ---------------------------------------------------------------------

lc_status lc_text_batch(int32_t *ids, int32_t *eos, const lc_vocab *v, const char *const *captions,
                        int64_t B, int64_t T, int64_t *n_unknown) {
    if (T < 2 || T > 4096)
        return lc_fail(LC_ERR_INVALID_ARG, "text batch: T = %lld (needs 2..4096)", (long long)T);
    int64_t unknown = 0;
    for (int64_t b = 0; b < B; b++) {
        int32_t *row = ids + b * T;
        int len = 0;
        LC_TRY(lc_vocab_encode(row, &len, v, captions[b] ? captions[b] : "", (int)T));
        // lc_vocab_encode keeps <eos> when it cuts; len counts <bos> .. <eos>.
        eos[b] = len - 1;
        for (int i = 1; i < len - 1; i++)
            unknown += row[i] == LC_TOK_UNK;
    }
    if (n_unknown) *n_unknown = unknown;
    return LC_OK;
}
