// latentcl — text encoder and autoregressive text decoder over caption tokens, shared by
// CLIP (src/models/clip.c), the multimodal VAE (src/models/mmvae.c) and text-conditioned
// diffusion. Both are small pre-LayerNorm transformers (../shared/REFERENCE.md: 2 layers,
// d = 128, 4 heads) declared into the caller's one parameter buffer under PyTorch-style
// names, so a model holds one lc_params for all of its parts.
//
// Token batches: ids (B, T) int32, each row "<bos> w1 .. wn <eos> <pad> ..." (LC_TOK_*
// of data.h); a caption longer than T - 2 words is cut (its <eos> kept). The encoder uses
// causal attention and reads the final-LayerNorm output at the <eos> position (as CLIP),
// so the padding after <eos> never changes a caption's embedding and no padding mask is
// needed.
//
// Names under `prefix` (e.g. "text"):
//   PREFIX.token_embedding.weight (V, D), PREFIX.position_embedding.weight (T, D),
//   PREFIX.blocks.L.ln_1.{weight,bias}, PREFIX.blocks.L.attn.{in_proj_weight,in_proj_bias,
//   out_proj.weight,out_proj.bias}, PREFIX.blocks.L.ln_2.{weight,bias},
//   PREFIX.blocks.L.mlp.0.{weight,bias} (4D, D), PREFIX.blocks.L.mlp.2.{weight,bias} (D, 4D),
//   PREFIX.ln_final.{weight,bias}; the decoder adds PREFIX.cond.{weight,bias} (D, cond_dim)
//   and PREFIX.head.{weight,bias} (V, D).
// Block: x = x + attn(ln_1(x)); x = x + mlp(ln_2(x)) with GELU.
#ifndef LATENTCL_TEXT_H
#define LATENTCL_TEXT_H

#include <stdint.h>

#include "latentcl/data.h"
#include "latentcl/nn.h"
#include "latentcl/params.h"
#include "latentcl/tensor.h"

#ifdef __cplusplus
extern "C" {
#endif

enum { LC_TEXT_MAX_LAYERS = 8 };

typedef struct {
    int64_t vocab;   // V (lc_vocab.size)
    int64_t max_len; // T: token positions, <bos> and <eos> included (16 fits shapes captions)
    int64_t dim;     // D, 128
    int layers;      // 2
    int heads;       // 4
} lc_text_config;

// vocab as given, max_len 16, dim 128, 2 layers, 4 heads.
void lc_text_config_default(lc_text_config *c, int64_t vocab);
lc_status lc_text_config_check(const lc_text_config *c);

typedef struct {
    lc_norm ln_1, ln_2;
    lc_mha attn;
    lc_mlp mlp; // Linear(D, 4D), GELU, Linear(4D, D)
} lc_text_block;

// ---- encoder: caption -> (D) embedding -------------------------------------------------

typedef struct {
    lc_text_config cfg;
    lc_embed token, position;
    lc_text_block block[LC_TEXT_MAX_LAYERS];
    lc_norm ln_final;
} lc_text_encoder;

lc_status lc_text_encoder_declare(lc_text_encoder *t, lc_params *p, const char *prefix,
                                  const lc_text_config *cfg);
lc_status lc_text_encoder_reset(lc_device *dev, lc_params *p, const lc_text_encoder *t,
                                uint64_t seed);
// ids (B, T) int32, eos (B) int32 positions of <eos> in each row -> out (B, D).
lc_status lc_text_encoder_forward(lc_ctx *ctx, lc_tensor **out, lc_params *p,
                                  const lc_text_encoder *t, lc_tensor *ids, lc_tensor *eos);

// ---- decoder: condition (B, cond_dim) -> next-token logits ------------------------------
// The condition is projected to D and added to every position's input (token + position
// embedding), then causal blocks, ln_final and the head give logits for the next token.

typedef struct {
    lc_text_config cfg;
    int64_t cond_dim;
    lc_embed token, position;
    lc_linear cond, head;
    lc_text_block block[LC_TEXT_MAX_LAYERS];
    lc_norm ln_final;
} lc_text_decoder;

lc_status lc_text_decoder_declare(lc_text_decoder *t, lc_params *p, const char *prefix,
                                  const lc_text_config *cfg, int64_t cond_dim);
lc_status lc_text_decoder_reset(lc_device *dev, lc_params *p, const lc_text_decoder *t,
                                uint64_t seed);
// ids (B, T) teacher-forced inputs, cond (B, cond_dim) -> logits (B, T, V): position i
// predicts token i + 1.
lc_status lc_text_decoder_forward(lc_ctx *ctx, lc_tensor **logits, lc_params *p,
                                  const lc_text_decoder *t, lc_tensor *ids, lc_tensor *cond);

// Decoding: cond (B, cond_dim) -> ids (B, max_len) host int32, each row "<bos> w.. <eos>
// <pad>..". A host loop runs the forward once per position on the prefix so far (gradients
// off, in the current step: cond stays valid; nothing is recorded). Greedy takes the
// argmax; sampled draws from softmax(logits / temperature) with Philox keyed by (seed, row,
// position), so a seed reproduces the captions. <pad> and <bos> are never produced; a row
// that reaches max_len - 1 tokens ends with <eos> there.
lc_status lc_text_decode_greedy(lc_ctx *ctx, int32_t *ids, lc_params *p, const lc_text_decoder *t,
                                lc_tensor *cond);
// temperature <= 0 is greedy.
lc_status lc_text_decode(lc_ctx *ctx, int32_t *ids, lc_params *p, const lc_text_decoder *t,
                         lc_tensor *cond, float temperature, uint64_t seed);

// ---- token batches (host) --------------------------------------------------------------

// Encodes B captions into ids (B, T) and eos (B) as described above. Words not in the
// vocabulary become <unk> and are counted in *n_unknown (may be NULL).
lc_status lc_text_batch(int32_t *ids, int32_t *eos, const lc_vocab *v, const char *const *captions,
                        int64_t B, int64_t T, int64_t *n_unknown);

#ifdef __cplusplus
}
#endif
#endif
