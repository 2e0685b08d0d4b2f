/* nnbench serve's outputs: the table on stderr, the CSV row, the full JSON. */
#define _GNU_SOURCE
#include "serve.h"

#include "report.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static const char *mode_name(nnb_serve_mode m) {
    return m == NNB_SERVE_POISSON ? "poisson" : m == NNB_SERVE_OFFLINE ? "offline" : "closed";
}

static void load_text(char *buf, size_t len, const nnb_serve_options *o) {
    if (o->mode == NNB_SERVE_POISSON)
        snprintf(buf, len, "poisson at %g requests/s", o->qps);
    else if (o->mode == NNB_SERVE_CLOSED)
        snprintf(buf, len, "closed loop, %d outstanding", o->concurrency);
    else
        snprintf(buf, len, "offline, all at once");
}

/* A number, or "-" when unknown (negative or NaN). */
static const char *opt_num(char *buf, size_t len, double x, const char *fmt) {
    if (!(x >= 0))
        return "-";
    snprintf(buf, len, fmt, x);
    return buf;
}

void nnb_serve_print_table(FILE *f, const nnb_serve_options *o, const char *device, const nnb_serve_summary *s) {
    char load[96], cpu[32], gpu[32], gpu_max[32], gpu_mem[32], rss[32]; /* one buffer per figure of a line */
    load_text(load, sizeof load, o);
    fprintf(f,
            "nnbench serve: %s on %s, %s; requests of %d sample(s), batches of at most %d (delay %g ms), %d "
            "worker(s), %d thread(s)\n",
            o->runner, device, load, o->batch_size, o->max_batch, o->max_delay_ms, o->workers, o->run.config.threads);
    fprintf(f, "  cold start     create %.4g ms + first response %.4g ms; then every batch size once: %.4g ms\n",
            s->create_ms, s->first_response_ms, s->warm_ms);
    fprintf(f,
            "  requests       %d measured (%d warmup), %d samples in %.4g s; answered once: %d, unanswered %d, "
            "twice or more %d\n",
            s->measured_requests, o->warmup_requests, s->measured_samples, s->duration_s, s->answered_once,
            s->unanswered, s->duplicates);
    fprintf(f, "  latency ms     p50 %.4g  p90 %.4g  p99 %.4g  max %.4g  mean %.4g  min %.4g\n", s->p50, s->p90, s->p99,
            s->max, s->mean, s->min);
    fprintf(f, "  per request    queueing mean %.4g ms (p99 %.4g), compute mean %.4g ms (p99 %.4g)\n", s->queue_mean,
            s->queue_p99, s->compute_mean, s->compute_p99);
    fprintf(f,
            "  generator      queued after the scheduled arrival by p50 %.3g ms, p99 %.3g ms, max %.3g ms (in the "
            "latency)\n",
            s->lag_p50, s->lag_p99, s->lag_max);
    fprintf(f, "  batches        %d, mean %.3g samples;", s->batches, s->mean_batch_samples);
    for (int i = 1; i <= 64; i++)
        if (s->histogram[i])
            fprintf(f, " %s%d:%d", i == 64 ? ">=" : "", i, s->histogram[i]);
    fprintf(f, "\n  throughput     whole %.4g samples/s, core %.4g samples/s (in infer only)\n", s->whole_samples_per_s,
            s->core_samples_per_s);
    fprintf(f, "  utilisation    cpu %s%% of one core, gpu %s%% (max %s), gpu memory %s MiB, peak RSS %s MiB\n",
            opt_num(cpu, sizeof cpu, s->cpu_util_percent, "%.0f"), opt_num(gpu, sizeof gpu, s->gpu_util_mean, "%.0f"),
            opt_num(gpu_max, sizeof gpu_max, s->gpu_util_max, "%.0f"),
            opt_num(gpu_mem, sizeof gpu_mem, s->gpu_mem_peak_mib, "%.0f"),
            opt_num(rss, sizeof rss, s->peak_rss_mib, "%.0f"));
    fprintf(f, "  verdict        %s\n", s->verdict);
}

/* ---- CSV ----------------------------------------------------------------------------------------- */

static const char csv_header[] =
    "date,host,runner,device,mode,requests,warmup_requests,batch_size,concurrency,qps,max_batch,"
    "max_batch_delay_ms,workers,threads,seed,p50_ms,p90_ms,p99_ms,max_ms,mean_ms,min_ms,queue_mean_ms,"
    "queue_p99_ms,compute_mean_ms,compute_p99_ms,duration_s,whole_samples_per_s,core_samples_per_s,"
    "mean_batch_samples,batches,cpu_util_percent,gpu_util_mean,gpu_util_max,gpu_mem_peak_mib,peak_rss_mib,"
    "create_ms,first_response_ms,valid,verdict\n";

/* The file's first line is our header (or the file is empty). 1 yes, 0 no, -1 unreadable. */
static int header_matches(int fd) {
    char first[sizeof csv_header];
    ssize_t n = pread(fd, first, sizeof first - 1, 0);
    if (n < 0)
        return -1;
    if (n == 0)
        return 1;
    first[n] = 0;
    return (size_t)n == sizeof csv_header - 1 && !memcmp(first, csv_header, sizeof csv_header - 1);
}

int nnb_serve_csv_check(const char *path, char *err, size_t err_len) {
    struct stat st;
    if (stat(path, &st) != 0)
        return nnb_output_path_check(path, err, err_len); /* a new file: its directory must take it */
    if (!S_ISREG(st.st_mode))
        return nnb_serve_fail(err, err_len, "--csv: '%s' is not a regular file", path);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return nnb_serve_fail(err, err_len, "--csv: '%s': %s", path, strerror(errno));
    int ok = header_matches(fd);
    close(fd);
    if (ok != 1)
        return nnb_serve_fail(err, err_len,
                              "--csv: '%s' already holds something else (its first line is not nnbench serve's "
                              "header); choose another file",
                              path);
    if (access(path, W_OK))
        return nnb_serve_fail(err, err_len, "--csv: '%s' is not writable: %s", path, strerror(errno));
    return 0;
}

static void cell_num(char **p, char *end, double x) {
    if (*p < end)
        *p += isfinite(x) ? snprintf(*p, (size_t)(end - *p), ",%.6g", x) : snprintf(*p, (size_t)(end - *p), ",");
}

static void cell_str(char **p, char *end, const char *s) {
    if (*p >= end)
        return;
    *p += snprintf(*p, (size_t)(end - *p), ",\"");
    for (; *s && *p + 2 < end; s++) {
        if (*s == '"')
            *(*p)++ = '"';
        *(*p)++ = (*s == '\n' || *s == '\r') ? ' ' : *s;
    }
    if (*p + 1 < end)
        *(*p)++ = '"';
    **p = 0;
}

static size_t format_row(char *buf, size_t len, const nnb_serve_options *o, const char *device,
                         const nnb_serve_summary *s) {
    char date[32], host[128] = "";
    time_t t = time(NULL);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(date, sizeof date, "%Y-%m-%dT%H:%M:%SZ", &tm);
    gethostname(host, sizeof host - 1);
    char *p = buf, *end = buf + len - 2;
    p += snprintf(p, len, "%s", date);
    cell_str(&p, end, host), cell_str(&p, end, o->runner), cell_str(&p, end, device);
    cell_str(&p, end, mode_name(o->mode));
    const double settings[] = {o->requests,
                               o->warmup_requests,
                               o->batch_size,
                               o->mode == NNB_SERVE_CLOSED ? o->concurrency : NAN,
                               o->mode == NNB_SERVE_POISSON ? o->qps : NAN,
                               o->max_batch,
                               o->max_delay_ms,
                               o->workers,
                               o->run.config.threads,
                               (double)o->run.config.seed};
    for (size_t i = 0; i < sizeof settings / sizeof *settings; i++)
        cell_num(&p, end, settings[i]);
    const double m[] = {s->p50,
                        s->p90,
                        s->p99,
                        s->max,
                        s->mean,
                        s->min,
                        s->queue_mean,
                        s->queue_p99,
                        s->compute_mean,
                        s->compute_p99,
                        s->duration_s,
                        s->whole_samples_per_s,
                        s->core_samples_per_s,
                        s->mean_batch_samples,
                        s->batches,
                        s->cpu_util_percent >= 0 ? s->cpu_util_percent : NAN,
                        s->gpu_util_mean >= 0 ? s->gpu_util_mean : NAN,
                        s->gpu_util_max >= 0 ? s->gpu_util_max : NAN,
                        s->gpu_mem_peak_mib >= 0 ? s->gpu_mem_peak_mib : NAN,
                        s->peak_rss_mib >= 0 ? s->peak_rss_mib : NAN,
                        s->create_ms,
                        s->first_response_ms,
                        s->valid};
    for (size_t i = 0; i < sizeof m / sizeof *m; i++)
        cell_num(&p, end, m[i]);
    cell_str(&p, end, s->verdict);
    if (p < end)
        *p++ = '\n';
    *p = 0;
    return (size_t)(p - buf);
}

int nnb_serve_append_csv(const char *path, const nnb_serve_options *o, const char *device, const nnb_serve_summary *s,
                         char *err, size_t err_len) {
    char row[4096];
    size_t n = format_row(row, sizeof row, o, device, s);
    int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0666);
    if (fd < 0)
        return nnb_serve_fail(err, err_len, "--csv: cannot open '%s': %s", path, strerror(errno));
    int rc = 0;
    flock(fd, LOCK_EX); /* two runs appending at once: one header, whole rows */
    struct stat st;
    if (fstat(fd, &st) != 0) {
        rc = nnb_serve_fail(err, err_len, "--csv: '%s': %s", path, strerror(errno));
    } else {
        int rfd = open(path, O_RDONLY | O_CLOEXEC);
        int ok = rfd >= 0 ? header_matches(rfd) : -1;
        if (rfd >= 0)
            close(rfd);
        if (ok != 1)
            rc = nnb_serve_fail(err, err_len,
                                "--csv: '%s' no longer starts with nnbench serve's header; nothing appended", path);
    }
    char text[sizeof csv_header + sizeof row];
    size_t len = 0;
    if (!rc && st.st_size == 0) {
        memcpy(text, csv_header, sizeof csv_header - 1);
        len = sizeof csv_header - 1;
    }
    memcpy(text + len, row, n);
    len += n;
    if (!rc) { /* one write: a whole row or, if the disk fills, nothing (cut back to where it was) */
        ssize_t w = write(fd, text, len);
        if (w != (ssize_t)len) {
            int e = w < 0 ? errno : ENOSPC;
            if (ftruncate(fd, st.st_size) != 0)
                e = errno;
            rc = nnb_serve_fail(err, err_len, "--csv: cannot append to '%s': %s", path, strerror(e));
        } else if (fsync(fd) != 0) {
            rc = nnb_serve_fail(err, err_len, "--csv: fsync of '%s': %s", path, strerror(errno));
        }
    }
    flock(fd, LOCK_UN);
    close(fd);
    return rc;
}

/* ---- full JSON ---------------------------------------------------------------------------------- */

static void add_num(cJSON *o, const char *k, double x) {
    if (isfinite(x))
        cJSON_AddNumberToObject(o, k, x);
    else
        cJSON_AddNullToObject(o, k);
}

static void add_known(cJSON *o, const char *k, double x) { add_num(o, k, x >= 0 ? x : NAN); }

static cJSON *config_json(const nnb_serve_options *o, const char *device) {
    cJSON *c = cJSON_CreateObject();
    cJSON_AddStringToObject(c, "runner", o->runner);
    cJSON_AddStringToObject(c, "device", device);
    cJSON_AddStringToObject(c, "mode", mode_name(o->mode));
    cJSON_AddNumberToObject(c, "requests", o->requests);
    cJSON_AddNumberToObject(c, "warmup_requests", o->warmup_requests);
    cJSON_AddNumberToObject(c, "batch_size", o->batch_size);
    add_num(c, "concurrency", o->mode == NNB_SERVE_CLOSED ? o->concurrency : NAN);
    add_num(c, "qps", o->mode == NNB_SERVE_POISSON ? o->qps : NAN);
    cJSON_AddNumberToObject(c, "max_batch", o->max_batch);
    cJSON_AddNumberToObject(c, "max_batch_delay_ms", o->max_delay_ms);
    cJSON_AddNumberToObject(c, "workers", o->workers);
    cJSON_AddNumberToObject(c, "threads", o->run.config.threads);
    cJSON_AddNumberToObject(c, "seed", (double)o->run.config.seed);
    cJSON_AddStringToObject(c, "precision", nnb_precision_name(o->run.config.precision));
    add_num(c, "min_duration_s", o->min_duration_s);
    add_num(c, "latency_target_ms", o->latency_target_ms > 0 ? o->latency_target_ms : NAN);
    if (o->weights_dir)
        cJSON_AddStringToObject(c, "weights", o->weights_dir);
    else
        cJSON_AddNullToObject(c, "weights");
    const nnb_config *k = &o->run.config;
    const double sizes[] = {k->seq_length, k->num_layers, k->input_size, k->hidden_size, k->image_size};
    const char *names[] = {"seq_length", "num_layers", "input_size", "hidden_size", "image_size"};
    for (int i = 0; i < 5; i++)
        cJSON_AddNumberToObject(c, names[i], sizes[i]);
    return c;
}

static cJSON *summary_json(const nnb_serve_summary *s) {
    cJSON *j = cJSON_CreateObject();
    cJSON *lat = cJSON_AddObjectToObject(j, "latency_ms");
    const double v[] = {s->p50, s->p90, s->p99, s->max, s->mean, s->min};
    const char *k[] = {"p50", "p90", "p99", "max", "mean", "min"};
    for (int i = 0; i < 6; i++)
        add_num(lat, k[i], v[i]);
    add_num(j, "queue_mean_ms", s->queue_mean), add_num(j, "queue_p99_ms", s->queue_p99);
    add_num(j, "compute_mean_ms", s->compute_mean), add_num(j, "compute_p99_ms", s->compute_p99);
    add_num(j, "generator_lag_p50_ms", s->lag_p50), add_num(j, "generator_lag_p99_ms", s->lag_p99);
    add_num(j, "generator_lag_max_ms", s->lag_max);
    add_num(j, "duration_s", s->duration_s);
    add_num(j, "whole_samples_per_s", s->whole_samples_per_s), add_num(j, "core_samples_per_s", s->core_samples_per_s);
    add_num(j, "mean_batch_samples", s->mean_batch_samples);
    cJSON_AddNumberToObject(j, "batches", s->batches);
    cJSON *h = cJSON_AddObjectToObject(j, "batch_histogram");
    for (int i = 1; i <= 64; i++)
        if (s->histogram[i]) {
            char key[16];
            snprintf(key, sizeof key, "%s%d", i == 64 ? ">=" : "", i);
            cJSON_AddNumberToObject(h, key, s->histogram[i]);
        }
    cJSON_AddNumberToObject(j, "measured_requests", s->measured_requests);
    cJSON_AddNumberToObject(j, "measured_samples", s->measured_samples);
    cJSON_AddNumberToObject(j, "answered_once", s->answered_once);
    cJSON_AddNumberToObject(j, "unanswered", s->unanswered);
    cJSON_AddNumberToObject(j, "answered_more_than_once", s->duplicates);
    add_known(j, "cpu_util_percent", s->cpu_util_percent);
    add_known(j, "gpu_util_mean_percent", s->gpu_util_mean), add_known(j, "gpu_util_max_percent", s->gpu_util_max);
    add_known(j, "gpu_mem_peak_mib", s->gpu_mem_peak_mib), add_known(j, "peak_rss_mib", s->peak_rss_mib);
    add_num(j, "create_ms", s->create_ms), add_num(j, "first_response_ms", s->first_response_ms);
    add_num(j, "warm_ms", s->warm_ms);
    cJSON_AddBoolToObject(j, "valid", s->valid);
    cJSON_AddStringToObject(j, "verdict", s->verdict);
    return j;
}

int nnb_serve_write_json(const char *path, const nnb_serve_options *o, const char *device, const nnb_serve_summary *s,
                         const nnb_serve_request *rq, int total, const nnb_serve_batch *bt, int nb,
                         const char *runner_info, char *err, size_t err_len) {
    cJSON *doc = cJSON_CreateObject();
    cJSON_AddStringToObject(doc, "schema", "nnbench-serve");
    cJSON_AddNumberToObject(doc, "schema_version", 1);
    nnb_run_context ctx;
    memset(&ctx, 0, sizeof ctx);
    nnb_context_collect(&ctx, o->run.config.threads, device);
    cJSON *c = cJSON_AddObjectToObject(doc, "context");
    cJSON_AddStringToObject(c, "date", ctx.date);
    cJSON_AddStringToObject(c, "host", ctx.host);
    cJSON_AddStringToObject(c, "cpu_model", ctx.cpu_model);
    cJSON_AddStringToObject(c, "git_sha", ctx.git_sha);
    cJSON_AddItemToObject(doc, "config", config_json(o, device));
    cJSON *info = runner_info && *runner_info ? cJSON_Parse(runner_info) : NULL;
    cJSON_AddItemToObject(doc, "runner_info", info ? info : cJSON_CreateNull());
    cJSON_AddItemToObject(doc, "summary", summary_json(s));
    cJSON *reqs = cJSON_AddArrayToObject(doc, "requests"); /* [arrival, start, end, response, batch, samples, queued] */
    double t0 = total ? rq[0].arrival : 0;
    for (int i = 0; i < total; i++) {
        const double row[] = {rq[i].arrival - t0,  rq[i].start - t0, rq[i].end - t0,
                              rq[i].response - t0, rq[i].batch,      rq[i].samples};
        cJSON_AddItemToArray(reqs, cJSON_CreateDoubleArray(row, 6));
    }
    cJSON *bats = cJSON_AddArrayToObject(doc, "batches"); /* [worker, requests, samples, formed, h2d, compute, d2h] */
    for (int b = 0; b < nb; b++) {
        const double row[] = {bt[b].worker, bt[b].requests,   bt[b].samples, bt[b].formed - t0,
                              bt[b].h2d_ms, bt[b].compute_ms, bt[b].d2h_ms};
        cJSON_AddItemToArray(bats, cJSON_CreateDoubleArray(row, 7));
    }
    char *text = cJSON_PrintUnformatted(doc);
    cJSON_Delete(doc);
    if (!text)
        return nnb_serve_fail(err, err_len, "--json-out: out of memory");
    int rc = nnb_write_file_atomic(path, text, strlen(text), err, err_len);
    free(text);
    return rc;
}
