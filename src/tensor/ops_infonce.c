// The symmetric InfoNCE loss with multi-positive targets (cl/infonce.cl), declared in
// include/latentcl/clip.h. As the other losses, the forward writes the gradients too; the
// backward scales them by the upstream gradient.
#include "latentcl/clip.h"
#include "tensor/tensor_internal.h"

// Node: saved[0] = d loss / d sim (B, B), saved[1] = d loss / d log_scale (1).
static lc_status infonce_bw(lc_ctx *c, lc_node *nd) {
    cl_mem gy;
    size_t gyo;
    lc_grad_source(nd->out, &gy, &gyo);
    for (int i = 0; i < 2; i++) {
        int wants, acc;
        cl_mem g;
        size_t go;
        LC_TRY(lc_grad_target(c, nd->in[i], &wants, &g, &go, &acc));
        if (!wants) continue;
        LC_TRY(lc_axpy(c, g, go, nd->saved[i]->buf, nd->saved[i]->off, nd->in[i]->numel, 1.0f, gy,
                       gyo, acc));
    }
    return LC_OK;
}

lc_status lc_info_nce(lc_ctx *c, lc_tensor **loss, lc_tensor *sim, lc_tensor *log_scale,
                      lc_tensor *groups, float max_scale) {
    *loss = NULL;
    if (sim->ndim != 2 || sim->shape[0] != sim->shape[1] || sim->dtype != LC_F32 ||
        log_scale->numel != 1 || log_scale->dtype != LC_F32)
        return lc_shape_fail("info_nce", "needs sim (B, B) and log_scale (1), got", sim, log_scale);
    if (groups->ndim != 1 || groups->shape[0] != sim->shape[0] || groups->dtype != LC_I32)
        return lc_shape_fail("info_nce", "needs int32 groups (B) for sim", sim, groups);
    if (!(max_scale > 0))
        return lc_fail(LC_ERR_INVALID_ARG, "info_nce: max_scale %g", (double)max_scale);
    LC_TRY(lc_check_numel("info_nce", sim));
    int B = lc_i(sim->shape[0]), so = lc_i(sim->off), lso = lc_i(log_scale->off),
        go = lc_i(groups->off);
    lc_tensor *dsim, *dt;
    int64_t one = 1;
    LC_TRY(lc_tensor_new(c, &dsim, 2, sim->shape));
    LC_TRY(lc_tensor_new(c, &dt, 1, &one));
    cl_mem stats, partial;
    LC_TRY(lc_scratch(c, &stats, (size_t)5 * B));
    LC_TRY(lc_scratch(c, &partial, (size_t)B));
    lc_tensor *in[2] = {sim, log_scale};
    LC_TRY(lc_tensor_out(c, loss, 1, &one, in, 2));

    cl_kernel k;
    LC_TRY(lc_kernel(c, &k, "infonce", "infonce_stats"));
    LC_SET(k, 0, stats);
    LC_SET(k, 1, sim->buf);
    LC_SET(k, 2, so);
    LC_SET(k, 3, log_scale->buf);
    LC_SET(k, 4, lso);
    LC_SET(k, 5, groups->buf);
    LC_SET(k, 6, go);
    LC_SET(k, 7, B);
    LC_SET(k, 8, max_scale);
    LC_TRY(lc_launch1(c, k, "infonce_stats", (size_t)2 * B));

    LC_TRY(lc_kernel(c, &k, "infonce", "infonce_grad"));
    LC_SET(k, 0, dsim->buf);
    LC_SET(k, 1, partial);
    LC_SET(k, 2, stats);
    LC_SET(k, 3, sim->buf);
    LC_SET(k, 4, so);
    LC_SET(k, 5, log_scale->buf);
    LC_SET(k, 6, lso);
    LC_SET(k, 7, groups->buf);
    LC_SET(k, 8, go);
    LC_SET(k, 9, B);
    LC_SET(k, 10, max_scale);
    LC_TRY(lc_launch1(c, k, "infonce_grad", (size_t)B));

    LC_TRY(lc_kernel(c, &k, "infonce", "infonce_finish"));
    int lo = lc_i((*loss)->off);
    LC_SET(k, 0, (*loss)->buf);
    LC_SET(k, 1, lo);
    LC_SET(k, 2, dt->buf);
    LC_SET(k, 3, stats);
    LC_SET(k, 4, partial);
    LC_SET(k, 5, B);
    LC_TRY(lc_launch1(c, k, "infonce_finish", 1));

    lc_node *nd;
    LC_TRY(lc_record(c, &nd, "info_nce", infonce_bw, *loss, in, 2));
    if (nd) {
        nd->saved[0] = dsim;
        nd->saved[1] = dt;
    }
    return LC_OK;
}
