/*
 * The bf16 GEMM (kernels/cpu/gemm_bf16*.c):
 *   - the portable path against a double-accumulated product of the bf16-rounded operands (fp32 accumulation
 *     bound: |err| <= (K + 2) 2^-24 sum |a b| + 2^-24 |C|) on odd sizes (M, N, K not multiples of the 12x32 /
 *     8-row blocking, K odd), both transposes, beta 0 and 1, 1 and 3 threads;
 *   - known answers of the instruction's definition: RNE rounding of the operands (ties to even), the order of the
 *     two products of a pair (high element first), denormal inputs read as zero, denormal results flushed;
 *   - the AVX512_BF16 (vdpbf16ps) micro-kernels against the portable path bit for bit on the same problems, and
 *     the packed entry points (packed, packed_bias, packed_cols_multi) against nnb_sgemm bit for bit. This part
 *     needs a CPU with avx512_bf16; without one it says so and the portable checks still run;
 *   - the AMX (tdpbf16ps) path, where the OS grants tiles, against the same double reference and bound (its
 *     accumulation order is the hardware's, so not bit for bit), and its packed entry points against its own
 *     nnb_sgemm bit for bit.
 */
#include "cpu_kernels.h"
#include "nnb_precision.h"
#include "test_support.h"

#include <float.h>
#include <stdlib.h>
#include <string.h>

static uint64_t rng = 0x9e3779b97f4a7c15ull;
static float uniform_pm1(void) {
    rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
    return (float)((double)(rng >> 11) / 9007199254740992.0 * 2.0 - 1.0);
}

static float *random_floats(size_t n) {
    float *x = malloc(sizeof(float) * (n ? n : 1));
    for (size_t i = 0; i < n; i++)
        x[i] = uniform_pm1() * 3.0f;
    return x;
}

static float at(const float *X, int64_t ld, char t, int64_t r, int64_t c) {
    return t == 'N' ? X[r * ld + c] : X[c * ld + r];
}

typedef struct problem {
    int64_t M, N, K;
    char ta, tb;
    float beta;
} problem;

/* impl vs double reference; returns its result (caller frees) */
static float *check_bound(nnb_gemm_impl impl, const problem *p, const float *A, int64_t lda, const float *B,
                          int64_t ldb, const float *C0, int threads) {
    float *C = malloc(sizeof(float) * (size_t)(p->M * p->N));
    memcpy(C, C0, sizeof(float) * (size_t)(p->M * p->N));
    nnb_sgemm(impl, threads, p->ta, p->tb, p->M, p->N, p->K, A, lda, B, ldb, p->beta, C, p->N);
    int bad = 0;
    for (int64_t i = 0; i < p->M; i++)
        for (int64_t j = 0; j < p->N; j++) {
            double s = p->beta != 0.0f ? C0[i * p->N + j] : 0.0, mag = 0.0;
            for (int64_t k = 0; k < p->K; k++) {
                double ab = (double)nnb_round_bf16(at(A, lda, p->ta, i, k)) * nnb_round_bf16(at(B, ldb, p->tb, k, j));
                s += ab, mag += fabs(ab);
            }
            double tol = (double)(p->K + 2) * 0x1p-24 * mag + 0x1p-24 * fabs(s) + 1e-30;
            bad += fabs((double)C[i * p->N + j] - s) > tol;
        }
    CHECK_MSG(!bad,
              "%s bf16 GEMM M=%lld N=%lld K=%lld %c%c beta %g threads %d: %d elements off the fp32 "
              "accumulation bound",
              nnb_gemm_impl_name(impl), (long long)p->M, (long long)p->N, (long long)p->K, p->ta, p->tb,
              (double)p->beta, threads, bad);
    return C;
}

static void check_same_bits(const float *want, const float *got, int64_t n, const char *what, const problem *p) {
    CHECK_MSG(!memcmp(want, got, sizeof(float) * (size_t)n), "%s differs from portable bits: M=%lld N=%lld K=%lld %c%c",
              what, (long long)p->M, (long long)p->N, (long long)p->K, p->ta, p->tb);
}

/* The packed entry points of one implementation against its nnb_sgemm result (same arithmetic: same bits). */
static void check_packed(nnb_gemm_impl impl, const problem *p, const float *A, int64_t lda, const float *B, int64_t ldb,
                         const float *want_beta0) {
    nnb_packed_b bp;
    CHECK(nnb_pack_b(&bp, impl, p->tb, p->K, p->N, B, ldb) == 0);
    size_t mn = (size_t)(p->M * p->N);
    float *C = calloc(mn, sizeof(float)), *bias = random_floats((size_t)p->N), *want = malloc(sizeof(float) * mn);
    nnb_sgemm_packed(2, p->ta, p->M, A, lda, &bp, 0.0f, C, p->N);
    check_same_bits(want_beta0, C, (int64_t)mn, "nnb_sgemm_packed", p);
    for (int64_t i = 0; i < p->M; i++) /* bias folded: acc + bias, as nnb_sgemm's acc + C with C = bias rows */
        memcpy(want + i * p->N, bias, sizeof(float) * (size_t)p->N);
    nnb_sgemm(impl, 1, p->ta, p->tb, p->M, p->N, p->K, A, lda, B, ldb, 1.0f, want, p->N);
    nnb_sgemm_packed_bias(2, p->ta, p->M, A, lda, &bp, bias, C, p->N);
    check_same_bits(want, C, (int64_t)mn, "nnb_sgemm_packed_bias", p);
    memset(C, 0, sizeof(float) * mn); /* columns [32, N - 1) only; the rest stays 0 */
    const nnb_packed_b *bs[1] = {&bp};
    float *cs[1] = {C};
    nnb_sgemm_packed_cols_multi(p->ta, p->M, A, lda, 1, bs, cs, NNB_GEMM_NR, p->N - 1, 0.0f, p->N);
    int bad = 0;
    for (int64_t i = 0; i < p->M; i++)
        for (int64_t j = 0; j < p->N; j++) {
            float w = j >= NNB_GEMM_NR && j < p->N - 1 ? want_beta0[i * p->N + j] : 0.0f;
            bad += memcmp(&w, &C[i * p->N + j], sizeof w) != 0;
        }
    CHECK_MSG(!bad, "nnb_sgemm_packed_cols_multi (%s): %d elements differ", nnb_gemm_impl_name(impl), bad);
    nnb_packed_b_free(&bp);
    free(C), free(bias), free(want);
}

static void check_problem(const problem *p, int has_avx512_bf16) {
    int64_t lda = p->ta == 'N' ? p->K : p->M, ldb = p->tb == 'N' ? p->N : p->K;
    float *A = random_floats((size_t)(p->M * p->K)), *B = random_floats((size_t)(p->K * p->N));
    float *C0 = random_floats((size_t)(p->M * p->N));
    float *Cp = check_bound(NNB_GEMM_BF16_PORTABLE, p, A, lda, B, ldb, C0, 1);
    float *Cp3 = check_bound(NNB_GEMM_BF16_PORTABLE, p, A, lda, B, ldb, C0, 3);
    check_same_bits(Cp, Cp3, p->M * p->N, "portable with 3 threads", p);
    if (has_avx512_bf16) {
        float *Ca = malloc(sizeof(float) * (size_t)(p->M * p->N));
        memcpy(Ca, C0, sizeof(float) * (size_t)(p->M * p->N));
        nnb_sgemm(NNB_GEMM_BF16_AVX512, 2, p->ta, p->tb, p->M, p->N, p->K, A, lda, B, ldb, p->beta, Ca, p->N);
        check_same_bits(Cp, Ca, p->M * p->N, "avx512_bf16 kernel", p);
        free(Ca);
    }
    if (nnb_gemm_impl_available(NNB_GEMM_BF16_AMX)) {
        float *Cx = check_bound(NNB_GEMM_BF16_AMX, p, A, lda, B, ldb, C0, 2);
        if (p->beta == 0.0f)
            check_packed(NNB_GEMM_BF16_AMX, p, A, lda, B, ldb, Cx);
        free(Cx);
    }
    if (p->beta == 0.0f) {
        check_packed(NNB_GEMM_BF16_PORTABLE, p, A, lda, B, ldb, Cp);
        if (has_avx512_bf16)
            check_packed(NNB_GEMM_BF16_AVX512, p, A, lda, B, ldb, Cp);
    }
    free(A), free(B), free(C0), free(Cp), free(Cp3);
}

/* One output of a 1 x 1 x K product with B all ones, on every implementation available. */
static float dot_ones(nnb_gemm_impl impl, const float *a, int64_t K) {
    float ones[8] = {1, 1, 1, 1, 1, 1, 1, 1}, c = 0.0f;
    nnb_sgemm(impl, 1, 'N', 'N', 1, 1, K, a, K, ones, 1, 0.0f, &c, 1);
    return c;
}

static void check_known_answers(int has_avx512_bf16) {
    nnb_gemm_impl impls[2] = {NNB_GEMM_BF16_PORTABLE, NNB_GEMM_BF16_AVX512};
    for (int i = 0; i < 1 + has_avx512_bf16; i++) {
        const char *name = nnb_gemm_impl_name(impls[i]);
        /* RNE on packing: 1 + 2^-8 ties to 1; 1 + 3 2^-8 ties to 1 + 2^-6 (even); 1 + 2^-8 + 2^-20 rounds up */
        float t1[1] = {1.0f + 0x1p-8f}, t2[1] = {1.0f + 3 * 0x1p-8f}, t3[1] = {1.0f + 0x1p-8f + 0x1p-20f};
        CHECK_MSG(dot_ones(impls[i], t1, 1) == 1.0f, "%s: 1 + 2^-8 ties to even (1)", name);
        CHECK_MSG(dot_ones(impls[i], t2, 1) == 1.0f + 0x1p-6f, "%s: 1 + 3 2^-8 ties to even (1 + 2^-6)", name);
        CHECK_MSG(dot_ones(impls[i], t3, 1) == 1.0f + 0x1p-7f, "%s: above the tie rounds up", name);
        /* order within a pair: k = 3 (high) before k = 2 (low): 1 + 2^-24 = 1 (tie to even), then - 1 = 0;
         * the other order would give 2^-24 */
        float order[4] = {0.0f, 1.0f, -1.0f, 0x1p-24f};
        CHECK_MSG(dot_ones(impls[i], order, 4) == 0.0f, "%s: high element of a pair first", name);
        /* denormal bf16 input read as zero: 2^-130 * 1 would be 2^-130 (itself a denormal), 0 here; a product of
         * normal operands below 2^-126 is flushed too */
        float den[1] = {0x1p-130f};
        CHECK_MSG(dot_ones(impls[i], den, 1) == 0.0f, "%s: denormal input read as zero", name);
        float tiny_a[1] = {0x1p-70f}, tiny_b[1] = {0x1p-70f}, c = 1.0f;
        nnb_sgemm(impls[i], 1, 'N', 'N', 1, 1, 1, tiny_a, 1, tiny_b, 1, 0.0f, &c, 1);
        CHECK_MSG(c == 0.0f, "%s: denormal result 2^-140 flushed to zero (got %g)", name, (double)c);
    }
}

int main(void) {
    const int has = nnb_gemm_impl_available(NNB_GEMM_BF16_AVX512);
    if (!has)
        printf("NOTE: this CPU has no avx512_bf16: the vdpbf16ps kernel is not compared here (portable checks run)\n");
    if (!nnb_gemm_impl_available(NNB_GEMM_BF16_AMX))
        printf("NOTE: no AMX tiles for this process here: the AMX path is not checked\n");
    check_known_answers(has);
    const problem problems[] = {
        {1, 1, 1, 'N', 'N', 0.0f},     {13, 37, 5, 'N', 'N', 0.0f},   {29, 33, 63, 'N', 'T', 1.0f},
        {25, 70, 129, 'T', 'N', 0.0f}, {100, 65, 7, 'T', 'T', 1.0f},  {64, 96, 2, 'N', 'N', 0.0f},
        {37, 31, 300, 'N', 'T', 0.0f}, {12, 32, 1, 'T', 'N', 1.0f},   {160, 45, 33, 'N', 'N', 0.0f},
        {7, 129, 64, 'T', 'T', 0.0f},  {24, 64, 513, 'N', 'N', 1.0f},
    };
    for (size_t i = 0; i < sizeof problems / sizeof *problems; i++)
        check_problem(&problems[i], has);
    return nnb_test_finish();
}
