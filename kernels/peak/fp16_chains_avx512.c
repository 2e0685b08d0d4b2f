/* 24 independent vfmadd231ph zmm chains on registers (32 fp16 lanes each): built with -mavx512fp16, called only
 * after the CPU said it has avx512_fp16 (peak.c). */
#include "peak_internal.h"

#include <immintrin.h>

#define CHAIN_INIT(i) __m512h f##i = _mm512_set1_ph((_Float16)((float)(i)*one));
#define CHAIN_STEP(i) f##i = _mm512_fmadd_ph(f##i, x, x);
#define CHAIN_SUM(i) total += lanes_sum(f##i);
// clang-format off
#define CHAINS(X) \
    X(0) X(1) X(2) X(3) X(4) X(5) X(6) X(7) X(8) X(9) X(10) X(11) \
    X(12) X(13) X(14) X(15) X(16) X(17) X(18) X(19) X(20) X(21) X(22) X(23)
// clang-format on

/* The 32 fp16 lanes summed in double (an fp16 sum would overflow past 65504). */
static double lanes_sum(__m512h v) {
    _Float16 lanes[32];
    _mm512_storeu_ph(lanes, v);
    double s = 0;
    for (int i = 0; i < 32; i++)
        s += (double)lanes[i];
    return s;
}

double nnb_fp16_chains_avx512(int64_t n, float one) {
    const __m512h x = _mm512_set1_ph((_Float16)one);
    CHAINS(CHAIN_INIT)
    for (int64_t k = 0; k < n; k++) {
        CHAINS(CHAIN_STEP)
    }
    double total = -32.0 * 276 * one; /* the chains' start values, i * one for i < 24, are no multiply-adds */
    CHAINS(CHAIN_SUM)
    return total;
}
