/* nnbench serve --json-out (docs/serving.md): p50 and p99 latency in ms (lower is better) with the
 * measured requests' latencies as samples, and throughput in requests per second (higher is better). */
#include "ingest_internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

enum { REQUEST_ARRIVAL = 0, REQUEST_RESPONSE = 3 }; /* columns of a "requests" row */

/* How long or how many, or the verdict's criteria: not the work served. */
static const char *const not_config[] = {"runner",          "seed",           "requests",
                                         "warmup_requests", "min_duration_s", "latency_target_ms"};

static int number(const cJSON *obj, const char *key, double *x) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    if (!cJSON_IsNumber(v))
        return -1;
    *x = v->valuedouble;
    return 0;
}

/* Response minus arrival of the measured requests (after config.warmup_requests; unanswered skipped). */
static int latencies(ingest_builder *b, const cJSON *root, double **out, int *n) {
    const cJSON *requests = cJSON_GetObjectItemCaseSensitive(root, "requests");
    double warmup = 0;
    number(cJSON_GetObjectItemCaseSensitive(root, "config"), "warmup_requests", &warmup);
    *n = 0;
    *out = malloc(sizeof **out * (size_t)(cJSON_GetArraySize(requests) + 1));
    if (!*out)
        return ib_fail(b, "out of memory");
    int i = 0;
    for (const cJSON *row = cJSON_IsArray(requests) ? requests->child : NULL; row; row = row->next, i++) {
        const cJSON *arrival = cJSON_GetArrayItem(row, REQUEST_ARRIVAL);
        const cJSON *response = cJSON_GetArrayItem(row, REQUEST_RESPONSE);
        if (!cJSON_IsArray(row) || !arrival || !response)
            return ib_fail(b, "requests[%d]: expected [arrival, start, end, response, ...] (damaged file?)", i);
        if (i < warmup || !cJSON_IsNumber(arrival) || !cJSON_IsNumber(response))
            continue;
        double latency = response->valuedouble - arrival->valuedouble;
        if (latency > 0 && isfinite(latency))
            (*out)[(*n)++] = latency;
    }
    return 0;
}

int ingest_serve(ingest_builder *b, const cJSON *root, const cJSON *extra_config) {
    const cJSON *context = cJSON_GetObjectItemCaseSensitive(root, "context");
    const cJSON *config = cJSON_GetObjectItemCaseSensitive(root, "config");
    const cJSON *summary = cJSON_GetObjectItemCaseSensitive(root, "summary");
    const cJSON *latency = cJSON_GetObjectItemCaseSensitive(summary, "latency_ms");
    const char *runner = ib_string(config, "runner");
    if (!cJSON_IsObject(context) || !runner || !cJSON_IsObject(latency))
        return ib_fail(b, "serve JSON without \"context\", \"config.runner\" and \"summary.latency_ms\" (damaged or "
                          "cut short? docs/serving.md)");
    ib_keep_provenance(b, context, "context");
    cJSON *machine_obj = cJSON_CreateObject();
    const char *cpu = ib_string(context, "cpu_model");
    if (cpu)
        cJSON_AddStringToObject(machine_obj, "cpu_model", cpu);
    const cJSON *threads = cJSON_GetObjectItemCaseSensitive(config, "threads");
    if (cJSON_IsNumber(threads))
        cJSON_AddNumberToObject(machine_obj, "threads", threads->valuedouble);
    cJSON *work = cJSON_CreateObject();
    for (const cJSON *m = config->child; m; m = m->next) {
        int skip = cJSON_IsNull(m);
        for (size_t i = 0; i < sizeof not_config / sizeof *not_config; i++)
            skip |= !strcmp(m->string, not_config[i]);
        if (!skip)
            cJSON_AddItemToObject(work, m->string, cJSON_Duplicate(m, 1));
    }
    cJSON_AddStringToObject(work, "group", "serve");
    ib_key_precision(work, NULL);
    for (const cJSON *m = extra_config ? extra_config->child : NULL; m; m = m->next) {
        cJSON_DeleteItemFromObjectCaseSensitive(work, m->string);
        cJSON_AddItemToObject(work, m->string, cJSON_Duplicate(m, 1));
    }
    const char *machine = ib_canonical(b, machine_obj), *key = ib_canonical(b, work);
    cJSON_Delete(machine_obj);
    cJSON_Delete(work);
    double *samples = NULL, p50, p99, requests, duration;
    int n = 0, rc = !machine || !key ? ib_fail(b, "out of memory") : latencies(b, root, &samples, &n);
    if (!rc && number(latency, "p50", &p50) == 0)
        rc = ib_add_run(b, machine, runner, "p50", key, "ms", 0, p50, samples, n);
    if (!rc && number(latency, "p99", &p99) == 0)
        rc = ib_add_run(b, machine, runner, "p99", key, "ms", 0, p99, samples, n);
    if (!rc && number(summary, "measured_requests", &requests) == 0 && number(summary, "duration_s", &duration) == 0 &&
        duration > 0)
        rc = ib_add_run(b, machine, runner, "throughput", key, "req/s", 1, requests / duration, NULL, 0);
    free(samples);
    return rc;
}
