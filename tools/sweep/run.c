/* Running a shard: each point x repeat is one fresh nnbench process; the shard file is rewritten
 * (atomically) after every run, so a killed job leaves what it had, marked incomplete. */
#define _GNU_SOURCE
#include "sweep_internal.h"

#include "cmdline.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t stop_signal;

static void on_stop(int sig) { stop_signal = sig; }

static void install_stop_handlers(void) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_stop;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
}

static double now_s(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

cJSON *nnb_sweep_config_json(const nnb_sweep_options *o, const char *self_exe) {
    cJSON *c = cJSON_CreateObject();
    char id[32];
    snprintf(id, sizeof id, "%016llx", (unsigned long long)o->id);
    cJSON_AddStringToObject(c, "id", id);
    cJSON_AddNumberToObject(c, "point_count", o->grid.point_count);
    cJSON_AddNumberToObject(c, "repeat", o->repeat);
    cJSON_AddBoolToObject(c, "zip", o->grid.zip);
    cJSON_AddStringToObject(c, "command", o->serve ? "serve" : "run");
    cJSON *axes = cJSON_AddArrayToObject(c, "axes");
    for (int a = 0; a < o->grid.axis_count; a++) {
        cJSON *ax = cJSON_CreateObject();
        cJSON_AddStringToObject(ax, "key", o->grid.axes[a].key);
        cJSON_AddStringToObject(ax, "flag", o->grid.axes[a].flag);
        cJSON_AddItemToObject(
            ax, "values",
            cJSON_CreateStringArray((const char *const *)o->grid.axes[a].values, o->grid.axes[a].value_count));
        cJSON_AddItemToArray(axes, ax);
    }
    if (o->grid.shapes.count) {
        cJSON *s = cJSON_AddObjectToObject(c, "shapes");
        char hash[32];
        snprintf(hash, sizeof hash, "%016llx", (unsigned long long)o->grid.shapes.content_hash);
        cJSON_AddStringToObject(s, "file", o->grid.shapes.path);
        cJSON_AddStringToObject(s, "content_hash", hash);
        cJSON_AddNumberToObject(s, "count", o->grid.shapes.count);
        cJSON *models = cJSON_AddObjectToObject(s, "models"); /* shapes per model: the roll-up's whole */
        for (int i = 0; i < o->grid.shapes.count; i++) {
            const char *m = o->grid.shapes.shapes[i].model;
            cJSON *n = cJSON_GetObjectItemCaseSensitive(models, m);
            if (n)
                cJSON_SetNumberValue(n, n->valuedouble + 1);
            else
                cJSON_AddNumberToObject(models, m, 1);
        }
    } else {
        cJSON_AddNullToObject(c, "shapes");
    }
    cJSON_AddItemToObject(c, "common_args", cJSON_CreateStringArray((const char *const *)o->base_argv, o->base_argc));
    cJSON_AddStringToObject(c, "nnbench", self_exe);
    return c;
}

static cJSON *settings_json(const nnb_sweep_point *p) {
    cJSON *s = cJSON_CreateObject();
    for (int i = 0; i < p->setting_count; i++)
        cJSON_AddStringToObject(s, p->settings[i].key, p->settings[i].value);
    return s;
}

static cJSON *point_json(const nnb_sweep_point *p) {
    cJSON *j = cJSON_CreateObject();
    cJSON_AddNumberToObject(j, "index", p->index);
    cJSON_AddStringToObject(j, "label", p->label);
    if (p->model)
        cJSON_AddStringToObject(j, "model", p->model);
    else
        cJSON_AddNullToObject(j, "model");
    cJSON_AddNumberToObject(j, "count", (double)p->count);
    cJSON_AddItemToObject(j, "settings", settings_json(p));
    cJSON *flags = cJSON_AddArrayToObject(j, "flags");
    for (int i = 0; i < p->setting_count; i++) {
        cJSON_AddItemToArray(flags, cJSON_CreateString(p->settings[i].flag));
        cJSON_AddItemToArray(flags, cJSON_CreateString(p->settings[i].value));
    }
    cJSON_AddArrayToObject(j, "runs");
    return j;
}

/* Every runner record of a run's results carries the point it belongs to. */
static void tag_runner_records(cJSON *results, const nnb_sweep_point *p, int repeat) {
    cJSON *groups = cJSON_GetObjectItemCaseSensitive(results, "groups");
    cJSON *group;
    cJSON_ArrayForEach(group, groups) {
        cJSON *runner;
        cJSON_ArrayForEach(runner, group) {
            cJSON *tag = cJSON_CreateObject();
            cJSON_AddNumberToObject(tag, "point", p->index);
            cJSON_AddNumberToObject(tag, "repeat", repeat);
            cJSON_AddItemToObject(tag, "settings", settings_json(p));
            cJSON_AddItemToObject(runner, "sweep", tag);
        }
    }
}

/* The last non-empty line of a log, for the one-line error of a failed run. */
static void last_log_line(const char *path, char *out, size_t len) {
    out[0] = 0;
    size_t n;
    char *text = nnb_sweep_read_file(path, &n, NULL, 0);
    if (!text)
        return;
    while (n && (text[n - 1] == '\n' || text[n - 1] == '\r'))
        text[--n] = 0;
    const char *last = strrchr(text, '\n') ? strrchr(text, '\n') + 1 : text;
    size_t used = 0; /* spaces squeezed: a table row reads as one sentence */
    for (const char *c = last; *c && used + 1 < len; c++)
        if (!(*c == ' ' || *c == '\t') || (used && out[used - 1] != ' ' && c[1]))
            out[used++] = *c == '\t' ? ' ' : *c;
    out[used] = 0;
    free(text);
}

typedef struct run_outcome {
    const char *status; /* ok, failed, timeout, crashed, interrupted */
    int exit_code;      /* -1: none (signal) */
    int signal;
    double wall_s;
} run_outcome;

/* Start argv with stdout and stderr to log; wait, killing it after timeout_s or on our SIGINT/SIGTERM. */
static run_outcome run_process(char **argv, const char *log, double timeout_s) {
    run_outcome r = {"failed", -1, 0, 0};
    double t0 = now_s();
    pid_t pid = fork();
    if (pid < 0)
        return r;
    if (pid == 0) {
        setpgid(0, 0); /* its own group: a timeout kills every process it started */
        int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
        if (fd >= 0) {
            dup2(fd, 1);
            dup2(fd, 2);
        }
        signal(SIGINT, SIG_DFL);
        signal(SIGTERM, SIG_DFL);
        execv(argv[0], argv);
        fprintf(stderr, "nnbench sweep: cannot start %s: %s\n", argv[0], strerror(errno));
        _exit(127);
    }
    setpgid(pid, pid);
    int status = 0, sent = 0, timed_out = 0;
    for (;;) {
        pid_t w = waitpid(pid, &status, WNOHANG);
        if (w == pid)
            break;
        if (w < 0 && errno != EINTR)
            break;
        if (!sent && stop_signal) {
            kill(-pid, SIGTERM); /* nnbench writes what it measured and exits 130 */
            sent = 1;
        } else if (!sent && timeout_s > 0 && now_s() - t0 > timeout_s) {
            kill(-pid, SIGKILL);
            sent = timed_out = 1;
        }
        struct timespec nap = {0, 20 * 1000 * 1000};
        nanosleep(&nap, NULL);
    }
    r.wall_s = now_s() - t0;
    if (WIFEXITED(status)) {
        r.exit_code = WEXITSTATUS(status);
        r.status = r.exit_code == 0 ? "ok" : r.exit_code == 130 ? "interrupted" : "failed";
    } else if (WIFSIGNALED(status)) {
        r.signal = WTERMSIG(status);
        r.status = timed_out ? "timeout" : stop_signal ? "interrupted" : "crashed";
    }
    return r;
}

static cJSON *run_json(int repeat, const run_outcome *r, const char *log_rel, const char *log_path,
                       const char *json_path, double timeout_s) {
    cJSON *j = cJSON_CreateObject();
    cJSON_AddNumberToObject(j, "repeat", repeat);
    cJSON_AddStringToObject(j, "status", r->status);
    if (r->exit_code >= 0)
        cJSON_AddNumberToObject(j, "exit_code", r->exit_code);
    else
        cJSON_AddNullToObject(j, "exit_code");
    if (r->signal)
        cJSON_AddStringToObject(j, "signal", strsignal(r->signal));
    else
        cJSON_AddNullToObject(j, "signal");
    cJSON_AddNumberToObject(j, "wall_s", r->wall_s);
    cJSON_AddStringToObject(j, "log", log_rel);
    char line[512] = "";
    if (strcmp(r->status, "ok")) {
        if (!strcmp(r->status, "timeout"))
            snprintf(line, sizeof line, "killed after the --run-timeout of %g s", timeout_s);
        else
            last_log_line(log_path, line, sizeof line);
        cJSON_AddStringToObject(j, "error", line[0] ? line : r->status);
    } else {
        cJSON_AddNullToObject(j, "error");
    }
    size_t n;
    char *text = nnb_sweep_read_file(json_path, &n, NULL, 0);
    cJSON *results = text ? cJSON_Parse(text) : NULL;
    free(text);
    if (results)
        cJSON_AddItemToObject(j, "results", results);
    else
        cJSON_AddNullToObject(j, "results");
    if (!results && !strcmp(r->status, "ok")) { /* exit 0 without its results is a failure */
        cJSON_ReplaceItemInObject(j, "status", cJSON_CreateString("failed"));
        cJSON_ReplaceItemInObject(j, "error", cJSON_CreateString("the run wrote no readable results file"));
    }
    return j;
}

static cJSON *shard_json(const nnb_sweep_options *o, const char *started) {
    cJSON *s = cJSON_CreateObject();
    cJSON_AddNumberToObject(s, "index", o->shard_index);
    cJSON_AddNumberToObject(s, "count", o->shard_count);
    char host[256] = "";
    gethostname(host, sizeof host - 1);
    cJSON_AddStringToObject(s, "host", host);
    const char *job = getenv("SLURM_JOB_ID");
    if (job)
        cJSON_AddStringToObject(s, "slurm_job_id", job);
    else
        cJSON_AddNullToObject(s, "slurm_job_id");
    cJSON_AddStringToObject(s, "started", started);
    cJSON_AddNullToObject(s, "finished");
    cJSON_AddBoolToObject(s, "complete", 0);
    return s;
}

static int runs_in_shard(const nnb_sweep_options *o) {
    int n = 0;
    for (int k = 0; k < o->grid.point_count; k++)
        n += nnb_sweep_in_shard(k, o->shard_index, o->shard_count);
    return n * o->repeat;
}

typedef struct shard_paths {
    char dir[4096], runs[4200], logs[4200], file[4400];
} shard_paths;

static int prepare_dirs(const nnb_sweep_options *o, shard_paths *p, char *err, size_t err_len) {
    snprintf(p->dir, sizeof p->dir, "%s", o->out_dir);
    snprintf(p->runs, sizeof p->runs, "%s/runs", p->dir);
    snprintf(p->logs, sizeof p->logs, "%s/logs", p->dir);
    char name[64];
    nnb_sweep_shard_name(name, sizeof name, o->shard_index, o->shard_count);
    snprintf(p->file, sizeof p->file, "%s/%s", p->dir, name);
    if (nnb_cmd_prepare_output("--out", p->dir, 1, err, err_len) || nnb_sweep_make_dir(p->runs, err, err_len) ||
        nnb_sweep_make_dir(p->logs, err, err_len))
        return -1;
    return 0;
}

static int run_point(const nnb_sweep_options *o, const nnb_sweep_hooks *h, const shard_paths *sp,
                     const nnb_sweep_point *p, int repeat, cJSON *runs, nnb_sweep_progress *progress) {
    char json_path[4400], log_path[4400], log_rel[64];
    snprintf(json_path, sizeof json_path, "%s/p%05d-r%d.json", sp->runs, p->index, repeat);
    snprintf(log_rel, sizeof log_rel, "logs/p%05d-r%d.log", p->index, repeat);
    snprintf(log_path, sizeof log_path, "%s/%s", sp->dir, log_rel);
    unlink(json_path); /* a stale file from an earlier sweep must not pass for this run's results */
    int argc;
    char **argv = nnb_sweep_point_argv(o, p, h->self_exe, &argc);
    if (!argv)
        return -1;
    if (o->serve) {                                               /* nnbench serve <the same arguments> */
        memmove(argv + 2, argv + 1, sizeof *argv * (size_t)argc); /* room: point_argv leaves five free slots */
        argv[1] = nnb_sweep_strdup("serve");
        argc++;
    }
    /* The sweep's own progress lines say how far it is; each run's log keeps the plain fastrnns output. */
    argv[argc++] = nnb_sweep_strdup("--progress");
    argv[argc++] = nnb_sweep_strdup("never");
    argv[argc++] = nnb_sweep_strdup("--json-out");
    argv[argc++] = nnb_sweep_strdup(json_path);
    char what[512];
    snprintf(what, sizeof what, "point %d (%s) repeat %d/%d", p->index, p->label, repeat + 1, o->repeat);
    nnb_sweep_progress_start(progress, what);
    run_outcome r = run_process(argv, log_path, o->run_timeout_s);
    nnb_sweep_argv_free(argv);
    cJSON *run = run_json(repeat, &r, log_rel, log_path, json_path, o->run_timeout_s);
    cJSON *results = cJSON_GetObjectItemCaseSensitive(run, "results");
    if (cJSON_IsObject(results))
        tag_runner_records(results, p, repeat);
    cJSON_AddItemToArray(runs, run);
    const char *status = cJSON_GetObjectItemCaseSensitive(run, "status")->valuestring;
    const cJSON *error = cJSON_GetObjectItemCaseSensitive(run, "error");
    nnb_sweep_progress_done(progress, what, status, r.wall_s, cJSON_IsString(error) ? error->valuestring : NULL);
    return strcmp(status, "ok") ? 1 : 0;
}

int nnb_sweep_run_shard(const nnb_sweep_options *o, const nnb_sweep_hooks *h, cJSON **doc_out, char *err,
                        size_t err_len) {
    shard_paths sp;
    if (prepare_dirs(o, &sp, err, err_len))
        return 2;
    char started[32];
    nnb_sweep_utc_now(started, sizeof started);
    cJSON *doc = cJSON_CreateObject();
    cJSON_AddStringToObject(doc, "schema", NNB_SWEEP_SCHEMA);
    cJSON_AddNumberToObject(doc, "schema_version", NNB_SWEEP_SCHEMA_VERSION);
    cJSON_AddItemToObject(doc, "sweep", nnb_sweep_config_json(o, h->self_exe));
    cJSON *shards = cJSON_AddArrayToObject(doc, "shards");
    cJSON *shard = shard_json(o, started);
    cJSON_AddItemToArray(shards, shard);
    cJSON *points = cJSON_AddArrayToObject(doc, "points");
    if (nnb_sweep_write_json(sp.file, doc, err, err_len)) { /* unwritable output: fail before running */
        cJSON_Delete(doc);
        return 2;
    }
    install_stop_handlers();
    int failed = 0, rc = 0;
    nnb_sweep_progress progress;
    nnb_sweep_progress_init(&progress, stderr, o->progress, isatty(fileno(stderr)), runs_in_shard(o));
    for (int k = 0; k < o->grid.point_count && !stop_signal && rc >= 0; k++) {
        if (!nnb_sweep_in_shard(k, o->shard_index, o->shard_count))
            continue;
        cJSON *pj = point_json(&o->grid.points[k]);
        cJSON_AddItemToArray(points, pj);
        cJSON *runs = cJSON_GetObjectItemCaseSensitive(pj, "runs");
        for (int r = 0; r < o->repeat && !stop_signal && rc >= 0; r++) {
            rc = run_point(o, h, &sp, &o->grid.points[k], r, runs, &progress);
            failed += rc > 0;
            if (nnb_sweep_write_json(sp.file, doc, err, err_len))
                rc = -2;
        }
    }
    if (rc == -2) {
        cJSON_Delete(doc);
        return 2;
    }
    char finished[32];
    nnb_sweep_utc_now(finished, sizeof finished);
    cJSON_ReplaceItemInObject(shard, "finished", cJSON_CreateString(finished));
    cJSON_ReplaceItemInObject(shard, "complete", cJSON_CreateBool(!stop_signal && rc >= 0));
    cJSON_AddBoolToObject(shard, "interrupted", stop_signal != 0);
    if (nnb_sweep_write_json(sp.file, doc, err, err_len)) {
        cJSON_Delete(doc);
        return 2;
    }
    nnb_sweep_progress_end(&progress);
    fprintf(stderr, "nnbench sweep: shard %d/%d: %d run(s), %d failed%s; wrote %s\n", o->shard_index, o->shard_count,
            progress.done, failed, stop_signal ? ", interrupted" : "", sp.file);
    *doc_out = doc;
    if (rc < 0)
        return nnb_sweep_fail(err, err_len, "out of memory"), 2;
    return stop_signal ? 130 : failed ? 1 : 0;
}
