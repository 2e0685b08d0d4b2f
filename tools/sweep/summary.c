/* The merged sweep's outputs (sweep_internal.h): sweep.json as merged, the tables (sweep.csv, sweep.md, and
 * for shape sets the per-model roll-up sweep-rollup.csv) and the plot sweep.svg; serve sweeps have their
 * own tables and plot. The pieces: summary_internal.h. */
#define _GNU_SOURCE
#include "summary_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int sum_write_json_csv_md(const cJSON *merged, const nnb_sweep_output_options *oo, text *tc, text *tm, char *err,
                          size_t err_len) {
    char path[4200];
    snprintf(path, sizeof path, "%s/sweep.json", oo->out_dir);
    int rc = nnb_sweep_write_json(path, merged, err, err_len);
    if (!rc)
        snprintf(path, sizeof path, "%s/sweep.csv", oo->out_dir), rc = sum_write_text(path, tc, err, err_len);
    if (!rc)
        snprintf(path, sizeof path, "%s/sweep.md", oo->out_dir), rc = sum_write_text(path, tm, err, err_len);
    return rc;
}

static int run_outputs(const cJSON *merged, const nnb_sweep_output_options *oo, char *err, size_t err_len) {
    char path[4200];
    summary s;
    memset(&s, 0, sizeof s);
    text tc = {0}, tm = {0}, tr = {0};
    int rc = sum_collect(merged, &s) ? nnb_sweep_fail(err, err_len, "out of memory summarising the sweep") : 0;
    if (!rc) {
        sum_csv(&s, &tc);
        sum_markdown(merged, &s, &tm);
        rc = sum_write_json_csv_md(merged, oo, &tc, &tm, err, err_len);
    }
    if (!rc && sum_has_models(&s)) {
        sum_rollup_csv(merged, &s, &tr);
        snprintf(path, sizeof path, "%s/sweep-rollup.csv", oo->out_dir);
        rc = sum_write_text(path, &tr, err, err_len);
    }
    snprintf(path, sizeof path, "%s/sweep.svg", oo->out_dir);
    if (!rc)
        rc = sum_write_plot(merged, &s, oo, path, err, err_len);
    free(tc.buf), free(tm.buf), free(tr.buf);
    sum_free(&s);
    return rc;
}

int nnb_sweep_write_outputs(const cJSON *merged, const nnb_sweep_output_options *oo, char *err, size_t err_len) {
    const char *command = sum_str(sum_get(merged, "sweep"), "command");
    if (command && !strcmp(command, "serve"))
        return sum_serve_outputs(merged, oo, err, err_len);
    if (!oo->beside)
        return run_outputs(merged, oo, err, err_len);
    /* --beside: the whole runs travel in a copy of the merged document, as "beside" (sweep.json keeps them) */
    cJSON *copy = cJSON_Duplicate(merged, 1);
    int rc = !copy ? nnb_sweep_fail(err, err_len, "out of memory") : sum_load_beside(oo->beside, copy, err, err_len);
    if (!rc)
        rc = run_outputs(copy, oo, err, err_len);
    cJSON_Delete(copy);
    return rc;
}
