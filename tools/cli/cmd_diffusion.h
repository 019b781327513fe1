// Helpers shared by the diffusion verbs (train diffusion, sample, eval).
#ifndef LATENTCL_CLI_CMD_DIFFUSION_H
#define LATENTCL_CLI_CMD_DIFFUSION_H

#include <stdbool.h>
#include <stdint.h>

// A 2-D point source: "moons", "swissroll" (optionally "NAME:N:NOISE:SEED", the form a model
// records) or a .csv file. True when spec names one.
bool dif_cli_is_points(const char *spec);
// Reads or generates the points of spec: *xy (n, 2), *labels (n) for moons (else NULL);
// n_default/noise/seed apply to generated sets without their own. offset_seed shifts the
// seed (1: a held-out draw). *canonical (may be NULL) gets the spec to record. 0 or exit code.
// Whether the option opt appears in argv (to tell a default from a value the user gave).
bool dif_cli_given(int argc, char **argv, const char *opt);

int dif_cli_points(float **xy, int32_t **labels, int64_t *n, char *canonical, size_t cap,
                   const char *spec, long n_default, double noise, long seed, long offset_seed);

#endif
