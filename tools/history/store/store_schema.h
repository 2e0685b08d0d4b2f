/*
 * The store's schema as migration steps, one per version, for each backend: step v-1 takes a store from
 * version v-1 to v (step 0 creates it from nothing). Steps only ever move forward; a new version appends a
 * step to both lists and bumps NNB_STORE_SCHEMA_VERSION in store.h. Both backends hold the same tables:
 *   meta(key, value)                       schema_version
 *   files(id, sha256 UNIQUE, path, format, commit_id, date, label, provenance, added_at)
 *   series(id, key UNIQUE, machine, runner, phase, config, unit, higher_is_better)
 *   runs(id, file_id -> files, series_id -> series, value, samples: little-endian doubles)
 */
#ifndef NNB_STORE_SCHEMA_H
#define NNB_STORE_SCHEMA_H

#include "store.h"

extern const char *const nnb_store_sqlite_migrations[NNB_STORE_SCHEMA_VERSION];
extern const char *const nnb_store_pg_migrations[NNB_STORE_SCHEMA_VERSION];

#endif
