// Host tasks: C functions enqueued as native kernels in a CPU device's
// in-order queue (after the kernels before them, before those after), working
// on buffers through their host memory (on such devices every buffer wraps
// host memory: lc_buffer_alloc, CL_MEM_USE_HOST_PTR). gemm_host.c is one.
#ifndef LATENTCL_HOST_TASK_H
#define LATENTCL_HOST_TASK_H

#include "latentcl/device.h"

// Whether dev runs host tasks: a CPU device with native kernels whose buffers
// wrap host memory, and the host GEMM backend active (LATENTCL_GEMM=clblast
// keeps everything in OpenCL kernels).
int lc_host_tasks_ok(const lc_device *dev);

// The host memory behind a buffer of such a device (floats from offset 0).
lc_status lc_host_ptr(float **out, cl_mem buf);

// Enqueues fn(copy of args) in dev's queue. The queue holds a reference on
// each of bufs (those fn reads or writes by address) until fn has run. `name`
// (a string literal) is its row in LATENTCL_PROFILE's table.
lc_status lc_host_task(lc_device *dev, const char *name, void(CL_CALLBACK *fn)(void *),
                       const void *args, size_t args_size, const cl_mem *bufs, int n_bufs);

// Runs body(arg, t) for t = 0 .. n_threads - 1 on that many threads (the
// caller is thread 0) and returns when all are done. Inside a host task: the
// other CPU cores are idle then (the queue is in order). Falls back to fewer
// threads (down to the caller alone) when a thread cannot be started.
void lc_host_parallel(int n_threads, void (*body)(void *arg, int t), void *arg);

#endif
