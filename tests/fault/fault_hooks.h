// Fault injection for test programs only (tests/fault/): programs linked against
// latentcl_static with -Wl,--wrap=malloc,... (see the fault block in
// tests/CMakeLists.txt) route the library's calls through the wrappers in
// fault_hooks.c. Inside an armed window the n-th call of one kind fails the way
// the real call fails (NULL, a CL error code, ENOSPC); outside it every call goes
// straight through. Only the library's own objects (and cJSON, through its hooks)
// are wrapped: PoCL, LLVM and libc allocate as usual.
#ifndef LATENTCL_TESTS_FAULT_HOOKS_H
#define LATENTCL_TESTS_FAULT_HOOKS_H

#include <stdbool.h>

typedef enum {
    FAULT_ALLOC,     // malloc calloc realloc posix_memalign strdup strndup (+ cJSON's)
    FAULT_CL_BUFFER, // clCreateBuffer
    FAULT_CL_BUILD,  // clBuildProgram
    FAULT_WRITE,     // fwrite fflush fsync fclose rename write: ENOSPC (disk full)
    FAULT_KINDS
} fault_kind;

extern const char *const fault_kind_names[FAULT_KINDS];

// Counts the calls of `kind` from now on; the n-th (1-based) fails, n <= 0: none fails.
void fault_arm(fault_kind kind, long n);
// As fault_arm, but the n-th call and every later one fail (a fallback cannot hide it).
void fault_arm_from(fault_kind kind, long n);
// Ends the window: nothing fails any more.
void fault_disarm(void);
// Calls of the armed kind counted since fault_arm.
long fault_calls(void);
// Whether the armed failure happened.
bool fault_fired(void);
// Whether the armed failure was one of cJSON's allocations (cJSON_Parse then returns NULL as
// for bad JSON: the caller cannot tell the two apart).
bool fault_fired_in_cjson(void);
// The OpenCL error an injected clCreateBuffer failure returns (CL_MEM_OBJECT_ALLOCATION_FAILURE).
void fault_set_cl_error(int err);
// Prints the stack of each injected failure to stderr (ASan builds only).
void fault_set_trace(bool on);
// Routes cJSON's allocations through the wrapped malloc (call once at start).
void fault_hook_cjson(void);

// The non-finite hook (programs linked with --wrap=lc_train): the env var
// LATENTCL_FAULT_NAN=WHERE:STEP[,STEP...] (WHERE "loss" or "grad", STEP 0-based step
// indices) makes every training run write a NaN into loss[0] or the first gradient
// element after the model's own step at those steps.
#endif
