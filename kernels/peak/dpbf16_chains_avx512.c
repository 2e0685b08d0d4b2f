/* 24 independent vdpbf16ps zmm chains on registers: built with -mavx512bf16, called only after the CPU said it
 * has avx512_bf16 (peak.c). Each instruction adds, to each of 16 fp32 lanes, the dot product of 2 bf16 pairs. */
#include "peak_internal.h"

#include <immintrin.h>
#include <string.h>

#define CHAIN_INIT(i) __m512 f##i = _mm512_set1_ps((float)(i)*one);
#define CHAIN_STEP(i) f##i = _mm512_dpbf16_ps(f##i, x, x);
#define CHAIN_SUM(i) total += (double)_mm512_reduce_add_ps(f##i);
// clang-format off
#define CHAINS(X) \
    X(0) X(1) X(2) X(3) X(4) X(5) X(6) X(7) X(8) X(9) X(10) X(11) \
    X(12) X(13) X(14) X(15) X(16) X(17) X(18) X(19) X(20) X(21) X(22) X(23)
// clang-format on

double nnb_dpbf16_chains_avx512(int64_t n, float one) {
    uint32_t bits;
    memcpy(&bits, &one, sizeof bits);
    const uint32_t pair = (bits >> 16) * 0x00010001u; /* two bf16 copies (one = 1.0 is exact in bf16) */
    const __m512bh x = (__m512bh)_mm512_set1_epi32((int)pair);
    CHAINS(CHAIN_INIT)
    for (int64_t k = 0; k < n; k++) {
        CHAINS(CHAIN_STEP)
    }
    double total = -16.0 * 276 * one; /* the chains' start values, i * one for i < 24, are no multiply-adds */
    CHAINS(CHAIN_SUM)
    return total;
}
