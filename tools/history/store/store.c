/* The store interface (store.h): picks the backend from the spec and holds what both backends share. */
#include "store_internal.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int (*nnb_store_after_run_hook)(int run_index) = NULL;

int nnb_store_fail(char *err, size_t err_len, const char *fmt, ...) {
    if (err && err_len) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, err_len, fmt, ap);
        va_end(ap);
    }
    return -1;
}

char *nnb_store_strdup(const char *s) {
    if (!s)
        return NULL;
    size_t n = strlen(s) + 1;
    char *d = malloc(n);
    if (d)
        memcpy(d, s, n);
    return d;
}

int nnb_store_grow(void **v, int *cap, int n, size_t elem) {
    if (n < *cap)
        return 0;
    int cap2 = *cap ? *cap * 2 : 16;
    void *p = realloc(*v, (size_t)cap2 * elem);
    if (!p)
        return -1;
    *v = p, *cap = cap2;
    return 0;
}

int nnb_store_init_header(nnb_store *s, const nnb_store_backend_ops *ops, const char *spec_shown) {
    s->ops = ops;
    s->schema_version = 0;
    s->spec_shown = nnb_store_strdup(spec_shown);
    return s->spec_shown ? 0 : -1;
}

void nnb_store_free_header(nnb_store *s) { free(s->spec_shown); }

static int is_postgres_url(const char *spec) {
    return strncmp(spec, "postgresql://", 13) == 0 || strncmp(spec, "postgres://", 11) == 0;
}

int nnb_store_open(const char *spec, nnb_store **out, char *err, size_t err_len) {
    *out = NULL;
    if (!spec || !*spec)
        return nnb_store_fail(err, err_len,
                              "no store given: name a SQLite file (e.g. results/history.db) or a postgresql:// URL");
    if (is_postgres_url(spec))
        return nnb_store_pg_open(spec, out, err, err_len);
    return nnb_store_sqlite_open(spec, out, err, err_len);
}

void nnb_store_close(nnb_store *s) {
    if (s)
        s->ops->close(s);
}

const char *nnb_store_backend(const nnb_store *s) { return s ? s->ops->name : "none"; }
int nnb_store_schema_version(const nnb_store *s) { return s ? s->schema_version : 0; }

int nnb_store_add_file(nnb_store *s, const nnb_store_file *f, char *err, size_t err_len) {
    if (nnb_store_check_file(s, f, err, err_len) != 0)
        return -1;
    return s->ops->add_file(s, f, err, err_len);
}

int nnb_store_list_series(nnb_store *s, const char *filter, nnb_store_series **out, int *count, char *err,
                          size_t err_len) {
    *out = NULL, *count = 0;
    return s->ops->list_series(s, filter && *filter ? filter : NULL, out, count, err, err_len);
}

int nnb_store_series_points(nnb_store *s, long long series_id, const char *since, nnb_store_point **out, int *count,
                            char *err, size_t err_len) {
    *out = NULL, *count = 0;
    return s->ops->series_points(s, series_id, since && *since ? since : NULL, out, count, err, err_len);
}

int nnb_store_all_points(nnb_store *s, const char *since, nnb_store_point_set **out, int *count, char *err,
                         size_t err_len) {
    *out = NULL, *count = 0;
    return s->ops->all_points(s, since && *since ? since : NULL, out, count, err, err_len);
}

char *nnb_store_file_provenance(nnb_store *s, long long file_id, char *err, size_t err_len) {
    return s->ops->file_provenance(s, file_id, err, err_len);
}

void nnb_store_series_free(nnb_store_series *v, int count) {
    for (int i = 0; v && i < count; i++) {
        free(v[i].key), free(v[i].machine), free(v[i].runner), free(v[i].phase), free(v[i].config);
        free(v[i].unit), free(v[i].first_date), free(v[i].last_date);
    }
    free(v);
}

void nnb_store_points_free(nnb_store_point *v, int count) {
    for (int i = 0; v && i < count; i++) {
        free(v[i].commit), free(v[i].date), free(v[i].label), free(v[i].path), free(v[i].format);
        free(v[i].samples);
    }
    free(v);
}

void nnb_store_point_sets_free(nnb_store_point_set *v, int count) {
    for (int i = 0; v && i < count; i++)
        nnb_store_points_free(v[i].points, v[i].count);
    free(v);
}

static uint64_t fnv1a(uint64_t h, const char *s) {
    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        h = (h ^ *p) * 1099511628211ULL;
    return (h ^ 0) * 1099511628211ULL; /* the terminating 0: ("ab","c") and ("a","bc") differ */
}

void nnb_store_series_key(const nnb_store_run *r, char key[NNB_STORE_KEY_LEN + 1]) {
    uint64_t h = 14695981039346656037ULL;
    h = fnv1a(h, r->machine);
    h = fnv1a(h, r->runner);
    h = fnv1a(h, r->phase);
    h = fnv1a(h, r->config);
    snprintf(key, NNB_STORE_KEY_LEN + 1, "%016llx", (unsigned long long)h);
}

unsigned char *nnb_store_encode_samples(const double *v, int n) {
    if (!v || n <= 0)
        return NULL;
    unsigned char *buf = malloc((size_t)n * 8);
    for (int i = 0; buf && i < n; i++) {
        uint64_t bits;
        memcpy(&bits, &v[i], 8);
        for (int b = 0; b < 8; b++)
            buf[(size_t)i * 8 + b] = (unsigned char)(bits >> (8 * b));
    }
    return buf;
}

int nnb_store_decode_samples(const unsigned char *buf, size_t len, double **out, int *count) {
    *out = NULL, *count = 0;
    if (!buf || len == 0)
        return 0;
    if (len % 8 != 0)
        return -1;
    size_t n = len / 8;
    double *v = malloc(n * sizeof *v);
    if (!v)
        return -1;
    for (size_t i = 0; i < n; i++) {
        uint64_t bits = 0;
        for (int b = 0; b < 8; b++)
            bits |= (uint64_t)buf[i * 8 + b] << (8 * b);
        memcpy(&v[i], &bits, 8);
    }
    *out = v, *count = (int)n;
    return 0;
}

static int looks_like_date(const char *d) { /* YYYY-MM-DD at least: runs are ordered by this text */
    static const char shape[] = "dddd-dd-dd";
    for (int i = 0; shape[i]; i++)
        if (shape[i] == 'd' ? (d[i] < '0' || d[i] > '9') : d[i] != shape[i])
            return 0;
    return 1;
}

static int check_run(const nnb_store *s, const nnb_store_file *f, int i, char *err, size_t err_len) {
    const nnb_store_run *r = &f->runs[i];
    const char *missing = !r->machine  ? "machine"
                          : !r->runner ? "runner"
                          : !r->phase  ? "phase"
                          : !r->config ? "config"
                          : !r->unit   ? "unit"
                                       : NULL;
    if (missing)
        return nnb_store_fail(err, err_len, "store %s: run %d of %s has no %s", s->spec_shown, i, f->path, missing);
    if (r->sample_count < 0 || (r->sample_count > 0 && !r->samples))
        return nnb_store_fail(err, err_len, "store %s: run %d of %s has %d samples but no sample array", s->spec_shown,
                              i, f->path, r->sample_count);
    return 0;
}

int nnb_store_check_file(const nnb_store *s, const nnb_store_file *f, char *err, size_t err_len) {
    if (!s || !f)
        return nnb_store_fail(err, err_len, "nnb_store_add_file: no store or no file");
    const char *path = f->path ? f->path : "(a file without a path)";
    const char *missing = !f->sha256 || !*f->sha256 ? "sha256"
                          : !f->path                ? "path"
                          : !f->format              ? "format"
                          : !f->date                ? "date"
                                                    : NULL;
    if (missing)
        return nnb_store_fail(err, err_len, "store %s: %s has no %s", s->spec_shown, path, missing);
    if (!looks_like_date(f->date))
        return nnb_store_fail(err, err_len, "store %s: %s has the date '%s', not ISO-8601 (e.g. 2026-12-06T05:58:23Z)",
                              s->spec_shown, path, f->date);
    if (f->run_count < 0 || (f->run_count > 0 && !f->runs))
        return nnb_store_fail(err, err_len, "store %s: %s has %d runs but no run array", s->spec_shown, path,
                              f->run_count);
    for (int i = 0; i < f->run_count; i++)
        if (check_run(s, f, i, err, err_len) != 0)
            return -1;
    return 0;
}
