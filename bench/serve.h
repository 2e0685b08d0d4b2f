/*
 * nnbench serve: an inference-serving simulation in one process (docs/serving.md).
 *
 * A request generator and a pool of workers (threads), each worker with its own model instance of the
 * runner (created for --max-batch samples) and, on cuda, its own H2D, compute and D2H streams with pinned
 * host buffers. Workers take batches from one queue with TorchServe's dynamic batching (serve_queue.h) and
 * run the runner's ABI 1.2 infer(n). Modes:
 *   closed   server.py's: --concurrency C requests outstanding, the next sent when a response arrives;
 *   poisson  open loop at --qps R, seeded exponential inter-arrival times (MLPerf's Server scenario);
 *            latency counts from the scheduled arrival, so a late generator cannot hide queueing;
 *   offline  every measured request at once (MLPerf's Offline scenario): throughput.
 */
#ifndef NNB_SERVE_H
#define NNB_SERVE_H

#include "cli.h"

#include <stdint.h>
#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum nnb_serve_mode { NNB_SERVE_CLOSED = 0, NNB_SERVE_POISSON, NNB_SERVE_OFFLINE } nnb_serve_mode;

typedef struct nnb_serve_options {
    nnb_options run;    /* nnbench's own flags: sizes, --device, --threads, --seed, --runner-path, ... */
    const char *runner; /* --runner NAME */
    nnb_serve_mode mode;
    int requests;             /* measured requests (default 200) */
    int warmup_requests;      /* before them, not counted (default 10) */
    int batch_size;           /* samples per request (default 1) */
    int concurrency;          /* closed: outstanding requests (default 1) */
    double qps;               /* poisson: requests per second */
    int max_batch;            /* samples per batch at most (default: batch_size) */
    double max_delay_ms;      /* how long a worker collects after the first request (default 0) */
    int workers;              /* default 1 */
    double min_duration_s;    /* valid only if the measured window is at least this long (default 0) */
    double latency_target_ms; /* valid only if p99 is at most this (0: no target) */
    double max_time_s;        /* stop and call the run invalid after this (default 600) */
    const char *weights_dir;  /* --weights DIR: .npy parameters as --dump writes them */
    const char *csv_path;     /* --csv FILE: one row appended per run */
    const char *json_path;    /* --json-out FILE */
    double idle_spin_us;      /* an idle worker polls this long before sleeping (default 0) */
    double generator_spin_us; /* poisson: the generator sleeps until this long before each arrival, then polls */
    int quiet;                /* no table */
    int no_warm;              /* --no-warm: skip running every batch size once per worker before measuring */
} nnb_serve_options;

/* What a request went through (ms on the monotonic clock). */
typedef struct nnb_serve_request {
    int samples;
    int batch;                            /* index of its batch */
    int answered;                         /* times a response was recorded: exactly 1 in a correct run */
    double arrival, start, end, response; /* scheduled arrival, compute start, compute end, response */
    double issued;                        /* when the generator actually queued it (>= arrival) */
} nnb_serve_request;

typedef struct nnb_serve_batch {
    int worker, requests, samples;
    double formed, compute_start, compute_end, h2d_ms, compute_ms, d2h_ms;
} nnb_serve_batch;

typedef struct nnb_serve_summary {
    double p50, p90, p99, max, mean, min; /* latency, ms */
    double queue_mean, queue_p99, compute_mean, compute_p99;
    double lag_p50, lag_p99, lag_max; /* generator lateness: queued minus scheduled arrival, ms */
    double duration_s;                /* first measured arrival to last measured response */
    double whole_samples_per_s;       /* measured samples / duration */
    double core_samples_per_s;        /* sum over workers of samples / time in infer (FlagPerf's core) */
    double mean_batch_samples;
    int batches, measured_requests, measured_samples, answered_once, unanswered, duplicates;
    double cpu_util_percent;            /* process CPU time / wall time over the serving phase, % of one core */
    double gpu_util_mean, gpu_util_max; /* NVML, %: < 0 when not sampled */
    double gpu_mem_peak_mib;            /* NVML used memory, max over samples; < 0 when not sampled */
    double peak_rss_mib;
    double create_ms, first_response_ms; /* cold start: worker 0's create (+ weights) and first response */
    double warm_ms;                      /* every batch size 1..max once per worker, after the cold start */
    int valid;
    char verdict[256]; /* "VALID" or "INVALID: <reasons>" */
    int histogram[65]; /* batches by samples: [s] for s < 64, [64] for 64 and more */
} nnb_serve_summary;

/* Parse argv after "serve"; 0, or -1 with a one-line message naming the flag. */
int nnb_serve_parse(int argc, char **argv, nnb_serve_options *o, char *err, size_t err_len);

/* The p-th percentile (0 < p <= 100) by nearest rank, as MLPerf LoadGen reports them: the smallest value
 * with at least p% of the values at or below it. sorted[n] ascending; NaN when n is 0. */
double nnb_serve_percentile(const double *sorted, int n, double p);

/* Summary of a finished run: requests[total] (the first `warmup` not counted), batches[nb]. */
void nnb_serve_summarise(const nnb_serve_request *requests, int total, int warmup, const nnb_serve_batch *batches,
                         int nb, int workers, nnb_serve_summary *s);

/* The verdict of s against the options (fills valid and verdict), MLPerf LoadGen style. */
void nnb_serve_judge(const nnb_serve_options *o, int stopped_early, const char *error, nnb_serve_summary *s);

/* --weights DIR: every parameter params() lists but the inputs (x, hx, cx, lengths, grad_*), read from
 * DIR/<runner>/<name>.npy (the --dump layout) or DIR/<name>.npy and given to load_param. A missing file or
 * an array of another dtype or shape is an error naming the tensor and both shapes. 0 or -1 with err. */
int nnb_serve_load_weights(const nnb_runner_desc *d, void *model, const char *dir, char *err, size_t err_len);

/* nnbench sweep --serve's hooks (tools/sweep/sweep.h): a serve flag or an nnbench one a point may set;
 * may a flag be common to every run; would this whole `nnbench serve` argv (argv[0] ignored) start? */
int nnb_serve_axis_flag(const char *name, char *canonical, size_t cap, char *err, size_t err_len);
int nnb_serve_base_flag(const char *flag, char *err, size_t err_len);
int nnb_serve_check_argv(int argc, char **argv, char *err, size_t err_len);
/* Every flag `nnbench serve` takes: nnbench's (nnb_cli_flag_names) and serve's own; at most cap stored. */
size_t nnb_serve_flag_names(const char **out, size_t cap);

/* `nnbench serve ...`: exit 0 valid, 1 invalid or a runner error, 2 usage, 3 cannot run here, 130 interrupted. */
int nnb_serve_main(int argc, char **argv);

/* printf into err (one line); returns -1. */
int nnb_serve_fail(char *err, size_t err_len, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

/* Outputs (serve_report.c). */
void nnb_serve_print_table(FILE *f, const nnb_serve_options *o, const char *device, const nnb_serve_summary *s);
/* Before the run: can --csv FILE take a row (new file in a writable directory, or a file that starts with
 * this header)? 0 or -1 with err. */
int nnb_serve_csv_check(const char *path, char *err, size_t err_len);
/* Append one row (header first when the file is new or empty); never a partial row. 0 or -1 with err. */
int nnb_serve_append_csv(const char *path, const nnb_serve_options *o, const char *device, const nnb_serve_summary *s,
                         char *err, size_t err_len);
int nnb_serve_write_json(const char *path, const nnb_serve_options *o, const char *device, const nnb_serve_summary *s,
                         const nnb_serve_request *requests, int total, const nnb_serve_batch *batches, int nb,
                         const char *runner_info, char *err, size_t err_len);

#ifdef __cplusplus
}
#endif
#endif
