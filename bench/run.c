#define _GNU_SOURCE
#include "driver.h"

#include "check.h"
#include "npy.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static int is_cuda(const nnb_runner_desc *d) { return !strcmp(d->device, NNB_DEVICE_CUDA); }

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
    if (is_cuda(d) && !nnb_cuda_usable(reason, sizeof reason)) {
        fail_with(res, NNB_RUN_SKIPPED, "cuda", reason);
        return 0;
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

static int alloc_samples(nnb_runner_result *res, int n) {
    res->fwd.samples_ms = calloc((size_t)n, sizeof(double));
    res->bwd.samples_ms = calloc((size_t)n, sizeof(double));
    return res->fwd.samples_ms && res->bwd.samples_ms ? 0 : -1;
}

/* fastrnns' iteration: forward timed, backward_setup untimed, backward timed,
 * gradients zeroed untimed. */
static int timed_loop(nnb_run_env *env, const nnb_runner_desc *d, void *model, nnb_runner_result *res) {
    const int warmup = env->opts->profile ? 0 : env->opts->warmup;
    const int nloops = env->opts->profile ? 3 : env->opts->nloops;
    char err[512] = "";
    char range_fwd[96], range_bwd[96];
    snprintf(range_fwd, sizeof range_fwd, "%s forward", d->name);
    snprintf(range_bwd, sizeof range_bwd, "%s backward", d->name);
    if (alloc_samples(res, nloops))
        return fail_with(res, NNB_RUN_FAILED, "", "out of memory");
    for (int it = 0; it < warmup + nloops; it++) {
        double t0 = 0, ms;
        if (phase_start(env, d, range_fwd, &t0, err, sizeof err) || d->forward(model, err, sizeof err) ||
            (ms = phase_stop(env, d, t0, err, sizeof err)) < 0)
            return fail_with(res, NNB_RUN_FAILED, "forward", err);
        if (it >= warmup)
            res->fwd.samples_ms[res->fwd.count++] = ms;
        if (!d->backward)
            continue;
        if (d->backward_setup && d->backward_setup(model, err, sizeof err))
            return fail_with(res, NNB_RUN_FAILED, "backward_setup", err);
        if (phase_start(env, d, range_bwd, &t0, err, sizeof err) || d->backward(model, err, sizeof err) ||
            (ms = phase_stop(env, d, t0, err, sizeof err)) < 0)
            return fail_with(res, NNB_RUN_FAILED, "backward", err);
        if (it >= warmup)
            res->bwd.samples_ms[res->bwd.count++] = ms;
        if (d->zero_grad && d->zero_grad(model, err, sizeof err))
            return fail_with(res, NNB_RUN_FAILED, "zero_grad", err);
    }
    nnb_stats_compute(&res->fwd);
    if (d->backward)
        nnb_stats_compute(&res->bwd);
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

/* DIR/<runner>/<tensor>.npy after the last measured iteration. */
static int dump_runner(nnb_run_env *env, const nnb_runner_desc *d, void *model, char *err, size_t err_len) {
    char dir[1536];
    snprintf(dir, sizeof dir, "%s/%s", env->opts->dump_dir, d->name);
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

static void describe(const nnb_runner_desc *d, void *model, nnb_runner_result *res) {
    if (d->describe) {
        char buf[8192] = "";
        if (d->describe(model, buf, sizeof buf) == 0 && buf[0])
            res->runner_info_json = strdup(buf);
    }
    if (d->forward_flops)
        res->fwd_flops = d->forward_flops(model);
    if (d->backward_flops && d->backward)
        res->bwd_flops = d->backward_flops(model);
}

void nnb_run_runner(nnb_run_env *env, const nnb_loaded_runner *lr, nnb_runner_result *res) {
    const nnb_runner_desc *d = lr->desc;
    memset(res, 0, sizeof *res);
    res->name = d->name;
    res->group = d->group;
    res->device = d->device;
    res->description = d->description ? d->description : "";
    res->plugin_path = lr->plugin_path;
    res->has_backward = d->backward != NULL;
    if (!runnable_here(env, d, res))
        return;
    if (env->opts->check && run_check(env, d, res))
        return;

    char err[512] = "";
    double t0 = nnb_cpu_now_ms();
    void *model = d->create(&env->config, err, sizeof err);
    res->create_ms = nnb_cpu_now_ms() - t0;
    if (!model) {
        fail_with(res, NNB_RUN_FAILED, "create", err[0] ? err : "create returned NULL");
        return;
    }
    if (timed_loop(env, d, model, res) == 0) {
        describe(d, model, res);
        if (env->opts->dump_dir && dump_runner(env, d, model, err, sizeof err))
            fail_with(res, NNB_RUN_FAILED, "dump", err);
    }
    d->destroy(model);
}
