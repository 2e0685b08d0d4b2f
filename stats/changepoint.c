/* E-Divisive means with Welch's t-test (changepoint.h; the method: docs/history-changes.md). */
#include "changepoint.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- Student's t distribution through the regularized incomplete beta function ---- */

/* The continued fraction of I_x(a, b) (converges fast for x < (a + 1) / (a + b + 2)), evaluated by the
 * modified Lentz method: f = 1 + d1 / (1 + d2 / (1 + ...)), with the even and odd terms of the expansion
 * d_{2m} = m (b - m) x / ((a + 2m - 1)(a + 2m)), d_{2m+1} = -(a + m)(a + b + m) x / ((a + 2m)(a + 2m + 1)). */
static double beta_continued_fraction(double a, double b, double x) {
    const double tiny = 1e-300, eps = 1e-15;
    double f = 1.0, c = 1.0, d = 0.0;
    for (int j = 1; j <= 2000; j++) {
        int m = j / 2;
        double term = j % 2 ? -(a + m) * (a + b + m) * x / ((a + 2 * m) * (a + 2 * m + 1))
                            : m * (b - m) * x / ((a + 2 * m - 1) * (a + 2 * m));
        d = 1.0 + term * d;
        d = fabs(d) < tiny ? 1.0 / tiny : 1.0 / d;
        c = 1.0 + term / c;
        if (fabs(c) < tiny)
            c = tiny;
        double delta = c * d;
        f *= delta;
        if (fabs(delta - 1.0) < eps)
            break;
    }
    return f;
}

double nnb_incomplete_beta(double a, double b, double x) {
    if (!(a > 0 && b > 0 && x >= 0 && x <= 1))
        return NAN;
    if (x == 0 || x == 1)
        return x;
    if (x > (a + 1) / (a + b + 2)) /* the symmetry I_x(a, b) = 1 - I_{1-x}(b, a) keeps the fraction short */
        return 1.0 - nnb_incomplete_beta(b, a, 1.0 - x);
    double log_front = a * log(x) + b * log1p(-x) - (lgamma(a) + lgamma(b) - lgamma(a + b));
    return exp(log_front) / (a * beta_continued_fraction(a, b, x));
}

double nnb_t_two_sided_p(double t, double df) {
    if (isnan(t) || !(df > 0))
        return NAN;
    if (isinf(t))
        return 0.0;
    if (df > 1e7) /* the normal limit, where the beta function's arguments lose precision */
        return erfc(fabs(t) / sqrt(2.0));
    return nnb_incomplete_beta(df / 2, 0.5, df / (df + t * t));
}

double nnb_t_quantile_two_sided(double p, double df) {
    if (!(p > 0 && p < 1 && df > 0))
        return NAN;
    double lo = 0, hi = 1;
    while (nnb_t_two_sided_p(hi, df) > p && hi < 1e300)
        hi *= 2;
    for (int i = 0; i < 200 && hi - lo > 1e-13 * hi; i++) { /* the p-value falls as t grows */
        double mid = 0.5 * (lo + hi);
        *(nnb_t_two_sided_p(mid, df) > p ? &lo : &hi) = mid;
    }
    return 0.5 * (lo + hi);
}

double nnb_welch_p(double mean1, double var1, int n1, double mean2, double var2, int n2, double *t, double *df) {
    double a1 = var1 / n1, a2 = var2 / n2, se = sqrt(a1 + a2), diff = mean2 - mean1;
    double scale = 1e-12 * (fabs(mean1) + fabs(mean2));
    double dof = n1 + n2 - 2.0, tt, p;
    if (se <= scale) { /* no spread on either side (up to rounding): the means alone decide */
        int same = fabs(diff) <= scale;
        tt = same ? 0.0 : copysign(INFINITY, diff), p = same ? 1.0 : 0.0;
    } else {
        double denom = (n1 > 1 ? a1 * a1 / (n1 - 1) : 0) + (n2 > 1 ? a2 * a2 / (n2 - 1) : 0);
        dof = denom > 0 ? (a1 + a2) * (a1 + a2) / denom : dof;
        tt = diff / se, p = nnb_t_two_sided_p(tt, dof);
    }
    if (t)
        *t = tt;
    if (df)
        *df = dof;
    return p;
}

/* ---- E-Divisive means ---- */

nnb_cp_options nnb_cp_default_options(void) { return (nnb_cp_options){.window = 50, .max_p = 0.001, .min_size = 5}; }

static int fail(char *err, size_t err_len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int fail(char *err, size_t err_len, const char *fmt, ...) {
    if (err && err_len) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, err_len, fmt, ap);
        va_end(ap);
    }
    return -1;
}

/* Mean and variance (n - 1; 0 for one point) of x[a..b), two-pass for exact zeros on flat segments. */
static void segment_moments(const double *x, int a, int b, double *mean, double *var) {
    double sum = 0, ss = 0;
    for (int i = a; i < b; i++)
        sum += x[i];
    double mu = sum / (b - a);
    for (int i = a; i < b; i++)
        ss += (x[i] - mu) * (x[i] - mu);
    *mean = mu, *var = b - a > 1 ? ss / (b - a - 1) : 0.0;
}

/* Welch's p-value of x[a..t) against x[t..b). */
static double split_p(const double *x, int a, int t, int b) {
    double m1, v1, m2, v2;
    segment_moments(x, a, t, &m1, &v1);
    segment_moments(x, t, b, &m2, &v2);
    return nnb_welch_p(m1, v1, t - a, m2, v2, b - t, NULL, NULL);
}

/* The t-test p-value of a split chosen as the best of the b - a - 2 min_size + 1 splits of x[a..b) that
 * the search looked at is far smaller than a fixed split's would be: Bonferroni's correction for them. */
static double corrected_p(double p, int a, int b, int min_size) {
    double splits = b - a - 2 * min_size + 1;
    return splits > 1 ? fmin(1.0, p * splits) : p;
}

static double searched_p(const double *x, int a, int t, int b, int min_size) {
    return corrected_p(split_p(x, a, t, b), a, b, min_size);
}

/* The split tau of x[a..b) (both sides >= min_size) maximising the E-Divisive statistic
 *   q = m n / (m + n) * (2/(m n) sum|L - R| - 2/(m(m-1)) sum_{i<j}|L_i - L_j| - 2/(n(n-1)) sum_{i<j}|R_i - R_j|),
 * in O((b - a)^2): moving point p from the right side to the left changes the three sums by its distances
 * to the points on either side. *q = -1 when the segment is too short. */
static void best_split(const double *x, int a, int b, int min_size, int *tau, double *q) {
    *tau = -1, *q = -1;
    if (b - a < 2 * min_size)
        return;
    double within_left = 0, within_right = 0, across = 0;
    for (int i = a; i < b; i++)
        for (int j = i + 1; j < b; j++)
            within_right += fabs(x[i] - x[j]);
    for (int p = a; p < b - min_size; p++) {
        double to_left = 0, to_right = 0;
        for (int j = a; j < p; j++)
            to_left += fabs(x[p] - x[j]);
        for (int j = p + 1; j < b; j++)
            to_right += fabs(x[p] - x[j]);
        within_left += to_left, within_right -= to_right, across += to_right - to_left;
        double m = p + 1 - a, n = b - p - 1;
        if (m < min_size)
            continue;
        double stat = m * n / (m + n) *
                      (2 * across / (m * n) - 2 * within_left / (m * (m - 1)) - 2 * within_right / (n * (n - 1)));
        if (stat > *q)
            *q = stat, *tau = p + 1;
    }
}

/* E-Divisive on x[start..end): the best split of all segments is accepted while its t-test passes p_level;
 * the accepted points are appended to found (sorted). Returns how many were found, or -1 out of memory. */
static int split_window(const double *x, int start, int end, int min_size, double p_level, int *found) {
    int cap = (end - start) / min_size + 2, k = 2;
    int *bounds = malloc(sizeof(int) * (size_t)cap * 2);
    double *best_q = malloc(sizeof(double) * (size_t)cap);
    if (!bounds || !best_q)
        return free(bounds), free(best_q), -1;
    int *best_tau = bounds + cap;
    bounds[0] = start, bounds[1] = end;
    best_split(x, start, end, min_size, &best_tau[0], &best_q[0]);
    for (;;) {
        int s = -1;
        for (int i = 0; i + 1 < k; i++)
            if (best_tau[i] >= 0 && best_q[i] > 0 && (s < 0 || best_q[i] > best_q[s]))
                s = i;
        if (s < 0 || searched_p(x, bounds[s], best_tau[s], bounds[s + 1], min_size) > p_level)
            break;
        int tau = best_tau[s];
        memmove(bounds + s + 2, bounds + s + 1, sizeof(int) * (size_t)(k - s - 1));
        memmove(best_tau + s + 1, best_tau + s, sizeof(int) * (size_t)(k - s - 1));
        memmove(best_q + s + 1, best_q + s, sizeof(double) * (size_t)(k - s - 1));
        bounds[s + 1] = tau, k++;
        best_split(x, bounds[s], tau, min_size, &best_tau[s], &best_q[s]);
        best_split(x, tau, bounds[s + 2], min_size, &best_tau[s + 1], &best_q[s + 1]);
    }
    for (int i = 1; i + 1 < k; i++)
        found[i - 1] = bounds[i];
    free(bounds), free(best_q);
    return k - 2;
}

static int compare_ints(const void *a, const void *b) { return *(const int *)a - *(const int *)b; }

/* Otava's sliding windows: `window` points, moved by half a window or to the last change found. */
static int split_series(const double *x, int n, const nnb_cp_options *o, double p_level, int *cps) {
    int count = 0, step = o->window / 2 > 0 ? o->window / 2 : 1;
    for (int start = 0;;) {
        int end = start + o->window < n ? start + o->window : n, last = -1;
        if (end - start >= 2 * o->min_size) {
            int got = split_window(x, start, end, o->min_size, p_level, cps + count);
            if (got < 0)
                return -1;
            if (got > 0)
                last = cps[count + got - 1];
            count += got;
        }
        if (end == n)
            break;
        start = last > start + step ? last : start + step;
    }
    qsort(cps, (size_t)count, sizeof(int), compare_ints);
    int unique = 0;
    for (int i = 0; i < count; i++)
        if (unique == 0 || cps[i] != cps[unique - 1])
            cps[unique++] = cps[i];
    return unique;
}

/* Drops, one at a time, the change with a segment shorter than min_size or else the one with the largest
 * p-value above max_p, each judged against its neighbouring changes. Returns the count left. */
static int merge_weak(const double *x, int n, const nnb_cp_options *o, int *cps, int k) {
    while (k > 0) {
        int worst = -1, worst_short = 0;
        double worst_p = -1;
        for (int i = 0; i < k; i++) {
            int a = i ? cps[i - 1] : 0, b = i + 1 < k ? cps[i + 1] : n;
            int is_short = cps[i] - a < o->min_size || b - cps[i] < o->min_size;
            double p = searched_p(x, a, cps[i], b, o->min_size);
            if (worst < 0 || is_short > worst_short || (is_short == worst_short && p > worst_p))
                worst = i, worst_short = is_short, worst_p = p;
        }
        if (!worst_short && worst_p <= o->max_p)
            break;
        memmove(cps + worst, cps + worst + 1, sizeof(int) * (size_t)(k - worst - 1));
        k--;
    }
    return k;
}

static void describe_change(const double *x, int a, int t, int b, int min_size, int higher_is_better,
                            nnb_change_point *c) {
    double vb, va;
    segment_moments(x, a, t, &c->mean_before, &vb);
    segment_moments(x, t, b, &c->mean_after, &va);
    c->index = t, c->start_before = a, c->end_after = b;
    c->t_test_p = nnb_welch_p(c->mean_before, vb, t - a, c->mean_after, va, b - t, NULL, NULL);
    c->p_value = corrected_p(c->t_test_p, a, b, min_size);
    c->sd_before = sqrt(vb), c->sd_after = sqrt(va);
    c->magnitude = c->mean_after / c->mean_before;
    c->magnitude_lo = c->magnitude_hi = NAN;
    if (c->mean_before > 0 && c->mean_after > 0) {
        /* var(log mean) ~ var / (n mean^2) per side; Welch-Satterthwaite's df on those two terms. */
        double r1 = vb / ((t - a) * c->mean_before * c->mean_before);
        double r2 = va / ((b - t) * c->mean_after * c->mean_after);
        double se = sqrt(r1 + r2), denom = r1 * r1 / (t - a - 1) + r2 * r2 / (b - t - 1);
        double df = denom > 0 ? (r1 + r2) * (r1 + r2) / denom : b - a - 2;
        double half = se > 0 ? nnb_t_quantile_two_sided(0.05, df) * se : 0;
        c->magnitude_lo = c->magnitude * exp(-half), c->magnitude_hi = c->magnitude * exp(half);
    }
    c->slowdown = higher_is_better ? c->mean_after < c->mean_before : c->mean_after > c->mean_before;
}

static int check_input(const double *x, int n, const nnb_cp_options *o, char *err, size_t err_len) {
    if (n < 0 || (n > 0 && !x))
        return fail(err, err_len, "changepoint: no series given (n = %d)", n);
    if (o->min_size < 2)
        return fail(err, err_len, "changepoint: min_size %d is too small (at least 2 points a side)", o->min_size);
    if (o->window < 2 * o->min_size)
        return fail(err, err_len, "changepoint: window %d is shorter than 2 x min_size (%d)", o->window,
                    2 * o->min_size);
    if (!(o->max_p > 0 && o->max_p < 1))
        return fail(err, err_len, "changepoint: max_p %g is out of range (0 < max_p < 1, e.g. 0.001)", o->max_p);
    for (int i = 0; i < n; i++)
        if (!isfinite(x[i]))
            return fail(err, err_len, "changepoint: value %d is %g (every value must be a finite number)", i, x[i]);
    return 0;
}

int nnb_changepoints(const double *x, int n, const nnb_cp_options *opt, int higher_is_better, nnb_change_point **out,
                     int *count, char *err, size_t err_len) {
    nnb_cp_options o = opt ? *opt : nnb_cp_default_options();
    *out = NULL, *count = 0;
    if (check_input(x, n, &o, err, err_len))
        return -1;
    if (n < 2 * o.min_size)
        return 0;
    int *cps = malloc(sizeof(int) * ((size_t)n * 2 + (size_t)o.window + 4)); /* overlapping windows */
    if (!cps)
        return fail(err, err_len, "changepoint: out of memory for %d points", n);
    /* A looser first pass (as Otava's), so the split goes on past a weak point the merge then judges. */
    double first_p = fmin(10 * o.max_p, fmax(o.max_p, 0.05));
    int k = split_series(x, n, &o, first_p, cps);
    if (k >= 0)
        k = merge_weak(x, n, &o, cps, k);
    nnb_change_point *v = k > 0 ? calloc((size_t)k, sizeof *v) : NULL;
    if (k < 0 || (k > 0 && !v)) {
        free(cps);
        return fail(err, err_len, "changepoint: out of memory for %d points", n);
    }
    for (int i = 0; i < k; i++)
        describe_change(x, i ? cps[i - 1] : 0, cps[i], i + 1 < k ? cps[i + 1] : n, o.min_size, higher_is_better, &v[i]);
    free(cps);
    *out = v, *count = k;
    return 0;
}
