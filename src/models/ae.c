// The autoencoder: z = f(x), x' = g(z), trained to reconstruct x from its code.
// The denoising variant (--noise S) encodes a corrupted input x + S eps (eps keyed by
// the seed, the step and the item) and still reconstructs the clean x. The loss is the
// VAE decoder's -log p(x|x'): BCE on logits (Bernoulli) or the Gaussian's, in nats per
// image averaged over the batch; the networks are the VAE's (vae_nets.c).
#include "models/vae_internal.h"

lc_status ae_loss(lc_vae *m, lc_tensor **loss, lc_tensor *x, cl_mem ids, uint32_t step) {
    lc_tensor *input = x, *z, *logits;
    if (m->cfg.noise > 0) { // a corrupted copy: x itself stays the target
        int64_t shape[2] = {x->shape[0], m->P};
        LC_TRY(lc_tensor_new(m->ctx, &input, 2, shape));
        LC_CL(clEnqueueCopyBuffer(lc_device_queue(m->dev), x->buf, input->buf,
                                  x->off * sizeof(float), 0, x->numel * sizeof(float), 0, NULL,
                                  NULL),
              "copying the denoising AE's input");
        LC_TRY(vae_add_noise(m, input, ids, (float)m->cfg.noise, step, VAE_DRAW_DENOISE));
    }
    LC_TRY(vae_encoder(m, &z, NULL, input)); // z = f(x)
    LC_TRY(vae_decoder(m, &logits, z));      // x' = g(z)
    return vae_rec_loss(m, loss, logits, x);
}
