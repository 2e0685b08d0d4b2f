/*
 * "confirmed" of history changes: the one-sided Mann-Whitney rank-sum p-value against values worked out by
 * hand from the textbook formulas (U, mid-ranks, tie-corrected variance, continuity correction).
 */
#include "changes.h"
#include "test_support.h"

#include <math.h>

static void near(double got, double want, const char *what) {
    CHECK_MSG(fabs(got - want) < 1e-6, "%s: p %.9f, expected %.9f", what, got, want);
}

int main(void) {
    const double low[] = {1, 2, 3}, high[] = {4, 5, 6};
    /* U = 9, mean 4.5, variance 3*3*7/12 = 5.25: z = (9 - 4.5 - 0.5) / sqrt(5.25). */
    near(changes_rank_sum_p(low, 3, high, 3, 1), 0.04042779918502615, "after above before");
    near(changes_rank_sum_p(low, 3, high, 3, 0), 0.9854518341293739, "the other direction");
    /* Ties: ranks 1.5 1.5 | 3.5 3.5 | 5.5 5.5; U = 8.5; variance 9/12 * (7 - 18/30) = 4.8. */
    const double tied_before[] = {1, 1, 2}, tied_after[] = {2, 3, 3};
    near(changes_rank_sum_p(tied_before, 3, tied_after, 3, 1), 0.05507446209297349, "with ties");
    const double same[] = {5, 5, 5, 5};
    near(changes_rank_sum_p(same, 2, same + 2, 2, 1), 1.0, "all equal");
    CHECK(isnan(changes_rank_sum_p(low, 0, high, 3, 1)));
    return nnb_test_finish();
}
