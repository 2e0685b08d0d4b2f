/* kernels/peak: each peak kernel's FLOP accounting against a count the kernel's own arithmetic makes, not
 * against timing. With every operand 1.0 and accumulators from 0, each accumulator lane grows by exactly the
 * multiply-adds it received, so the sum of all lanes after n iterations is the multiply-adds executed; the
 * FLOPs the peak divides by (nnb_peak_flops) must be twice that. The FLOPs per instruction are also held to the
 * values derived from the instruction set (16 fp32 FMA lanes, 16 lanes x 2 bf16 pairs, 16 x 16 x 32 AMX tile
 * multiply-adds, 32 fp16 lanes). Usage: peak_should_count_flops_per_instruction <kind key>; exits 77 (skip)
 * with the reason when this CPU lacks the kind's ISA. */
#include "peak.h"
#include "test_support.h"

#include <string.h>

static int kind_of(const char *key) {
    for (int k = 0; k < NNB_PEAK_KINDS; k++)
        if (!strcmp(nnb_peak_kernel_of(k)->key, key))
            return k;
    return -1;
}

/* FLOPs per instruction from the ISA: lanes x multiply-adds per lane x 2. */
static double derived_flops_per_instruction(int kind) {
    switch (kind) {
    case NNB_PEAK_FP32_FMA: return 16 * 1 * 2;       /* 512 bits / 32: 16 fp32 lanes, one FMA each */
    case NNB_PEAK_BF16_DOT: return 16 * 2 * 2;       /* 16 fp32 lanes, each += 2 bf16 products */
    case NNB_PEAK_BF16_AMX: return 16 * 16 * 32 * 2; /* C 16x16 fp32 += A 16x32 bf16 x B 32x16 bf16 */
    case NNB_PEAK_FP16_FMA: return 32 * 1 * 2;       /* 512 bits / 16: 32 fp16 lanes, one FMA each */
    default: return -1;
    }
}

int main(int argc, char **argv) {
    int kind = argc > 1 ? kind_of(argv[1]) : -1;
    if (kind < 0) {
        fprintf(stderr, "usage: %s fp32_fma|bf16_dot|bf16_amx|fp16_fma\n", argv[0]);
        return 2;
    }
    const nnb_peak_kernel *k = nnb_peak_kernel_of(kind);
    char why[256];
    if (!nnb_peak_available(kind, why, sizeof why)) {
        printf("SKIP: %s\n", why);
        CHECK_MSG(nnb_peak_gflops(kind, 1, 0.01, why, sizeof why) == 0, "an unavailable kind measures 0");
        CHECK_MSG(nnb_peak_count_macs(kind, 10) < 0, "an unavailable kind runs nothing");
        return nnb_test_failed ? nnb_test_finish() : 77;
    }
    CHECK_MSG(k->flops_per_instruction == derived_flops_per_instruction(kind),
              "%s: %g FLOPs per instruction, %g derived", k->instruction, k->flops_per_instruction,
              derived_flops_per_instruction(kind));
    for (int64_t n = 1; n <= 1000; n *= 10) {
        double macs = nnb_peak_count_macs(kind, n);
        CHECK_MSG(2 * macs == nnb_peak_flops(kind, n),
                  "%s, %lld iterations: %.0f multiply-adds counted, %.0f FLOPs claimed", k->instruction, (long long)n,
                  macs, nnb_peak_flops(kind, n));
    }
    CHECK_MSG(nnb_peak_count_macs(kind, 0) == 0, "no iterations, no multiply-adds");
    double g = nnb_peak_gflops(kind, 1, 0.01, why, sizeof why);
    CHECK_MSG(g > 0, "%s: a positive peak (%g GFLOP/s)", k->instruction, g);
    CHECK_MSG(nnb_peak_gflops(kind, 0, 0.01, why, sizeof why) == 0 && strstr(why, "threads"), "0 threads refused: %s",
              why);
    return nnb_test_finish();
}
