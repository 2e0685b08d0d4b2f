/*
 * Robust, distribution-free statistics for decisions: confidence intervals of
 * the median, paired A/B ratios with a verdict, and a bootstrap interval for the
 * ratio of two independent medians. Plain C, libm only: shared by the driver
 * (--ab, adaptive stopping, full JSON) and tools/compare.
 *
 * Conventions
 *   - confidence is a level in (0, 1), e.g. 0.95.
 *   - threshold is a relative noise threshold, e.g. 0.01 for 1%: a ratio
 *     interval inside [1 - threshold, 1 + threshold] means "same".
 *   - Ratios are B / A (new / old): above 1 means B is slower.
 *   - Inputs are never modified; functions that need sorted data copy.
 *   - Intervals that the data cannot give (too few samples for the level) are
 *     (-inf, +inf): a caller then sees "undecided", never a false verdict.
 */
#ifndef NNB_ROBUST_STATS_H
#define NNB_ROBUST_STATS_H

#include <nnbench/results.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Sample median of x (n >= 1; mean of the middle two when n is even). NaN for n < 1 or out of memory. */
double nnb_median_of(const double *x, int n);

/* Distribution-free confidence interval of the median from order statistics
 * (the sign test's binomial law): [x_(k), x_(n+1-k)] of the sorted sample with
 * the largest k such that P(Bin(n, 1/2) < k) <= (1 - confidence) / 2. Its
 * coverage is at least `confidence` for any continuous distribution of
 * independent samples. Needs n >= 6 at 95%; with fewer, lo = -inf, hi = +inf.
 * Returns 0, or -1 (out of memory, n < 1: all outputs NaN). */
int nnb_median_ci(const double *x, int n, double confidence, double *median, double *lo, double *hi);

/* Rank k (1-based) of the order statistic giving the lower bound above for n
 * samples, or 0 when no k reaches the level (n too small). */
int nnb_median_ci_rank(int n, double confidence);

/* nnb_verdict, nnb_verdict_name and nnb_ratio_summary: <nnbench/results.h>. */

/* The verdict of a ratio interval [lo, hi] (B / A) against a noise threshold. */
nnb_verdict nnb_verdict_of(double lo, double hi, double threshold);

/* Rank k (1-based) of the Walsh average giving the lower bound of the
 * Hodges-Lehmann interval for n samples: the largest k with P(T < k) <=
 * (1 - confidence) / 2 for Wilcoxon's signed-rank statistic T (exact law up to
 * n = 200, its normal approximation with continuity correction beyond). 0 when
 * n is too small for the level (n < 6 at 95%). */
int nnb_signed_rank_ci_rank(int n, double confidence);

/* Hodges-Lehmann estimate of the centre of a symmetric distribution (the median
 * of the n(n+1)/2 Walsh averages (x_i + x_j) / 2, i <= j) and its interval
 * [W_(k), W_(M+1-k)] with k from nnb_signed_rank_ci_rank: distribution-free for
 * independent samples of any continuous distribution symmetric about its centre,
 * and about 1.5x as efficient as the median's sign-test interval for
 * near-normal data. n <= NNB_HL_MAX_N (memory: 8 * n(n+1)/2 bytes). Returns 0,
 * or -1 (n < 1 or too large, out of memory: outputs NaN). */
#define NNB_HL_MAX_N 3000
int nnb_hodges_lehmann(const double *x, int n, double confidence, double *estimate, double *lo, double *hi);

/* Paired A/B summary of the per-pair log-ratios log(b[i] / a[i]), mapped back to
 * ratios: their Hodges-Lehmann estimate and interval (under "no difference"
 * A and B are exchangeable, so the log-ratios are symmetric about 0, which is
 * what that interval assumes); beyond NNB_HL_MAX_N pairs, the median and its
 * sign-test interval. */

/* Pairs with a non-positive or non-finite time are an error (-1); 0 on success. */
int nnb_paired_ratio(const double *a, const double *b, int n, double confidence, double threshold,
                     nnb_ratio_summary *out);

/* Adaptive stopping of an A/B comparison: settled once there is a verdict
 * (same, faster or slower). An interval that merely excludes 1 while it still
 * reaches across a threshold edge is undecided: stopping and judging on it at
 * whichever look first shows it would raise the false-positive rate of
 * repeated looks well above the nominal 5%. */
int nnb_ratio_settled(const nnb_ratio_summary *s);

/* Two independent samples (old, new: e.g. two runs' samples of one runner):
 * percentile bootstrap interval of median(new) / median(old), `resamples`
 * resamples of each side with replacement from a fixed-seed generator (the
 * same data give the same interval). ratio is the ratio of the sample medians.
 * Returns 0, or -1 (a sample empty or non-positive, out of memory). */
int nnb_bootstrap_median_ratio(const double *old_x, int n_old, const double *new_x, int n_new, double confidence,
                               int resamples, uint64_t seed, double *ratio, double *lo, double *hi);

#ifdef __cplusplus
}
#endif
#endif
