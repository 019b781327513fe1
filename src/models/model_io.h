// Small pieces every model family repeats when it saves or loads itself: config members
// added to a cJSON object from a table (an allocation failure reports LC_ERR_NOMEM rather
// than silently dropping a member), the text-encoder config as JSON, the vocabulary in the
// checkpoint metadata, and opening a checkpoint of one family; and two pieces of the training
// loop's hooks (a data set's image shape checked, a loss term copied out).
#ifndef LATENTCL_MODEL_IO_H
#define LATENTCL_MODEL_IO_H

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "latentcl/checkpoint.h"
#include "latentcl/data.h"
#include "latentcl/status.h"
#include "latentcl/tensor.h"
#include "latentcl/text.h"

typedef enum {
    MODEL_JSON_SKIP,
    MODEL_JSON_NUM,
    MODEL_JSON_STR,
    MODEL_JSON_BOOL,
    MODEL_JSON_ITEM
} model_json_kind;

// One member of a JSON object; build tables with the MJ_ macros below.
typedef struct {
    model_json_kind kind;
    const char *key;
    double num;      // MODEL_JSON_NUM, MODEL_JSON_BOOL (nonzero: true)
    const char *str; // MODEL_JSON_STR
    cJSON *item;     // MODEL_JSON_ITEM: handed over to the object (freed on failure)
} model_json_member;

#define MJ_NUM(k, v) ((model_json_member){MODEL_JSON_NUM, (k), (double)(v), NULL, NULL})
#define MJ_STR(k, v) ((model_json_member){MODEL_JSON_STR, (k), 0, (v), NULL})
#define MJ_BOOL(k, v) ((model_json_member){MODEL_JSON_BOOL, (k), (v) ? 1 : 0, NULL, NULL})
#define MJ_ITEM(k, v) ((model_json_member){MODEL_JSON_ITEM, (k), 0, NULL, (v)})
// A member only when cond holds (keeps the table's order).
#define MJ_IF(cond, m) ((cond) ? (m) : (model_json_member){MODEL_JSON_SKIP, NULL, 0, NULL, NULL})

// Adds members[0..n) to obj in order. On failure every ITEM not yet in obj is freed and
// LC_ERR_NOMEM is returned (obj keeps what was added; the caller deletes it).
lc_status model_json_add(cJSON *obj, const model_json_member *members, size_t n);
#define MODEL_JSON_ADD(obj, ...)                                                                   \
    model_json_add((obj), (const model_json_member[]){__VA_ARGS__},                                \
                   sizeof((const model_json_member[]){__VA_ARGS__}) / sizeof(model_json_member))

// Appends a string to a JSON array; LC_ERR_NOMEM where it cannot.
lc_status model_json_append_string(cJSON *array, const char *str);

// *out = v where v is a whole number in lo..hi; false (and *out unchanged) otherwise.
bool model_json_int(const cJSON *v, long lo, long hi, long *out);

// Prints obj unformatted into *out (caller frees) and deletes obj, whatever happens.
lc_status model_json_print(char **out, cJSON *obj);

// {"vocab", "max_len", "dim", "layers", "heads"} of a text encoder, as a new object.
lc_status model_text_config_json(cJSON **out, const lc_text_config *t);

// dst = a copy of src (through its text form).
lc_status model_vocab_copy(lc_vocab *dst, const lc_vocab *src);
// Writes the vocabulary to the checkpoint metadata "vocab".
lc_status model_vocab_save(lc_st_builder *b, const lc_vocab *v);

// Resolves path (a run folder or a checkpoint) into file[cap] and opens it. With family
// non-NULL, a checkpoint of another family is refused with "FILE: a F model, not_what".
lc_status model_checkpoint_open(lc_st_file **out, char *file, size_t cap, const char *path,
                                const char *family, const char *not_what);
// The seed in the metadata "rng" (0 where absent).
uint64_t model_meta_seed(const lc_st_file *f);
// *step = the metadata "step" where present and readable; unchanged otherwise.
void model_meta_step(int64_t *step, const lc_st_file *f);

// The images of d must be channels x height x width, and d hold 1..INT32_MAX items; `what`
// names the set in the message ("training", "test").
lc_status model_check_images(const lc_dataset *d, const char *what, int channels, int height,
                             int width);
// Copies the one float of t into slot `slot` of the training loop's loss buffer (no host wait).
lc_status model_copy_term(lc_device *dev, cl_mem loss, int slot, const lc_tensor *t);

#endif
