/* The summaries' small tools (summary_internal.h): a growing text buffer, JSON field access that a damaged
 * file cannot crash, and statistics over repeats (as process_metrics.py: mean, sample std, median). */
#define _GNU_SOURCE
#include "summary_internal.h"

#include "report.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const cJSON *sum_get(const cJSON *o, const char *k) { return cJSON_GetObjectItemCaseSensitive(o, k); }
double sum_num(const cJSON *o, const char *k) {
    const cJSON *v = sum_get(o, k);
    return cJSON_IsNumber(v) ? v->valuedouble : NAN;
}
/* An integer field; fallback when absent, not a number or outside int (a damaged file must not be UB). */
int sum_int(const cJSON *o, const char *k, int fallback) {
    double v = sum_num(o, k);
    return v >= -2147483647.0 && v <= 2147483647.0 ? (int)v : fallback;
}

const char *sum_str(const cJSON *o, const char *k) {
    const cJSON *v = sum_get(o, k);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Over the finite values of v[n]. */
stat5 sum_stats(const double *v, int n) {
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

void sum_put(text *t, const char *fmt, ...) {
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
void sum_put_num(text *t, double x) {
    if (isfinite(x))
        sum_put(t, "%.6g", x);
}

/* RFC 4180: quote a cell with a comma, quote or newline. */
void sum_put_csv_cell(text *t, const char *s) {
    if (!s)
        return;
    if (!strpbrk(s, ",\"\n\r")) {
        sum_put(t, "%s", s);
        return;
    }
    sum_put(t, "\"");
    for (const char *c = s; *c; c++)
        sum_put(t, *c == '"' ? "\"\"" : "%c", *c);
    sum_put(t, "\"");
}

double sum_gflops_at(double flops, double ms) { return isfinite(flops) && ms > 0 ? flops / (ms * 1e-3) / 1e9 : NAN; }

void sum_md_escape(text *t, const char *s) {
    for (const char *c = s ? s : ""; *c; c++)
        sum_put(t, *c == '|' ? "\\|" : "%c", *c);
}

int sum_write_text(const char *path, text *t, char *err, size_t err_len) {
    if (t->oom)
        return nnb_sweep_fail(err, err_len, "cannot write '%s': out of memory", path);
    return nnb_write_file_atomic(path, t->buf ? t->buf : "", t->len, err, err_len);
}

int sum_is_number(const char *s, double *out) {
    char *end;
    if (!s || !*s)
        return 0;
    *out = strtod(s, &end);
    return !*end && isfinite(*out);
}
