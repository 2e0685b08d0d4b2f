/* AVX-512 8x32 GEMM micro-kernel. Compiled with -mavx512f (this file only) and
 * called only after nnb_cpu_isa_detect() said the CPU has AVX-512F. */
#include "gemm_internal.h"

#include <immintrin.h>

#define ROW_ACC(r) __m512 c##r##0 = _mm512_setzero_ps(), c##r##1 = _mm512_setzero_ps()
#define ROW_FMA(r)                                                                                                     \
    do {                                                                                                               \
        __m512 a_ = _mm512_set1_ps(ap[r]);                                                                             \
        c##r##0 = _mm512_fmadd_ps(a_, b0, c##r##0);                                                                    \
        c##r##1 = _mm512_fmadd_ps(a_, b1, c##r##1);                                                                    \
    } while (0)
#define ROW_STORE(r)                                                                                                   \
    if (r < m) {                                                                                                       \
        float *cr = C + (int64_t)r * ldc;                                                                              \
        if (accumulate) {                                                                                              \
            c##r##0 = _mm512_add_ps(c##r##0, _mm512_maskz_loadu_ps(k0, cr));                                           \
            c##r##1 = _mm512_add_ps(c##r##1, _mm512_maskz_loadu_ps(k1, cr + 16));                                      \
        } else if (bias) {                                                                                             \
            c##r##0 = _mm512_add_ps(c##r##0, bias0);                                                                   \
            c##r##1 = _mm512_add_ps(c##r##1, bias1);                                                                   \
        }                                                                                                              \
        _mm512_mask_storeu_ps(cr, k0, c##r##0);                                                                        \
        _mm512_mask_storeu_ps(cr + 16, k1, c##r##1);                                                                   \
    }

/* C (m <= 8, n <= 32) (+)= Ap (kc, 8) . Bp (kc, 32); both packed, zero padded.
 * Without accumulate, bias (n) (or NULL) is added to every row: a folded bias.
 * pf: kc cache lines (16 floats each) the caller will read next (the next B panel), pulled into L2 one line per k
 * step so that the next panel's first pass does not wait on L3; the C tile is prefetched before the k loop so
 * the epilogue does not wait either. The k loop is unrolled by 4. */
void nnb_gemm_kernel_8x32_avx512(int64_t kc, const float *restrict Ap, const float *restrict Bp, float *C, int64_t ldc,
                                 int m, int n, int accumulate, const float *bias, const float *pf) {
    for (int r = 0; r < m; r++) {
        _mm_prefetch((const char *)(C + (int64_t)r * ldc), _MM_HINT_T0);
        _mm_prefetch((const char *)(C + (int64_t)r * ldc + 16), _MM_HINT_T0);
    }
    ROW_ACC(0);
    ROW_ACC(1);
    ROW_ACC(2);
    ROW_ACC(3);
    ROW_ACC(4);
    ROW_ACC(5);
    ROW_ACC(6);
    ROW_ACC(7);
    const float *ap = Ap, *bp = Bp;
    int64_t k = 0;
    for (; k + 4 <= kc; k += 4) {
        for (int u = 0; u < 4; u++) { /* fully unrolled by gcc: constant trip count */
            __m512 b0 = _mm512_loadu_ps(bp), b1 = _mm512_loadu_ps(bp + 16);
            _mm_prefetch((const char *)(bp + 32 * 8), _MM_HINT_T0);
            _mm_prefetch((const char *)pf, _MM_HINT_T1);
            ROW_FMA(0);
            ROW_FMA(1);
            ROW_FMA(2);
            ROW_FMA(3);
            ROW_FMA(4);
            ROW_FMA(5);
            ROW_FMA(6);
            ROW_FMA(7);
            ap += NNB_GEMM_MR;
            bp += NNB_GEMM_NR;
            pf += 16;
        }
    }
    for (; k < kc; k++) {
        __m512 b0 = _mm512_loadu_ps(bp), b1 = _mm512_loadu_ps(bp + 16);
        ROW_FMA(0);
        ROW_FMA(1);
        ROW_FMA(2);
        ROW_FMA(3);
        ROW_FMA(4);
        ROW_FMA(5);
        ROW_FMA(6);
        ROW_FMA(7);
        ap += NNB_GEMM_MR;
        bp += NNB_GEMM_NR;
    }
    __mmask16 k0 = n >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << n) - 1u);
    __mmask16 k1 = n >= 32 ? (__mmask16)0xFFFF : n <= 16 ? (__mmask16)0 : (__mmask16)((1u << (n - 16)) - 1u);
    __m512 bias0 = _mm512_setzero_ps(), bias1 = _mm512_setzero_ps();
    if (bias && !accumulate) {
        bias0 = _mm512_maskz_loadu_ps(k0, bias);
        bias1 = _mm512_maskz_loadu_ps(k1, bias + 16);
    }
    ROW_STORE(0) ROW_STORE(1) ROW_STORE(2) ROW_STORE(3) ROW_STORE(4) ROW_STORE(5) ROW_STORE(6) ROW_STORE(7)
}
