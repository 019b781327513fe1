// latentcl — denoising diffusion (DDPM, Ho et al. 2020; DDIM, Song et al. 2021).
//
// The forward chain adds Gaussian noise in T small steps,
//     q(x_t | x_{t-1}) = N(sqrt(1 - beta_t) x_{t-1}, beta_t I),
// so that in closed form q(x_t | x_0) = N(sqrt(abar_t) x_0, (1 - abar_t) I) with
// abar_t = prod_{s<=t} (1 - beta_s). A network eps_theta(x_t, t, y) learns to predict the
// noise eps of x_t = sqrt(abar_t) x_0 + sqrt(1 - abar_t) eps (loss: mean squared error),
// and the reverse chain p(x_{t-1} | x_t) walks back from x_T ~ N(0, I).
//
// Two layers:
//   - the diffusion core (lc_dif_*): schedules, noising, the loss, the DDPM/DDIM reverse
//     steps and classifier-free guidance, generic over the noise-prediction network
//     (lc_dif_net: any function that maps (x_t, t, y) to a tensor of x_t's shape);
//   - the model (lc_diffusion): a network (a 2-D MLP for points, the U-Net for images),
//     its parameters, data, checkpoints and the shared training loop.
// Random draws are keyed by (seed, step or reverse step, sample index) through Philox, so
// results do not depend on batching or on the device.
#ifndef LATENTCL_DIFFUSION_H
#define LATENTCL_DIFFUSION_H

#include <stdbool.h>
#include <stdint.h>

#include "latentcl/classifier.h"
#include "latentcl/data.h"
#include "latentcl/device.h"
#include "latentcl/params.h"
#include "latentcl/progress.h"
#include "latentcl/tensor.h"
#include "latentcl/text.h"
#include "latentcl/train.h"

#ifdef __cplusplus
extern "C" {
#endif

#define LC_DIFFUSION_FAMILY "diffusion"

// ---- schedules -------------------------------------------------------------------------

typedef enum { LC_DIF_LINEAR = 0, LC_DIF_COSINE = 1 } lc_dif_schedule_kind;
const char *lc_dif_schedule_name(lc_dif_schedule_kind k); // "linear", "cosine"
lc_status lc_dif_schedule_parse(lc_dif_schedule_kind *out, const char *name);

// Indexed by t = 0..T (entry 0: beta 0, abar 1), in double precision.
typedef struct {
    lc_dif_schedule_kind kind;
    int T;
    double *beta;      // (T + 1)
    double *alpha;     // (T + 1): 1 - beta
    double *alpha_bar; // (T + 1): prod_{s <= t} alpha_s
} lc_dif_schedule;

// linear: beta_t from 1e-4 to 0.02 for T = 1000 (DDPM); for other T both endpoints scale by
// 1000 / T (Improved DDPM), the upper one clamped at 0.999;
// cosine (Nichol & Dhariwal 2021): abar_t = f(t) / f(0), f(t) = cos^2(((t/T + s)/(1 + s)) pi/2),
// s = 0.008, beta_t clipped at 0.999.
lc_status lc_dif_schedule_make(lc_dif_schedule *out, lc_dif_schedule_kind kind, int T);
void lc_dif_schedule_free(lc_dif_schedule *s);

// ---- the forward chain on the host (the lecture's equations, tests) ----------------------
// x_t = sqrt(1 - beta_t) x_prev + sqrt(beta_t) eps: one step of q(x_t | x_{t-1}).
void lc_dif_q_step(float *x_t, const float *x_prev, const float *eps, double beta_t, int64_t n);
// x_t = sqrt(abar_t) x0 + sqrt(1 - abar_t) eps: the closed form q(x_t | x_0).
void lc_dif_q_sample(float *x_t, const float *x0, const float *eps, double alpha_bar_t, int64_t n);

// ---- the network interface -----------------------------------------------------------------

typedef enum { LC_DIF_PRED_EPS = 0, LC_DIF_PRED_V = 1 } lc_dif_target;

// out (n, dim) = the network's prediction for x_t (n, dim) at timesteps t[i] in 1..T with
// class ids y[i] in 0..n_classes (n_classes = "no class": the dropped label), y NULL for an
// unconditional network. Ops on ctx; gradients recorded when enabled.
typedef lc_status (*lc_dif_eps_fn)(void *self, lc_ctx *ctx, lc_tensor **out, lc_tensor *x_t,
                                   const int32_t *t, const int32_t *y, int64_t n);
typedef struct {
    void *self;
    lc_dif_eps_fn predict;
    int64_t dim;          // floats per sample
    int n_classes;        // 0: unconditional
    lc_dif_target target; // what predict() returns: eps, or v = sqrt(abar) eps - sqrt(1-abar) x0
} lc_dif_net;

// ---- the training loss ------------------------------------------------------------------------

// Purposes of the Philox draws (the last counter word).
enum {
    LC_DIF_DRAW_T = 11,   // training timestep (lane 0) and label dropout (lane 1): (0, id, step)
    LC_DIF_DRAW_EPS = 12, // training noise: counter (col / 4, id, step)
    LC_DIF_DRAW_XT = 13,  // sampling start x_T: (col / 4, sample, 0)
    LC_DIF_DRAW_Z = 14,   // sampling noise of reverse step k (1-based): (col / 4, sample, k)
};

// The timestep t in 1..T of training item `id` at `step` and whether its label is dropped
// (with probability p_uncond): a pure function of (seed, step, id).
void lc_dif_draw_t(int32_t *t, bool *drop, uint64_t seed, int64_t step, int64_t id, int T,
                   double p_uncond);

// The denoising loss of a batch: rows ids[0..n) of data (N, dim) are x_0; each gets t and eps
// from lc_dif_draw_t / LC_DIF_DRAW_EPS; x_t = sqrt(abar_t) x0 + sqrt(1 - abar_t) eps; loss (1) =
// mean over all elements of (net(x_t, t, y) - target)^2 with target eps (or v). labels (n) in
// 0..n_classes-1, or NULL (unconditional); a dropped label becomes n_classes.
lc_status lc_dif_loss(lc_ctx *ctx, lc_tensor **loss, const lc_dif_schedule *s,
                      const lc_dif_net *net, lc_tensor *data, const int64_t *ids,
                      const int32_t *labels, int64_t n, double p_uncond, uint64_t seed,
                      int64_t step);

// ---- sampling ---------------------------------------------------------------------------------

typedef enum { LC_DIF_DDPM = 0, LC_DIF_DDIM = 1 } lc_dif_sampler;

// The default classifier-free guidance: the w that measured best for the default model
// (tiny U-Net, 20 minutes of class-conditional Fashion-MNIST training, 1,683 steps:
// judge accuracy w 1: 48.0%, 2: 71.2%, 3: 79.8%, 4: 82.8%; BENCHMARKS.md). A model trained
// much longer is best at a lower w (REFERENCE.md: w 1 after 10,422 steps).
#define LC_DIF_GUIDANCE_DEFAULT 4.0

typedef struct {
    lc_dif_sampler sampler;
    int steps;  // S reverse steps (1..T); DDPM with S < T is ancestral on the respaced chain
    double eta; // DDIM: 0 deterministic, 1 the DDPM variance
    int cls;    // -1: unconditional (or the null label); else every sample's class
    const int32_t *classes; // (n) per-sample classes (overrides cls), or NULL
    double guidance; // w: eps = eps_u + w (eps_c - eps_u); 1 = plain conditional, 0 = unconditional
    uint64_t seed;
    int64_t batch; // samples per device batch (0: 256)
    // Optional trajectory: x after reverse steps traj_at[0..traj_count) (0 = x_T) of the
    // first traj_n samples, into traj (traj_count, traj_n, dim).
    int traj_count;
    const int *traj_at;
    int64_t traj_n;
    float *traj;
    lc_progress_fn progress; // may be NULL (phase "sample", step = reverse steps done)
    void *user;
} lc_dif_sample_options;
void lc_dif_sample_options_default(lc_dif_sample_options *o); // DDIM 50, eta 0, w 1, seed 0

// The DDPM/DDIM update x_prev = c_x x_t + c_eps eps + sigma z from t to t_prev (< t) of the
// schedule (the reverse step of the lecture; DDPM: t_prev = t - 1 for the plain chain).
typedef struct {
    double c_x, c_eps, sigma;
} lc_dif_step_coef;
lc_dif_step_coef lc_dif_ddpm_coef(const lc_dif_schedule *s, int t, int t_prev);
lc_dif_step_coef lc_dif_ddim_coef(const lc_dif_schedule *s, int t, int t_prev, double eta);
// The timesteps of an S-step sampler: tau[i] = round((i + 1) T / S), i = 0..S-1 (tau[S-1] = T).
lc_status lc_dif_timesteps(int *tau, int S, int T);

// The guided noise prediction for x (n, dim) at timestep t: classes as in the options
// (y NULL or cls -1: unconditional), out (n, dim) host. One network pass of 2n rows when
// 0 != w != 1 (conditional and unconditional halves), else one of n.
lc_status lc_dif_predict_eps(lc_ctx *ctx, const lc_dif_schedule *s, const lc_dif_net *net,
                             float *out, const float *x, int64_t n, int t, const int32_t *y,
                             double w);

// n samples (n, dim) into x (host), in batches; every draw keyed by (seed, sample index).
lc_status lc_dif_sample(lc_ctx *ctx, const lc_dif_schedule *s, const lc_dif_net *net, float *x,
                        int64_t n, const lc_dif_sample_options *o);

// ---- the model ---------------------------------------------------------------------------------

typedef enum { LC_DIF_NET_MLP = 0, LC_DIF_NET_UNET = 1 } lc_dif_net_kind;

typedef struct {
    lc_dif_net_kind net;
    int channels, height, width; // images; points: 1 x 1 x 2
    int T;                       // 1000
    lc_dif_schedule_kind schedule;
    lc_dif_target target;
    int n_classes;       // 0: unconditional; else class conditioning
    bool text_cond;      // unet: conditioned on a caption through the text encoder (text.h)
    lc_text_config text; // text_cond: the encoder (vocab = the checkpoint's vocabulary size)
    double p_uncond;     // label (caption) dropout for classifier-free guidance, 0.1
    int hidden;          // mlp width 128
    int depth;           // mlp: hidden layers (3); unet: res-blocks per level (2; tiny 1)
    int widths[3];       // unet channels per level (32/64/128; tiny 16/32/64)
    int time_dim;        // sinusoidal features (mlp 32, unet = widths[0])
    float point_mean[2], point_std[2]; // points: the standardisation of the training data
    char data[512];                    // the --data the model was trained on
} lc_diffusion_config;

// mlp for 2-D points (1 x 1 x 2), unet-tiny 16/32/64 for 1 x 28 x 28 images.
void lc_diffusion_config_default(lc_diffusion_config *c, lc_dif_net_kind net, bool tiny);
lc_status lc_diffusion_config_check(const lc_diffusion_config *c);
lc_status lc_diffusion_config_to_json(char **out, const lc_diffusion_config *c);
lc_status lc_diffusion_config_from_json(lc_diffusion_config *c, const char *json);

typedef struct lc_diffusion lc_diffusion;

// A new model (weights as PyTorch's defaults, keyed by seed).
lc_status lc_diffusion_new(lc_diffusion **out, lc_device *dev, const lc_diffusion_config *cfg,
                           uint64_t seed);
// A text-conditioned U-Net (cfg->text_cond, cfg->text.vocab == vocab->size): the pooled
// caption embedding of the shared text encoder (text.h, parameters under "text.") goes
// through a linear layer "text_proj" and is added to the time embedding, where the class
// embedding goes. The vocabulary is copied and saved in checkpoints (metadata "vocab").
// Condition ids of a text model index a table of captions: during training item i's own
// caption (ids 0..n_train-1); after lc_diffusion_set_prompts the prompts; the id one past
// the last (the network's n_classes) is the empty caption "<bos><eos>", the dropped label.
lc_status lc_diffusion_new_text(lc_diffusion **out, lc_device *dev, const lc_diffusion_config *cfg,
                                const lc_vocab *vocab, uint64_t seed);
// The vocabulary of a text-conditioned model (NULL otherwise).
const lc_vocab *lc_diffusion_vocab(const lc_diffusion *m);
// Conditions 0..n-1 become the captions prompts[0..n) (n = the empty caption). Words the
// vocabulary lacks become <unk> (counted in *n_unknown, may be NULL); a prompt with no known
// word is LC_ERR_INVALID_ARG naming it.
lc_status lc_diffusion_set_prompts(lc_diffusion *m, const char *const *prompts, int64_t n,
                                   int64_t *n_unknown);
// path: a run folder (last.safetensors) or a checkpoint of family "diffusion" (else
// LC_ERR_FORMAT naming the family). ema: the EMA weights (LC_ERR_FORMAT if there are none).
lc_status lc_diffusion_load(lc_diffusion **out, lc_device *dev, const char *path, bool ema);
void lc_diffusion_free(lc_diffusion *m);
const lc_diffusion_config *lc_diffusion_get_config(const lc_diffusion *m);
lc_params *lc_diffusion_params(lc_diffusion *m);
const lc_dif_schedule *lc_diffusion_schedule(const lc_diffusion *m);
// The core's view of the model's network (for lc_dif_predict_eps and friends).
lc_dif_net lc_diffusion_net(lc_diffusion *m);
lc_ctx *lc_diffusion_ctx(lc_diffusion *m);
int64_t lc_diffusion_dim(const lc_diffusion *m);  // floats per sample
int64_t lc_diffusion_step(const lc_diffusion *m); // of the checkpoint loaded

// n samples in data space (images in [0, 1]; points de-standardised) into x (n, dim).
lc_status lc_diffusion_sample(lc_diffusion *m, float *x, int64_t n, const lc_dif_sample_options *o);

// Training data: images in [0, 1] (scaled to [-1, 1] inside) or points (n, 2) (standardised
// with the config's point_mean/std). labels (n) or NULL (needed when n_classes > 0);
// captions (n) for a text-conditioned model.
lc_status lc_diffusion_set_images(lc_diffusion *m, const lc_dataset *train);
lc_status lc_diffusion_set_points(lc_diffusion *m, const float *xy, const int32_t *labels,
                                  int64_t n);
// During training, a sample grid (raw weights) RUN/samples_stepNNNNNN.png every `every`
// steps (0: off); run_dir NULL: none. samples.png (EMA weights when kept) after each epoch.
void lc_diffusion_set_sample_every(lc_diffusion *m, int64_t every, const char *run_dir);
// Family "diffusion", one loss term-free loss, pictures as above.
lc_status lc_diffusion_train_model(lc_train_model *out, lc_diffusion *m);

// ---- evaluation on points ------------------------------------------------------------------
// MMD between point sets a (na, 2) and b (nb, 2) with the RBF kernel exp(-|u-v|^2 / (2 h^2)):
// the square root of the biased (V-statistic) estimate of MMD^2.
double lc_mmd_rbf(const float *a, int64_t na, const float *b, int64_t nb, int dim, double h);

// Writes a scatter of data points (grey-blue, "data") and samples (orange, "samples").
lc_status lc_diffusion_write_scatter(const char *path, const float *data, int64_t n_data,
                                     const float *samples, int64_t n_samples);

// ---- judging images (diffusion_eval.c, diffusion_judge.c) -------------------------------------
// Mean (d) and unbiased covariance (d, d), row-major doubles, of n feature rows f (n, d).
lc_status lc_feature_stats(double *mu, double *cov, const float *f, int64_t n, int d);
// The Frechet distance between N(mu1, s1) and N(mu2, s2):
// |mu1 - mu2|^2 + tr s1 + tr s2 - 2 tr (s1 s2)^(1/2), the square root by LAPACK (dsyev), double.
lc_status lc_frechet_distance(double *out, const double *mu1, const double *s1, const double *mu2,
                              const double *s2, int d);

typedef struct {
    double judge_accuracy;   // fraction of samples the judge assigns the requested class (NAN:
                             // an unconditional model)
    double frechet_distance; // judge features of the samples vs the real statistics
    int64_t n;
} lc_dif_judgement;
// n samples (classes i % K for a conditional model, options o otherwise) judged by `judge`
// against real_mu/real_cov (lc_feature_stats of the judge's features of real images).
lc_status lc_diffusion_judge(lc_dif_judgement *out, lc_diffusion *m, lc_classifier *judge,
                             const double *real_mu, const double *real_cov, int64_t n,
                             const lc_dif_sample_options *o);
// Text-to-image: n samples (in batches of at most 256), sample i generated from captions[i]
// (with the options' guidance, steps, seed; classes/cls ignored), handed to judge(user,
// images (count, dim) in [0, 1], captions + first, count) which adds to its own tallies.
// The prompts table of the model is replaced (lc_diffusion_set_prompts).
typedef lc_status (*lc_dif_t2i_judge_fn)(void *user, const float *images,
                                         const char *const *captions, int64_t count);
lc_status lc_diffusion_text_to_image(lc_diffusion *m, const char *const *captions, int64_t n,
                                     const lc_dif_sample_options *o, lc_dif_t2i_judge_fn judge,
                                     void *user);
// The judge's feature statistics of a set of images (in batches).
lc_status lc_judge_feature_stats(double *mu, double *cov, lc_classifier *judge, const float *images,
                                 int64_t n);

#ifdef __cplusplus
}
#endif
#endif
