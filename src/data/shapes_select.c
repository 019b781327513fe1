// The shapes data names: "shapes", "shapes-one" and "shapes-two" (one or two shapes per
// image; lc_shapes_generate_per_image in shapes.c draws those sets).
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "data/data_util.h"
#include "latentcl/data.h"

int lc_data_shapes_spec(const char *spec) {
    if (!spec) return -1;
    if (!strcmp(spec, "shapes")) return 0;
    if (!strcmp(spec, "shapes-one")) return 1;
    if (!strcmp(spec, "shapes-two")) return 2;
    return -1;
}
