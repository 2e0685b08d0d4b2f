/* 24 independent AVX-512 FMA chains on registers (vfmadd231ps zmm): built with -mavx512f, called only after the
 * CPU said it has AVX-512F (peak.c). */
#include "peak_internal.h"

#include <immintrin.h>

#define CHAIN_INIT(i) __m512 f##i = _mm512_set1_ps((float)(i)*one);
#define CHAIN_STEP(i) f##i = _mm512_fmadd_ps(f##i, x, x);
#define CHAIN_SUM(i) total += (double)_mm512_reduce_add_ps(f##i);
// clang-format off
#define CHAINS(X) \
    X(0) X(1) X(2) X(3) X(4) X(5) X(6) X(7) X(8) X(9) X(10) X(11) \
    X(12) X(13) X(14) X(15) X(16) X(17) X(18) X(19) X(20) X(21) X(22) X(23)
// clang-format on

double nnb_fma_chains_avx512(int64_t n, float one) {
    const __m512 x = _mm512_set1_ps(one); /* a run-time value: nothing folds at compile time */
    CHAINS(CHAIN_INIT)
    for (int64_t k = 0; k < n; k++) { /* 24 chains in registers: each FMA waits only on its own chain */
        CHAINS(CHAIN_STEP)
    }
    double total = -16.0 * 276 * one; /* the chains' start values, i * one for i < 24, are no multiply-adds */
    CHAINS(CHAIN_SUM)
    return total;
}
