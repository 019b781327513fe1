// latentcl — status codes and error messages.
//
// Every library function that can fail returns an lc_status. On failure the
// library also records a one-line message (the failing call, the OpenCL error
// name, the context) in a thread-local buffer that lc_last_error() returns.
// The library never prints, exits or aborts: the caller decides what to do.
#ifndef LATENTCL_STATUS_H
#define LATENTCL_STATUS_H

#ifdef __cplusplus
extern "C" {
#endif

typedef enum {
    LC_OK = 0,
    LC_ERR_INVALID_ARG, // a caller passed something out of range
    LC_ERR_NO_PLATFORM, // no OpenCL platform at all
    LC_ERR_NO_DEVICE,   // the requested device does not exist
    LC_ERR_OPENCL,      // an OpenCL or CLBlast call failed
    LC_ERR_BUILD,       // a kernel program failed to compile
    LC_ERR_IO,          // reading or writing a file failed
    LC_ERR_FORMAT,      // a file is malformed or hostile
    LC_ERR_NOMEM,       // a host allocation failed
    LC_ERR_SHAPE,       // tensor shapes do not agree
    LC_ERR_NONFINITE,   // a NaN or Inf appeared where it must not
    LC_ERR_CANCELLED,   // the progress callback asked to stop
    LC_ERR_UNSUPPORTED, // the device or build lacks a feature
    LC_ERR_EXISTS,      // refusing to overwrite something
} lc_status;

// A short stable name for a status ("LC_ERR_IO").
const char *lc_status_name(lc_status s);

// The message recorded by the last failing call on this thread ("" if none).
const char *lc_last_error(void);

// Record a printf-style message and return s: `return lc_fail(LC_ERR_IO, "open %s: %s", p,
// strerror(errno));`
lc_status lc_fail(lc_status s, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

// Prepend context to the recorded message ("loading x.safetensors: <old message>") and return s.
lc_status lc_fail_context(lc_status s, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

// Clear the recorded message.
void lc_clear_error(void);

// The name of an OpenCL error code ("CL_INVALID_WORK_GROUP_SIZE"), or "CL_UNKNOWN_ERROR(-N)".
const char *lc_cl_error_name(int code);

#ifdef __cplusplus
}
#endif
#endif
