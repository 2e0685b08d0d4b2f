/* Files other tools write: fastrnns' OSS JSON (bench.py --print-json oss: each runner's mean per group, no
 * machine, no samples; the unit is the caller's to say) and pytest-benchmark JSON (times in seconds, read
 * here as PyTorch's upload_scribe.py reads them). Both are stored in ms. */
#include "ingest_internal.h"

#include <stdlib.h>
#include <string.h>

int ingest_is_fastrnns_oss(const cJSON *root) {
    if (!cJSON_IsObject(root) || !root->child)
        return 0;
    for (const cJSON *g = root->child; g; g = g->next) {
        if (!cJSON_IsObject(g) || !g->child)
            return 0;
        for (const cJSON *r = g->child; r; r = r->next)
            if (!cJSON_IsNumber(r) && !cJSON_IsNull(r))
                return 0;
    }
    return 1;
}

/* fastrnns' group names as nnbench's groups: lstm -> rnns, resnet -> cnns, vl_lstm -> vl_rnns. */
static const char *nnbench_group(const char *fastrnns_group, size_t len) {
    static const char *const map[][2] = {{"lstm", "rnns"}, {"resnet", "cnns"}, {"vl_lstm", "vl_rnns"}};
    for (size_t i = 0; i < sizeof map / sizeof *map; i++)
        if (strlen(map[i][0]) == len && !strncmp(fastrnns_group, map[i][0], len))
            return map[i][1];
    return NULL;
}

int ingest_fastrnns_oss(ingest_builder *b, const cJSON *root) {
    double scale = 1;
    if (!b->opt->unit)
        ib_note(b,
                "%s: fastrnns OSS JSON has no unit: reading its times as ms (fastrnns on a CPU writes seconds: "
                "give --unit s)",
                b->path);
    else if (!strcmp(b->opt->unit, "s"))
        scale = 1000;
    const char *machine = ib_strdup(b, "{\"unknown\":true}");
    b->provenance = cJSON_CreateObject();
    cJSON_AddStringToObject(b->provenance, "unit", b->opt->unit ? b->opt->unit : "ms (assumed)");
    for (const cJSON *g = root->child; g; g = g->next) {
        const char *suffix = strstr(g->string, "-backward");
        int backward = suffix && !suffix[strlen("-backward")];
        size_t len = backward ? (size_t)(suffix - g->string) : strlen(g->string);
        const char *group = nnbench_group(g->string, len);
        cJSON *config = cJSON_CreateObject();
        if (group)
            cJSON_AddStringToObject(config, "group", group);
        else
            cJSON_AddItemToObject(config, "group", cJSON_CreateStringReference(g->string));
        cJSON_AddStringToObject(config, "statistic", "mean");
        const char *key = ib_canonical(b, config);
        cJSON_Delete(config);
        for (const cJSON *r = g->child; r; r = r->next)
            if (cJSON_IsNumber(r) && ib_add_run(b, machine, r->string, backward ? "backward" : "forward", key, "ms", 0,
                                                r->valuedouble * scale, NULL, 0))
                return -1;
    }
    return 0;
}

/* One benchmark: runner and phase from params.runner/params.phase (nnbench writes them), else the test's
 * name and "time"; the rest of params, the group and (without params.runner) fullname are the config. */
static int add_benchmark(ingest_builder *b, const char *machine, const cJSON *bench, int index) {
    const cJSON *stats = cJSON_GetObjectItemCaseSensitive(bench, "stats");
    const cJSON *median = cJSON_GetObjectItemCaseSensitive(stats, "median");
    const char *name = ib_string(bench, "name");
    if (!name || !cJSON_IsNumber(median))
        return ib_fail(b, "benchmarks[%d]: no \"name\" or no \"stats.median\" number (damaged file?)", index);
    const cJSON *params = cJSON_GetObjectItemCaseSensitive(bench, "params");
    const char *runner = ib_string(params, "runner"), *phase = ib_string(params, "phase");
    cJSON *config = cJSON_IsObject(params) ? cJSON_Duplicate(params, 1) : cJSON_CreateObject();
    cJSON_DeleteItemFromObjectCaseSensitive(config, "runner");
    cJSON_DeleteItemFromObjectCaseSensitive(config, "phase");
    const char *group = ib_string(bench, "group"), *fullname = ib_string(bench, "fullname");
    const char *ours = runner && group ? nnbench_group(group, strlen(group)) : NULL;
    if (runner) /* nnbench's own output: net_name repeats the runner; the group as nnbench names it */
        cJSON_DeleteItemFromObjectCaseSensitive(config, "net_name");
    if (group)
        cJSON_AddStringToObject(config, "group", ours ? ours : group);
    if (!runner && fullname)
        cJSON_AddStringToObject(config, "fullname", fullname);
    const char *key = ib_canonical(b, config);
    cJSON_Delete(config);
    const cJSON *data = cJSON_GetObjectItemCaseSensitive(stats, "data");
    int n = 0, cap = cJSON_GetArraySize(data);
    double *samples = cap > 0 ? malloc(sizeof *samples * (size_t)cap) : NULL;
    for (const cJSON *e = samples ? data->child : NULL; e; e = e->next)
        if (cJSON_IsNumber(e))
            samples[n++] = e->valuedouble * 1000;
    int rc = key ? ib_add_run(b, machine, runner ? runner : name, phase ? phase : "time", key, "ms", 0,
                              median->valuedouble * 1000, samples, n)
                 : ib_fail(b, "out of memory");
    free(samples);
    return rc;
}

int ingest_pytest_benchmark(ingest_builder *b, const cJSON *root) {
    const cJSON *machine_info = cJSON_GetObjectItemCaseSensitive(root, "machine_info");
    const cJSON *commit_info = cJSON_GetObjectItemCaseSensitive(root, "commit_info");
    cJSON *machine_obj = cJSON_Duplicate(machine_info, 1);
    cJSON_DeleteItemFromObjectCaseSensitive(machine_obj, "node"); /* the host name: provenance only */
    const char *machine = ib_canonical(b, machine_obj);
    cJSON_Delete(machine_obj);
    if (!machine)
        return ib_fail(b, "out of memory");
    b->file_commit = ib_strdup(b, ib_string(commit_info, "id"));
    b->file_date = ib_strdup(b, ib_string(root, "datetime"));
    b->provenance = cJSON_CreateObject();
    cJSON_AddItemToObject(b->provenance, "machine_info", cJSON_Duplicate(machine_info, 1));
    if (commit_info)
        cJSON_AddItemToObject(b->provenance, "commit_info", cJSON_Duplicate(commit_info, 1));
    int i = 0;
    for (const cJSON *bench = cJSON_GetObjectItemCaseSensitive(root, "benchmarks")->child; bench; bench = bench->next)
        if (add_benchmark(b, machine, bench, i++))
            return -1;
    return 0;
}
