// Strict UTF-8 validation. See utf8.h.
#include "util/utf8.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

// Length of the valid sequence at s (1..4), or 0 when it is invalid or cut short.
static size_t utf8_sequence(const uint8_t *s, size_t n) {
    uint8_t c = s[0];
    if (c < 0x80) return 1;
    size_t len;
    uint32_t cp, min;
    if (c >= 0xc2 && c <= 0xdf)
        len = 2, cp = c & 0x1f, min = 0x80;
    else if (c >= 0xe0 && c <= 0xef)
        len = 3, cp = c & 0x0f, min = 0x800;
    else if (c >= 0xf0 && c <= 0xf4)
        len = 4, cp = c & 0x07, min = 0x10000;
    else
        return 0; // a continuation byte, an overlong 2-byte lead (c0, c1) or f5..ff
    if (len > n) return 0;
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xc0) != 0x80) return 0;
        cp = (cp << 6) | (s[i] & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return 0;
    return len;
}

size_t lc_utf8_valid_len(const char *s, size_t n) {
    const uint8_t *u = (const uint8_t *)s;
    size_t i = 0;
    while (i < n) {
        size_t len = utf8_sequence(u + i, n - i);
        if (!len) return i;
        i += len;
    }
    return n;
}

void lc_utf8_printable(char *out, size_t cap, const char *s) {
    if (!cap) return;
    const uint8_t *u = (const uint8_t *)(s ? s : "");
    size_t n = strlen((const char *)u), o = 0;
    for (size_t i = 0; i < n;) {
        size_t len = utf8_sequence(u + i, n - i);
        char piece[8];
        size_t plen;
        if (len == 1 && (u[i] < 0x20 || u[i] == 0x7f)) len = 0; // control characters escaped too
        if (len) {
            memcpy(piece, u + i, len);
            plen = len;
            i += len;
        } else {
            plen = (size_t)snprintf(piece, sizeof piece, "\\x%02x", u[i]);
            i++;
        }
        if (o + plen + 4 > cap) { // keep room for "..." and the NUL
            if (o + 4 <= cap) memcpy(out + o, "...", 3), o += 3;
            break;
        }
        memcpy(out + o, piece, plen);
        o += plen;
    }
    out[o < cap ? o : cap - 1] = '\0';
}
