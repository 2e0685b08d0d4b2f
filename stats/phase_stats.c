#include "phase_stats.h"
#include "robust_stats.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static int compare_doubles(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

void nnb_stats_compute(nnb_phase_stats *s) {
    int n = s->count;
    if (n < 1) {
        s->mean = s->std = s->min = s->median = s->max = s->median_lo = s->median_hi = NAN;
        return;
    }
    double sum = 0;
    for (int i = 0; i < n; i++)
        sum += s->samples_ms[i];
    s->mean = sum / n;
    double sq = 0;
    for (int i = 0; i < n; i++)
        sq += (s->samples_ms[i] - s->mean) * (s->samples_ms[i] - s->mean);
    s->std = n > 1 ? sqrt(sq / (n - 1)) : 0.0;
    double *sorted = malloc(sizeof(double) * (size_t)n);
    if (!sorted) {
        s->min = s->median = s->max = s->median_lo = s->median_hi = NAN;
        return;
    }
    memcpy(sorted, s->samples_ms, sizeof(double) * (size_t)n);
    qsort(sorted, (size_t)n, sizeof(double), compare_doubles);
    s->min = sorted[0];
    s->max = sorted[n - 1];
    s->median = n % 2 ? sorted[n / 2] : 0.5 * (sorted[n / 2 - 1] + sorted[n / 2]);
    int k = nnb_median_ci_rank(n, NNB_CONFIDENCE);
    s->median_lo = k ? sorted[k - 1] : -INFINITY;
    s->median_hi = k ? sorted[n - k] : INFINITY;
    free(sorted);
}
