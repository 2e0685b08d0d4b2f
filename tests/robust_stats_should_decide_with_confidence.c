/* Robust statistics (stats/robust_stats.h) on samples with a known answer:
 * order-statistic ranks against the binomial tables, coverage of the median's
 * interval, verdicts, the --ab stopping rule's false-positive rate and power,
 * and the bootstrap interval of a ratio of medians. */
#include "robust_stats.h"
#include "test_support.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

/* ---- a seeded generator (independent of the one under test) ---- */

static uint64_t rng_state = 12345;

static double uniform01(void) {
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return ((double)(rng_state >> 11) + 0.5) / 9007199254740992.0;
}

static double normal(void) { /* Box-Muller */
    return sqrt(-2.0 * log(uniform01())) * cos(6.283185307179586 * uniform01());
}

/* Timing-like samples: lognormal around `median` with relative spread sigma. */
static void lognormal(double *x, int n, double median, double sigma) {
    for (int i = 0; i < n; i++)
        x[i] = median * exp(sigma * normal());
}

static void ranks_match_binomial_tables(void) {
    /* Lower rank of the 95% interval of the median from the binomial law (tables of the sign test): n 6 -> 1,
     * 10 -> 2, 20 -> 6, 50 -> 18, 100 -> 40 (the interval [x_(40), x_(61)]), 1000 -> 469; 99% at n 100 -> 37. */
    CHECK(nnb_median_ci_rank(5, 0.95) == 0);
    CHECK(nnb_median_ci_rank(6, 0.95) == 1);
    CHECK(nnb_median_ci_rank(10, 0.95) == 2);
    CHECK(nnb_median_ci_rank(20, 0.95) == 6);
    CHECK(nnb_median_ci_rank(50, 0.95) == 18);
    CHECK(nnb_median_ci_rank(100, 0.95) == 40);
    CHECK(nnb_median_ci_rank(1000, 0.95) == 469);
    CHECK(nnb_median_ci_rank(100, 0.99) == 37);

    double x[10] = {10, 1, 9, 2, 8, 3, 7, 4, 6, 5}, m, lo, hi;
    CHECK(nnb_median_ci(x, 10, 0.95, &m, &lo, &hi) == 0);
    CHECK_NEAR(m, 5.5, 0);
    CHECK_NEAR(lo, 2, 0);           /* x_(2) */
    CHECK_NEAR(hi, 9, 0);           /* x_(9) */
    CHECK(x[0] == 10 && x[9] == 5); /* input untouched */
    CHECK(nnb_median_ci(x, 5, 0.95, &m, &lo, &hi) == 0 && isinf(lo) && lo < 0 && isinf(hi) && hi > 0);
    CHECK(nnb_median_ci(x, 0, 0.95, &m, &lo, &hi) == -1 && isnan(m));
}

/* The Hodges-Lehmann estimate and interval by brute force: every Walsh average, sorted. */
static int compare_doubles(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static void hodges_lehmann_matches_brute_force_and_tables(void) {
    /* Lower rank of Wilcoxon's signed-rank interval at 95% from the published critical values T (two-sided
     * 0.05): n 10 -> T 8, 20 -> 52, 30 -> 137 (k = T + 1); 100 from the exact law. */
    CHECK(nnb_signed_rank_ci_rank(5, 0.95) == 0);
    CHECK(nnb_signed_rank_ci_rank(6, 0.95) == 1);
    CHECK(nnb_signed_rank_ci_rank(10, 0.95) == 9);
    CHECK(nnb_signed_rank_ci_rank(20, 0.95) == 53);
    CHECK(nnb_signed_rank_ci_rank(30, 0.95) == 138);
    CHECK(nnb_signed_rank_ci_rank(100, 0.95) == 1956);
    /* Beyond n 200 the normal approximation: exact 13445 at n 250, never wider by more than a few ranks. */
    int k250 = nnb_signed_rank_ci_rank(250, 0.95);
    CHECK_MSG(k250 <= 13445 && k250 >= 13442, "k(250) = %d", k250);

    enum { N = 37 };
    static double x[N], w[N * (N + 1) / 2];
    for (int trial = 0; trial < 20; trial++) {
        lognormal(x, N, 1.0, 0.3);
        int m = 0;
        for (int i = 0; i < N; i++)
            for (int j = i; j < N; j++)
                w[m++] = 0.5 * (x[i] + x[j]);
        qsort(w, (size_t)m, sizeof *w, compare_doubles);
        int k = nnb_signed_rank_ci_rank(N, 0.95);
        double est, lo, hi, median = m % 2 ? w[m / 2] : 0.5 * (w[m / 2 - 1] + w[m / 2]);
        CHECK(nnb_hodges_lehmann(x, N, 0.95, &est, &lo, &hi) == 0);
        CHECK_NEAR(est, median, 0);
        CHECK_NEAR(lo, w[k - 1], 0);
        CHECK_NEAR(hi, w[m - k], 0);
    }
    double est, lo, hi;
    CHECK(nnb_hodges_lehmann(x, NNB_HL_MAX_N + 1, 0.95, &est, &lo, &hi) == -1 && isnan(est));
}

static void median_interval_covers_at_least_its_level(void) {
    enum { TRIALS = 2000, N = 25 };
    double x[N];
    int covered = 0;
    for (int t = 0; t < TRIALS; t++) {
        double m, lo, hi;
        lognormal(x, N, 100.0, 0.1); /* true median 100 */
        nnb_median_ci(x, N, 0.95, &m, &lo, &hi);
        covered += lo <= 100.0 && 100.0 <= hi;
    }
    double rate = (double)covered / TRIALS; /* exact coverage at n 25 is 95.7%; 3 sigma of 2000 trials ~1.4% */
    CHECK_MSG(rate >= 0.94 && rate <= 0.975, "coverage %.4f", rate);
}

static void verdicts_follow_the_interval(void) {
    CHECK(nnb_verdict_of(0.995, 1.005, 0.01) == NNB_VERDICT_SAME);
    CHECK(nnb_verdict_of(1.002, 1.008, 0.01) == NNB_VERDICT_SAME);     /* excludes 1 but within the noise */
    CHECK(nnb_verdict_of(1.011, 1.03, 0.01) == NNB_VERDICT_SLOWER);    /* wholly beyond 1 + t */
    CHECK(nnb_verdict_of(1.004, 1.03, 0.01) == NNB_VERDICT_UNDECIDED); /* above 1 but across 1 + t */
    CHECK(nnb_verdict_of(0.90, 0.97, 0.01) == NNB_VERDICT_FASTER);
    CHECK(nnb_verdict_of(0.98, 0.995, 0.01) == NNB_VERDICT_UNDECIDED);
    CHECK(nnb_verdict_of(0.98, 1.03, 0.01) == NNB_VERDICT_UNDECIDED);
    CHECK(nnb_verdict_of(-INFINITY, INFINITY, 0.01) == NNB_VERDICT_UNDECIDED);
    CHECK(nnb_verdict_of(NAN, NAN, 0.01) == NNB_VERDICT_UNDECIDED);
    CHECK_STR_CONTAINS(nnb_verdict_name(NNB_VERDICT_SLOWER), "slower");

    double a[] = {1, 2, 4}, b[] = {2, 4, 8};
    nnb_ratio_summary s;
    CHECK(nnb_paired_ratio(a, b, 3, 0.95, 0.01, &s) == 0);
    CHECK_NEAR(s.ratio, 2.0, 1e-12);
    CHECK(s.verdict == NNB_VERDICT_UNDECIDED && isinf(s.half_width)); /* 3 pairs cannot bound a median */
    double bad[] = {1, 0, 4};
    CHECK(nnb_paired_ratio(a, bad, 3, 0.95, 0.01, &s) == -1);
}

/* The --ab procedure (ab.c) on synthetic per-round times: look after every round from min_samples on, stop when
 * settled or at max_rounds; returns the verdict, the rounds taken in *rounds. */
static nnb_verdict sequential_ab(double shift, double sigma, int min_samples, int max_rounds, int *rounds) {
    static double a[1000], b[1000];
    nnb_ratio_summary s = {0};
    int n = 0;
    while (n < max_rounds) {
        double drift = 100.0 * exp(0.2 * normal()); /* the machine's speed moves a lot between rounds... */
        a[n] = drift * exp(sigma * normal());       /* ...and both sides of a round see it */
        b[n] = drift * (1 + shift) * exp(sigma * normal());
        n++;
        if (n < min_samples)
            continue;
        nnb_paired_ratio(a, b, n, 0.95, 0.01, &s);
        if (nnb_ratio_settled(&s))
            break;
    }
    *rounds = n;
    return s.verdict;
}

static void ab_rule_keeps_false_positives_rare_and_finds_five_percent(void) {
    enum { TRIALS = 400 };
    int false_positive = 0, same = 0, rounds;
    for (int t = 0; t < TRIALS; t++) {
        nnb_verdict v = sequential_ab(0.0, 0.02, 10, 600, &rounds);
        false_positive += v == NNB_VERDICT_FASTER || v == NNB_VERDICT_SLOWER;
        same += v == NNB_VERDICT_SAME;
    }
    /* Equal sides: "same" or "undecided", a false "faster"/"slower" at most 1 time in 20 (here far fewer). */
    printf("equal sides: %d false positives, %d same of %d trials\n", false_positive, same, TRIALS);
    CHECK_MSG(false_positive <= TRIALS / 20, "false positives %d of %d", false_positive, TRIALS);
    CHECK_MSG(same >= TRIALS * 9 / 10, "same %d of %d", same, TRIALS);

    int slower = 0, max_rounds = 0;
    for (int t = 0; t < TRIALS; t++) {
        nnb_verdict v = sequential_ab(0.05, 0.02, 10, 600, &rounds);
        slower += v == NNB_VERDICT_SLOWER;
        max_rounds = rounds > max_rounds ? rounds : max_rounds;
    }
    /* A 5% slowdown under 2% per-round noise and 20% drift: found every time, within a few dozen rounds. */
    printf("5%% slower: found %d of %d trials, at most %d rounds\n", slower, TRIALS, max_rounds);
    CHECK_MSG(slower == TRIALS, "slower %d of %d", slower, TRIALS);
    CHECK_MSG(max_rounds <= 40, "took up to %d rounds", max_rounds);
}

static void bootstrap_interval_brackets_a_known_ratio(void) {
    enum { N = 40 };
    double old_x[N], new_x[N], ratio, lo, hi;
    lognormal(old_x, N, 10.0, 0.01);
    for (int i = 0; i < N; i++)
        new_x[i] = old_x[i] * 1.10; /* every sample 10% slower: the ratio of medians is exactly 1.1 */
    CHECK(nnb_bootstrap_median_ratio(old_x, N, new_x, N, 0.95, 2000, 7, &ratio, &lo, &hi) == 0);
    CHECK_NEAR(ratio, 1.10, 1e-12);
    CHECK_MSG(lo > 1.07 && lo < 1.10 && hi > 1.10 && hi < 1.13, "interval [%g, %g]", lo, hi);
    CHECK(nnb_verdict_of(lo, hi, 0.01) == NNB_VERDICT_SLOWER);
    double again_lo, again_hi;
    nnb_bootstrap_median_ratio(old_x, N, new_x, N, 0.95, 2000, 7, &ratio, &again_lo, &again_hi);
    CHECK(again_lo == lo && again_hi == hi); /* same seed, same interval */

    CHECK(nnb_bootstrap_median_ratio(old_x, N, old_x, N, 0.95, 2000, 7, &ratio, &lo, &hi) == 0);
    CHECK_NEAR(ratio, 1.0, 0);
    CHECK_MSG(lo <= 1.0 && hi >= 1.0, "same data: interval [%g, %g] must hold 1", lo, hi);
    double bad[] = {1, -2};
    CHECK(nnb_bootstrap_median_ratio(old_x, N, bad, 2, 0.95, 100, 7, &ratio, &lo, &hi) == -1);
    CHECK(nnb_bootstrap_median_ratio(old_x, 0, new_x, N, 0.95, 100, 7, &ratio, &lo, &hi) == -1);
}

int main(void) {
    ranks_match_binomial_tables();
    hodges_lehmann_matches_brute_force_and_tables();
    median_interval_covers_at_least_its_level();
    verdicts_follow_the_interval();
    ab_rule_keeps_false_positives_rare_and_finds_five_percent();
    bootstrap_interval_brackets_a_known_ratio();
    return nnb_test_finish();
}
