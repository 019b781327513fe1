// latentcl — datasets: Fashion-MNIST / MNIST IDX files, PNG folders with
// captions, the procedural shapes set, text and numeric sequences for HMMs,
// the caption tokenizer, and seeded shuffling and batching.
//
// Everything here lives in host memory and is read once; files are hostile
// until checked (every size, magic number, byte of UTF-8 and number), and a
// failure returns an lc_status with a message naming the file and line.
#ifndef LATENTCL_DATA_H
#define LATENTCL_DATA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "latentcl/status.h"

#ifdef __cplusplus
extern "C" {
#endif

// ---- image datasets -------------------------------------------------------------

// n images (n, C, H, W) as float in [0, 1], with optional labels and captions.
typedef struct {
    int64_t n;
    int channels, height, width;
    float *images;      // (n, C, H, W)
    int32_t *labels;    // (n) in [0, n_classes), or NULL
    int n_classes;      // 0 when there are no labels
    char **class_names; // (n_classes) or NULL
    char **captions;    // (n) UTF-8, or NULL
} lc_dataset;

void lc_dataset_free(lc_dataset *d);
// Floats in one image: C * H * W.
static inline size_t lc_dataset_image_size(const lc_dataset *d) {
    return (size_t)d->channels * (size_t)d->height * (size_t)d->width;
}
// A new dataset holding items idx[0..count) of src (deep copy).
lc_status lc_dataset_subset(lc_dataset *out, const lc_dataset *src, const int64_t *idx,
                            int64_t count);
// Copies items idx[0..count) into caller buffers: images (count, C, H, W) and, if not NULL
// and the dataset has labels, labels (count).
void lc_dataset_gather(float *images, int32_t *labels, const lc_dataset *d, const int64_t *idx,
                       int64_t count);
// FNV-1a 64 over the shape, the image floats (little-endian IEEE bytes), labels and captions:
// the same data gives the same number on every machine.
uint64_t lc_dataset_checksum(const lc_dataset *d);

// IDX files (MNIST layout), plain or gzip: images (magic 0x803, u8, n x rows x cols) and
// labels (magic 0x801, u8, n). Pixels are divided by 255.
typedef enum { LC_SPLIT_TRAIN = 0, LC_SPLIT_TEST = 1 } lc_data_split;
// Reads {train,t10k}-{images-idx3,labels-idx1}-ubyte[.gz] from dir. Class names are
// Fashion-MNIST's when fashion is true, else the digits "0".."9".
lc_status lc_mnist_load(lc_dataset *out, const char *dir, lc_data_split split, bool fashion);
// One IDX image file into out->images/n/height/width (channels 1), no labels.
lc_status lc_idx_read_images(lc_dataset *out, const char *path);
// One IDX label file: *labels (caller frees), *n items, all < 256.
lc_status lc_idx_read_labels(int32_t **labels, int64_t *n, const char *path);
extern const char *const lc_fashion_mnist_classes[10];

// A folder of PNGs. With captions.tsv ("file<TAB>caption[<TAB>label]" per line, UTF-8,
// an optional header line "file<TAB>caption..."), its files in its order; without one,
// every *.png in name order. All images must have one size (else an error naming the
// first mismatch); if any is RGB, gray ones are widened to RGB.
lc_status lc_image_folder_load(lc_dataset *out, const char *dir);
enum { LC_CAPTION_MAX_BYTES = 1024 }; // longer captions are an error

// ---- shapes: procedural 32x32 RGB images with compositional captions ---------------

enum { LC_SHAPES_SIZE = 32 };
typedef enum {
    LC_SHAPE_CIRCLE,
    LC_SHAPE_SQUARE,
    LC_SHAPE_TRIANGLE,
    LC_SHAPE_DIAMOND,
    LC_SHAPE_CROSS,
    LC_SHAPE_KINDS
} lc_shape_kind;
typedef enum {
    LC_COLOUR_RED,
    LC_COLOUR_GREEN,
    LC_COLOUR_BLUE,
    LC_COLOUR_YELLOW,
    LC_COLOUR_PURPLE,
    LC_COLOUR_CYAN,
    LC_COLOUR_WHITE,
    LC_COLOUR_ORANGE,
    LC_COLOURS
} lc_shape_colour;
typedef enum { LC_SIZE_SMALL, LC_SIZE_LARGE, LC_SIZES } lc_shape_size;
// One shape alone sits in one of nine places (row-major 3x3: top left .. bottom right).
enum { LC_PLACES = 9 };
// Two shapes: the first is <relation> the second.
typedef enum {
    LC_REL_LEFT_OF,
    LC_REL_RIGHT_OF,
    LC_REL_ABOVE,
    LC_REL_BELOW,
    LC_RELATIONS
} lc_shape_relation;

typedef struct {
    lc_shape_kind kind;
    lc_shape_colour colour;
    lc_shape_size size;
    int cx, cy;    // centre in pixels (0..31), x right, y down
    int half_size; // half the shape's extent in pixels
} lc_shape;

typedef struct {
    int n_shapes; // 1 or 2
    lc_shape shape[2];
    int place;                  // one shape: 0..8 (LC_PLACES)
    lc_shape_relation relation; // two shapes
} lc_shapes_item;

// Vocabulary of the captions, indexed by the enums above.
extern const char *const lc_shape_kind_names[LC_SHAPE_KINDS]; // "circle", ...
extern const char *const lc_shape_colour_names[LC_COLOURS];   // "red", ...
extern const uint8_t lc_shape_colour_rgb[LC_COLOURS][3];
extern const char *const lc_shape_size_names[LC_SIZES];         // "small", "large"
extern const char *const lc_shape_place_names[LC_PLACES];       // "in the top left", ...
extern const char *const lc_shape_relation_names[LC_RELATIONS]; // "left of", ...

// Item `index` of the set with this seed: a pure function of (seed, index).
void lc_shapes_item_make(lc_shapes_item *item, uint64_t seed, int64_t index);
// Draws the item on black: image (3, 32, 32) floats in [0, 1].
void lc_shapes_render(float *image, const lc_shapes_item *item);
// "a small red circle in the top left", "a large blue square left of a small green cross".
// Returns the caption's length (snprintf-style).
int lc_shapes_caption(char *buf, size_t cap, const lc_shapes_item *item);
// Parses a caption back into kinds, colours, sizes, place/relation (positions are not
// in a caption: cx/cy/half_size are left 0). LC_ERR_FORMAT if it is not a shapes caption.
lc_status lc_shapes_parse_caption(lc_shapes_item *out, const char *caption);
// True when the caption names exactly the item's shapes, place and relation.
bool lc_shapes_caption_matches(const lc_shapes_item *item, const char *caption);
// Items first..first+n-1 of the set: images, captions, labels (= the first shape's kind)
// and class names (the kind names). items may be NULL; else (n) attributes are stored there.
lc_status lc_shapes_generate(lc_dataset *out, lc_shapes_item *items, int64_t first, int64_t n,
                             uint64_t seed);
// Writes items first..first+n-1 into a new folder dir: NNNNNN.png (RGB 32x32), captions.tsv
// ("file<TAB>caption<TAB>label", label = the first shape's kind) and attributes.tsv (a header
// row, then per file: n_shapes, place, relation, and kind/colour/size/x/y/half_size of each
// shape; "-" where not applicable). Built in a temporary sibling folder and renamed, so dir
// is complete or absent. An existing dir is refused (LC_ERR_EXISTS) unless it is empty.
lc_status lc_shapes_write_folder(const char *dir, int64_t first, int64_t n, uint64_t seed);
// The index where the test split starts: test items never collide with training items.
#define LC_SHAPES_TEST_FIRST ((int64_t)1 << 40)
// The n first items from `first` on with exactly shapes_per_image shapes (1 or 2; 0: the
// generator's mix, = lc_shapes_generate): the sets "shapes-one" and "shapes-two". items (n)
// may be NULL; else the kept items' attributes are stored there.
lc_status lc_shapes_generate_per_image(lc_dataset *out, lc_shapes_item *items, int64_t first,
                                       int64_t n, uint64_t seed, int shapes_per_image);
// Shapes per image of a --data spec: "shapes" 0 (the mix), "shapes-one" 1, "shapes-two" 2;
// -1 for anything else.
int lc_data_shapes_spec(const char *spec);

// ---- sequences (HMMs) ----------------------------------------------------------------

// Symbols of a categorical sequence set: sorted (bytewise, = code point order for
// characters) UTF-8 strings; a symbol's index is its position.
typedef struct {
    int size;
    char **symbols; // (size)
} lc_alphabet;
// Index of a symbol, or -1.
int lc_alphabet_index(const lc_alphabet *a, const char *symbol);
void lc_alphabet_free(lc_alphabet *a);

// n sequences, each a run of steps: categorical (symbols) or numeric (values, D per step).
typedef struct {
    int64_t n;        // sequences
    int64_t *offsets; // (n + 1): sequence i is steps [offsets[i], offsets[i + 1])
    int64_t n_steps;  // offsets[n]
    int32_t *symbols; // (n_steps) indices into alphabet, or NULL for numeric data
    lc_alphabet alphabet;
    int dim;             // numeric: D values per step; 0 for categorical
    float *values;       // (n_steps, D), or NULL
    char **column_names; // (D) for CSV data
    int64_t n_dropped;   // lines dropped by the alphabet filter
} lc_sequences;

void lc_sequences_free(lc_sequences *s);
// FNV-1a 64 over the offsets, symbols (with the alphabet) or values (little-endian).
uint64_t lc_sequences_checksum(const lc_sequences *s);
static inline int64_t lc_sequence_length(const lc_sequences *s, int64_t i) {
    return s->offsets[i + 1] - s->offsets[i];
}

typedef struct {
    bool tokens;          // symbols are whitespace-separated tokens, not code points
    bool lowercase;       // fold case (ASCII and Latin-1/Greek/Cyrillic basics for code points)
    const char *alphabet; // keep only lines made of these symbols ("a-z", "acgt", "a-zA-Z");
                          // with tokens: comma-separated tokens ("up,down"). NULL: keep all.
} lc_text_options;

// One sequence per line. Lines must be valid UTF-8 (else an error naming the line); a line
// with no symbols is an error naming the line, except blank lines at the end of the file.
// With an alphabet, the alphabet is exactly that set (so indices do not depend on the
// data); lines with other symbols are dropped and counted in n_dropped.
lc_status lc_sequences_read_text(lc_sequences *out, const char *path, const lc_text_options *opt);
// Numeric sequences: a header row, then one row per time step with D numeric columns.
// A column named "seq" holds a sequence id (a new sequence starts where it changes);
// otherwise a blank line separates sequences. NaN, Inf, text or a wrong column count is an
// error naming the line.
lc_status lc_sequences_read_csv(lc_sequences *out, const char *path);
// Parses an alphabet spec ("a-z", "a-zA-Z0-9", "acgt") into sorted code points.
lc_status lc_alphabet_from_spec(lc_alphabet *out, const char *spec, bool tokens);

// ---- caption tokenizer -----------------------------------------------------------------

enum { LC_TOK_PAD = 0, LC_TOK_BOS = 1, LC_TOK_EOS = 2, LC_TOK_UNK = 3, LC_TOK_SPECIALS = 4 };
typedef struct {
    int size;     // including the 4 specials
    char **words; // (size): "<pad>", "<bos>", "<eos>", "<unk>", then words
    int *sorted;  // (size) ids in strcmp order of their words, for lookup
} lc_vocab;

// Words: runs of letters, digits and apostrophes (ASCII folded to lowercase; other UTF-8
// bytes kept); anything else separates words and is dropped. Calls fn for each word.
void lc_tokenize_words(const char *text, void (*fn)(const char *word, size_t len, void *ctx),
                       void *ctx);
// Vocabulary from captions: words seen at least min_count times, most frequent first
// (ties alphabetical), at most max_size entries in all (0: no limit).
lc_status lc_vocab_build(lc_vocab *out, const char *const *captions, int64_t n, int min_count,
                         int max_size);
int lc_vocab_id(const lc_vocab *v, const char *word, size_t len); // LC_TOK_UNK if absent
// ids = <bos> words... <eos> <pad>... (max_len entries; words cut to fit). *len = tokens
// before padding. Returns LC_ERR_INVALID_ARG if max_len < 2.
lc_status lc_vocab_encode(int32_t *ids, int *len, const lc_vocab *v, const char *text, int max_len);
// Words of ids joined by spaces, skipping <pad>/<bos>, stopping at <eos>; snprintf-style.
int lc_vocab_decode(char *buf, size_t cap, const lc_vocab *v, const int32_t *ids, int n);
// One word per line, specials first: stored in checkpoint metadata. Caller frees *out.
lc_status lc_vocab_to_string(char **out, const lc_vocab *v);
lc_status lc_vocab_from_string(lc_vocab *out, const char *text);
void lc_vocab_free(lc_vocab *v);

// ---- shuffling and batching ----------------------------------------------------------------

// order = a permutation of 0..n-1, a pure function of (n, seed, epoch): Fisher-Yates with
// Philox draws keyed by the seed, counter (step, epoch), so every machine agrees.
void lc_shuffle_order(int64_t *order, int64_t n, uint64_t seed, uint64_t epoch);

typedef struct {
    int64_t n, batch_size;
    uint64_t seed, epoch;
    bool shuffle, drop_last;
    int64_t *order; // (n) this epoch's order
    int64_t next;   // position in order
} lc_batcher;

lc_status lc_batcher_init(lc_batcher *b, int64_t n, int64_t batch_size, uint64_t seed, bool shuffle,
                          bool drop_last);
// Starts epoch `epoch` (reshuffles); resuming a run calls this with its saved epoch/position.
void lc_batcher_start_epoch(lc_batcher *b, uint64_t epoch, int64_t position);
// The next batch of this epoch: *indices into the dataset, *count items. False at the end
// of the epoch (then call lc_batcher_start_epoch(b, b->epoch + 1, 0)).
bool lc_batcher_next(lc_batcher *b, const int64_t **indices, int64_t *count);
int64_t lc_batcher_batches_per_epoch(const lc_batcher *b);
void lc_batcher_free(lc_batcher *b);

// ---- --data NAME|PATH -------------------------------------------------------------------

typedef enum { LC_DATA_IMAGES, LC_DATA_SEQUENCES } lc_data_kind;

typedef struct {
    lc_data_split split;
    uint64_t seed;        // shapes: the generator's seed
    int64_t shapes_count; // shapes: items (0: 60000 train / 10000 test)
    lc_text_options text; // .txt files (words forces lowercase + a-z)
} lc_data_options;

typedef struct {
    lc_data_kind kind;
    lc_dataset images;      // kind == LC_DATA_IMAGES
    lc_sequences sequences; // kind == LC_DATA_SEQUENCES
    char *source;           // what was opened: "fashion-mnist train (/usr/share/...)"
    // shapes sets: the generator's attributes of each item (images.n), else NULL
    lc_shapes_item *shapes_items;
} lc_data;

// Opens a --data argument:
// - fashion-mnist: $LATENTCL_DATA/fashion-mnist, $LATENTCL_DATA or
//   /usr/share/datasets/fashion-mnist; mnist: the same places with mnist;
// - shapes: the shapes generator (seed and count from opt; the attributes in shapes_items);
//   shapes-one, shapes-two: only its items with one (two) shapes;
// - words: /usr/share/dict/words, lowercase, alphabet a-z;
// - DIR: IDX files (train-images-idx3-ubyte[.gz]) or PNGs (captions.tsv or *.png);
// - FILE.csv: numeric sequences / points; FILE.txt: text sequences (opt->text).
// A folder source has no test split: asking for one is LC_ERR_UNSUPPORTED.
lc_status lc_data_open(lc_data *out, const char *spec, const lc_data_options *opt);
void lc_data_free(lc_data *d);

// FNV-1a 64, for checksums.
uint64_t lc_fnv1a64(uint64_t h, const void *data, size_t n);
#define LC_FNV1A64_INIT 0xcbf29ce484222325ull

#ifdef __cplusplus
}
#endif
#endif
