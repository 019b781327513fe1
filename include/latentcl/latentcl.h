// latentcl — latent-variable models on any OpenCL device. One include for all
// public headers.
#ifndef LATENTCL_LATENTCL_H
#define LATENTCL_LATENTCL_H

#include "latentcl/status.h"
#include "latentcl/device.h"
#include "latentcl/gemm.h"
#include "latentcl/rng.h"
#include "latentcl/params.h"
#include "latentcl/selftest.h"
#include "latentcl/image.h"

#endif
