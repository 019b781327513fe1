// The wrappers behind fault_hooks.h. Each __wrap_X counts its call while a window
// of its kind is armed and fails the n-th; otherwise it calls __real_X.
#include "fault_hooks.h"

#include <CL/cl.h>
#include <cjson/cJSON.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

const char *const fault_kind_names[FAULT_KINDS] = {"host allocation", "clCreateBuffer",
                                                   "clBuildProgram", "write"};

static int g_kind = -1;  // the armed kind, -1 none
static long g_fail_at;   // 1-based call to fail, <= 0 none
static bool g_and_after; // every call from g_fail_at on fails
static long g_calls;
static bool g_fired;
static bool g_in_cjson; // the injected failure was one of cJSON's allocations
static cl_int g_cl_error = CL_MEM_OBJECT_ALLOCATION_FAILURE;

void fault_arm(fault_kind kind, long n) {
    __atomic_store_n(&g_calls, 0, __ATOMIC_SEQ_CST);
    g_fail_at = n;
    g_and_after = false;
    g_fired = false;
    g_in_cjson = false;
    __atomic_store_n(&g_kind, (int)kind, __ATOMIC_SEQ_CST);
}

void fault_arm_from(fault_kind kind, long n) {
    fault_arm(kind, n);
    g_and_after = true;
}

void fault_disarm(void) { __atomic_store_n(&g_kind, -1, __ATOMIC_SEQ_CST); }
long fault_calls(void) { return __atomic_load_n(&g_calls, __ATOMIC_SEQ_CST); }
bool fault_fired(void) { return g_fired; }
void fault_set_cl_error(int err) { g_cl_error = err; }

// ASan's, when linked in: the stack of an injected failure (fault_set_trace).
void __sanitizer_print_stack_trace(void) __attribute__((weak));
static bool g_trace;
void fault_set_trace(bool on) { g_trace = on; }

// Whether this call of `kind` is the one to fail.
static bool should_fail(fault_kind kind) {
    if (__atomic_load_n(&g_kind, __ATOMIC_SEQ_CST) != (int)kind) return false;
    long n = __atomic_add_fetch(&g_calls, 1, __ATOMIC_SEQ_CST);
    if (g_fail_at > 0 && (n == g_fail_at || (g_and_after && n > g_fail_at))) {
        g_fired = true;
        if (g_trace && __sanitizer_print_stack_trace) __sanitizer_print_stack_trace();
        return true;
    }
    return false;
}

// ---- host allocation ---------------------------------------------------------------------
void *__real_malloc(size_t n);
void *__real_calloc(size_t k, size_t n);
void *__real_realloc(void *p, size_t n);
int __real_posix_memalign(void **p, size_t align, size_t n);

void *__wrap_malloc(size_t n) {
    if (should_fail(FAULT_ALLOC)) {
        errno = ENOMEM;
        return NULL;
    }
    return __real_malloc(n);
}

void *__wrap_calloc(size_t k, size_t n) {
    if (should_fail(FAULT_ALLOC)) {
        errno = ENOMEM;
        return NULL;
    }
    return __real_calloc(k, n);
}

void *__wrap_realloc(void *p, size_t n) {
    if (should_fail(FAULT_ALLOC)) { // p stays valid, as with a real failure
        errno = ENOMEM;
        return NULL;
    }
    return __real_realloc(p, n);
}

int __wrap_posix_memalign(void **p, size_t align, size_t n) {
    if (should_fail(FAULT_ALLOC)) return ENOMEM;
    return __real_posix_memalign(p, align, n);
}

// libc's strdup allocates inside libc (not wrapped): count it here instead.
char *__wrap_strdup(const char *s) {
    if (should_fail(FAULT_ALLOC)) {
        errno = ENOMEM;
        return NULL;
    }
    size_t n = strlen(s) + 1;
    char *d = __real_malloc(n);
    if (d) memcpy(d, s, n);
    return d;
}

char *__wrap_strndup(const char *s, size_t max) {
    if (should_fail(FAULT_ALLOC)) {
        errno = ENOMEM;
        return NULL;
    }
    size_t n = strnlen(s, max);
    char *d = __real_malloc(n + 1);
    if (d) {
        memcpy(d, s, n);
        d[n] = '\0';
    }
    return d;
}

bool fault_fired_in_cjson(void) { return g_fired && g_in_cjson; }

static void *cjson_malloc(size_t n) {
    void *p = __wrap_malloc(n);
    if (!p && g_fired && g_in_cjson == false) g_in_cjson = true;
    return p;
}
static void cjson_free(void *p) { free(p); }

void fault_hook_cjson(void) {
    cJSON_Hooks h = {cjson_malloc, cjson_free};
    cJSON_InitHooks(&h);
}

// ---- OpenCL --------------------------------------------------------------------------------
cl_mem __real_clCreateBuffer(cl_context c, cl_mem_flags f, size_t n, void *host, cl_int *err);
cl_int __real_clBuildProgram(cl_program p, cl_uint nd, const cl_device_id *d, const char *opts,
                             void(CL_CALLBACK *notify)(cl_program, void *), void *user);

cl_mem __wrap_clCreateBuffer(cl_context c, cl_mem_flags f, size_t n, void *host, cl_int *err) {
    if (should_fail(FAULT_CL_BUFFER)) {
        if (err) *err = g_cl_error;
        return NULL;
    }
    return __real_clCreateBuffer(c, f, n, host, err);
}

// A failed build as the compiler reports one (the program stays unbuilt).
cl_int __wrap_clBuildProgram(cl_program p, cl_uint nd, const cl_device_id *d, const char *opts,
                             void(CL_CALLBACK *notify)(cl_program, void *), void *user) {
    if (should_fail(FAULT_CL_BUILD)) return CL_BUILD_PROGRAM_FAILURE;
    return __real_clBuildProgram(p, nd, d, opts, notify, user);
}

// ---- writing: a full disk --------------------------------------------------------------------
// Only streams on a file descriptor: a memory stream (open_memstream) has no disk to fill.
static bool on_disk(FILE *f) { return f && fileno(f) >= 0; }

size_t __real_fwrite(const void *b, size_t size, size_t n, FILE *f);
int __real_fflush(FILE *f);
int __real_fsync(int fd);
int __real_fclose(FILE *f);
int __real_rename(const char *from, const char *to);
ssize_t __real_write(int fd, const void *b, size_t n);

// A disk that fills in the middle of a write: half of it lands, the rest fails.
size_t __wrap_fwrite(const void *b, size_t size, size_t n, FILE *f) {
    if (on_disk(f) && should_fail(FAULT_WRITE)) {
        size_t half = n / 2;
        if (half) __real_fwrite(b, size, half, f);
        errno = ENOSPC;
        return half;
    }
    return __real_fwrite(b, size, n, f);
}

int __wrap_fflush(FILE *f) {
    if (on_disk(f) && should_fail(FAULT_WRITE)) {
        errno = ENOSPC;
        return EOF;
    }
    return __real_fflush(f);
}

int __wrap_fsync(int fd) {
    if (should_fail(FAULT_WRITE)) {
        errno = ENOSPC;
        return -1;
    }
    return __real_fsync(fd);
}

// The stream is closed (as a real fclose does even when it fails) and the flush fails.
int __wrap_fclose(FILE *f) {
    bool fail = on_disk(f) && should_fail(FAULT_WRITE);
    int r = __real_fclose(f);
    if (fail) {
        errno = ENOSPC;
        return EOF;
    }
    return r;
}

int __wrap_rename(const char *from, const char *to) {
    if (should_fail(FAULT_WRITE)) {
        errno = ENOSPC;
        return -1;
    }
    return __real_rename(from, to);
}

ssize_t __wrap_write(int fd, const void *b, size_t n) {
    if (should_fail(FAULT_WRITE)) {
        errno = ENOSPC;
        return -1;
    }
    return __real_write(fd, b, n);
}
