/*
 * stats/changepoint: the t distribution against closed forms and tables, and E-Divisive means with the
 * t-test on synthetic series whose steps are known (several seeds each: the method is statistical).
 */
#define _GNU_SOURCE /* M_PI */
#include "changepoint.h"
#include "test_support.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static uint64_t rng_state;
static double uniform01(void) { /* splitmix64 */
    uint64_t z = (rng_state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return ((z ^ (z >> 31)) >> 11) * 0x1.0p-53;
}
static double normal01(void) { return sqrt(-2 * log(1 - uniform01())) * cos(2 * M_PI * uniform01()); }

/* base * level[i] * (1 + noise * N(0, 1)), where level steps by the factors at the given indexes. */
static void make_series(double *x, int n, double noise, const int *at, const double *factor, int steps, uint64_t seed) {
    rng_state = seed;
    double level = 100.0;
    for (int i = 0, s = 0; i < n; i++) {
        if (s < steps && i == at[s])
            level *= factor[s++];
        x[i] = level * (1 + noise * normal01());
    }
}

static void incomplete_beta_matches_closed_forms(void) {
    CHECK_NEAR(nnb_incomplete_beta(2, 3, 0.5), 11.0 / 16, 1e-12);    /* P(Bin(4, 1/2) >= 2) */
    CHECK_NEAR(nnb_incomplete_beta(2, 5, 0.2), 0.34464, 1e-12);      /* P(Bin(6, 0.2) >= 2) */
    CHECK_NEAR(nnb_incomplete_beta(3, 1, 0.4), 0.064, 1e-12);        /* x^a */
    CHECK_NEAR(nnb_incomplete_beta(0.5, 0.5, 0.25), 1.0 / 3, 1e-12); /* 2/pi asin(sqrt x) */
    CHECK_NEAR(nnb_incomplete_beta(0.5, 0.5, 0.9), 2 / M_PI * asin(sqrt(0.9)), 1e-12);
    CHECK_NEAR(nnb_incomplete_beta(50, 60, 0.45), 1 - nnb_incomplete_beta(60, 50, 0.55), 1e-12); /* symmetry */
    CHECK(nnb_incomplete_beta(2, 3, 0) == 0 && nnb_incomplete_beta(2, 3, 1) == 1);
    CHECK(isnan(nnb_incomplete_beta(-1, 3, 0.5)) && isnan(nnb_incomplete_beta(1, 3, 1.5)));
}

static void t_test_matches_tables(void) {
    CHECK_NEAR(nnb_t_two_sided_p(2.0, 10), 0.0734, 5e-5);            /* t table */
    CHECK_NEAR(nnb_t_two_sided_p(-2.0, 10), 0.0734, 5e-5);           /* two-sided: the sign does not matter */
    CHECK_NEAR(nnb_t_two_sided_p(2.228, 10), 0.05, 1e-4);            /* t_0.975(10) = 2.228 */
    CHECK_NEAR(nnb_t_two_sided_p(1.0, 1), 0.5, 1e-12);               /* Cauchy: P(|T| >= 1) = 1/2 */
    CHECK_NEAR(nnb_t_two_sided_p(2.0, 2), 1 - 2 / sqrt(6.0), 1e-12); /* df 2: 1 - t / sqrt(t^2 + 2) */
    CHECK_NEAR(nnb_t_two_sided_p(1.959964, 1e9), 0.05, 1e-6);        /* the normal limit */
    CHECK_NEAR(nnb_t_two_sided_p(0, 7), 1.0, 1e-15);
    CHECK_NEAR(nnb_t_quantile_two_sided(0.05, 10), 2.228139, 1e-5); /* tables */
    CHECK_NEAR(nnb_t_quantile_two_sided(0.05, 30), 2.042272, 1e-5);
    CHECK_NEAR(nnb_t_quantile_two_sided(0.05, 1), 12.706205, 1e-5);
    CHECK_NEAR(nnb_t_quantile_two_sided(0.01, 20), 2.845340, 1e-5);
    double t, df;
    /* Welch by hand: a1 = 4/5, a2 = 1/10, t = 1 / sqrt(0.9), df = 0.81 / (0.64/4 + 0.01/9). */
    double p = nnb_welch_p(0, 4, 5, 1, 1, 10, &t, &df);
    CHECK_NEAR(t, 1 / sqrt(0.9), 1e-12);
    CHECK_NEAR(df, 0.81 / (0.16 + 0.01 / 9), 1e-9);
    CHECK_NEAR(p, nnb_t_two_sided_p(1 / sqrt(0.9), df), 1e-15);
    CHECK(nnb_welch_p(3, 0, 5, 3, 0, 5, NULL, NULL) == 1.0); /* no spread, same means */
    CHECK(nnb_welch_p(3, 0, 5, 4, 0, 5, NULL, NULL) == 0.0); /* no spread, different means */
}

/* A 3% step in 1% noise at run 40 of 60: found within 2 runs, its 95% interval covering 1.03. */
static void finds_a_step_with_its_magnitude(void) {
    double x[60];
    int at[] = {40}, good = 0;
    double factor[] = {1.03};
    for (uint64_t seed = 1; seed <= 10; seed++) {
        make_series(x, 60, 0.01, at, factor, 1, seed);
        nnb_change_point *cp;
        int k;
        char err[256];
        CHECK(nnb_changepoints(x, 60, NULL, 0, &cp, &k, err, sizeof err) == 0);
        int ok = k == 1 && abs(cp[0].index - 40) <= 2 && cp[0].magnitude_lo <= 1.03 && cp[0].magnitude_hi >= 1.03 &&
                 cp[0].slowdown && cp[0].p_value <= 0.001;
        if (k >= 1)
            printf("seed %d: %d change(s), first at %d, %.4f [%.4f, %.4f], p %.2g\n", (int)seed, k, cp[0].index,
                   cp[0].magnitude, cp[0].magnitude_lo, cp[0].magnitude_hi, cp[0].p_value);
        good += ok;
        free(cp);
    }
    CHECK_MSG(good >= 9, "the 3%% step was found with a covering interval in %d of 10 seeds", good);
}

static void finds_two_steps_in_order(void) {
    double x[120];
    int at[] = {35, 80}, good = 0;
    double factor[] = {1.05, 0.96};
    for (uint64_t seed = 11; seed <= 20; seed++) {
        make_series(x, 120, 0.01, at, factor, 2, seed);
        nnb_change_point *cp;
        int k;
        CHECK(nnb_changepoints(x, 120, NULL, 0, &cp, &k, NULL, 0) == 0);
        good += k == 2 && abs(cp[0].index - 35) <= 2 && abs(cp[1].index - 80) <= 2 && cp[0].slowdown &&
                !cp[1].slowdown && cp[0].end_after == cp[1].index && cp[1].start_before == cp[0].index;
        free(cp);
    }
    CHECK_MSG(good >= 9, "both steps found, in order, in %d of 10 seeds", good);
}

static void flat_series_have_no_change(void) {
    double x[200];
    int quiet = 0;
    for (uint64_t seed = 100; seed < 120; seed++) {
        make_series(x, 200, 0.01, NULL, NULL, 0, seed);
        nnb_change_point *cp;
        int k;
        CHECK(nnb_changepoints(x, 200, NULL, 0, &cp, &k, NULL, 0) == 0);
        quiet += k == 0;
        free(cp);
    }
    CHECK_MSG(quiet >= 19, "flat series without a change in %d of 20 seeds", quiet);
}

static void direction_and_exact_steps(void) {
    double x[40];
    for (int i = 0; i < 40; i++)
        x[i] = i < 20 ? 1.0 : 2.0;
    nnb_change_point *cp;
    int k;
    CHECK(nnb_changepoints(x, 40, NULL, 1, &cp, &k, NULL, 0) == 0 && k == 1);
    if (k == 1) { /* a noiseless doubling: p 0, an interval of width 0; higher is better: a speed-up */
        CHECK(cp[0].index == 20 && cp[0].p_value == 0 && cp[0].magnitude == 2);
        CHECK(cp[0].magnitude_lo == 2 && cp[0].magnitude_hi == 2 && !cp[0].slowdown);
    }
    free(cp);
    CHECK(nnb_changepoints(x, 40, NULL, 0, &cp, &k, NULL, 0) == 0 && k == 1 && cp[0].slowdown);
    free(cp);
}

static void edge_cases(void) {
    double x[100];
    nnb_change_point *cp = (nnb_change_point *)1;
    int k = -1;
    char err[256] = "";
    for (int i = 0; i < 100; i++)
        x[i] = 0.1;
    CHECK(nnb_changepoints(x, 100, NULL, 0, &cp, &k, err, sizeof err) == 0 && k == 0 && cp == NULL);
    for (int i = 0; i < 9; i++) /* a step, but 9 < 2 x min_size points */
        x[i] = i < 4 ? 1 : 5;
    CHECK(nnb_changepoints(x, 9, NULL, 0, &cp, &k, err, sizeof err) == 0 && k == 0);
    CHECK(nnb_changepoints(x, 0, NULL, 0, &cp, &k, err, sizeof err) == 0 && k == 0);
    x[3] = NAN;
    CHECK(nnb_changepoints(x, 9, NULL, 0, &cp, &k, err, sizeof err) == -1 && k == 0);
    CHECK_STR_CONTAINS(err, "value 3 is nan");
    x[3] = INFINITY;
    CHECK(nnb_changepoints(x, 9, NULL, 0, &cp, &k, err, sizeof err) == -1);
    nnb_cp_options o = nnb_cp_default_options();
    CHECK(o.window == 50 && o.max_p == 0.001 && o.min_size == 5);
    o.min_size = 1;
    CHECK(nnb_changepoints(x, 9, &o, 0, &cp, &k, err, sizeof err) == -1);
    CHECK_STR_CONTAINS(err, "min_size 1 is too small");
    o = nnb_cp_default_options(), o.window = 9;
    CHECK(nnb_changepoints(x, 9, &o, 0, &cp, &k, err, sizeof err) == -1);
    CHECK_STR_CONTAINS(err, "window 9 is shorter than 2 x min_size (10)");
    o = nnb_cp_default_options(), o.max_p = 1;
    CHECK(nnb_changepoints(x, 9, &o, 0, &cp, &k, err, sizeof err) == -1);
    CHECK_STR_CONTAINS(err, "max_p 1 is out of range");
}

int main(void) {
    incomplete_beta_matches_closed_forms();
    t_test_matches_tables();
    finds_a_step_with_its_magnitude();
    finds_two_steps_in_order();
    flat_series_have_no_change();
    direction_and_exact_steps();
    edge_cases();
    return nnb_test_finish();
}
