// latentcl — checkpoints in the safetensors format.
//
// A file is: 8-byte little-endian header length N, N bytes of JSON header
// (padded with spaces to a multiple of 8), then the raw little-endian tensor
// bytes. The header maps each tensor name to {"dtype", "shape", "data_offsets":
// [begin, end]} (offsets relative to the end of the header, contiguous from 0)
// and "__metadata__" to a flat map of string to string. The format's own reader
// (safetensors.numpy.load_file, safetensors.torch.load_file) opens every file
// lc_st_write writes.
//
// Names and layouts follow PyTorch's state_dict ("encoder.0.weight", linear
// (out, in), conv (out, in, kh, kw)). One checkpoint holds what a resume needs:
//   NAME                          the model's parameters (and buffers)
//   ema/NAME                      the EMA weights
//   optim/exp_avg/NAME            Adam/AdamW first moment
//   optim/exp_avg_sq/NAME         Adam/AdamW second moment
//   optim/momentum_buffer/NAME    SGD momentum
// and the metadata keys below (step, RNG counters, the config as one JSON string).
#ifndef LATENTCL_CHECKPOINT_H
#define LATENTCL_CHECKPOINT_H

#include <stddef.h>
#include <stdint.h>

#include "latentcl/status.h"

#ifdef __cplusplus
extern "C" {
#endif

// Element types. latentcl writes F32, I32, I64 and U8; it reads every type the
// format defines, and converts the numeric ones to float32 on request.
typedef enum {
    LC_DTYPE_F32,
    LC_DTYPE_I32,
    LC_DTYPE_I64,
    LC_DTYPE_U8,
    LC_DTYPE_F16,
    LC_DTYPE_BF16,
    LC_DTYPE_F64,
    LC_DTYPE_I8,
    LC_DTYPE_I16,
    LC_DTYPE_U16,
    LC_DTYPE_U32,
    LC_DTYPE_U64,
    LC_DTYPE_BOOL,
    LC_DTYPE_F8_E4M3,
    LC_DTYPE_F8_E5M2,
    LC_DTYPE_COUNT
} lc_dtype;

// "F32", "BF16", ... as the format spells them.
const char *lc_dtype_name(lc_dtype t);
// Bytes per element (0 for an out-of-range value).
size_t lc_dtype_size(lc_dtype t);
// Parses a format dtype name; returns 0 and sets *out, or -1 when unknown.
int lc_dtype_parse(lc_dtype *out, const char *name);

enum { LC_ST_MAX_DIMS = 8 };
// Headers larger than this are refused as hostile (the format's own reader uses the same bound).
#define LC_ST_MAX_HEADER ((uint64_t)100000000)

// One tensor: for writing, data points at numel * dtype size little-endian bytes;
// for reading, data points into the loaded file (may be unaligned: copy with
// memcpy or use lc_st_read_f32).
typedef struct {
    const char *name;
    lc_dtype dtype;
    int ndim; // 0..LC_ST_MAX_DIMS (0: a scalar)
    int64_t shape[LC_ST_MAX_DIMS];
    const void *data;
} lc_st_tensor;

typedef struct {
    const char *key, *value;
} lc_st_meta;

// Number of elements of a tensor (1 for a scalar).
int64_t lc_st_numel(const lc_st_tensor *t);

// ---- writing ----------------------------------------------------------------------
// Writes tensors (offsets in the given order) and metadata atomically: a temp
// file in the same folder, fflush + fsync, rename. On any failure the temp file
// is removed and an existing file under path is untouched. Names must be
// unique, non-empty, valid UTF-8; metadata keys must not repeat.
lc_status lc_st_write(const char *path, const lc_st_tensor *tensors, int n_tensors,
                      const lc_st_meta *meta, int n_meta);

// A builder that copies names, shapes, data and metadata as they are added,
// so the caller may reuse its buffers at once. Errors are remembered and
// returned by lc_st_builder_save (adding after an error does nothing).
typedef struct lc_st_builder lc_st_builder;
lc_status lc_st_builder_new(lc_st_builder **out);
void lc_st_builder_free(lc_st_builder *b);
// shape: ndim dims, each >= 0. data: numel * dtype size bytes (copied).
lc_status lc_st_builder_add(lc_st_builder *b, const char *name, lc_dtype dtype, int ndim,
                            const int64_t *shape, const void *data);
// Convenience: a float32 tensor stored under prefix + name (prefix may be NULL or "").
lc_status lc_st_builder_add_f32(lc_st_builder *b, const char *prefix, const char *name, int ndim,
                                const int64_t *shape, const float *data);
// Sets (or replaces) a metadata entry.
lc_status lc_st_builder_meta(lc_st_builder *b, const char *key, const char *value);
// Sets a metadata entry to a decimal integer ("step", "epoch").
lc_status lc_st_builder_meta_int(lc_st_builder *b, const char *key, int64_t value);
lc_status lc_st_builder_save(lc_st_builder *b, const char *path);

// ---- reading -------------------------------------------------------------------
// Loads the whole file and checks everything before trusting it: header length
// (<= LC_ST_MAX_HEADER and inside the file), JSON well-formed and an object, every
// dtype known, shape products without overflow, byte length = numel * dtype
// size, offsets inside the file, contiguous from 0 with no overlap or hole, the
// data ending at the end of the file, names unique, non-empty and valid UTF-8,
// metadata a flat map of string to string. Any failure is LC_ERR_FORMAT (or
// LC_ERR_IO) naming the file and the tensor, and nothing is returned.
typedef struct lc_st_file lc_st_file;
lc_status lc_st_open(lc_st_file **out, const char *path);
void lc_st_close(lc_st_file *f);

const char *lc_st_path(const lc_st_file *f);
// Tensors in header order.
int lc_st_count(const lc_st_file *f);
const lc_st_tensor *lc_st_at(const lc_st_file *f, int i);
// NULL when absent.
const lc_st_tensor *lc_st_find(const lc_st_file *f, const char *name);
// Metadata in header order; lc_st_meta_get returns NULL when the key is absent.
int lc_st_meta_count(const lc_st_file *f);
lc_st_meta lc_st_meta_at(const lc_st_file *f, int i);
const char *lc_st_meta_get(const lc_st_file *f, const char *key);
// Parses metadata key as a decimal integer; an error naming the file and key
// when it is absent or not an integer.
lc_status lc_st_meta_int(const lc_st_file *f, const char *key, int64_t *out);

// Converts any numeric tensor (F32, F16, BF16, F64, integers, BOOL) to float32:
// out holds n floats and n must equal the tensor's numel.
lc_status lc_st_tensor_f32(const lc_st_tensor *t, float *out, size_t n);
// Looks up name (error naming the file and tensor when absent), checks that its
// shape is exactly (ndim, shape) when shape != NULL, and converts to float32.
lc_status lc_st_read_f32(const lc_st_file *f, const char *name, int ndim, const int64_t *shape,
                         float *out, size_t n);

// ---- names and metadata keys ---------------------------------------------------
#define LC_ST_PREFIX_EMA "ema/"
#define LC_ST_PREFIX_EXP_AVG "optim/exp_avg/"
#define LC_ST_PREFIX_EXP_AVG_SQ "optim/exp_avg_sq/"
#define LC_ST_PREFIX_MOMENTUM "optim/momentum_buffer/"

#define LC_META_FAMILY "family"       // "vae", "hmm", ...
#define LC_META_CONFIG "config"       // the model config, one JSON-encoded string
#define LC_META_STEP "step"           // decimal integer
#define LC_META_EPOCH "epoch"         // decimal integer
#define LC_META_OPTIMIZER "optimizer" // "adamw {json}" or similar, as the optimiser writes it
#define LC_META_RNG "rng"             // RNG seed and counters
#define LC_META_VERSION "latentcl_version"

// Writes prefix + name into out (cap bytes); LC_ERR_INVALID_ARG when it does not fit.
lc_status lc_st_name(char *out, size_t cap, const char *prefix, const char *name);

#ifdef __cplusplus
}
#endif
#endif
