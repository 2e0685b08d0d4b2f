/* `nnbench history changes`: every matching series of the store through stats/changepoint, then a table
 * or JSON, and exit 4 under --fail-above when a series' latest change is a slowdown beyond it. */
#include "changes.h"
#include "history.h"

#include "exit_codes.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define PROG "nnbench history changes"

/* The latest change of a series is a slowdown whose interval lies wholly beyond --fail-above. */
static int beyond(const change_row *row, double fail_above) {
    if (fail_above <= 0 || !row->cp.slowdown)
        return 0;
    return row->series->higher_is_better ? row->cp.magnitude_hi < 1 / fail_above : row->cp.magnitude_lo > fail_above;
}

/* Appends the changes of one series to *rows; -1 with a message on failure. */
static int series_changes(const changes_cli *cli, const nnb_store_series *s, const nnb_store_point_set *sp,
                          change_row **rows, int *count, int *cap) {
    double *values = malloc(sizeof(double) * (size_t)(sp->count > 0 ? sp->count : 1));
    if (!values)
        return fprintf(stderr, PROG ": out of memory\n"), -1;
    for (int i = 0; i < sp->count; i++)
        values[i] = sp->points[i].value;
    nnb_change_point *cp;
    int k;
    char err[256];
    int rc = nnb_changepoints(values, sp->count, &cli->cp, s->higher_is_better, &cp, &k, err, sizeof err);
    free(values);
    if (rc)
        return fprintf(stderr, PROG ": series %s (%s %s): %s\n", s->key, s->runner, s->phase, err), -1;
    if (*count + k > *cap) {
        int grown = (*count + k) * 2;
        change_row *r = realloc(*rows, sizeof **rows * (size_t)grown);
        if (!r)
            return free(cp), fprintf(stderr, PROG ": out of memory\n"), -1;
        *rows = r, *cap = grown;
    }
    for (int i = 0; i < k; i++) {
        change_row *row = &(*rows)[(*count)++];
        memset(row, 0, sizeof *row);
        row->series = s, row->cp = cp[i], row->runs = sp->count, row->latest = i == k - 1;
        row->before = &sp->points[cp[i].index - 1], row->after = &sp->points[cp[i].index];
        changes_confirm(sp->points, row);
        row->fails = row->latest && beyond(row, cli->fail_above);
    }
    free(cp);
    return 0;
}

static int is_url(const char *spec) { return !strncmp(spec, "postgresql://", 13) || !strncmp(spec, "postgres://", 11); }

/* Opens the store; a SQLite file that is not there is an error here (opening would create it). */
static nnb_store *open_store(const char *spec) {
    char err[512];
    nnb_store *store = NULL;
    if (!is_url(spec) && access(spec, F_OK) != 0) {
        fprintf(stderr,
                PROG ": no store at '%s' (add results first: nnbench history add --store %s FILE..., or name "
                     "the store with --store)\n",
                spec, spec);
        return NULL;
    }
    if (nnb_store_open(spec, &store, err, sizeof err)) {
        fprintf(stderr, PROG ": %s\n", err);
        return NULL;
    }
    return store;
}

/* The point set of series id in sets (ordered by series id), or an empty one. */
static nnb_store_point_set points_of(const nnb_store_point_set *sets, int n, long long id) {
    int lo = 0, hi = n;
    while (lo < hi) {
        int mid = (lo + hi) / 2;
        *(sets[mid].series_id < id ? &lo : &hi) = sets[mid].series_id < id ? mid + 1 : mid;
    }
    return lo < n && sets[lo].series_id == id ? sets[lo] : (nnb_store_point_set){id, NULL, 0};
}

static int run_changes(const changes_cli *cli, nnb_store *store) {
    nnb_store_series *series = NULL;
    nnb_store_point_set *sets = NULL;
    int series_count = 0, set_count = 0, row_count = 0, cap = 0, rc = NNB_EXIT_OK;
    char err[512];
    if (nnb_store_list_series(store, cli->series, &series, &series_count, err, sizeof err))
        return fprintf(stderr, PROG ": %s\n", err), NNB_EXIT_FAILED;
    if (series_count == 0 && cli->series && *cli->series) {
        fprintf(stderr, PROG ": no series matches --series '%s' (nnbench history list shows them)\n", cli->series);
        return NNB_EXIT_USAGE;
    }
    if (series_count > 0 && nnb_store_all_points(store, cli->since, &sets, &set_count, err, sizeof err)) {
        nnb_store_series_free(series, series_count);
        return fprintf(stderr, PROG ": %s\n", err), NNB_EXIT_FAILED;
    }
    /* One call for every series' runs: far faster than a query per series over a large store. */
    nnb_store_point_set *points = calloc((size_t)(series_count > 0 ? series_count : 1), sizeof *points);
    change_row *rows = NULL;
    if (!points)
        rc = NNB_EXIT_FAILED, fprintf(stderr, PROG ": out of memory\n");
    for (int i = 0; rc == NNB_EXIT_OK && i < series_count; i++) {
        points[i] = points_of(sets, set_count, series[i].id);
        if (series_changes(cli, &series[i], &points[i], &rows, &row_count, &cap))
            rc = NNB_EXIT_FAILED;
    }
    if (rc == NNB_EXIT_OK) {
        changes_report report = {cli, nnb_store_backend(store), series_count, rows, row_count};
        if (cli->json ? changes_print_json(stdout, &report) : (changes_print_text(stdout, &report), 0))
            rc = NNB_EXIT_FAILED, fprintf(stderr, PROG ": out of memory\n");
        for (int i = 0; rc == NNB_EXIT_OK && i < row_count; i++)
            if (rows[i].fails)
                rc = NNB_EXIT_REGRESSION;
    }
    free(points), free(rows);
    nnb_store_point_sets_free(sets, set_count);
    nnb_store_series_free(series, series_count);
    return rc;
}

int nnb_history_changes_main(int argc, char **argv) {
    changes_cli cli;
    char err[512];
    if (changes_parse_args(argc, argv, &cli, err, sizeof err)) {
        fprintf(stderr, PROG ": %s\n", err);
        return NNB_EXIT_USAGE;
    }
    if (cli.help) {
        changes_usage(stdout);
        return NNB_EXIT_OK;
    }
    nnb_store *store = open_store(cli.store);
    if (!store)
        return NNB_EXIT_USAGE;
    int rc = run_changes(&cli, store);
    nnb_store_close(store);
    if (rc == NNB_EXIT_REGRESSION)
        fprintf(stderr, PROG ": --fail-above %g: the latest change of a series is a slowdown beyond it (exit 4)\n",
                cli.fail_above);
    return rc;
}
