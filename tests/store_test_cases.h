/*
 * The store cases both backends must pass (store_should_keep_runs_once on SQLite, store_should_work_on_postgresql
 * on a throw-away PostgreSQL): each takes the spec of a fresh, empty store and records its checks.
 */
#ifndef NNB_STORE_TEST_CASES_H
#define NNB_STORE_TEST_CASES_H

#include "store.h"

/* Add/list/points/provenance round trip with exact values and samples, order by date, since, filters. */
void store_case_round_trip(const char *spec);
/* The same file twice: 1 and nothing written. */
void store_case_duplicate(const char *spec);
/* A failure injected after half the runs, and a process killed (SIGKILL) in the middle of adding a file:
 * the store is as it was, and the file can be added afterwards. */
void store_case_interrupted(const char *spec);
/* 8 processes add distinct files at once, two of them also the same file: every run present exactly once. */
void store_case_concurrent(const char *spec);

/* Runs and files in the store (through nnb_store_all_points); -1 when it cannot be read. */
long long store_count_runs(const char *spec, long long *files);

#endif
