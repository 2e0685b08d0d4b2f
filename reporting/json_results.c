/*
 * Full JSON results ("schema": "nnbench-results", "schema_version": 1; every
 * field is documented in docs/json-schema.md), built with cJSON and written
 * atomically.
 *
 * Rules: times in milliseconds, FLOPs per pass, GFLOP/s from FLOPs and mean
 * time; unknown or not-applicable values are null; NaN and infinities are
 * written as null so the file is always valid JSON.
 */
#define _POSIX_C_SOURCE 200809L
#include "report.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define SCHEMA_NAME "nnbench-results"
#define SCHEMA_VERSION 1

/* Largest integer a double (and so a JSON reader) holds exactly. */
#define EXACT_DOUBLE_INT_MAX 9007199254740992.0

/* ---- Building: every add records an allocation failure instead of checking at each call ---- */

typedef struct builder {
    int failed;
} builder;

static cJSON *add_item(builder *b, cJSON *obj, const char *key, cJSON *item) {
    if (!obj || !item || !cJSON_AddItemToObject(obj, key, item)) {
        cJSON_Delete(item);
        b->failed = 1;
        return NULL;
    }
    return item;
}

static void append_item(builder *b, cJSON *array, cJSON *item) {
    if (!array || !item || !cJSON_AddItemToArray(array, item)) {
        cJSON_Delete(item);
        b->failed = 1;
    }
}

static cJSON *number_or_null(double x) { return isfinite(x) ? cJSON_CreateNumber(x) : cJSON_CreateNull(); }

/* Strings: null when absent. */
static cJSON *string_or_null(const char *s) { return s ? cJSON_CreateString(s) : cJSON_CreateNull(); }

static void add_number(builder *b, cJSON *obj, const char *key, double x) { add_item(b, obj, key, number_or_null(x)); }

static void add_string(builder *b, cJSON *obj, const char *key, const char *s) {
    add_item(b, obj, key, string_or_null(s));
}

static void add_bool(builder *b, cJSON *obj, const char *key, int v) { add_item(b, obj, key, cJSON_CreateBool(v)); }

/* A fixed-size char array of the context: null when empty (unknown / not
 * applicable); read at most cap bytes even if the driver forgot the NUL. */
static void add_fixed_string(builder *b, cJSON *obj, const char *key, const char *s, size_t cap) {
    size_t n = strnlen(s, cap);
    if (n == 0) {
        add_item(b, obj, key, cJSON_CreateNull());
        return;
    }
    char copy[256];
    snprintf(copy, sizeof copy, "%.*s", (int)(n < sizeof copy ? n : sizeof copy - 1), s);
    add_item(b, obj, key, cJSON_CreateString(copy));
}
#define ADD_CONTEXT_STRING(b, obj, ctx, field) add_fixed_string(b, obj, #field, (ctx)->field, sizeof(ctx)->field)

/* ---- Sections --------------------------------------------------------------------- */

static cJSON *context_json(builder *b, const nnb_run_context *ctx) {
    cJSON *o = cJSON_CreateObject();
    ADD_CONTEXT_STRING(b, o, ctx, nnbench_version);
    ADD_CONTEXT_STRING(b, o, ctx, git_sha);
    ADD_CONTEXT_STRING(b, o, ctx, date);
    ADD_CONTEXT_STRING(b, o, ctx, host);
    ADD_CONTEXT_STRING(b, o, ctx, cpu_model);
    add_number(b, o, "threads", ctx->threads);
    ADD_CONTEXT_STRING(b, o, ctx, blas);
    ADD_CONTEXT_STRING(b, o, ctx, onednn);
    ADD_CONTEXT_STRING(b, o, ctx, cuda_runtime);
    ADD_CONTEXT_STRING(b, o, ctx, cuda_driver);
    ADD_CONTEXT_STRING(b, o, ctx, cudnn);
    ADD_CONTEXT_STRING(b, o, ctx, cublas);
    ADD_CONTEXT_STRING(b, o, ctx, gpu_name);
    ADD_CONTEXT_STRING(b, o, ctx, gpu_sm);
    ADD_CONTEXT_STRING(b, o, ctx, device);
    add_number(b, o, "fma_peak_gflops", ctx->fma_peak_gflops > 0 ? ctx->fma_peak_gflops : NAN);
    cJSON *peaks = add_item(b, o, "peaks_gflops", cJSON_CreateObject()); /* every precision's; null: none here */
    add_number(b, peaks, "fp32_fma", ctx->fma_peak_gflops > 0 ? ctx->fma_peak_gflops : NAN);
    add_number(b, peaks, "bf16_dot", ctx->bf16_dot_peak_gflops > 0 ? ctx->bf16_dot_peak_gflops : NAN);
    add_number(b, peaks, "bf16_amx", ctx->bf16_amx_peak_gflops > 0 ? ctx->bf16_amx_peak_gflops : NAN);
    add_number(b, peaks, "fp16_fma", ctx->fp16_fma_peak_gflops > 0 ? ctx->fp16_fma_peak_gflops : NAN);
    return o;
}

/* The seed is a uint64: a number while a double holds it exactly, else its decimal text. */
static cJSON *seed_json(uint64_t seed) {
    if ((double)seed <= EXACT_DOUBLE_INT_MAX)
        return cJSON_CreateNumber((double)seed);
    char text[32];
    snprintf(text, sizeof text, "%llu", (unsigned long long)seed);
    return cJSON_CreateString(text);
}

/* The convs group's problem (--conv) as deduced, with its canonical descriptor; null for other runs. */
static cJSON *conv_json(builder *b, const nnb_run_results *res) {
    const nnb_conv_problem *p = res->config.conv;
    if (!p)
        return cJSON_CreateNull();
    cJSON *o = cJSON_CreateObject();
    add_string(b, o, "descriptor", res->conv_descriptor ? res->conv_descriptor : "");
    add_item(b, o, "name", p->name ? cJSON_CreateString(p->name) : cJSON_CreateNull());
    add_number(b, o, "ndims", p->ndims);
    const char *keys[] = {"g",  "mb", "ic", "oc", "id", "ih", "iw", "od", "oh", "ow", "kd",
                          "kh", "kw", "sd", "sh", "sw", "pd", "ph", "pw", "dd", "dh", "dw"};
    const int64_t values[] = {p->g,  p->mb, p->ic, p->oc, p->id, p->ih, p->iw, p->od, p->oh, p->ow, p->kd,
                              p->kh, p->kw, p->sd, p->sh, p->sw, p->pd, p->ph, p->pw, p->dd, p->dh, p->dw};
    for (size_t i = 0; i < sizeof keys / sizeof *keys; i++)
        add_number(b, o, keys[i], (double)values[i]);
    add_bool(b, o, "has_bias", p->has_bias);
    uint32_t d = res->config.conv_dirs;
    add_string(b, o, "dir",
               d == NNB_CONV_DIR_FWD                          ? "fwd"
               : d == (NNB_CONV_DIR_FWD | NNB_CONV_DIR_BWD_D) ? "bwd_d"
               : d == (NNB_CONV_DIR_FWD | NNB_CONV_DIR_BWD_W) ? "bwd_w"
                                                              : "all");
    add_string(b, o, "algo", res->config.conv_algo ? res->config.conv_algo : "auto");
    return o;
}

/* Every nnb_config field but struct_size and cuda_stream (ABI plumbing), plus the driver's settings. */
static cJSON *config_json(builder *b, const nnb_run_results *res) {
    const nnb_config *c = &res->config;
    cJSON *o = cJSON_CreateObject();
    add_number(b, o, "seq_length", (double)c->seq_length);
    add_number(b, o, "num_layers", (double)c->num_layers);
    add_number(b, o, "input_size", (double)c->input_size);
    add_number(b, o, "hidden_size", (double)c->hidden_size);
    add_number(b, o, "mini_batch", (double)c->mini_batch);
    add_number(b, o, "cnn_batch", (double)c->cnn_batch);
    add_number(b, o, "image_size", (double)c->image_size);
    add_item(b, o, "conv", conv_json(b, res));
    add_item(b, o, "seed", seed_json(c->seed));
    add_number(b, o, "threads", c->threads);
    add_string(b, o, "fuser", res->fuser ? res->fuser : c->fuser);
    add_string(b, o, "executor", res->executor ? res->executor : c->executor);
    add_number(b, o, "cuda_pointwise_loop_level", c->cuda_pointwise_loop_level);
    add_number(b, o, "cuda_pointwise_block_count", c->cuda_pointwise_block_count);
    add_number(b, o, "cuda_pointwise_block_size", c->cuda_pointwise_block_size);
    add_bool(b, o, "allow_tf32", c->allow_tf32);
    add_string(b, o, "precision", nnb_precision_name(c->precision));
    add_number(b, o, "cuda_device", c->cuda_device);
    add_number(b, o, "warmup", res->warmup);
    add_item(b, o, "nloops", res->adaptive.enabled || res->ab ? cJSON_CreateNull() : cJSON_CreateNumber(res->nloops));
    add_number(b, o, "confidence", NNB_CONFIDENCE);
    cJSON *adaptive = add_item(b, o, "adaptive", res->adaptive.enabled ? cJSON_CreateObject() : cJSON_CreateNull());
    if (res->adaptive.enabled) {
        add_number(b, adaptive, "min_time_s", res->adaptive.min_time_s);
        add_number(b, adaptive, "max_noise", res->adaptive.max_noise);
        add_number(b, adaptive, "min_samples", res->adaptive.min_samples);
        add_number(b, adaptive, "timeout_s", res->adaptive.timeout_s);
    }
    add_fixed_string(b, o, "device", res->context.device, sizeof res->context.device);
    return o;
}

/* {mean_ms, std_ms, min_ms, median_ms, max_ms, samples_ms}, or null when the phase did not run. */
static cJSON *phase_json(builder *b, const nnb_phase_stats *s, int ran) {
    if (!ran || s->count <= 0)
        return cJSON_CreateNull();
    cJSON *o = cJSON_CreateObject();
    add_number(b, o, "mean_ms", s->mean);
    add_number(b, o, "std_ms", s->std);
    add_number(b, o, "min_ms", s->min);
    add_number(b, o, "median_ms", s->median);
    add_number(b, o, "max_ms", s->max);
    cJSON *ci = add_item(b, o, "median_ci_ms", cJSON_CreateArray());
    append_item(b, ci, number_or_null(s->median_lo));
    append_item(b, ci, number_or_null(s->median_hi));
    cJSON *samples = add_item(b, o, "samples_ms", cJSON_CreateArray());
    for (int i = 0; samples && s->samples_ms && i < s->count; i++)
        append_item(b, samples, number_or_null(s->samples_ms[i]));
    return o;
}

static int backward_ran(const nnb_runner_result *r) { return r->has_backward && r->bwd.count > 0; }

/* FLOPs per pass: null when unknown (0) or the pass does not exist. */
static double flops_or_nan(double flops, int exists) { return exists && flops > 0 ? flops : NAN; }

/* GFLOP/s = FLOPs / (mean_ms * 1e-3) / 1e9; NaN (null) when anything is unknown. */
static double gflops(double flops, const nnb_phase_stats *s, int ran) {
    if (!ran || s->count <= 0 || !(flops > 0) || !(s->mean > 0))
        return NAN;
    return flops / (s->mean * 1e6);
}

/* describe() output parsed back: an object when it parses as one, else the raw text, null when absent. */
static cJSON *runner_info_json(const char *text) {
    if (!text)
        return cJSON_CreateNull();
    cJSON *parsed = cJSON_Parse(text);
    if (cJSON_IsObject(parsed))
        return parsed;
    cJSON_Delete(parsed);
    return cJSON_CreateString(text);
}

static cJSON *check_json(builder *b, const nnb_runner_result *r) {
    if (!r->checked)
        return cJSON_CreateNull();
    cJSON *o = cJSON_CreateObject();
    add_string(b, o, "reference", r->check_reference);
    add_bool(b, o, "pass", r->check_pass);
    add_string(b, o, "verdict", r->check_pass ? "pass" : "fail");
    cJSON *tensors = add_item(b, o, "tensors", cJSON_CreateArray());
    for (int i = 0; tensors && r->checks && i < r->check_count; i++) {
        const nnb_tensor_check *c = &r->checks[i];
        cJSON *t = cJSON_CreateObject();
        add_fixed_string(b, t, "name", c->name, sizeof c->name);
        add_number(b, t, "max_abs_err", c->max_abs_err);
        add_number(b, t, "max_rel_err", c->max_rel_err);
        add_number(b, t, "l2_rel_err", c->l2_rel_err);
        cJSON_AddStringToObject(t, "norm", c->l2 ? "l2" : "max");
        add_string(b, t, "metric", c->l2 ? "l2_rel" : "max_rel"); /* the error judged: "error" <= "tolerance" */
        add_number(b, t, "error", c->l2 ? c->l2_rel_err : c->max_rel_err);
        add_number(b, t, "tolerance", c->tolerance);
        add_bool(b, t, "pass", c->pass);
        append_item(b, tensors, t);
    }
    return o;
}

/* ABI 1.3 backward parts: "backward_parts": [names] and one phase object per name ("bwd_data", "bwd_weights"). */
static void add_backward_parts(builder *b, cJSON *o, const nnb_runner_result *r) {
    cJSON *names = add_item(b, o, "backward_parts", cJSON_CreateArray());
    for (int p = 0; names && p < r->part_count; p++)
        append_item(b, names, cJSON_CreateString(r->part_names[p]));
    for (int p = 0; p < r->part_count; p++)
        add_item(b, o, r->part_names[p], phase_json(b, &r->parts[p], 1));
}

/* --measure-peak: the peak of the run's precision and each phase's GFLOP/s (as in "gflops") as a share of it, in
 * percent; with "amx" as well for a bf16 run on AMX. null when no peak applies. */
static cJSON *peak_json(builder *b, const nnb_runner_result *r, int fwd_ran, int bwd_ran) {
    if (!r->peak.precision || !(r->peak.gflops > 0))
        return cJSON_CreateNull();
    double fwd = gflops(r->fwd_flops, &r->fwd, fwd_ran), bwd = gflops(r->bwd_flops, &r->bwd, bwd_ran);
    cJSON *o = cJSON_CreateObject();
    add_string(b, o, "precision", r->peak.precision);
    add_string(b, o, "instruction", r->peak.instruction);
    add_number(b, o, "gflops", r->peak.gflops);
    add_number(b, o, "percent_forward", 100 * fwd / r->peak.gflops);
    add_number(b, o, "percent_backward", 100 * bwd / r->peak.gflops);
    if (r->peak.amx_instruction && r->peak.amx_gflops > 0) {
        cJSON *amx = add_item(b, o, "amx", cJSON_CreateObject());
        add_string(b, amx, "instruction", r->peak.amx_instruction);
        add_number(b, amx, "gflops", r->peak.amx_gflops);
        add_number(b, amx, "percent_forward", 100 * fwd / r->peak.amx_gflops);
        add_number(b, amx, "percent_backward", 100 * bwd / r->peak.amx_gflops);
    }
    return o;
}

static cJSON *runner_json(builder *b, const nnb_runner_result *r) {
    cJSON *o = cJSON_CreateObject();
    int fwd_ran = r->fwd.count > 0, bwd_ran = backward_ran(r);
    add_string(b, o, "name", r->name);
    add_string(b, o, "group", r->group);
    add_string(b, o, "device", r->device);
    add_string(b, o, "plugin", r->plugin_path);
    add_string(b, o, "description", r->description);
    add_string(b, o, "precision", nnb_precision_name(r->precision));
    add_string(b, o, "status", nnb_run_status_name(r->status));
    if (r->status == NNB_RUN_OK) {
        add_item(b, o, "error", cJSON_CreateNull());
    } else {
        char error[sizeof r->error];
        nnb_runner_error_text(r, error, sizeof error);
        add_string(b, o, "error", error);
    }
    add_bool(b, o, "has_backward", r->has_backward);
    add_number(b, o, "create_ms", r->create_ms);
    add_item(b, o, "forward", phase_json(b, &r->fwd, 1));
    add_item(b, o, "backward", phase_json(b, &r->bwd, bwd_ran));
    add_backward_parts(b, o, r);
    cJSON *flops = add_item(b, o, "flops", cJSON_CreateObject());
    add_number(b, flops, "forward", flops_or_nan(r->fwd_flops, 1));
    add_number(b, flops, "backward", flops_or_nan(r->bwd_flops, r->has_backward));
    cJSON *rate = add_item(b, o, "gflops", cJSON_CreateObject());
    add_number(b, rate, "forward", gflops(r->fwd_flops, &r->fwd, fwd_ran));
    add_number(b, rate, "backward", gflops(r->bwd_flops, &r->bwd, bwd_ran));
    add_item(b, o, "peak", peak_json(b, r, fwd_ran, bwd_ran));
    add_string(b, o, "stop_reason", r->stop_reason);
    add_number(b, o, "noise", r->stop_reason ? r->noise : NAN);
    add_item(b, o, "runner_info", runner_info_json(r->runner_info_json));
    add_item(b, o, "check", check_json(b, r));
    return o;
}

static cJSON *ratio_json(builder *b, const nnb_ab_result *ab, int p) {
    const nnb_ratio_summary *s = &ab->summary[p];
    if (s->n <= 0)
        return cJSON_CreateNull();
    cJSON *o = cJSON_CreateObject();
    add_number(b, o, "a_median_ms", ab->a_median_ms[p]);
    add_number(b, o, "b_median_ms", ab->b_median_ms[p]);
    add_number(b, o, "ratio", s->ratio);
    add_number(b, o, "ci_low", s->lo);
    add_number(b, o, "ci_high", s->hi);
    add_number(b, o, "half_width", s->half_width);
    add_string(b, o, "verdict", nnb_verdict_name(s->verdict));
    return o;
}

/* Every round: per phase A's and B's mean of their two iterations, and the ratio B / A. */
static cJSON *round_json(builder *b, const nnb_ab_result *ab, const nnb_ab_round *r) {
    cJSON *o = cJSON_CreateObject();
    for (int p = 0; p < (ab->has_backward ? NNB_AB_PHASES : 1); p++) {
        cJSON *ph = add_item(b, o, nnb_ab_phase_name(p), cJSON_CreateObject());
        add_number(b, ph, "a_ms", r->a_ms[p]);
        add_number(b, ph, "b_ms", r->b_ms[p]);
        add_number(b, ph, "ratio", r->a_ms[p] > 0 ? r->b_ms[p] / r->a_ms[p] : NAN);
    }
    return o;
}

static cJSON *ab_json(builder *b, const nnb_ab_result *ab) {
    if (!ab)
        return cJSON_CreateNull();
    cJSON *o = cJSON_CreateObject();
    add_string(b, o, "a", ab->a_spec);
    add_string(b, o, "b", ab->b_spec);
    add_string(b, o, "order", "ABBA");
    add_string(b, o, "interval", ab->summary[ab->phase].method); /* "hodges-lehmann" below 3000 rounds */
    add_number(b, o, "confidence", NNB_CONFIDENCE);
    add_number(b, o, "noise_threshold", ab->noise_threshold);
    add_number(b, o, "min_samples", ab->min_samples);
    add_number(b, o, "max_time_s", ab->max_time_s);
    add_number(b, o, "fail_above", ab->fail_above > 0 ? ab->fail_above : NAN);
    add_string(b, o, "phase", nnb_ab_phase_name(ab->phase));
    add_string(b, o, "verdict", nnb_verdict_name(ab->summary[ab->phase].verdict));
    add_bool(b, o, "fail_above_hit", ab->fail_above_hit);
    add_string(b, o, "stop_reason", ab->stop_reason);
    add_number(b, o, "elapsed_s", ab->elapsed_s);
    add_number(b, o, "rounds", ab->rounds);
    cJSON *phases = add_item(b, o, "phases", cJSON_CreateObject());
    for (int p = 0; p < NNB_AB_PHASES; p++)
        add_item(b, phases, nnb_ab_phase_name(p), ratio_json(b, ab, p));
    cJSON *rounds = add_item(b, o, "samples", cJSON_CreateArray());
    for (int i = 0; rounds && ab->samples && i < ab->rounds; i++)
        append_item(b, rounds, round_json(b, ab, &ab->samples[i]));
    return o;
}

static cJSON *results_json(builder *b, const nnb_run_results *res) {
    cJSON *root = cJSON_CreateObject();
    add_string(b, root, "schema", SCHEMA_NAME);
    add_number(b, root, "schema_version", SCHEMA_VERSION);
    add_item(b, root, "context", context_json(b, &res->context));
    add_item(b, root, "config", config_json(b, res));
    cJSON *groups = add_item(b, root, "groups", cJSON_CreateObject());
    for (int gi = 0; gi < res->group_count; gi++) {
        const nnb_group_result *g = &res->groups[gi];
        cJSON *runners = add_item(b, groups, g->group ? g->group : "", cJSON_CreateArray());
        for (int i = 0; runners && i < g->count; i++)
            append_item(b, runners, runner_json(b, &g->runners[i]));
    }
    add_item(b, root, "ab", ab_json(b, res->ab));
    add_bool(b, root, "interrupted", res->interrupted);
    return root;
}

char *nnb_report_json_text(const nnb_run_results *res) {
    builder b = {0};
    cJSON *root = results_json(&b, res);
    char *text = b.failed || !root ? NULL : cJSON_Print(root);
    cJSON_Delete(root);
    return text;
}

/* ---- Writing ---------------------------------------------------------------------- */

static int fail(char *err, size_t err_len, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

static int fail(char *err, size_t err_len, const char *fmt, ...) {
    if (err && err_len) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, err_len, fmt, ap);
        va_end(ap);
    }
    return -1;
}

/* The directory part of path: "." for a bare name, "/" for "/name". */
static void directory_of(const char *path, char *dir, size_t len) {
    const char *slash = strrchr(path, '/');
    if (!slash)
        snprintf(dir, len, ".");
    else if (slash == path)
        snprintf(dir, len, "/");
    else
        snprintf(dir, len, "%.*s", (int)(slash - path), path);
}

int nnb_output_path_check(const char *path, char *err, size_t err_len) {
    if (!path || !*path)
        return fail(err, err_len, "output path is empty");
    size_t n = strlen(path);
    if (path[n - 1] == '/')
        return fail(err, err_len, "output path '%s' names a directory, not a file", path);
    struct stat st;
    if (stat(path, &st) == 0) {
        if (S_ISDIR(st.st_mode))
            return fail(err, err_len, "output path '%s' is a directory", path);
        if (!S_ISREG(st.st_mode))
            return fail(err, err_len, "output path '%s' is not a regular file (it would be replaced)", path);
    } else if (errno != ENOENT) {
        return fail(err, err_len, "output path '%s': %s", path, strerror(errno));
    }
    char dir[4096];
    directory_of(path, dir, sizeof dir);
    if (stat(dir, &st) != 0)
        return fail(err, err_len, "cannot write '%s': directory '%s' %s", path, dir,
                    errno == ENOENT ? "does not exist" : strerror(errno));
    if (!S_ISDIR(st.st_mode))
        return fail(err, err_len, "cannot write '%s': '%s' is not a directory", path, dir);
    if (access(dir, W_OK | X_OK) != 0)
        return fail(err, err_len, "cannot write '%s': directory '%s' is not writable: %s", path, dir, strerror(errno));
    return 0;
}

static int write_all(int fd, const char *data, size_t len) {
    while (len > 0) {
        ssize_t n = write(fd, data, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1;
        data += n;
        len -= (size_t)n;
    }
    return 0;
}

/* A new temporary file next to path (so the rename stays on one file system);
 * O_EXCL with a fresh name, mode 0666 less umask like any output file. */
static int create_temp_beside(const char *path, char *tmp, size_t tmp_len) {
    static unsigned counter;
    for (int attempt = 0; attempt < 100; attempt++) {
        snprintf(tmp, tmp_len, "%s.tmp.%ld.%u", path, (long)getpid(), counter++);
        int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
        if (fd >= 0 || errno != EEXIST)
            return fd;
    }
    return -1;
}

/* Best effort: make the rename itself durable. */
static void sync_directory_of(const char *path) {
    char dir[4096];
    directory_of(path, dir, sizeof dir);
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return;
    fsync(fd);
    close(fd);
}

int nnb_write_file_atomic(const char *path, const char *text, size_t len, char *err, size_t err_len) {
    if (nnb_output_path_check(path, err, err_len) != 0)
        return -1;
    char tmp[4200];
    int fd = create_temp_beside(path, tmp, sizeof tmp);
    if (fd < 0)
        return fail(err, err_len, "cannot write '%s': creating '%s': %s", path, tmp, strerror(errno));
    const char *step = NULL;
    if (write_all(fd, text, len) != 0)
        step = "write";
    else if (fsync(fd) != 0)
        step = "fsync";
    int e = errno;
    if (close(fd) != 0 && !step) {
        step = "close";
        e = errno;
    }
    if (!step && rename(tmp, path) != 0) {
        step = "rename";
        e = errno;
    }
    if (step) {
        unlink(tmp);
        return fail(err, err_len, "cannot write '%s': %s of '%s' failed: %s", path, step, tmp, strerror(e));
    }
    sync_directory_of(path);
    return 0;
}

int nnb_report_json_write(const char *path, const nnb_run_results *res, char *err, size_t err_len) {
    if (nnb_output_path_check(path, err, err_len) != 0)
        return -1;
    char *text = nnb_report_json_text(res);
    if (!text)
        return fail(err, err_len, "cannot write '%s': out of memory building the JSON results", path);
    size_t len = strlen(text);
    text[len] = '\n'; /* cJSON_Print's NUL becomes the final newline */
    int rc = nnb_write_file_atomic(path, text, len + 1, err, err_len);
    free(text);
    return rc;
}
