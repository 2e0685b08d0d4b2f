/* The migration steps of store_schema.h. */
#include "store_schema.h"

const char *const nnb_store_sqlite_migrations[NNB_STORE_SCHEMA_VERSION] = {
    /* 1: the first schema. runs_by_series makes one series' points an index range. */
    "CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);"
    "CREATE TABLE files(id INTEGER PRIMARY KEY, sha256 TEXT NOT NULL UNIQUE, path TEXT NOT NULL,"
    " format TEXT NOT NULL, commit_id TEXT, date TEXT NOT NULL, label TEXT, provenance TEXT,"
    " added_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now')));"
    "CREATE TABLE series(id INTEGER PRIMARY KEY, key TEXT NOT NULL UNIQUE, machine TEXT NOT NULL,"
    " runner TEXT NOT NULL, phase TEXT NOT NULL, config TEXT NOT NULL, unit TEXT NOT NULL,"
    " higher_is_better INTEGER NOT NULL);"
    "CREATE TABLE runs(id INTEGER PRIMARY KEY, file_id INTEGER NOT NULL REFERENCES files(id),"
    " series_id INTEGER NOT NULL REFERENCES series(id), value REAL NOT NULL, samples BLOB);"
    "CREATE INDEX runs_by_series ON runs(series_id, file_id);"
    "CREATE INDEX runs_by_file ON runs(file_id);"
    "CREATE INDEX series_by_name ON series(runner, phase, key);",
};

const char *const nnb_store_pg_migrations[NNB_STORE_SCHEMA_VERSION] = {
    /* 1: the first schema, as for SQLite (bytea samples, text dates so both order alike). */
    "CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);"
    "CREATE TABLE files(id BIGSERIAL PRIMARY KEY, sha256 TEXT NOT NULL UNIQUE, path TEXT NOT NULL,"
    " format TEXT NOT NULL, commit_id TEXT, date TEXT NOT NULL, label TEXT, provenance TEXT,"
    " added_at TEXT NOT NULL DEFAULT to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'));"
    "CREATE TABLE series(id BIGSERIAL PRIMARY KEY, key TEXT NOT NULL UNIQUE, machine TEXT NOT NULL,"
    " runner TEXT NOT NULL, phase TEXT NOT NULL, config TEXT NOT NULL, unit TEXT NOT NULL,"
    " higher_is_better INTEGER NOT NULL);"
    "CREATE TABLE runs(id BIGSERIAL PRIMARY KEY, file_id BIGINT NOT NULL REFERENCES files(id),"
    " series_id BIGINT NOT NULL REFERENCES series(id), value DOUBLE PRECISION NOT NULL, samples BYTEA);"
    "CREATE INDEX runs_by_series ON runs(series_id, file_id);"
    "CREATE INDEX runs_by_file ON runs(file_id);"
    "CREATE INDEX series_by_name ON series(runner, phase, key);",
};
