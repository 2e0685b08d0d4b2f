/*
 * Timings of the store (not a test; docs/history.md quotes them):
 *   nnb_store_bench [FOLDER]                          the two scenarios below on SQLite
 *   nnb_store_bench SPEC FILES RUNS_PER_FILE SERIES   one scenario into SPEC (an empty store: a SQLite file
 *                                                     or a postgresql:// URL of an empty database)
 * 1. ingests 1000 files x 10 runs (10,000 runs, 100 series, 20 samples each) into a fresh store, one
 *    transaction per file, then lists the series and reads every series' points back;
 * 2. ingests 365 files x 1000 runs (a year of nightly results over 1000 series) and reads them back, once
 *    with one nnb_store_series_points call per series and once with nnb_store_all_points.
 * The stores are made in FOLDER (default: a new folder under /tmp) and deleted afterwards.
 *   nnb_store_bench --nightly SPEC [SEED]            a realistic year of nightly results into SPEC (kept):
 * 1000 series x 365 runs, 20 samples a run with 1% Gaussian noise (seeded, default seed 1); every third
 * series has one step of 3-10% (a slowdown or a speed-up, at a random run between 30 and 335), the
 * rest stay flat. It prints the series with a step (series index, run, ratio) for checking the finders.
 */
#define _POSIX_C_SOURCE 200809L
#include "store.h"

#include <math.h>
#include <stdint.h>
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

/* This process's CPU time: on a busy machine the wall clock says more about the neighbours. */
static double cpu(void) { return (double)clock() / CLOCKS_PER_SEC; }

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
    double t0 = now(), c0 = cpu();
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
    double t3 = now(), c3 = cpu();
    nnb_store_point_sets_free(sets, ns);
    printf("  list %d series: %.3f s; points one series at a time: %.3f s (%lld runs); all_points: %.3f s "
           "(%lld runs); cpu for the three %.3f s\n",
           n, t1 - t0, t2 - t1, total, t3 - t2, total_all, c3 - c0);
    if (total != expect_runs || total_all != expect_runs)
        die("read back", "run count differs from what was added");
    nnb_store_series_free(series, n);
}

static void scenario_in(const char *spec, const char *name, int files, int runs_per_file, int series) {
    char err[512];
    nnb_store *s;
    if (nnb_store_open(spec, &s, err, sizeof err) != 0)
        die("open", err);
    double t0 = now(), c0 = cpu();
    ingest(s, files, runs_per_file, series);
    double t1 = now(), c1 = cpu();
    printf("%s: ingest %d files x %d runs (%d runs, %d series, %d samples each): %.3f s (cpu %.3f s)\n", name, files,
           runs_per_file, files * runs_per_file, series, SAMPLES, t1 - t0, c1 - c0);
    read_back(s, (long long)files * runs_per_file);
    nnb_store_close(s);
}

static void scenario(const char *dir, const char *name, int files, int runs_per_file, int series) {
    char path[4096];
    snprintf(path, sizeof path, "%s/%s.db", dir, name);
    scenario_in(path, name, files, runs_per_file, series);
    for (const char *suffix = ""; suffix; suffix = !*suffix ? "-wal" : strcmp(suffix, "-wal") == 0 ? "-shm" : NULL) {
        char p[4200];
        snprintf(p, sizeof p, "%s%s", path, suffix);
        unlink(p);
    }
}

/* A small seeded generator (xorshift64*), so the nightly store is the same on every machine. */
static uint64_t rng_state;
static double uniform01(void) {
    rng_state ^= rng_state >> 12, rng_state ^= rng_state << 25, rng_state ^= rng_state >> 27;
    return (double)((rng_state * 2685821657736338717ULL) >> 11) / 9007199254740992.0;
}
static double gaussian(void) { /* Box-Muller */
    double u = uniform01(), v = uniform01();
    return sqrt(-2 * log(u > 0 ? u : 1e-300)) * cos(6.283185307179586 * v);
}

#define NIGHTLY_SERIES 1000
#define NIGHTLY_RUNS 365

typedef struct {
    int step_run; /* the first run after the step, -1 for a flat series */
    double base, ratio;
} nightly_series;

static void nightly_run(nnb_store_run *run, const nightly_series *s, const char *config, int k, int f,
                        double *samples) {
    double level = s->base * (s->step_run >= 0 && f >= s->step_run ? s->ratio : 1.0), sum = 0;
    for (int i = 0; i < SAMPLES; i++)
        sum += samples[i] = level * (1 + 0.01 * gaussian());
    *run = (nnb_store_run){.machine = "{\"cpu\":\"bench\"}",
                           .runner = k % 2 ? "cudnn_lstm" : "aten_lstm",
                           .phase = "forward",
                           .config = config,
                           .unit = "ms",
                           .value = sum / SAMPLES,
                           .samples = samples,
                           .sample_count = SAMPLES};
}

static void nightly(const char *spec, unsigned seed) {
    char err[512];
    nnb_store *s;
    if (nnb_store_open(spec, &s, err, sizeof err) != 0)
        die("open", err);
    rng_state = 0x9E3779B97F4A7C15ULL ^ seed;
    nightly_series *series = calloc(NIGHTLY_SERIES, sizeof *series);
    char(*configs)[64] = calloc(NIGHTLY_SERIES, sizeof *configs);
    nnb_store_run *runs = calloc(NIGHTLY_SERIES, sizeof *runs);
    double *samples = calloc((size_t)NIGHTLY_SERIES * SAMPLES, sizeof *samples);
    if (!series || !configs || !runs || !samples)
        die("nightly", "out of memory");
    int steps = 0;
    for (int k = 0; k < NIGHTLY_SERIES; k++) {
        snprintf(configs[k], sizeof configs[k], "{\"hidden\":%d,\"seq\":%d}", 64 + k, 100 + k % 7);
        series[k] = (nightly_series){.step_run = -1, .base = 0.5 + 10 * uniform01(), .ratio = 1};
        if (k % 3 == 0) {
            double size = 0.03 + 0.07 * uniform01();
            series[k].step_run = 30 + (int)(306 * uniform01());
            series[k].ratio = uniform01() < 0.5 ? 1 + size : 1 / (1 + size);
            printf("step: series %d (config %s) at run %d, ratio %.4f\n", k, configs[k], series[k].step_run,
                   series[k].ratio);
            steps++;
        }
    }
    double t0 = now();
    for (int f = 0; f < NIGHTLY_RUNS; f++) {
        for (int k = 0; k < NIGHTLY_SERIES; k++)
            nightly_run(&runs[k], &series[k], configs[k], k, f, samples + (size_t)k * SAMPLES);
        char sha[65], path[64], date[32], commit[16];
        time_t day = (time_t)1767236400 + (time_t)f * 86400; /* 2026-01-01T03:00:00Z */
        struct tm tm;
        gmtime_r(&day, &tm);
        strftime(date, sizeof date, "%Y-%m-%dT%H:%M:%SZ", &tm);
        snprintf(sha, sizeof sha, "%064x", f + 1000000);
        snprintf(path, sizeof path, "results/nightly-%03d.json", f);
        snprintf(commit, sizeof commit, "c%03d", f);
        nnb_store_file file = {.sha256 = sha,
                               .path = path,
                               .format = "nnbench",
                               .commit = commit,
                               .date = date,
                               .runs = runs,
                               .run_count = NIGHTLY_SERIES};
        if (nnb_store_add_file(s, &file, err, sizeof err) != 0)
            die("add", err);
    }
    printf("nightly: %d series x %d runs (%d samples each, 1%% noise, seed %u), %d series with a step: %.3f s\n",
           NIGHTLY_SERIES, NIGHTLY_RUNS, SAMPLES, seed, steps, now() - t0);
    nnb_store_close(s);
    free(series), free(configs), free(runs), free(samples);
}

int main(int argc, char **argv) {
    if (argc >= 3 && strcmp(argv[1], "--nightly") == 0) {
        nightly(argv[2], argc > 3 ? (unsigned)strtoul(argv[3], NULL, 10) : 1u);
        return 0;
    }
    if (argc == 5) {
        int files = atoi(argv[2]), runs = atoi(argv[3]), series = atoi(argv[4]);
        if (files <= 0 || runs <= 0 || series <= 0)
            die("usage", "nnb_store_bench SPEC FILES RUNS_PER_FILE SERIES (positive counts)");
        scenario_in(argv[1], argv[1], files, runs, series);
        return 0;
    }
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
