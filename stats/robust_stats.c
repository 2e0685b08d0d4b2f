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

nnb_verdict nnb_verdict_of(double lo, double hi, double threshold) {
    if (!(lo <= hi)) /* NaN */
        return NNB_VERDICT_UNDECIDED;
    if (lo >= 1.0 - threshold && hi <= 1.0 + threshold)
        return NNB_VERDICT_SAME;
    if (lo > 1.0 + threshold)
        return NNB_VERDICT_SLOWER;
    if (hi < 1.0 - threshold)
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
    int rc;
    if (n <= NNB_HL_MAX_N) {
        out->method = "hodges-lehmann";
        rc = nnb_hodges_lehmann(logs, n, confidence, &m, &lo, &hi);
    } else {
        out->method = "sign-test median";
        rc = nnb_median_ci(logs, n, confidence, &m, &lo, &hi);
    }
    free(logs);
    if (rc)
        return -1;
    /* exp is monotone: estimates and order statistics of the log-ratios map to the ratios'. */
    out->ratio = exp(m);
    out->lo = exp(lo);
    out->hi = exp(hi);
    out->half_width = isfinite(lo) && isfinite(hi) ? (out->hi - out->lo) / 2.0 / out->ratio : INFINITY;
    out->verdict = nnb_verdict_of(out->lo, out->hi, threshold);
    return 0;
}

int nnb_ratio_settled(const nnb_ratio_summary *s) { return s->verdict != NNB_VERDICT_UNDECIDED; }

/* ---- Hodges-Lehmann ------------------------------------------------------------ */

/* Upper-tail quantile of the standard normal: z with P(Z > z) = p, by bisection on erfc (p in (0, 0.5]). */
static double normal_upper_quantile(double p) {
    double lo = 0, hi = 40;
    for (int i = 0; i < 200; i++) {
        double mid = 0.5 * (lo + hi);
        if (0.5 * erfc(mid / sqrt(2.0)) > p)
            lo = mid;
        else
            hi = mid;
    }
    return 0.5 * (lo + hi);
}

int nnb_signed_rank_ci_rank(int n, double confidence) {
    if (n < 1 || !(confidence > 0 && confidence < 1))
        return 0;
    const double tail = (1.0 - confidence) / 2.0;
    const long long m = (long long)n * (n + 1) / 2;
    if (n > 200) {
        double sigma = sqrt((double)n * (n + 1) * (2.0 * n + 1) / 24.0);
        long long k = (long long)floor((double)m / 2.0 - normal_upper_quantile(tail) * sigma - 0.5) + 1;
        return k < 1 ? 0 : (int)k;
    }
    /* Exact law of T, the sum of the ranks with a positive sign: p[t] = P(T = t), adding one rank at a time. */
    double *p = calloc((size_t)m + 1, sizeof *p);
    if (!p)
        return 0;
    p[0] = 1;
    for (int i = 1; i <= n; i++) {
        long long top = (long long)i * (i + 1) / 2;
        for (long long t = top; t >= 0; t--)
            p[t] = 0.5 * (p[t] + (t >= i ? p[t - i] : 0));
    }
    double cdf = 0;
    int k = 0;
    for (long long t = 0; t <= m / 2; t++) {
        cdf += p[t];
        if (cdf > tail)
            break;
        k = (int)t + 1;
    }
    free(p);
    return k;
}

static double select_kth(double *v, long long n, long long k);

int nnb_hodges_lehmann(const double *x, int n, double confidence, double *estimate, double *lo, double *hi) {
    *estimate = *lo = *hi = NAN;
    if (n < 1 || n > NNB_HL_MAX_N)
        return -1;
    const long long m = (long long)n * (n + 1) / 2;
    double *w = malloc(sizeof(double) * (size_t)m); /* (M) Walsh averages */
    if (!w)
        return -1;
    long long at = 0;
    for (int i = 0; i < n; i++)
        for (int j = i; j < n; j++)
            w[at++] = 0.5 * (x[i] + x[j]);
    /* Quickselect leaves no larger element before the k-th, so order statistics can be taken in turn. */
    double upper_mid = select_kth(w, m, m / 2);
    *estimate = m % 2 ? upper_mid : 0.5 * (upper_mid + select_kth(w, m / 2, m / 2 - 1));
    int k = nnb_signed_rank_ci_rank(n, confidence);
    if (k < 1) {
        *lo = -INFINITY;
        *hi = INFINITY;
    } else {
        *lo = select_kth(w, m, k - 1);
        *hi = select_kth(w, m, m - k);
    }
    free(w);
    return 0;
}

/* ---- Bootstrap ---------------------------------------------------------------- */

static uint64_t splitmix64(uint64_t *state) {
    uint64_t z = (*state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

/* k-th smallest (0-based) of v[0..n), reordering v (Hoare's quickselect): afterwards no element before
 * position k is larger than v[k] and none after it is smaller. */
static double select_kth(double *v, long long n, long long k) {
    long long lo = 0, hi = n - 1;
    while (lo < hi) {
        double pivot = v[lo + (hi - lo) / 2];
        long long i = lo, j = hi;
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
