/* The merged sweep's outputs: sweep.json as merged, and per point x runner over the repeats (as
 * process_metrics.py does: mean +- std, and the median) sweep.csv and sweep.md, the per-model roll-up, and
 * sweep.svg (one phase's time or GFLOP/s against one axis, a line per runner). */
#define _GNU_SOURCE
#include "svg_plot.h"
#include "sweep_internal.h"

#include "report.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { FWD, BWD, TOT, PHASES };
static const char *const phase_names[PHASES] = {"forward", "backward", "total"};

/* One runner at one point: each repeat's per-run median (ms) by phase. */
typedef struct summary_row {
    const cJSON *point;
    const char *runner, *group;
    int n;                /* repeats that measured it */
    double *ms[PHASES];   /* [n] */
    double flops[PHASES]; /* one pass; NaN unknown */
} summary_row;

typedef struct stat5 {
    int n;
    double mean, std, median, min, max;
} stat5;

static const cJSON *get(const cJSON *o, const char *k) { return cJSON_GetObjectItemCaseSensitive(o, k); }
static double num(const cJSON *o, const char *k) {
    const cJSON *v = get(o, k);
    return cJSON_IsNumber(v) ? v->valuedouble : NAN;
}
/* An integer field; fallback when absent, not a number or outside int (a damaged file must not be UB). */
static int int_num(const cJSON *o, const char *k, int fallback) {
    double v = num(o, k);
    return v >= -2147483647.0 && v <= 2147483647.0 ? (int)v : fallback;
}

static const char *str(const cJSON *o, const char *k) {
    const cJSON *v = get(o, k);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Over the finite values of v[n]. */
static stat5 stats_of(const double *v, int n) {
    stat5 s = {0, NAN, NAN, NAN, NAN, NAN};
    double *f = malloc(sizeof *f * (size_t)(n ? n : 1));
    if (!f)
        return s;
    for (int i = 0; i < n; i++)
        if (isfinite(v[i]))
            f[s.n++] = v[i];
    if (s.n) {
        qsort(f, (size_t)s.n, sizeof *f, cmp_double);
        double sum = 0, ss = 0;
        for (int i = 0; i < s.n; i++)
            sum += f[i];
        s.mean = sum / s.n;
        for (int i = 0; i < s.n; i++)
            ss += (f[i] - s.mean) * (f[i] - s.mean);
        s.std = s.n > 1 ? sqrt(ss / (s.n - 1)) : 0;
        s.median = s.n % 2 ? f[s.n / 2] : 0.5 * (f[s.n / 2 - 1] + f[s.n / 2]);
        s.min = f[0];
        s.max = f[s.n - 1];
    }
    free(f);
    return s;
}

typedef struct summary {
    summary_row *rows;
    int count, cap;
    const char *keys[NNB_SWEEP_MAX_KEYS * 4]; /* every setting key, in order of first appearance */
    int key_count;
} summary;

static summary_row *row_for(summary *s, const cJSON *point, const char *runner, const char *group, int repeats) {
    for (int i = s->count - 1; i >= 0 && s->rows[i].point == point; i--)
        if (!strcmp(s->rows[i].runner, runner))
            return &s->rows[i];
    if (s->count == s->cap) {
        int cap = s->cap ? 2 * s->cap : 64;
        summary_row *grown = realloc(s->rows, sizeof *grown * (size_t)cap);
        if (!grown)
            return NULL;
        s->rows = grown;
        s->cap = cap;
    }
    summary_row *r = &s->rows[s->count];
    memset(r, 0, sizeof *r);
    r->point = point;
    r->runner = runner;
    r->group = group;
    for (int p = 0; p < PHASES; p++) {
        r->flops[p] = NAN;
        if (!(r->ms[p] = calloc((size_t)repeats, sizeof *r->ms[p])))
            return NULL;
    }
    s->count++;
    return r;
}

static void note_keys(summary *s, const cJSON *settings) {
    const cJSON *kv;
    cJSON_ArrayForEach(kv, settings) {
        int known = 0;
        for (int i = 0; i < s->key_count && !known; i++)
            known = !strcmp(s->keys[i], kv->string);
        if (!known && s->key_count < (int)(sizeof s->keys / sizeof *s->keys))
            s->keys[s->key_count++] = kv->string;
    }
}

static void add_runner_result(summary_row *r, const cJSON *rec) {
    double fwd = num(get(rec, "forward"), "median_ms"), bwd = num(get(rec, "backward"), "median_ms");
    const cJSON *flops = get(rec, "flops");
    r->ms[FWD][r->n] = fwd;
    r->ms[BWD][r->n] = bwd;
    r->ms[TOT][r->n] = isfinite(bwd) ? fwd + bwd : fwd;
    r->flops[FWD] = num(flops, "forward");
    r->flops[BWD] = num(flops, "backward");
    r->flops[TOT] = isfinite(r->flops[BWD]) ? r->flops[FWD] + r->flops[BWD] : r->flops[FWD];
    r->n++;
}

static int collect(const cJSON *merged, summary *s) {
    const cJSON *point;
    cJSON_ArrayForEach(point, get(merged, "points")) {
        note_keys(s, get(point, "settings"));
        int repeats = cJSON_GetArraySize(get(point, "runs")); /* what is there, whatever the file claims */
        const cJSON *run;
        cJSON_ArrayForEach(run, get(point, "runs")) {
            const cJSON *group;
            cJSON_ArrayForEach(group, get(get(run, "results"), "groups")) {
                const cJSON *rec;
                cJSON_ArrayForEach(rec, group) {
                    const char *name = str(rec, "name"), *status = str(rec, "status");
                    if (!name)
                        continue;
                    summary_row *r = row_for(s, point, name, group->string, repeats);
                    if (!r)
                        return -1;
                    if (status && !strcmp(status, "ok") && r->n < repeats)
                        add_runner_result(r, rec);
                }
            }
        }
    }
    return 0;
}

static void free_summary(summary *s) {
    for (int i = 0; i < s->count; i++)
        for (int p = 0; p < PHASES; p++)
            free(s->rows[i].ms[p]);
    free(s->rows);
}

/* ---- text building ------------------------------------------------------------------ */

typedef struct text {
    char *buf;
    size_t len, cap;
    int oom;
} text;

static void put(text *t, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;
static void put(text *t, const char *fmt, ...) {
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        int n = t->buf ? vsnprintf(t->buf + t->len, t->cap - t->len, fmt, ap) : -1;
        va_end(ap);
        if (n >= 0 && (size_t)n < t->cap - t->len) {
            t->len += (size_t)n;
            return;
        }
        size_t cap = t->cap ? 2 * t->cap + (size_t)(n > 0 ? n : 0) : 4096;
        char *grown = t->oom ? NULL : realloc(t->buf, cap);
        if (!grown) {
            t->oom = 1;
            return;
        }
        t->buf = grown;
        t->cap = cap;
    }
}

/* A number for CSV/markdown: empty when unknown. */
static void put_num(text *t, double x) {
    if (isfinite(x))
        put(t, "%.6g", x);
}

/* RFC 4180: quote a cell with a comma, quote or newline. */
static void put_csv_cell(text *t, const char *s) {
    if (!s)
        return;
    if (!strpbrk(s, ",\"\n\r")) {
        put(t, "%s", s);
        return;
    }
    put(t, "\"");
    for (const char *c = s; *c; c++)
        put(t, *c == '"' ? "\"\"" : "%c", *c);
    put(t, "\"");
}

static double gflops_at(double flops, double ms) { return isfinite(flops) && ms > 0 ? flops / (ms * 1e-3) / 1e9 : NAN; }

static void csv(const summary *s, text *t) {
    put(t, "point,label,model,count");
    for (int k = 0; k < s->key_count; k++)
        put(t, ","), put_csv_cell(t, s->keys[k]);
    put(t, ",runner,group,repeats");
    for (int p = 0; p < PHASES; p++)
        put(t, ",%s_median_ms,%s_mean_ms,%s_std_ms,%s_min_ms,%s_max_ms", phase_names[p], phase_names[p], phase_names[p],
            phase_names[p], phase_names[p]);
    put(t, ",forward_gflops,backward_gflops,total_gflops\n");
    for (int i = 0; i < s->count; i++) {
        const summary_row *r = &s->rows[i];
        put(t, "%d,", int_num(r->point, "index", -1));
        put_csv_cell(t, str(r->point, "label"));
        put(t, ",");
        put_csv_cell(t, str(r->point, "model"));
        put(t, ",%.0f", num(r->point, "count"));
        for (int k = 0; k < s->key_count; k++)
            put(t, ","), put_csv_cell(t, str(get(r->point, "settings"), s->keys[k]));
        put(t, ","), put_csv_cell(t, r->runner), put(t, ","), put_csv_cell(t, r->group), put(t, ",%d", r->n);
        stat5 st[PHASES];
        for (int p = 0; p < PHASES; p++) {
            st[p] = stats_of(r->ms[p], r->n);
            put(t, ","), put_num(t, st[p].median), put(t, ","), put_num(t, st[p].mean), put(t, ",");
            put_num(t, st[p].std), put(t, ","), put_num(t, st[p].min), put(t, ","), put_num(t, st[p].max);
        }
        for (int p = 0; p < PHASES; p++)
            put(t, ","), put_num(t, gflops_at(r->flops[p], st[p].median));
        put(t, "\n");
    }
}

static void md_cell_stat(text *t, const stat5 *s) {
    if (!s->n) {
        put(t, " | -");
        return;
    }
    put(t, " | %.4g", s->median);
    if (s->n > 1)
        put(t, " (%.4g ± %.2g)", s->mean, s->std);
}

static void md_escape(text *t, const char *s) {
    for (const char *c = s ? s : ""; *c; c++)
        put(t, *c == '|' ? "\\|" : "%c", *c);
}

static void md_rollup(const summary *s, text *t) {
    int any = 0;
    for (int i = 0; i < s->count && !any; i++)
        any = str(s->rows[i].point, "model") != NULL;
    if (!any)
        return;
    put(t, "\n## Per-model roll-up\n\nSum over the model's shapes of count x median time (ms), per runner. "
           "A runner missing at some shape is marked.\n\n| model | runner | shapes | forward ms | backward ms | "
           "total ms |\n| --- | --- | --- | --- | --- | --- |\n");
    for (int i = 0; i < s->count; i++) {
        const char *model = str(s->rows[i].point, "model"), *runner = s->rows[i].runner;
        int seen = 0;
        for (int j = 0; j < i && !seen; j++) /* first row of this (model, runner) */
            seen = str(s->rows[j].point, "model") && model && !strcmp(str(s->rows[j].point, "model"), model) &&
                   !strcmp(s->rows[j].runner, runner);
        if (!model || seen)
            continue;
        double sum[PHASES] = {0, 0, 0};
        int shapes = 0, measured = 0;
        for (int j = i; j < s->count; j++) {
            const char *m = str(s->rows[j].point, "model");
            if (!m || strcmp(m, model) || strcmp(s->rows[j].runner, runner))
                continue;
            shapes++;
            measured += s->rows[j].n > 0;
            for (int p = 0; p < PHASES; p++) {
                stat5 st = stats_of(s->rows[j].ms[p], s->rows[j].n);
                sum[p] += isfinite(st.median) ? num(s->rows[j].point, "count") * st.median : 0;
            }
        }
        put(t, "| "), md_escape(t, model), put(t, " | "), md_escape(t, runner);
        put(t, " | %d%s", measured, measured < shapes ? " (incomplete)" : "");
        for (int p = 0; p < PHASES; p++)
            put(t, " | %.5g", sum[p]);
        put(t, " |\n");
    }
}

static void md_problems(const cJSON *merged, text *t) {
    const cJSON *item;
    if (cJSON_GetArraySize(get(merged, "missing")) + cJSON_GetArraySize(get(merged, "failures")) == 0)
        return;
    put(t, "\n## Missing and failed\n\n");
    cJSON_ArrayForEach(item, get(merged, "missing")) put(t, "- %s\n", item->valuestring);
    cJSON_ArrayForEach(item, get(merged, "failures")) {
        put(t, "- point %d (%s) repeat %d: %s: %s (log `%s`)\n", int_num(item, "point", -1), str(item, "label"),
            int_num(item, "repeat", -1) + 1, str(item, "status"), str(item, "error"), str(item, "log"));
    }
}

/* Does the key take more than one value over the points (a column worth showing)? */
static int key_varies(const summary *s, const char *key) {
    const char *first = NULL;
    for (int i = 0; i < s->count; i++) {
        const char *v = str(get(s->rows[i].point, "settings"), key);
        if (!v)
            return 1; /* set at some points only */
        if (!first)
            first = v;
        else if (strcmp(first, v))
            return 1;
    }
    return 0;
}

static int has_models(const summary *s) {
    for (int i = 0; i < s->count; i++)
        if (str(s->rows[i].point, "model"))
            return 1;
    return 0;
}

static void markdown(const cJSON *merged, const summary *s, text *t) {
    const cJSON *cfg = get(merged, "sweep");
    put(t, "# nnbench sweep %s\n\n%d points x %d repeats (fresh processes)%s. Common arguments:", str(cfg, "id"),
        int_num(cfg, "point_count", -1), int_num(cfg, "repeat", -1),
        cJSON_IsTrue(get(merged, "complete")) ? "" : ", **incomplete** (see the end)");
    const cJSON *a;
    cJSON_ArrayForEach(a, get(cfg, "common_args")) put(t, " `%s`", a->valuestring);
    int labels = has_models(s), show[NNB_SWEEP_MAX_KEYS * 4];
    for (int k = 0; k < s->key_count; k++)
        show[k] = key_varies(s, s->keys[k]);
    put(t, "\n\nEach time is the median over the repeats of each run's median, in ms; in parentheses the mean "
           "± standard deviation over the repeats. Settings the same at every point are left out.\n\n| point |");
    if (labels)
        put(t, " shape |");
    for (int k = 0; k < s->key_count; k++)
        if (show[k])
            put(t, " "), md_escape(t, s->keys[k]), put(t, " |");
    put(t, " runner | n | forward ms | backward ms | total ms | total GFLOP/s |\n|---|");
    if (labels)
        put(t, "---|");
    for (int k = 0; k < s->key_count; k++)
        if (show[k])
            put(t, "---|");
    put(t, "---|---|---|---|---|---|\n");
    for (int i = 0; i < s->count; i++) {
        const summary_row *r = &s->rows[i];
        put(t, "| %d", int_num(r->point, "index", -1));
        if (labels)
            put(t, " | "), md_escape(t, str(r->point, "label"));
        for (int k = 0; k < s->key_count; k++) {
            const char *v = str(get(r->point, "settings"), s->keys[k]);
            if (show[k])
                put(t, " | "), md_escape(t, v ? v : "");
        }
        put(t, " | "), md_escape(t, r->runner), put(t, " | %d", r->n);
        stat5 st[PHASES];
        for (int p = 0; p < PHASES; p++)
            md_cell_stat(t, (st[p] = stats_of(r->ms[p], r->n), &st[p]));
        double g = gflops_at(r->flops[TOT], st[TOT].median);
        if (isfinite(g))
            put(t, " | %.4g |\n", g);
        else
            put(t, " | - |\n");
    }
    md_rollup(s, t);
    md_problems(merged, t);
}

/* ---- plot ------------------------------------------------------------------------------ */

static int is_number(const char *s, double *out) {
    char *end;
    if (!s || !*s)
        return 0;
    *out = strtod(s, &end);
    return !*end && isfinite(*out);
}

/* The plot's x key: --plot-x, else the first axis whose values are all numbers, at least two of them. */
static const char *pick_x_key(const cJSON *merged, const char *asked) {
    if (asked)
        return asked;
    const cJSON *ax;
    cJSON_ArrayForEach(ax, get(get(merged, "sweep"), "axes")) {
        const cJSON *v;
        int numeric = cJSON_GetArraySize(get(ax, "values")) > 1;
        double x;
        cJSON_ArrayForEach(v, get(ax, "values")) numeric &= cJSON_IsString(v) && is_number(v->valuestring, &x);
        if (numeric)
            return str(ax, "key");
    }
    return NULL; /* categorical: one position per point */
}

/* The series a row belongs to: its runner and every setting but x. */
static char *series_name(const summary_row *r, const char *x_key, int with_settings) {
    text t = {0};
    put(&t, "%s", r->runner);
    const cJSON *kv;
    if (with_settings)
        cJSON_ArrayForEach(kv, get(r->point, "settings")) if (!x_key || strcmp(kv->string, x_key))
            put(&t, " %s=%s", kv->string, kv->valuestring);
    return t.oom ? (free(t.buf), NULL) : t.buf;
}

typedef struct plot_data {
    int series_count;
    char *names[64];
    double *x[64], *y[64], *e[64];
    char **lab[64]; /* point labels (serve: the curve axis' value), NULL entries: none */
    int n[64];
    nnb_plot_series series[64];
    const char *categories[NNB_PLOT_MAX_CATEGORIES];
    char *category_text[NNB_PLOT_MAX_CATEGORIES];
    int category_count;
} plot_data;

static double row_value(const summary_row *r, int phase, int gflops, double *err_out) {
    stat5 st = stats_of(r->ms[phase], r->n);
    if (!gflops) {
        *err_out = st.n > 1 ? st.std : NAN;
        return st.median;
    }
    double g = gflops_at(r->flops[phase], st.median);
    *err_out = st.n > 1 && isfinite(g) ? g * st.std / st.median : NAN;
    return g;
}

static int category_of(plot_data *d, const cJSON *point) {
    int index = int_num(point, "index", -1);
    for (int c = 0; c < d->category_count; c++)
        if (d->category_text[c] && (int)strtol(d->category_text[c], NULL, 10) == index)
            return c;
    if (d->category_count == NNB_PLOT_MAX_CATEGORIES)
        return -1;
    text t = {0};
    put(&t, "%d %s", index, str(point, "label") ? str(point, "label") : "");
    d->category_text[d->category_count] = t.buf;
    d->categories[d->category_count] = t.buf ? strchr(t.buf, ' ') + 1 : "";
    return d->category_count++;
}

static int add_to_series(plot_data *d, const char *name, double x, double y, double e, const char *label, int cap) {
    int s = 0;
    while (s < d->series_count && strcmp(d->names[s], name))
        s++;
    if (s == d->series_count) {
        if (s == 64)
            return 0; /* more lines than a plot can show: the rest stay in the tables */
        d->names[s] = nnb_sweep_strdup(name);
        d->x[s] = calloc((size_t)cap, sizeof(double));
        d->y[s] = calloc((size_t)cap, sizeof(double));
        d->e[s] = calloc((size_t)cap, sizeof(double));
        d->lab[s] = calloc((size_t)cap, sizeof(char *));
        if (!d->names[s] || !d->x[s] || !d->y[s] || !d->e[s] || !d->lab[s])
            return -1;
        d->series_count++;
    }
    int i = d->n[s]++;
    d->x[s][i] = x, d->y[s][i] = y, d->e[s][i] = e;
    d->lab[s][i] = label ? nnb_sweep_strdup(label) : NULL;
    return 0;
}

/* Points of each series in increasing x (insertion sort of three parallel arrays). */
static void sort_series(plot_data *d) {
    for (int s = 0; s < d->series_count; s++)
        for (int i = 1; i < d->n[s]; i++)
            for (int j = i; j > 0 && d->x[s][j - 1] > d->x[s][j]; j--) {
                double *arr[3] = {d->x[s], d->y[s], d->e[s]};
                for (int a = 0; a < 3; a++) {
                    double tmp = arr[a][j];
                    arr[a][j] = arr[a][j - 1];
                    arr[a][j - 1] = tmp;
                }
                char *l = d->lab[s][j];
                d->lab[s][j] = d->lab[s][j - 1];
                d->lab[s][j - 1] = l;
            }
}

static void free_plot_data(plot_data *d) {
    for (int s = 0; s < d->series_count; s++) {
        for (int i = 0; i < d->n[s] && d->lab[s]; i++)
            free(d->lab[s][i]);
        free(d->names[s]), free(d->x[s]), free(d->y[s]), free(d->e[s]), free(d->lab[s]);
    }
    for (int c = 0; c < d->category_count; c++)
        free(d->category_text[c]);
}

static int write_plot(const cJSON *merged, const summary *s, const nnb_sweep_output_options *oo, const char *path,
                      char *err, size_t err_len) {
    static plot_data d;
    memset(&d, 0, sizeof d);
    const char *x_key = pick_x_key(merged, oo->plot_x);
    int gflops = oo->plot_y && !strcmp(oo->plot_y, "gflops");
    int phase = !oo->plot_phase || !strcmp(oo->plot_phase, "total") ? TOT
                : !strcmp(oo->plot_phase, "forward")                ? FWD
                                                                    : BWD;
    int rc = 0, positive = 1, y_positive = 1;
    double xmin = INFINITY, xmax = -INFINITY, ymin = INFINITY, ymax = -INFINITY;
    for (int i = 0; i < s->count && !rc; i++) {
        const summary_row *r = &s->rows[i];
        double x, e, y = row_value(r, phase, gflops, &e);
        const char *xv = x_key ? str(get(r->point, "settings"), x_key) : NULL;
        if (x_key && !is_number(xv, &x))
            continue; /* this point has no numeric value of the x axis */
        if (!x_key && (x = category_of(&d, r->point)) < 0)
            continue;
        char *name = series_name(r, x_key, x_key != NULL);
        rc = !name || add_to_series(&d, name, x, y, e, NULL, s->count);
        free(name);
        positive &= x > 0;
        xmin = fmin(xmin, x), xmax = fmax(xmax, x);
        if (isfinite(y))
            y_positive &= y > 0, ymin = fmin(ymin, y), ymax = fmax(ymax, y);
    }
    sort_series(&d);
    for (int i = 0; i < d.series_count; i++)
        d.series[i] = (nnb_plot_series){d.names[i], d.n[i], d.x[i], d.y[i], d.e[i], NULL};
    char title[256], ylabel[128];
    snprintf(title, sizeof title, "nnbench sweep %.8s: %s %s, median over %d repeat(s)",
             str(get(merged, "sweep"), "id"), phase_names[phase], gflops ? "GFLOP/s" : "time",
             int_num(get(merged, "sweep"), "repeat", -1));
    snprintf(ylabel, sizeof ylabel, "%s %s%s", phase_names[phase], gflops ? "GFLOP/s" : "time (ms)",
             num(get(merged, "sweep"), "repeat") > 1 ? "; bars: ± std over repeats" : "");
    nnb_plot p = {0};
    p.title = title;
    p.x_label = x_key ? x_key : "point";
    p.y_label = ylabel;
    p.x_log = x_key && positive && xmax >= 8 * xmin ? 2 : 0;
    p.y_log = y_positive && isfinite(ymin) && ymax >= 50 * ymin ? 10 : 0; /* shapes spanning decades */
    p.category_count = x_key ? 0 : d.category_count;
    p.categories = d.categories;
    p.series_count = d.series_count;
    p.series = d.series;
    if (rc)
        rc = nnb_sweep_fail(err, err_len, "out of memory building the plot");
    else if (d.series_count == 0)
        rc = 0; /* nothing measured: no plot (the tables say why) */
    else
        rc = nnb_plot_svg_write(path, &p, err, err_len);
    free_plot_data(&d);
    return rc;
}

static int write_text(const char *path, text *t, char *err, size_t err_len) {
    if (t->oom)
        return nnb_sweep_fail(err, err_len, "cannot write '%s': out of memory", path);
    return nnb_write_file_atomic(path, t->buf ? t->buf : "", t->len, err, err_len);
}

static int write_text(const char *path, text *t, char *err, size_t err_len);

/* OUT/sweep.json, OUT/sweep.csv and OUT/sweep.md. */
static int write_json_csv_md(const cJSON *merged, const nnb_sweep_output_options *oo, text *tc, text *tm, char *err,
                             size_t err_len) {
    char path[4200];
    snprintf(path, sizeof path, "%s/sweep.json", oo->out_dir);
    int rc = nnb_sweep_write_json(path, merged, err, err_len);
    if (!rc)
        snprintf(path, sizeof path, "%s/sweep.csv", oo->out_dir), rc = write_text(path, tc, err, err_len);
    if (!rc)
        snprintf(path, sizeof path, "%s/sweep.md", oo->out_dir), rc = write_text(path, tm, err, err_len);
    return rc;
}

/* ---- serve sweeps: latency against throughput ------------------------------------------------------ */

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
    int cap = cJSON_GetArraySize(get(merged, "points")), n = 0;
    serve_row *rows = calloc((size_t)(cap ? cap : 1), sizeof *rows);
    if (!rows)
        return -1;
    const cJSON *point;
    cJSON_ArrayForEach(point, get(merged, "points")) {
        serve_row *r = &rows[n++];
        r->point = point;
        int runs = cJSON_GetArraySize(get(point, "runs"));
        for (int m = 0; m < S_METRICS; m++)
            if (!(r->v[m] = calloc((size_t)(runs ? runs : 1), sizeof(double))))
                return *rows_out = rows, *count = n, -1;
        const cJSON *run;
        cJSON_ArrayForEach(run, get(point, "runs")) {
            const cJSON *res = get(run, "results"), *sum = get(res, "summary"), *lat = get(sum, "latency_ms");
            if (!cJSON_IsObject(sum) || r->n >= runs)
                continue;
            r->runner = str(get(res, "config"), "runner") ? str(get(res, "config"), "runner") : r->runner;
            const double v[S_METRICS] = {num(lat, "p50"),
                                         num(lat, "p99"),
                                         num(lat, "mean"),
                                         num(sum, "whole_samples_per_s"),
                                         num(sum, "core_samples_per_s"),
                                         num(sum, "mean_batch_samples")};
            for (int m = 0; m < S_METRICS; m++)
                r->v[m][r->n] = v[m];
            r->valid += cJSON_IsTrue(get(sum, "valid"));
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
    put(t, "point,label");
    for (int k = 0; k < keys->key_count; k++)
        put(t, ","), put_csv_cell(t, keys->keys[k]);
    put(t, ",runner,repeats,valid_runs");
    for (int m = 0; m < S_METRICS; m++)
        put(t, ",%s_mean,%s_std,%s_median", serve_metric_names[m], serve_metric_names[m], serve_metric_names[m]);
    put(t, "\n");
    for (int i = 0; i < n; i++) {
        const serve_row *r = &rows[i];
        put(t, "%d,", int_num(r->point, "index", -1));
        put_csv_cell(t, str(r->point, "label"));
        for (int k = 0; k < keys->key_count; k++)
            put(t, ","), put_csv_cell(t, str(get(r->point, "settings"), keys->keys[k]));
        put(t, ","), put_csv_cell(t, r->runner ? r->runner : ""), put(t, ",%d,%d", r->n, r->valid);
        for (int m = 0; m < S_METRICS; m++) {
            stat5 st = stats_of(r->v[m], r->n);
            put(t, ","), put_num(t, st.mean), put(t, ","), put_num(t, st.std), put(t, ","), put_num(t, st.median);
        }
        put(t, "\n");
    }
}

static int serve_key_varies(const serve_row *rows, int n, const char *key) {
    const char *first = NULL;
    for (int i = 0; i < n; i++) {
        const char *v = str(get(rows[i].point, "settings"), key);
        if (!v || (first && strcmp(first, v)))
            return 1;
        first = first ? first : v;
    }
    return 0;
}

static void md_mean_std(text *t, const double *v, int n, const char *fmt) {
    stat5 st = stats_of(v, n);
    if (!st.n) {
        put(t, " | -");
        return;
    }
    put(t, " | "), put(t, fmt, st.mean);
    if (st.n > 1)
        put(t, " ± "), put(t, fmt, st.std);
}

static void serve_markdown(const cJSON *merged, const summary *keys, const serve_row *rows, int n, text *t) {
    const cJSON *cfg = get(merged, "sweep");
    put(t, "# nnbench serve sweep %s\n\n%d points x %d repeats (fresh processes)%s. Common arguments:", str(cfg, "id"),
        int_num(cfg, "point_count", -1), int_num(cfg, "repeat", -1),
        cJSON_IsTrue(get(merged, "complete")) ? "" : ", **incomplete** (see the end)");
    const cJSON *a;
    cJSON_ArrayForEach(a, get(cfg, "common_args")) put(t, " `%s`", a->valuestring);
    int show[NNB_SWEEP_MAX_KEYS * 4];
    for (int k = 0; k < keys->key_count; k++)
        show[k] = serve_key_varies(rows, n, keys->keys[k]);
    put(t, "\n\nMean ± standard deviation over the repeats; `valid`: runs whose verdict was VALID.\n\n| point |");
    for (int k = 0; k < keys->key_count; k++)
        if (show[k])
            put(t, " "), md_escape(t, keys->keys[k]), put(t, " |");
    put(t, " runner | valid | p50 ms | p99 ms | mean ms | samples/s (whole) | samples/s (core) | mean batch |\n|---|");
    for (int k = 0; k < keys->key_count; k++)
        if (show[k])
            put(t, "---|");
    put(t, "---|---|---|---|---|---|---|---|\n");
    for (int i = 0; i < n; i++) {
        const serve_row *r = &rows[i];
        put(t, "| %d", int_num(r->point, "index", -1));
        for (int k = 0; k < keys->key_count; k++)
            if (show[k]) {
                const char *v = str(get(r->point, "settings"), keys->keys[k]);
                put(t, " | "), md_escape(t, v ? v : "");
            }
        put(t, " | "), md_escape(t, r->runner ? r->runner : "-"), put(t, " | %d/%d", r->valid, r->n);
        md_mean_std(t, r->v[S_P50], r->n, "%.4g");
        md_mean_std(t, r->v[S_P99], r->n, "%.4g");
        md_mean_std(t, r->v[S_MEAN], r->n, "%.4g");
        md_mean_std(t, r->v[S_WHOLE], r->n, "%.5g");
        md_mean_std(t, r->v[S_CORE], r->n, "%.5g");
        md_mean_std(t, r->v[S_BATCH], r->n, "%.3g");
        put(t, " |\n");
    }
    md_problems(merged, t);
}

/* p99 latency against whole throughput: one line per combination of the settings other than the curve's
 * own axis (--plot-x, default the first axis), its points in that axis' order. */
static int serve_plot(const cJSON *merged, const serve_row *rows, int n, const nnb_sweep_output_options *oo,
                      const char *path, char *err, size_t err_len) {
    static plot_data d;
    memset(&d, 0, sizeof d);
    const char *curve = pick_x_key(merged, oo->plot_x);
    int rc = 0;
    for (int i = 0; i < n && !rc; i++) {
        const serve_row *r = &rows[i];
        stat5 x = stats_of(r->v[S_WHOLE], r->n), y = stats_of(r->v[S_P99], r->n);
        double order = i;
        const char *cv = curve ? str(get(r->point, "settings"), curve) : NULL;
        if (cv)
            is_number(cv, &order);
        text name = {0};
        put(&name, "%s", r->runner ? r->runner : "?");
        const cJSON *kv;
        cJSON_ArrayForEach(kv, get(r->point, "settings")) if (!curve || strcmp(kv->string, curve))
            put(&name, " %s=%s", kv->string, kv->valuestring);
        /* x holds the curve order for sorting; the throughput rides in e until swapped below */
        rc = !name.buf || add_to_series(&d, name.buf, order, y.mean, x.mean, cv, n);
        free(name.buf);
    }
    sort_series(&d);
    for (int i = 0; i < d.series_count; i++) { /* (order, p99, throughput) -> (throughput, p99) */
        for (int k = 0; k < d.n[i]; k++)
            d.x[i][k] = d.e[i][k];
        d.series[i] = (nnb_plot_series){d.names[i], d.n[i], d.x[i], d.y[i], NULL, (const char *const *)d.lab[i]};
    }
    char title[256], xlabel[160];
    snprintf(title, sizeof title, "nnbench serve sweep %.8s: p99 latency against throughput",
             str(get(merged, "sweep"), "id"));
    snprintf(xlabel, sizeof xlabel, "samples/s (whole), mean over repeats; point labels: %s", curve ? curve : "point");
    nnb_plot p = {0};
    p.title = title;
    p.x_label = xlabel;
    p.y_label = "p99 latency (ms), mean over repeats";
    p.series_count = d.series_count;
    p.series = d.series;
    int positive = 1;
    for (int i = 0; i < d.series_count; i++)
        for (int k = 0; k < d.n[i]; k++)
            positive &= !(d.y[i][k] <= 0) && !(d.x[i][k] <= 0);
    p.y_log = positive ? 10 : 0;
    if (rc)
        rc = nnb_sweep_fail(err, err_len, "out of memory building the plot");
    else if (d.series_count)
        rc = nnb_plot_svg_write(path, &p, err, err_len);
    free_plot_data(&d);
    return rc;
}

static int serve_outputs(const cJSON *merged, const nnb_sweep_output_options *oo, char *err, size_t err_len) {
    summary keys;
    memset(&keys, 0, sizeof keys);
    const cJSON *point;
    cJSON_ArrayForEach(point, get(merged, "points")) note_keys(&keys, get(point, "settings"));
    serve_row *rows = NULL;
    int n = 0;
    text tc = {0}, tm = {0};
    char path[4200];
    int rc = serve_collect(merged, &rows, &n) ? nnb_sweep_fail(err, err_len, "out of memory summarising") : 0;
    if (!rc) {
        serve_csv(&keys, rows, n, &tc);
        serve_markdown(merged, &keys, rows, n, &tm);
        rc = write_json_csv_md(merged, oo, &tc, &tm, err, err_len);
    }
    snprintf(path, sizeof path, "%s/sweep.svg", oo->out_dir);
    if (!rc)
        snprintf(path, sizeof path, "%s/sweep.svg", oo->out_dir),
            rc = serve_plot(merged, rows, n, oo, path, err, err_len);
    free(tc.buf), free(tm.buf);
    serve_free(rows, n);
    return rc;
}

int nnb_sweep_write_outputs(const cJSON *merged, const nnb_sweep_output_options *oo, char *err, size_t err_len) {
    const char *command = str(get(merged, "sweep"), "command");
    if (command && !strcmp(command, "serve"))
        return serve_outputs(merged, oo, err, err_len);
    char path[4200];
    summary s;
    memset(&s, 0, sizeof s);
    text tc = {0}, tm = {0};
    int rc = collect(merged, &s) ? nnb_sweep_fail(err, err_len, "out of memory summarising the sweep") : 0;
    if (!rc) {
        csv(&s, &tc);
        markdown(merged, &s, &tm);
        rc = write_json_csv_md(merged, oo, &tc, &tm, err, err_len);
    }
    snprintf(path, sizeof path, "%s/sweep.svg", oo->out_dir);
    if (!rc)
        rc = write_plot(merged, &s, oo, path, err, err_len);
    free(tc.buf), free(tm.buf);
    free_summary(&s);
    return rc;
}
