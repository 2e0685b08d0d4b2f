/* Internals of the sweep's summaries (not installed): the files that turn a merged sweep into its outputs.
 *   summary.c         the entry point: which outputs, written in which order;
 *   summary_text.c    a growing text buffer, JSON field access, statistics over repeats;
 *   summary_tables.c  runs: rows per point x runner, sweep.csv, sweep.md, the per-model roll-up;
 *   summary_plot.c    the plot's shared parts (series by runner and style, what varies and what is fixed,
 *                     the partial warning) and the plot of a run sweep;
 *   summary_serve.c   serve sweeps: their CSV, markdown and latency-throughput plot.
 * Ownership: every function that returns a malloc'd string says so; structures are released with their
 * _free function. Out of memory is reported by the callers' messages, never by a crash. */
#ifndef NNB_SWEEP_SUMMARY_INTERNAL_H
#define NNB_SWEEP_SUMMARY_INTERNAL_H

#include "svg_plot.h"
#include "sweep_internal.h"

#include <cjson/cJSON.h>
#include <stddef.h>

/* ---- text and JSON (summary_text.c) ---- */

typedef struct text {
    char *buf;
    size_t len, cap;
    int oom;
} text;

void sum_put(text *t, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;
void sum_put_num(text *t, double x);                                      /* "%.6g", nothing when not finite */
void sum_put_csv_cell(text *t, const char *s);                            /* RFC 4180 quoting */
void sum_md_escape(text *t, const char *s);                               /* '|' escaped */
int sum_write_text(const char *path, text *t, char *err, size_t err_len); /* atomically */

const cJSON *sum_get(const cJSON *o, const char *k);
double sum_num(const cJSON *o, const char *k); /* NaN when not a number */
int sum_int(const cJSON *o, const char *k, int fallback);
const char *sum_str(const cJSON *o, const char *k); /* NULL when not a string */
int sum_is_number(const char *s, double *out);

typedef struct stat5 {
    int n;
    double mean, std, median, min, max;
} stat5;
stat5 sum_stats(const double *v, int n); /* over the finite values; sample std (0 for one value) */
double sum_gflops_at(double flops, double ms);

/* ---- run sweeps (summary_tables.c) ---- */

enum { FWD, BWD, TOT, PHASES };
extern const char *const sum_phase_names[PHASES];

/* One runner at one point: each repeat's per-run median (ms) by phase. */
typedef struct summary_row {
    const cJSON *point;
    const char *runner, *group;
    int n;                /* repeats that measured it */
    double *ms[PHASES];   /* [n] */
    double flops[PHASES]; /* one pass; NaN unknown */
} summary_row;

typedef struct summary {
    summary_row *rows;
    int count, cap;
    const char *keys[NNB_SWEEP_MAX_KEYS * 4]; /* every setting key, in order of first appearance */
    int key_count;
} summary;

void sum_note_keys(summary *s, const cJSON *settings);
int sum_collect(const cJSON *merged, summary *s); /* 0, or -1 out of memory */
void sum_free(summary *s);
void sum_csv(const summary *s, text *t);
void sum_markdown(const cJSON *merged, const summary *s, text *t);
int sum_has_models(const summary *s);
void sum_rollup_csv(const cJSON *merged, const summary *s, text *t); /* sweep-rollup.csv */
void sum_md_problems(const cJSON *merged, text *t);

/* ---- --beside: whole runs beside the roll-up (summary_beside.c) ---- */

/* Reads an nnbench full JSON (--json-out) and adds merged["beside"] = {"file", "runs": [{"runner", "group",
 * "batch", "forward_ms", "backward_ms", "total_ms"}]}, the medians of its ok runners. 0, or -1 with err. */
int sum_load_beside(const char *path, cJSON *merged, char *err, size_t err_len);
/* The markdown after the roll-up table: the whole runs, then each roll-up row as a share of each run. */
void sum_md_beside_runs(const cJSON *merged, text *t);
void sum_md_beside_share(const cJSON *merged, const char *model, const char *runner, const double sum[PHASES], text *t);

/* ---- plots (summary_plot.c) ---- */

/* Series keyed by runner (colour) and the other settings that vary (style). */
typedef struct sweep_plot {
    int series_count;
    char *names[NNB_PLOT_MAX_SERIES], *runner[NNB_PLOT_MAX_SERIES], *style[NNB_PLOT_MAX_SERIES];
    double *order[NNB_PLOT_MAX_SERIES]; /* points are sorted by this (the x value, or a curve's own axis) */
    double *x[NNB_PLOT_MAX_SERIES], *y[NNB_PLOT_MAX_SERIES], *lo[NNB_PLOT_MAX_SERIES], *hi[NNB_PLOT_MAX_SERIES],
        *xe[NNB_PLOT_MAX_SERIES];
    char **lab[NNB_PLOT_MAX_SERIES]; /* point labels, NULL entries: none */
    int n[NNB_PLOT_MAX_SERIES];
    nnb_plot_series series[NNB_PLOT_MAX_SERIES];
    const char *categories[NNB_PLOT_MAX_CATEGORIES];
    char *category_text[NNB_PLOT_MAX_CATEGORIES];
    int category_count;
} sweep_plot;

typedef struct sweep_point_value {
    double order, x, y, lo, hi, xe; /* NaN: none */
    const char *label;
} sweep_point_value;

/* Adds a point to the series of (runner, style) (style NULL or ""), cap points at most per series. 0, or -1
 * out of memory; a 65th series is left out (the tables have everything). */
int sum_plot_add(sweep_plot *d, const char *runner, const char *style, const sweep_point_value *v, int cap);
/* Sorts each series by order and fills d->series. */
void sum_plot_finish(sweep_plot *d);
void sum_plot_free(sweep_plot *d);
/* Does the setting key take more than one value over the merged points (or is it missing at some)? */
int sum_key_varies(const cJSON *merged, const char *key);
/* "k=v k=v" of the settings that vary over the sweep, other than skip and (axes_only) other than a shape's
 * own keys: a series' style (malloc'd, "" when none; NULL out of memory). */
char *sum_style_of(const cJSON *merged, const cJSON *settings, const char *skip, int axes_only);
/* "varies: <x_part>, runner (colour), <style keys> (<style_word>)\nfixed: ..." (malloc'd, NULL out of memory). */
char *sum_subtitle(const cJSON *merged, const sweep_plot *d, const char *x_part, const char *skip, int axes_only,
                   const char *style_word);
/* "fixed: <settings the same everywhere> <common arguments but runner choices>; sweep <id>" (malloc'd). */
char *sum_fixed_line(const cJSON *merged, const sweep_plot *d);
/* "partial: P of N points[, F failed runs]" when the merged sweep is incomplete or had failures, else "". */
void sum_partial_line(const cJSON *merged, char *buf, size_t len);
/* For sweep.md's first line: ", **incomplete: partial: P of N points** (see the end)", or "". */
typedef struct note {
    char s[160];
} note;
note sum_incomplete_note(const cJSON *merged);
/* The plot's x (or serve: curve) key: asked, else the first axis with two or more numeric values; NULL. */
const char *sum_pick_x_key(const cJSON *merged, const char *asked);
int sum_write_plot(const cJSON *merged, const summary *s, const nnb_sweep_output_options *oo, const char *path,
                   char *err, size_t err_len);

/* ---- serve sweeps (summary_serve.c) ---- */

int sum_serve_outputs(const cJSON *merged, const nnb_sweep_output_options *oo, char *err, size_t err_len);
/* OUT/sweep.json, OUT/sweep.csv and OUT/sweep.md (summary.c). */
int sum_write_json_csv_md(const cJSON *merged, const nnb_sweep_output_options *oo, text *tc, text *tm, char *err,
                          size_t err_len);

#endif
