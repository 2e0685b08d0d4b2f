/* Phase statistics: mean, sample std (N-1), min, median, max. */
#include "phase_stats.h"
#include "test_support.h"

int main(void) {
    double odd[] = {5, 1, 4, 2, 3};
    nnb_phase_stats s = {.count = 5, .samples_ms = odd};
    nnb_stats_compute(&s);
    CHECK_NEAR(s.mean, 3.0, 1e-12);
    CHECK_NEAR(s.std, 1.5811388300841898, 1e-12); /* sqrt(10/4) */
    CHECK_NEAR(s.min, 1.0, 0);
    CHECK_NEAR(s.max, 5.0, 0);
    CHECK_NEAR(s.median, 3.0, 0);
    CHECK(odd[0] == 5 && odd[4] == 3); /* samples stay in iteration order */

    double even[] = {10, 2, 8, 4};
    nnb_phase_stats e = {.count = 4, .samples_ms = even};
    nnb_stats_compute(&e);
    CHECK_NEAR(e.median, 6.0, 0);
    CHECK_NEAR(e.std, 3.6514837167011076, 1e-12); /* sqrt(40/3) */

    double one[] = {7};
    nnb_phase_stats o = {.count = 1, .samples_ms = one};
    nnb_stats_compute(&o);
    CHECK_NEAR(o.std, 0.0, 0);
    CHECK_NEAR(o.median, 7.0, 0);
    return nnb_test_finish();
}
