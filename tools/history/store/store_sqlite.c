/*
 * The SQLite backend of store.h: one file, WAL mode (readers never block the writer), a 30 s busy timeout
 * and BEGIN IMMEDIATE write transactions, so several processes on one machine add at once and each waits
 * its turn instead of failing or losing a row.
 */
#include "store_internal.h"
#include "store_schema.h"

#include <sqlite3.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define BUSY_TIMEOUT_MS 30000

typedef struct sqlite_store {
    nnb_store base;
    sqlite3 *db;
} sqlite_store;

static int db_fail(sqlite_store *s, char *err, size_t err_len, const char *what) {
    return nnb_store_fail(err, err_len, "store %s: %s: %s", s->base.spec_shown, what, sqlite3_errmsg(s->db));
}

static int exec_sql(sqlite_store *s, const char *sql, char *err, size_t err_len, const char *what) {
    if (sqlite3_exec(s->db, sql, NULL, NULL, NULL) != SQLITE_OK)
        return db_fail(s, err, err_len, what);
    return 0;
}

static void rollback(sqlite_store *s) { sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL); }

static int prepare(sqlite_store *s, const char *sql, sqlite3_stmt **st, char *err, size_t err_len) {
    if (sqlite3_prepare_v2(s->db, sql, -1, st, NULL) != SQLITE_OK)
        return db_fail(s, err, err_len, "preparing a query");
    return 0;
}

/* One integer from a query without parameters; -1 on error. */
static long long query_int(sqlite_store *s, const char *sql, char *err, size_t err_len) {
    sqlite3_stmt *st;
    if (prepare(s, sql, &st, err, err_len) != 0)
        return -1;
    long long v = -1;
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        v = sqlite3_column_int64(st, 0);
    else if (rc == SQLITE_DONE)
        v = 0;
    else
        db_fail(s, err, err_len, "reading the store");
    sqlite3_finalize(st);
    return v;
}

/* The schema version in the file: 0 for an empty database, -1 (err set) for anything that is not a store. */
static int read_schema_version(sqlite_store *s, char *err, size_t err_len) {
    long long tables = query_int(s, "SELECT count(*) FROM sqlite_master WHERE type = 'table'", err, err_len);
    if (tables < 0) {
        if (sqlite3_errcode(s->db) == SQLITE_NOTADB)
            nnb_store_fail(err, err_len,
                           "store %s is not an nnbench store (SQLite: %s): name a new file or an existing store",
                           s->base.spec_shown, sqlite3_errmsg(s->db));
        return -1;
    }
    if (tables == 0)
        return 0;
    long long meta =
        query_int(s, "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'meta'", err, err_len);
    if (meta < 0)
        return -1;
    if (meta == 0)
        return nnb_store_fail(err, err_len,
                              "store %s is a SQLite database but not an nnbench store (it has no meta table): "
                              "name a new file or an existing store",
                              s->base.spec_shown);
    long long v = query_int(s, "SELECT CAST(value AS INTEGER) FROM meta WHERE key = 'schema_version'", err, err_len);
    if (v == 0)
        return nnb_store_fail(err, err_len, "store %s has a meta table without a schema_version: it is damaged",
                              s->base.spec_shown);
    return (int)v;
}

static int migrate(sqlite_store *s, int from, char *err, size_t err_len) {
    for (int v = from + 1; v <= NNB_STORE_SCHEMA_VERSION; v++)
        if (exec_sql(s, nnb_store_sqlite_migrations[v - 1], err, err_len, "creating the schema") != 0)
            return -1;
    char sql[128];
    snprintf(sql, sizeof sql, "INSERT OR REPLACE INTO meta(key, value) VALUES('schema_version', '%d')",
             NNB_STORE_SCHEMA_VERSION);
    return exec_sql(s, sql, err, err_len, "writing the schema version");
}

/* Reads the version; a newer store is refused, an older (or empty) one migrated in one write transaction,
 * re-reading the version under the write lock (another process may have just done it). */
static int check_schema(sqlite_store *s, char *err, size_t err_len) {
    int v = read_schema_version(s, err, err_len);
    if (v < 0)
        return -1;
    if (v < NNB_STORE_SCHEMA_VERSION) {
        if (exec_sql(s, "BEGIN IMMEDIATE", err, err_len, "starting the schema update") != 0)
            return -1;
        v = read_schema_version(s, err, err_len);
        if (v < 0 || (v < NNB_STORE_SCHEMA_VERSION && migrate(s, v, err, err_len) != 0)) {
            rollback(s);
            return -1;
        }
        if (exec_sql(s, "COMMIT", err, err_len, "committing the schema") != 0) {
            rollback(s);
            return -1;
        }
        v = v < NNB_STORE_SCHEMA_VERSION ? NNB_STORE_SCHEMA_VERSION : v;
    }
    if (v > NNB_STORE_SCHEMA_VERSION)
        return nnb_store_fail(err, err_len,
                              "store %s: this store has schema %d, this nnbench writes %d: use a newer "
                              "nnbench",
                              s->base.spec_shown, v, NNB_STORE_SCHEMA_VERSION);
    s->base.schema_version = v;
    return 0;
}

static int check_folder(const char *path, char *err, size_t err_len) {
    const char *slash = strrchr(path, '/');
    struct stat st;
    if (stat(path, &st) == 0 && S_ISDIR(st.st_mode))
        return nnb_store_fail(err, err_len, "store %s is a folder: name a file in it (e.g. %s/history.db)", path, path);
    if (!slash)
        return 0;
    size_t n = slash == path ? 1 : (size_t)(slash - path);
    char *dir = malloc(n + 1);
    if (!dir)
        return nnb_store_fail(err, err_len, "store %s: out of memory", path);
    memcpy(dir, path, n), dir[n] = 0;
    int rc = 0;
    if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode))
        rc = nnb_store_fail(err, err_len, "store %s: the folder %s does not exist: create it first (mkdir -p %s)", path,
                            dir, dir);
    free(dir);
    return rc;
}

static void sqlite_close(nnb_store *base) {
    sqlite_store *s = (sqlite_store *)base;
    sqlite3_close(s->db);
    nnb_store_free_header(base);
    free(s);
}

/* WAL mode is switched on once per file; another process switching it at the same moment may hold the lock
 * for longer than the busy handler's first answer, so this retries while the database is busy. */
static int enable_wal(sqlite_store *s, char *err, size_t err_len) {
    for (int tries = 0;; tries++) {
        int rc = sqlite3_exec(s->db, "PRAGMA journal_mode = WAL", NULL, NULL, NULL);
        if (rc == SQLITE_OK)
            return 0;
        if ((rc != SQLITE_BUSY && rc != SQLITE_LOCKED) || tries >= 100)
            return db_fail(s, err, err_len, "switching to WAL mode");
        sqlite3_sleep(100);
    }
}

extern const nnb_store_backend_ops nnb_store_sqlite_ops;

int nnb_store_sqlite_open(const char *path, nnb_store **out, char *err, size_t err_len) {
    if (check_folder(path, err, err_len) != 0)
        return -1;
    sqlite_store *s = calloc(1, sizeof *s);
    if (!s || nnb_store_init_header(&s->base, &nnb_store_sqlite_ops, path) != 0) {
        free(s);
        return nnb_store_fail(err, err_len, "store %s: out of memory", path);
    }
    int rc = sqlite3_open_v2(path, &s->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL);
    if (rc != SQLITE_OK) {
        nnb_store_fail(err, err_len, "store %s: cannot open it: %s", path,
                       s->db ? sqlite3_errmsg(s->db) : sqlite3_errstr(rc));
        sqlite_close(&s->base);
        return -1;
    }
    sqlite3_busy_timeout(s->db, BUSY_TIMEOUT_MS);
    if (read_schema_version(s, err, err_len) < 0 || enable_wal(s, err, err_len) != 0 ||
        exec_sql(s, "PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON", err, err_len, "setting it up") != 0 ||
        check_schema(s, err, err_len) != 0) {
        sqlite_close(&s->base);
        return -1;
    }
    *out = &s->base;
    return 0;
}

static int bind_text(sqlite3_stmt *st, int i, const char *v) {
    return v ? sqlite3_bind_text(st, i, v, -1, SQLITE_STATIC) : sqlite3_bind_null(st, i);
}

/* Steps a write statement to its end; the statement is reset either way. */
static int step_done(sqlite_store *s, sqlite3_stmt *st, char *err, size_t err_len, const char *what) {
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    return rc == SQLITE_DONE ? 0 : db_fail(s, err, err_len, what);
}

typedef struct add_stmts {
    sqlite3_stmt *find_file, *insert_file, *insert_series, *find_series, *insert_run;
} add_stmts;

static void finalize_add(add_stmts *a) {
    sqlite3_finalize(a->find_file), sqlite3_finalize(a->insert_file), sqlite3_finalize(a->insert_series);
    sqlite3_finalize(a->find_series), sqlite3_finalize(a->insert_run);
}

static int prepare_add(sqlite_store *s, add_stmts *a, char *err, size_t err_len) {
    memset(a, 0, sizeof *a);
    if (prepare(s, "SELECT id FROM files WHERE sha256 = ?1", &a->find_file, err, err_len) ||
        prepare(s,
                "INSERT INTO files(sha256, path, format, commit_id, date, label, provenance) "
                "VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                &a->insert_file, err, err_len) ||
        prepare(s,
                "INSERT OR IGNORE INTO series(key, machine, runner, phase, config, unit, higher_is_better) "
                "VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                &a->insert_series, err, err_len) ||
        prepare(s, "SELECT id FROM series WHERE key = ?1", &a->find_series, err, err_len) ||
        prepare(s, "INSERT INTO runs(file_id, series_id, value, samples) VALUES(?1, ?2, ?3, ?4)", &a->insert_run, err,
                err_len)) {
        finalize_add(a);
        return -1;
    }
    return 0;
}

/* The id of the series of r, created if new; -1 on error. */
static long long series_id(sqlite_store *s, add_stmts *a, const nnb_store_run *r, char *err, size_t err_len) {
    char key[NNB_STORE_KEY_LEN + 1];
    nnb_store_series_key(r, key);
    sqlite3_stmt *st = a->insert_series;
    bind_text(st, 1, key), bind_text(st, 2, r->machine), bind_text(st, 3, r->runner), bind_text(st, 4, r->phase);
    bind_text(st, 5, r->config), bind_text(st, 6, r->unit), sqlite3_bind_int(st, 7, r->higher_is_better != 0);
    if (step_done(s, st, err, err_len, "adding a series") != 0)
        return -1;
    bind_text(a->find_series, 1, key);
    long long id = sqlite3_step(a->find_series) == SQLITE_ROW ? sqlite3_column_int64(a->find_series, 0) : -1;
    sqlite3_reset(a->find_series);
    if (id < 0)
        db_fail(s, err, err_len, "finding a series");
    return id;
}

static int add_run(sqlite_store *s, add_stmts *a, long long file_id, const nnb_store_run *r, char *err,
                   size_t err_len) {
    long long sid = series_id(s, a, r, err, err_len);
    if (sid < 0)
        return -1;
    unsigned char *blob = nnb_store_encode_samples(r->samples, r->sample_count);
    if (r->sample_count > 0 && !blob)
        return nnb_store_fail(err, err_len, "store %s: out of memory", s->base.spec_shown);
    sqlite3_stmt *st = a->insert_run;
    sqlite3_bind_int64(st, 1, file_id), sqlite3_bind_int64(st, 2, sid), sqlite3_bind_double(st, 3, r->value);
    if (blob)
        sqlite3_bind_blob(st, 4, blob, r->sample_count * 8, SQLITE_STATIC);
    else
        sqlite3_bind_null(st, 4);
    int rc = step_done(s, st, err, err_len, "adding a run");
    free(blob);
    return rc;
}

/* Inside the transaction: 1 when the file is there already, 0 once it and its runs are written, -1 error. */
static int add_in_transaction(sqlite_store *s, add_stmts *a, const nnb_store_file *f, char *err, size_t err_len) {
    bind_text(a->find_file, 1, f->sha256);
    int rc = sqlite3_step(a->find_file);
    sqlite3_reset(a->find_file);
    if (rc == SQLITE_ROW)
        return 1;
    if (rc != SQLITE_DONE)
        return db_fail(s, err, err_len, "looking the file up");
    sqlite3_stmt *st = a->insert_file;
    bind_text(st, 1, f->sha256), bind_text(st, 2, f->path), bind_text(st, 3, f->format), bind_text(st, 4, f->commit);
    bind_text(st, 5, f->date), bind_text(st, 6, f->label), bind_text(st, 7, f->provenance);
    if (step_done(s, st, err, err_len, "adding the file") != 0)
        return -1;
    long long file_id = sqlite3_last_insert_rowid(s->db);
    for (int i = 0; i < f->run_count; i++) {
        if (add_run(s, a, file_id, &f->runs[i], err, err_len) != 0)
            return -1;
        if (nnb_store_after_run_hook && nnb_store_after_run_hook(i) != 0)
            return nnb_store_fail(err, err_len, "store %s: injected failure after run %d", s->base.spec_shown, i);
    }
    return 0;
}

static int sqlite_add_file(nnb_store *base, const nnb_store_file *f, char *err, size_t err_len) {
    sqlite_store *s = (sqlite_store *)base;
    add_stmts a;
    if (prepare_add(s, &a, err, err_len) != 0)
        return -1;
    if (exec_sql(s, "BEGIN IMMEDIATE", err, err_len, "starting to add a file") != 0) {
        finalize_add(&a);
        return -1;
    }
    int rc = add_in_transaction(s, &a, f, err, err_len);
    finalize_add(&a);
    if (rc != 0) {
        rollback(s);
        return rc;
    }
    if (exec_sql(s, "COMMIT", err, err_len, "committing the file") != 0) {
        rollback(s);
        return -1;
    }
    return 0;
}

static char *column_text(sqlite3_stmt *st, int i) { return nnb_store_strdup((const char *)sqlite3_column_text(st, i)); }

static int sqlite_list_series(nnb_store *base, const char *filter, nnb_store_series **out, int *count, char *err,
                              size_t err_len) {
    sqlite_store *s = (sqlite_store *)base;
    sqlite3_stmt *st;
    if (prepare(s,
                "SELECT s.id, s.key, s.machine, s.runner, s.phase, s.config, s.unit, s.higher_is_better,"
                " count(r.id), min(f.date), max(f.date)"
                " FROM series s JOIN runs r ON r.series_id = s.id JOIN files f ON f.id = r.file_id"
                " WHERE ?1 IS NULL OR instr(lower(s.runner), lower(?1)) OR instr(lower(s.phase), lower(?1))"
                " OR instr(lower(s.config), lower(?1)) OR instr(lower(s.machine), lower(?1))"
                " OR instr(lower(s.key), lower(?1))"
                " GROUP BY s.id ORDER BY s.runner, s.phase, s.key",
                &st, err, err_len) != 0)
        return -1;
    bind_text(st, 1, filter);
    nnb_store_series *v = NULL;
    int n = 0, cap = 0, rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (nnb_store_grow((void **)&v, &cap, n, sizeof *v) != 0)
            break;
        nnb_store_series *e = &v[n++];
        e->id = sqlite3_column_int64(st, 0);
        e->key = column_text(st, 1), e->machine = column_text(st, 2), e->runner = column_text(st, 3);
        e->phase = column_text(st, 4), e->config = column_text(st, 5), e->unit = column_text(st, 6);
        e->higher_is_better = sqlite3_column_int(st, 7), e->run_count = sqlite3_column_int(st, 8);
        e->first_date = column_text(st, 9), e->last_date = column_text(st, 10);
    }
    if (rc != SQLITE_DONE) {
        rc == SQLITE_ROW ? nnb_store_fail(err, err_len, "store %s: out of memory", s->base.spec_shown)
                         : db_fail(s, err, err_len, "listing the series");
        sqlite3_finalize(st);
        nnb_store_series_free(v, n);
        return -1;
    }
    sqlite3_finalize(st);
    *out = n ? v : (free(v), NULL), *count = n;
    return 0;
}

/* Columns from col: file_id, commit_id, date, label, path, format, value, samples. */
static int fill_point(sqlite3_stmt *st, int col, nnb_store_point *p) {
    p->file_id = sqlite3_column_int64(st, col);
    p->commit = column_text(st, col + 1), p->date = column_text(st, col + 2), p->label = column_text(st, col + 3);
    p->path = column_text(st, col + 4), p->format = column_text(st, col + 5);
    p->value = sqlite3_column_double(st, col + 6);
    const void *blob = sqlite3_column_blob(st, col + 7);
    return nnb_store_decode_samples(blob, (size_t)sqlite3_column_bytes(st, col + 7), &p->samples, &p->sample_count);
}

#define POINT_COLUMNS "r.file_id, f.commit_id, f.date, f.label, f.path, f.format, r.value, r.samples"

static int sqlite_series_points(nnb_store *base, long long series_id, const char *since, nnb_store_point **out,
                                int *count, char *err, size_t err_len) {
    sqlite_store *s = (sqlite_store *)base;
    sqlite3_stmt *st;
    if (prepare(s,
                "SELECT " POINT_COLUMNS " FROM runs r JOIN files f ON f.id = r.file_id"
                " WHERE r.series_id = ?1 AND (?2 IS NULL OR f.date >= ?2) ORDER BY f.date, r.id",
                &st, err, err_len) != 0)
        return -1;
    sqlite3_bind_int64(st, 1, series_id);
    bind_text(st, 2, since);
    nnb_store_point *v = NULL;
    int n = 0, cap = 0, rc, bad = 0;
    while (!bad && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        bad = nnb_store_grow((void **)&v, &cap, n, sizeof *v) != 0 || fill_point(st, 0, &v[n++]) != 0;
    }
    if (bad || rc != SQLITE_DONE) {
        bad ? nnb_store_fail(err, err_len, "store %s: out of memory or damaged samples", s->base.spec_shown)
            : db_fail(s, err, err_len, "reading a series");
        sqlite3_finalize(st);
        nnb_store_points_free(v, n);
        return -1;
    }
    sqlite3_finalize(st);
    *out = n ? v : (free(v), NULL), *count = n;
    return 0;
}

/* Appends the row's point to the last set, or to a new set when the row starts another series. */
static int add_to_sets(sqlite3_stmt *st, nnb_store_point_set **sets, int *n, int *cap, int *pcap) {
    long long sid = sqlite3_column_int64(st, 0);
    if (*n == 0 || (*sets)[*n - 1].series_id != sid) {
        if (nnb_store_grow((void **)sets, cap, *n, sizeof **sets) != 0)
            return -1;
        (*sets)[(*n)++] = (nnb_store_point_set){.series_id = sid};
        *pcap = 0;
    }
    nnb_store_point_set *set = &(*sets)[*n - 1];
    if (nnb_store_grow((void **)&set->points, pcap, set->count, sizeof *set->points) != 0)
        return -1;
    return fill_point(st, 1, &set->points[set->count++]);
}

static int sqlite_all_points(nnb_store *base, const char *since, nnb_store_point_set **out, int *count, char *err,
                             size_t err_len) {
    sqlite_store *s = (sqlite_store *)base;
    sqlite3_stmt *st;
    if (prepare(s,
                "SELECT r.series_id, " POINT_COLUMNS " FROM runs r JOIN files f ON f.id = r.file_id"
                " WHERE ?1 IS NULL OR f.date >= ?1 ORDER BY r.series_id, f.date, r.id",
                &st, err, err_len) != 0)
        return -1;
    bind_text(st, 1, since);
    nnb_store_point_set *sets = NULL;
    int n = 0, cap = 0, pcap = 0, rc, bad = 0;
    while (!bad && (rc = sqlite3_step(st)) == SQLITE_ROW)
        bad = add_to_sets(st, &sets, &n, &cap, &pcap) != 0;
    if (bad || rc != SQLITE_DONE) {
        bad ? nnb_store_fail(err, err_len, "store %s: out of memory or damaged samples", s->base.spec_shown)
            : db_fail(s, err, err_len, "reading the series");
        sqlite3_finalize(st);
        nnb_store_point_sets_free(sets, n);
        return -1;
    }
    sqlite3_finalize(st);
    *out = n ? sets : (free(sets), NULL), *count = n;
    return 0;
}

static char *sqlite_file_provenance(nnb_store *base, long long file_id, char *err, size_t err_len) {
    sqlite_store *s = (sqlite_store *)base;
    sqlite3_stmt *st;
    if (prepare(s, "SELECT provenance FROM files WHERE id = ?1", &st, err, err_len) != 0)
        return NULL;
    sqlite3_bind_int64(st, 1, file_id);
    char *v = NULL;
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW && sqlite3_column_type(st, 0) != SQLITE_NULL)
        v = column_text(st, 0);
    else if (rc == SQLITE_ROW)
        nnb_store_fail(err, err_len, "store %s: file %lld was added without provenance", s->base.spec_shown, file_id);
    else if (rc == SQLITE_DONE)
        nnb_store_fail(err, err_len, "store %s has no file %lld", s->base.spec_shown, file_id);
    else
        db_fail(s, err, err_len, "reading a file's provenance");
    sqlite3_finalize(st);
    return v;
}

const nnb_store_backend_ops nnb_store_sqlite_ops = {
    .name = "sqlite",
    .close = sqlite_close,
    .add_file = sqlite_add_file,
    .list_series = sqlite_list_series,
    .series_points = sqlite_series_points,
    .all_points = sqlite_all_points,
    .file_provenance = sqlite_file_provenance,
};
