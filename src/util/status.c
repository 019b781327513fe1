// Thread-local error messages and OpenCL error names.
#include "latentcl/status.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

enum { LC_MESSAGE_CAP = 4096 };
static _Thread_local char last_message[LC_MESSAGE_CAP];

const char *lc_status_name(lc_status s) {
    switch (s) {
    case LC_OK: return "LC_OK";
    case LC_ERR_INVALID_ARG: return "LC_ERR_INVALID_ARG";
    case LC_ERR_NO_PLATFORM: return "LC_ERR_NO_PLATFORM";
    case LC_ERR_NO_DEVICE: return "LC_ERR_NO_DEVICE";
    case LC_ERR_OPENCL: return "LC_ERR_OPENCL";
    case LC_ERR_BUILD: return "LC_ERR_BUILD";
    case LC_ERR_IO: return "LC_ERR_IO";
    case LC_ERR_FORMAT: return "LC_ERR_FORMAT";
    case LC_ERR_NOMEM: return "LC_ERR_NOMEM";
    case LC_ERR_SHAPE: return "LC_ERR_SHAPE";
    case LC_ERR_NONFINITE: return "LC_ERR_NONFINITE";
    case LC_ERR_CANCELLED: return "LC_ERR_CANCELLED";
    case LC_ERR_UNSUPPORTED: return "LC_ERR_UNSUPPORTED";
    case LC_ERR_EXISTS: return "LC_ERR_EXISTS";
    }
    return "LC_ERR_UNKNOWN";
}

const char *lc_last_error(void) { return last_message; }

void lc_clear_error(void) { last_message[0] = '\0'; }

lc_status lc_fail(lc_status s, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(last_message, sizeof last_message, fmt, ap);
    va_end(ap);
    return s;
}

lc_status lc_fail_context(lc_status s, const char *fmt, ...) {
    char old[LC_MESSAGE_CAP];
    memcpy(old, last_message, sizeof old);
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(last_message, sizeof last_message, fmt, ap);
    va_end(ap);
    if (n < 0 || !old[0]) return s;
    // Append ": <old>" by hand, truncating at the buffer's end.
    size_t at = (size_t)n < sizeof last_message ? (size_t)n : sizeof last_message - 1;
    const char *sep = ": ";
    for (const char *p = sep; *p && at + 1 < sizeof last_message; p++)
        last_message[at++] = *p;
    for (const char *p = old; *p && at + 1 < sizeof last_message; p++)
        last_message[at++] = *p;
    last_message[at] = '\0';
    return s;
}

const char *lc_cl_error_name(int code) {
    switch (code) {
#define E(x, v)                                                                                    \
    case v: return #x;
        E(CL_SUCCESS, 0)
        E(CL_DEVICE_NOT_FOUND, -1)
        E(CL_DEVICE_NOT_AVAILABLE, -2)
        E(CL_COMPILER_NOT_AVAILABLE, -3)
        E(CL_MEM_OBJECT_ALLOCATION_FAILURE, -4)
        E(CL_OUT_OF_RESOURCES, -5)
        E(CL_OUT_OF_HOST_MEMORY, -6)
        E(CL_PROFILING_INFO_NOT_AVAILABLE, -7)
        E(CL_MEM_COPY_OVERLAP, -8)
        E(CL_IMAGE_FORMAT_MISMATCH, -9)
        E(CL_IMAGE_FORMAT_NOT_SUPPORTED, -10)
        E(CL_BUILD_PROGRAM_FAILURE, -11)
        E(CL_MAP_FAILURE, -12)
        E(CL_MISALIGNED_SUB_BUFFER_OFFSET, -13)
        E(CL_EXEC_STATUS_ERROR_FOR_EVENTS_IN_WAIT_LIST, -14)
        E(CL_COMPILE_PROGRAM_FAILURE, -15)
        E(CL_LINKER_NOT_AVAILABLE, -16)
        E(CL_LINK_PROGRAM_FAILURE, -17)
        E(CL_DEVICE_PARTITION_FAILED, -18)
        E(CL_KERNEL_ARG_INFO_NOT_AVAILABLE, -19)
        E(CL_INVALID_VALUE, -30)
        E(CL_INVALID_DEVICE_TYPE, -31)
        E(CL_INVALID_PLATFORM, -32)
        E(CL_INVALID_DEVICE, -33)
        E(CL_INVALID_CONTEXT, -34)
        E(CL_INVALID_QUEUE_PROPERTIES, -35)
        E(CL_INVALID_COMMAND_QUEUE, -36)
        E(CL_INVALID_HOST_PTR, -37)
        E(CL_INVALID_MEM_OBJECT, -38)
        E(CL_INVALID_IMAGE_FORMAT_DESCRIPTOR, -39)
        E(CL_INVALID_IMAGE_SIZE, -40)
        E(CL_INVALID_SAMPLER, -41)
        E(CL_INVALID_BINARY, -42)
        E(CL_INVALID_BUILD_OPTIONS, -43)
        E(CL_INVALID_PROGRAM, -44)
        E(CL_INVALID_PROGRAM_EXECUTABLE, -45)
        E(CL_INVALID_KERNEL_NAME, -46)
        E(CL_INVALID_KERNEL_DEFINITION, -47)
        E(CL_INVALID_KERNEL, -48)
        E(CL_INVALID_ARG_INDEX, -49)
        E(CL_INVALID_ARG_VALUE, -50)
        E(CL_INVALID_ARG_SIZE, -51)
        E(CL_INVALID_KERNEL_ARGS, -52)
        E(CL_INVALID_WORK_DIMENSION, -53)
        E(CL_INVALID_WORK_GROUP_SIZE, -54)
        E(CL_INVALID_WORK_ITEM_SIZE, -55)
        E(CL_INVALID_GLOBAL_OFFSET, -56)
        E(CL_INVALID_EVENT_WAIT_LIST, -57)
        E(CL_INVALID_EVENT, -58)
        E(CL_INVALID_OPERATION, -59)
        E(CL_INVALID_GL_OBJECT, -60)
        E(CL_INVALID_BUFFER_SIZE, -61)
        E(CL_INVALID_MIP_LEVEL, -62)
        E(CL_INVALID_GLOBAL_WORK_SIZE, -63)
        E(CL_INVALID_PROPERTY, -64)
        E(CL_INVALID_IMAGE_DESCRIPTOR, -65)
        E(CL_INVALID_COMPILER_OPTIONS, -66)
        E(CL_INVALID_LINKER_OPTIONS, -67)
        E(CL_INVALID_DEVICE_PARTITION_COUNT, -68)
        E(CL_INVALID_PIPE_SIZE, -69)
        E(CL_INVALID_DEVICE_QUEUE, -70)
        E(CL_PLATFORM_NOT_FOUND_KHR, -1001)
#undef E
    }
    static _Thread_local char unknown[48];
    snprintf(unknown, sizeof unknown, "CL_UNKNOWN_ERROR(%d)", code);
    return unknown;
}
