/*
 * The PostgreSQL backend of store.h (libpq): the schema of store_schema.c, each file added in one
 * transaction. Concurrent adders are safe through the unique constraints: a file goes in with
 * INSERT ... ON CONFLICT (sha256) DO NOTHING (the second of two racing adders waits for the first and
 * then finds it there), series are created in key order (two adders never wait on each other in a
 * cycle), and a deadlock or serialization failure the server reports anyway is retried.
 */
#include "store_internal.h"
#include "store_schema.h"

#include <libpq-fe.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SCHEMA_LOCK_ID 7302119 /* pg_advisory_xact_lock key: one process at a time checks/creates the schema */
#define ADD_RETRIES 5

typedef struct pg_store {
    nnb_store base;
    PGconn *conn;
} pg_store;

/* The URL as shown in messages: a password in user:password@ or in password=... becomes ***. */
static char *mask_url(const char *url) {
    char *out = malloc(strlen(url) + 8), *o = out;
    if (!out)
        return NULL;
    const char *p = url, *scheme = strstr(url, "://");
    const char *auth = scheme ? scheme + 3 : url;
    const char *auth_end = auth + strcspn(auth, "/?#");
    const char *at = memchr(auth, '@', (size_t)(auth_end - auth));
    const char *colon = at ? memchr(auth, ':', (size_t)(at - auth)) : NULL;
    while (*p) {
        if (colon && p == colon + 1) {
            o += sprintf(o, "***"), p = at;
            continue;
        }
        if ((p > url && (p[-1] == '?' || p[-1] == '&')) && strncmp(p, "password=", 9) == 0) {
            o += sprintf(o, "password=***"), p += 9 + strcspn(p + 9, "&#");
            continue;
        }
        *o++ = *p++;
    }
    *o = 0;
    return out;
}

/* libpq's message on one line (it ends in a newline and may span several). */
static const char *pg_reason(const char *msg, char *buf, size_t len) {
    snprintf(buf, len, "%s", msg && *msg ? msg : "no reason given");
    for (char *c = buf; *c; c++)
        if (*c == '\n' || *c == '\t')
            *c = ' ';
    for (size_t n = strlen(buf); n > 0 && buf[n - 1] == ' '; n--)
        buf[n - 1] = 0;
    return buf;
}

static int pg_fail(pg_store *s, const PGresult *r, char *err, size_t err_len, const char *what) {
    char reason[768];
    const char *msg = r ? PQresultErrorMessage(r) : PQerrorMessage(s->conn);
    return nnb_store_fail(err, err_len, "store %s: %s: %s", s->base.spec_shown, what,
                          pg_reason(msg, reason, sizeof reason));
}

/* Runs sql with text parameters (a NULL value is SQL NULL; bin_param, when >= 0, is passed as bytes of
 * bin_len). Returns the result, or NULL with err set and *sqlstate (when given) the error's code. */
static PGresult *query(pg_store *s, const char *sql, int n, const char *const *values, int bin_param, int bin_len,
                       char *err, size_t err_len, const char *what, char *sqlstate) {
    int lengths[16] = {0}, formats[16] = {0};
    if (bin_param >= 0)
        lengths[bin_param] = bin_len, formats[bin_param] = 1;
    PGresult *r = PQexecParams(s->conn, sql, n, NULL, values, lengths, formats, 0);
    ExecStatusType st = PQresultStatus(r);
    if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK)
        return r;
    if (sqlstate) {
        const char *code = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;
        snprintf(sqlstate, 6, "%s", code ? code : "");
    }
    pg_fail(s, r, err, err_len, what);
    PQclear(r);
    return NULL;
}

/* One or more statements without parameters (PQexec: a migration step holds several). */
static int command(pg_store *s, const char *sql, char *err, size_t err_len, const char *what) {
    PGresult *r = PQexec(s->conn, sql);
    ExecStatusType st = PQresultStatus(r);
    int rc = st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK ? 0 : pg_fail(s, r, err, err_len, what);
    PQclear(r);
    return rc;
}

static void rollback(pg_store *s) { PQclear(PQexec(s->conn, "ROLLBACK")); }

static void pg_close(nnb_store *base) {
    pg_store *s = (pg_store *)base;
    PQfinish(s->conn);
    nnb_store_free_header(base);
    free(s);
}

static void no_notices(void *arg, const char *message) { (void)arg, (void)message; }

/* Inside the schema transaction: the version, 0 for an empty database, -1 (err set) if not a store. */
static int read_schema_version(pg_store *s, char *err, size_t err_len) {
    PGresult *r = query(s,
                        "SELECT (SELECT count(*) FROM information_schema.tables WHERE table_schema = current_schema()),"
                        " to_regclass('meta') IS NOT NULL",
                        0, NULL, -1, 0, err, err_len, "reading the schema", NULL);
    if (!r)
        return -1;
    long tables = atol(PQgetvalue(r, 0, 0));
    int has_meta = PQgetvalue(r, 0, 1)[0] == 't';
    PQclear(r);
    if (!has_meta)
        return tables == 0 ? 0
                           : nnb_store_fail(err, err_len,
                                            "store %s: the database has tables but no meta table: it is not an nnbench "
                                            "store; name an empty database (createdb) or an existing store",
                                            s->base.spec_shown);
    r = query(s, "SELECT value FROM meta WHERE key = 'schema_version'", 0, NULL, -1, 0, err, err_len,
              "reading the schema version", NULL);
    if (!r)
        return -1;
    int v = PQntuples(r) == 1 ? atoi(PQgetvalue(r, 0, 0)) : 0;
    PQclear(r);
    if (v <= 0)
        return nnb_store_fail(err, err_len, "store %s has a meta table without a schema_version: it is damaged",
                              s->base.spec_shown);
    return v;
}

static int migrate(pg_store *s, int from, char *err, size_t err_len) {
    for (int v = from + 1; v <= NNB_STORE_SCHEMA_VERSION; v++)
        if (command(s, nnb_store_pg_migrations[v - 1], err, err_len, "creating the schema") != 0)
            return -1;
    char version[16];
    snprintf(version, sizeof version, "%d", NNB_STORE_SCHEMA_VERSION);
    const char *values[] = {version};
    PGresult *r = query(s,
                        "INSERT INTO meta(key, value) VALUES('schema_version', $1)"
                        " ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                        1, values, -1, 0, err, err_len, "writing the schema version", NULL);
    PQclear(r);
    return r ? 0 : -1;
}

/* Under an advisory lock, so that processes opening a new database at once create the schema once. */
static int check_schema(pg_store *s, char *err, size_t err_len) {
    char lock[64];
    snprintf(lock, sizeof lock, "SELECT pg_advisory_xact_lock(%d)", SCHEMA_LOCK_ID);
    if (command(s, "BEGIN", err, err_len, "starting the schema check") != 0)
        return -1;
    int v = -1;
    if (command(s, lock, err, err_len, "locking the schema") == 0)
        v = read_schema_version(s, err, err_len);
    if (v >= 0 && v < NNB_STORE_SCHEMA_VERSION && migrate(s, v, err, err_len) != 0)
        v = -1;
    if (v < 0 || command(s, "COMMIT", err, err_len, "committing the schema") != 0) {
        rollback(s);
        return -1;
    }
    v = v < NNB_STORE_SCHEMA_VERSION ? NNB_STORE_SCHEMA_VERSION : v;
    if (v > NNB_STORE_SCHEMA_VERSION)
        return nnb_store_fail(err, err_len,
                              "store %s: this store has schema %d, this nnbench writes %d: use a newer nnbench",
                              s->base.spec_shown, v, NNB_STORE_SCHEMA_VERSION);
    s->base.schema_version = v;
    return 0;
}

extern const nnb_store_backend_ops nnb_store_pg_ops;

int nnb_store_pg_open(const char *url, nnb_store **out, char *err, size_t err_len) {
    pg_store *s = calloc(1, sizeof *s);
    char *shown = mask_url(url);
    if (!s || !shown || nnb_store_init_header(&s->base, &nnb_store_pg_ops, shown) != 0) {
        free(s), free(shown);
        return nnb_store_fail(err, err_len, "store: out of memory");
    }
    free(shown);
    /* The URL's own settings come after (and so override) these defaults: a host that never answers is
     * given up after 10 s instead of hanging the command. */
    const char *const keys[] = {"connect_timeout", "fallback_application_name", "dbname", NULL};
    const char *const values[] = {"10", "nnbench", url, NULL};
    s->conn = PQconnectdbParams(keys, values, 1);
    if (!s->conn || PQstatus(s->conn) != CONNECTION_OK) {
        char reason[768];
        nnb_store_fail(err, err_len, "store %s: cannot connect to PostgreSQL: %s", s->base.spec_shown,
                       pg_reason(s->conn ? PQerrorMessage(s->conn) : "out of memory", reason, sizeof reason));
        pg_close(&s->base);
        return -1;
    }
    PQsetNoticeProcessor(s->conn, no_notices, NULL);
    if (command(s, "SET extra_float_digits = 3", err, err_len, "setting up the session") != 0 ||
        check_schema(s, err, err_len) != 0) {
        pg_close(&s->base);
        return -1;
    }
    *out = &s->base;
    return 0;
}

typedef struct key_index {
    char key[NNB_STORE_KEY_LEN + 1];
    int run;
} key_index;

static int by_key(const void *a, const void *b) {
    return strcmp(((const key_index *)a)->key, ((const key_index *)b)->key);
}

/* The id of r's series, creating it if new, and its unit as stored (*unit, a copy); -1 with err (and
 * sqlstate) set on error. */
static long long series_id(pg_store *s, const nnb_store_run *r, const char *key, char **unit, char *err, size_t err_len,
                           char *sqlstate) {
    const char *values[] = {key, r->machine, r->runner, r->phase, r->config, r->unit, r->higher_is_better ? "1" : "0"};
    PGresult *res = query(s,
                          "INSERT INTO series(key, machine, runner, phase, config, unit, higher_is_better)"
                          " VALUES($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (key) DO NOTHING RETURNING id",
                          7, values, -1, 0, err, err_len, "adding a series", sqlstate);
    if (res && PQntuples(res) == 0) { /* there already: a new statement sees a row another adder just committed */
        PQclear(res);
        res = query(s, "SELECT id, unit FROM series WHERE key = $1", 1, values, -1, 0, err, err_len, "finding a series",
                    sqlstate);
        *unit = res && PQntuples(res) == 1 ? nnb_store_strdup(PQgetvalue(res, 0, 1)) : NULL;
    } else {
        *unit = nnb_store_strdup(r->unit);
    }
    long long id = res && PQntuples(res) == 1 && *unit ? atoll(PQgetvalue(res, 0, 0)) : -1;
    if (res && id < 0)
        nnb_store_fail(err, err_len, "store %s: series %s vanished while adding", s->base.spec_shown, key);
    PQclear(res);
    return id;
}

/* found[i] = the id of sorted key i when the store has that series already (one query for all), else -1;
 * units[i] its unit (a copy; only for the first of equal keys). */
static int existing_series(pg_store *s, const key_index *k, int n, long long *found, char **units, char *err,
                           size_t err_len, char *sqlstate) {
    char *list = malloc((size_t)n * (NNB_STORE_KEY_LEN + 1) + 3), *o = list;
    if (!list)
        return nnb_store_fail(err, err_len, "store %s: out of memory", s->base.spec_shown);
    *o++ = '{';
    for (int i = 0; i < n; i++) {
        found[i] = -1, units[i] = NULL;
        o += sprintf(o, "%s%s", i ? "," : "", k[i].key); /* hex: nothing to quote */
    }
    strcpy(o, "}");
    const char *values[] = {list};
    PGresult *r = query(s, "SELECT key, id, unit FROM series WHERE key = ANY($1::text[])", 1, values, -1, 0, err,
                        err_len, "finding the series", sqlstate);
    free(list);
    if (!r)
        return -1;
    for (int row = 0; row < PQntuples(r); row++) {
        key_index probe;
        snprintf(probe.key, sizeof probe.key, "%s", PQgetvalue(r, row, 0));
        const key_index *hit = bsearch(&probe, k, (size_t)n, sizeof *k, by_key);
        while (hit && hit > k && strcmp(hit[-1].key, hit->key) == 0)
            hit--; /* the first of equal keys */
        if (hit) {
            found[hit - k] = atoll(PQgetvalue(r, row, 1));
            units[hit - k] = nnb_store_strdup(PQgetvalue(r, row, 2));
        }
    }
    PQclear(r);
    return 0;
}

/* ids[i] = the series of run i: those there already found with one query, the new ones created in key
 * order (so that two adders never wait on each other's new series in a cycle). */
static int series_ids(pg_store *s, const nnb_store_file *f, long long *ids, char *err, size_t err_len, char *sqlstate) {
    int n = f->run_count;
    key_index *k = malloc((size_t)n * sizeof *k);
    long long *found = malloc((size_t)n * sizeof *found);
    char **units = calloc((size_t)n, sizeof *units);
    int rc = k && found && units ? 0 : nnb_store_fail(err, err_len, "store %s: out of memory", s->base.spec_shown);
    for (int i = 0; rc == 0 && i < n; i++) {
        nnb_store_series_key(&f->runs[i], k[i].key);
        k[i].run = i;
    }
    if (rc == 0) {
        qsort(k, (size_t)n, sizeof *k, by_key);
        rc = existing_series(s, k, n, found, units, err, err_len, sqlstate);
    }
    const char *unit = NULL; /* the stored unit of the current key */
    for (int i = 0; i < n && rc == 0; i++) {
        const nnb_store_run *r = &f->runs[k[i].run];
        if (i > 0 && strcmp(k[i].key, k[i - 1].key) == 0)
            found[i] = found[i - 1];
        else if (found[i] < 0 && (found[i] = series_id(s, r, k[i].key, &units[i], err, err_len, sqlstate)) < 0)
            rc = -1;
        unit = units[i] ? units[i] : unit;
        if (rc == 0)
            rc = nnb_store_check_unit(&s->base, f->path, k[i].run, r, unit, err, err_len);
        ids[k[i].run] = found[i];
    }
    for (int i = 0; units && i < n; i++)
        free(units[i]);
    free(k), free(found), free(units);
    return rc;
}

#define RUNS_PER_INSERT 250

/* One INSERT of runs [from, to): $1 file id, $2 date, then series id, value and samples per run. */
static int insert_runs(pg_store *s, const nnb_store_file *f, const char *file_id, const long long *ids, int from,
                       int to, char *err, size_t err_len, char *sqlstate) {
    int m = to - from, np = 2 + 3 * m, rc = 0;
    const char **values = calloc((size_t)np, sizeof *values);
    int *lengths = calloc((size_t)np, sizeof *lengths), *formats = calloc((size_t)np, sizeof *formats);
    char *text = malloc((size_t)m * 64), *sql = malloc((size_t)m * 48 + 96);
    if (!values || !lengths || !formats || !text || !sql)
        rc = nnb_store_fail(err, err_len, "store %s: out of memory", s->base.spec_shown);
    char *o = sql;
    if (rc == 0) {
        values[0] = file_id, values[1] = f->date;
        o += sprintf(o, "INSERT INTO runs(file_id, series_id, date, value, samples) VALUES");
    }
    for (int j = 0; rc == 0 && j < m; j++) {
        const nnb_store_run *r = &f->runs[from + j];
        char *sid = text + (size_t)j * 64, *value = sid + 24;
        int p = 2 + 3 * j; /* 0-based index of this run's series id */
        snprintf(sid, 24, "%lld", ids[from + j]);
        snprintf(value, 40, "%.17g", r->value);
        values[p] = sid, values[p + 1] = value;
        values[p + 2] = (const char *)nnb_store_encode_samples(r->samples, r->sample_count);
        lengths[p + 2] = r->sample_count * 8, formats[p + 2] = 1;
        if (r->sample_count > 0 && !values[p + 2])
            rc = nnb_store_fail(err, err_len, "store %s: out of memory", s->base.spec_shown);
        o += sprintf(o, "%s($1,$%d,$2,$%d,$%d)", j ? "," : "", p + 1, p + 2, p + 3);
    }
    if (rc == 0) {
        PGresult *res = PQexecParams(s->conn, sql, np, NULL, values, lengths, formats, 0);
        if (PQresultStatus(res) != PGRES_COMMAND_OK) {
            const char *code = PQresultErrorField(res, PG_DIAG_SQLSTATE);
            snprintf(sqlstate, 6, "%s", code ? code : "");
            rc = pg_fail(s, res, err, err_len, "adding runs");
        }
        PQclear(res);
    }
    for (int j = 0; values && j < m; j++)
        free((void *)values[2 + 3 * j + 2]);
    free(values), free(lengths), free(formats), free(text), free(sql);
    return rc;
}

static int add_runs(pg_store *s, const nnb_store_file *f, const char *file_id, const long long *ids, char *err,
                    size_t err_len, char *sqlstate) {
    for (int from = 0; from < f->run_count; from += RUNS_PER_INSERT) {
        int to = from + RUNS_PER_INSERT < f->run_count ? from + RUNS_PER_INSERT : f->run_count;
        if (insert_runs(s, f, file_id, ids, from, to, err, err_len, sqlstate) != 0)
            return -1;
        for (int i = from; i < to; i++)
            if (nnb_store_after_run_hook && nnb_store_after_run_hook(i) != 0)
                return nnb_store_fail(err, err_len, "store %s: injected failure after run %d", s->base.spec_shown, i);
    }
    return 0;
}

/* Inside the transaction: 1 when the file is there already, 0 once it and its runs are written, -1 error. */
static int add_in_transaction(pg_store *s, const nnb_store_file *f, long long *ids, char *err, size_t err_len,
                              char *sqlstate) {
    const char *values[] = {f->sha256, f->path, f->format, f->commit, f->date, f->label, f->provenance};
    PGresult *r = query(s,
                        "INSERT INTO files(sha256, path, format, commit_id, date, label, provenance)"
                        " VALUES($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (sha256) DO NOTHING RETURNING id",
                        7, values, -1, 0, err, err_len, "adding the file", sqlstate);
    if (!r)
        return -1;
    if (PQntuples(r) == 0) {
        PQclear(r);
        return 1;
    }
    char file_id[32];
    snprintf(file_id, sizeof file_id, "%s", PQgetvalue(r, 0, 0));
    PQclear(r);
    if (series_ids(s, f, ids, err, err_len, sqlstate) != 0)
        return -1;
    return add_runs(s, f, file_id, ids, err, err_len, sqlstate);
}

static int pg_add_file(nnb_store *base, const nnb_store_file *f, char *err, size_t err_len) {
    pg_store *s = (pg_store *)base;
    long long *ids = malloc(((size_t)f->run_count + 1) * sizeof *ids);
    if (!ids)
        return nnb_store_fail(err, err_len, "store %s: out of memory", s->base.spec_shown);
    int rc = -1;
    for (int attempt = 0; attempt < ADD_RETRIES; attempt++) {
        char sqlstate[6] = "";
        if (command(s, "BEGIN", err, err_len, "starting to add a file") != 0)
            break;
        rc = add_in_transaction(s, f, ids, err, err_len, sqlstate);
        if (rc == 0 && command(s, "COMMIT", err, err_len, "committing the file") == 0)
            break;
        rollback(s);
        if (rc == 0) /* the commit failed */
            rc = -1;
        if (rc == 1 || (strcmp(sqlstate, "40P01") != 0 && strcmp(sqlstate, "40001") != 0))
            break; /* only a deadlock or a serialization failure is worth another try */
    }
    free(ids);
    return rc;
}

static char *column(const PGresult *r, int row, int c) {
    return PQgetisnull(r, row, c) ? NULL : nnb_store_strdup(PQgetvalue(r, row, c));
}

static int pg_list_series(nnb_store *base, const char *filter, nnb_store_series **out, int *count, char *err,
                          size_t err_len) {
    pg_store *s = (pg_store *)base;
    const char *values[] = {filter};
    PGresult *r = query(s,
                        "SELECT s.id, s.key, s.machine, s.runner, s.phase, s.config, s.unit, s.higher_is_better,"
                        " c.n, c.first, c.last FROM series s JOIN (SELECT series_id, count(*) AS n, min(date) AS first,"
                        " max(date) AS last FROM runs GROUP BY series_id) c ON c.series_id = s.id"
                        " WHERE $1::text IS NULL OR strpos(lower(s.runner), lower($1)) > 0"
                        " OR strpos(lower(s.phase), lower($1)) > 0 OR strpos(lower(s.config), lower($1)) > 0"
                        " OR strpos(lower(s.machine), lower($1)) > 0 OR strpos(lower(s.key), lower($1)) > 0"
                        " ORDER BY s.runner COLLATE \"C\", s.phase COLLATE \"C\", s.key COLLATE \"C\"",
                        1, values, -1, 0, err, err_len, "listing the series", NULL);
    if (!r)
        return -1;
    int n = PQntuples(r);
    nnb_store_series *v = n ? calloc((size_t)n, sizeof *v) : NULL;
    if (n && !v) {
        PQclear(r);
        return nnb_store_fail(err, err_len, "store %s: out of memory", s->base.spec_shown);
    }
    for (int i = 0; i < n; i++) {
        nnb_store_series *e = &v[i];
        e->id = atoll(PQgetvalue(r, i, 0));
        e->key = column(r, i, 1), e->machine = column(r, i, 2), e->runner = column(r, i, 3);
        e->phase = column(r, i, 4), e->config = column(r, i, 5), e->unit = column(r, i, 6);
        e->higher_is_better = atoi(PQgetvalue(r, i, 7)), e->run_count = atoi(PQgetvalue(r, i, 8));
        e->first_date = column(r, i, 9), e->last_date = column(r, i, 10);
    }
    PQclear(r);
    *out = v, *count = n;
    return 0;
}

/* Columns from c: file_id, commit_id, date, label, path, format, value, samples (bytea, text form). */
static int fill_point(const PGresult *r, int row, int c, nnb_store_point *p) {
    p->file_id = atoll(PQgetvalue(r, row, c));
    p->commit = column(r, row, c + 1), p->date = column(r, row, c + 2), p->label = column(r, row, c + 3);
    p->path = column(r, row, c + 4), p->format = column(r, row, c + 5);
    p->value = strtod(PQgetvalue(r, row, c + 6), NULL);
    if (PQgetisnull(r, row, c + 7))
        return 0;
    size_t len = 0;
    unsigned char *bytes = PQunescapeBytea((const unsigned char *)PQgetvalue(r, row, c + 7), &len);
    int rc = bytes ? nnb_store_decode_samples(bytes, len, &p->samples, &p->sample_count) : -1;
    PQfreemem(bytes);
    return rc;
}

#define POINT_COLUMNS "r.file_id, f.commit_id, r.date, f.label, f.path, f.format, r.value, r.samples"

static int pg_series_points(nnb_store *base, long long series_id, const char *since, nnb_store_point **out, int *count,
                            char *err, size_t err_len) {
    pg_store *s = (pg_store *)base;
    char id[32];
    snprintf(id, sizeof id, "%lld", series_id);
    const char *values[] = {id, since};
    PGresult *r = query(s,
                        "SELECT " POINT_COLUMNS " FROM runs r JOIN files f ON f.id = r.file_id"
                        " WHERE r.series_id = $1 AND ($2::text IS NULL OR r.date >= $2) ORDER BY r.date, r.id",
                        2, values, -1, 0, err, err_len, "reading a series", NULL);
    if (!r)
        return -1;
    int n = PQntuples(r), bad = 0;
    nnb_store_point *v = n ? calloc((size_t)n, sizeof *v) : NULL;
    bad = n && !v;
    for (int i = 0; i < n && !bad; i++)
        bad = fill_point(r, i, 0, &v[i]) != 0;
    PQclear(r);
    if (bad) {
        nnb_store_points_free(v, n);
        return nnb_store_fail(err, err_len, "store %s: out of memory or damaged samples", s->base.spec_shown);
    }
    *out = v, *count = n;
    return 0;
}

static int pg_all_points(nnb_store *base, const char *since, nnb_store_point_set **out, int *count, char *err,
                         size_t err_len) {
    pg_store *s = (pg_store *)base;
    const char *values[] = {since};
    PGresult *r = query(s,
                        "SELECT r.series_id, " POINT_COLUMNS " FROM runs r JOIN files f ON f.id = r.file_id"
                        " WHERE $1::text IS NULL OR r.date >= $1 ORDER BY r.series_id, r.date, r.id",
                        1, values, -1, 0, err, err_len, "reading the series", NULL);
    if (!r)
        return -1;
    int rows = PQntuples(r), n = 0, cap = 0, bad = 0;
    nnb_store_point_set *sets = NULL;
    for (int i = 0; i < rows && !bad; i++) {
        long long sid = atoll(PQgetvalue(r, i, 0));
        if (n == 0 || sets[n - 1].series_id != sid) {
            int end = i; /* the rows of this series: size its points at once */
            while (end < rows && atoll(PQgetvalue(r, end, 0)) == sid)
                end++;
            bad = nnb_store_grow((void **)&sets, &cap, n, sizeof *sets) != 0;
            if (!bad) {
                sets[n++] = (nnb_store_point_set){.series_id = sid,
                                                  .points = calloc((size_t)(end - i), sizeof(nnb_store_point))};
                bad = !sets[n - 1].points;
            }
        }
        if (!bad) {
            nnb_store_point_set *set = &sets[n - 1];
            bad = fill_point(r, i, 1, &set->points[set->count++]) != 0;
        }
    }
    PQclear(r);
    if (bad) {
        nnb_store_point_sets_free(sets, n);
        return nnb_store_fail(err, err_len, "store %s: out of memory or damaged samples", s->base.spec_shown);
    }
    *out = sets, *count = n;
    return 0;
}

static char *pg_file_provenance(nnb_store *base, long long file_id, char *err, size_t err_len) {
    pg_store *s = (pg_store *)base;
    char id[32];
    snprintf(id, sizeof id, "%lld", file_id);
    const char *values[] = {id};
    PGresult *r = query(s, "SELECT provenance FROM files WHERE id = $1", 1, values, -1, 0, err, err_len,
                        "reading a file's provenance", NULL);
    if (!r)
        return NULL;
    char *v = NULL;
    if (PQntuples(r) == 0)
        nnb_store_fail(err, err_len, "store %s has no file %lld", s->base.spec_shown, file_id);
    else if (PQgetisnull(r, 0, 0))
        nnb_store_fail(err, err_len, "store %s: file %lld was added without provenance", s->base.spec_shown, file_id);
    else
        v = column(r, 0, 0);
    PQclear(r);
    return v;
}

const nnb_store_backend_ops nnb_store_pg_ops = {
    .name = "postgresql",
    .close = pg_close,
    .add_file = pg_add_file,
    .list_series = pg_list_series,
    .series_points = pg_series_points,
    .all_points = pg_all_points,
    .file_provenance = pg_file_provenance,
};
