/*
 * Internals of nnbench report (not installed): writing one page, the page kinds, the store pages.
 *
 * A page is one self-contained HTML file: the tables are HTML written here (every text from a file goes
 * through nnb_html_text), the charts are Chart.js configurations (JSON, made with cJSON) that the page's
 * own script (report_script.c) hands to Chart.js, which is inlined verbatim from NNB_CHARTJS_PATH (store
 * sites instead load one copy of it next to the pages: nnb_page.library_src).
 *
 * Errors: functions returning int give 0, or -1 with a one-line message in err naming the file and the
 * problem. A page is written to "<path>.tmp" and renamed, so a failure never leaves half a page.
 */
#ifndef NNB_REPORT_INTERNAL_H
#define NNB_REPORT_INTERNAL_H

#include <cjson/cJSON.h>
#include <stddef.h>
#include <stdio.h>

typedef struct nnb_page {
    FILE *f;
    cJSON *charts; /* array of {id, title, config}: drawn by the page script */
    int next_id;
    /* NULL: the library is inlined (a page made from result files stands alone). Otherwise the page loads
     * this file, relative to itself: a store site holds one copy (nnb_report_write_library) instead of
     * 200 kB in each of its many pages. */
    const char *library_src;
} nnb_page;

/* The library's file name in a store site's folder. */
#define NNB_REPORT_LIBRARY_FILE "chart.min.js"

/* The kinds of input a page is made from (detected from the content). */
typedef enum nnb_report_kind { NNB_PAGE_RUN, NNB_PAGE_AB, NNB_PAGE_SWEEP, NNB_PAGE_SERVE } nnb_report_kind;

/* ---- html_page.c ---- */
/* The library's text (read once; NULL with err naming the file and the fix when missing). */
const char *nnb_report_library(char *err, size_t err_len);
/* Copies the library byte for byte to dir/NNB_REPORT_LIBRARY_FILE (through a .tmp file). 0 or -1. */
int nnb_report_write_library(const char *dir, char *err, size_t err_len);
void nnb_html_text(FILE *f, const char *s);         /* s HTML-escaped (NULL: nothing) */
void nnb_html_num(FILE *f, double v, int decimals); /* "-" for NaN */
/* Opens page path.tmp and writes the head with title (escaped) and a link back to index.html. */
int nnb_page_begin(nnb_page *p, const char *path, const char *title, int link_index, char *err, size_t err_len);
/* Adds a chart (takes config) in a new <canvas>, under heading title (escaped). */
void nnb_page_chart(nnb_page *p, const char *title, cJSON *config);
/* Writes the charts' data, the library and the script, closes and renames. 0 or -1. */
int nnb_page_end(nnb_page *p, const char *path, char *err, size_t err_len);
void nnb_page_abort(nnb_page *p, const char *path);

/* Chart.js configuration helpers (cJSON objects the caller adds to). */
cJSON *nnb_chart_config(const char *type, const char *x_title, const char *y_title);
cJSON *nnb_chart_dataset(cJSON *config, const char *label); /* appended to config.data.datasets */
void nnb_chart_labels(cJSON *config, const char *const *labels, int n);
cJSON *nnb_xy(double x, double y);
/* A histogram of v[n] (finite values) in a bar chart with `bins` bins; label names the dataset. */
void nnb_hist_dataset(cJSON *config, const char *label, const double *v, int n, double lo, double hi, int bins);

/* ---- pages ---- */
int nnb_page_run(const cJSON *root, nnb_report_kind kind, const char *src, const char *path, char *err, size_t err_len);
int nnb_page_sweep(const cJSON *root, const char *src, const char *path, char *err, size_t err_len);
int nnb_page_serve(const cJSON *root, const char *src, const char *path, char *err, size_t err_len);
int nnb_page_compare(const char *old_path, const char *new_path, const char *path, char *err, size_t err_len);
/* The index and series pages of a store into dir. */
int nnb_report_store(const char *spec, const char *filter, const char *dir, char *err, size_t err_len);

/* ---- small shared helpers (html_page.c) ---- */
double nnb_json_num(const cJSON *o, const char *key);      /* NaN when missing or not a number */
const char *nnb_json_str(const cJSON *o, const char *key); /* NULL when missing */
/* The finite numbers of a JSON array (caller frees; *n 0 and NULL when none). */
double *nnb_json_numbers(const cJSON *arr, int *n);
double nnb_median(double *v, int n); /* sorts v; NaN when n is 0 */

#endif
