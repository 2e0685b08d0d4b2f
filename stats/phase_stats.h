/*
 * Summary statistics of one phase's samples (mean, std, min, median, max and
 * the median's confidence interval), filling <nnbench/results.h>'s
 * nnb_phase_stats. Plain C, libm only.
 */
#ifndef NNB_PHASE_STATS_H
#define NNB_PHASE_STATS_H

#include <nnbench/results.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Fills mean, std (N-1), min, median, max and median_lo/hi (the median's
 * interval at NNB_CONFIDENCE, -inf/+inf when count is too small for it) from
 * s->samples_ms[0..count). samples_ms is read, not modified nor owned. With
 * count < 1, or out of memory, the fields that need data are NaN. */
void nnb_stats_compute(nnb_phase_stats *s);

#ifdef __cplusplus
}
#endif
#endif
