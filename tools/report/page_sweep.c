/* A sweep (sweep.json, docs/sweeps.md): a chart per axis (and phase) with error bars, the table of every
 * point, the per-model roll-up of shape sweeps, and what is missing or failed. Run sweeps: per point and
 * runner, the median of the repeats' pooled samples with its 95% interval (order statistics). Serve
 * sweeps: per point, the median over repeats of p50, p99 and throughput, error bars from min to max. */
#include "report_internal.h"

#include "robust_stats.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define MAX_CELLS 4096
#define MAX_SERIES 24

typedef struct cell {
    const cJSON *point;
    const char *group, *runner;  /* runner: the serve runner for serve sweeps */
    double med[3], lo[3], hi[3]; /* run: forward, backward; serve: p50, p99, throughput */
} cell;

typedef struct sweep_view {
    int serve;
    cell *cells;
    int n;
} sweep_view;

static const char *const run_metrics[] = {"forward ms", "backward ms"};
static const char *const serve_metrics[] = {"p50 latency ms", "p99 latency ms", "throughput samples/s"};

static void summarise(double *v, int n, int interval, double *med, double *lo, double *hi) {
    *med = *lo = *hi = NAN;
    if (n == 0)
        return;
    if (interval && n >= 6) {
        nnb_median_ci(v, n, 0.95, med, lo, hi);
        return;
    }
    *med = nnb_median(v, n); /* sorted: the spread is min..max */
    if (n > 1)
        *lo = v[0], *hi = v[n - 1];
}

/* Pools the samples of (group, runner) over the point's ok repeats. */
static void run_cell(cell *c, const cJSON *runs) {
    for (int p = 0; p < 2; p++) {
        double *all = NULL;
        int total = 0;
        const cJSON *run, *r;
        cJSON_ArrayForEach(run, runs) {
            const cJSON *g = cJSON_GetObjectItemCaseSensitive(
                cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(run, "results"), "groups"), c->group);
            cJSON_ArrayForEach(r, g) {
                const char *name = nnb_json_str(r, "name");
                if (!name || strcmp(name, c->runner))
                    continue;
                const cJSON *ph = cJSON_GetObjectItemCaseSensitive(r, p ? "backward" : "forward");
                int n;
                double *v = nnb_json_numbers(cJSON_GetObjectItemCaseSensitive(ph, "samples_ms"), &n);
                double *grown = n ? realloc(all, (size_t)(total + n) * sizeof *all) : all;
                if (grown) {
                    all = grown;
                    memcpy(all + total, v, (size_t)n * sizeof *v);
                    total += n;
                }
                free(v);
            }
        }
        summarise(all, total, 1, &c->med[p], &c->lo[p], &c->hi[p]);
        free(all);
    }
    c->med[2] = c->lo[2] = c->hi[2] = NAN;
}

static void serve_cell(cell *c, const cJSON *runs) {
    static const char *const keys[] = {"p50", "p99"};
    for (int m = 0; m < 3; m++) {
        double v[256];
        int n = 0;
        const cJSON *run;
        cJSON_ArrayForEach(run, runs) {
            const cJSON *summary =
                cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(run, "results"), "summary");
            double x = m < 2 ? nnb_json_num(cJSON_GetObjectItemCaseSensitive(summary, "latency_ms"), keys[m])
                             : nnb_json_num(summary, "whole_samples_per_s");
            if (isfinite(x) && n < 256)
                v[n++] = x;
        }
        summarise(v, n, 0, &c->med[m], &c->lo[m], &c->hi[m]);
    }
}

static void collect(const cJSON *root, sweep_view *sv) {
    const cJSON *point, *run, *g, *r;
    sv->serve = nnb_json_str(cJSON_GetObjectItemCaseSensitive(root, "sweep"), "command") &&
                !strcmp(nnb_json_str(cJSON_GetObjectItemCaseSensitive(root, "sweep"), "command"), "serve");
    sv->cells = calloc(MAX_CELLS, sizeof *sv->cells);
    cJSON_ArrayForEach(point, cJSON_GetObjectItemCaseSensitive(root, "points")) {
        const cJSON *runs = cJSON_GetObjectItemCaseSensitive(point, "runs");
        if (sv->serve) {
            const cJSON *first = cJSON_GetArrayItem(runs, 0);
            const char *runner = nnb_json_str(
                cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(first, "results"), "config"),
                "runner");
            if (!sv->cells || sv->n == MAX_CELLS || !first)
                continue;
            cell *c = &sv->cells[sv->n++];
            *c = (cell){point, "serve", runner ? runner : "?", {0}, {0}, {0}};
            serve_cell(c, runs);
            continue;
        }
        /* Each (group, runner) of the point once, in the order of its first run that has it. */
        cJSON_ArrayForEach(run, runs) {
            cJSON_ArrayForEach(
                g, cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(run, "results"), "groups")) {
                cJSON_ArrayForEach(r, g) {
                    const char *name = nnb_json_str(r, "name");
                    int seen = 0;
                    for (int i = sv->n - 1; i >= 0 && sv->cells[i].point == point && !seen; i--)
                        seen = !strcmp(sv->cells[i].group, g->string) && !strcmp(sv->cells[i].runner, name);
                    if (!name || seen || !sv->cells || sv->n == MAX_CELLS)
                        continue;
                    cell *c = &sv->cells[sv->n++];
                    *c = (cell){point, g->string, name, {0}, {0}, {0}};
                    run_cell(c, runs);
                }
            }
        }
    }
}

/* The point's settings other than axis, "k=v k=v" ("" when the axis is the only one). */
static void rest_label(const cJSON *point, const char *axis, char *out, size_t cap) {
    const cJSON *s;
    size_t len = 0;
    out[0] = 0;
    cJSON_ArrayForEach(s, cJSON_GetObjectItemCaseSensitive(point, "settings")) {
        if (strcmp(s->string, axis) && cJSON_IsString(s) && len < cap)
            len += (size_t)snprintf(out + len, cap - len, "%s%s=%s", len ? " " : "", s->string, s->valuestring);
    }
}

static void axis_chart(nnb_page *pg, const sweep_view *sv, const cJSON *axis, int metric) {
    const char *key = nnb_json_str(axis, "key");
    const cJSON *values = cJSON_GetObjectItemCaseSensitive(axis, "values");
    int nv = cJSON_GetArraySize(values);
    if (!key || nv < 1)
        return;
    cJSON *cfg = nnb_chart_config("line", key, sv->serve ? serve_metrics[metric] : run_metrics[metric]);
    cJSON *labels = cJSON_CreateArray(), *v;
    cJSON_ArrayForEach(v, values)
        cJSON_AddItemToArray(labels, cJSON_CreateString(cJSON_IsString(v) ? v->valuestring : "?"));
    cJSON_AddItemToObject(cJSON_GetObjectItem(cfg, "data"), "labels", labels);
    char names[MAX_SERIES][300];
    cJSON *sets[MAX_SERIES];
    int series = 0, any = 0;
    for (int i = 0; i < sv->n; i++) {
        const cell *c = &sv->cells[i];
        const char *val = nnb_json_str(cJSON_GetObjectItemCaseSensitive(c->point, "settings"), key);
        int at = -1, k = 0;
        cJSON_ArrayForEach(v, values) {
            if (at < 0 && val && cJSON_IsString(v) && !strcmp(v->valuestring, val))
                at = k;
            k++;
        }
        char rest[200], name[300];
        rest_label(c->point, key, rest, sizeof rest);
        snprintf(name, sizeof name, "%s%s%s", c->runner, rest[0] ? " @ " : "", rest);
        int s = 0;
        while (s < series && strcmp(names[s], name))
            s++;
        if (at < 0 || (s == series && series == MAX_SERIES))
            continue;
        if (s == series) {
            snprintf(names[s], sizeof names[s], "%s", name);
            sets[s] = nnb_chart_dataset(cfg, name);
            cJSON *data = cJSON_GetObjectItem(sets[s], "data"), *iv = cJSON_AddArrayToObject(sets[s], "nnbIntervals");
            for (int j = 0; j < nv; j++) {
                cJSON_AddItemToArray(data, cJSON_CreateNull());
                cJSON_AddItemToArray(iv, cJSON_CreateNull());
            }
            cJSON_AddBoolToObject(sets[s], "spanGaps", 1);
            series++;
        }
        if (!isfinite(c->med[metric]))
            continue;
        any = 1;
        cJSON_ReplaceItemInArray(cJSON_GetObjectItem(sets[s], "data"), at, cJSON_CreateNumber(c->med[metric]));
        if (isfinite(c->lo[metric]) && isfinite(c->hi[metric])) {
            double pair[2] = {c->lo[metric], c->hi[metric]};
            cJSON_ReplaceItemInArray(cJSON_GetObjectItem(sets[s], "nnbIntervals"), at,
                                     cJSON_CreateDoubleArray(pair, 2));
        }
    }
    if (!any) {
        cJSON_Delete(cfg);
        return;
    }
    char title[300];
    snprintf(title, sizeof title, "%s by %s (error bars: %s)", sv->serve ? serve_metrics[metric] : run_metrics[metric],
             key, sv->serve ? "min to max over repeats" : "95% interval of the median");
    nnb_page_chart(pg, title, cfg);
}

static void cell_table(FILE *f, const sweep_view *sv) {
    int metrics = sv->serve ? 3 : 2;
    fputs("<table><tr><th class=\"l\">point</th><th class=\"l\">group</th><th class=\"l\">runner</th>", f);
    for (int m = 0; m < metrics; m++)
        fprintf(f, "<th>%s</th><th>interval</th>", sv->serve ? serve_metrics[m] : run_metrics[m]);
    fputs("</tr>\n", f);
    for (int i = 0; i < sv->n; i++) {
        const cell *c = &sv->cells[i];
        fputs("<tr><td class=\"l\">", f);
        nnb_html_text(f, nnb_json_str(c->point, "label"));
        fputs("</td><td class=\"l\">", f);
        nnb_html_text(f, c->group);
        fputs("</td><td class=\"l\">", f);
        nnb_html_text(f, c->runner);
        fputs("</td>", f);
        for (int m = 0; m < metrics; m++) {
            fputs("<td>", f);
            nnb_html_num(f, c->med[m], 4);
            fputs("</td><td>", f);
            if (isfinite(c->lo[m]) && isfinite(c->hi[m]))
                fprintf(f, "[%.4f, %.4f]", c->lo[m], c->hi[m]);
            else
                fputs("-", f);
            fputs("</td>", f);
        }
        fputs("</tr>\n", f);
    }
    fputs("</table>\n", f);
}

/* Shape sweeps: per model and runner, the sum over the model's shapes of count x median. */
static void rollup(FILE *f, const cJSON *root, const sweep_view *sv) {
    const cJSON *models = cJSON_GetObjectItemCaseSensitive(
        cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(root, "sweep"), "shapes"), "models");
    if (!cJSON_IsObject(models) || sv->serve)
        return;
    fputs("<h2>roll-up per model</h2>\n<p>sum over the model's shapes of count &times; median</p>\n<table><tr>"
          "<th class=\"l\">model</th><th class=\"l\">runner</th><th>shapes</th><th>forward ms</th>"
          "<th>backward ms</th></tr>\n",
          f);
    const cJSON *model;
    cJSON_ArrayForEach(model, models) {
        for (int i = 0; i < sv->n; i++) { /* one row per runner: at its first cell of this model */
            const cell *c = &sv->cells[i];
            const char *m = nnb_json_str(c->point, "model");
            int first = m && !strcmp(m, model->string);
            for (int j = 0; first && j < i; j++)
                first =
                    !(nnb_json_str(sv->cells[j].point, "model") &&
                      !strcmp(nnb_json_str(sv->cells[j].point, "model"), m) && !strcmp(sv->cells[j].runner, c->runner));
            if (!first)
                continue;
            double sum[2] = {0, 0};
            int shapes = 0;
            for (int j = i; j < sv->n; j++) {
                const char *mj = nnb_json_str(sv->cells[j].point, "model");
                if (!mj || strcmp(mj, m) || strcmp(sv->cells[j].runner, c->runner))
                    continue;
                double count = nnb_json_num(sv->cells[j].point, "count");
                count = isfinite(count) ? count : 1;
                for (int p = 0; p < 2; p++)
                    sum[p] += count * sv->cells[j].med[p];
                shapes++;
            }
            fputs("<tr><td class=\"l\">", f);
            nnb_html_text(f, m);
            fputs("</td><td class=\"l\">", f);
            nnb_html_text(f, c->runner);
            fprintf(f, "</td><td>%d of %g</td><td>", shapes, cJSON_IsNumber(model) ? model->valuedouble : NAN);
            nnb_html_num(f, sum[0], 3);
            fputs("</td><td>", f);
            nnb_html_num(f, sum[1], 3);
            fputs("</td></tr>\n", f);
        }
    }
    fputs("</table>\n", f);
}

static void missing(FILE *f, const cJSON *root) {
    static const char *const keys[] = {"missing", "failures"};
    for (int k = 0; k < 2; k++) {
        const cJSON *arr = cJSON_GetObjectItemCaseSensitive(root, keys[k]);
        if (cJSON_GetArraySize(arr) == 0)
            continue;
        char *text = cJSON_Print(arr);
        fprintf(f, "<h2>%s</h2>\n<pre>", keys[k]);
        nnb_html_text(f, text);
        fputs("</pre>\n", f);
        free(text);
    }
}

int nnb_page_sweep(const cJSON *root, const char *src, const char *path, char *err, size_t err_len) {
    sweep_view sv = {0};
    collect(root, &sv);
    nnb_page pg;
    char title[512];
    snprintf(title, sizeof title, "sweep: %s", src);
    if (nnb_page_begin(&pg, path, title, 1, err, err_len)) {
        free(sv.cells);
        return -1;
    }
    const cJSON *sweep = cJSON_GetObjectItemCaseSensitive(root, "sweep");
    fputs("<p>command: ", pg.f);
    nnb_html_text(pg.f, nnb_json_str(sweep, "command"));
    fprintf(pg.f, ", %g points, %g repeats, %s</p>\n", nnb_json_num(sweep, "point_count"),
            nnb_json_num(sweep, "repeat"),
            cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(root, "complete")) ? "complete" : "<b>incomplete</b>");
    const cJSON *axis;
    cJSON_ArrayForEach(axis, cJSON_GetObjectItemCaseSensitive(sweep, "axes")) {
        for (int m = 0; m < (sv.serve ? 3 : 2); m++)
            axis_chart(&pg, &sv, axis, m);
    }
    fputs("<h2>every point</h2>\n", pg.f);
    cell_table(pg.f, &sv);
    rollup(pg.f, root, &sv);
    missing(pg.f, root);
    free(sv.cells);
    return nnb_page_end(&pg, path, err, err_len);
}
