/* --beside FILE (summary_internal.h): whole-network runs from an nnbench full JSON set beside the per-model roll-up,
 * e.g. the resnet50 runner at --cnn-batch 32 beside the roll-up of resnet50_convs.shapes at --conv-batch 32. */
#define _GNU_SOURCE
#include "summary_internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static double median_of(const cJSON *runner, const char *phase) { return sum_num(sum_get(runner, phase), "median_ms"); }

/* The batch a run had: cnn_batch for cnns, the convolution's mb for convs, mini_batch for LSTMs. */
static double batch_of(const cJSON *config, const char *group) {
    if (!strcmp(group, "cnns"))
        return sum_num(config, "cnn_batch");
    if (!strcmp(group, "convs"))
        return sum_num(sum_get(config, "conv"), "mb");
    return sum_num(config, "mini_batch");
}

static cJSON *run_entry(const cJSON *runner, const char *group, const cJSON *config) {
    cJSON *e = cJSON_CreateObject();
    double f = median_of(runner, "forward"), b = median_of(runner, "backward");
    cJSON_AddStringToObject(e, "runner", sum_str(runner, "name"));
    cJSON_AddStringToObject(e, "group", group);
    cJSON_AddNumberToObject(e, "batch", batch_of(config, group));
    cJSON_AddNumberToObject(e, "forward_ms", f);
    if (isfinite(b))
        cJSON_AddNumberToObject(e, "backward_ms", b), cJSON_AddNumberToObject(e, "total_ms", f + b);
    return e;
}

int sum_load_beside(const char *path, cJSON *merged, char *err, size_t err_len) {
    size_t len;
    char *text = nnb_sweep_read_file(path, &len, err, err_len);
    if (!text)
        return -1;
    cJSON *doc = cJSON_Parse(text);
    free(text);
    const cJSON *groups = sum_get(doc, "groups"), *config = sum_get(doc, "config"), *group;
    if (!cJSON_IsObject(groups) || !cJSON_IsObject(config)) {
        cJSON_Delete(doc);
        return nnb_sweep_fail(err, err_len, "--beside %s: not nnbench results (nnbench --json-out FILE writes them)",
                              path);
    }
    cJSON *beside = cJSON_AddObjectToObject(merged, "beside"), *runs = cJSON_AddArrayToObject(beside, "runs");
    cJSON_AddStringToObject(beside, "file", path);
    cJSON_ArrayForEach(group, groups) {
        const cJSON *runner;
        cJSON_ArrayForEach(runner, group) {
            const char *status = sum_str(runner, "status");
            if (status && !strcmp(status, "ok") && sum_str(runner, "name") && isfinite(median_of(runner, "forward")))
                cJSON_AddItemToArray(runs, run_entry(runner, group->string, config));
        }
    }
    cJSON_Delete(doc);
    if (!cJSON_GetArraySize(runs))
        return nnb_sweep_fail(err, err_len, "--beside %s: no runner ran ok in it", path);
    return 0;
}

void sum_md_beside_runs(const cJSON *merged, text *t) {
    const cJSON *beside = sum_get(merged, "beside"), *run;
    sum_put(t, "\nBeside the roll-up, whole runs from `");
    sum_md_escape(t, sum_str(beside, "file") ? sum_str(beside, "file") : "");
    sum_put(t, "` (`--beside`; medians, ms):\n\n| run | group | batch | forward ms | backward ms | total ms |\n"
               "| --- | --- | --- | --- | --- | --- |\n");
    cJSON_ArrayForEach(run, sum_get(beside, "runs")) {
        sum_put(t, "| "), sum_md_escape(t, sum_str(run, "runner")), sum_put(t, " | "),
            sum_md_escape(t, sum_str(run, "group"));
        sum_put(t, " | %.0f", sum_num(run, "batch"));
        const char *keys[PHASES] = {"forward_ms", "backward_ms", "total_ms"};
        for (int p = 0; p < PHASES; p++)
            if (isfinite(sum_num(run, keys[p])))
                sum_put(t, " | %.5g", sum_num(run, keys[p]));
            else
                sum_put(t, " | -");
        sum_put(t, " |\n");
    }
    sum_put(t, "\nEach roll-up as a share of each whole run (roll-up / run):\n\n| model | runner | of run | forward | "
               "backward | total |\n| --- | --- | --- | --- | --- | --- |\n");
}

void sum_md_beside_share(const cJSON *merged, const char *model, const char *runner, const double sum[PHASES],
                         text *t) {
    const cJSON *run;
    const char *keys[PHASES] = {"forward_ms", "backward_ms", "total_ms"};
    cJSON_ArrayForEach(run, sum_get(sum_get(merged, "beside"), "runs")) {
        sum_put(t, "| "), sum_md_escape(t, model), sum_put(t, " | "), sum_md_escape(t, runner), sum_put(t, " | ");
        sum_md_escape(t, sum_str(run, "runner"));
        sum_put(t, " (batch %.0f)", sum_num(run, "batch"));
        for (int p = 0; p < PHASES; p++) {
            double whole = sum_num(run, keys[p]);
            if (isfinite(whole) && whole > 0)
                sum_put(t, " | %.1f%%", 100 * sum[p] / whole);
            else
                sum_put(t, " | -");
        }
        sum_put(t, " |\n");
    }
}
