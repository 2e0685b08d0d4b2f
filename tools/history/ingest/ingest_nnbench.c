/* nnbench's own files: full JSON (docs/json-schema.md) and sweep.json (docs/sweeps.md), whose runs hold
 * full JSON or serve JSON, each tagged with its point's settings. */
#include "ingest_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Fields of "context" that identify the machine: hardware, threads, libraries and their versions. The
 * host name, the nnbench version and the date are provenance, not part of the key. */
static const char *const machine_fields[] = {"cpu_model",   "threads", "blas",   "onednn",   "cuda_runtime",
                                             "cuda_driver", "cudnn",   "cublas", "gpu_name", "gpu_sm"};

/* Settings that change how long or how often, not the work measured. */
static const char *const not_config[] = {"seed", "nloops", "warmup", "confidence", "adaptive"};

static int listed(const char *key, const char *const *names, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (!strcmp(key, names[i]))
            return 1;
    return 0;
}

/* A copy of the listed (or all but the listed) non-null members of obj. */
static cJSON *pick(const cJSON *obj, const char *const *names, size_t n, int keep_listed) {
    cJSON *out = cJSON_CreateObject();
    for (const cJSON *m = obj ? obj->child : NULL; out && m; m = m->next)
        if (!cJSON_IsNull(m) && listed(m->string, names, n) == keep_listed)
            cJSON_AddItemToObject(out, m->string, cJSON_Duplicate(m, 1));
    return out;
}

/* extra's members into config (they win over the file's own). */
static void merge(cJSON *config, const cJSON *extra) {
    for (const cJSON *m = extra ? extra->child : NULL; m; m = m->next) {
        cJSON_DeleteItemFromObjectCaseSensitive(config, m->string);
        cJSON_AddItemToObject(config, m->string, cJSON_Duplicate(m, 1));
    }
}

/* Finite numbers of a samples array; -1 when an element is not a number. */
static int read_samples(const cJSON *array, double *out, int cap) {
    int n = 0;
    for (const cJSON *e = array ? array->child : NULL; e && n < cap; e = e->next) {
        if (!cJSON_IsNumber(e))
            return -1;
        out[n++] = e->valuedouble;
    }
    return n;
}

static int add_phase(ingest_builder *b, const char *machine, const char *runner, const char *phase, const char *config,
                     const cJSON *stats) {
    if (!cJSON_IsObject(stats))
        return 0; /* the phase did not run */
    const cJSON *median = cJSON_GetObjectItemCaseSensitive(stats, "median_ms");
    if (!cJSON_IsNumber(median))
        return ib_fail(b, "runner '%s': %s.median_ms is not a number (damaged file?)", runner, phase);
    const cJSON *samples = cJSON_GetObjectItemCaseSensitive(stats, "samples_ms");
    int cap = cJSON_GetArraySize(samples);
    double *values = cJSON_IsArray(samples) && cap > 0 ? malloc(sizeof *values * (size_t)cap) : NULL;
    int n = values ? read_samples(samples, values, cap) : 0;
    int rc = n < 0 ? ib_fail(b, "runner '%s': %s.samples_ms holds something other than numbers", runner, phase)
                   : ib_add_run(b, machine, runner, phase, config, "ms", 0, median->valuedouble, values, n);
    free(values);
    return rc;
}

static int add_runner(ingest_builder *b, const char *machine, const cJSON *config, const char *group,
                      const cJSON *runner) {
    const char *name = ib_string(runner, "name"), *status = ib_string(runner, "status");
    if (!name || !status)
        return ib_fail(b, "a runner of group '%s' has no name or status (damaged file?)", group);
    if (strcmp(status, "ok"))
        return 0; /* failed, skipped, check failed: not a measurement to follow over time */
    cJSON *with_group = cJSON_Duplicate(config, 1);
    cJSON_AddStringToObject(with_group, "group", group);
    ib_key_precision(with_group, ib_string(runner, "precision")); /* --ab sides may differ by --dtype */
    const char *key = ib_canonical(b, with_group);
    cJSON_Delete(with_group);
    if (!key)
        return ib_fail(b, "out of memory");
    if (add_phase(b, machine, name, "forward", key, cJSON_GetObjectItemCaseSensitive(runner, "forward")) ||
        add_phase(b, machine, name, "backward", key, cJSON_GetObjectItemCaseSensitive(runner, "backward")))
        return -1;
    return 0;
}

void ib_key_precision(cJSON *config, const char *runner_precision) {
    const char *run_precision = ib_string(config, "precision");
    const char *p = runner_precision ? runner_precision : run_precision;
    char copy[16];
    snprintf(copy, sizeof copy, "%s", p ? p : "fp32");
    cJSON_DeleteItemFromObjectCaseSensitive(config, "precision");
    if (strcmp(copy, "fp32"))
        cJSON_AddStringToObject(config, "precision", copy);
}

/* The first document read gives the file's commit, date and provenance. */
void ib_keep_provenance(ingest_builder *b, const cJSON *context, const char *what) {
    if (b->provenance)
        return;
    const char *sha = ib_string(context, "git_sha");
    b->file_commit = sha && strcmp(sha, "unknown") ? ib_strdup(b, sha) : NULL;
    b->file_date = ib_strdup(b, ib_string(context, "date"));
    b->provenance = cJSON_CreateObject();
    cJSON_AddItemToObject(b->provenance, what, cJSON_Duplicate(context, 1));
}

int ingest_nnbench(ingest_builder *b, const cJSON *root, const cJSON *extra_config) {
    const cJSON *context = cJSON_GetObjectItemCaseSensitive(root, "context");
    const cJSON *config = cJSON_GetObjectItemCaseSensitive(root, "config");
    const cJSON *groups = cJSON_GetObjectItemCaseSensitive(root, "groups");
    if (!cJSON_IsObject(context) || !cJSON_IsObject(config) || !cJSON_IsObject(groups))
        return ib_fail(b, "nnbench results without \"context\", \"config\" and \"groups\" objects (damaged or cut "
                          "short? docs/json-schema.md)");
    ib_keep_provenance(b, context, "context");
    cJSON *machine_obj = pick(context, machine_fields, sizeof machine_fields / sizeof *machine_fields, 1);
    cJSON *work = pick(config, not_config, sizeof not_config / sizeof *not_config, 0);
    merge(work, extra_config);
    const char *machine = ib_canonical(b, machine_obj);
    cJSON_Delete(machine_obj);
    int rc = machine ? 0 : ib_fail(b, "out of memory");
    for (const cJSON *g = groups->child; !rc && g; g = g->next) {
        if (!cJSON_IsArray(g)) {
            rc = ib_fail(b, "groups.%s is not an array of runners (damaged file?)", g->string);
            break;
        }
        for (const cJSON *r = g->child; !rc && r; r = r->next)
            rc = add_runner(b, machine, work, g->string, r);
    }
    cJSON_Delete(work);
    return rc;
}

/* A point's settings as config members ("seqLength": "200"). */
static int add_point(ingest_builder *b, const char *command, const cJSON *point) {
    const cJSON *settings = cJSON_GetObjectItemCaseSensitive(point, "settings");
    const cJSON *runs = cJSON_GetObjectItemCaseSensitive(point, "runs");
    if (!cJSON_IsArray(runs))
        return ib_fail(b, "a point without \"runs\" (damaged sweep.json?)");
    for (const cJSON *run = runs->child; run; run = run->next) {
        const cJSON *results = cJSON_GetObjectItemCaseSensitive(run, "results");
        const char *status = ib_string(run, "status");
        if (!status || strcmp(status, "ok") || !cJSON_IsObject(results))
            continue; /* a failed run: sweep.json lists it under failures */
        int rc = !strcmp(command, "serve") ? ingest_serve(b, results, settings) : ingest_nnbench(b, results, settings);
        if (rc)
            return -1;
    }
    return 0;
}

int ingest_sweep(ingest_builder *b, const cJSON *root) {
    const cJSON *sweep = cJSON_GetObjectItemCaseSensitive(root, "sweep");
    const cJSON *points = cJSON_GetObjectItemCaseSensitive(root, "points");
    const char *command = ib_string(sweep, "command");
    if (!cJSON_IsObject(sweep) || !cJSON_IsArray(points))
        return ib_fail(b, "sweep.json without \"sweep\" and \"points\" (damaged or cut short? docs/sweeps.md)");
    for (const cJSON *p = points->child; p; p = p->next)
        if (add_point(b, command ? command : "run", p))
            return -1;
    if (b->provenance)
        cJSON_AddItemToObject(b->provenance, "sweep", cJSON_Duplicate(sweep, 1));
    return 0;
}
