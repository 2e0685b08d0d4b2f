/* The store's pages: index.html (every series: a sparkline of its values and its latest change) and one
 * page per series (the value and its 95% interval band over time, change points marked, each run linked
 * to its file's provenance). */
#include "report_changes.h"
#include "report_internal.h"

#include "robust_stats.h"
#include "store.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define MAX_CHANGES 64

/* The default: stats/changepoint's method with its defaults (report_changepoint.c), the one history changes uses. */
int nnb_report_changepoint_finder(const double *values, int n, int higher_is_better, int *at, int max, void *ctx);
static nnb_report_change_finder change_finder = nnb_report_changepoint_finder;
static void *change_ctx;

void nnb_report_set_change_finder(nnb_report_change_finder finder, void *ctx) {
    change_finder = finder;
    change_ctx = ctx;
}

typedef struct series_view {
    const nnb_store_series *s;
    nnb_store_point *pts;
    int n;
    double *values;
    int changes[MAX_CHANGES], change_count; /* change_count -1: the finder failed; -2: no finder */
    char page[64];
} series_view;

static void find_changes(series_view *v) {
    v->change_count = -2;
    if (!change_finder || v->n < 2)
        return;
    int got = change_finder(v->values, v->n, v->s->higher_is_better, v->changes, MAX_CHANGES, change_ctx);
    v->change_count = got < 0 ? -1 : got > MAX_CHANGES ? MAX_CHANGES : got;
    for (int i = 0; i < v->change_count; i++) /* a finder's bad index is dropped, not drawn off the chart */
        if (v->changes[i] < 1 || v->changes[i] >= v->n)
            v->changes[i--] = v->changes[--v->change_count];
}

/* Median of values[from, to). */
static double segment_median(const double *values, int from, int to) {
    double *copy = malloc((size_t)(to - from) * sizeof *copy);
    if (!copy)
        return NAN;
    memcpy(copy, values + from, (size_t)(to - from) * sizeof *copy);
    double m = nnb_median(copy, to - from);
    free(copy);
    return m;
}

/* "2026-12-05: 1.0732x" (the medians after / before the latest change), or what is known instead. */
static void latest_change(FILE *f, const series_view *v) {
    if (v->change_count == -2) {
        fputs("- (no change-point method wired in)", f);
        return;
    }
    if (v->change_count == -1) {
        fputs("(change-point method failed)", f);
        return;
    }
    if (v->change_count == 0) {
        fputs("none", f);
        return;
    }
    int last = v->changes[v->change_count - 1], prev = v->change_count > 1 ? v->changes[v->change_count - 2] : 0;
    nnb_html_text(f, v->pts[last].date);
    fputs(": ", f);
    nnb_html_num(f, segment_median(v->values, last, v->n) / segment_median(v->values, prev, last), 4);
    fputs("&times;", f);
}

static cJSON *date_ticks(const series_view *v) {
    cJSON *t = cJSON_CreateArray();
    for (int i = 0; i < v->n; i++) {
        char d[11] = "";
        snprintf(d, sizeof d, "%s", v->pts[i].date ? v->pts[i].date : "");
        cJSON_AddItemToArray(t, cJSON_CreateString(d));
    }
    return t;
}

static cJSON *value_chart(const series_view *v, int spark) {
    cJSON *cfg = nnb_chart_config("line", spark ? NULL : "run (date)", spark ? NULL : v->s->unit);
    cJSON *ds = nnb_chart_dataset(cfg, "value"), *data = cJSON_GetObjectItem(ds, "data");
    cJSON_AddNumberToObject(ds, "pointRadius", spark ? 0 : 3);
    cJSON_AddBoolToObject(ds, "fill", 0);
    cJSON *lo = NULL, *hi = NULL;
    if (!spark) {
        lo = cJSON_GetObjectItem(nnb_chart_dataset(cfg, "95% interval: low"), "data");
        cJSON *hi_ds = nnb_chart_dataset(cfg, "95% interval: high");
        hi = cJSON_GetObjectItem(hi_ds, "data");
        cJSON_AddStringToObject(hi_ds, "fill", "-1"); /* the band between low and high */
        cJSON_AddStringToObject(hi_ds, "backgroundColor", "#1f77b433");
        for (int k = 1; k < 3; k++) {
            cJSON *d = cJSON_GetArrayItem(cJSON_GetObjectItem(cJSON_GetObjectItem(cfg, "data"), "datasets"), k);
            cJSON_AddStringToObject(d, "borderColor", "#1f77b466");
            if (k == 1)
                cJSON_AddStringToObject(d, "backgroundColor", "#1f77b433");
            cJSON_AddNumberToObject(d, "pointRadius", 0);
        }
    }
    for (int i = 0; i < v->n; i++) {
        cJSON_AddItemToArray(data, nnb_xy(i, v->values[i]));
        double med, l = NAN, h = NAN;
        if (!spark && v->pts[i].sample_count >= 6 &&
            nnb_median_ci(v->pts[i].samples, v->pts[i].sample_count, 0.95, &med, &l, &h) == 0 && isfinite(l) &&
            isfinite(h)) {
            cJSON_AddItemToArray(lo, nnb_xy(i, l));
            cJSON_AddItemToArray(hi, nnb_xy(i, h));
        }
    }
    cJSON *scales = cJSON_GetObjectItem(cJSON_GetObjectItem(cfg, "options"), "scales");
    cJSON *x = cJSON_GetObjectItem(scales, "x");
    cJSON_AddStringToObject(x, "type", "linear");
    cJSON_AddNumberToObject(x, "min", 0); /* the runs span the whole width */
    cJSON_AddNumberToObject(x, "max", v->n > 1 ? v->n - 1 : 1);
    cJSON *nnb = cJSON_AddObjectToObject(cfg, "nnb");
    if (spark) {
        cJSON_AddBoolToObject(cJSON_GetObjectItem(scales, "x"), "display", 0);
        cJSON_AddBoolToObject(cJSON_GetObjectItem(scales, "y"), "display", 0);
        cJSON_AddBoolToObject(nnb, "nolegend", 1);
    } else {
        cJSON_AddItemToObject(nnb, "ticks", date_ticks(v));
        cJSON *links = cJSON_AddArrayToObject(nnb, "links");
        for (int i = 0; i < v->n; i++) {
            char anchor[32];
            snprintf(anchor, sizeof anchor, "run-%d", i);
            cJSON_AddItemToArray(links, cJSON_CreateString(anchor));
        }
    }
    cJSON *vl = cJSON_AddArrayToObject(nnb, "vlines");
    for (int i = 0; i < v->change_count; i++)
        cJSON_AddItemToArray(vl, cJSON_CreateNumber(v->changes[i] - 0.5));
    return cfg;
}

static void series_heading(FILE *f, const nnb_store_series *s) {
    nnb_html_text(f, s->runner);
    fputs(" ", f);
    nnb_html_text(f, s->phase);
}

static void points_table(FILE *f, nnb_store *st, const series_view *v) {
    fputs("<h2>runs</h2>\n<table><tr><th>#</th><th class=\"l\">date</th><th class=\"l\">commit</th>"
          "<th class=\"l\">label</th><th>value</th><th class=\"l\">file</th><th class=\"l\">provenance</th></tr>\n",
          f);
    for (int i = 0; i < v->n; i++) {
        const nnb_store_point *p = &v->pts[i];
        fprintf(f, "<tr id=\"run-%d\"><td>%d</td><td class=\"l\">", i, i);
        nnb_html_text(f, p->date);
        fputs("</td><td class=\"l\">", f);
        nnb_html_text(f, p->commit);
        fputs("</td><td class=\"l\">", f);
        nnb_html_text(f, p->label);
        fputs("</td><td>", f);
        nnb_html_num(f, p->value, 4);
        fputs("</td><td class=\"l\">", f);
        nnb_html_text(f, p->path);
        fputs(" (", f);
        nnb_html_text(f, p->format);
        fputs(")</td><td class=\"l\"><details><summary>show</summary><pre>", f);
        char err[256] = "";
        char *prov = nnb_store_file_provenance(st, p->file_id, err, sizeof err);
        nnb_html_text(f, prov ? prov : err);
        free(prov);
        fputs("</pre></details></td></tr>\n", f);
    }
    fputs("</table>\n", f);
}

static int series_page(nnb_store *st, const char *dir, series_view *v, char *err, size_t err_len) {
    char path[4200], title[600];
    snprintf(path, sizeof path, "%s/%s", dir, v->page);
    snprintf(title, sizeof title, "%s %s (%s)", v->s->runner, v->s->phase, v->s->unit);
    nnb_page pg;
    if (nnb_page_begin(&pg, path, title, 1, err, err_len))
        return -1;
    pg.library_src = NNB_REPORT_LIBRARY_FILE;
    fprintf(pg.f, "<p>%s is better; %d runs; change points: ", v->s->higher_is_better ? "higher" : "lower", v->n);
    if (v->change_count == -2)
        fputs("none marked (no change-point method wired in)", pg.f);
    else if (v->change_count == -1)
        fputs("the change-point method failed", pg.f);
    else
        fprintf(pg.f, "%d (red lines: between the last run before and the first after)", v->change_count);
    fputs("</p>\n<p>config <code>", pg.f);
    nnb_html_text(pg.f, v->s->config);
    fputs("</code><br>machine <code>", pg.f);
    nnb_html_text(pg.f, v->s->machine);
    fputs("</code></p>\n", pg.f);
    nnb_page_chart(&pg, "value over time (band: 95% interval of each run's median; click a run for its provenance)",
                   value_chart(v, 0));
    points_table(pg.f, st, v);
    return nnb_page_end(&pg, path, err, err_len);
}

static int store_index(const char *dir, const char *spec, series_view *views, int n, char *err, size_t err_len) {
    char path[4200];
    snprintf(path, sizeof path, "%s/index.html", dir);
    nnb_page pg;
    if (nnb_page_begin(&pg, path, "nnbench history", 0, err, err_len))
        return -1;
    pg.library_src = NNB_REPORT_LIBRARY_FILE;
    fputs("<p>store: ", pg.f);
    nnb_html_text(pg.f, spec);
    fprintf(pg.f,
            "; %d series</p>\n<table><tr><th class=\"l\">series</th><th class=\"l\">config</th>"
            "<th>runs</th><th class=\"l\">last run</th><th class=\"l\">trend</th>"
            "<th class=\"l\">latest change (after / before)</th></tr>\n",
            n);
    for (int i = 0; i < n; i++) {
        const series_view *v = &views[i];
        fputs("<tr><td class=\"l\"><a href=\"", pg.f);
        nnb_html_text(pg.f, v->page);
        fputs("\">", pg.f);
        series_heading(pg.f, v->s);
        fputs("</a></td><td class=\"l\"><code>", pg.f);
        nnb_html_text(pg.f, v->s->config);
        fprintf(pg.f, "</code></td><td>%d</td><td class=\"l\">", v->n);
        nnb_html_text(pg.f, v->s->last_date);
        fputs("</td><td class=\"l\">", pg.f);
        if (v->n > 0) {
            int id = pg.next_id++;
            cJSON *c = cJSON_CreateObject();
            cJSON_AddNumberToObject(c, "id", id);
            cJSON_AddItemToObject(c, "config", value_chart(v, 1));
            cJSON_AddItemToArray(pg.charts, c);
            fprintf(pg.f, "<div class=\"spark\"><canvas id=\"nnb-chart-%d\" class=\"nnb-chart\"></canvas></div>", id);
        }
        fputs("</td><td class=\"l\">", pg.f);
        latest_change(pg.f, v);
        fputs("</td></tr>\n", pg.f);
    }
    fputs("</table>\n", pg.f);
    return nnb_page_end(&pg, path, err, err_len);
}

static int load_series(nnb_store *st, series_view *v, const nnb_store_series *s, char *err, size_t err_len) {
    v->s = s;
    snprintf(v->page, sizeof v->page, "series-%lld.html", s->id);
    if (nnb_store_series_points(st, s->id, NULL, &v->pts, &v->n, err, err_len))
        return -1;
    v->values = malloc((size_t)(v->n ? v->n : 1) * sizeof *v->values);
    if (!v->values)
        return snprintf(err, err_len, "out of memory"), -1;
    for (int i = 0; i < v->n; i++)
        v->values[i] = v->pts[i].value;
    find_changes(v);
    return 0;
}

int nnb_report_store(const char *spec, const char *filter, const char *dir, char *err, size_t err_len) {
    nnb_store *st = NULL;
    nnb_store_series *series = NULL;
    int count = 0, rc = -1;
    if (nnb_store_open(spec, &st, err, err_len))
        return -1;
    if (nnb_store_list_series(st, filter, &series, &count, err, err_len)) {
        nnb_store_close(st);
        return -1;
    }
    series_view *views = calloc((size_t)(count ? count : 1), sizeof *views);
    int loaded = 0;
    if (!views)
        snprintf(err, err_len, "out of memory");
    while (views && loaded < count && load_series(st, &views[loaded], &series[loaded], err, err_len) == 0)
        loaded++;
    if (views && loaded == count) {
        rc = nnb_report_write_library(dir, err, err_len); /* once, for every page of the site */
        for (int i = 0; i < count && rc == 0; i++)
            rc = series_page(st, dir, &views[i], err, err_len);
        if (rc == 0)
            rc = store_index(dir, spec, views, count, err, err_len);
    }
    for (int i = 0; views && i < count; i++) {
        nnb_store_points_free(views[i].pts, views[i].n);
        free(views[i].values);
    }
    free(views);
    nnb_store_series_free(series, count);
    nnb_store_close(st);
    if (rc == 0)
        printf("nnbench report: %d series pages, index.html and " NNB_REPORT_LIBRARY_FILE " in %s\n", count, dir);
    return rc;
}
