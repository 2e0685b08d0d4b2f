/* nnbench serve's summary of a run (serve.h): latency percentiles, queueing and compute, batch
 * histogram, throughput, and the LoadGen-style VALID/INVALID verdict. Pure arithmetic on the recorded
 * requests and batches, apart from the run itself (serve.c), so tests can feed it a known schedule. */
#define _GNU_SOURCE
#include "serve.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

double nnb_serve_percentile(const double *sorted, int n, double p) {
    if (n <= 0)
        return NAN;
    long rank = (long)ceil(p / 100.0 * n - 1e-9); /* 1-based nearest rank */
    if (rank < 1)
        rank = 1;
    if (rank > n)
        rank = n;
    return sorted[rank - 1];
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double mean_of(const double *v, int n) {
    double s = 0;
    for (int i = 0; i < n; i++)
        s += v[i];
    return n ? s / n : NAN;
}

void nnb_serve_summarise(const nnb_serve_request *rq, int total, int warmup, const nnb_serve_batch *bt, int nb,
                         int workers, nnb_serve_summary *s) {
    int m = total - warmup;
    double *lat = calloc((size_t)(m > 0 ? m : 1), sizeof *lat), *que = calloc((size_t)(m > 0 ? m : 1), sizeof *que),
           *cmp = calloc((size_t)(m > 0 ? m : 1), sizeof *cmp), *lag = calloc((size_t)(m > 0 ? m : 1), sizeof *lag);
    int k = 0;
    double first = INFINITY, last = -INFINITY;
    s->answered_once = s->unanswered = s->duplicates = 0;
    for (int i = 0; i < total; i++) {
        s->answered_once += rq[i].answered == 1;
        s->unanswered += rq[i].answered == 0;
        s->duplicates += rq[i].answered > 1;
    }
    s->measured_samples = 0;
    for (int i = warmup; i < total && lat; i++) {
        if (rq[i].answered != 1)
            continue;
        lat[k] = rq[i].response - rq[i].arrival;
        que[k] = rq[i].start - rq[i].arrival;
        cmp[k] = rq[i].end - rq[i].start;
        if (lag)
            lag[k] = rq[i].issued - rq[i].arrival;
        first = fmin(first, rq[i].arrival);
        last = fmax(last, rq[i].response);
        s->measured_samples += rq[i].samples;
        k++;
    }
    s->measured_requests = k;
    if (lat && que && cmp) {
        s->mean = mean_of(lat, k), s->queue_mean = mean_of(que, k), s->compute_mean = mean_of(cmp, k);
        qsort(lat, (size_t)k, sizeof *lat, cmp_double);
        qsort(que, (size_t)k, sizeof *que, cmp_double);
        qsort(cmp, (size_t)k, sizeof *cmp, cmp_double);
        s->p50 = nnb_serve_percentile(lat, k, 50), s->p90 = nnb_serve_percentile(lat, k, 90);
        s->p99 = nnb_serve_percentile(lat, k, 99), s->max = k ? lat[k - 1] : NAN, s->min = k ? lat[0] : NAN;
        s->queue_p99 = nnb_serve_percentile(que, k, 99), s->compute_p99 = nnb_serve_percentile(cmp, k, 99);
    }
    if (lag) {
        qsort(lag, (size_t)k, sizeof *lag, cmp_double);
        s->lag_p50 = nnb_serve_percentile(lag, k, 50), s->lag_p99 = nnb_serve_percentile(lag, k, 99);
        s->lag_max = k ? lag[k - 1] : NAN;
    }
    free(lat), free(que), free(cmp), free(lag);
    s->duration_s = k ? (last - first) / 1e3 : 0;
    s->whole_samples_per_s = s->duration_s > 0 ? s->measured_samples / s->duration_s : NAN;
    /* Batches holding a measured request (the first batch after warmup may mix both: it counts). */
    double *busy = calloc((size_t)workers, sizeof *busy), *done = calloc((size_t)workers, sizeof *done), sum = 0;
    int counted = 0;
    memset(s->histogram, 0, sizeof s->histogram);
    for (int b = 0; b < nb && busy && done; b++) {
        int measured = 0;
        for (int i = warmup; i < total && !measured; i++)
            measured = rq[i].batch == b && rq[i].answered;
        if (!measured)
            continue;
        busy[bt[b].worker] += bt[b].compute_end - bt[b].compute_start;
        done[bt[b].worker] += bt[b].samples;
        sum += bt[b].samples;
        counted++;
        s->histogram[bt[b].samples < 64 ? bt[b].samples : 64]++;
    }
    s->batches = counted;
    s->mean_batch_samples = counted ? sum / counted : NAN;
    s->core_samples_per_s = 0;
    for (int w = 0; w < workers && busy && done; w++)
        s->core_samples_per_s += busy[w] > 0 ? done[w] / (busy[w] / 1e3) : 0;
    free(busy), free(done);
}

static void append_reason(nnb_serve_summary *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void append_reason(nnb_serve_summary *s, const char *fmt, ...) {
    size_t used = strlen(s->verdict);
    if (used == 0)
        used = (size_t)snprintf(s->verdict, sizeof s->verdict, "INVALID:");
    va_list ap;
    va_start(ap, fmt);
    if (used < sizeof s->verdict)
        vsnprintf(s->verdict + used, sizeof s->verdict - used, fmt, ap);
    va_end(ap);
}

void nnb_serve_judge(const nnb_serve_options *o, int stopped_early, const char *error, nnb_serve_summary *s) {
    s->verdict[0] = 0;
    if (error && *error)
        append_reason(s, " runner error: %s;", error);
    if (stopped_early)
        append_reason(s, " stopped early (%s);", stopped_early == 1 ? "--serve-time-limit reached" : "interrupted");
    if (s->unanswered || s->duplicates)
        append_reason(s, " %d request(s) unanswered, %d answered more than once;", s->unanswered, s->duplicates);
    if (s->measured_requests < o->requests)
        append_reason(s, " %d of %d measured requests answered;", s->measured_requests, o->requests);
    if (s->duration_s < o->min_duration_s)
        append_reason(s, " measured for %.3g s < --min-duration %g s (raise --requests);", s->duration_s,
                      o->min_duration_s);
    if (o->latency_target_ms > 0 && !(s->p99 <= o->latency_target_ms))
        append_reason(s, " p99 %.4g ms > --latency-target-ms %g;", s->p99, o->latency_target_ms);
    s->valid = s->verdict[0] == 0;
    if (s->valid)
        snprintf(s->verdict, sizeof s->verdict, "VALID");
    else if (s->verdict[strlen(s->verdict) - 1] == ';')
        s->verdict[strlen(s->verdict) - 1] = 0;
}
