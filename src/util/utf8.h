// Strict UTF-8 validation (no overlong forms, no surrogates, nothing above U+10FFFF).
#ifndef LATENTCL_UTIL_UTF8_H
#define LATENTCL_UTIL_UTF8_H

#include <stddef.h>

// Returns the byte offset of the first invalid sequence in s[0..n), or n when all of it is valid.
size_t lc_utf8_valid_len(const char *s, size_t n);

// Copies s into out (cap bytes, always NUL-terminated) for an error message:
// valid printable text as is, anything else as \xNN, cut to fit with "...".
void lc_utf8_printable(char *out, size_t cap, const char *s);

#endif
