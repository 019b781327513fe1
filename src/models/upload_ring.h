// Training batches travel to the device by non-blocking writes from a ring of host
// buffers, so the host never waits for the queue to drain before enqueuing a step. A
// slot is refilled only after its last write completed (its event). Used by the
// classifier and the shapes judge; step s uses slot s % LC_UPLOAD_RING.
#ifndef LATENTCL_MODELS_UPLOAD_RING_H
#define LATENTCL_MODELS_UPLOAD_RING_H
#include <stddef.h>
#include <stdint.h>

#include "latentcl/tensor.h"

enum { LC_UPLOAD_RING = 4 };

typedef struct {
    float *x;   // (cap, image): the images
    int32_t *y; // (cap * labels_per_image): the labels, laid out as the model wants
    int64_t cap;
    cl_event written; // the last write from this slot, or NULL
} lc_upload_slot;

// The slot of step `step`, once its last write has completed, with room for count images
// of `image` floats and count * labels_per_image labels.
lc_status lc_upload_slot_fill(lc_upload_slot **out, lc_upload_slot *ring, int64_t step,
                              int64_t count, size_t image, size_t labels_per_image);
// Enqueues the writes of the slot's images into x and its labels into y (their numel each)
// without waiting; the slot's event marks their end. what names the batch in an error.
lc_status lc_upload_slot_send(lc_upload_slot *slot, lc_device *dev, lc_tensor *x, lc_tensor *y,
                              const char *what);
// Frees the ring's host memory and events. Pending writes read that memory: call it after
// the queue has finished.
void lc_upload_ring_free(lc_upload_slot *ring);

#endif
