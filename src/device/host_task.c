// Host tasks (see host_task.h): native kernels that take their buffers by
// address, plus a fork/join helper for the cores the in-order queue leaves idle.
#include <pthread.h>

#include "device/device_internal.h"
#include "device/host_task.h"
#include "latentcl/gemm.h"

int lc_host_tasks_ok(const lc_device *dev) {
    return dev && dev->host_buffers && dev->info.native_kernels &&
           lc_gemm_active_backend(dev) == LC_GEMM_HOST;
}

lc_status lc_host_ptr(float **out, cl_mem buf) {
    void *host = NULL;
    *out = NULL;
    LC_CL(clGetMemObjectInfo(buf, CL_MEM_HOST_PTR, sizeof host, &host, NULL),
          "host task: the buffer's host memory");
    if (!host)
        return lc_fail(LC_ERR_UNSUPPORTED, "host task needs buffers made by lc_buffer_alloc "
                                           "(this one has no host memory)");
    *out = host;
    return LC_OK;
}

static void CL_CALLBACK release_after_task(cl_event ev, cl_int status, void *buf) {
    (void)ev;
    (void)status;
    clReleaseMemObject((cl_mem)buf);
}

lc_status lc_host_task(lc_device *dev, const char *name, void(CL_CALLBACK *fn)(void *),
                       const void *args, size_t args_size, const cl_mem *bufs, int n_bufs) {
    // Buffers passed by address are not tracked by the queue: hold a reference on each
    // until fn has run, or one released meanwhile frees memory fn is about to touch.
    for (int i = 0; i < n_bufs; i++)
        clRetainMemObject(bufs[i]);
    cl_event ev = NULL;
    cl_int err =
        clEnqueueNativeKernel(dev->queue, fn, (void *)args, args_size, 0, NULL, NULL, 0, NULL, &ev);
    if (err != CL_SUCCESS) {
        for (int i = 0; i < n_bufs; i++)
            clReleaseMemObject(bufs[i]);
        return lc_cl_fail(err, "clEnqueueNativeKernel", name);
    }
    for (int i = 0; i < n_bufs; i++) {
        err = clSetEventCallback(ev, CL_COMPLETE, release_after_task, bufs[i]);
        if (err != CL_SUCCESS) { // no callback: wait here instead
            clWaitForEvents(1, &ev);
            for (int j = i; j < n_bufs; j++)
                clReleaseMemObject(bufs[j]);
            break;
        }
    }
    lc_device_profile_event(dev, name, ev); // releases it when not profiling
    return LC_OK;
}

typedef struct {
    void (*body)(void *arg, int t);
    void *arg;
    int t;
} worker;

static void *run_worker(void *p) {
    worker *w = p;
    w->body(w->arg, w->t);
    return NULL;
}

enum { MAX_HOST_THREADS = 64 };

void lc_host_parallel(int n_threads, void (*body)(void *arg, int t), void *arg) {
    if (n_threads > MAX_HOST_THREADS) n_threads = MAX_HOST_THREADS;
    pthread_t th[MAX_HOST_THREADS];
    worker w[MAX_HOST_THREADS];
    int started = 0;
    for (int t = 1; t < n_threads; t++) {
        w[t] = (worker){body, arg, t};
        if (pthread_create(&th[t], NULL, run_worker, &w[t]) != 0) break;
        started = t;
    }
    body(arg, 0);
    for (int t = 1; t <= started; t++)
        pthread_join(th[t], NULL);
}
