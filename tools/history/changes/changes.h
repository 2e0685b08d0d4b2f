/*
 * `nnbench history changes` (docs/history-changes.md): the parts of the subcommand, internal to
 * tools/history/changes. The method is stats/changepoint.h; the store is store/store.h.
 */
#ifndef NNB_HISTORY_CHANGES_H
#define NNB_HISTORY_CHANGES_H

#include "changepoint.h"
#include "store.h"

#include <stdio.h>

typedef struct changes_cli {
    const char *store;  /* --store, default NNB_HISTORY_DEFAULT_STORE */
    const char *series; /* --series FILTER, NULL for all */
    const char *since;  /* --since DATE (validated ISO-8601), NULL for all */
    int json, help;
    double fail_above; /* --fail-above R, 0 when not given */
    nnb_cp_options cp; /* --window, --max-p, --min-size */
} changes_cli;

void changes_usage(FILE *f);

/* argv[0..argc) are the words after `changes`. 0, or -1 with a message naming the flag and the fix. */
int changes_parse_args(int argc, char **argv, changes_cli *cli, char *err, size_t err_len);

/* Is text an ISO-8601 date (YYYY-MM-DD, optionally THH:MM[:SS[.fff]][Z], UTC)? */
int changes_is_iso_date(const char *text);

/* "Confirmed": the pooled samples of up to CHANGES_CONFIRM_RUNS runs either side of a change pass a
 * one-sided Mann-Whitney rank-sum test in the change's direction at p < CHANGES_CONFIRM_P (the one-sided
 * level of a two-sided 95% interval). */
#define CHANGES_CONFIRM_RUNS 3
#define CHANGES_CONFIRM_P 0.025
typedef enum { CONFIRM_NO_SAMPLES, CONFIRM_NOT, CONFIRM_YES } confirm_state;

typedef struct change_row {
    const nnb_store_series *series;
    const nnb_store_point *before, *after; /* the last run before the change and the first after it */
    int runs;                              /* the points of the series that were searched */
    nnb_change_point cp;
    int latest; /* the series' last change */
    int fails;  /* latest, a slowdown beyond --fail-above */
    confirm_state confirm;
    double confirm_ratio; /* median(after) / median(before) of the pooled samples (NaN: a median <= 0) */
    double confirm_p;     /* the rank-sum test's one-sided p-value (NaN: too few samples) */
    int samples_before, samples_after;
} change_row;

typedef struct changes_report {
    const changes_cli *cli;
    const char *backend;
    int series_count;
    const change_row *rows;
    int row_count;
} changes_report;

/* One-sided Mann-Whitney rank-sum test (normal approximation, tie and continuity corrections): the p-value
 * of "after lies above before" (rose) or "below" (!rose); 1 when all samples are equal, NaN when a side is
 * empty or out of memory. */
double changes_rank_sum_p(const double *before, int nb, const double *after, int na, int rose);

/* Fills row's confirm, confirm_ratio, confirm_p and sample counts from the runs p of its series. */
void changes_confirm(const nnb_store_point *p, change_row *row);

void changes_print_text(FILE *f, const changes_report *r);
/* -1 out of memory. */
int changes_print_json(FILE *f, const changes_report *r);

#endif
