// latentcl — latent-variable models on any OpenCL device. One include for all
// public headers, floor by floor.
#ifndef LATENTCL_LATENTCL_H
#define LATENTCL_LATENTCL_H

#include "latentcl/status.h"
#include "latentcl/device.h"
#include "latentcl/gemm.h"
#include "latentcl/rng.h"
#include "latentcl/params.h"
#include "latentcl/tensor.h"
#include "latentcl/nn.h"
#include "latentcl/optim.h"
#include "latentcl/selftest.h"
#include "latentcl/image.h"
#include "latentcl/checkpoint.h"
#include "latentcl/run.h"
#include "latentcl/plot.h"
#include "latentcl/progress.h"
#include "latentcl/data.h"
#include "latentcl/train.h"
#include "latentcl/dist.h"
#include "latentcl/text.h"
#include "latentcl/classifier.h"
#include "latentcl/clip.h"
#include "latentcl/diffusion.h"
#include "latentcl/hmm.h"
#include "latentcl/mmvae.h"
#include "latentcl/points.h"
#include "latentcl/shapes_judge.h"
#include "latentcl/vae.h"

#endif
