/*
 * --print-json pytest-benchmark: the run as one pytest-benchmark JSON document, the shape PyTorch's
 * benchmarks/upload_scribe.py reads (machine_info.{node, processor, release}, commit_info.{id, branch,
 * time, dirty}, datetime, benchmarks[].{group, name, fullname, params, stats.{min, max, mean, stddev,
 * median, rounds}}). As pytest-benchmark writes them, times are in SECONDS; stats.data holds every sample.
 * docs/history.md lists where each field comes from.
 */
#include "report.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>

/* An empty context field (unknown) as null. */
static cJSON *text_or_null(const char *s) { return s && *s ? cJSON_CreateString(s) : cJSON_CreateNull(); }
static cJSON *number_or_null(double x) { return isfinite(x) ? cJSON_CreateNumber(x) : cJSON_CreateNull(); }

static cJSON *machine_info(const nnb_run_context *c) {
    struct utsname u;
    int have_uname = uname(&u) == 0;
    cJSON *m = cJSON_CreateObject();
    cJSON_AddItemToObject(m, "node", text_or_null(c->host));
    cJSON_AddItemToObject(m, "processor", text_or_null(c->cpu_model));
    cJSON_AddItemToObject(m, "machine", text_or_null(have_uname ? u.machine : NULL));
    cJSON_AddItemToObject(m, "system", text_or_null(have_uname ? u.sysname : NULL));
    cJSON_AddItemToObject(m, "release", text_or_null(have_uname ? u.release : NULL));
    cJSON *cpu = cJSON_AddObjectToObject(m, "cpu");
    cJSON_AddItemToObject(cpu, "brand_raw", text_or_null(c->cpu_model));
    cJSON_AddNumberToObject(cpu, "count", c->threads);
    cJSON *n = cJSON_AddObjectToObject(m, "nnbench");
    cJSON_AddItemToObject(n, "version", text_or_null(c->nnbench_version));
    cJSON_AddNumberToObject(n, "threads", c->threads);
    const struct {
        const char *key, *value;
    } libs[] = {
        {"blas", c->blas},    {"onednn", c->onednn}, {"cuda_runtime", c->cuda_runtime}, {"cuda_driver", c->cuda_driver},
        {"cudnn", c->cudnn},  {"cublas", c->cublas}, {"gpu_name", c->gpu_name},         {"gpu_sm", c->gpu_sm},
        {"device", c->device}};
    for (size_t i = 0; i < sizeof libs / sizeof *libs; i++)
        cJSON_AddItemToObject(n, libs[i].key, text_or_null(libs[i].value));
    return m;
}

static cJSON *commit_info(const nnb_run_context *c) {
    cJSON *o = cJSON_CreateObject();
    int known = c->git_sha[0] && strcmp(c->git_sha, "unknown");
    cJSON_AddItemToObject(o, "id", text_or_null(known ? c->git_sha : NULL));
    cJSON_AddStringToObject(o, "project", "nnbench");
    cJSON_AddItemToObject(o, "branch", cJSON_CreateNull());
    cJSON_AddItemToObject(o, "time", cJSON_CreateNull());
    cJSON_AddItemToObject(o, "dirty", cJSON_CreateNull()); /* not recorded by the build */
    return o;
}

/* The work's settings; runner and phase let `nnbench history add` key the series as nnbench's own JSON. */
static cJSON *params(const nnb_run_results *res, const nnb_runner_result *r, const char *phase) {
    const nnb_config *c = &res->config;
    cJSON *p = cJSON_CreateObject();
    cJSON_AddStringToObject(p, "runner", r->name);
    cJSON_AddStringToObject(p, "phase", phase);
    cJSON_AddStringToObject(p, "net_name", r->name);
    cJSON_AddItemToObject(p, "fuser", text_or_null(res->fuser ? res->fuser : c->fuser));
    cJSON_AddItemToObject(p, "executor", text_or_null(res->executor ? res->executor : c->executor));
    cJSON_AddItemToObject(p, "device", text_or_null(r->device));
    cJSON_AddNumberToObject(p, "seq_length", (double)c->seq_length);
    cJSON_AddNumberToObject(p, "num_layers", (double)c->num_layers);
    cJSON_AddNumberToObject(p, "input_size", (double)c->input_size);
    cJSON_AddNumberToObject(p, "hidden_size", (double)c->hidden_size);
    cJSON_AddNumberToObject(p, "mini_batch", (double)c->mini_batch);
    cJSON_AddNumberToObject(p, "cnn_batch", (double)c->cnn_batch);
    cJSON_AddNumberToObject(p, "image_size", (double)c->image_size);
    cJSON_AddNumberToObject(p, "threads", c->threads);
    cJSON_AddBoolToObject(p, "allow_tf32", c->allow_tf32);
    if (r->precision != NNB_PRECISION_FP32) /* fp32 entries keep the params (and history series) they had */
        cJSON_AddStringToObject(p, "precision", nnb_precision_name(r->precision));
    return p;
}

/* stats in seconds from the phase's millisecond statistics and samples. */
static cJSON *stats(const nnb_phase_stats *s) {
    cJSON *o = cJSON_CreateObject();
    cJSON_AddItemToObject(o, "min", number_or_null(s->min / 1e3));
    cJSON_AddItemToObject(o, "max", number_or_null(s->max / 1e3));
    cJSON_AddItemToObject(o, "mean", number_or_null(s->mean / 1e3));
    cJSON_AddItemToObject(o, "stddev", number_or_null(s->std / 1e3));
    cJSON_AddItemToObject(o, "median", number_or_null(s->median / 1e3));
    cJSON_AddNumberToObject(o, "rounds", s->count);
    cJSON_AddNumberToObject(o, "iterations", 1);
    cJSON_AddItemToObject(o, "ops", number_or_null(s->mean > 0 ? 1e3 / s->mean : NAN));
    cJSON *data = cJSON_AddArrayToObject(o, "data");
    for (int i = 0; s->samples_ms && i < s->count; i++)
        cJSON_AddItemToArray(data, number_or_null(s->samples_ms[i] / 1e3));
    return o;
}

/* One entry per runner and phase that ran: name "test_forward[py]", fullname "nnbench::lstm::test_forward[py]". */
static void add_benchmark(cJSON *list, const nnb_run_results *res, const nnb_group_result *g,
                          const nnb_runner_result *r, int backward) {
    const char *phase = backward ? "backward" : "forward";
    char name[160], fullname[256];
    snprintf(name, sizeof name, "test_%s[%s]", phase, r->name);
    snprintf(fullname, sizeof fullname, "nnbench::%s::%s", nnb_group_json_key(g->group), name);
    cJSON *b = cJSON_CreateObject();
    cJSON_AddStringToObject(b, "group", nnb_group_json_key(g->group));
    cJSON_AddStringToObject(b, "name", name);
    cJSON_AddStringToObject(b, "fullname", fullname);
    cJSON_AddItemToObject(b, "params", params(res, r, phase));
    cJSON_AddStringToObject(b, "param", r->name);
    cJSON_AddItemToObject(b, "stats", stats(backward ? &r->bwd : &r->fwd));
    cJSON_AddItemToArray(list, b);
}

int nnb_report_pytest_benchmark(FILE *f, const nnb_run_results *res) {
    cJSON *root = cJSON_CreateObject();
    cJSON_AddItemToObject(root, "machine_info", machine_info(&res->context));
    cJSON_AddItemToObject(root, "commit_info", commit_info(&res->context));
    cJSON *list = cJSON_AddArrayToObject(root, "benchmarks");
    for (int gi = 0; gi < res->group_count; gi++) {
        const nnb_group_result *g = &res->groups[gi];
        for (int i = 0; i < g->count; i++) {
            const nnb_runner_result *r = &g->runners[i];
            if (r->status != NNB_RUN_OK || r->fwd.count <= 0)
                continue;
            add_benchmark(list, res, g, r, 0);
            if (r->has_backward && r->bwd.count > 0)
                add_benchmark(list, res, g, r, 1);
        }
    }
    cJSON_AddItemToObject(root, "datetime", text_or_null(res->context.date));
    char version[64];
    snprintf(version, sizeof version, "nnbench %s", res->context.nnbench_version);
    cJSON_AddStringToObject(root, "version", version);
    char *text = cJSON_Print(root);
    cJSON_Delete(root);
    int rc = text && fprintf(f, "%s\n", text) > 0 ? 0 : -1;
    free(text);
    return rc;
}
