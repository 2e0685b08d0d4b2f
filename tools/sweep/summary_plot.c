/* The sweep's plots (summary_internal.h): series keyed by runner (one colour each) and the other settings
 * that vary (one line style or marker each), a title and subtitle that say what varies and what is fixed,
 * a warning on partial sweeps; and the plot of a run sweep: one phase's median time or GFLOP/s against an
 * axis, or per point (shape) when no axis is numeric, bars mean +- std over the repeats as sweep.md shows. */
#define _GNU_SOURCE
#include "summary_internal.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- series ---- */

static int new_series(sweep_plot *d, const char *runner, const char *style, int cap) {
    int s = d->series_count;
    text name = {0};
    sum_put(&name, "%s%s%s", runner, style && *style ? " " : "", style ? style : "");
    d->names[s] = name.buf;
    d->runner[s] = nnb_sweep_strdup(runner);
    d->style[s] = style && *style ? nnb_sweep_strdup(style) : NULL;
    double **arrays[] = {d->order, d->x, d->y, d->lo, d->hi, d->xe};
    int ok = !name.oom && d->names[s] && d->runner[s] && (!style || !*style || d->style[s]);
    d->series_count++; /* from here sum_plot_free releases it */
    for (size_t a = 0; a < sizeof arrays / sizeof *arrays; a++)
        ok &= (arrays[a][s] = calloc((size_t)cap, sizeof(double))) != NULL;
    ok &= (d->lab[s] = calloc((size_t)cap, sizeof(char *))) != NULL;
    return ok ? s : -1;
}

int sum_plot_add(sweep_plot *d, const char *runner, const char *style, const sweep_point_value *v, int cap) {
    int s = 0;
    for (; s < d->series_count; s++)
        if (!strcmp(d->runner[s], runner) && !strcmp(d->style[s] ? d->style[s] : "", style ? style : ""))
            break;
    if (s == d->series_count && s == NNB_PLOT_MAX_SERIES)
        return 0; /* more lines than a plot can show: the rest stay in the tables */
    if (s == d->series_count && (s = new_series(d, runner, style, cap)) < 0)
        return -1;
    int i = d->n[s]++;
    d->order[s][i] = v->order, d->x[s][i] = v->x, d->y[s][i] = v->y;
    d->lo[s][i] = v->lo, d->hi[s][i] = v->hi, d->xe[s][i] = v->xe;
    d->lab[s][i] = v->label ? nnb_sweep_strdup(v->label) : NULL;
    return v->label && !d->lab[s][i] ? -1 : 0;
}

static void swap_at(sweep_plot *d, int s, int j) {
    double *arrays[] = {d->order[s], d->x[s], d->y[s], d->lo[s], d->hi[s], d->xe[s]};
    for (size_t a = 0; a < sizeof arrays / sizeof *arrays; a++) {
        double t = arrays[a][j];
        arrays[a][j] = arrays[a][j - 1], arrays[a][j - 1] = t;
    }
    char *l = d->lab[s][j];
    d->lab[s][j] = d->lab[s][j - 1], d->lab[s][j - 1] = l;
}

void sum_plot_finish(sweep_plot *d) {
    for (int s = 0; s < d->series_count; s++) {
        for (int i = 1; i < d->n[s]; i++) /* insertion sort: stable, series are short */
            for (int j = i; j > 0 && d->order[s][j - 1] > d->order[s][j]; j--)
                swap_at(d, s, j);
        d->series[s] = (nnb_plot_series){.name = d->names[s],
                                         .n = d->n[s],
                                         .x = d->x[s],
                                         .y = d->y[s],
                                         .point_labels = (const char *const *)d->lab[s],
                                         .y_lo = d->lo[s],
                                         .y_hi = d->hi[s],
                                         .x_err = d->xe[s],
                                         .colour_key = d->runner[s],
                                         .style_key = d->style[s]};
    }
}

void sum_plot_free(sweep_plot *d) {
    for (int s = 0; s < d->series_count; s++) {
        for (int i = 0; i < d->n[s] && d->lab[s]; i++)
            free(d->lab[s][i]);
        free(d->names[s]), free(d->runner[s]), free(d->style[s]), free(d->order[s]), free(d->x[s]), free(d->y[s]);
        free(d->lo[s]), free(d->hi[s]), free(d->xe[s]), free(d->lab[s]);
    }
    for (int c = 0; c < d->category_count; c++)
        free(d->category_text[c]);
}

/* ---- what varies, what is fixed ---- */

int sum_key_varies(const cJSON *merged, const char *key) {
    const char *first = NULL;
    const cJSON *point;
    cJSON_ArrayForEach(point, sum_get(merged, "points")) {
        const char *v = sum_str(sum_get(point, "settings"), key);
        if (!v || (first && strcmp(first, v)))
            return 1;
        first = first ? first : v;
    }
    return 0;
}

static int is_axis(const cJSON *merged, const char *key) {
    const cJSON *ax;
    cJSON_ArrayForEach(ax, sum_get(sum_get(merged, "sweep"), "axes")) if (sum_str(ax, "key") &&
                                                                          !strcmp(sum_str(ax, "key"), key)) return 1;
    return 0;
}

/* Does key set a series' style: it varies, is not the x (skip), and (axes_only) is an axis, not a shape's? */
static int style_key(const cJSON *merged, const char *key, const char *skip, int axes_only) {
    return (!skip || strcmp(key, skip)) && (!axes_only || is_axis(merged, key)) && sum_key_varies(merged, key);
}

char *sum_style_of(const cJSON *merged, const cJSON *settings, const char *skip, int axes_only) {
    text t = {0};
    sum_put(&t, "%s", "");
    const cJSON *kv;
    cJSON_ArrayForEach(kv, settings) if (cJSON_IsString(kv) && style_key(merged, kv->string, skip, axes_only))
        sum_put(&t, "%s%s=%s", t.len ? " " : "", kv->string, kv->valuestring);
    return t.oom ? (free(t.buf), NULL) : t.buf;
}

/* Common arguments that choose runners: the legend and colours say which ran. */
static int runner_choice(const char *arg) {
    static const char *const flags[] = {"--rnns", "--cnns", "--runner", "--runner-path"};
    for (size_t i = 0; i < sizeof flags / sizeof *flags; i++)
        if (!strncmp(arg, flags[i], strlen(flags[i])) && (!arg[strlen(flags[i])] || arg[strlen(flags[i])] == '='))
            return 1;
    return 0;
}

/* Wraps the line at its last blank before about 100 characters (the plot's width in its 12 px font). */
static void wrap(text *t, size_t from) {
    size_t len = t->len - from;
    if (t->oom || len <= 104)
        return;
    char *line = t->buf + from, *cut = NULL;
    for (char *c = line; c < line + 100; c++)
        cut = *c == ' ' ? c : cut;
    if (cut)
        *cut = '\n';
}

char *sum_fixed_line(const cJSON *merged, const sweep_plot *d) {
    text t = {0};
    sum_put(&t, "fixed:");
    int one_runner = d->series_count > 0;
    for (int s = 1; s < d->series_count; s++)
        one_runner &= !strcmp(d->runner[s], d->runner[0]);
    if (one_runner)
        sum_put(&t, " runner %s", d->runner[0]);
    const cJSON *first = cJSON_GetArrayItem(sum_get(merged, "points"), 0), *kv, *a;
    cJSON_ArrayForEach(kv, sum_get(first, "settings")) if (cJSON_IsString(kv) && !sum_key_varies(merged, kv->string))
        sum_put(&t, " %s=%s", kv->string, kv->valuestring);
    int skipping = 0;
    cJSON_ArrayForEach(a, sum_get(sum_get(merged, "sweep"), "common_args")) {
        const char *arg = cJSON_IsString(a) ? a->valuestring : "";
        if (!strncmp(arg, "--", 2))
            skipping = runner_choice(arg);
        if (!skipping)
            sum_put(&t, " %s", arg);
    }
    sum_put(&t, "; sweep %.8s",
            sum_str(sum_get(merged, "sweep"), "id") ? sum_str(sum_get(merged, "sweep"), "id") : "?");
    wrap(&t, 0);
    return t.oom ? (free(t.buf), NULL) : t.buf;
}

char *sum_subtitle(const cJSON *merged, const sweep_plot *d, const char *x_part, const char *skip, int axes_only,
                   const char *style_word) {
    text t = {0};
    sum_put(&t, "varies: %s", x_part);
    for (int s = 1; s < d->series_count; s++)
        if (strcmp(d->runner[s], d->runner[0])) {
            sum_put(&t, ", runner (colour)");
            break;
        }
    const cJSON *first = cJSON_GetArrayItem(sum_get(merged, "points"), 0), *kv;
    int styles = 0;
    cJSON_ArrayForEach(kv, sum_get(first, "settings")) if (style_key(merged, kv->string, skip, axes_only))
        sum_put(&t, ", %s", kv->string),
        styles++;
    if (styles)
        sum_put(&t, " (%s)", style_word);
    char *fixed = sum_fixed_line(merged, d);
    sum_put(&t, "\n%s", fixed ? fixed : "");
    free(fixed);
    return t.oom ? (free(t.buf), NULL) : t.buf;
}

void sum_partial_line(const cJSON *merged, char *buf, size_t len) {
    int total = sum_int(sum_get(merged, "sweep"), "point_count", -1), have = 0;
    int failed = cJSON_GetArraySize(sum_get(merged, "failures"));
    const cJSON *point, *run;
    cJSON_ArrayForEach(point, sum_get(merged, "points")) {
        int ok = 0;
        cJSON_ArrayForEach(run, sum_get(point, "runs")) ok |=
            sum_str(run, "status") && !strcmp(sum_str(run, "status"), "ok");
        have += ok;
    }
    buf[0] = 0;
    if (cJSON_IsTrue(sum_get(merged, "complete")) && failed == 0)
        return;
    snprintf(buf, len, "partial: %d of %d points%s", have, total, "");
    if (failed)
        snprintf(buf + strlen(buf), len - strlen(buf), ", %d failed run%s", failed, failed == 1 ? "" : "s");
}

note sum_incomplete_note(const cJSON *merged) {
    note n = {""};
    char partial[128];
    sum_partial_line(merged, partial, sizeof partial);
    if (*partial)
        snprintf(n.s, sizeof n.s, ", **incomplete: %s** (see the end)", partial);
    return n;
}

const char *sum_pick_x_key(const cJSON *merged, const char *asked) {
    if (asked)
        return asked;
    const cJSON *ax;
    cJSON_ArrayForEach(ax, sum_get(sum_get(merged, "sweep"), "axes")) {
        const cJSON *v;
        int numeric = cJSON_GetArraySize(sum_get(ax, "values")) > 1;
        double x;
        cJSON_ArrayForEach(v, sum_get(ax, "values")) numeric &= cJSON_IsString(v) && sum_is_number(v->valuestring, &x);
        if (numeric)
            return sum_str(ax, "key");
    }
    return NULL; /* categorical: one position per point */
}

/* ---- run sweeps ---- */

/* Category of the row's point (its label), added on first sight; -1 when there are too many. */
static int category_of(sweep_plot *d, const cJSON *point) {
    int index = sum_int(point, "index", -1);
    for (int c = 0; c < d->category_count; c++)
        if (d->category_text[c] && (int)strtol(d->category_text[c], NULL, 10) == index)
            return c;
    if (d->category_count == NNB_PLOT_MAX_CATEGORIES)
        return -1;
    text t = {0};
    sum_put(&t, "%d %s", index, sum_str(point, "label") ? sum_str(point, "label") : "");
    d->category_text[d->category_count] = t.buf;
    d->categories[d->category_count] = t.buf ? strchr(t.buf, ' ') + 1 : "";
    return d->category_count++;
}

/* The row's median of the phase (time or GFLOP/s) and its bar: mean +- std over the repeats, the interval
 * sweep.md shows (in GFLOP/s: the same times converted). */
static sweep_point_value row_value(const summary_row *r, int phase, int gflops) {
    stat5 st = sum_stats(r->ms[phase], r->n);
    sweep_point_value v = {NAN, NAN, st.median, NAN, NAN, NAN, NULL};
    double lo = st.mean - st.std, hi = st.mean + st.std;
    if (st.n > 1)
        v.lo = lo, v.hi = hi;
    if (gflops) {
        v.y = sum_gflops_at(r->flops[phase], st.median);
        v.lo = st.n > 1 ? sum_gflops_at(r->flops[phase], hi) : NAN;
        v.hi = st.n > 1 && lo > 0 ? sum_gflops_at(r->flops[phase], lo) : NAN;
    }
    return v;
}

static int plot_phase(const nnb_sweep_output_options *oo) {
    return !oo->plot_phase || !strcmp(oo->plot_phase, "total") ? TOT : !strcmp(oo->plot_phase, "forward") ? FWD : BWD;
}

/* Title, axis labels, subtitle and warning of a run sweep's plot; texts live in the caller's buffers. */
static void run_plot_texts(const cJSON *merged, const sweep_plot *d, const char *x_key, int phase, int gflops,
                           nnb_plot *p, char *title, char *ylabel, char *warning, char **subtitle) {
    const cJSON *cfg = sum_get(merged, "sweep"), *shapes = sum_get(cfg, "shapes");
    const char *what = gflops ? "GFLOP/s" : "time", *file = sum_str(shapes, "file");
    int repeat = sum_int(cfg, "repeat", 1);
    if (x_key)
        snprintf(title, 256, "nnbench sweep: %s %s against %s", sum_phase_names[phase], what, x_key);
    else
        snprintf(title, 256, "nnbench sweep: %s %s per %s%s", sum_phase_names[phase], what,
                 file ? "shape of " : "point", file ? (strrchr(file, '/') ? strrchr(file, '/') + 1 : file) : "");
    snprintf(ylabel, 160, "%s %s: median of %d run%s%s", sum_phase_names[phase], gflops ? "GFLOP/s" : "time (ms)",
             repeat, repeat == 1 ? "" : "s", repeat > 1 ? "; bars: mean ± std" : "");
    sum_partial_line(merged, warning, 128);
    char x_part[128];
    snprintf(x_part, sizeof x_part, "%s (x axis)", x_key ? x_key : file ? "shape" : "point");
    *subtitle = sum_subtitle(merged, d, x_part, x_key, !x_key, x_key ? "line style" : "marker");
    p->title = title;
    p->subtitle = *subtitle;
    p->warning = warning;
    p->x_label = x_key ? x_key : file ? "shape" : "point";
    p->y_label = ylabel;
}

int sum_write_plot(const cJSON *merged, const summary *s, const nnb_sweep_output_options *oo, const char *path,
                   char *err, size_t err_len) {
    static sweep_plot d; /* large: not on the stack */
    memset(&d, 0, sizeof d);
    const char *x_key = sum_pick_x_key(merged, oo->plot_x);
    int gflops = oo->plot_y && !strcmp(oo->plot_y, "gflops"), phase = plot_phase(oo), rc = 0, positive = 1,
        y_positive = 1;
    double xmin = INFINITY, xmax = -INFINITY, ymin = INFINITY, ymax = -INFINITY;
    for (int i = 0; i < s->count && !rc; i++) {
        const summary_row *r = &s->rows[i];
        sweep_point_value v = row_value(r, phase, gflops);
        const char *xv = x_key ? sum_str(sum_get(r->point, "settings"), x_key) : NULL;
        if (x_key && !sum_is_number(xv, &v.x))
            continue; /* this point has no numeric value of the x axis */
        if (!x_key && (v.x = category_of(&d, r->point)) < 0)
            continue;
        v.order = v.x;
        char *style = sum_style_of(merged, sum_get(r->point, "settings"), x_key, !x_key);
        rc = !style || sum_plot_add(&d, r->runner, style, &v, s->count);
        free(style);
        positive &= v.x > 0;
        xmin = fmin(xmin, v.x), xmax = fmax(xmax, v.x);
        if (isfinite(v.y))
            y_positive &= v.y > 0, ymin = fmin(ymin, v.y), ymax = fmax(ymax, v.y);
    }
    sum_plot_finish(&d);
    char title[256], ylabel[160], warning[128], *subtitle = NULL;
    nnb_plot p = {0};
    run_plot_texts(merged, &d, x_key, phase, gflops, &p, title, ylabel, warning, &subtitle);
    p.x_log = x_key && positive && xmax >= 8 * xmin ? 2 : 0;
    p.y_log = y_positive && isfinite(ymin) && ymax >= 50 * ymin ? 10 : 0; /* shapes spanning decades */
    p.category_count = x_key ? 0 : d.category_count;
    p.categories = d.categories;
    p.series_count = d.series_count;
    p.series = d.series;
    if (rc || !subtitle)
        rc = nnb_sweep_fail(err, err_len, "out of memory building the plot");
    else if (d.series_count == 0)
        rc = 0; /* nothing measured: no plot (the tables say why) */
    else
        rc = nnb_plot_svg_write(path, &p, err, err_len);
    free(subtitle);
    sum_plot_free(&d);
    return rc;
}
