/*
 * nnbench serve files (docs/serving.md, bench/serve_report.c): reading the
 * summary and the measured requests' latencies, and comparing two runs: p50 and
 * p99 latency with a bootstrap interval from the per-request latencies, and
 * throughput (one number per run: no interval). A sweep of serve runs holds one
 * such entry per point, its repeats pooled, and compares point by point.
 */
#include "compare_internal.h"
#include "robust_stats.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

enum { REQUEST_ARRIVAL = 0, REQUEST_RESPONSE = 3 }; /* columns of "requests" rows */

/* Requests needed above a percentile, in each file, for its interval: 10 for p50, 500 for p99. */
#define MIN_REQUESTS_ABOVE 5.0

void nnb_cmp_serve_free(nnb_cmp_file *f) {
    for (int i = 0; i < f->serve_count; i++) {
        free(f->serve[i].point);
        free(f->serve[i].runner);
        free(f->serve[i].latency_ms);
    }
    free(f->serve);
    f->serve = NULL;
    f->serve_count = 0;
}

int nnb_cmp_is_serve(const nnb_cmp_file *f) { return f->kind == NNB_CMP_SERVE_JSON || f->serve_count > 0; }

static nnb_cmp_serve *add_serve(nnb_cmp_file *f) {
    nnb_cmp_serve *grown = realloc(f->serve, sizeof *grown * (size_t)(f->serve_count + 1));
    if (!grown)
        return NULL;
    f->serve = grown;
    memset(&f->serve[f->serve_count], 0, sizeof *grown);
    return &f->serve[f->serve_count++];
}

static nnb_cmp_serve *find_point(const nnb_cmp_file *f, const char *point) {
    for (int i = 0; i < f->serve_count; i++) {
        const char *p = f->serve[i].point;
        if (p && point ? strcmp(p, point) == 0 : p == point)
            return &f->serve[i];
    }
    return NULL;
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

/* One run into s (zeroed by the caller); on failure s may hold memory for the caller to free. */
static int read_run(const cJSON *root, const char *name, nnb_cmp_serve *s, char *err, size_t err_len) {
    s->repeats = 1;
    const char *runner = cJSON_GetStringValue(
        cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(root, "config"), "runner"));
    if (!runner || !runner[0]) {
        nnb_cmp_errorf(err, err_len, "%s: a serve file needs config.runner: a non-empty string (docs/serving.md)",
                       name);
        return -1;
    }
    if (!(s->runner = nnb_cmp_strdup(runner))) {
        nnb_cmp_errorf(err, err_len, "%s: out of memory", name);
        return -1;
    }
    return read_summary(root, name, s, err, err_len) || read_latencies(root, name, s, err, err_len) ? -1 : 0;
}

int nnb_cmp_read_serve(const cJSON *root, const char *name, nnb_cmp_file *out, char *err, size_t err_len) {
    out->kind = NNB_CMP_SERVE_JSON;
    nnb_cmp_serve *s = add_serve(out);
    if (!s) {
        nnb_cmp_errorf(err, err_len, "%s: out of memory", name);
        return -1;
    }
    return read_run(root, name, s, err, err_len) || nnb_cmp_read_config(root, out, err, err_len) ? -1 : 0;
}

/* Adds run's latencies to have's, and its throughput to have's mean over the repeats. */
static int pool_run(nnb_cmp_serve *have, const nnb_cmp_serve *run) {
    double *grown = realloc(have->latency_ms, sizeof(double) * (size_t)(have->latency_count + run->latency_count + 1));
    if (!grown)
        return -1;
    if (run->latency_count) /* a run without requests has no array at all */
        memcpy(grown + have->latency_count, run->latency_ms, sizeof(double) * (size_t)run->latency_count);
    have->latency_ms = grown;
    have->latency_count += run->latency_count;
    if (!isfinite(have->throughput))
        have->throughput = run->throughput;
    else if (isfinite(run->throughput))
        have->throughput = (have->throughput * have->repeats + run->throughput) / (have->repeats + 1);
    have->repeats++;
    return 0;
}

int nnb_cmp_read_serve_run(const cJSON *root, const char *name, const char *point, nnb_cmp_file *out, char *err,
                           size_t err_len) {
    nnb_cmp_serve run;
    memset(&run, 0, sizeof run);
    nnb_cmp_serve *have = find_point(out, point);
    int rc = read_run(root, name, &run, err, err_len), out_of_memory = 0;
    if (rc == 0 && have) {
        out_of_memory = pool_run(have, &run) != 0;
    } else if (rc == 0) {
        if ((have = add_serve(out)) && (run.point = nnb_cmp_strdup(point))) {
            *have = run; /* ownership moved */
            memset(&run, 0, sizeof run);
        } else {
            out_of_memory = 1;
        }
    }
    free(run.point), free(run.runner), free(run.latency_ms);
    if (out_of_memory) {
        nnb_cmp_errorf(err, err_len, "%s: out of memory", name);
        return -1;
    }
    return rc ? -1 : nnb_cmp_read_config(root, out, err, err_len);
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

void nnb_cmp_serve_pool_percentiles(nnb_cmp_file *f) {
    for (int i = 0; i < f->serve_count; i++) {
        nnb_cmp_serve *s = &f->serve[i];
        if (s->repeats < 2 || s->latency_count < 1)
            continue; /* one run: its own summary stands */
        double *copy = malloc(sizeof(double) * (size_t)s->latency_count);
        if (!copy) {
            s->p50_ms = s->p99_ms = NAN; /* no time rather than one repeat's time as the pooled one */
            continue;
        }
        memcpy(copy, s->latency_ms, sizeof(double) * (size_t)s->latency_count);
        s->p50_ms = nearest_rank(copy, s->latency_count, 50);
        s->p99_ms = nearest_rank(copy, s->latency_count, 99);
        free(copy);
    }
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

static void fill_row(nnb_cmp_row *row, const nnb_cmp_serve *s, const char *metric, double old_value, double new_value) {
    memset(row, 0, sizeof *row);
    row->point = s->point;
    row->group = "serve";
    row->runner = s->runner;
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
    fill_row(row, o, p == 50 ? "p50 latency ms" : "p99 latency ms", p == 50 ? o->p50_ms : o->p99_ms,
             p == 50 ? n->p50_ms : n->p99_ms);
    if (row->kind != NNB_CMP_COMPARED)
        return 0;
    /* A bootstrap cannot see beyond the largest sample: for the p-th percentile it needs a few requests
     * above it on each side, or the resampled percentile is nearly always the same maximum and the
     * interval collapses to a point. */
    int needed = (int)ceil(MIN_REQUESTS_ABOVE / (1.0 - p / 100.0));
    row->has_ci = o->latency_count >= needed && n->latency_count >= needed;
    if (!row->has_ci) {
        row->verdict = o->latency_count && n->latency_count ? "too few requests" : "no samples";
        row->regressed = opt->fail_above > 0 && row->ratio > opt->fail_above;
        return 0;
    }
    if (bootstrap_percentile_ratio(o, n, p, opt, &row->lo, &row->hi))
        return -1;
    row->verdict = nnb_verdict_name(nnb_verdict_of(row->lo, row->hi, opt->noise_threshold));
    row->regressed = opt->fail_above > 0 && row->lo > opt->fail_above;
    return 0;
}

/* Three rows for a point both files have. */
static int compare_point(nnb_cmp_report *r, const nnb_cmp_serve *o, const nnb_cmp_serve *n) {
    nnb_cmp_row *rows = &r->rows[r->row_count];
    r->row_count += 3;
    if (latency_row(&rows[0], o, n, 50, &r->options) || latency_row(&rows[1], o, n, 99, &r->options))
        return -1;
    fill_row(&rows[2], o, "throughput samples/s", o->throughput, n->throughput);
    rows[2].higher_is_better = 1;
    if (rows[2].kind == NNB_CMP_COMPARED) {
        rows[2].verdict = "no interval";
        rows[2].regressed = r->options.fail_above > 0 && rows[2].ratio < 1.0 / r->options.fail_above;
    }
    return 0;
}

static void only_one_side(nnb_cmp_report *r, const nnb_cmp_serve *s, int in_old) {
    nnb_cmp_row *row = &r->rows[r->row_count++];
    fill_row(row, s, "-", NAN, NAN);
    row->metric = NULL;
    row->kind = in_old ? NNB_CMP_ONLY_OLD : NNB_CMP_ONLY_NEW;
    snprintf(row->note, sizeof row->note, "only in %s", in_old ? "OLD" : "NEW");
}

int nnb_cmp_compare_serve(nnb_cmp_report *r, char *err, size_t err_len) {
    const nnb_cmp_file *old_file = r->old_file, *new_file = r->new_file;
    r->rows = calloc((size_t)(3 * old_file->serve_count + new_file->serve_count + 1), sizeof *r->rows);
    if (!r->rows) {
        nnb_cmp_errorf(err, err_len, "out of memory");
        return -1;
    }
    for (int i = 0; i < old_file->serve_count; i++) {
        const nnb_cmp_serve *o = &old_file->serve[i], *n = find_point(new_file, o->point);
        if (!n) {
            only_one_side(r, o, 1);
        } else if (compare_point(r, o, n)) {
            nnb_cmp_errorf(err, err_len, "serve latency bootstrap: out of memory");
            return -1;
        }
    }
    for (int i = 0; i < new_file->serve_count; i++)
        if (!find_point(old_file, new_file->serve[i].point))
            only_one_side(r, &new_file->serve[i], 0);
    for (int i = 0; i < r->row_count; i++)
        r->regressions += r->rows[i].regressed;
    return 0;
}
