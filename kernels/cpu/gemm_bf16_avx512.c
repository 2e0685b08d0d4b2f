/* AVX512_BF16 GEMM micro-kernels (12x32 and 8x32) on bf16 K pairs, fp32 accumulation (vdpbf16ps). Compiled with
 * -mavx512f -mavx512bf16 (this file only) and called only after nnb_cpu_has_avx512_bf16() said yes
 * (nnb_gemm_impl_available). Shapes and A panel layout as the fp32 kernels (gemm_avx512.c); see gemm_internal.h
 * for the pair layout and the exact arithmetic, which the portable emulation in gemm_bf16.c reproduces. */
#include "gemm_internal.h"

#include <immintrin.h>

/* One pair step for row r: 32-bit broadcast of its (k, k+1) pair times the two B vectors (16 columns each). */
#define DP(r, src)                                                                                                     \
    {                                                                                                                  \
        __m512bh a_ = (__m512bh)_mm512_set1_epi32((int)(src));                                                         \
        d##r##0 = _mm512_dpbf16_ps(d##r##0, a_, b0);                                                                   \
        d##r##1 = _mm512_dpbf16_ps(d##r##1, a_, b1);                                                                   \
    }
#define ACC(r) __m512 d##r##0 = _mm512_setzero_ps(), d##r##1 = _mm512_setzero_ps();
#define STORE(r)                                                                                                       \
    if (r < m) {                                                                                                       \
        float *cr = C + (int64_t)r * ldc;                                                                              \
        if (accumulate) {                                                                                              \
            d##r##0 = _mm512_add_ps(d##r##0, _mm512_maskz_loadu_ps(k0, cr));                                           \
            d##r##1 = _mm512_add_ps(d##r##1, _mm512_maskz_loadu_ps(k1, cr + 16));                                      \
        } else if (bias) {                                                                                             \
            d##r##0 = _mm512_add_ps(d##r##0, bias0);                                                                   \
            d##r##1 = _mm512_add_ps(d##r##1, bias1);                                                                   \
        }                                                                                                              \
        _mm512_mask_storeu_ps(cr, k0, d##r##0);                                                                        \
        _mm512_mask_storeu_ps(cr + 16, k1, d##r##1);                                                                   \
    }
#define LOAD_B()                                                                                                       \
    __m512bh b0 = (__m512bh)_mm512_loadu_si512(bp), b1 = (__m512bh)_mm512_loadu_si512(bp + 16);                        \
    _mm_prefetch((const char *)(bp + 32 * 8), _MM_HINT_T0);
#define EPILOGUE_MASKS()                                                                                               \
    __mmask16 k0 = n >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << n) - 1u);                                          \
    __mmask16 k1 = n >= 32 ? (__mmask16)0xFFFF : n <= 16 ? (__mmask16)0 : (__mmask16)((1u << (n - 16)) - 1u);          \
    __m512 bias0 = _mm512_setzero_ps(), bias1 = _mm512_setzero_ps();                                                   \
    if (bias && !accumulate) {                                                                                         \
        bias0 = _mm512_maskz_loadu_ps(k0, bias);                                                                       \
        bias1 = _mm512_maskz_loadu_ps(k1, bias + 16);                                                                  \
    }

void nnb_gemm_kernel_8x32_bf16(int64_t kp, const uint32_t *Ap, const uint32_t *Bp, float *C, int64_t ldc, int m, int n,
                               int accumulate, const float *bias) {
    ACC(0) ACC(1) ACC(2) ACC(3) ACC(4) ACC(5) ACC(6) ACC(7);
    const uint32_t *ap = Ap, *bp = Bp;
    for (int64_t p = 0; p < kp; p++) {
        LOAD_B()
        DP(0, ap[0]) DP(1, ap[1]) DP(2, ap[2]) DP(3, ap[3]) DP(4, ap[4]) DP(5, ap[5]) DP(6, ap[6]) DP(7, ap[7]);
        ap += NNB_GEMM_MR;
        bp += NNB_GEMM_NR;
    }
    EPILOGUE_MASKS()
    STORE(0) STORE(1) STORE(2) STORE(3) STORE(4) STORE(5) STORE(6) STORE(7)
}

/* 12 rows: lo rows of a0 then 12 - lo of a1 (stride 8 both; lo 8 or 4), as nnb_gemm_kernel_12x32_avx512. */
#define STEP12(LO)                                                                                                     \
    do {                                                                                                               \
        LOAD_B()                                                                                                       \
        DP(0, 0 < LO ? a0[0] : a1[0 - LO])                                                                             \
        DP(1, 1 < LO ? a0[1] : a1[1 - LO])                                                                             \
        DP(2, 2 < LO ? a0[2] : a1[2 - LO])                                                                             \
        DP(3, 3 < LO ? a0[3] : a1[3 - LO])                                                                             \
        DP(4, 4 < LO ? a0[4] : a1[4 - LO])                                                                             \
        DP(5, 5 < LO ? a0[5] : a1[5 - LO])                                                                             \
        DP(6, 6 < LO ? a0[6] : a1[6 - LO])                                                                             \
        DP(7, 7 < LO ? a0[7] : a1[7 - LO])                                                                             \
        DP(8, a1[8 - LO])                                                                                              \
        DP(9, a1[9 - LO])                                                                                              \
        DP(10, a1[10 - LO])                                                                                            \
        DP(11, a1[11 - LO])                                                                                            \
        a0 += NNB_GEMM_MR;                                                                                             \
        a1 += NNB_GEMM_MR;                                                                                             \
        bp += NNB_GEMM_NR;                                                                                             \
    } while (0)

void nnb_gemm_kernel_12x32_bf16(int64_t kp, const uint32_t *a0, const uint32_t *a1, int lo, const uint32_t *Bp,
                                float *C, int64_t ldc, int m, int n, int accumulate, const float *bias) {
    ACC(0) ACC(1) ACC(2) ACC(3) ACC(4) ACC(5) ACC(6) ACC(7) ACC(8) ACC(9) ACC(10) ACC(11);
    const uint32_t *bp = Bp;
    if (lo == 8)
        for (int64_t p = 0; p < kp; p++)
            STEP12(8);
    else
        for (int64_t p = 0; p < kp; p++)
            STEP12(4);
    EPILOGUE_MASKS()
    STORE(0) STORE(1) STORE(2) STORE(3) STORE(4) STORE(5) STORE(6) STORE(7) STORE(8) STORE(9) STORE(10) STORE(11)
}
