// Option parsing shared by every verb: "--name value" or "--name=value".
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

cli_common g_cli = {0};

int cli_error(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fputs("latentcl: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    return 1;
}

int cli_report(lc_status s) {
    const char *msg = lc_last_error();
    return cli_error("%s", msg && *msg ? msg : lc_status_name(s));
}

static void print_default(FILE *f, const cli_opt *o) {
    switch (o->type) {
    case OPT_FLAG: break;
    case OPT_INT: fprintf(f, " (default: %ld)", *(long *)o->value); break;
    case OPT_FLOAT: fprintf(f, " (default: %g)", *(double *)o->value); break;
    case OPT_STRING: {
        const char *v = *(const char **)o->value;
        if (v) fprintf(f, " (default: %s)", v);
        break;
    }
    }
}

static void print_help(const char *verb, const char *usage, const char *description,
                       const cli_opt *opts) {
    printf("usage: latentcl %s %s\n\n%s\n\noptions:\n", verb, usage, description);
    for (const cli_opt *o = opts; o->name; o++) {
        char left[64];
        snprintf(left, sizeof left, "%s%s%s", o->name, o->metavar ? " " : "",
                 o->metavar ? o->metavar : "");
        printf("  %-24s %s", left, o->help);
        print_default(stdout, o);
        putchar('\n');
    }
    printf("  %-24s %s\n", "-h, --help", "show this help");
}

static int usage_error(const char *verb, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "latentcl %s: ", verb);
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\nsee 'latentcl %s --help'\n", verb);
    va_end(ap);
    return 1;
}

static int parse_value(const char *verb, const cli_opt *o, const char *text) {
    char *end = NULL;
    errno = 0;
    switch (o->type) {
    case OPT_INT: {
        long v = strtol(text, &end, 10);
        if (errno || end == text || *end)
            return usage_error(verb, "%s expects an integer, got '%s'", o->name, text);
        *(long *)o->value = v;
        return 0;
    }
    case OPT_FLOAT: {
        double v = strtod(text, &end);
        if (errno || end == text || *end || !isfinite(v))
            return usage_error(verb, "%s expects a number, got '%s'", o->name, text);
        *(double *)o->value = v;
        return 0;
    }
    case OPT_STRING: *(const char **)o->value = text; return 0;
    case OPT_FLAG: break;
    }
    return 1;
}

int cli_parse(const char *verb, const char *usage, const char *description, int argc, char **argv,
              int first, const cli_opt *opts, const char **positional, int max_positional,
              int *n_positional, int *exit_code) {
    int npos = 0;
    *exit_code = 2;
    for (int i = first; i < argc; i++) {
        const char *arg = argv[i];
        if (!strcmp(arg, "-h") || !strcmp(arg, "--help")) {
            print_help(verb, usage, description, opts);
            *exit_code = 0;
            return 1;
        }
        if (arg[0] == '-' && arg[1] == '-' && arg[2]) {
            const char *eq = strchr(arg, '=');
            size_t len = eq ? (size_t)(eq - arg) : strlen(arg);
            const cli_opt *o = opts;
            for (; o->name; o++)
                if (strlen(o->name) == len && !strncmp(o->name, arg, len)) break;
            if (!o->name) return usage_error(verb, "unknown option '%.*s'", (int)len, arg);
            if (o->type == OPT_FLAG) {
                if (eq) return usage_error(verb, "%s takes no value", o->name);
                *(bool *)o->value = true;
                continue;
            }
            const char *text = eq ? eq + 1 : (i + 1 < argc ? argv[++i] : NULL);
            if (!text) return usage_error(verb, "%s needs a value", o->name);
            if (parse_value(verb, o, text)) return 1;
            continue;
        }
        if (arg[0] == '-' && arg[1] && !(arg[1] >= '0' && arg[1] <= '9'))
            return usage_error(verb, "unknown option '%s'", arg);
        if (npos >= max_positional) return usage_error(verb, "unexpected argument '%s'", arg);
        positional[npos++] = arg;
    }
    // Integer options land in ints (counts, sizes, indices): refuse what an int cannot hold
    // rather than let a cast wrap 4294967298 to 2. Checked here, after the command line and
    // any --config file, so both are covered. Seeds are 64-bit and exempt.
    for (const cli_opt *o = opts; o->name; o++) {
        size_t len = strlen(o->name);
        long v = o->type == OPT_INT ? *(const long *)o->value : 0;
        if ((v > INT_MAX || v < INT_MIN) && !(len >= 4 && !strcmp(o->name + len - 4, "seed")))
            return usage_error(verb, "%s %ld is out of range (%d..%d)", o->name, v, INT_MIN,
                               INT_MAX);
    }
    if (n_positional) *n_positional = npos;
    *exit_code = 0;
    return 0;
}

int cli_parse_one(const char *verb, const char *usage, const char *description, int argc,
                  char **argv, const cli_opt *opts, const char *what, const char **arg,
                  int *exit_code) {
    const char *pos[1] = {NULL};
    int npos = 0;
    if (cli_parse(verb, usage, description, argc, argv, 1, opts, pos, 1, &npos, exit_code))
        return 1;
    if (npos != 1) {
        usage_error(verb, "expected one %s", what);
        *exit_code = 2;
        return 1;
    }
    *arg = pos[0];
    return 0;
}
