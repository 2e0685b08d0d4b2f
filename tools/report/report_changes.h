/*
 * The change points nnbench report marks on a store's series (docs/report.md). The report does not choose
 * a method: it calls the finder set here. The default finder is stats/changepoint's with its defaults
 * (report_changepoint.c), the method of `nnbench history changes`; with the finder set to NULL the series
 * pages say that no change-point method is wired in and mark nothing. Tests set their own.
 */
#ifndef NNB_REPORT_CHANGES_H
#define NNB_REPORT_CHANGES_H

/* Finds change points in values[0..n) (a series' run values, oldest first; higher_is_better as the
 * series says). Writes at most max indexes to at, each i (1 <= i < n) the first run after a change,
 * ascending; returns how many, or -1 on error (the page then says the method failed). ctx is the
 * pointer given to nnb_report_set_change_finder. */
typedef int (*nnb_report_change_finder)(const double *values, int n, int higher_is_better, int *at, int max, void *ctx);

/* Sets the finder used from then on (NULL: none). Not thread-safe: call before nnb_report_main. */
void nnb_report_set_change_finder(nnb_report_change_finder finder, void *ctx);

#endif
