/*
 * Timings of the SQLite store (not a test; docs/history.md quotes them):
 *   nnb_store_bench [FOLDER]
 * 1. ingests 1000 files x 10 runs (10,000 runs, 100 series, 20 samples each) into a fresh store, one
 *    transaction per file, then lists the series and reads every series' points back;
 * 2. ingests 365 files x 1000 runs (a year of nightly results over 1000 series) and reads them back, once
 *    with one nnb_store_series_points call per series and once with nnb_store_all_points.
 * The stores are made in FOLDER (default: a new folder under /tmp) and deleted afterwards.
 */
#define _POSIX_C_SOURCE 200809L
#include "store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define SAMPLES 20

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static void die(const char *what, const char *err) {
    fprintf(stderr, "nnb_store_bench: %s: %s\n", what, err);
    exit(1);
}

static void ingest(nnb_store *s, int files, int runs_per_file, int series) {
    nnb_store_run *runs = calloc((size_t)runs_per_file, sizeof *runs);
    char(*configs)[64] = calloc((size_t)series, sizeof *configs);
    double samples[SAMPLES];
    for (int k = 0; k < series; k++)
        snprintf(configs[k], sizeof configs[k], "{\"hidden\":%d,\"seq\":%d}", 64 + k, 100 + k % 7);
    for (int f = 0; f < files; f++) {
        for (int r = 0; r < runs_per_file; r++) {
            int k = (f * runs_per_file + r) % series;
            runs[r] = (nnb_store_run){.machine = "{\"cpu\":\"bench\"}",
                                      .runner = k % 2 ? "cudnn_lstm" : "aten_lstm",
                                      .phase = "forward",
                                      .config = configs[k],
                                      .unit = "ms",
                                      .value = 1.0 + f,
                                      .samples = samples,
                                      .sample_count = SAMPLES};
        }
        for (int i = 0; i < SAMPLES; i++)
            samples[i] = f + 0.001 * i;
        char sha[65], path[64], date[32];
        snprintf(sha, sizeof sha, "%064x", f);
        snprintf(path, sizeof path, "results/nightly-%d.json", f);
        snprintf(date, sizeof date, "2026-%02d-%02dT03:00:00Z", 1 + (f / 28) % 12, 1 + f % 28);
        nnb_store_file file = {.sha256 = sha,
                               .path = path,
                               .format = "nnbench",
                               .commit = "abc123",
                               .date = date,
                               .runs = runs,
                               .run_count = runs_per_file};
        char err[512];
        if (nnb_store_add_file(s, &file, err, sizeof err) != 0)
            die("add", err);
    }
    free(runs), free(configs);
}

static void read_back(nnb_store *s, long long expect_runs) {
    char err[512];
    double t0 = now();
    nnb_store_series *series;
    int n;
    if (nnb_store_list_series(s, NULL, &series, &n, err, sizeof err) != 0)
        die("list", err);
    double t1 = now();
    long long total = 0;
    for (int i = 0; i < n; i++) {
        nnb_store_point *p;
        int c;
        if (nnb_store_series_points(s, series[i].id, NULL, &p, &c, err, sizeof err) != 0)
            die("points", err);
        total += c;
        nnb_store_points_free(p, c);
    }
    double t2 = now();
    nnb_store_point_set *sets;
    int ns;
    long long total_all = 0;
    if (nnb_store_all_points(s, NULL, &sets, &ns, err, sizeof err) != 0)
        die("all points", err);
    for (int i = 0; i < ns; i++)
        total_all += sets[i].count;
    double t3 = now();
    nnb_store_point_sets_free(sets, ns);
    printf("  list %d series: %.3f s; points one series at a time: %.3f s (%lld runs); all_points: %.3f s "
           "(%lld runs)\n",
           n, t1 - t0, t2 - t1, total, t3 - t2, total_all);
    if (total != expect_runs || total_all != expect_runs)
        die("read back", "run count differs from what was added");
    nnb_store_series_free(series, n);
}

static void scenario(const char *dir, const char *name, int files, int runs_per_file, int series) {
    char path[4096], err[512];
    snprintf(path, sizeof path, "%s/%s.db", dir, name);
    nnb_store *s;
    if (nnb_store_open(path, &s, err, sizeof err) != 0)
        die("open", err);
    double t0 = now();
    ingest(s, files, runs_per_file, series);
    double t1 = now();
    printf("%s: ingest %d files x %d runs (%d runs, %d series, %d samples each): %.3f s\n", name, files, runs_per_file,
           files * runs_per_file, series, SAMPLES, t1 - t0);
    read_back(s, (long long)files * runs_per_file);
    nnb_store_close(s);
    for (const char *suffix = ""; suffix; suffix = !*suffix ? "-wal" : strcmp(suffix, "-wal") == 0 ? "-shm" : NULL) {
        char p[4200];
        snprintf(p, sizeof p, "%s%s", path, suffix);
        unlink(p);
    }
}

int main(int argc, char **argv) {
    char tmp[] = "/tmp/nnb_store_bench.XXXXXX";
    const char *dir = argc > 1 ? argv[1] : mkdtemp(tmp);
    if (!dir)
        die("mkdtemp", "cannot create a folder under /tmp");
    scenario(dir, "ingest-10k", 1000, 10, 100);
    scenario(dir, "year-1000-series", 365, 1000, 1000);
    if (argc <= 1)
        rmdir(dir);
    return 0;
}
