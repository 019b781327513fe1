// A ring of host buffers for non-blocking batch uploads. See upload_ring.h.
#include "models/upload_ring.h"

#include <stdlib.h>

lc_status lc_upload_slot_fill(lc_upload_slot **out, lc_upload_slot *ring, int64_t step,
                              int64_t count, size_t image, size_t labels_per_image) {
    lc_upload_slot *st = &ring[step % LC_UPLOAD_RING];
    if (st->written) { // normally long done: the queue is a step or two behind at most
        LC_CL(clWaitForEvents(1, &st->written), "waiting for a batch upload");
        clReleaseEvent(st->written);
        st->written = NULL;
    }
    if (count > st->cap) {
        float *nx = realloc(st->x, (size_t)count * image * sizeof *nx);
        if (nx) st->x = nx;
        int32_t *ny = realloc(st->y, (size_t)count * labels_per_image * sizeof *ny);
        if (ny) st->y = ny;
        if (!nx || !ny) return lc_fail(LC_ERR_NOMEM, "out of memory for a batch");
        st->cap = count;
    }
    *out = st;
    return LC_OK;
}

// Enqueues a write of bytes from host into t without waiting; *ev marks its end.
static lc_status write_async(lc_device *dev, lc_tensor *t, const void *host, size_t bytes,
                             cl_event *ev, const char *what) {
    LC_CL(clEnqueueWriteBuffer(lc_device_queue(dev), t->buf, CL_FALSE, t->off * sizeof(float),
                               bytes, host, 0, NULL, ev),
          what);
    return LC_OK;
}

lc_status lc_upload_slot_send(lc_upload_slot *slot, lc_device *dev, lc_tensor *x, lc_tensor *y,
                              const char *what) {
    cl_event ex = NULL;
    LC_TRY(write_async(dev, x, slot->x, x->numel * sizeof(float), &ex, what));
    clReleaseEvent(ex); // in-order queue: the labels' write ends after the images'
    return write_async(dev, y, slot->y, y->numel * sizeof(int32_t), &slot->written, what);
}

void lc_upload_ring_free(lc_upload_slot *ring) {
    for (int i = 0; i < LC_UPLOAD_RING; i++) {
        if (ring[i].written) clReleaseEvent(ring[i].written);
        free(ring[i].x);
        free(ring[i].y);
    }
}
