// Baum-Welch data-parallel (include/latentcl/dist.h): each rank runs the E-step on its
// contiguous slice of the sequences and the expected counts are summed over the ranks,
// so every rank takes the same M-step that one process takes on all the data.
#ifndef LATENTCL_HMM_DIST_H
#define LATENTCL_HMM_DIST_H

#include "latentcl/hmm.h"

// This rank's sequences as a view of x: *part shares x's symbols/values and alphabet and
// owns only its offsets (free with hmm_dist_part_free). *center (Gaussian: (D), malloc'ed)
// is the mean of all of x's values, the frame the summed counts are taken in.
lc_status hmm_dist_part(lc_sequences *part, double **center, const lc_hmm *h,
                        const lc_sequences *x);
void hmm_dist_part_free(lc_sequences *part);

// Moves this rank's counts to the shared center (Gaussian), then sums every count and the
// log-likelihood over the ranks (in place).
lc_status hmm_dist_reduce(lc_hmm_stats *s, const double *center);

#endif
