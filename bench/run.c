#define _GNU_SOURCE
#include "driver.h"

#include "check.h"
#include "npy.h"
#include "precision.h"
#include "progress.h"
#include "robust_stats.h"

#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int is_cuda(const nnb_runner_desc *d) { return !strcmp(d->device, NNB_DEVICE_CUDA); }

/* ---- SIGINT / SIGTERM: stop after the current iteration ---- */

static volatile sig_atomic_t stop_signal; /* the first SIGINT/SIGTERM received, 0 before */
static int stop_notice_quiet;             /* an isolated child: its parent says it */

static void on_stop_signal(int sig) {
    if (stop_signal) { /* a second one: the user means now */
        signal(sig, SIG_DFL);
        raise(sig);
        return;
    }
    stop_signal = sig;
    if (stop_notice_quiet)
        return;
    static const char msg[] = "\nnnbench: interrupted: stopping after the current iteration (again to quit at once)\n";
    ssize_t ignored = write(STDERR_FILENO, msg, sizeof msg - 1);
    (void)ignored;
}

void nnb_install_stop_handlers(void) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_stop_signal;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESTART; /* stdio and file writes go on; poll() still returns EINTR */
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
}

int nnb_stop_requested(void) { return stop_signal; }

void nnb_stop_notice_quiet(void) { stop_notice_quiet = 1; }

void nnb_mark_interrupted(nnb_runner_result *res, const char *when) {
    res->status = NNB_RUN_INTERRUPTED;
    snprintf(res->error, sizeof res->error, "interrupted (%s) %s", stop_signal == SIGTERM ? "SIGTERM" : "SIGINT", when);
}

/* CUDA runners get the timer and stream on first use, in the process that runs them (an isolated child
 * must not inherit a CUDA context from its parent). */
static int ensure_cuda_timer(nnb_run_env *env, const nnb_runner_desc *d, nnb_runner_result *res) {
    if (!is_cuda(d) || env->cuda_timer)
        return 0;
    char err[512] = "";
    env->cuda_timer = nnb_cuda_timer_create(env->config.cuda_device, &env->config.cuda_stream, err, sizeof err);
    if (env->cuda_timer)
        return 0;
    res->status = NNB_RUN_FAILED;
    snprintf(res->error, sizeof res->error, "cuda timer: %s", err);
    return -1;
}

/* Start/stop of one timed phase on the runner's device. */
static int phase_start(nnb_run_env *env, const nnb_runner_desc *d, const char *range, double *t0, char *err,
                       size_t err_len) {
    if (is_cuda(d))
        return nnb_cuda_timer_start(env->cuda_timer, range, err, err_len);
    *t0 = nnb_cpu_now_ms();
    return 0;
}

static double phase_stop(nnb_run_env *env, const nnb_runner_desc *d, double t0, char *err, size_t err_len) {
    if (is_cuda(d))
        return nnb_cuda_timer_stop(env->cuda_timer, err, err_len);
    return nnb_cpu_now_ms() - t0;
}

/* Records the failure; returns -1 so callers can `return fail_with(...)`. */
static int fail_with(nnb_runner_result *res, nnb_run_status st, const char *what, const char *msg) {
    res->status = st;
    snprintf(res->error, sizeof res->error, "%s%s%s", what, *what ? ": " : "", msg);
    return -1;
}

static int runnable_here(nnb_run_env *env, const nnb_runner_desc *d, nnb_runner_result *res) {
    char reason[400] = "";
    if (is_cuda(d) && !nnb_cuda_usable_probe(reason, sizeof reason)) { /* cached: one probe per run */
        fail_with(res, NNB_RUN_SKIPPED, "cuda", reason);
        return 0;
    }
    if (env->config.precision != NNB_PRECISION_FP32) { /* --dtype: one wording for every runner (precision.h) */
        if (nnb_precision_refusal(d, &env->config, reason, sizeof reason)) {
            fail_with(res, NNB_RUN_SKIPPED, "", reason);
            return 0;
        }
        return 1;
    }
    if (d->available && !d->available(&env->config, reason, sizeof reason)) {
        fail_with(res, NNB_RUN_SKIPPED, "", reason[0] ? reason : "not available here");
        return 0;
    }
    return 1;
}

static int run_check(nnb_run_env *env, const nnb_runner_desc *d, nnb_runner_result *res) {
    if (!d->reference)
        return 0; /* a reference itself, or nothing to check against */
    const nnb_loaded_runner *ref = nnb_registry_find_on(env->reg, d->reference, NNB_DEVICE_CPU);
    if (!ref) {
        char msg[256];
        snprintf(msg, sizeof msg, "reference runner '%s' not found", d->reference);
        return fail_with(res, NNB_RUN_FAILED, "check", msg);
    }
    char err[512] = "";
    if (nnb_check_runner(d, ref->desc, &env->config, 0, res, err, sizeof err)) {
        return fail_with(res, NNB_RUN_FAILED, "check", err);
    }
    if (!res->check_pass) {
        char msg[400] = "";
        size_t used = 0;
        for (int i = 0; i < res->check_count && used < sizeof msg; i++)
            if (!res->checks[i].pass)
                used += (size_t)snprintf(msg + used, sizeof msg - used, "%s%s %s rel %.3g > %.3g", used ? ", " : "",
                                         res->checks[i].name, res->checks[i].l2 ? "l2" : "max",
                                         res->checks[i].l2 ? res->checks[i].l2_rel_err : res->checks[i].max_rel_err,
                                         res->checks[i].tolerance);
        return fail_with(res, NNB_RUN_CHECK_FAILED, "differs from reference", msg);
    }
    return 0;
}

/* Appends one sample, growing the array geometrically. */
int nnb_push_sample(nnb_phase_stats *s, double ms) {
    if (s->count == s->capacity) {
        int cap = s->capacity ? 2 * s->capacity : 128;
        double *grown = realloc(s->samples_ms, sizeof(double) * (size_t)cap);
        if (!grown)
            return -1;
        s->samples_ms = grown, s->capacity = cap;
    }
    s->samples_ms[s->count++] = ms;
    return 0;
}

/* Relative half-width of the median's interval: the noise adaptive stopping bounds. */
static double median_noise(const nnb_phase_stats *s) {
    double m, lo, hi;
    if (s->count < 1 || nnb_median_ci(s->samples_ms, s->count, NNB_CONFIDENCE, &m, &lo, &hi) || !(m > 0))
        return INFINITY;
    return isfinite(lo) && isfinite(hi) ? (hi - lo) / 2 / m : INFINITY;
}

/* Adaptive stopping caps a run at this many samples (a runner of microseconds would otherwise fill memory). */
#define NNB_MAX_ADAPTIVE_SAMPLES 100000

/* Stop measuring? Fixed: after nloops. Adaptive: once min-samples, min-time and max-noise all hold, or at the
 * timeout. The noise (a sort) is evaluated only as the count grows by 2%, so long runs stay cheap. */
typedef struct loop_control {
    const nnb_adaptive *adaptive;
    int nloops;
    double t_start_ms, measured_ms;
    int next_noise_check;
} loop_control;

static int measuring_done(loop_control *lc, nnb_runner_result *res, int has_backward) {
    const nnb_adaptive *a = lc->adaptive;
    if (!a->enabled)
        return res->fwd.count >= lc->nloops;
    int n = res->fwd.count;
    if (n >= NNB_MAX_ADAPTIVE_SAMPLES) {
        res->stop_reason = "sample cap";
        return 1;
    }
    int timed_out = (nnb_cpu_now_ms() - lc->t_start_ms) >= a->timeout_s * 1e3;
    int enough = n >= a->min_samples && lc->measured_ms >= a->min_time_s * 1e3;
    if (!timed_out && (!enough || n < lc->next_noise_check))
        return 0;
    lc->next_noise_check = n + 1 + n / 50;
    double noise = median_noise(&res->fwd);
    if (has_backward) {
        double nb = median_noise(&res->bwd);
        noise = nb > noise ? nb : noise;
    }
    res->noise = noise;
    if (enough && noise <= a->max_noise) {
        res->stop_reason = "converged";
        return 1;
    }
    if (timed_out)
        res->stop_reason = "timeout";
    return timed_out;
}

static int dump_runner(nnb_run_env *env, const nnb_runner_desc *d, const char *name, void *model, char *err,
                       size_t err_len);

/* "what: message" in err; returns -1. */
static int prefix_error(char *err, size_t err_len, const char *what) {
    char msg[512];
    snprintf(msg, sizeof msg, "%s", err);
    snprintf(err, err_len, "%s: %s", what, msg);
    return -1;
}

int nnb_runs_backward(const nnb_config *cfg, const nnb_runner_desc *d) {
    if (!d->backward)
        return 0;
    return strcmp(d->group, NNB_GROUP_CONVS) || (cfg->conv_dirs & (NNB_CONV_DIR_BWD_D | NNB_CONV_DIR_BWD_W));
}

int nnb_parts_init(nnb_run_env *env, const nnb_runner_desc *d, void *model, nnb_runner_result *res, char *err,
                   size_t err_len) {
    res->part_count = 0;
    if (!d->backward_part_count || !nnb_runs_backward(&env->config, d))
        return 0;
    int n = d->backward_part_count(model);
    if (n < 0 || n > NNB_MAX_BACKWARD_PARTS) {
        snprintf(err, err_len, "backward_part_count: %d parts (the driver times 0 to %d)", n, NNB_MAX_BACKWARD_PARTS);
        return -1;
    }
    for (int p = 0; p < n; p++) {
        const char *name = d->backward_part_name(model, p);
        if (!name || !*name || strlen(name) >= sizeof res->part_names[p]) {
            snprintf(err, err_len, "backward_part_name(%d): %s", p, name && *name ? "longer than 31 bytes" : "no name");
            return -1;
        }
        snprintf(res->part_names[p], sizeof res->part_names[p], "%s", name);
    }
    res->part_count = n;
    return 0;
}

int nnb_timed_parts(nnb_run_env *env, const nnb_runner_desc *d, void *model, nnb_runner_result *res, int measured,
                    char *err, size_t err_len) {
    if (!res->part_count)
        return 0;
    if (d->zero_grad && d->zero_grad(model, err, err_len))
        return prefix_error(err, err_len, "zero_grad");
    if (d->backward_setup && d->backward_setup(model, err, err_len))
        return prefix_error(err, err_len, "backward_setup");
    for (int p = 0; p < res->part_count; p++) {
        char range[96];
        double t0 = 0, ms;
        snprintf(range, sizeof range, "%s %s", d->name, res->part_names[p]);
        if (phase_start(env, d, range, &t0, err, err_len) || d->backward_part(model, p, err, err_len) ||
            (ms = phase_stop(env, d, t0, err, err_len)) < 0)
            return prefix_error(err, err_len, res->part_names[p]);
        if (measured && nnb_push_sample(&res->parts[p], ms)) {
            snprintf(err, err_len, "out of memory for samples");
            return -1;
        }
    }
    return 0;
}

int nnb_timed_passes(nnb_run_env *env, const nnb_runner_desc *d, void *model, double *fwd_ms, double *bwd_ms, char *err,
                     size_t err_len) {
    char range[96];
    double t0 = 0;
    *bwd_ms = 0;
    snprintf(range, sizeof range, "%s forward", d->name);
    if (phase_start(env, d, range, &t0, err, err_len) || d->forward(model, err, err_len) ||
        (*fwd_ms = phase_stop(env, d, t0, err, err_len)) < 0)
        return prefix_error(err, err_len, "forward");
    if (!nnb_runs_backward(&env->config, d))
        return 0;
    if (d->backward_setup && d->backward_setup(model, err, err_len))
        return prefix_error(err, err_len, "backward_setup");
    snprintf(range, sizeof range, "%s backward", d->name);
    if (phase_start(env, d, range, &t0, err, err_len) || d->backward(model, err, err_len) ||
        (*bwd_ms = phase_stop(env, d, t0, err, err_len)) < 0)
        return prefix_error(err, err_len, "backward");
    return 0;
}

int nnb_finish_iteration(nnb_run_env *env, const nnb_runner_desc *d, const char *dump_name, void *model, char *err,
                         size_t err_len) {
    if (dump_name && env->opts->dump_dir && dump_runner(env, d, dump_name, model, err, err_len))
        return prefix_error(err, err_len, "dump");
    if (nnb_runs_backward(&env->config, d) && d->zero_grad && d->zero_grad(model, err, err_len))
        return prefix_error(err, err_len, "zero_grad");
    return 0;
}

/* fastrnns' iteration: forward timed, backward_setup untimed, backward timed,
 * gradients zeroed untimed. --dump writes the last measured iteration's tensors
 * before that iteration's zero_grad, so the gradients are the backward's own. */
static int timed_loop(nnb_run_env *env, const nnb_runner_desc *d, void *model, nnb_runner_result *res) {
    const int warmup = env->opts->profile ? 0 : env->opts->warmup;
    loop_control lc = {.adaptive = &env->opts->adaptive, .nloops = env->opts->profile ? 3 : env->opts->nloops};
    const long long iterations = lc.adaptive->enabled && !env->opts->profile ? -1 : warmup + lc.nloops;
    const int backward = nnb_runs_backward(&env->config, d);
    char err[512] = "";
    if (nnb_parts_init(env, d, model, res, err, sizeof err))
        return fail_with(res, NNB_RUN_FAILED, "", err);
    nnb_progress_iterations(0, iterations);
    for (int it = 0;; it++) {
        if (it == warmup)
            lc.t_start_ms = nnb_cpu_now_ms();
        double fwd_ms, bwd_ms;
        if (nnb_timed_passes(env, d, model, &fwd_ms, &bwd_ms, err, sizeof err) ||
            nnb_timed_parts(env, d, model, res, it >= warmup, err, sizeof err))
            return fail_with(res, NNB_RUN_FAILED, "", err);
        int last = 0;
        if (it >= warmup) {
            if (nnb_push_sample(&res->fwd, fwd_ms) || (backward && nnb_push_sample(&res->bwd, bwd_ms)))
                return fail_with(res, NNB_RUN_FAILED, "", "out of memory for samples");
            lc.measured_ms += fwd_ms + bwd_ms;
            last = measuring_done(&lc, res, backward);
        }
        if (nnb_finish_iteration(env, d, last ? d->name : NULL, model, err, sizeof err))
            return fail_with(res, NNB_RUN_FAILED, "", err);
        nnb_progress_iterations(it + 1, iterations);
        if (last)
            break;
        if (stop_signal) {
            char when[96];
            snprintf(when, sizeof when, "after %d measured iterations", res->fwd.count);
            nnb_mark_interrupted(res, when);
            break;
        }
    }
    nnb_stats_compute(&res->fwd);
    if (backward)
        nnb_stats_compute(&res->bwd);
    for (int p = 0; p < res->part_count; p++)
        nnb_stats_compute(&res->parts[p]);
    return 0;
}

static int dump_list(const char *dir, const nnb_tensor_list *l, char *err, size_t err_len) {
    for (int i = 0; i < l->count; i++) {
        char path[2048];
        snprintf(path, sizeof path, "%s/%s.npy", dir, l->items[i].name);
        if (nnb_npy_write(path, &l->items[i], err, err_len))
            return -1;
    }
    return 0;
}

/* DIR/<name>/<tensor>.npy: inputs, parameters, outputs and gradients as they are now. */
static int dump_runner(nnb_run_env *env, const nnb_runner_desc *d, const char *name, void *model, char *err,
                       size_t err_len) {
    char dir[1536];
    snprintf(dir, sizeof dir, "%s/%s", env->opts->dump_dir, name);
    if (mkdir(dir, 0777) != 0 && errno != EEXIST) {
        snprintf(err, err_len, "--dump: cannot create %.400s: %s", dir, strerror(errno));
        return -1;
    }
    nnb_tensor_list params, outputs;
    if (d->params(model, &params, err, err_len) || dump_list(dir, &params, err, err_len))
        return -1;
    if (d->outputs(model, &outputs, err, err_len) || dump_list(dir, &outputs, err, err_len))
        return -1;
    return 0;
}

void nnb_describe_runner(const nnb_runner_desc *d, void *model, nnb_runner_result *res) {
    if (d->describe) {
        char buf[8192] = "";
        if (d->describe(model, buf, sizeof buf) == 0 && buf[0])
            res->runner_info_json = strdup(buf);
    }
    if (d->forward_flops)
        res->fwd_flops = d->forward_flops(model);
    if (d->backward_flops && d->backward && res->has_backward)
        res->bwd_flops = d->backward_flops(model);
}

void nnb_print_check(FILE *f, const nnb_runner_result *r) {
    if (!r->checked)
        return;
    fprintf(f, "check %s vs %s%s%s%s: %s\n", r->name, r->check_reference, r->precision ? " (" : "",
            r->precision ? nnb_precision_name(r->precision) : "", r->precision ? ")" : "",
            r->check_pass ? "pass" : "FAIL");
    for (int i = 0; i < r->check_count; i++)
        fprintf(f, "    %-22s max_abs %-10.3g max_rel %-10.3g l2_rel %-10.3g tol %-8.3g (%s) %s\n", r->checks[i].name,
                r->checks[i].max_abs_err, r->checks[i].max_rel_err, r->checks[i].l2_rel_err, r->checks[i].tolerance,
                r->checks[i].l2 ? "l2" : "max", r->checks[i].pass ? "ok" : "FAIL");
}

void nnb_result_init(nnb_runner_result *res, const nnb_loaded_runner *lr) {
    const nnb_runner_desc *d = lr->desc;
    memset(res, 0, sizeof *res);
    res->name = d->name;
    res->group = d->group;
    res->device = d->device;
    res->description = d->description ? d->description : "";
    res->plugin_path = lr->plugin_path;
    res->has_backward = d->backward != NULL;
}

int nnb_prepare_runner(nnb_run_env *env, const nnb_runner_desc *d, nnb_runner_result *res) {
    res->precision = env->config.precision;
    if (!runnable_here(env, d, res) || ensure_cuda_timer(env, d, res))
        return -1;
    if (env->opts->check && run_check(env, d, res))
        return -1;
    return 0;
}

void *nnb_create_model(nnb_run_env *env, const nnb_runner_desc *d, nnb_runner_result *res) {
    char err[512] = "";
    double t0 = nnb_cpu_now_ms();
    void *model = d->create(&env->config, err, sizeof err);
    res->create_ms = nnb_cpu_now_ms() - t0;
    if (!model)
        fail_with(res, NNB_RUN_FAILED, "create", err[0] ? err : "create returned NULL");
    return model;
}

void nnb_run_runner(nnb_run_env *env, const nnb_loaded_runner *lr, nnb_runner_result *res) {
    const nnb_runner_desc *d = lr->desc;
    nnb_result_init(res, lr);
    int prepared = nnb_prepare_runner(env, d, res);
    if (env->opts->check && res->checked) { /* the verdict before any timing (an isolated child prints it) */
        nnb_progress_clear();
        nnb_print_check(stderr, res);
    }
    if (prepared)
        return;
    res->has_backward = nnb_runs_backward(&env->config, d);
    void *model = nnb_create_model(env, d, res);
    if (!model)
        return;
    if (timed_loop(env, d, model, res) == 0)
        nnb_describe_runner(d, model, res);
    d->destroy(model);
}
