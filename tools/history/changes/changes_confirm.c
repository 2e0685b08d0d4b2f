/* "Confirmed" (docs/history-changes.md): a one-sided Mann-Whitney rank-sum test on the pooled samples of
 * up to CHANGES_CONFIRM_RUNS runs either side of a change. O(n log n) a change: a store with tens of
 * thousands of changes is checked in well under a second (a bootstrap of 2000 resamples took minutes). */
#include "changes.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    double value;
    int after; /* 1: a sample after the change */
} ranked;

static int by_value(const void *a, const void *b) {
    double x = ((const ranked *)a)->value, y = ((const ranked *)b)->value;
    return (x > y) - (x < y);
}

static int by_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* The median of v[0..n) (sorts v). */
static double median_of(double *v, int n) {
    qsort(v, (size_t)n, sizeof *v, by_double);
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

double changes_rank_sum_p(const double *before, int nb, const double *after, int na, int rose) {
    int n = nb + na;
    ranked *all = malloc(sizeof *all * (size_t)(n > 0 ? n : 1));
    if (!all || nb < 1 || na < 1)
        return free(all), NAN;
    for (int i = 0; i < nb; i++)
        all[i] = (ranked){before[i], 0};
    for (int i = 0; i < na; i++)
        all[nb + i] = (ranked){after[i], 1};
    qsort(all, (size_t)n, sizeof *all, by_value);
    /* Mid-ranks for ties; sum(t^3 - t) over the tie groups corrects the variance. */
    double rank_sum_after = 0, ties = 0;
    for (int i = 0; i < n;) {
        int j = i;
        while (j < n && all[j].value == all[i].value)
            j++;
        double mid_rank = 0.5 * (i + 1 + j), t = j - i;
        for (int k = i; k < j; k++)
            rank_sum_after += all[k].after ? mid_rank : 0;
        ties += t * t * t - t;
        i = j;
    }
    free(all);
    double u = rank_sum_after - 0.5 * na * (na + 1.0), mean = 0.5 * na * nb;
    double var = na * (double)nb / 12.0 * ((n + 1.0) - ties / ((double)n * (n - 1.0)));
    if (!(var > 0))
        return 1.0; /* every sample equal: no evidence either way */
    /* Continuity-corrected normal approximation; the alternative: after above before (rose) or below. */
    double z = ((rose ? u - mean : mean - u) - 0.5) / sqrt(var);
    return 0.5 * erfc(z / sqrt(2.0));
}

/* The samples of runs [from, to), pooled into a new array (NULL with *n 0 when none has any). */
static double *pool_samples(const nnb_store_point *p, int from, int to, int *n) {
    int total = 0;
    for (int i = from; i < to; i++)
        total += p[i].samples ? p[i].sample_count : 0;
    double *v = total > 0 ? malloc(sizeof(double) * (size_t)total) : NULL;
    *n = v ? total : 0;
    for (int i = from, at = 0; v && i < to; i++)
        if (p[i].samples)
            memcpy(v + at, p[i].samples, sizeof(double) * (size_t)p[i].sample_count), at += p[i].sample_count;
    return v;
}

void changes_confirm(const nnb_store_point *p, change_row *row) {
    const nnb_change_point *c = &row->cp;
    int from = c->index - CHANGES_CONFIRM_RUNS > c->start_before ? c->index - CHANGES_CONFIRM_RUNS : c->start_before;
    int to = c->index + CHANGES_CONFIRM_RUNS < c->end_after ? c->index + CHANGES_CONFIRM_RUNS : c->end_after;
    double *before = pool_samples(p, from, c->index, &row->samples_before);
    double *after = pool_samples(p, c->index, to, &row->samples_after);
    row->confirm = CONFIRM_NO_SAMPLES;
    row->confirm_ratio = row->confirm_p = NAN;
    if (row->samples_before >= 2 && row->samples_after >= 2) {
        int rose = c->mean_after > c->mean_before;
        row->confirm_p = changes_rank_sum_p(before, row->samples_before, after, row->samples_after, rose);
        double m_before = median_of(before, row->samples_before), m_after = median_of(after, row->samples_after);
        if (m_before > 0 && m_after > 0)
            row->confirm_ratio = m_after / m_before;
        if (isfinite(row->confirm_p))
            row->confirm = row->confirm_p < CHANGES_CONFIRM_P ? CONFIRM_YES : CONFIRM_NOT;
    }
    free(before), free(after);
}
