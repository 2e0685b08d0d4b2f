/* Serve sweeps' outputs (summary_internal.h): per point over the repeats (mean, std, median) the latency
 * percentiles, throughputs, batch sizes and VALID verdicts of each `nnbench serve` run, as sweep.csv and
 * sweep.md, and p99 latency against throughput as sweep.svg. */
#define _GNU_SOURCE
#include "summary_internal.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { S_P50, S_P99, S_MEAN, S_WHOLE, S_CORE, S_BATCH, S_METRICS };
static const char *const serve_metric_names[S_METRICS] = {
    "p50_ms", "p99_ms", "mean_ms", "whole_samples_per_s", "core_samples_per_s", "mean_batch_samples"};

typedef struct serve_row {
    const cJSON *point;
    const char *runner;
    int n, valid;
    double *v[S_METRICS]; /* [n] per repeat */
} serve_row;

static int serve_collect(const cJSON *merged, serve_row **rows_out, int *count) {
    int cap = cJSON_GetArraySize(sum_get(merged, "points")), n = 0;
    serve_row *rows = calloc((size_t)(cap ? cap : 1), sizeof *rows);
    if (!rows)
        return -1;
    const cJSON *point;
    cJSON_ArrayForEach(point, sum_get(merged, "points")) {
        serve_row *r = &rows[n++];
        r->point = point;
        int runs = cJSON_GetArraySize(sum_get(point, "runs"));
        for (int m = 0; m < S_METRICS; m++)
            if (!(r->v[m] = calloc((size_t)(runs ? runs : 1), sizeof(double))))
                return *rows_out = rows, *count = n, -1;
        const cJSON *run;
        cJSON_ArrayForEach(run, sum_get(point, "runs")) {
            const cJSON *res = sum_get(run, "results"), *sum = sum_get(res, "summary"),
                        *lat = sum_get(sum, "latency_ms");
            if (!cJSON_IsObject(sum) || r->n >= runs)
                continue;
            r->runner =
                sum_str(sum_get(res, "config"), "runner") ? sum_str(sum_get(res, "config"), "runner") : r->runner;
            const double v[S_METRICS] = {sum_num(lat, "p50"),
                                         sum_num(lat, "p99"),
                                         sum_num(lat, "mean"),
                                         sum_num(sum, "whole_samples_per_s"),
                                         sum_num(sum, "core_samples_per_s"),
                                         sum_num(sum, "mean_batch_samples")};
            for (int m = 0; m < S_METRICS; m++)
                r->v[m][r->n] = v[m];
            r->valid += cJSON_IsTrue(sum_get(sum, "valid"));
            r->n++;
        }
    }
    *rows_out = rows;
    *count = n;
    return 0;
}

static void serve_free(serve_row *rows, int n) {
    for (int i = 0; i < n; i++)
        for (int m = 0; m < S_METRICS; m++)
            free(rows[i].v[m]);
    free(rows);
}

static void serve_csv(const summary *keys, const serve_row *rows, int n, text *t) {
    sum_put(t, "point,label");
    for (int k = 0; k < keys->key_count; k++)
        sum_put(t, ","), sum_put_csv_cell(t, keys->keys[k]);
    sum_put(t, ",runner,repeats,valid_runs");
    for (int m = 0; m < S_METRICS; m++)
        sum_put(t, ",%s_mean,%s_std,%s_median", serve_metric_names[m], serve_metric_names[m], serve_metric_names[m]);
    sum_put(t, "\n");
    for (int i = 0; i < n; i++) {
        const serve_row *r = &rows[i];
        sum_put(t, "%d,", sum_int(r->point, "index", -1));
        sum_put_csv_cell(t, sum_str(r->point, "label"));
        for (int k = 0; k < keys->key_count; k++)
            sum_put(t, ","), sum_put_csv_cell(t, sum_str(sum_get(r->point, "settings"), keys->keys[k]));
        sum_put(t, ","), sum_put_csv_cell(t, r->runner ? r->runner : ""), sum_put(t, ",%d,%d", r->n, r->valid);
        for (int m = 0; m < S_METRICS; m++) {
            stat5 st = sum_stats(r->v[m], r->n);
            sum_put(t, ","), sum_put_num(t, st.mean), sum_put(t, ","), sum_put_num(t, st.std), sum_put(t, ","),
                sum_put_num(t, st.median);
        }
        sum_put(t, "\n");
    }
}

static int serve_key_varies(const serve_row *rows, int n, const char *key) {
    const char *first = NULL;
    for (int i = 0; i < n; i++) {
        const char *v = sum_str(sum_get(rows[i].point, "settings"), key);
        if (!v || (first && strcmp(first, v)))
            return 1;
        first = first ? first : v;
    }
    return 0;
}

static void serve_mean_std(text *t, const double *v, int n, const char *fmt) {
    stat5 st = sum_stats(v, n);
    if (!st.n) {
        sum_put(t, " | -");
        return;
    }
    sum_put(t, " | "), sum_put(t, fmt, st.mean);
    if (st.n > 1)
        sum_put(t, " ± "), sum_put(t, fmt, st.std);
}

static void serve_markdown(const cJSON *merged, const summary *keys, const serve_row *rows, int n, text *t) {
    const cJSON *cfg = sum_get(merged, "sweep");
    sum_put(t, "# nnbench serve sweep %s\n\n%d points x %d repeats (fresh processes)%s. Common arguments:",
            sum_str(cfg, "id"), sum_int(cfg, "point_count", -1), sum_int(cfg, "repeat", -1),
            sum_incomplete_note(merged).s);
    const cJSON *a;
    cJSON_ArrayForEach(a, sum_get(cfg, "common_args")) sum_put(t, " `%s`", a->valuestring);
    int show[NNB_SWEEP_MAX_KEYS * 4];
    for (int k = 0; k < keys->key_count; k++)
        show[k] = serve_key_varies(rows, n, keys->keys[k]);
    sum_put(t, "\n\nMean ± standard deviation over the repeats; `valid`: runs whose verdict was VALID.\n\n| point |");
    for (int k = 0; k < keys->key_count; k++)
        if (show[k])
            sum_put(t, " "), sum_md_escape(t, keys->keys[k]), sum_put(t, " |");
    sum_put(t,
            " runner | valid | p50 ms | p99 ms | mean ms | samples/s (whole) | samples/s (core) | mean batch |\n|---|");
    for (int k = 0; k < keys->key_count; k++)
        if (show[k])
            sum_put(t, "---|");
    sum_put(t, "---|---|---|---|---|---|---|---|\n");
    for (int i = 0; i < n; i++) {
        const serve_row *r = &rows[i];
        sum_put(t, "| %d", sum_int(r->point, "index", -1));
        for (int k = 0; k < keys->key_count; k++)
            if (show[k]) {
                const char *v = sum_str(sum_get(r->point, "settings"), keys->keys[k]);
                sum_put(t, " | "), sum_md_escape(t, v ? v : "");
            }
        sum_put(t, " | "), sum_md_escape(t, r->runner ? r->runner : "-"), sum_put(t, " | %d/%d", r->valid, r->n);
        serve_mean_std(t, r->v[S_P50], r->n, "%.4g");
        serve_mean_std(t, r->v[S_P99], r->n, "%.4g");
        serve_mean_std(t, r->v[S_MEAN], r->n, "%.4g");
        serve_mean_std(t, r->v[S_WHOLE], r->n, "%.5g");
        serve_mean_std(t, r->v[S_CORE], r->n, "%.5g");
        serve_mean_std(t, r->v[S_BATCH], r->n, "%.3g");
        sum_put(t, " |\n");
    }
    sum_md_problems(merged, t);
}

/* p99 latency against whole throughput, both mean +- std over the repeats (as sweep.md shows them): a curve
 * per runner (colour) and combination of the other settings that vary (line style), its points labelled
 * with and ordered by the curve's own axis (--plot-x, default the first numeric axis). */
static int serve_plot(const cJSON *merged, const serve_row *rows, int n, const nnb_sweep_output_options *oo,
                      const char *path, char *err, size_t err_len) {
    static sweep_plot d; /* large: not on the stack */
    memset(&d, 0, sizeof d);
    const char *curve = sum_pick_x_key(merged, oo->plot_x);
    int rc = 0, positive = 1;
    for (int i = 0; i < n && !rc; i++) {
        const serve_row *r = &rows[i];
        stat5 x = sum_stats(r->v[S_WHOLE], r->n), y = sum_stats(r->v[S_P99], r->n);
        const char *cv = curve ? sum_str(sum_get(r->point, "settings"), curve) : NULL;
        sweep_point_value v = {i, x.mean, y.mean, NAN, NAN, x.n > 1 ? x.std : NAN, cv};
        if (y.n > 1)
            v.lo = y.mean - y.std, v.hi = y.mean + y.std;
        if (cv)
            sum_is_number(cv, &v.order);
        char *style = sum_style_of(merged, sum_get(r->point, "settings"), curve, 0);
        rc = !style || sum_plot_add(&d, r->runner ? r->runner : "?", style, &v, n);
        free(style);
        positive &= !(v.y <= 0) && !(v.x <= 0);
    }
    sum_plot_finish(&d);
    char title[] = "nnbench serve sweep: p99 latency against throughput", x_part[128], warning[128];
    snprintf(x_part, sizeof x_part, "%s (point labels)", curve ? curve : "point");
    char *subtitle = sum_subtitle(merged, &d, x_part, curve, 0, "line style");
    sum_partial_line(merged, warning, sizeof warning);
    nnb_plot p = {0};
    p.title = title;
    p.subtitle = subtitle;
    p.warning = warning;
    p.x_label = "samples/s (whole): mean ± std over repeats";
    p.y_label = "p99 latency (ms): mean ± std over repeats";
    p.series_count = d.series_count;
    p.series = d.series;
    p.y_log = positive ? 10 : 0;
    if (rc || !subtitle)
        rc = nnb_sweep_fail(err, err_len, "out of memory building the plot");
    else if (d.series_count)
        rc = nnb_plot_svg_write(path, &p, err, err_len);
    free(subtitle);
    sum_plot_free(&d);
    return rc;
}

int sum_serve_outputs(const cJSON *merged, const nnb_sweep_output_options *oo, char *err, size_t err_len) {
    summary keys;
    memset(&keys, 0, sizeof keys);
    const cJSON *point;
    cJSON_ArrayForEach(point, sum_get(merged, "points")) sum_note_keys(&keys, sum_get(point, "settings"));
    serve_row *rows = NULL;
    int n = 0;
    text tc = {0}, tm = {0};
    char path[4200];
    int rc = serve_collect(merged, &rows, &n) ? nnb_sweep_fail(err, err_len, "out of memory summarising") : 0;
    if (!rc) {
        serve_csv(&keys, rows, n, &tc);
        serve_markdown(merged, &keys, rows, n, &tm);
        rc = sum_write_json_csv_md(merged, oo, &tc, &tm, err, err_len);
    }
    snprintf(path, sizeof path, "%s/sweep.svg", oo->out_dir);
    if (!rc)
        rc = serve_plot(merged, rows, n, oo, path, err, err_len);
    free(tc.buf), free(tm.buf);
    serve_free(rows, n);
    return rc;
}
