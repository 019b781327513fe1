// Shared by the fuzz targets. The library's readers take paths, so each input is
// written to a file in a scratch folder of this process (under $TMPDIR, removed at
// exit) and the reader opens that file. Header-only: each target is one .c file.
#ifndef LATENTCL_FUZZ_UTIL_H
#define LATENTCL_FUZZ_UTIL_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char fuzz_scratch[256];
static char fuzz_written[16][320]; // files to remove at exit
static int fuzz_n_written;

static inline void fuzz_cleanup(void) {
    for (int i = 0; i < fuzz_n_written; i++)
        unlink(fuzz_written[i]);
    if (fuzz_scratch[0]) rmdir(fuzz_scratch);
}

// The scratch folder, made on first use (a fuzzer that cannot write files is useless: abort).
static inline const char *fuzz_dir(void) {
    if (!fuzz_scratch[0]) {
        const char *tmp = getenv("TMPDIR");
        snprintf(fuzz_scratch, sizeof fuzz_scratch, "%s/lcfuzz-XXXXXX", tmp && *tmp ? tmp : "/tmp");
        if (!mkdtemp(fuzz_scratch)) {
            perror("fuzz: mkdtemp");
            abort();
        }
        atexit(fuzz_cleanup);
    }
    return fuzz_scratch;
}

// Writes data to DIR/name (replacing it) and returns the path (static storage per name slot).
static inline const char *fuzz_write(const char *name, const uint8_t *data, size_t size) {
    char path[320];
    snprintf(path, sizeof path, "%s/%s", fuzz_dir(), name);
    int slot = 0;
    while (slot < fuzz_n_written && strcmp(fuzz_written[slot], path))
        slot++;
    if (slot == fuzz_n_written) {
        if (fuzz_n_written == 16) abort();
        strcpy(fuzz_written[fuzz_n_written++], path);
    }
    FILE *f = fopen(path, "wb");
    if (!f || (size && fwrite(data, 1, size, f) != size) || fclose(f)) {
        perror("fuzz: writing the input file");
        abort();
    }
    return fuzz_written[slot];
}

// A NUL-terminated copy of the input (caller frees).
static inline char *fuzz_string(const uint8_t *data, size_t size) {
    char *s = malloc(size + 1);
    if (!s) abort();
    memcpy(s, data, size);
    s[size] = 0;
    return s;
}

#endif
