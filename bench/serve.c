/* nnbench serve (serve.h): create the workers' models, run the request generator and the worker pool,
 * and write the outputs. The command line is in serve_cli.c, --weights in serve_weights.c, the summary
 * and verdict in serve_summary.c, outputs in serve_report.c, process and GPU monitors in serve_sys.c. */
#define _GNU_SOURCE
#include "serve.h"

#include "cmdline.h"
#include "driver.h"
#include "exit_codes.h"
#include "precision.h"
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
#include <time.h>
#include <unistd.h>

enum { /* cmdline/exit_codes.h */
       EXIT_INVALID = NNB_EXIT_FAILED,
       EXIT_USAGE = NNB_EXIT_USAGE,
       EXIT_CANNOT_RUN = NNB_EXIT_NOTHING_RAN,
       EXIT_INTERRUPTED = NNB_EXIT_INTERRUPTED
};

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

/* Offline: requests first..first+count-1 arrive together and are queued in one step, so the batches that
 * form do not depend on how fast a worker wakes up between two pushes. */
static void issue_all(server *s, int first, int count) {
    double now = nnb_cpu_now_ms();
    for (int i = first; i < first + count; i++)
        s->rq[i].arrival = now, s->rq[i].issued = now;
    nnb_serve_queue_push_range(&s->queue, first, count);
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
        issue_all(s, 0, o->warmup_requests);
        wait_for(s, o->warmup_requests, deadline);
        if (!s->stop)
            issue_all(s, o->warmup_requests, s->total - o->warmup_requests);
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

/* Bytes of one batch of n samples in and out, from infer_io (cuda). */
static size_t io_bytes(size_t rows, size_t sample_bytes, int n) { return (rows ? rows : 1) * sample_bytes * (size_t)n; }

static int make_worker(server *s, worker *w, const nnb_config *base, int cuda, double *create_ms, char *err,
                       size_t err_len) {
    nnb_config cfg = *base;
    char msg[512];
    double t0 = nnb_cpu_now_ms();
    if (cuda) { /* the lane's streams first: the model enqueues on its compute stream */
        if (!(w->lane = nnb_cuda_serve_lane_create(base->cuda_device, 0, 0, msg, sizeof msg)))
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

/* "runners that can serve on DEVICE: a, b" (those with the ABI 1.2 inference entry), then the closest name. */
static void servable_runners(const nnb_registry *reg, const char *device, const char *name, char *err, size_t err_len) {
    const char *names[512];
    size_t n = 0, used = strlen(err);
    used +=
        (size_t)snprintf(err + used, used < err_len ? err_len - used : 0, "; runners that can serve on %s:", device);
    for (int i = 0; i < reg->count && n < sizeof names / sizeof *names; i++) {
        const nnb_runner_desc *d = reg->runners[i].desc;
        if (!d->infer || strcmp(d->device, device))
            continue;
        names[n++] = d->name;
        if (used < err_len)
            used += (size_t)snprintf(err + used, err_len - used, "%s %s", n > 1 ? "," : "", d->name);
    }
    if (!n && used < err_len)
        snprintf(err + used, err_len - used, " none");
    nnb_cmd_append_suggestion(err, err_len, name, names, n);
}

/* The runner to serve, or NULL with err and *exit_code. */
static const nnb_runner_desc *find_runner(const nnb_serve_options *o, const nnb_registry *reg, const char *device,
                                          nnb_config *cfg, int *exit_code, char *err, size_t err_len) {
    const nnb_loaded_runner *lr = nnb_registry_find_on(reg, o->runner, device);
    *exit_code = EXIT_USAGE;
    if (!lr) {
        nnb_serve_fail(err, err_len, "--runner %s: no such runner on %s", o->runner, device);
        servable_runners(reg, device, o->runner, err, err_len);
        return NULL;
    }
    const nnb_runner_desc *d = lr->desc;
    if (!d->infer) { /* no machine changes that: a bad command line */
        nnb_serve_fail(err, err_len, "--runner %s: it has no inference entry (ABI 1.2 infer), so it cannot serve",
                       d->name);
        servable_runners(reg, device, o->runner, err, err_len);
        return NULL;
    }
    *exit_code = EXIT_CANNOT_RUN;
    char reason[300];
    if (!strcmp(device, NNB_DEVICE_CUDA) && !nnb_cuda_usable_probe(reason, sizeof reason)) {
        nnb_serve_fail(err, err_len, "runner %s skipped: cuda: %s", d->name, reason);
        return NULL;
    }
    if (!strcmp(d->group, NNB_GROUP_CONVS)) { /* a convolution serves like a forward-only model of input x (mb, ...) */
        static nnb_conv_problem served;
        *exit_code = EXIT_USAGE;
        if (!cfg->conv) {
            nnb_cli_conv_missing(err, err_len);
            return NULL;
        }
        *exit_code = EXIT_CANNOT_RUN;
        served = *cfg->conv;
        served.mb = o->max_batch;
        cfg->conv = &served;
    } else if (!strcmp(d->group, NNB_GROUP_CNNS))
        cfg->cnn_batch = o->max_batch;
    else
        cfg->mini_batch = o->max_batch;
    if (cfg->precision != NNB_PRECISION_FP32 && nnb_precision_refusal(d, cfg, reason, sizeof reason)) {
        nnb_serve_fail(err, err_len, "runner skipped: %s", reason); /* --dtype: the driver's one wording */
        return NULL;
    }
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
    /* Missing folders are created first (cmdline.h's rule), then each file is checked as before. */
    if (o->json_path && (nnb_cmd_prepare_output("--json-out", o->json_path, 0, err, err_len) ||
                         nnb_output_path_check(o->json_path, err, err_len)))
        return -1;
    if (o->csv_path && (nnb_cmd_prepare_output("--csv", o->csv_path, 0, err, err_len) ||
                        nnb_serve_csv_check(o->csv_path, err, err_len)))
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
