// Kernel programs: the embedded cl/*.cl sources (or $LATENTCL_KERNELS/*.cl),
// compiled on first use for the chosen device, with compiled binaries cached
// on disk so that a warm start compiles nothing. Code shared by several
// programs (Philox, ...) lives in cl/NAME.clh and is pulled in by a line
// `#include "NAME.clh"`, which we expand ourselves: OpenCL compilers have no
// include path into memory.
//
// Cache entry: <dir>/<key>.bin where key = 128-bit hash of platform name and
// version, device name, driver version, source and build options. File
// layout: "LCCLBIN1", key (16 bytes), payload length (u64), payload FNV-1a
// (u64), payload. Anything that does not check out is rejected and rebuilt.
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "device/device_internal.h"
#include "device/embedded.h"

static const char CACHE_MAGIC[8] = {'L', 'C', 'C', 'L', 'B', 'I', 'N', '1'};
enum { CACHE_HEADER = 8 + 16 + 8 + 8 };

static uint64_t fnv1a(uint64_t h, const void *data, size_t n) {
    const unsigned char *p = data;
    for (size_t i = 0; i < n; i++)
        h = (h ^ p[i]) * 0x100000001b3ull;
    return h;
}

static void cache_key(uint64_t key[2], const lc_device *dev, const char *source, size_t length) {
    const char *parts[] = {dev->info.platform, dev->info.platform_version, dev->info.name,
                           dev->info.driver, dev->build_options};
    uint64_t h0 = 0xcbf29ce484222325ull, h1 = 0x84222325cbf29ce4ull;
    for (size_t i = 0; i < sizeof parts / sizeof *parts; i++) {
        h0 = fnv1a(h0, parts[i], strlen(parts[i]) + 1);
        h1 = fnv1a(h1, parts[i], strlen(parts[i]) + 1);
    }
    h0 = fnv1a(h0, source, length);
    h1 = fnv1a(h1, source, length);
    key[0] = h0;
    key[1] = h1;
}

static int mkdir_p(const char *path) {
    char tmp[1024];
    snprintf(tmp, sizeof tmp, "%s", path);
    for (char *p = tmp + 1; *p; p++)
        if (*p == '/') {
            *p = '\0';
            if (mkdir(tmp, 0755) != 0 && errno != EEXIST) return -1;
            *p = '/';
        }
    if (mkdir(tmp, 0755) != 0 && errno != EEXIST) return -1;
    struct stat st;
    return (stat(tmp, &st) == 0 && S_ISDIR(st.st_mode)) ? 0 : -1;
}

void lc_cache_init(lc_device *dev) {
    dev->cache_dir[0] = '\0';
    dev->warning[0] = '\0';
    const char *off = getenv("LATENTCL_CACHE");
    if (off && !strcmp(off, "off")) return;
    const char *dir = getenv("LATENTCL_CACHE_DIR");
    char path[1024];
    if (dir && *dir) {
        snprintf(path, sizeof path, "%s", dir);
    } else if ((dir = getenv("XDG_CACHE_HOME")) && *dir) {
        snprintf(path, sizeof path, "%s/latentcl", dir);
    } else if ((dir = getenv("HOME")) && *dir) {
        snprintf(path, sizeof path, "%s/.cache/latentcl", dir);
    } else {
        return;
    }
    int ok = mkdir_p(path) == 0;
    if (ok) { // writable? (root ignores permission bits, so really try)
        char probe[1100];
        snprintf(probe, sizeof probe, "%s/.probe-XXXXXX", path);
        int fd = mkstemp(probe);
        ok = fd >= 0;
        if (ok) {
            close(fd);
            unlink(probe);
        }
    }
    if (!ok) {
        snprintf(dev->warning, sizeof dev->warning,
                 "cannot write the kernel cache at %s (%s); running without it", path,
                 strerror(errno));
        return;
    }
    snprintf(dev->cache_dir, sizeof dev->cache_dir, "%s", path);
    dev->counters.cache_enabled = 1;
}

static void cache_path(char *out, size_t cap, const lc_device *dev, const uint64_t key[2]) {
    snprintf(out, cap, "%s/%016llx%016llx.bin", dev->cache_dir, (unsigned long long)key[0],
             (unsigned long long)key[1]);
}

// Reads and validates a cache entry. Returns a malloc'ed payload or NULL
// (*present tells a missing file from a rejected one).
static unsigned char *cache_read(const char *path, const uint64_t key[2], size_t *len,
                                 int *present) {
    *present = 0;
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    *present = 1;
    unsigned char head[CACHE_HEADER];
    unsigned char *payload = NULL;
    if (fread(head, 1, sizeof head, f) != sizeof head) goto bad;
    uint64_t k0, k1, n, h;
    memcpy(&k0, head + 8, 8);
    memcpy(&k1, head + 16, 8);
    memcpy(&n, head + 24, 8);
    memcpy(&h, head + 32, 8);
    if (memcmp(head, CACHE_MAGIC, 8) || k0 != key[0] || k1 != key[1]) goto bad;
    if (n == 0 || n > ((uint64_t)1 << 30)) goto bad;
    payload = malloc((size_t)n);
    if (!payload || fread(payload, 1, (size_t)n, f) != (size_t)n) goto bad;
    if (fgetc(f) != EOF) goto bad; // trailing bytes: not what we wrote
    if (fnv1a(0xcbf29ce484222325ull, payload, (size_t)n) != h) goto bad;
    fclose(f);
    *len = (size_t)n;
    return payload;
bad:
    free(payload);
    fclose(f);
    return NULL;
}

static void cache_write(lc_device *dev, const char *path, const uint64_t key[2],
                        const unsigned char *payload, size_t n) {
    char tmp[1200];
    snprintf(tmp, sizeof tmp, "%s.tmp-XXXXXX", path);
    int fd = mkstemp(tmp);
    if (fd < 0) return; // the cache is an optimisation: failing to write it is not an error
    FILE *f = fdopen(fd, "wb");
    if (!f) {
        close(fd);
        unlink(tmp);
        return;
    }
    unsigned char head[CACHE_HEADER];
    uint64_t len = n, h = fnv1a(0xcbf29ce484222325ull, payload, n);
    memcpy(head, CACHE_MAGIC, 8);
    memcpy(head + 8, &key[0], 8);
    memcpy(head + 16, &key[1], 8);
    memcpy(head + 24, &len, 8);
    memcpy(head + 32, &h, 8);
    int ok = fwrite(head, 1, sizeof head, f) == sizeof head && fwrite(payload, 1, n, f) == n;
    ok = ok && fflush(f) == 0 && fsync(fileno(f)) == 0;
    ok = (fclose(f) == 0) && ok;
    if (ok && rename(tmp, path) == 0) {
        dev->counters.cache_writes++;
        return;
    }
    unlink(tmp);
}

static lc_status build_failed(lc_device *dev, cl_program prog, const char *name, cl_int err) {
    char log[3072] = "";
    size_t n = 0;
    if (clGetProgramBuildInfo(prog, dev->device, CL_PROGRAM_BUILD_LOG, sizeof log - 1, log, &n) !=
        CL_SUCCESS) {
        // The log may be longer than our buffer: fetch the start of it.
        size_t full = 0;
        if (clGetProgramBuildInfo(prog, dev->device, CL_PROGRAM_BUILD_LOG, 0, NULL, &full) ==
                CL_SUCCESS &&
            full) {
            char *big = malloc(full);
            if (big && clGetProgramBuildInfo(prog, dev->device, CL_PROGRAM_BUILD_LOG, full, big,
                                             NULL) == CL_SUCCESS)
                snprintf(log, sizeof log, "%s", big);
            free(big);
        }
    }
    log[sizeof log - 1] = '\0';
    return lc_fail(LC_ERR_BUILD, "building kernel program '%s' for %s failed: %s\n%s", name,
                   dev->info.name, lc_cl_error_name(err), log);
}

static cl_program from_binary(lc_device *dev, const unsigned char *bin, size_t n) {
    cl_int err, bin_status;
    cl_program p =
        clCreateProgramWithBinary(dev->context, 1, &dev->device, &n, &bin, &bin_status, &err);
    if (err != CL_SUCCESS || bin_status != CL_SUCCESS) {
        if (p) clReleaseProgram(p);
        return NULL;
    }
    if (clBuildProgram(p, 1, &dev->device, dev->build_options, NULL, NULL) != CL_SUCCESS) {
        clReleaseProgram(p);
        return NULL;
    }
    return p;
}

static int is_library(const char *name) {
    size_t n = strlen(name);
    return n > 4 && !strcmp(name + n - 4, ".clh");
}

static lc_status build_expanded(lc_device *dev, lc_program_entry *prog, const char *source,
                                size_t length);

// Appends text to a growing buffer; 0 on success.
static int append(char **buf, size_t *len, size_t *cap, const char *text, size_t n) {
    if (*len + n + 1 > *cap) {
        size_t ncap = (*len + n + 1) * 2;
        char *nb = realloc(*buf, ncap);
        if (!nb) return 1;
        *buf = nb;
        *cap = ncap;
    }
    memcpy(*buf + *len, text, n);
    *len += n;
    (*buf)[*len] = '\0';
    return 0;
}

// Copies source into *buf with every line `#include "NAME.clh"` replaced by
// that library's text (libraries may include libraries, a few levels deep).
static lc_status expand_includes(const lc_device *dev, const char *owner, const char *source,
                                 char **buf, size_t *len, size_t *cap, int depth) {
    if (depth > 4)
        return lc_fail(LC_ERR_BUILD, "kernel program '%s': includes nest too deep", owner);
    const char *line = source;
    while (*line) {
        const char *end = strchr(line, '\n');
        size_t n = end ? (size_t)(end - line + 1) : strlen(line);
        char name[128];
        if (sscanf(line, " #include \"%127[^\"]\"", name) == 1 && is_library(name)) {
            const lc_program_entry *lib = NULL;
            for (int i = 0; i < dev->n_libs; i++)
                if (!strcmp(dev->libs[i].name, name)) lib = &dev->libs[i];
            if (!lib)
                return lc_fail(LC_ERR_BUILD, "kernel program '%s' includes unknown '%s'", owner,
                               name);
            LC_TRY(expand_includes(dev, owner, lib->source, buf, len, cap, depth + 1));
            if (append(buf, len, cap, "\n", 1)) return lc_fail(LC_ERR_NOMEM, "out of memory");
        } else if (append(buf, len, cap, line, n)) {
            return lc_fail(LC_ERR_NOMEM, "out of memory expanding kernel program '%s'", owner);
        }
        line += n;
    }
    return LC_OK;
}

static lc_status build_program(lc_device *dev, lc_program_entry *prog) {
    char *source = NULL;
    size_t length = 0, cap = 0;
    lc_status s = expand_includes(dev, prog->name, prog->source, &source, &length, &cap, 0);
    if (s == LC_OK && !source)
        s = lc_fail(LC_ERR_BUILD, "kernel program '%s' is empty", prog->name);
    if (s == LC_OK) s = build_expanded(dev, prog, source, length);
    free(source);
    return s;
}

static lc_status build_expanded(lc_device *dev, lc_program_entry *prog, const char *source,
                                size_t length) {
    uint64_t key[2] = {0, 0};
    char path[1200] = "";
    if (dev->cache_dir[0]) {
        cache_key(key, dev, source, length);
        cache_path(path, sizeof path, dev, key);
        size_t n = 0;
        int present = 0;
        unsigned char *bin = cache_read(path, key, &n, &present);
        if (bin) {
            prog->program = from_binary(dev, bin, n);
            free(bin);
            if (prog->program) {
                dev->counters.cache_hits++;
                return LC_OK;
            }
        }
        if (present)
            dev->counters.cache_rejected++;
        else
            dev->counters.cache_misses++;
    }
    cl_int err;
    prog->program = clCreateProgramWithSource(dev->context, 1, &source, &length, &err);
    if (err != CL_SUCCESS) {
        prog->program = NULL;
        return lc_cl_fail(err, "clCreateProgramWithSource", prog->name);
    }
    err = clBuildProgram(prog->program, 1, &dev->device, dev->build_options, NULL, NULL);
    if (err != CL_SUCCESS) {
        lc_status s = build_failed(dev, prog->program, prog->name, err);
        clReleaseProgram(prog->program);
        prog->program = NULL;
        return s;
    }
    dev->counters.programs_built++;
    if (path[0]) {
        size_t n = 0;
        if (clGetProgramInfo(prog->program, CL_PROGRAM_BINARY_SIZES, sizeof n, &n, NULL) ==
                CL_SUCCESS &&
            n > 0) {
            unsigned char *bin = malloc(n);
            if (bin && clGetProgramInfo(prog->program, CL_PROGRAM_BINARIES, sizeof bin, &bin,
                                        NULL) == CL_SUCCESS)
                cache_write(dev, path, key, bin, n);
            free(bin);
        }
    }
    return LC_OK;
}

static lc_status add_program(lc_device *dev, const char *name, const char *source, size_t length) {
    int lib = is_library(name);
    lc_program_entry **arr = lib ? &dev->libs : &dev->programs;
    int *count = lib ? &dev->n_libs : &dev->n_programs;
    if (lc_grow((void **)arr, lib ? &dev->cap_libs : &dev->cap_programs, *count + 1, sizeof **arr))
        return lc_fail(LC_ERR_NOMEM, "out of memory adding program %s", name);
    lc_program_entry *p = &(*arr)[*count];
    memset(p, 0, sizeof *p);
    p->name = strdup(name);
    p->source = malloc(length + 1);
    if (!p->name || !p->source) {
        free(p->name);
        free(p->source);
        return lc_fail(LC_ERR_NOMEM, "out of memory adding program %s", name);
    }
    memcpy(p->source, source, length);
    p->source[length] = '\0';
    p->length = length;
    (*count)++;
    return LC_OK;
}

static lc_status load_from_dir(lc_device *dev, const char *dir) {
    DIR *d = opendir(dir);
    if (!d) return lc_fail(LC_ERR_IO, "LATENTCL_KERNELS=%s: cannot open: %s", dir, strerror(errno));
    struct dirent *e;
    lc_status s = LC_OK;
    while (s == LC_OK && (e = readdir(d))) {
        size_t n = strlen(e->d_name);
        int program = n > 3 && !strcmp(e->d_name + n - 3, ".cl");
        if (!program && !is_library(e->d_name)) continue;
        char path[2048], name[256];
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        snprintf(name, sizeof name, "%.*s", (int)(program ? n - 3 : n), e->d_name);
        FILE *f = fopen(path, "rb");
        if (!f) {
            s = lc_fail(LC_ERR_IO, "cannot open kernel source %s: %s", path, strerror(errno));
            break;
        }
        char *buf = NULL;
        size_t len = 0, cap_buf = 0, got;
        char chunk[8192];
        while ((got = fread(chunk, 1, sizeof chunk, f)) > 0) {
            if (len + got > cap_buf) {
                cap_buf = (len + got) * 2;
                char *nb = realloc(buf, cap_buf);
                if (!nb) {
                    s = lc_fail(LC_ERR_NOMEM, "out of memory reading %s", path);
                    break;
                }
                buf = nb;
            }
            memcpy(buf + len, chunk, got);
            len += got;
        }
        fclose(f);
        if (s == LC_OK) s = add_program(dev, name, buf ? buf : "", len);
        free(buf);
    }
    closedir(d);
    return s;
}

lc_status lc_programs_load(lc_device *dev) {
    const char *dir = getenv("LATENTCL_KERNELS");
    if (dir && *dir) return load_from_dir(dev, dir);
    for (int i = 0; i < lc_embedded_source_count; i++)
        LC_TRY(add_program(dev, lc_embedded_sources[i].name, lc_embedded_sources[i].source,
                           lc_embedded_sources[i].length));
    return LC_OK;
}

void lc_programs_release(lc_device *dev) {
    for (int i = 0; i < dev->n_libs; i++) {
        free(dev->libs[i].name);
        free(dev->libs[i].source);
    }
    free(dev->libs);
    dev->libs = NULL;
    dev->n_libs = dev->cap_libs = 0;
    for (int i = 0; i < dev->n_programs; i++) {
        lc_program_entry *p = &dev->programs[i];
        for (int k = 0; k < p->n_kernels; k++)
            clReleaseKernel(p->kernels[k].kernel);
        free(p->kernels);
        if (p->program) clReleaseProgram(p->program);
        free(p->name);
        free(p->source);
    }
    free(dev->programs);
    dev->programs = NULL;
    dev->n_programs = dev->cap_programs = 0;
}

static lc_program_entry *find_program(lc_device *dev, const char *name) {
    for (int i = 0; i < dev->n_programs; i++)
        if (!strcmp(dev->programs[i].name, name)) return &dev->programs[i];
    return NULL;
}

lc_status lc_device_kernel(cl_kernel *out, lc_device *dev, const char *program,
                           const char *kernel) {
    *out = NULL;
    lc_program_entry *p = find_program(dev, program);
    if (!p) return lc_fail(LC_ERR_INVALID_ARG, "no kernel program '%s'", program);
    for (int k = 0; k < p->n_kernels; k++)
        if (!strcmp(p->kernels[k].name, kernel)) {
            *out = p->kernels[k].kernel;
            return LC_OK;
        }
    if (!p->program) LC_TRY(build_program(dev, p));
    if (lc_grow((void **)&p->kernels, &p->cap_kernels, p->n_kernels + 1, sizeof *p->kernels))
        return lc_fail(LC_ERR_NOMEM, "out of memory creating kernel %s", kernel);
    cl_int err;
    cl_kernel k = clCreateKernel(p->program, kernel, &err);
    if (err != CL_SUCCESS) {
        char ctx[192];
        snprintf(ctx, sizeof ctx, "kernel '%s' in program '%s'", kernel, program);
        return lc_cl_fail(err, "clCreateKernel", ctx);
    }
    lc_kernel_entry *e = &p->kernels[p->n_kernels++];
    snprintf(e->name, sizeof e->name, "%s", kernel);
    e->kernel = k;
    *out = k;
    return LC_OK;
}

lc_status lc_device_build_all(lc_device *dev) {
    for (int i = 0; i < dev->n_programs; i++)
        if (!dev->programs[i].program) LC_TRY(build_program(dev, &dev->programs[i]));
    return LC_OK;
}

lc_status lc_device_build_source(lc_device *dev, const char *program, const char *source) {
    lc_program_entry *p = find_program(dev, program);
    if (p) return lc_fail(LC_ERR_INVALID_ARG, "kernel program '%s' exists already", program);
    if (is_library(program))
        return lc_fail(LC_ERR_INVALID_ARG, "'%s' names a library, not a program", program);
    LC_TRY(add_program(dev, program, source, strlen(source)));
    return build_program(dev, &dev->programs[dev->n_programs - 1]);
}

int lc_device_program_count(const lc_device *dev) { return dev->n_programs; }
const char *lc_device_program_name(const lc_device *dev, int i) {
    return (i >= 0 && i < dev->n_programs) ? dev->programs[i].name : NULL;
}
