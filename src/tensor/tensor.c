// The tensor context: step pools of headers, the tape, views and backward.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tensor/tensor_internal.h"

enum { CHUNK = 256, KERNEL_CACHE = 128 };

// Tensor headers come in chunks that never move, so pointers stay valid for
// the whole step; the chunks are reused by the next step.
typedef struct chunk {
    lc_tensor t[CHUNK];
    struct chunk *next;
} chunk;

typedef struct {
    const char *program, *kernel; // literals: compared by address first
    cl_kernel k;
} kernel_entry;

// The context's own step arena: block i is handed out as the i-th temporary of
// every step, so a step of the same shape allocates nothing. Owned by the
// context (not the device's arena) so that two contexts on one device, e.g. a
// sampler and the judge classifier, never reset each other's temporaries.
typedef struct {
    cl_mem mem;
    size_t bytes;
} block;

struct lc_ctx {
    lc_device *dev;
    block *blocks;
    int n_blocks, cap_blocks, cursor;
    chunk *chunks; // first chunk
    chunk *cur;    // chunk being filled
    int cur_used;
    lc_node *tape;
    int tape_n, tape_cap;
    int grad_enabled, training;
    uint64_t seed, step;
    uint32_t dropout_calls; // dropouts run this step
    kernel_entry kernels[KERNEL_CACHE];
    int n_kernels;
};

lc_status lc_ctx_create(lc_ctx **out, lc_device *dev) {
    *out = NULL;
    if (!dev) return lc_fail(LC_ERR_INVALID_ARG, "lc_ctx_create: no device");
    lc_ctx *c = calloc(1, sizeof *c);
    if (!c) return lc_fail(LC_ERR_NOMEM, "out of memory creating a tensor context");
    c->dev = dev;
    c->grad_enabled = 1;
    c->training = 1;
    *out = c;
    return LC_OK;
}

void lc_ctx_free(lc_ctx *c) {
    if (!c) return;
    for (int i = 0; i < c->n_blocks; i++)
        lc_buffer_free(c->blocks[i].mem);
    free(c->blocks);
    for (chunk *ch = c->chunks; ch;) {
        chunk *n = ch->next;
        free(ch);
        ch = n;
    }
    free(c->tape);
    free(c);
}

lc_device *lc_ctx_device(const lc_ctx *c) { return c->dev; }
lc_device *lc_ctx_dev(lc_ctx *c) { return c->dev; }

void lc_step_begin(lc_ctx *c) {
    c->cursor = 0;
    c->cur = c->chunks;
    c->cur_used = 0;
    c->tape_n = 0;
    c->dropout_calls = 0;
}

int lc_set_grad_enabled(lc_ctx *c, int enabled) {
    int old = c->grad_enabled;
    c->grad_enabled = enabled != 0;
    return old;
}
int lc_grad_enabled(const lc_ctx *c) { return c->grad_enabled; }
void lc_set_training(lc_ctx *c, int training) { c->training = training != 0; }
int lc_ctx_training(const lc_ctx *c) { return c->training; }
void lc_set_rng(lc_ctx *c, uint64_t seed, uint64_t step) {
    c->seed = seed;
    c->step = step;
}
void lc_ctx_rng(lc_ctx *c, uint64_t *seed, uint64_t *step, uint32_t *call) {
    *seed = c->seed;
    *step = c->step;
    *call = c->dropout_calls++;
}
int lc_tape_size(const lc_ctx *c) { return c->tape_n; }

lc_status lc_tensor_header(lc_ctx *c, lc_tensor **out) {
    if (!c->cur || c->cur_used == CHUNK) {
        chunk *next = c->cur ? c->cur->next : c->chunks;
        if (!next) {
            next = calloc(1, sizeof *next);
            if (!next) return lc_fail(LC_ERR_NOMEM, "out of memory for tensor headers");
            if (c->cur)
                c->cur->next = next;
            else
                c->chunks = next;
        }
        c->cur = next;
        c->cur_used = 0;
    }
    lc_tensor *t = &c->cur->t[c->cur_used++];
    memset(t, 0, sizeof *t);
    t->base = t;
    *out = t;
    return LC_OK;
}

static lc_status set_shape(lc_tensor *t, int ndim, const int64_t *shape) {
    if (ndim < 1 || ndim > LC_MAX_DIMS)
        return lc_fail(LC_ERR_SHAPE, "tensor with %d dimensions (1..%d allowed)", ndim,
                       LC_MAX_DIMS);
    size_t n = 1;
    for (int i = 0; i < ndim; i++) {
        if (shape[i] <= 0 || (uint64_t)shape[i] > ((uint64_t)1 << 40) / n)
            return lc_fail(LC_ERR_SHAPE, "tensor dimension %d is %lld", i, (long long)shape[i]);
        t->shape[i] = shape[i];
        n *= (size_t)shape[i];
    }
    t->ndim = ndim;
    t->numel = n;
    return LC_OK;
}

lc_status lc_scratch(lc_ctx *c, cl_mem *out, size_t floats) {
    size_t bytes = (floats ? floats : 1) * sizeof(float);
    int i = c->cursor;
    if (i < c->n_blocks && c->blocks[i].bytes >= bytes) {
        *out = c->blocks[i].mem;
        c->cursor++;
        return LC_OK;
    }
    if (i == c->cap_blocks) {
        int cap = c->cap_blocks ? 2 * c->cap_blocks : 64;
        block *n = realloc(c->blocks, (size_t)cap * sizeof *n);
        if (!n) return lc_fail(LC_ERR_NOMEM, "out of memory growing the step arena");
        c->blocks = n;
        c->cap_blocks = cap;
    }
    if (i == c->n_blocks) {
        c->blocks[i].mem = NULL;
        c->blocks[i].bytes = 0;
        c->n_blocks++;
    }
    // First step, or this step's shape grew here: replace the block (the old
    // one is released once the queue no longer uses it).
    lc_buffer_free(c->blocks[i].mem);
    c->blocks[i].mem = NULL;
    c->blocks[i].bytes = 0;
    LC_TRY(lc_buffer_alloc(&c->blocks[i].mem, c->dev, bytes));
    c->blocks[i].bytes = bytes;
    *out = c->blocks[i].mem;
    c->cursor++;
    return LC_OK;
}

size_t lc_ctx_arena_bytes(const lc_ctx *c) {
    size_t total = 0;
    for (int i = 0; i < c->n_blocks; i++)
        total += c->blocks[i].bytes;
    return total;
}

static lc_status new_tensor(lc_ctx *c, lc_tensor **out, int ndim, const int64_t *shape,
                            lc_tensor_dtype dt) {
    lc_tensor *t;
    LC_TRY(lc_tensor_header(c, &t));
    LC_TRY(set_shape(t, ndim, shape));
    t->dtype = dt;
    LC_TRY(lc_scratch(c, &t->buf, t->numel));
    *out = t;
    return LC_OK;
}

lc_status lc_tensor_new(lc_ctx *c, lc_tensor **out, int ndim, const int64_t *shape) {
    return new_tensor(c, out, ndim, shape, LC_F32);
}
lc_status lc_tensor_new_i32(lc_ctx *c, lc_tensor **out, int ndim, const int64_t *shape) {
    return new_tensor(c, out, ndim, shape, LC_I32);
}

lc_status lc_tensor_out(lc_ctx *c, lc_tensor **out, int ndim, const int64_t *shape,
                        lc_tensor *const *inputs, int n_inputs) {
    LC_TRY(new_tensor(c, out, ndim, shape, LC_F32));
    if (c->grad_enabled)
        for (int i = 0; i < n_inputs; i++)
            if (inputs[i] && inputs[i]->requires_grad) (*out)->requires_grad = 1;
    return LC_OK;
}

lc_status lc_tensor_from_host(lc_ctx *c, lc_tensor **out, const float *data, int ndim,
                              const int64_t *shape) {
    LC_TRY(lc_tensor_new(c, out, ndim, shape));
    return lc_write(c->dev, (*out)->buf, 0, data, (*out)->numel * sizeof(float));
}

lc_status lc_tensor_from_host_i32(lc_ctx *c, lc_tensor **out, const int32_t *data, int ndim,
                                  const int64_t *shape) {
    LC_TRY(lc_tensor_new_i32(c, out, ndim, shape));
    return lc_write(c->dev, (*out)->buf, 0, data, (*out)->numel * sizeof(int32_t));
}

lc_status lc_tensor_wrap(lc_ctx *c, lc_tensor **out, cl_mem buf, size_t off, lc_tensor_dtype dt,
                         int ndim, const int64_t *shape) {
    lc_tensor *t;
    LC_TRY(lc_tensor_header(c, &t));
    LC_TRY(set_shape(t, ndim, shape));
    t->buf = buf;
    t->off = off;
    t->dtype = dt;
    *out = t;
    return LC_OK;
}

lc_status lc_tensor_param_at(lc_ctx *c, lc_tensor **out, lc_params *p, size_t offset, int ndim,
                             const int64_t *shape) {
    if (!p->data) return lc_fail(LC_ERR_INVALID_ARG, "parameters used before lc_params_alloc");
    lc_tensor *t;
    LC_TRY(lc_tensor_wrap(c, &t, p->data, offset, LC_F32, ndim, shape));
    if (offset + t->numel > p->total)
        return lc_fail(LC_ERR_SHAPE, "parameter view [%zu, %zu) outside the buffer of %zu floats",
                       offset, offset + t->numel, p->total);
    t->grad_buf = p->grad;
    t->grad_off = offset;
    t->grad_state = 2;
    t->requires_grad = c->grad_enabled;
    *out = t;
    return LC_OK;
}

lc_status lc_tensor_param(lc_ctx *c, lc_tensor **out, lc_params *p, const char *name) {
    const lc_param_info *pi = lc_params_find(p, name);
    if (!pi) return lc_fail(LC_ERR_INVALID_ARG, "no parameter named %s", name);
    LC_TRY(lc_tensor_param_at(c, out, p, pi->offset, pi->ndim, pi->shape));
    (*out)->name = pi->name;
    return LC_OK;
}

lc_status lc_tensor_set_requires_grad(lc_ctx *c, lc_tensor *t) {
    (void)c;
    if (t->dtype != LC_F32) return lc_fail(LC_ERR_INVALID_ARG, "an int32 tensor has no gradient");
    t->requires_grad = 1;
    return LC_OK;
}

void lc_tensor_grad(const lc_tensor *t, cl_mem *buf, size_t *off) {
    const lc_tensor *b = t->base;
    *buf = b->grad_buf;
    *off = b->grad_off + (t->off - b->off);
}

lc_status lc_tensor_to_host(lc_ctx *c, void *dst, const lc_tensor *t) {
    return lc_read(c->dev, dst, t->buf, t->off * 4, t->numel * 4);
}

lc_status lc_tensor_grad_to_host(lc_ctx *c, float *dst, const lc_tensor *t) {
    cl_mem buf;
    size_t off;
    lc_tensor_grad(t, &buf, &off);
    if (!buf || t->base->grad_state == 0) {
        memset(dst, 0, t->numel * sizeof *dst);
        return LC_OK;
    }
    return lc_read(c->dev, dst, buf, off * 4, t->numel * 4);
}

const char *lc_shape_str(const lc_tensor *t, char *buf, size_t size) {
    size_t n = (size_t)snprintf(buf, size, "(");
    for (int i = 0; i < t->ndim && n < size; i++)
        n += (size_t)snprintf(buf + n, size - n, i ? ", %lld" : "%lld", (long long)t->shape[i]);
    if (n < size) snprintf(buf + n, size - n, ")");
    return buf;
}

lc_status lc_shape_fail(const char *op, const char *what, const lc_tensor *a, const lc_tensor *b) {
    char sa[96], sb[96];
    if (!b) return lc_fail(LC_ERR_SHAPE, "%s: %s %s", op, what, lc_shape_str(a, sa, sizeof sa));
    return lc_fail(LC_ERR_SHAPE, "%s: %s %s and %s", op, what, lc_shape_str(a, sa, sizeof sa),
                   lc_shape_str(b, sb, sizeof sb));
}

int lc_same_shape(const lc_tensor *a, const lc_tensor *b) {
    if (a->ndim != b->ndim) return 0;
    for (int i = 0; i < a->ndim; i++)
        if (a->shape[i] != b->shape[i]) return 0;
    return 1;
}

int lc_trailing_match(const lc_tensor *a, const lc_tensor *b) {
    if (b->ndim > a->ndim) return 0;
    for (int i = 0; i < b->ndim; i++)
        if (b->shape[b->ndim - 1 - i] != a->shape[a->ndim - 1 - i]) return 0;
    return 1;
}

lc_status lc_check_numel(const char *op, const lc_tensor *t) {
    if (t->numel + t->off > (size_t)INT_MAX - 16)
        return lc_shape_fail(op, "tensor too large for 32-bit indexing:", t, NULL);
    return LC_OK;
}

lc_status lc_reshape(lc_ctx *c, lc_tensor **out, lc_tensor *x, int ndim, const int64_t *shape) {
    lc_tensor *t;
    LC_TRY(lc_tensor_header(c, &t));
    LC_TRY(set_shape(t, ndim, shape));
    if (t->numel != x->numel) {
        char sa[96];
        lc_tensor want = *t;
        return lc_fail(LC_ERR_SHAPE, "reshape: %s has %zu elements, %s has %zu",
                       lc_shape_str(x, sa, sizeof sa), x->numel,
                       lc_shape_str(&want, (char[96]){0}, 96), want.numel);
    }
    t->buf = x->buf;
    t->off = x->off;
    t->dtype = x->dtype;
    t->requires_grad = x->requires_grad;
    t->base = x->base;
    *out = t;
    return LC_OK;
}

lc_status lc_slice0(lc_ctx *c, lc_tensor **out, lc_tensor *x, int64_t start, int64_t len) {
    if (start < 0 || len <= 0 || start + len > x->shape[0]) {
        char sa[96];
        return lc_fail(LC_ERR_SHAPE, "slice0: rows [%lld, %lld) of %s", (long long)start,
                       (long long)(start + len), lc_shape_str(x, sa, sizeof sa));
    }
    int64_t shape[LC_MAX_DIMS];
    memcpy(shape, x->shape, sizeof shape);
    shape[0] = len;
    lc_tensor *t;
    LC_TRY(lc_tensor_header(c, &t));
    LC_TRY(set_shape(t, x->ndim, shape));
    size_t row = x->numel / (size_t)x->shape[0];
    t->buf = x->buf;
    t->off = x->off + (size_t)start * row;
    t->dtype = x->dtype;
    t->requires_grad = x->requires_grad;
    t->base = x->base;
    *out = t;
    return LC_OK;
}

// --- tape -----------------------------------------------------------------

lc_status lc_record(lc_ctx *c, lc_node **node, const char *op, lc_backward_fn bw, lc_tensor *out,
                    lc_tensor *const *inputs, int n_inputs) {
    *node = NULL;
    if (!c->grad_enabled || !out->requires_grad) return LC_OK;
    if (c->tape_n == c->tape_cap) {
        int cap = c->tape_cap ? 2 * c->tape_cap : 64;
        lc_node *t = realloc(c->tape, (size_t)cap * sizeof *t);
        if (!t) return lc_fail(LC_ERR_NOMEM, "out of memory growing the tape");
        c->tape = t;
        c->tape_cap = cap;
    }
    lc_node *n = &c->tape[c->tape_n++];
    memset(n, 0, sizeof *n);
    n->op = op;
    n->backward = bw;
    n->out = out;
    for (int i = 0; i < n_inputs && i < 4; i++)
        n->in[i] = inputs[i];
    *node = n;
    return LC_OK;
}

lc_status lc_affine_grad_targets(lc_ctx *c, lc_affine_grads *out, int *wants, lc_tensor *gamma,
                                 lc_tensor *beta, size_t n) {
    int wg, wb;
    LC_TRY(lc_grad_target(c, gamma, &wg, &out->g, &out->go, &out->acc_g));
    LC_TRY(lc_grad_target(c, beta, &wb, &out->b, &out->bo, &out->acc_b));
    *wants = wg || wb;
    if (!*wants || (wg && wb)) return LC_OK;
    cl_mem junk;
    LC_TRY(lc_scratch(c, &junk, n));
    if (!wg) out->g = junk, out->go = 0, out->acc_g = 0;
    if (!wb) out->b = junk, out->bo = 0, out->acc_b = 0;
    return LC_OK;
}

lc_status lc_set_affine_grad_args(cl_kernel k, const lc_affine_grads *ag) {
    int dgo = lc_i(ag->go), dbo = lc_i(ag->bo);
    LC_SET(k, 0, ag->g);
    LC_SET(k, 1, dgo);
    LC_SET(k, 2, ag->acc_g);
    LC_SET(k, 3, ag->b);
    LC_SET(k, 4, dbo);
    LC_SET(k, 5, ag->acc_b);
    return LC_OK;
}

lc_status lc_grad_target(lc_ctx *c, lc_tensor *t, int *wants, cl_mem *buf, size_t *off, int *acc) {
    *wants = t && t->requires_grad && t->dtype == LC_F32;
    if (!*wants) return LC_OK;
    lc_tensor *b = t->base;
    if (b->grad_state == 2) {
        *acc = 1;
    } else if (b->grad_state == 1) {
        *acc = 1;
    } else {
        if (!b->grad_buf) {
            LC_TRY(lc_scratch(c, &b->grad_buf, b->numel));
            b->grad_off = 0;
        }
        if (t->numel == b->numel) {
            *acc = 0; // the first writer covers the whole base: no zeroing needed
        } else {
            LC_TRY(lc_fill_zero(c->dev, b->grad_buf, b->grad_off * 4, b->numel * 4));
            *acc = 1;
        }
        b->grad_state = 1;
    }
    lc_tensor_grad(t, buf, off);
    return LC_OK;
}

void lc_grad_source(const lc_tensor *t, cl_mem *buf, size_t *off) { lc_tensor_grad(t, buf, off); }

lc_status lc_unary_grad_targets(lc_ctx *c, lc_node *nd, lc_unary_grads *out, int *wants) {
    LC_TRY(lc_grad_target(c, nd->in[0], wants, &out->gx, &out->gxo, &out->acc));
    if (*wants) lc_grad_source(nd->out, &out->gy, &out->gyo);
    return LC_OK;
}

static void clear_grad_states(lc_ctx *c) {
    for (chunk *ch = c->chunks; ch; ch = ch->next) {
        int used = ch == c->cur ? c->cur_used : CHUNK;
        for (int i = 0; i < used; i++)
            if (ch->t[i].grad_state == 1) ch->t[i].grad_state = 0;
        if (ch == c->cur) break;
    }
}

static lc_status run_tape(lc_ctx *c, lc_tensor *root) {
    // Nodes after the root's producer cannot reach it: start at the producer.
    int start = c->tape_n - 1;
    while (start >= 0 && c->tape[start].out->base != root->base)
        start--;
    for (int i = start; i >= 0; i--) {
        lc_node *n = &c->tape[i];
        if (n->out->base->grad_state != 1) continue; // no gradient reached this output
        lc_status s = n->backward(c, n);
        if (s != LC_OK) return lc_fail_context(s, "backward of %s", n->op);
    }
    return LC_OK;
}

lc_status lc_backward(lc_ctx *c, lc_tensor *loss) {
    if (loss->numel != 1)
        return lc_shape_fail("backward", "loss must have one element, got", loss, NULL);
    if (!loss->requires_grad)
        return lc_fail(LC_ERR_INVALID_ARG, "backward: the loss does not depend on anything "
                                           "that requires grad (no-grad mode?)");
    clear_grad_states(c);
    int wants, acc;
    cl_mem buf;
    size_t off;
    LC_TRY(lc_grad_target(c, loss, &wants, &buf, &off, &acc));
    LC_TRY(lc_fill(c, buf, off, 1, 1.0f));
    return run_tape(c, loss);
}

lc_status lc_backward_from(lc_ctx *c, lc_tensor *out, lc_tensor *out_grad) {
    if (!lc_same_shape(out, out_grad))
        return lc_shape_fail("backward", "output and its gradient differ:", out, out_grad);
    if (!out->requires_grad)
        return lc_fail(LC_ERR_INVALID_ARG, "backward: the output does not require grad");
    clear_grad_states(c);
    int wants, acc;
    cl_mem buf;
    size_t off;
    LC_TRY(lc_grad_target(c, out, &wants, &buf, &off, &acc));
    LC_TRY(lc_axpy(c, buf, off, out_grad->buf, out_grad->off, out->numel, 1.0f, NULL, 0, acc));
    return run_tape(c, out);
}

lc_status lc_zero_grad(lc_ctx *c, lc_params *p) {
    if (!p->grad) return lc_fail(LC_ERR_INVALID_ARG, "zero_grad: parameters not allocated");
    return lc_fill_zero(c->dev, p->grad, 0, p->total * sizeof(float));
}

// --- kernels ----------------------------------------------------------------

lc_status lc_kernel(lc_ctx *c, cl_kernel *k, const char *program, const char *kernel) {
    for (int i = 0; i < c->n_kernels; i++)
        if (c->kernels[i].kernel == kernel && c->kernels[i].program == program) {
            *k = c->kernels[i].k;
            return LC_OK;
        }
    LC_TRY(lc_device_kernel(k, c->dev, program, kernel));
    if (c->n_kernels < KERNEL_CACHE) {
        kernel_entry *e = &c->kernels[c->n_kernels++];
        e->program = program;
        e->kernel = kernel;
        e->k = *k;
    }
    return LC_OK;
}

lc_status lc_launch1(lc_ctx *c, cl_kernel k, const char *name, size_t items) {
    size_t local = LC_LOCAL_ITEMS;
    return lc_launch(c->dev, k, name, 1, &items, &local);
}

lc_status lc_launch_groups(lc_ctx *c, cl_kernel k, const char *name, size_t groups) {
    size_t local = LC_LOCAL, global = groups * LC_LOCAL;
    return lc_launch(c->dev, k, name, 1, &global, &local);
}

lc_status lc_fill(lc_ctx *c, cl_mem buf, size_t off, size_t n, float value) {
    cl_kernel k;
    LC_TRY(lc_kernel(c, &k, "elementwise", "fill"));
    int o = lc_i(off), ni = lc_i(n);
    LC_SET(k, 0, buf);
    LC_SET(k, 1, o);
    LC_SET(k, 2, ni);
    LC_SET(k, 3, value);
    return lc_launch1(c, k, "fill", (n + 3) / 4);
}

lc_status lc_axpy(lc_ctx *c, cl_mem dst, size_t doff, cl_mem src, size_t soff, size_t n, float s,
                  cl_mem dev_scale, size_t scale_off, int acc) {
    cl_kernel k;
    LC_TRY(lc_kernel(c, &k, "elementwise", "axpy"));
    int d = lc_i(doff), so = lc_i(soff), ni = lc_i(n), use = dev_scale != NULL,
        sco = lc_i(scale_off);
    cl_mem sc = dev_scale ? dev_scale : src;
    LC_SET(k, 0, dst);
    LC_SET(k, 1, d);
    LC_SET(k, 2, src);
    LC_SET(k, 3, so);
    LC_SET(k, 4, ni);
    LC_SET(k, 5, s);
    LC_SET(k, 6, sc);
    LC_SET(k, 7, sco);
    LC_SET(k, 8, use);
    LC_SET(k, 9, acc);
    return lc_launch1(c, k, "axpy", (n + 3) / 4);
}

lc_status lc_reduce_partials(lc_ctx *c, cl_mem out, size_t out_off, cl_mem partials, int groups,
                             float scale) {
    cl_kernel k;
    LC_TRY(lc_kernel(c, &k, "reduce", "sum_partials"));
    int o = lc_i(out_off);
    LC_SET(k, 0, out);
    LC_SET(k, 1, o);
    LC_SET(k, 2, partials);
    LC_SET(k, 3, groups);
    LC_SET(k, 4, scale);
    return lc_launch_groups(c, k, "sum_partials", 1);
}
