// PyTorch's default initialisation of linear and conv layers, drawn with Philox on
// the host so that a seed gives the same weights on every device.
//
// nn.Linear and nn.Conv2d call kaiming_uniform_(a = sqrt(5)) on the weight, whose
// bound gain * sqrt(3 / fan_in) with gain = sqrt(2 / (1 + 5)) is 1 / sqrt(fan_in), and
// draw the bias uniformly in the same (-1 / sqrt(fan_in), 1 / sqrt(fan_in)).
#ifndef LATENTCL_NN_INIT_DEFAULT_H
#define LATENTCL_NN_INIT_DEFAULT_H

#include <stdint.h>

#include "latentcl/device.h"
#include "latentcl/params.h"

// Initialises "<layer>.weight" (out, in...) and "<layer>.bias" (out, if declared) of
// the allocated p as PyTorch's default. fan_in = weight numel / out. Parameter number
// i of p draws from Philox key `seed`, counter (j / 4, i, "init", 0): the values depend
// only on the seed and the parameter's place, not on the device or the call order.
lc_status lc_init_torch_default(lc_device *dev, lc_params *p, const char *layer, uint64_t seed);

#endif
