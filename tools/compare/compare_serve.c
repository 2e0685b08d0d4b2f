/*
 * nnbench serve files (docs/serving.md, bench/serve_report.c): reading the
 * summary and the measured requests' latencies, and comparing two runs: p50 and
 * p99 latency with a bootstrap interval from the per-request latencies, and
 * throughput (one number per run: no interval).
 */
#include "compare_internal.h"
#include "robust_stats.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

enum { REQUEST_ARRIVAL = 0, REQUEST_RESPONSE = 3 }; /* columns of "requests" rows */

void nnb_cmp_serve_free(nnb_cmp_serve *s) {
    if (!s)
        return;
    free(s->runner);
    free(s->latency_ms);
    free(s);
}

/* A number, or NaN for null or absent; -1 for anything else. */
static int optional_number(const cJSON *obj, const char *key, double *x) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    *x = cJSON_IsNumber(v) ? v->valuedouble : NAN;
    return !v || cJSON_IsNull(v) || cJSON_IsNumber(v) ? 0 : -1;
}

static int read_summary(const cJSON *root, const char *name, nnb_cmp_serve *s, char *err, size_t err_len) {
    const cJSON *summary = cJSON_GetObjectItemCaseSensitive(root, "summary");
    const cJSON *latency = cJSON_GetObjectItemCaseSensitive(summary, "latency_ms");
    if (!cJSON_IsObject(summary) || !cJSON_IsObject(latency)) {
        nnb_cmp_errorf(err, err_len, "%s: a serve file needs \"summary\" with \"latency_ms\" (docs/serving.md)", name);
        return -1;
    }
    const char *bad = optional_number(latency, "p50", &s->p50_ms)                       ? "summary.latency_ms.p50"
                      : optional_number(latency, "p99", &s->p99_ms)                     ? "summary.latency_ms.p99"
                      : optional_number(summary, "whole_samples_per_s", &s->throughput) ? "summary.whole_samples_per_s"
                                                                                        : NULL;
    if (bad) {
        nnb_cmp_errorf(err, err_len, "%s: %s: expected a number or null", name, bad);
        return -1;
    }
    double values[] = {s->p50_ms, s->p99_ms, s->throughput};
    for (int i = 0; i < 3; i++)
        if (values[i] < 0) {
            nnb_cmp_errorf(err, err_len, "%s: summary: %g is negative (a latency or a throughput)", name, values[i]);
            return -1;
        }
    return 0;
}

/* The measured requests' latencies (response - arrival), after config.warmup_requests;
 * unanswered requests (null times) are skipped, as nnbench serve's summary skips them. */
static int read_latencies(const cJSON *root, const char *name, nnb_cmp_serve *s, char *err, size_t err_len) {
    const cJSON *requests = cJSON_GetObjectItemCaseSensitive(root, "requests");
    if (!requests || cJSON_IsNull(requests))
        return 0;
    if (!cJSON_IsArray(requests)) {
        nnb_cmp_errorf(err, err_len, "%s: requests: expected an array of rows, got %s", name,
                       nnb_cmp_json_type(requests));
        return -1;
    }
    double warmup = 0;
    optional_number(cJSON_GetObjectItemCaseSensitive(root, "config"), "warmup_requests", &warmup);
    int n = cJSON_GetArraySize(requests), i = 0;
    s->latency_ms = malloc(sizeof(double) * (size_t)(n > 0 ? n : 1));
    if (!s->latency_ms) {
        nnb_cmp_errorf(err, err_len, "%s: out of memory for %d requests", name, n);
        return -1;
    }
    for (const cJSON *row = requests->child; row; row = row->next, i++) {
        const cJSON *arrival = cJSON_GetArrayItem(row, REQUEST_ARRIVAL);
        const cJSON *response = cJSON_GetArrayItem(row, REQUEST_RESPONSE);
        if (!cJSON_IsArray(row) || !arrival || !response) {
            nnb_cmp_errorf(err, err_len, "%s: requests[%d]: expected [arrival, start, end, response, ...]", name, i);
            return -1;
        }
        if (i < warmup || !cJSON_IsNumber(arrival) || !cJSON_IsNumber(response))
            continue;
        double latency = response->valuedouble - arrival->valuedouble;
        if (latency > 0 && isfinite(latency))
            s->latency_ms[s->latency_count++] = latency;
    }
    return 0;
}

int nnb_cmp_read_serve(const cJSON *root, const char *name, nnb_cmp_file *out, char *err, size_t err_len) {
    out->kind = NNB_CMP_SERVE_JSON;
    if (!(out->serve = calloc(1, sizeof *out->serve))) {
        nnb_cmp_errorf(err, err_len, "%s: out of memory", name);
        return -1;
    }
    const char *runner = cJSON_GetStringValue(
        cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(root, "config"), "runner"));
    if (!runner || !runner[0]) {
        nnb_cmp_errorf(err, err_len, "%s: a serve file needs config.runner: a non-empty string (docs/serving.md)",
                       name);
        return -1;
    }
    if (!(out->serve->runner = nnb_cmp_strdup(runner))) {
        nnb_cmp_errorf(err, err_len, "%s: out of memory", name);
        return -1;
    }
    if (read_summary(root, name, out->serve, err, err_len) || read_latencies(root, name, out->serve, err, err_len))
        return -1;
    return nnb_cmp_read_config(root, out, err, err_len);
}

/* ---- Comparing ------------------------------------------------------------------------------ */

static uint64_t splitmix64(uint64_t *state) {
    uint64_t z = (*state += UINT64_C(0x9e3779b97f4a7c15));
    z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
    return z ^ (z >> 31);
}

/* The k-th smallest (0-based) of x[n], reordering x (Hoare's selection). */
static double select_kth(double *x, int n, int k) {
    int lo = 0, hi = n - 1;
    while (lo < hi) {
        double pivot = x[lo + (hi - lo) / 2];
        int i = lo, j = hi;
        while (i <= j) {
            while (x[i] < pivot)
                i++;
            while (x[j] > pivot)
                j--;
            if (i <= j) {
                double t = x[i];
                x[i++] = x[j];
                x[j--] = t;
            }
        }
        if (k <= j)
            hi = j;
        else if (k >= i)
            lo = i;
        else
            break;
    }
    return x[k];
}

/* The p-th percentile by nearest rank, as nnbench serve reports its percentiles: the smallest
 * value with at least p% of the values at or below it. Reorders x. */
static double nearest_rank(double *x, int n, double p) {
    long rank = (long)ceil(p / 100.0 * n - 1e-9);
    rank = rank < 1 ? 1 : rank > n ? n : rank;
    return select_kth(x, n, (int)rank - 1);
}

static double resampled_percentile(const double *x, int n, double p, double *scratch, uint64_t *rng) {
    for (int i = 0; i < n; i++)
        scratch[i] = x[splitmix64(rng) % (uint64_t)n];
    return nearest_rank(scratch, n, p);
}

static int compare_doubles(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Percentile bootstrap interval of percentile_p(new) / percentile_p(old), as
 * nnb_bootstrap_median_ratio does for medians: each side resampled independently. */
static int bootstrap_percentile_ratio(const nnb_cmp_serve *o, const nnb_cmp_serve *n, double p,
                                      const nnb_cmp_options *opt, double *lo, double *hi) {
    int most = o->latency_count > n->latency_count ? o->latency_count : n->latency_count;
    double *scratch = malloc(sizeof(double) * (size_t)most), *ratios = malloc(sizeof(double) * (size_t)opt->resamples);
    if (!scratch || !ratios) {
        free(scratch);
        free(ratios);
        return -1;
    }
    uint64_t rng = opt->seed;
    for (int r = 0; r < opt->resamples; r++) {
        double old_p = resampled_percentile(o->latency_ms, o->latency_count, p, scratch, &rng);
        ratios[r] = resampled_percentile(n->latency_ms, n->latency_count, p, scratch, &rng) / old_p;
    }
    qsort(ratios, (size_t)opt->resamples, sizeof(double), compare_doubles);
    double tail = (1.0 - opt->confidence) / 2.0;
    *lo = ratios[(int)floor(tail * (opt->resamples - 1))];
    *hi = ratios[(int)ceil((1.0 - tail) * (opt->resamples - 1))];
    free(scratch);
    free(ratios);
    return 0;
}

static void fill_row(nnb_cmp_row *row, const char *runner, const char *metric, double old_value, double new_value) {
    memset(row, 0, sizeof *row);
    row->group = "serve";
    row->runner = runner;
    row->phase = -1;
    row->metric = metric;
    row->old_ms = old_value;
    row->new_ms = new_value;
    row->lo = row->hi = row->ratio = NAN;
    int comparable = old_value > 0 && new_value > 0 && isfinite(old_value) && isfinite(new_value);
    row->kind = comparable ? NNB_CMP_COMPARED : NNB_CMP_NO_TIME;
    if (comparable)
        row->ratio = new_value / old_value;
    else
        snprintf(row->note, sizeof row->note, "no %s in %s", metric,
                 !(old_value > 0 && isfinite(old_value)) ? "OLD" : "NEW");
}

static int latency_row(nnb_cmp_row *row, const nnb_cmp_serve *o, const nnb_cmp_serve *n, double p,
                       const nnb_cmp_options *opt) {
    fill_row(row, o->runner, p == 50 ? "p50 latency ms" : "p99 latency ms", p == 50 ? o->p50_ms : o->p99_ms,
             p == 50 ? n->p50_ms : n->p99_ms);
    if (row->kind != NNB_CMP_COMPARED)
        return 0;
    row->has_ci = o->latency_count >= 2 && n->latency_count >= 2;
    if (!row->has_ci) {
        row->verdict = "no samples";
        row->regressed = opt->fail_above > 0 && row->ratio > opt->fail_above;
        return 0;
    }
    if (bootstrap_percentile_ratio(o, n, p, opt, &row->lo, &row->hi))
        return -1;
    row->verdict = nnb_verdict_name(nnb_verdict_of(row->lo, row->hi, opt->noise_threshold));
    row->regressed = opt->fail_above > 0 && row->lo > opt->fail_above;
    return 0;
}

int nnb_cmp_compare_serve(nnb_cmp_report *r, char *err, size_t err_len) {
    const nnb_cmp_serve *o = r->old_file->serve, *n = r->new_file->serve;
    if (!(r->rows = calloc(3, sizeof *r->rows))) {
        nnb_cmp_errorf(err, err_len, "out of memory");
        return -1;
    }
    r->row_count = 3;
    if (latency_row(&r->rows[0], o, n, 50, &r->options) || latency_row(&r->rows[1], o, n, 99, &r->options)) {
        nnb_cmp_errorf(err, err_len, "serve latency bootstrap: out of memory");
        return -1;
    }
    nnb_cmp_row *tp = &r->rows[2];
    fill_row(tp, o->runner, "throughput samples/s", o->throughput, n->throughput);
    tp->higher_is_better = 1;
    if (tp->kind == NNB_CMP_COMPARED) {
        tp->verdict = "no interval";
        tp->regressed = r->options.fail_above > 0 && tp->ratio < 1.0 / r->options.fail_above;
    }
    for (int i = 0; i < r->row_count; i++)
        r->regressions += r->rows[i].regressed;
    return 0;
}
