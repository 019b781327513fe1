// libFuzzer target: the CLIP caption templates file (lc_templates_read, `--templates FILE`),
// then every template accepted filled with class names (lc_template_fill). A read that
// succeeds must hold 1..LC_TEMPLATES_MAX templates, each NUL-terminated within its slot,
// with "{class}" exactly once and no line end (LF, or CR at its end); a fill must replace
// the mark exactly.
#include <stdlib.h>

#include "fuzz_util.h"
#include "latentcl/clip.h"

static int marks(const char *s) {
    int n = 0;
    for (const char *p = strstr(s, "{class}"); p; p = strstr(p + 1, "{class}"))
        n++;
    return n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const char *path = fuzz_write("templates.txt", data, size);
    lc_templates t;
    if (lc_templates_read(&t, path) != LC_OK) return 0;
    if (t.n < 1 || t.n > LC_TEMPLATES_MAX) abort();
    static const char *const names[] = {"Circle", "", "a-much-longer-class-name-with-CAPS"};
    for (int i = 0; i < t.n; i++) {
        const char *tm = t.items[i];
        size_t len = strnlen(tm, LC_TEMPLATE_MAX_BYTES);
        // Line ends are stripped; a lone CR inside a line stays (regression-cr-inside-line).
        if (len == LC_TEMPLATE_MAX_BYTES || marks(tm) != 1 || strchr(tm, '\n') ||
            (len && tm[len - 1] == '\r'))
            abort();
        for (size_t k = 0; k < sizeof names / sizeof *names; k++) {
            char buf[LC_TEMPLATE_MAX_BYTES + 64];
            size_t want = len - 7 + strlen(names[k]);
            lc_status s = lc_template_fill(buf, sizeof buf, tm, names[k]);
            if (s == LC_OK && strlen(buf) != want) abort();
            if ((s == LC_OK) != (want < sizeof buf)) abort(); // fails only when it cannot fit
        }
    }
    return 0;
}
