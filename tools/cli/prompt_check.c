// cli_check_prompt: count a prompt's words, list the unknown ones, warn or fail.
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "prompt_check.h"

typedef struct {
    const lc_vocab *vocab;
    int words, unknown;
    char list[512]; // 'zebra', 'giraffe', ... (cut short with ", ..." when full)
    bool cut;
} prompt_scan;

static void scan_word(const char *word, size_t len, void *user) {
    prompt_scan *p = user;
    p->words++;
    if (lc_vocab_id(p->vocab, word, len) != LC_TOK_UNK) return;
    p->unknown++;
    size_t used = strlen(p->list);
    // room for ", 'word'" and a final ", ..."
    if (!p->cut && used + len + 4 + 5 < sizeof p->list)
        snprintf(p->list + used, sizeof p->list - used, "%s'%.*s'", used ? ", " : "", (int)len,
                 word);
    else if (!p->cut) {
        snprintf(p->list + used, sizeof p->list - used, ", ...");
        p->cut = true;
    }
}

lc_status cli_check_prompt(const lc_vocab *v, const char *text, const char *option) {
    prompt_scan p = {.vocab = v};
    lc_tokenize_words(text, scan_word, &p);
    const char *more = strlen(text) > 200 ? "..." : ""; // a long prompt is cut in messages
    if (p.words < 1)
        return lc_fail(LC_ERR_INVALID_ARG, "%s \"%.200s%s\" has no words", option, text, more);
    if (p.unknown == p.words)
        return lc_fail(LC_ERR_INVALID_ARG,
                       "%s \"%.200s%s\": no word of it is in the model's vocabulary (%d words)",
                       option, text, more, v->size - LC_TOK_SPECIALS);
    if (p.unknown > 0)
        fprintf(stderr,
                "latentcl: warning: %s: %d of %d word%s not in the model's vocabulary, read as "
                "<unk>: %s\n",
                option, p.unknown, p.words, p.words == 1 ? "" : "s", p.list);
    return LC_OK;
}
