// Placeholder until the GEMM backends land (the device frees their state here).
#include "device/device_internal.h"
void lc_gemm_release(lc_device *dev) { (void)dev; }
