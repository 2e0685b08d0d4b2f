/* The store cases of store_test_cases.h. */
#define _POSIX_C_SOURCE 200809L
#include "store_test_cases.h"
#include "store_internal.h"
#include "test_support.h"

#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define M1 "{\"cpu\":\"Xeon\"}"
#define ATEN_CONFIG "{\"hidden\":512}"
/* FNV-1a 64 of M1, aten_lstm, forward, ATEN_CONFIG each with its 0 byte, computed outside the project
 * (Python): keys live in stores, so they must never change between versions. */
#define ATEN_KEY "736d32aa0d4c8089"

static nnb_store *open_or_fail(const char *spec) {
    char err[1024];
    nnb_store *s = NULL;
    int rc = nnb_store_open(spec, &s, err, sizeof err);
    CHECK_MSG(rc == 0 && s, "open %s: %s", spec, err);
    return rc == 0 ? s : NULL;
}

long long store_count_runs(const char *spec, long long *files) {
    char err[1024];
    nnb_store *s = open_or_fail(spec);
    if (!s)
        return -1;
    nnb_store_point_set *sets;
    int n;
    if (nnb_store_all_points(s, NULL, &sets, &n, err, sizeof err) != 0) {
        CHECK_MSG(0, "all_points: %s", err);
        nnb_store_close(s);
        return -1;
    }
    long long runs = 0, distinct = 0;
    long long *ids = NULL;
    int cap = 0;
    for (int i = 0; i < n; i++)
        for (int j = 0; j < sets[i].count; j++, runs++) {
            int seen = 0;
            for (long long k = 0; k < distinct && !seen; k++)
                seen = ids[k] == sets[i].points[j].file_id;
            if (!seen && nnb_store_grow((void **)&ids, &cap, (int)distinct, sizeof *ids) == 0)
                ids[distinct++] = sets[i].points[j].file_id;
        }
    free(ids);
    nnb_store_point_sets_free(sets, n);
    nnb_store_close(s);
    if (files)
        *files = distinct;
    return runs;
}

static const double aten_samples[] = {1.0, 1.25, 1.5};
static const double cudnn_samples[] = {3.0, 2.9999999999999996, 0.1, -0.0, 1e-300};
static const nnb_store_run runs_a[] = {
    {M1, "aten_lstm", "forward", ATEN_CONFIG, "ms", 0, 1.25, aten_samples, 3},
    {M1, "aten_lstm", "forward", ATEN_CONFIG, "ms", 0, 1.5, NULL, 0},
    {M1, "cudnn_lstm", "backward", "{\"hidden\":1024}", "ms", 0, 3.0, cudnn_samples, 5},
    {M1, "serve", "throughput", "{\"batch\":8}", "req/s", 1, 1234.5678901234567, NULL, 0},
};
static const nnb_store_run runs_b[] = {{M1, "aten_lstm", "forward", ATEN_CONFIG, "ms", 0, 0.1, NULL, 0}};
static const nnb_store_file file_a = {"aaaa0001", "results/a.json",    "nnbench", "c0ffee", "2026-12-02T03:00:00Z",
                                      "nightly",  "{\"host\":\"n1\"}", runs_a,    4};
static const nnb_store_file file_b = {"bbbb0002", "results/b.json", "sweep", NULL, "2026-12-01T03:00:00Z", NULL,
                                      NULL,       runs_b,           1};

static int same_str(const char *a, const char *b) { return (!a && !b) || (a && b && strcmp(a, b) == 0); }

static void check_series_list(nnb_store *s) {
    char err[1024];
    nnb_store_series *v;
    int n;
    CHECK_MSG(nnb_store_list_series(s, NULL, &v, &n, err, sizeof err) == 0, "list: %s", err);
    CHECK_MSG(n == 3, "3 series, got %d", n);
    if (n != 3) {
        nnb_store_series_free(v, n);
        return;
    }
    CHECK(strcmp(v[0].runner, "aten_lstm") == 0 && strcmp(v[1].runner, "cudnn_lstm") == 0);
    CHECK(strcmp(v[2].runner, "serve") == 0 && strcmp(v[2].phase, "throughput") == 0);
    CHECK_MSG(strcmp(v[0].key, ATEN_KEY) == 0, "the key of (M1, aten_lstm, forward, hidden 512): %s", v[0].key);
    CHECK(strcmp(v[0].machine, M1) == 0 && strcmp(v[0].config, ATEN_CONFIG) == 0 && strcmp(v[0].unit, "ms") == 0);
    CHECK(v[0].run_count == 3 && v[1].run_count == 1 && v[2].run_count == 1);
    CHECK(strcmp(v[0].first_date, file_b.date) == 0 && strcmp(v[0].last_date, file_a.date) == 0);
    CHECK(v[2].higher_is_better == 1 && v[0].higher_is_better == 0 && strcmp(v[2].unit, "req/s") == 0);
    CHECK(strlen(v[1].key) == 16 && strcmp(v[1].key, v[0].key) != 0 && strcmp(v[1].key, v[2].key) != 0);
    char serve_key[17];
    memcpy(serve_key, v[2].key, 17);
    nnb_store_series_free(v, n);
    const char *filters[] = {"CUDNN", "hidden\":512", serve_key, "ThroughPut", "xeon", "no such thing"};
    const int expect[] = {1, 1, 1, 1, 3, 0};
    for (int i = 0; i < 6; i++) {
        CHECK_MSG(nnb_store_list_series(s, filters[i], &v, &n, err, sizeof err) == 0, "list %s: %s", filters[i], err);
        CHECK_MSG(n == expect[i], "filter '%s': %d series, expected %d", filters[i], n, expect[i]);
        CHECK(n > 0 || v == NULL);
        nnb_store_series_free(v, n);
    }
}

static void check_point(const nnb_store_point *p, const nnb_store_file *f, const nnb_store_run *r) {
    CHECK_MSG(p->value == r->value, "value %.17g, added %.17g", p->value, r->value);
    CHECK(same_str(p->commit, f->commit) && same_str(p->date, f->date) && same_str(p->label, f->label));
    CHECK(same_str(p->path, f->path) && same_str(p->format, f->format));
    CHECK_MSG(p->sample_count == r->sample_count, "%d samples, added %d", p->sample_count, r->sample_count);
    CHECK(r->sample_count > 0 ? p->samples != NULL : p->samples == NULL);
    for (int i = 0; p->samples && i < p->sample_count && i < r->sample_count; i++)
        CHECK_MSG(memcmp(&p->samples[i], &r->samples[i], sizeof(double)) == 0, "sample %d: %.17g, added %.17g", i,
                  p->samples[i], r->samples[i]);
}

static void check_points(nnb_store *s) {
    char err[1024];
    nnb_store_series *v;
    int n;
    if (nnb_store_list_series(s, "aten", &v, &n, err, sizeof err) != 0 || n != 1) {
        CHECK_MSG(0, "no aten series: %s", err);
        return;
    }
    long long aten = v[0].id;
    nnb_store_series_free(v, n);
    nnb_store_point *p;
    int c;
    CHECK_MSG(nnb_store_series_points(s, aten, NULL, &p, &c, err, sizeof err) == 0, "points: %s", err);
    CHECK_MSG(c == 3, "3 aten points, got %d", c);
    if (c == 3) { /* oldest first: b (added last, dated first), then a's two runs in the order added */
        check_point(&p[0], &file_b, &runs_b[0]), check_point(&p[1], &file_a, &runs_a[0]);
        check_point(&p[2], &file_a, &runs_a[1]);
        CHECK(p[1].file_id == p[2].file_id && p[0].file_id != p[1].file_id);
        char *prov = nnb_store_file_provenance(s, p[1].file_id, err, sizeof err);
        CHECK_MSG(prov && strcmp(prov, file_a.provenance) == 0, "provenance %s", prov ? prov : err);
        free(prov);
        CHECK(nnb_store_file_provenance(s, p[0].file_id, err, sizeof err) == NULL);
        CHECK(nnb_store_file_provenance(s, 999999, err, sizeof err) == NULL);
        CHECK_STR_CONTAINS(err, "no file 999999");
    }
    nnb_store_points_free(p, c);
    CHECK(nnb_store_series_points(s, aten, "2026-12-02", &p, &c, err, sizeof err) == 0 && c == 2);
    nnb_store_points_free(p, c);
    CHECK(nnb_store_series_points(s, aten, "2027-01-01", &p, &c, err, sizeof err) == 0 && c == 0 && !p);
}

static void check_all_points(nnb_store *s) {
    char err[1024];
    nnb_store_point_set *sets;
    int n;
    CHECK_MSG(nnb_store_all_points(s, NULL, &sets, &n, err, sizeof err) == 0, "all_points: %s", err);
    CHECK_MSG(n == 3, "3 sets, got %d", n);
    for (int i = 1; i < n; i++)
        CHECK(sets[i - 1].series_id < sets[i].series_id);
    if (n == 3) { /* series ids follow the order series were first added: aten, cudnn, serve */
        CHECK(sets[0].count == 3 && sets[1].count == 1 && sets[2].count == 1);
        check_point(&sets[0].points[0], &file_b, &runs_b[0]), check_point(&sets[0].points[2], &file_a, &runs_a[1]);
        check_point(&sets[1].points[0], &file_a, &runs_a[2]), check_point(&sets[2].points[0], &file_a, &runs_a[3]);
    }
    nnb_store_point_sets_free(sets, n);
    CHECK(nnb_store_all_points(s, "2026-12-02T00:00:00Z", &sets, &n, err, sizeof err) == 0 && n == 3 &&
          sets[0].count == 2);
    nnb_store_point_sets_free(sets, n);
}

void store_case_round_trip(const char *spec) {
    char err[1024];
    nnb_store *s = open_or_fail(spec);
    if (!s)
        return;
    CHECK(nnb_store_schema_version(s) == NNB_STORE_SCHEMA_VERSION);
    CHECK_MSG(nnb_store_add_file(s, &file_a, err, sizeof err) == 0, "add a: %s", err);
    CHECK_MSG(nnb_store_add_file(s, &file_b, err, sizeof err) == 0, "add b: %s", err);
    nnb_store_file bad = file_b;
    bad.sha256 = "cccc", bad.date = "yesterday";
    CHECK(nnb_store_add_file(s, &bad, err, sizeof err) == -1);
    CHECK_STR_CONTAINS(err, "not ISO-8601");
    nnb_store_close(s);
    s = open_or_fail(spec); /* what follows reads what an earlier process wrote */
    if (!s)
        return;
    check_series_list(s);
    check_points(s);
    check_all_points(s);
    nnb_store_close(s);
}

void store_case_duplicate(const char *spec) {
    char err[1024];
    long long files0, runs0 = store_count_runs(spec, &files0);
    nnb_store *s = open_or_fail(spec);
    if (!s)
        return;
    nnb_store_file again = file_a;
    again.path = "elsewhere/a-copy.json"; /* the same content under another name */
    CHECK_MSG(nnb_store_add_file(s, &again, err, sizeof err) == 1, "the same file again: 1 (%s)", err);
    nnb_store_close(s);
    long long files1, runs1 = store_count_runs(spec, &files1);
    CHECK_MSG(runs1 == runs0 && files1 == files0, "runs %lld -> %lld, files %lld -> %lld", runs0, runs1, files0,
              files1);
}

/* A file of many runs (over 20 series, 50 samples each), big enough to be killed half-way through. */
#define BIG_RUNS 2000
static nnb_store_file big_file(nnb_store_run *runs, double *samples) {
    static const char *configs[20] = {"{\"n\":0}",  "{\"n\":1}",  "{\"n\":2}",  "{\"n\":3}",  "{\"n\":4}",
                                      "{\"n\":5}",  "{\"n\":6}",  "{\"n\":7}",  "{\"n\":8}",  "{\"n\":9}",
                                      "{\"n\":10}", "{\"n\":11}", "{\"n\":12}", "{\"n\":13}", "{\"n\":14}",
                                      "{\"n\":15}", "{\"n\":16}", "{\"n\":17}", "{\"n\":18}", "{\"n\":19}"};
    for (int i = 0; i < 50; i++)
        samples[i] = 0.5 + i;
    for (int i = 0; i < BIG_RUNS; i++)
        runs[i] = (nnb_store_run){"{\"cpu\":\"big\"}", "big_runner", "total", configs[i % 20], "ms", 0, i, samples, 50};
    return (nnb_store_file){"bigf11e", "results/big.json", "nnbench", "beef", "2026-12-03T00:00:00Z", "big", "{}", runs,
                            BIG_RUNS};
}

static int fail_half_way(int run_index) { return run_index == BIG_RUNS / 2; }
static int die_half_way(int run_index) {
    if (run_index == BIG_RUNS / 2)
        raise(SIGKILL);
    return 0;
}

static void check_unchanged(const char *spec, long long runs0, long long files0, const char *after) {
    long long files, runs = store_count_runs(spec, &files);
    CHECK_MSG(runs == runs0 && files == files0, "after %s: runs %lld -> %lld, files %lld -> %lld", after, runs0, runs,
              files0, files);
}

void store_case_interrupted(const char *spec) {
    static nnb_store_run runs[BIG_RUNS];
    static double samples[50];
    nnb_store_file big = big_file(runs, samples);
    char err[1024];
    long long files0, runs0 = store_count_runs(spec, &files0);
    nnb_store *s = open_or_fail(spec);
    if (!s)
        return;
    nnb_store_after_run_hook = fail_half_way;
    CHECK(nnb_store_add_file(s, &big, err, sizeof err) == -1);
    nnb_store_after_run_hook = NULL;
    CHECK_STR_CONTAINS(err, "injected failure");
    nnb_store_close(s);
    check_unchanged(spec, runs0, files0, "a failure half-way");

    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        nnb_store *c;
        nnb_store_after_run_hook = die_half_way;
        if (nnb_store_open(spec, &c, err, sizeof err) != 0 || nnb_store_add_file(c, &big, err, sizeof err) != 0)
            fprintf(stderr, "child: %s\n", err);
        _exit(3); /* not reached when the kill came */
    }
    int status = 0;
    waitpid(pid, &status, 0);
    CHECK_MSG(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL, "the child was killed half-way (status %#x)", status);
    check_unchanged(spec, runs0, files0, "a process killed half-way");

    s = open_or_fail(spec);
    if (!s)
        return;
    CHECK_MSG(nnb_store_add_file(s, &big, err, sizeof err) == 0, "add after the kill: %s", err);
    nnb_store_close(s);
    long long files, total = store_count_runs(spec, &files);
    CHECK_MSG(total == runs0 + BIG_RUNS && files == files0 + 1, "then added: %lld runs, %lld files", total, files);
}

#define WRITERS 8
#define FILES_PER_WRITER 4
#define RUNS_PER_FILE 25

static int add_files_of_writer(nnb_store *s, int k) {
    char err[1024], sha[32], path[64];
    nnb_store_run runs[RUNS_PER_FILE];
    static const char *configs[] = {"{\"c\":0}", "{\"c\":1}", "{\"c\":2}", "{\"c\":3}", "{\"c\":4}"};
    for (int f = 0; f < FILES_PER_WRITER; f++) {
        for (int r = 0; r < RUNS_PER_FILE; r++)
            runs[r] = (nnb_store_run){"{\"cpu\":\"many\"}",
                                      r % 2 ? "w_odd" : "w_even",
                                      "forward",
                                      configs[r % 5],
                                      "ms",
                                      0,
                                      k * 10000 + f * 100 + r,
                                      NULL,
                                      0};
        snprintf(sha, sizeof sha, "writer%d-file%d", k, f);
        snprintf(path, sizeof path, "w%d/f%d.json", k, f);
        nnb_store_file file = {sha, path, "nnbench", NULL, "2026-12-04T00:00:00Z", NULL, NULL, runs, RUNS_PER_FILE};
        if (nnb_store_add_file(s, &file, err, sizeof err) != 0) {
            fprintf(stderr, "writer %d, file %d: %s\n", k, f, err);
            return -1;
        }
    }
    return 0;
}

/* One writer process: waits for the start, adds its files (writers 0 and 1 also the shared one) and exits
 * 0 (shared file not tried), 10 (added it), 11 (found it there) or 1 (an error, on stderr). */
static void writer(const char *spec, int k, int start_fd) {
    char go, err[1024];
    if (read(start_fd, &go, 1) < 0)
        _exit(1);
    nnb_store *s;
    if (nnb_store_open(spec, &s, err, sizeof err) != 0) {
        fprintf(stderr, "writer %d: %s\n", k, err);
        _exit(1);
    }
    int code = add_files_of_writer(s, k) == 0 ? 0 : 1;
    if (code == 0 && k < 2) {
        nnb_store_run run = {"{\"cpu\":\"many\"}", "w_shared", "forward", "{}", "ms", 0, 99999, NULL, 0};
        nnb_store_file shared = {"shared-file", "shared.json", "nnbench", NULL, "2026-12-04T00:00:00Z",
                                 NULL,          NULL,          &run,      1};
        int rc = nnb_store_add_file(s, &shared, err, sizeof err);
        code = rc == 0 ? 10 : rc == 1 ? 11 : 1;
        if (rc < 0)
            fprintf(stderr, "writer %d, shared file: %s\n", k, err);
    }
    nnb_store_close(s);
    _exit(code);
}

static int compare_doubles(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static void check_every_run_once(const char *spec) {
    char err[1024];
    nnb_store *s = open_or_fail(spec);
    if (!s)
        return;
    nnb_store_point_set *sets;
    int n;
    CHECK_MSG(nnb_store_all_points(s, NULL, &sets, &n, err, sizeof err) == 0, "all_points: %s", err);
    enum { EXPECTED = WRITERS * FILES_PER_WRITER * RUNS_PER_FILE + 1 };
    double *values = calloc(EXPECTED + 1, sizeof *values);
    int got = 0;
    for (int i = 0; i < n; i++)
        for (int j = 0; j < sets[i].count; j++, got++)
            if (got <= EXPECTED)
                values[got] = sets[i].points[j].value;
    CHECK_MSG(got == EXPECTED, "%d runs in the store, %d added", got, EXPECTED);
    CHECK_MSG(n == 11, "10 series of the writers and the shared one: %d", n);
    if (got == EXPECTED) {
        qsort(values, EXPECTED, sizeof *values, compare_doubles);
        int i = 0, missing = 0;
        for (int k = 0; k < WRITERS; k++)
            for (int f = 0; f < FILES_PER_WRITER; f++)
                for (int r = 0; r < RUNS_PER_FILE; r++)
                    missing += values[i++] != k * 10000 + f * 100 + r;
        CHECK_MSG(missing == 0 && values[EXPECTED - 1] == 99999, "%d runs missing or twice", missing);
    }
    free(values);
    nnb_store_point_sets_free(sets, n);
    nnb_store_close(s);
}

void store_case_concurrent(const char *spec) {
    int start[2];
    if (pipe(start) != 0) {
        CHECK_MSG(0, "pipe");
        return;
    }
    pid_t pids[WRITERS];
    fflush(NULL);
    for (int k = 0; k < WRITERS; k++) {
        pids[k] = fork();
        if (pids[k] == 0) {
            close(start[1]);
            writer(spec, k, start[0]);
        }
    }
    close(start[0]);
    close(start[1]); /* every writer's read returns now: all start at once */
    int added = 0, found = 0, failed = 0;
    for (int k = 0; k < WRITERS; k++) {
        int status = 0;
        waitpid(pids[k], &status, 0);
        int code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
        added += code == 10, found += code == 11, failed += code != 0 && code != 10 && code != 11;
    }
    CHECK_MSG(failed == 0, "%d writers failed", failed);
    CHECK_MSG(added == 1 && found == 1, "the shared file: added by %d writers, found by %d", added, found);
    check_every_run_once(spec);
}
