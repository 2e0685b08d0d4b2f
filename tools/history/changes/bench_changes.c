/*
 * How long change-point detection takes over a store's worth of series (built, not run by ctest):
 *   build/bin/nnbench-bench-changes [SERIES [RUNS]]      (default 1000 series x 365 runs)
 * Each series is 1% noise around 100 with a 3% step at a random run in about one series of three; prints
 * the time of nnb_changepoints over all of them and how many steps were found where they were put.
 */
#define _POSIX_C_SOURCE 199309L /* clock_gettime */
#include "changepoint.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static uint64_t rng_state = 42;
static double uniform01(void) { /* splitmix64 */
    uint64_t z = (rng_state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return ((z ^ (z >> 31)) >> 11) * 0x1.0p-53;
}
static double normal01(void) { return sqrt(-2 * log(1 - uniform01())) * cos(6.283185307179586 * uniform01()); }

static double seconds_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + 1e-9 * ts.tv_nsec;
}

int main(int argc, char **argv) {
    int series = argc > 1 ? atoi(argv[1]) : 1000, runs = argc > 2 ? atoi(argv[2]) : 365;
    if (series < 1 || runs < 1) {
        fprintf(stderr, "usage: nnbench-bench-changes [SERIES [RUNS]] (positive integers)\n");
        return 2;
    }
    double *x = malloc(sizeof(double) * (size_t)series * (size_t)runs);
    int *step_at = malloc(sizeof(int) * (size_t)series);
    if (!x || !step_at)
        return fprintf(stderr, "nnbench-bench-changes: out of memory\n"), 1;
    for (int s = 0; s < series; s++) {
        step_at[s] = uniform01() < 1.0 / 3 ? 10 + (int)(uniform01() * (runs - 20)) : -1;
        for (int i = 0; i < runs; i++)
            x[(size_t)s * runs + i] = 100 * (step_at[s] >= 0 && i >= step_at[s] ? 1.03 : 1.0) * (1 + 0.01 * normal01());
    }
    int changes = 0, placed = 0, stepped = 0;
    double start = seconds_now();
    for (int s = 0; s < series; s++) {
        nnb_change_point *cp;
        int k;
        char err[256];
        if (nnb_changepoints(x + (size_t)s * runs, runs, NULL, 0, &cp, &k, err, sizeof err))
            return fprintf(stderr, "nnbench-bench-changes: %s\n", err), 1;
        changes += k, stepped += step_at[s] >= 0;
        for (int i = 0; i < k; i++)
            placed += step_at[s] >= 0 && abs(cp[i].index - step_at[s]) <= 2;
        free(cp);
    }
    double elapsed = seconds_now() - start;
    printf("%d series x %d runs: %.3f s (%.3f ms a series); %d changes found, %d of %d steps within 2 runs\n", series,
           runs, elapsed, 1e3 * elapsed / series, changes, placed, stepped);
    free(x), free(step_at);
    return 0;
}
