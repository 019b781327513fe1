// The one check of a prompt's words against a model's vocabulary, shared by generate --prompt
// (mmvae), sample --prompt (text-conditioned diffusion) and retrieve --query.
#ifndef LATENTCL_CLI_PROMPT_CHECK_H
#define LATENTCL_CLI_PROMPT_CHECK_H

#include "latentcl/data.h"
#include "latentcl/status.h"

// Words of `text` the vocabulary lacks are read as <unk> by the models: warns once on stderr,
// "latentcl: warning: --prompt: 1 of 4 words not in the model's vocabulary, read as <unk>:
// 'zebra'", and returns LC_OK. A text with no word, or with no word the vocabulary knows, is
// LC_ERR_INVALID_ARG (nothing printed; the caller reports it). `option` names the text in the
// messages ("--prompt", "--query").
lc_status cli_check_prompt(const lc_vocab *v, const char *text, const char *option);

#endif
