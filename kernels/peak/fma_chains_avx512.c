/* 24 independent AVX-512 FMA chains on registers: built with -mavx512f, called only after the CPU said it has
 * AVX-512F (fma_peak.c). */
#include "fma_peak_internal.h"

#include <immintrin.h>

#define CHAIN_INIT(i) __m512 f##i = _mm512_set1_ps(1e-3f * (float)(i));
#define CHAIN_STEP(i) f##i = _mm512_fmadd_ps(f##i, x, y);
#define CHAINS(X)                                                                                                      \
    X(0)                                                                                                               \
    X(1)                                                                                                               \
    X(2)                                                                                                               \
    X(3) X(4) X(5) X(6) X(7) X(8) X(9) X(10) X(11) X(12) X(13) X(14) X(15) X(16) X(17) X(18) X(19) X(20) X(21) X(22)   \
        X(23)
float nnb_fma_chains_avx512(int64_t n) {
    const __m512 x = _mm512_set1_ps(0.999f), y = _mm512_set1_ps(1e-4f);
    CHAINS(CHAIN_INIT)
    for (int64_t k = 0; k < n; k++) { /* 24 chains in registers: each FMA waits only on its own chain */
        CHAINS(CHAIN_STEP)
    }
    __m512 s = _mm512_add_ps(_mm512_add_ps(_mm512_add_ps(f0, f1), _mm512_add_ps(f2, f3)),
                             _mm512_add_ps(_mm512_add_ps(f4, f5), _mm512_add_ps(f6, f7)));
    s = _mm512_add_ps(s, _mm512_add_ps(_mm512_add_ps(_mm512_add_ps(f8, f9), _mm512_add_ps(f10, f11)),
                                       _mm512_add_ps(_mm512_add_ps(f12, f13), _mm512_add_ps(f14, f15))));
    s = _mm512_add_ps(s, _mm512_add_ps(_mm512_add_ps(_mm512_add_ps(f16, f17), _mm512_add_ps(f18, f19)),
                                       _mm512_add_ps(_mm512_add_ps(f20, f21), _mm512_add_ps(f22, f23))));
    return _mm512_reduce_add_ps(s);
}
