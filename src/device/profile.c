// LATENTCL_PROFILE=1: per-kernel event times, summed without ever waiting
// inside a step (events are resolved when the table is asked for, or in
// batches when many are pending).
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "device/device_internal.h"

enum { PROFILE_MAX_PENDING = 4096 };

static lc_profile_row *row_for(lc_device *dev, const char *name) {
    for (int i = 0; i < dev->n_rows; i++)
        if (!strcmp(dev->rows[i].name, name)) return &dev->rows[i];
    if (lc_grow((void **)&dev->rows, &dev->cap_rows, dev->n_rows + 1, sizeof *dev->rows))
        return NULL;
    lc_profile_row *r = &dev->rows[dev->n_rows++];
    snprintf(r->name, sizeof r->name, "%s", name);
    return r;
}

lc_status lc_profile_flush(lc_device *dev) {
    lc_status s = LC_OK;
    for (int i = 0; i < dev->n_pending; i++) {
        lc_pending_event *p = &dev->pending[i];
        cl_ulong t0 = 0, t1 = 0;
        cl_int err = clWaitForEvents(1, &p->event);
        if (err == CL_SUCCESS)
            err =
                clGetEventProfilingInfo(p->event, CL_PROFILING_COMMAND_START, sizeof t0, &t0, NULL);
        if (err == CL_SUCCESS)
            err = clGetEventProfilingInfo(p->event, CL_PROFILING_COMMAND_END, sizeof t1, &t1, NULL);
        if (err != CL_SUCCESS && s == LC_OK)
            s = lc_cl_fail(err, "clGetEventProfilingInfo", p->name);
        lc_profile_row *r = row_for(dev, p->name);
        if (r && err == CL_SUCCESS) {
            r->calls++;
            r->total_ms += (double)(t1 - t0) * 1e-6;
        }
        clReleaseEvent(p->event);
    }
    dev->n_pending = 0;
    return s;
}

void lc_device_profile_event(lc_device *dev, const char *name, cl_event ev) {
    if (!ev) return;
    if (!dev->profiling) {
        clReleaseEvent(ev);
        return;
    }
    if (dev->n_pending >= PROFILE_MAX_PENDING) lc_profile_flush(dev);
    if (lc_grow((void **)&dev->pending, &dev->cap_pending, dev->n_pending + 1,
                sizeof *dev->pending)) {
        clReleaseEvent(ev); // profiling is best effort; never fail a step for it
        return;
    }
    lc_pending_event *p = &dev->pending[dev->n_pending++];
    snprintf(p->name, sizeof p->name, "%s", name);
    p->event = ev;
}

static int by_time_desc(const void *a, const void *b) {
    double x = ((const lc_profile_row *)a)->total_ms, y = ((const lc_profile_row *)b)->total_ms;
    return (x < y) - (x > y);
}

lc_status lc_device_profile(lc_device *dev, lc_profile_row **rows, int *count) {
    *rows = NULL;
    *count = 0;
    LC_TRY(lc_profile_flush(dev));
    if (dev->n_rows == 0) return LC_OK;
    lc_profile_row *copy = malloc((size_t)dev->n_rows * sizeof *copy);
    if (!copy) return lc_fail(LC_ERR_NOMEM, "out of memory copying the profile");
    memcpy(copy, dev->rows, (size_t)dev->n_rows * sizeof *copy);
    qsort(copy, (size_t)dev->n_rows, sizeof *copy, by_time_desc);
    *rows = copy;
    *count = dev->n_rows;
    return LC_OK;
}

void lc_profile_release(lc_device *dev) {
    for (int i = 0; i < dev->n_pending; i++)
        clReleaseEvent(dev->pending[i].event);
    free(dev->pending);
    free(dev->rows);
    dev->pending = NULL;
    dev->rows = NULL;
    dev->n_pending = dev->n_rows = 0;
}
