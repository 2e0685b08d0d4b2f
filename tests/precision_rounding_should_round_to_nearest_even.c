/*
 * kernels/precision (nnb_precision.h), the one rounding every precision's seeded problem and every 16-bit
 * conversion goes through, CPU and CUDA alike: known answers (ties to even, the sign, NaN staying NaN, overflow
 * to infinity, fp16's subnormals and its largest value), every 16-bit value surviving the round trip, and, over
 * a million seeded floats, the nearest-value property checked against both neighbours of the result (an
 * independent definition of round-to-nearest-even, not the bit arithmetic the code uses).
 */
#include "nnb_precision.h"
#include "nnb_support.h"
#include "test_support.h"

#include <stdint.h>

static uint32_t bits(float f) { return nnb_f32_bits(f); }

static void bf16_known_answers(void) {
    CHECK(nnb_bf16_from_f32(1.0f) == 0x3F80);
    CHECK(nnb_bf16_from_f32(nnb_f32_from_bits(0x3F808000)) == 0x3F80); /* tie: 1 + 2^-8 -> 1 (even) */
    CHECK(nnb_bf16_from_f32(nnb_f32_from_bits(0x3F818000)) == 0x3F82); /* tie -> the even neighbour above */
    CHECK(nnb_bf16_from_f32(nnb_f32_from_bits(0x3F808001)) == 0x3F81); /* just above the tie */
    CHECK(nnb_bf16_from_f32(nnb_f32_from_bits(0xBF818000)) == 0xBF82); /* the sign is kept */
    CHECK(nnb_bf16_from_f32(nnb_f32_from_bits(0x7F7FFFFF)) == 0x7F80); /* FLT_MAX rounds up to infinity */
    CHECK(nnb_bf16_from_f32(INFINITY) == 0x7F80 && nnb_bf16_from_f32(-INFINITY) == 0xFF80);
    uint16_t n = nnb_bf16_from_f32(nnb_f32_from_bits(0x7F800001)); /* signalling NaN with a low payload */
    CHECK((n & 0x7F80) == 0x7F80 && (n & 0x7F) != 0);              /* stays NaN (not infinity) */
    CHECK(nnb_bf16_from_f32(nnb_f32_from_bits(0xFFC00000)) == 0xFFC0);
    CHECK(nnb_f32_from_bf16(0x4049) == nnb_f32_from_bits(0x40490000));
}

static void fp16_known_answers(void) {
    CHECK(nnb_fp16_from_f32(1.0f) == 0x3C00 && nnb_fp16_from_f32(-2.0f) == 0xC000);
    CHECK(nnb_fp16_from_f32(1.0f + 0x1p-11f) == 0x3C00);     /* tie -> even */
    CHECK(nnb_fp16_from_f32(1.0f + 3 * 0x1p-11f) == 0x3C02); /* tie -> even above */
    CHECK(nnb_fp16_from_f32(65504.0f) == 0x7BFF);            /* the largest half */
    CHECK(nnb_fp16_from_f32(65519.99f) == 0x7BFF);           /* below the tie with 65536 */
    CHECK(nnb_fp16_from_f32(65520.0f) == 0x7C00);            /* the tie rounds to even: infinity */
    CHECK(nnb_fp16_from_f32(0x1p-24f) == 0x0001);            /* the smallest subnormal */
    CHECK(nnb_fp16_from_f32(0x1p-25f) == 0x0000);            /* half of it: tie -> 0 (even) */
    CHECK(nnb_fp16_from_f32(1.5f * 0x1p-25f) == 0x0001);     /* above the tie */
    CHECK(nnb_fp16_from_f32(1.5f * 0x1p-24f) == 0x0002);     /* tie between 1 and 2 ulps -> 2 */
    CHECK(nnb_fp16_from_f32(0x1p-14f - 0x1p-25f) == 0x0400); /* tie at the top of the subnormals -> normal */
    CHECK(nnb_fp16_from_f32(0x1p-14f) == 0x0400);            /* the smallest normal */
    CHECK(nnb_fp16_from_f32(-0.0f) == 0x8000);
    CHECK((nnb_fp16_from_f32(NAN) & 0x7E00) == 0x7E00);
    CHECK(nnb_f32_from_fp16(0x0001) == 0x1p-24f && nnb_f32_from_fp16(0x03FF) == 1023 * 0x1p-24f);
    CHECK(isinf(nnb_f32_from_fp16(0xFC00)) && nnb_f32_from_fp16(0xFC00) < 0);
}

static void tf32_and_arrays(void) {
    CHECK(nnb_round_tf32(1.0f + 0x1p-11f) == 1.0f);               /* tie -> even */
    CHECK(nnb_round_tf32(1.0f + 3 * 0x1p-11f) == 1.0f + 0x1p-9f); /* tie -> even above */
    CHECK(nnb_round_tf32(1.0f + 0x1p-12f) == 1.0f);
    float x[3] = {1.0f + 0x1p-9f, 1.0f + 0x1p-12f, -3.0f};
    nnb_round_to_precision(x, 3, 1); /* tf32: data stays fp32 */
    CHECK(x[1] == 1.0f + 0x1p-12f);
    nnb_round_to_precision(x, 3, 2); /* bf16 */
    CHECK(x[0] == 1.0f && x[1] == 1.0f && x[2] == -3.0f);
    CHECK(nnb_precision_unit_roundoff(0) == 0x1p-24 && nnb_precision_unit_roundoff(1) == 0x1p-11);
    CHECK(nnb_precision_unit_roundoff(2) == 0x1p-8 && nnb_precision_unit_roundoff(3) == 0x1p-11);
    CHECK(nnb_precision_unit_roundoff(4) == 0);
}

/* Every finite 16-bit value widens exactly and comes back to the same bits. */
static void round_trips(void) {
    int bad_bf16 = 0, bad_fp16 = 0;
    for (uint32_t b = 0; b < 0x10000; b++) {
        float f = nnb_f32_from_bf16((uint16_t)b);
        if (!isnan(f) && nnb_bf16_from_f32(f) != b)
            bad_bf16++;
        float h = nnb_f32_from_fp16((uint16_t)b);
        if (!isnan(h) && nnb_fp16_from_f32(h) != b)
            bad_fp16++;
    }
    CHECK_MSG(bad_bf16 == 0 && bad_fp16 == 0, "round trips: %d bf16 and %d fp16 values changed", bad_bf16, bad_fp16);
}

/* Nearest, ties to even, against the neighbours of the result: |f - r| <= |f - r'| for both neighbours r' of r
 * (one ulp below and above, in the format's own bits), and on a tie r's last bit is 0. */
static int nearest_even(double f, uint16_t r, float (*widen)(uint16_t), uint16_t max_finite) {
    uint16_t mag = r & 0x7FFF;
    if (mag > max_finite)
        return fabs(f) >= (double)widen(max_finite); /* overflow only beyond the largest finite value */
    double v = widen(r), d = fabs(f - v);
    for (int step = -1; step <= 1; step += 2) {
        int nb = (int)mag + step;
        if (nb < 0 || nb > max_finite)
            continue;
        double w = widen((uint16_t)((r & 0x8000) | nb)), dn = fabs(f - w);
        if (dn < d || (dn == d && (mag & 1)))
            return 0;
    }
    return 1;
}

static void nearest_on_seeded_floats(void) {
    nnb_rng rng = nnb_rng_for(20261206, "precision rounding");
    int bad_bf16 = 0, bad_fp16 = 0;
    for (int i = 0; i < 1000000; i++) {
        uint32_t u = (uint32_t)nnb_rng_next_u64(&rng);
        if (i & 1) /* half of them in fp16's range, subnormals included */
            u = (u & 0x80000000u) | (0x33000000u + (u & 0x7FFFFFFu) % (0x47800000u - 0x33000000u));
        float f = nnb_f32_from_bits(u);
        if (isnan(f) || isinf(f))
            continue;
        bad_bf16 += !nearest_even(f, nnb_bf16_from_f32(f), nnb_f32_from_bf16, 0x7F7F);
        bad_fp16 += !nearest_even(f, nnb_fp16_from_f32(f), nnb_f32_from_fp16, 0x7BFF);
    }
    CHECK_MSG(bad_bf16 == 0 && bad_fp16 == 0, "not nearest-even: %d bf16, %d fp16 of 1e6", bad_bf16, bad_fp16);
    CHECK(bits(nnb_round_bf16(0.1f)) == 0x3DCD0000u); /* 0.1f = 0x3DCCCCCD rounds up */
}

int main(void) {
    bf16_known_answers();
    fp16_known_answers();
    tf32_and_arrays();
    round_trips();
    nearest_on_seeded_floats();
    return nnb_test_finish();
}
