// Runs a fuzz target without libFuzzer: each file argument (or every file of a folder
// argument, in name order) is handed to LLVMFuzzerTestOneInput once. Linked with each
// fuzz_*.c by tools/valgrind.sh, so that valgrind checks the readers on the corpora; also
// handy to replay a crash under a debugger. Paths are made absolute first because a
// target's LLVMFuzzerInitialize may change the working folder (fuzz_cli_args does).
#include <dirent.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv) __attribute__((weak));

static int run_file(const char *path) {
    FILE *f = fopen(path, "rb");
    if (!f) {
        perror(path);
        return 1;
    }
    size_t cap = 4096, len = 0, n;
    uint8_t *buf = malloc(cap);
    while (buf && (n = fread(buf + len, 1, cap - len, f)) > 0) {
        len += n;
        if (len == cap) {
            uint8_t *grown = realloc(buf, cap *= 2);
            if (!grown) free(buf);
            buf = grown;
        }
    }
    fclose(f);
    if (!buf) {
        fprintf(stderr, "%s: out of memory\n", path);
        return 1;
    }
    // An exact-size copy, so that a read one past the input is caught (as under libFuzzer).
    uint8_t *exact = malloc(len ? len : 1);
    if (!exact) {
        free(buf);
        return 1;
    }
    memcpy(exact, buf, len);
    free(buf);
    LLVMFuzzerTestOneInput(exact, len);
    free(exact);
    return 0;
}

static int run_path(const char *path, int *count) {
    struct stat st;
    if (stat(path, &st)) {
        perror(path);
        return 1;
    }
    if (!S_ISDIR(st.st_mode)) return ++*count, run_file(path);
    struct dirent **names;
    int n = scandir(path, &names, NULL, alphasort);
    if (n < 0) {
        perror(path);
        return 1;
    }
    int rc = 0;
    for (int i = 0; i < n; i++) {
        char child[PATH_MAX];
        if (names[i]->d_name[0] != '.' &&
            snprintf(child, sizeof child, "%s/%s", path, names[i]->d_name) < (int)sizeof child)
            rc |= run_path(child, count);
        free(names[i]);
    }
    free(names);
    return rc;
}

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: %s FILE|DIR...\n", argv[0]);
        return 2;
    }
    char **paths = calloc((size_t)argc, sizeof *paths);
    if (!paths) return 1;
    for (int i = 1; i < argc; i++)
        if (!(paths[i] = realpath(argv[i], NULL))) {
            perror(argv[i]);
            return 1;
        }
    if (LLVMFuzzerInitialize) LLVMFuzzerInitialize(&argc, &argv);
    int rc = 0, count = 0;
    for (int i = 1; i < argc; i++) {
        rc |= run_path(paths[i], &count);
        free(paths[i]);
    }
    free(paths);
    printf("%s: %d inputs\n", argv[0], count);
    return rc;
}
