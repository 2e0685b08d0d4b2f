/* nnbench serve (serve.h): parse, create the workers' models, run the request generator and the worker
 * pool, summarise and judge. Outputs are in serve_report.c, process and GPU monitors in serve_sys.c. */
#define _GNU_SOURCE
#include "serve.h"

#include "driver.h"
#include "npy.h"
#include "progress.h"
#include "report.h"
#include "serve_queue.h"
#include "serve_sys.h"

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

enum { EXIT_INVALID = 1, EXIT_USAGE = 2, EXIT_CANNOT_RUN = 3, EXIT_INTERRUPTED = 130 };

/* ---- command line ------------------------------------------------------------------------------- */

typedef struct serve_flag {
    const char *name;
    char kind; /* i int, d double, s string, 0 switch */
    const char *help;
} serve_flag;

static const serve_flag serve_flags[] = {
    {"--runner", 's', "NAME: the runner to serve (it needs the inference entry, ABI 1.2)"},
    {"--mode", 's', "closed (default), poisson or offline"},
    {"--requests", 'i', "N: measured requests (default 200)"},
    {"--warmup-requests", 'i', "N: requests before them, not counted (default 10)"},
    {"--batch-size", 'i', "N: samples per request (default 1)"},
    {"--concurrency", 'i', "N: closed: requests outstanding (default 1)"},
    {"--qps", 'd', "R: poisson: requests per second"},
    {"--max-batch", 'i', "N: samples per batch at most (default: --batch-size, i.e. no batching)"},
    {"--max-batch-delay-ms", 'd', "MS: how long a worker collects after the first request (default 0)"},
    {"--workers", 'i', "N: worker threads, each with its own model (default 1)"},
    {"--min-duration", 'd', "S: valid only if the measured window lasts this long (default 0)"},
    {"--latency-target-ms", 'd', "MS: valid only if p99 latency is at most this"},
    {"--max-time", 'd', "S: stop and call the run invalid after this (default 600)"},
    {"--weights", 's', "DIR: serve these parameters (.npy files as --dump writes them, torchvision names)"},
    {"--csv", 's', "FILE: append one row per run (header once)"},
    {"--json-out", 's', "FILE: everything, every request (atomically)"},
    {"--idle-spin-us", 'd', "US: an idle worker polls the queue this long before it sleeps (default 0)"},
    {"--generator-spin-us", 'd', "US: poisson: the generator polls the last US before each arrival (default 2000)"},
    {"--no-warm", 0, "do not run every batch size 1..--max-batch once per worker before measuring"},
    {"--quiet", 0, "no table on stderr"},
};

static const serve_flag *find_serve_flag(const char *arg, size_t len) {
    for (size_t i = 0; i < sizeof serve_flags / sizeof *serve_flags; i++)
        if (strlen(serve_flags[i].name) == len && !strncmp(arg, serve_flags[i].name, len))
            return &serve_flags[i];
    return NULL;
}

static void serve_help(void) {
    printf("usage: nnbench serve --runner NAME [serve flags] [nnbench flags: sizes, --device, --threads, --seed, "
           "--runner-path ...]\n\nserve flags:\n");
    for (size_t i = 0; i < sizeof serve_flags / sizeof *serve_flags; i++)
        printf("  %-22s %s\n", serve_flags[i].name, serve_flags[i].help);
    printf("\nThe batch size of the model is --max-batch (do not give --miniBatch or --cnn-batch). --threads is\n"
           "split among the workers. Exit status: 0 valid run; 1 invalid (verdict says why) or a runner error;\n"
           "2 bad command line; 3 the runner cannot serve here; 130 interrupted. See docs/serving.md.\n");
}

int nnb_serve_fail(char *err, size_t err_len, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, err_len, fmt, ap);
    va_end(ap);
    return -1;
}

static int set_int(const char *flag, const char *v, int lo, int hi, int *out, char *err, size_t err_len) {
    char *end;
    errno = 0;
    long x = strtol(v, &end, 10);
    if (!*v || *end || errno || x < lo || x > hi)
        return nnb_serve_fail(err, err_len, "%s: '%s' is not an integer in %d..%d", flag, v, lo, hi);
    *out = (int)x;
    return 0;
}

static int set_double(const char *flag, const char *v, double lo, double hi, double *out, char *err, size_t err_len) {
    char *end;
    errno = 0;
    double x = strtod(v, &end);
    if (!*v || *end || errno || !(x >= lo && x <= hi))
        return nnb_serve_fail(err, err_len, "%s: '%s' is not a number in %g..%g", flag, v, lo, hi);
    *out = x;
    return 0;
}

static int apply_serve_flag(nnb_serve_options *o, const char *f, const char *v, char *err, size_t err_len) {
    if (!strcmp(f, "--runner"))
        return *v ? (o->runner = v, 0) : nnb_serve_fail(err, err_len, "--runner: empty name");
    if (!strcmp(f, "--mode")) {
        if (!strcmp(v, "closed"))
            return o->mode = NNB_SERVE_CLOSED, 0;
        if (!strcmp(v, "poisson"))
            return o->mode = NNB_SERVE_POISSON, 0;
        if (!strcmp(v, "offline"))
            return o->mode = NNB_SERVE_OFFLINE, 0;
        return nnb_serve_fail(err, err_len, "--mode: '%s' is not one of closed, poisson, offline", v);
    }
    if (!strcmp(f, "--requests"))
        return set_int(f, v, 1, 10000000, &o->requests, err, err_len);
    if (!strcmp(f, "--warmup-requests"))
        return set_int(f, v, 0, 1000000, &o->warmup_requests, err, err_len);
    if (!strcmp(f, "--batch-size"))
        return set_int(f, v, 1, 1 << 20, &o->batch_size, err, err_len);
    if (!strcmp(f, "--concurrency"))
        return set_int(f, v, 1, 1 << 20, &o->concurrency, err, err_len);
    if (!strcmp(f, "--qps"))
        return set_double(f, v, 1e-3, 1e7, &o->qps, err, err_len);
    if (!strcmp(f, "--max-batch"))
        return set_int(f, v, 1, 1 << 20, &o->max_batch, err, err_len);
    if (!strcmp(f, "--max-batch-delay-ms"))
        return set_double(f, v, 0, 60000, &o->max_delay_ms, err, err_len);
    if (!strcmp(f, "--workers"))
        return set_int(f, v, 1, 256, &o->workers, err, err_len);
    if (!strcmp(f, "--min-duration"))
        return set_double(f, v, 0, 1e6, &o->min_duration_s, err, err_len);
    if (!strcmp(f, "--latency-target-ms"))
        return set_double(f, v, 1e-6, 1e9, &o->latency_target_ms, err, err_len);
    if (!strcmp(f, "--max-time"))
        return set_double(f, v, 1e-3, 1e7, &o->max_time_s, err, err_len);
    if (!strcmp(f, "--weights"))
        return *v ? (o->weights_dir = v, 0) : nnb_serve_fail(err, err_len, "--weights: empty directory name");
    if (!strcmp(f, "--csv"))
        return *v ? (o->csv_path = v, 0) : nnb_serve_fail(err, err_len, "--csv: empty file name");
    if (!strcmp(f, "--idle-spin-us"))
        return set_double(f, v, 0, 1e6, &o->idle_spin_us, err, err_len);
    if (!strcmp(f, "--generator-spin-us"))
        return set_double(f, v, 0, 1e6, &o->generator_spin_us, err, err_len);
    if (!strcmp(f, "--json-out"))
        return *v ? (o->json_path = v, 0) : nnb_serve_fail(err, err_len, "--json-out: empty file name");
    return nnb_serve_fail(err, err_len, "internal: unhandled %s", f);
}

static int check_serve_combinations(nnb_serve_options *o, char **given, char *err, size_t err_len) {
    if (!o->runner)
        return nnb_serve_fail(err, err_len, "--runner NAME is required (see nnbench serve --help)");
    if (o->mode == NNB_SERVE_POISSON && o->qps <= 0)
        return nnb_serve_fail(err, err_len, "--mode poisson needs --qps R");
    if (o->mode != NNB_SERVE_POISSON && o->qps > 0)
        return nnb_serve_fail(err, err_len, "--qps goes with --mode poisson");
    if (o->mode != NNB_SERVE_CLOSED && given[0])
        return nnb_serve_fail(err, err_len, "--concurrency goes with --mode closed");
    if (!o->max_batch)
        o->max_batch = o->batch_size;
    if (o->batch_size > o->max_batch)
        return nnb_serve_fail(err, err_len,
                              "--batch-size %d is larger than --max-batch %d: no batch could hold a request",
                              o->batch_size, o->max_batch);
    for (const char *const *f =
             (const char *const[]){"--miniBatch", "--cnn-batch", "--nloops", "--warmup", "--json-out", "--print-json",
                                   "--ab", "--list", "--dump", "--check", "--profile", NULL};
         *f; f++)
        if (nnb_cli_given(&o->run, *f))
            return nnb_serve_fail(
                err, err_len, "%s does not apply to nnbench serve%s", *f,
                !strcmp(*f, "--miniBatch") || !strcmp(*f, "--cnn-batch") ? " (the model's batch is --max-batch)" : "");
    return 0;
}

int nnb_serve_parse(int argc, char **argv, nnb_serve_options *o, char *err, size_t err_len) {
    memset(o, 0, sizeof *o);
    o->requests = 200;
    o->warmup_requests = 10;
    o->batch_size = 1;
    o->concurrency = 1;
    o->workers = 1;
    o->max_time_s = 600;
    o->idle_spin_us = 0;
    o->generator_spin_us = 2000;
    char **rest = calloc((size_t)argc + 2, sizeof *rest);
    if (!rest)
        return nnb_serve_fail(err, err_len, "out of memory");
    int nrest = 0;
    rest[nrest++] = "nnbench";
    char *given[1] = {NULL}; /* --concurrency */
    int rc = 0;
    for (int i = 0; i < argc && !rc; i++) {
        const char *arg = argv[i];
        if (!strcmp(arg, "--help")) {
            serve_help();
            free(rest);
            exit(0);
        }
        size_t len = strcspn(arg, "=");
        const serve_flag *f = !strncmp(arg, "--", 2) ? find_serve_flag(arg, len) : NULL;
        if (!f) {
            rest[nrest++] = argv[i]; /* nnbench's own flags, checked by its parser */
            continue;
        }
        const char *v = arg[len] == '=' ? arg + len + 1 : NULL;
        if (!f->kind) {
            rc = v ? nnb_serve_fail(err, err_len, "%s takes no value", f->name) : 0;
            if (!strcmp(f->name, "--quiet"))
                o->quiet = 1;
            else
                o->no_warm = 1;
            continue;
        }
        if (!v && (v = i + 1 < argc ? argv[++i] : NULL) == NULL) {
            rc = nnb_serve_fail(err, err_len, "%s needs a value", f->name);
            continue;
        }
        if (!strcmp(f->name, "--concurrency"))
            given[0] = (char *)f->name;
        rc = apply_serve_flag(o, f->name, v, err, err_len);
    }
    if (!rc)
        rc = nnb_cli_parse(nrest, rest, &o->run, err, err_len);
    free(rest);
    if (!rc)
        rc = check_serve_combinations(o, given, err, err_len);
    return rc;
}

/* ---- for nnbench sweep --serve ------------------------------------------------------------------ */

int nnb_serve_axis_flag(const char *name, char *canonical, size_t cap, char *err, size_t err_len) {
    char dashed[80];
    snprintf(dashed, sizeof dashed, "%s%s", strncmp(name, "--", 2) ? "--" : "", name);
    const serve_flag *f = find_serve_flag(dashed, strlen(dashed));
    if (!f)
        return nnb_cli_axis_flag(name, canonical, cap, err, err_len); /* sizes, --threads, --fuser, ... */
    if (!f->kind || !strcmp(f->name, "--json-out") || !strcmp(f->name, "--csv"))
        return nnb_serve_fail(err, err_len, "%s cannot vary along a serve sweep's axis", f->name);
    snprintf(canonical, cap, "%s", f->name);
    return 0;
}

int nnb_serve_base_flag(const char *flag, char *err, size_t err_len) {
    if (find_serve_flag(flag, strcspn(flag, "=")))
        return strncmp(flag, "--json-out", 10) ? 0
                                               : nnb_serve_fail(err, err_len,
                                                                "--json-out cannot be given to a sweep: the sweep "
                                                                "sets each run's outputs itself");
    return nnb_cli_sweep_base_flag(flag, err, err_len);
}

int nnb_serve_check_argv(int argc, char **argv, char *err, size_t err_len) {
    static nnb_serve_options o;
    char **copy = nnb_cli_copy_argv(argc, argv); /* the parser cuts list values in place */
    int rc = copy ? nnb_serve_parse(argc - 1, copy + 1, &o, err, err_len) || nnb_cli_check_sizes(&o.run, err, err_len)
                  : (snprintf(err, err_len, "out of memory"), -1);
    nnb_cli_free_argv(copy);
    return rc ? -1 : 0;
}

/* ---- statistics ---------------------------------------------------------------------------------- */

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
        append_reason(s, " stopped early (%s);", stopped_early == 1 ? "--max-time reached" : "interrupted");
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

/* ---- the run ------------------------------------------------------------------------------------- */

typedef struct worker {
    struct server *srv;
    int index;
    void *model;
    nnb_cuda_serve_lane *lane;
    nnb_infer_io io;
    pthread_t thread;
} worker;

typedef struct server {
    const nnb_serve_options *o;
    const nnb_runner_desc *d;
    nnb_serve_queue queue;
    nnb_serve_request *rq;
    int *sizes;
    int total;
    nnb_serve_batch *bt;
    int nb, bt_cap;
    pthread_mutex_t lock; /* rq answers, bt, counters */
    pthread_cond_t progress;
    int answered, next_issue, stop; /* stop: 1 max time, 2 interrupted, 3 runner error */
    char error[1024];
    worker *workers;
    double progress_t0_ms; /* requests began: --progress's rate counts from here */
} server;

static void issue(server *s, int i, double arrival) {
    s->rq[i].arrival = arrival;
    s->rq[i].issued = nnb_cpu_now_ms();
    nnb_serve_queue_push(&s->queue, i);
}

/* Record a finished batch; closed mode sends a new request per response. */
static void complete_batch(server *s, worker *w, const int *ids, int n, int samples, double formed, double t0,
                           double t1, const double ms[3]) {
    double now = nnb_cpu_now_ms();
    pthread_mutex_lock(&s->lock);
    if (s->nb == s->bt_cap) {
        int cap = s->bt_cap ? 2 * s->bt_cap : 1024;
        nnb_serve_batch *grown = realloc(s->bt, sizeof *grown * (size_t)cap);
        if (grown)
            s->bt = grown, s->bt_cap = cap;
    }
    int b = s->nb < s->bt_cap ? s->nb++ : -1;
    if (b >= 0)
        s->bt[b] = (nnb_serve_batch){w->index, n, samples, formed, t0, t1, ms[0], ms[1], ms[2]};
    for (int k = 0; k < n; k++) {
        nnb_serve_request *r = &s->rq[ids[k]];
        r->batch = b;
        r->start = t0, r->end = t1, r->response = now;
        r->answered++;
    }
    s->answered += n;
    int to_issue = 0;
    if (s->o->mode == NNB_SERVE_CLOSED && !s->stop)
        for (int k = 0; k < n && s->next_issue < s->total; k++)
            to_issue++, s->next_issue++;
    int first_new = s->next_issue - to_issue;
    pthread_cond_broadcast(&s->progress);
    pthread_mutex_unlock(&s->lock);
    for (int k = 0; k < to_issue; k++)
        issue(s, first_new + k, now);
}

static void *worker_main(void *arg) {
    worker *w = arg;
    server *s = w->srv;
    int *ids = malloc(sizeof *ids * (size_t)s->o->max_batch);
    char err[600];
    for (double formed; ids;) {
        int n =
            nnb_serve_queue_next_batch(&s->queue, s->o->max_batch, s->o->max_delay_ms, ids, s->o->max_batch, &formed);
        if (n == 0)
            break;
        int samples = 0;
        for (int k = 0; k < n; k++)
            samples += s->sizes[ids[k]];
        double ms[3] = {0, 0, 0}, t0 = nnb_cpu_now_ms();
        int rc = w->lane ? nnb_cuda_serve_lane_run(w->lane, &w->io, samples, s->d->infer, w->model, ms, err, sizeof err)
                         : s->d->infer(w->model, samples, err, sizeof err);
        double t1 = nnb_cpu_now_ms();
        if (!w->lane)
            ms[1] = t1 - t0;
        if (rc) {
            pthread_mutex_lock(&s->lock);
            if (!s->stop) {
                s->stop = 3;
                snprintf(s->error, sizeof s->error, "worker %d: infer(%d): %s", w->index, samples, err);
            }
            pthread_cond_broadcast(&s->progress);
            pthread_mutex_unlock(&s->lock);
            nnb_serve_queue_close(&s->queue);
            break;
        }
        complete_batch(s, w, ids, n, samples, formed, t0, t1, ms);
    }
    free(ids);
    return NULL;
}

/* splitmix64: the poisson generator's seeded uniform numbers. */
static double next_uniform(uint64_t *state) {
    uint64_t z = (*state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    z ^= z >> 31;
    return ((double)(z >> 11) + 0.5) / 9007199254740992.0; /* (0, 1) */
}

/* Sleep most of the way, poll the last spin_ms: a sleep here oversleeps by 0.1 ms typically and more than
 * 1 ms at p99, which would make arrivals late (the lag is measured and reported). */
static void sleep_until(double t_ms, double spin_ms) {
    for (double now; (now = nnb_cpu_now_ms()) < t_ms;) {
        double left = t_ms - now;
        if (left > spin_ms) {
            struct timespec ts = {(time_t)((left - spin_ms) / 1e3), (long)(fmod(left - spin_ms, 1e3) * 1e6)};
            nanosleep(&ts, NULL);
        }
    }
}

static void *poisson_main(void *arg) {
    server *s = arg;
    uint64_t rng = s->o->run.config.seed ^ 0x5e7e5e7e5e7eULL;
    double t = nnb_cpu_now_ms();
    for (int i = 0; i < s->total; i++) {
        t += -log(next_uniform(&rng)) / s->o->qps * 1e3;
        sleep_until(t, s->o->generator_spin_us / 1e3);
        pthread_mutex_lock(&s->lock);
        int stop = s->stop;
        if (!stop)
            s->next_issue = i + 1;
        pthread_mutex_unlock(&s->lock);
        if (stop)
            break;
        issue(s, i, t); /* latency counts from the scheduled time */
    }
    return NULL;
}

/* --progress: requests answered of all (warmup included), the time left at the rate so far. */
static void report_progress(const server *s) {
    char text[160], left[32] = "";
    double elapsed_ms = nnb_cpu_now_ms() - s->progress_t0_ms;
    if (s->answered > 0) {
        nnb_progress_duration(elapsed_ms / 1e3 / s->answered * (s->total - s->answered), left, sizeof left);
        snprintf(text, sizeof text, "%d/%d requests answered, about %s left", s->answered, s->total, left);
    } else {
        snprintf(text, sizeof text, "%d/%d requests answered", s->answered, s->total);
    }
    nnb_progress_status("nnbench serve", text, 0);
}

/* Wait until `target` requests are answered, the max time passes, a runner fails or a signal comes. */
static void wait_for(server *s, int target, double deadline_ms) {
    pthread_mutex_lock(&s->lock);
    while (s->answered < target && !s->stop) {
        report_progress(s);
        if (nnb_stop_requested()) {
            s->stop = 2;
            break;
        }
        if (nnb_cpu_now_ms() > deadline_ms) {
            s->stop = 1;
            break;
        }
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_nsec += 20 * 1000 * 1000;
        if (ts.tv_nsec >= 1000000000L)
            ts.tv_sec++, ts.tv_nsec -= 1000000000L;
        pthread_cond_timedwait(&s->progress, &s->lock, &ts);
    }
    pthread_mutex_unlock(&s->lock);
}

static int run_requests(server *s) {
    const nnb_serve_options *o = s->o;
    s->progress_t0_ms = nnb_cpu_now_ms();
    double deadline = nnb_cpu_now_ms() + o->max_time_s * 1e3;
    pthread_t gen;
    int have_gen = 0;
    if (o->mode == NNB_SERVE_CLOSED) {
        int c = o->concurrency < s->total ? o->concurrency : s->total;
        pthread_mutex_lock(&s->lock);
        s->next_issue = c;
        pthread_mutex_unlock(&s->lock);
        double now = nnb_cpu_now_ms();
        for (int i = 0; i < c; i++)
            issue(s, i, now);
    } else if (o->mode == NNB_SERVE_POISSON) {
        have_gen = pthread_create(&gen, NULL, poisson_main, s) == 0;
    } else { /* offline: the warmup requests first, then every measured one at once */
        double now = nnb_cpu_now_ms();
        for (int i = 0; i < o->warmup_requests; i++)
            issue(s, i, now);
        wait_for(s, o->warmup_requests, deadline);
        now = nnb_cpu_now_ms();
        for (int i = o->warmup_requests; i < s->total && !s->stop; i++)
            issue(s, i, now);
    }
    wait_for(s, s->total, deadline);
    pthread_mutex_lock(&s->lock);
    if (!s->stop && s->answered < s->total)
        s->stop = 1;
    int stop = s->stop;
    if (!stop)
        s->stop = 4; /* finished: the generator and closed-mode issuing end */
    pthread_mutex_unlock(&s->lock);
    nnb_progress_clear();
    nnb_serve_queue_close(&s->queue);
    if (have_gen)
        pthread_join(gen, NULL);
    return stop;
}

/* ---- models ------------------------------------------------------------------------------------- */

/* Inputs, not parameters: x, hx, cx, lengths and upstream gradients (grad_y, grad_logits). */
static int is_input(const char *name) {
    return !strcmp(name, "x") || !strcmp(name, "hx") || !strcmp(name, "cx") || !strcmp(name, "lengths") ||
           !strncmp(name, "grad_", 5);
}

static void shape_text(char *buf, size_t len, int ndim, const int64_t *shape) {
    size_t used = (size_t)snprintf(buf, len, "(");
    for (int i = 0; i < ndim && used < len; i++)
        used += (size_t)snprintf(buf + used, len - used, "%s%lld", i ? ", " : "", (long long)shape[i]);
    if (used < len)
        snprintf(buf + used, len - used, ")");
}

/* --weights DIR: every parameter params() lists but the inputs, from DIR/<runner>/<name>.npy or DIR/<name>.npy. */
/* BatchNorm running statistics: state, not parameters (forward updates them), so runners list them among
 * outputs(); --weights loads them too. */
static int is_running_stat(const char *name) {
    size_t n = strlen(name);
    return (n > 13 && !strcmp(name + n - 13, ".running_mean")) || (n > 12 && !strcmp(name + n - 12, ".running_var"));
}

/* The i-th loadable tensor of the model (params() but inputs, then outputs()' running statistics); NULL past
 * the end. The view is valid until the next call into the model. */
static const nnb_tensor *loadable(const nnb_runner_desc *d, void *model, int i, char *err, size_t err_len) {
    nnb_tensor_list l;
    char msg[512];
    if (d->params(model, &l, msg, sizeof msg))
        return nnb_serve_fail(err, err_len, "--weights: params: %s", msg), NULL;
    for (int k = 0; k < l.count; k++)
        if (!is_input(l.items[k].name) && i-- == 0)
            return &l.items[k];
    if (!d->outputs || d->outputs(model, &l, msg, sizeof msg))
        return NULL;
    for (int k = 0; k < l.count; k++)
        if (is_running_stat(l.items[k].name) && i-- == 0)
            return &l.items[k];
    return NULL;
}

static int load_one(const nnb_runner_desc *d, void *model, const char *base, const nnb_tensor *t, char *err,
                    size_t err_len) {
    char path[4400], want[128], got[128], msg[512];
    snprintf(path, sizeof path, "%s/%.255s.npy", base, t->name);
    nnb_npy_array a;
    if (nnb_npy_read(path, &a, msg, sizeof msg))
        return nnb_serve_fail(err, err_len, "--weights: parameter %s: %s", t->name, msg);
    int same = a.dtype == t->dtype && a.ndim == t->ndim;
    for (int k = 0; same && k < a.ndim; k++)
        same = a.shape[k] == t->shape[k];
    shape_text(want, sizeof want, t->ndim, t->shape);
    shape_text(got, sizeof got, a.ndim, a.shape);
    if (!same) {
        nnb_npy_free(&a);
        return nnb_serve_fail(err, err_len, "--weights: %s has shape %s, runner %s's %s is %s", path, got, d->name,
                              t->name, want);
    }
    nnb_tensor v = *t;
    v.data = a.data;
    int rc = d->load_param(model, &v, msg, sizeof msg);
    nnb_npy_free(&a);
    return rc ? nnb_serve_fail(err, err_len, "--weights: %s: %s", t->name, msg) : 0;
}

int nnb_serve_load_weights(const nnb_runner_desc *d, void *model, const char *dir, char *err, size_t err_len) {
    char base[4096];
    struct stat st;
    snprintf(base, sizeof base, "%s/%s", dir, d->name);
    if (stat(base, &st) != 0 || !S_ISDIR(st.st_mode))
        snprintf(base, sizeof base, "%s", dir);
    if (stat(base, &st) != 0 || !S_ISDIR(st.st_mode))
        return nnb_serve_fail(err, err_len, "--weights: '%s' is not a directory", dir);
    if (!d->load_param)
        return nnb_serve_fail(err, err_len, "--weights: runner %s cannot load parameters (no load_param entry)",
                              d->name);
    err[0] = 0;
    int i = 0;
    for (const nnb_tensor *t; (t = loadable(d, model, i, err, err_len)); i++) {
        nnb_tensor copy = *t; /* the list may change under load_param */
        char name[256];
        snprintf(name, sizeof name, "%s", t->name);
        copy.name = name;
        if (load_one(d, model, base, &copy, err, err_len))
            return -1;
    }
    if (err[0])
        return -1;
    return i ? 0 : nnb_serve_fail(err, err_len, "--weights: runner %s lists no parameters to load", d->name);
}

/* Bytes of one batch of n samples in and out, from infer_io (cuda). */
static size_t io_bytes(size_t rows, size_t sample_bytes, int n) { return (rows ? rows : 1) * sample_bytes * (size_t)n; }

static int make_worker(server *s, worker *w, const nnb_config *base, int cuda, double *create_ms, char *err,
                       size_t err_len) {
    nnb_config cfg = *base;
    char msg[512];
    double t0 = nnb_cpu_now_ms();
    if (cuda) { /* the lane's streams first: the model enqueues on its compute stream */
        if (!(w->lane = nnb_cuda_serve_lane_create(0, 0, msg, sizeof msg)))
            return nnb_serve_fail(err, err_len, "worker %d: %s", w->index, msg);
        cfg.cuda_stream = nnb_cuda_serve_lane_stream(w->lane);
    }
    if (!(w->model = s->d->create(&cfg, msg, sizeof msg)))
        return nnb_serve_fail(err, err_len, "create: %s", msg);
    if (s->o->weights_dir && nnb_serve_load_weights(s->d, w->model, s->o->weights_dir, err, err_len))
        return -1;
    if (create_ms)
        *create_ms = nnb_cpu_now_ms() - t0;
    if (!cuda)
        return 0;
    w->io.struct_size = sizeof w->io;
    if (!s->d->infer_io)
        return nnb_serve_fail(err, err_len, "runner %s runs on cuda but has no infer_io entry", s->d->name);
    if (s->d->infer_io(w->model, &w->io, msg, sizeof msg))
        return nnb_serve_fail(err, err_len, "infer_io: %s", msg);
    size_t in = io_bytes(w->io.input_rows, w->io.input_sample_bytes, s->o->max_batch);
    size_t out = io_bytes(w->io.output_rows, w->io.output_sample_bytes, s->o->max_batch);
    if (nnb_cuda_serve_lane_buffers(w->lane, in, out, msg, sizeof msg))
        return nnb_serve_fail(err, err_len, "worker %d: %s", w->index, msg);
    return 0;
}

static void destroy_workers(server *s, int n) {
    for (int i = 0; i < n; i++) {
        if (s->workers[i].model)
            s->d->destroy(s->workers[i].model);
        nnb_cuda_serve_lane_destroy(s->workers[i].lane);
    }
}

/* Worker 0's first response to one request, right after create: the cold start's second part. */
static int first_response(server *s, double *ms, char *err, size_t err_len) {
    worker *w = &s->workers[0];
    double t0 = nnb_cpu_now_ms(), lane_ms[3];
    char msg[512];
    int rc = w->lane ? nnb_cuda_serve_lane_run(w->lane, &w->io, s->o->batch_size, s->d->infer, w->model, lane_ms, msg,
                                               sizeof msg)
                     : s->d->infer(w->model, s->o->batch_size, msg, sizeof msg);
    *ms = nnb_cpu_now_ms() - t0;
    return rc ? nnb_serve_fail(err, err_len, "first infer(%d): %s", s->o->batch_size, msg) : 0;
}

/* Every batch size a worker may see, once, before measuring: runners that build per-size plans lazily
 * (oneDNN primitives, cuDNN algorithms) pay for them here, not in the measured requests' latency. */
static int warm_workers(server *s, double *ms, char *err, size_t err_len) {
    double t0 = nnb_cpu_now_ms(), lane_ms[3];
    char msg[512];
    for (int i = 0; i < s->o->workers; i++)
        for (int n = 1; n <= s->o->max_batch; n++) {
            worker *w = &s->workers[i];
            int rc = w->lane
                         ? nnb_cuda_serve_lane_run(w->lane, &w->io, n, s->d->infer, w->model, lane_ms, msg, sizeof msg)
                         : s->d->infer(w->model, n, msg, sizeof msg);
            if (rc)
                return nnb_serve_fail(err, err_len, "worker %d: warming infer(%d): %s", i, n, msg);
        }
    *ms = nnb_cpu_now_ms() - t0;
    return 0;
}

static const char *pick_serve_device(const nnb_serve_options *o) {
    char reason[300];
    if (o->run.device)
        return o->run.device;
    return nnb_cuda_usable_probe(reason, sizeof reason) ? NNB_DEVICE_CUDA : NNB_DEVICE_CPU;
}

/* The runner to serve, or NULL with err and *exit_code. */
static const nnb_runner_desc *find_runner(const nnb_serve_options *o, const nnb_registry *reg, const char *device,
                                          nnb_config *cfg, int *exit_code, char *err, size_t err_len) {
    const nnb_loaded_runner *lr = nnb_registry_find_on(reg, o->runner, device);
    *exit_code = EXIT_USAGE;
    if (!lr) {
        nnb_serve_fail(err, err_len, "--runner %s: no such runner on %s (nnbench --list shows them)", o->runner,
                       device);
        return NULL;
    }
    const nnb_runner_desc *d = lr->desc;
    *exit_code = EXIT_CANNOT_RUN;
    if (!d->infer) {
        nnb_serve_fail(err, err_len, "runner %s has no inference entry (ABI 1.2 infer); it cannot serve", d->name);
        return NULL;
    }
    char reason[300];
    if (!strcmp(device, NNB_DEVICE_CUDA) && !nnb_cuda_usable_probe(reason, sizeof reason)) {
        nnb_serve_fail(err, err_len, "runner %s skipped: cuda: %s", d->name, reason);
        return NULL;
    }
    if (!strcmp(d->group, NNB_GROUP_CNNS))
        cfg->cnn_batch = o->max_batch;
    else
        cfg->mini_batch = o->max_batch;
    if (d->available && !d->available(cfg, reason, sizeof reason)) {
        nnb_serve_fail(err, err_len, "runner %s skipped: %s", d->name, reason);
        return NULL;
    }
    return d;
}

typedef struct serve_run {
    server srv;
    nnb_serve_summary sum;
    nnb_sys_sampler *sampler;
    char info[4096];
} serve_run;

static int init_server(server *s, const nnb_serve_options *o, const nnb_runner_desc *d, char *err, size_t err_len) {
    memset(s, 0, sizeof *s);
    s->o = o;
    s->d = d;
    s->total = o->warmup_requests + o->requests;
    s->rq = calloc((size_t)s->total, sizeof *s->rq);
    s->sizes = calloc((size_t)s->total, sizeof *s->sizes);
    s->workers = calloc((size_t)o->workers, sizeof *s->workers);
    if (!s->rq || !s->sizes || !s->workers || nnb_serve_queue_init(&s->queue, s->total, s->sizes))
        return nnb_serve_fail(err, err_len, "out of memory for %d requests", s->total);
    s->queue.idle_spin_us = o->idle_spin_us;
    for (int i = 0; i < s->total; i++)
        s->sizes[i] = s->rq[i].samples = o->batch_size, s->rq[i].batch = -1;
    pthread_mutex_init(&s->lock, NULL);
    pthread_cond_init(&s->progress, NULL);
    return 0;
}

static void free_server(server *s) {
    nnb_serve_queue_destroy(&s->queue);
    pthread_mutex_destroy(&s->lock);
    pthread_cond_destroy(&s->progress);
    free(s->rq), free(s->sizes), free(s->workers), free(s->bt);
}

/* --progress's first line, before the cold start (and not between starting the workers and the first
 * requests, where a write would let the workers fall asleep first and change how offline batches form). */
static void announce(const server *s) {
    const nnb_serve_options *o = s->o;
    char plan[128];
    nnb_progress_start(o->quiet ? NNB_PROGRESS_NEVER : o->run.progress, 0);
    snprintf(plan, sizeof plan, "%d requests to answer (%d warmup), at most %g s", s->total, o->warmup_requests,
             o->max_time_s);
    nnb_progress_status("nnbench serve", plan, 1);
}

static int run_server(serve_run *r, const char *device, const nnb_config *base, char *err, size_t err_len) {
    server *s = &r->srv;
    int cuda = !strcmp(device, NNB_DEVICE_CUDA);
    /* Cold start: worker 0 alone, create (+ weights) and its first response. */
    nnb_config cfg0 = *base;
    cfg0.threads = base->threads / s->o->workers > 0 ? base->threads / s->o->workers : 1;
    s->workers[0].srv = s;
    if (make_worker(s, &s->workers[0], &cfg0, cuda, &r->sum.create_ms, err, err_len) ||
        first_response(s, &r->sum.first_response_ms, err, err_len))
        return EXIT_INVALID;
    if (s->d->describe)
        s->d->describe(s->workers[0].model, r->info, sizeof r->info);
    for (int i = 1; i < s->o->workers; i++) {
        s->workers[i].srv = s;
        s->workers[i].index = i;
        char msg[600];
        if (make_worker(s, &s->workers[i], &cfg0, cuda, NULL, msg, sizeof msg))
            return nnb_serve_fail(err, err_len, "worker %d: %s", i, msg), EXIT_INVALID;
    }
    if (!s->o->no_warm && warm_workers(s, &r->sum.warm_ms, err, err_len))
        return EXIT_INVALID;
    r->sampler = nnb_sys_sampler_start(cuda, base->cuda_device);
    for (int i = 0; i < s->o->workers; i++)
        if (pthread_create(&s->workers[i].thread, NULL, worker_main, &s->workers[i]))
            return nnb_serve_fail(err, err_len, "cannot start worker thread %d", i), EXIT_INVALID;
    int stop = run_requests(s);
    for (int i = 0; i < s->o->workers; i++)
        pthread_join(s->workers[i].thread, NULL);
    nnb_sys_sampler_stop(r->sampler, &r->sum);
    nnb_serve_summarise(s->rq, s->total, s->o->warmup_requests, s->bt, s->nb, s->o->workers, &r->sum);
    nnb_serve_judge(s->o, stop == 1 ? 1 : stop == 2 ? 2 : 0, s->error, &r->sum);
    return stop == 2 ? EXIT_INTERRUPTED : r->sum.valid ? 0 : EXIT_INVALID;
}

/* The whole run, with --progress's line erased before anything else is printed (an error, the table). */
static int serve(serve_run *r, const char *device, const nnb_config *base, char *err, size_t err_len) {
    announce(&r->srv);
    int rc = run_server(r, device, base, err, err_len);
    nnb_progress_clear();
    return rc;
}

static int check_outputs(const nnb_serve_options *o, char *err, size_t err_len) {
    if (o->json_path && nnb_output_path_check(o->json_path, err, err_len))
        return -1;
    if (o->csv_path && nnb_serve_csv_check(o->csv_path, err, err_len))
        return -1;
    return 0;
}

int nnb_serve_main(int argc, char **argv) {
    static nnb_serve_options o;
    static serve_run r;
    char err[1024];
    if (nnb_serve_parse(argc, argv, &o, err, sizeof err) || nnb_cli_check_sizes(&o.run, err, sizeof err) ||
        check_outputs(&o, err, sizeof err)) {
        fprintf(stderr, "nnbench serve: %s\n", err);
        return EXIT_USAGE;
    }
    nnb_tune_blas_env();
    static nnb_registry reg;
    char dirs[32][1024];
    int ndirs = nnb_runner_dirs(&o.run, dirs, 32);
    nnb_registry_init(&reg);
    for (int i = 0; i < ndirs; i++)
        nnb_registry_load_dir(&reg, dirs[i]);
    const char *device = pick_serve_device(&o);
    nnb_config cfg = o.run.config;
    int rc;
    const nnb_runner_desc *d = find_runner(&o, &reg, device, &cfg, &rc, err, sizeof err);
    if (!d) {
        fprintf(stderr, "nnbench serve: %s\n", err);
        nnb_registry_free(&reg);
        return rc;
    }
    nnb_install_stop_handlers();
    err[0] = 0;
    if (init_server(&r.srv, &o, d, err, sizeof err)) {
        rc = EXIT_INVALID;
    } else {
        rc = serve(&r, device, &cfg, err, sizeof err);
    }
    if (err[0]) { /* nothing was served: the models could not be made ready */
        fprintf(stderr, "nnbench serve: %s\n", err);
        rc = EXIT_INVALID;
    } else {
        if (!o.quiet)
            nnb_serve_print_table(stderr, &o, device, &r.sum);
        if (o.csv_path && nnb_serve_append_csv(o.csv_path, &o, device, &r.sum, err, sizeof err))
            fprintf(stderr, "nnbench serve: %s\n", err), rc = EXIT_USAGE;
        if (o.json_path && nnb_serve_write_json(o.json_path, &o, device, &r.sum, r.srv.rq, r.srv.total, r.srv.bt,
                                                r.srv.nb, r.info, err, sizeof err))
            fprintf(stderr, "nnbench serve: %s\n", err), rc = EXIT_USAGE;
    }
    destroy_workers(&r.srv, o.workers);
    free_server(&r.srv);
    nnb_registry_free(&reg);
    return rc;
}
