#include "robust_stats.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static int compare_doubles(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double *sorted_copy(const double *x, int n) {
    double *s = malloc(sizeof(double) * (size_t)n);
    if (!s)
        return NULL;
    memcpy(s, x, sizeof(double) * (size_t)n);
    qsort(s, (size_t)n, sizeof(double), compare_doubles);
    return s;
}

static double median_of_sorted(const double *s, int n) { return n % 2 ? s[n / 2] : 0.5 * (s[n / 2 - 1] + s[n / 2]); }

double nnb_median_of(const double *x, int n) {
    if (n < 1)
        return NAN;
    double *s = sorted_copy(x, n);
    if (!s)
        return NAN;
    double m = median_of_sorted(s, n);
    free(s);
    return m;
}

int nnb_median_ci_rank(int n, double confidence) {
    if (n < 1 || !(confidence > 0 && confidence < 1))
        return 0;
    const double tail = (1.0 - confidence) / 2.0;
    const double log_norm = lgamma((double)n + 1) - n * log(2.0);
    double cdf = 0;
    int k = 0;
    for (int j = 0; j <= n / 2; j++) {
        cdf += exp(log_norm - lgamma((double)j + 1) - lgamma((double)(n - j) + 1)); /* P(X <= j) */
        if (cdf > tail)
            break;
        k = j + 1; /* P(X < k) = P(X <= j) <= tail */
    }
    return k;
}

static void ci_from_sorted(const double *s, int n, double confidence, double *lo, double *hi) {
    int k = nnb_median_ci_rank(n, confidence);
    if (k < 1) {
        *lo = -INFINITY;
        *hi = INFINITY;
        return;
    }
    *lo = s[k - 1];
    *hi = s[n - k];
}

int nnb_median_ci(const double *x, int n, double confidence, double *median, double *lo, double *hi) {
    *median = *lo = *hi = NAN;
    if (n < 1)
        return -1;
    double *s = sorted_copy(x, n);
    if (!s)
        return -1;
    *median = median_of_sorted(s, n);
    ci_from_sorted(s, n, confidence, lo, hi);
    free(s);
    return 0;
}

const char *nnb_verdict_name(nnb_verdict v) {
    switch (v) {
    case NNB_VERDICT_SAME:
        return "same";
    case NNB_VERDICT_FASTER:
        return "faster";
    case NNB_VERDICT_SLOWER:
        return "slower";
    default:
        return "undecided";
    }
}

nnb_verdict nnb_verdict_of(double lo, double hi, double threshold) {
    if (!(lo <= hi)) /* NaN */
        return NNB_VERDICT_UNDECIDED;
    if (lo >= 1.0 - threshold && hi <= 1.0 + threshold)
        return NNB_VERDICT_SAME;
    if (lo > 1.0)
        return NNB_VERDICT_SLOWER;
    if (hi < 1.0)
        return NNB_VERDICT_FASTER;
    return NNB_VERDICT_UNDECIDED;
}

int nnb_paired_ratio(const double *a, const double *b, int n, double confidence, double threshold,
                     nnb_ratio_summary *out) {
    memset(out, 0, sizeof *out);
    out->n = n;
    out->ratio = out->lo = out->hi = NAN;
    out->half_width = INFINITY;
    if (n < 1)
        return -1;
    double *logs = malloc(sizeof(double) * (size_t)n);
    if (!logs)
        return -1;
    for (int i = 0; i < n; i++) {
        if (!(a[i] > 0 && b[i] > 0 && isfinite(a[i]) && isfinite(b[i]))) {
            free(logs);
            return -1;
        }
        logs[i] = log(b[i] / a[i]); /* (n) paired log-ratios */
    }
    double m, lo, hi;
    int rc = nnb_median_ci(logs, n, confidence, &m, &lo, &hi);
    free(logs);
    if (rc)
        return -1;
    /* exp is monotone: the median and order statistics of the log-ratios map to the ratios'. */
    out->ratio = exp(m);
    out->lo = exp(lo);
    out->hi = exp(hi);
    out->half_width = isfinite(lo) && isfinite(hi) ? (out->hi - out->lo) / 2.0 / out->ratio : INFINITY;
    out->verdict = nnb_verdict_of(out->lo, out->hi, threshold);
    return 0;
}

int nnb_ratio_settled(const nnb_ratio_summary *s, double threshold) {
    if (!(s->lo <= s->hi))
        return 0;
    return s->verdict == NNB_VERDICT_SAME || s->lo > 1.0 + threshold || s->hi < 1.0 - threshold;
}

/* ---- Bootstrap ---------------------------------------------------------------- */

static uint64_t splitmix64(uint64_t *state) {
    uint64_t z = (*state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

/* k-th smallest (0-based) of v[0..n), reordering v (Hoare's quickselect). */
static double select_kth(double *v, int n, int k) {
    int lo = 0, hi = n - 1;
    while (lo < hi) {
        double pivot = v[lo + (hi - lo) / 2];
        int i = lo, j = hi;
        while (i <= j) {
            while (v[i] < pivot)
                i++;
            while (v[j] > pivot)
                j--;
            if (i <= j) {
                double t = v[i];
                v[i] = v[j];
                v[j] = t;
                i++;
                j--;
            }
        }
        if (k <= j)
            hi = j;
        else if (k >= i)
            lo = i;
        else
            return v[k];
    }
    return v[k];
}

static double resampled_median(const double *x, int n, double *scratch, uint64_t *rng) {
    for (int i = 0; i < n; i++)
        scratch[i] = x[splitmix64(rng) % (uint64_t)n];
    double upper = select_kth(scratch, n, n / 2);
    if (n % 2)
        return upper;
    return 0.5 * (upper + select_kth(scratch, n / 2, n / 2 - 1)); /* the lower half holds the (n/2-1)-th */
}

static int all_positive(const double *x, int n) {
    for (int i = 0; i < n; i++)
        if (!(x[i] > 0) || !isfinite(x[i]))
            return 0;
    return 1;
}

int nnb_bootstrap_median_ratio(const double *old_x, int n_old, const double *new_x, int n_new, double confidence,
                               int resamples, uint64_t seed, double *ratio, double *lo, double *hi) {
    *ratio = *lo = *hi = NAN;
    if (n_old < 1 || n_new < 1 || resamples < 1 || !all_positive(old_x, n_old) || !all_positive(new_x, n_new))
        return -1;
    int n_max = n_old > n_new ? n_old : n_new;
    double *scratch = malloc(sizeof(double) * (size_t)n_max);
    double *ratios = malloc(sizeof(double) * (size_t)resamples); /* (resamples) */
    if (!scratch || !ratios) {
        free(scratch);
        free(ratios);
        return -1;
    }
    uint64_t rng = seed;
    for (int r = 0; r < resamples; r++) {
        double m_old = resampled_median(old_x, n_old, scratch, &rng);
        ratios[r] = resampled_median(new_x, n_new, scratch, &rng) / m_old;
    }
    qsort(ratios, (size_t)resamples, sizeof(double), compare_doubles);
    double tail = (1.0 - confidence) / 2.0;
    int i_lo = (int)floor(tail * (resamples - 1)), i_hi = (int)ceil((1.0 - tail) * (resamples - 1));
    *lo = ratios[i_lo];
    *hi = ratios[i_hi];
    *ratio = nnb_median_of(new_x, n_new) / nnb_median_of(old_x, n_old);
    free(scratch);
    free(ratios);
    return 0;
}
