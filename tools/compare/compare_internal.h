/*
 * Between nnbench-compare's own source files only (not installed, not for tests):
 * the readers of each file kind, the configuration comparison and the serve rows.
 * Errors follow compare.h: 0 or -1 with a one-line message in err.
 */
#ifndef NNB_COMPARE_INTERNAL_H
#define NNB_COMPARE_INTERNAL_H

#include "compare.h"

#include <cjson/cJSON.h>

/* compare_input.c */
void nnb_cmp_errorf(char *err, size_t err_len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
char *nnb_cmp_strdup(const char *s);           /* NULL when out of memory */
const char *nnb_cmp_json_type(const cJSON *j); /* "a number", "null", "missing", ... */
/* Reads an nnbench full JSON object (root) into out, as nnb_cmp_parse does; name is used in messages.
 * Leaves out's config alone. On failure out is freed. */
int nnb_cmp_read_full_root(const cJSON *root, const char *name, nnb_cmp_file *out, char *err, size_t err_len);

/* compare_json.c: text (NUL-terminated at text[len]) as one JSON value and nothing else; NULL with a
 * message ("<name>:<line>:<col>: invalid JSON ...") otherwise. */
cJSON *nnb_cmp_parse_json(const char *name, const char *text, size_t len, char *err, size_t err_len);

/* compare_sweep.c: a "nnbench-sweep" object; the runners of a point's repeats pooled. */
int nnb_cmp_read_sweep(const cJSON *root, const char *name, nnb_cmp_file *out, char *err, size_t err_len);

/* compare_serve.c: a "nnbench-serve" object. */
int nnb_cmp_read_serve(const cJSON *root, const char *name, nnb_cmp_file *out, char *err, size_t err_len);
/* One run of a sweep of serve runs, pooled into out's entry for point (its latencies added, throughput averaged). */
int nnb_cmp_read_serve_run(const cJSON *root, const char *name, const char *point, nnb_cmp_file *out, char *err,
                           size_t err_len);
/* After the last run: p50 and p99 from each point's pooled latencies. */
void nnb_cmp_serve_pool_percentiles(nnb_cmp_file *f);
void nnb_cmp_serve_free(nnb_cmp_file *f);
/* Whether f holds serve measurements (a serve file, or a sweep of serve runs). */
int nnb_cmp_is_serve(const nnb_cmp_file *f);
/* Rows for two serve files or serve sweeps: per point, p50 and p99 latency with bootstrap intervals, throughput. */
int nnb_cmp_compare_serve(nnb_cmp_report *r, char *err, size_t err_len);

/* compare_config.c */
/* The configuration keys compared of a full JSON (config + context) or serve file (root). */
int nnb_cmp_read_config(const cJSON *root, nnb_cmp_file *out, char *err, size_t err_len);
/* Adds key = value; a key already there with another value becomes "varies" (sweeps: per point). */
int nnb_cmp_config_merge(nnb_cmp_file *f, const char *key, const char *value);
/* Drops the keys nnb_cmp_config_merge marked as varying. */
void nnb_cmp_config_drop_varying(nnb_cmp_file *f);
void nnb_cmp_config_free(nnb_cmp_file *f);
/* Fills r->config_note and warns about configuration keys that differ. */
void nnb_cmp_compare_configs(nnb_cmp_report *r);
/* Warns when the ratios look like a seconds-vs-ms mix-up (after the geometric means). */
void nnb_cmp_check_units(nnb_cmp_report *r);
void nnb_cmp_add_warning(nnb_cmp_report *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
