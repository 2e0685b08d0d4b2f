/*
 * The results store behind `nnbench history` and `nnbench report --store`: one interface, two backends
 * with the same schema: an embedded SQLite file (the default; WAL mode and a busy timeout, so several
 * processes on one machine can add at once without losing a row) and PostgreSQL (spec
 * "postgresql://..." or "postgres://...", libpq) for a team or a cluster.
 *
 * Model: a FILE (one ingested result file, recognised by its content hash) holds RUNS; each run is one
 * measurement of one SERIES. A series is keyed by (machine, runner, phase, config), where machine and
 * config are canonical JSON strings (sorted keys, no blanks) made by the ingest step. A run keeps its
 * value (the median, or the statistic the phase names) and its samples.
 *
 * Errors: every function returning int returns 0 on success and -1 on error with a message in err that
 * names the store and the problem (and the fix where there is one); err may be NULL. Strings returned in
 * structs are owned by the struct and freed by the matching _free function.
 */
#ifndef NNB_STORE_H
#define NNB_STORE_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The schema this build writes. A store of a newer version is refused (open fails, the message names both
 * versions and says to use a newer nnbench); an older one is migrated forward in one transaction. */
#define NNB_STORE_SCHEMA_VERSION 1

typedef struct nnb_store nnb_store;

/* Opens (creating if missing) the store named by spec: a path to a SQLite file (its folder must exist:
 * a missing folder is an error naming it, nothing is created), or a postgresql:// / postgres:// URL. */
int nnb_store_open(const char *spec, nnb_store **out, char *err, size_t err_len);
void nnb_store_close(nnb_store *s);
/* "sqlite" or "postgresql". */
const char *nnb_store_backend(const nnb_store *s);
/* The schema version found in the store (after any migration). */
int nnb_store_schema_version(const nnb_store *s);

typedef struct nnb_store_run {
    const char *machine; /* canonical JSON: CPU model, GPU, threads, libraries and versions */
    const char *runner;
    const char *phase;  /* forward, backward, total; serve: p50, p99, throughput; ... */
    const char *config; /* canonical JSON: every setting that changes the work (sizes, fuser, dtype, ...) */
    const char *unit;   /* "ms", "req/s", ... */
    int higher_is_better;
    double value;          /* the run's median (or the phase's statistic) */
    const double *samples; /* may be NULL */
    int sample_count;
} nnb_store_run;

typedef struct nnb_store_file {
    const char *sha256;     /* hex content hash: the same file added twice is recognised */
    const char *path;       /* as given (shown, never reopened) */
    const char *format;     /* nnbench, sweep, serve, fastrnns-oss, pytest-benchmark */
    const char *commit;     /* may be NULL */
    const char *date;       /* ISO-8601 UTC, e.g. 2026-12-06T05:58:23Z (required: runs are ordered by it) */
    const char *label;      /* may be NULL */
    const char *provenance; /* JSON object: the file's context as read (may be NULL) */
    const nnb_store_run *runs;
    int run_count;
} nnb_store_file;

/* Adds a file and all its runs in ONE transaction: a failure or a killed process leaves the store as it
 * was. Returns 0 added, 1 already present (same sha256: nothing written), -1 error. */
int nnb_store_add_file(nnb_store *s, const nnb_store_file *f, char *err, size_t err_len);

typedef struct nnb_store_series {
    long long id;
    char *key; /* a short stable hex id of (machine, runner, phase, config) */
    char *machine, *runner, *phase, *config, *unit;
    int higher_is_better;
    int run_count;
    char *first_date, *last_date;
} nnb_store_series;

/* The series whose runner, phase, config, machine or key contains filter (case-insensitive; NULL or ""
 * for all), ordered by runner, phase, key. *out is NULL when *count is 0. */
int nnb_store_list_series(nnb_store *s, const char *filter, nnb_store_series **out, int *count, char *err,
                          size_t err_len);
void nnb_store_series_free(nnb_store_series *v, int count);

typedef struct nnb_store_point {
    long long file_id;
    char *commit, *date, *label, *path, *format;
    double value;
    double *samples; /* NULL when the run kept none */
    int sample_count;
} nnb_store_point;

/* The runs of one series, oldest first (by date, then by the order they were added); since: an
 * ISO-8601 date or NULL for all. */
int nnb_store_series_points(nnb_store *s, long long series_id, const char *since, nnb_store_point **out, int *count,
                            char *err, size_t err_len);
void nnb_store_points_free(nnb_store_point *v, int count);

/* Every series' runs in one pass (far faster than one nnb_store_series_points call per series over a large
 * store): one set per series that has runs since `since` (NULL for all), ordered by series id, each set's
 * points oldest first as in nnb_store_series_points. *out is NULL when *count is 0. */
typedef struct nnb_store_point_set {
    long long series_id;
    nnb_store_point *points;
    int count;
} nnb_store_point_set;
int nnb_store_all_points(nnb_store *s, const char *since, nnb_store_point_set **out, int *count, char *err,
                         size_t err_len);
void nnb_store_point_sets_free(nnb_store_point_set *v, int count);

/* The provenance JSON of one file (as added), or NULL with err set; caller frees. */
char *nnb_store_file_provenance(nnb_store *s, long long file_id, char *err, size_t err_len);

#ifdef __cplusplus
}
#endif
#endif
