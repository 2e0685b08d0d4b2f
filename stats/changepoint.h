/*
 * Change points of a series of measurements over time (one value per run, oldest first), the way Apache
 * Otava (formerly Hunter) and MongoDB's signal-processing-algorithms find them: E-Divisive means with a
 * Student's (Welch's) t-test in place of the permutation test. docs/history-changes.md explains the method.
 *
 *  1. Split: windows of `window` points (sliding by half a window, restarting at the last change found)
 *     are split recursively at the point that maximises the E-Divisive statistic q (the energy distance
 *     between the two sides, alpha = 1, scaled by m*n/(m+n)); a candidate is kept while Welch's t-test
 *     between the two sides of its segment gives p <= a first-pass level (10 x max_p, at most 0.05).
 *  2. Merge: over the whole series, the change whose p-value against its neighbouring segments is the
 *     largest is dropped while that p-value is above max_p (or a segment is shorter than min_size), the
 *     p-values of its neighbours recomputed each time.
 * Unlike Otava, the p-value judged is Welch's times the number of splits the search chose from
 * (Bonferroni): the best of many splits of pure noise passes an uncorrected p <= 0.001 in about one
 * series of 200 points in ten; corrected, in fewer than one in a hundred.
 *
 * A leaf: libc and libm only. Inputs are never modified. Errors: functions returning int give 0 on
 * success and -1 with a one-line message in err (may be NULL); results are owned by the caller (free()).
 */
#ifndef NNB_CHANGEPOINT_H
#define NNB_CHANGEPOINT_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct nnb_cp_options {
    int window;   /* points per E-Divisive window (Otava: 50); >= 2 * min_size */
    double max_p; /* a change is kept when its t-test p-value is <= max_p (Otava: 0.001); 0 < max_p < 1 */
    int min_size; /* fewest points on either side of a change; >= 2 */
} nnb_cp_options;

/* window 50, max_p 0.001, min_size 5. */
nnb_cp_options nnb_cp_default_options(void);

/* One change: the series moves from the segment [start_before, index) to [index, end_after), each segment
 * reaching back (forward) to the previous (next) change or the series' start (end). */
typedef struct nnb_change_point {
    int index; /* the first point after the change */
    int start_before, end_after;
    double t_test_p; /* Welch's two-sided t-test, segment before against segment after */
    double p_value;  /* t_test_p x the splits of [start_before, end_after) searched (Bonferroni), at most 1 */
    double mean_before, mean_after; /* the segments' means */
    double sd_before, sd_after;     /* their standard deviations (n - 1) */
    /* mean_after / mean_before and its 95% interval: the delta method on the log of the ratio of two
     * independent means, with Welch-Satterthwaite's degrees of freedom (NaN when a mean is <= 0). */
    double magnitude, magnitude_lo, magnitude_hi;
    int slowdown; /* the change made it worse: the mean rose (lower is better) or fell (higher is better) */
} nnb_change_point;

/* The change points of x[0..n) (oldest first), in order. opt NULL: the defaults. *out is NULL when *count
 * is 0 (a series shorter than 2 * min_size has none). NaN or infinite values and bad options are refused
 * (-1, message naming the index or the option). */
int nnb_changepoints(const double *x, int n, const nnb_cp_options *opt, int higher_is_better, nnb_change_point **out,
                     int *count, char *err, size_t err_len);

/* The regularized incomplete beta function I_x(a, b) (a, b > 0, 0 <= x <= 1; NaN otherwise), by its
 * continued fraction (modified Lentz), accurate to about 1e-12. */
double nnb_incomplete_beta(double a, double b, double x);

/* P(|T| >= |t|) for Student's t with df > 0 degrees of freedom (df need not be an integer). */
double nnb_t_two_sided_p(double t, double df);

/* The t with P(|T| >= t) = p (0 < p < 1), e.g. p = 0.05 gives the 97.5% quantile: 2.228 for df = 10. */
double nnb_t_quantile_two_sided(double p, double df);

/* Welch's two-sided t-test from summary statistics (variances with n - 1, n1, n2 >= 2): the p-value, and
 * t and df where not NULL. Two samples without spread: p = 1 when their means are equal, else 0. */
double nnb_welch_p(double mean1, double var1, int n1, double mean2, double var2, int n2, double *t, double *df);

#ifdef __cplusplus
}
#endif
#endif
