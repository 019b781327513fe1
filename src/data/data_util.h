// Small helpers shared by the dataset readers (internal).
#ifndef LATENTCL_DATA_UTIL_H
#define LATENTCL_DATA_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "latentcl/status.h"

// Frees n strings and the array (NULL entries and a NULL array are fine).
void lc_strings_free(char **s, int64_t n);
// A deep copy of n strings; NULL when out of memory.
char **lc_strings_dup(const char *const *s, int64_t n);

// A growable byte buffer / string.
typedef struct {
    char *data;
    size_t len, cap;
} lc_buf;
bool lc_buf_reserve(lc_buf *b, size_t extra);
bool lc_buf_append(lc_buf *b, const void *data, size_t n);

// Appends v to the growable array *items (n used, cap allocated; the capacity doubles).
// False when out of memory (the array is then unchanged).
bool lc_i64_push(int64_t **items, int64_t *n, int64_t *cap, int64_t v);

// Reads a whole file (at most max_bytes) into *out (NUL-terminated, caller frees).
lc_status lc_read_file(char **out, size_t *len, const char *path, size_t max_bytes);
// The next line of the text [*p, end): its start, and in *n its length without the "\n" or
// "\r\n" that ends it; *p moves past it. NULL once the text is used up.
char *lc_next_line(char **p, char *end, size_t *n);

// Decodes one UTF-8 code point from s[0..n); returns its byte length (1..4) or 0 if the
// bytes are not valid UTF-8 (overlong, surrogate, > U+10FFFF, truncated).
int lc_utf8_decode(uint32_t *cp, const unsigned char *s, size_t n);
// Encodes cp; returns 1..4 bytes written to out[4].
int lc_utf8_encode(char out[4], uint32_t cp);
// Offset of the first invalid byte in s[0..n), or n if all of it is valid UTF-8.
size_t lc_utf8_check(const unsigned char *s, size_t n);
// Simple case folding for the common alphabets (ASCII, Latin-1, Latin Extended-A, Greek,
// Cyrillic); other code points are returned as they are.
uint32_t lc_fold_case(uint32_t cp);

// Joins dir and name with '/'; NULL when out of memory.
char *lc_path_join(const char *dir, const char *name);
bool lc_is_dir(const char *path);
bool lc_is_file(const char *path);

#endif
