// libFuzzer target: the safetensors checkpoint reader (lc_st_open) and everything a
// loader does with an accepted file (tensor conversion, metadata lookups).
#include <stdlib.h>

#include "fuzz_util.h"
#include "latentcl/checkpoint.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const char *path = fuzz_write("in.safetensors", data, size);
    lc_st_file *f = NULL;
    if (lc_st_open(&f, path) != LC_OK) return 0;
    for (int i = 0; i < lc_st_count(f); i++) {
        const lc_st_tensor *t = lc_st_at(f, i);
        if (lc_st_find(f, t->name) != t) abort(); // names are unique: lookup finds this one
        int64_t n = lc_st_numel(t);
        if (n < 0) abort();
        if (n > (1 << 20)) continue; // the bytes are in the file, so this is only for speed
        float *out = malloc((size_t)n * sizeof(float) + 1);
        if (!out) abort();
        (void)lc_st_tensor_f32(t, out, (size_t)n); // F8 types may be refused: fine
        free(out);
    }
    for (int i = 0; i < lc_st_meta_count(f); i++) {
        lc_st_meta m = lc_st_meta_at(f, i);
        if (!m.key || !m.value || lc_st_meta_get(f, m.key) == NULL) abort();
        int64_t v;
        (void)lc_st_meta_int(f, m.key, &v);
    }
    float one;
    (void)lc_st_read_f32(f, "w", 0, NULL, &one, 1);
    lc_st_close(f);
    return 0;
}
