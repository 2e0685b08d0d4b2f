/* AVX-512 GEMM micro-kernels (12x32 and 8x32). Compiled with -mavx512f (this file only) and
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
 * the epilogue does not wait either. */
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
    for (int64_t k = 0; k < kc; k++) {
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
    __mmask16 k0 = n >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << n) - 1u);
    __mmask16 k1 = n >= 32 ? (__mmask16)0xFFFF : n <= 16 ? (__mmask16)0 : (__mmask16)((1u << (n - 16)) - 1u);
    __m512 bias0 = _mm512_setzero_ps(), bias1 = _mm512_setzero_ps();
    if (bias && !accumulate) {
        bias0 = _mm512_maskz_loadu_ps(k0, bias);
        bias1 = _mm512_maskz_loadu_ps(k1, bias + 16);
    }
    ROW_STORE(0) ROW_STORE(1) ROW_STORE(2) ROW_STORE(3) ROW_STORE(4) ROW_STORE(5) ROW_STORE(6) ROW_STORE(7)
}

/* 12x32: 24 accumulators, so each B row (two vectors) feeds 24 FMAs instead of 16 (a third fewer B loads per
 * FMA than 8x32; what matters when B comes from L2). A stays packed in 8-row panels (the public layout): the
 * 12 rows are `lo` rows of a0 (a panel, or the second half of one: stride 8 either way) then 12 - lo rows of
 * a1 (the next panel). lo is 8 or 4. Rows >= m are computed from the zero padding and not stored. */
#define ACC12(r) __m512 d##r##0 = _mm512_setzero_ps(), d##r##1 = _mm512_setzero_ps();
#define FMA12(r, src)                                                                                                  \
    {                                                                                                                  \
        __m512 a_ = _mm512_set1_ps(src);                                                                               \
        d##r##0 = _mm512_fmadd_ps(a_, b0, d##r##0);                                                                    \
        d##r##1 = _mm512_fmadd_ps(a_, b1, d##r##1);                                                                    \
    }
/* one k step; row r reads a0[r] for r < LO, else a1[r - LO] (LO a constant: the choice folds away) */
#define K_STEP12(LO)                                                                                                   \
    do {                                                                                                               \
        __m512 b0 = _mm512_loadu_ps(bp), b1 = _mm512_loadu_ps(bp + 16);                                                \
        _mm_prefetch((const char *)(bp + 32 * 8), _MM_HINT_T0);                                                        \
        _mm_prefetch((const char *)pf, _MM_HINT_T1);                                                                   \
        FMA12(0, 0 < LO ? a0[0] : a1[0 - LO])                                                                          \
        FMA12(1, 1 < LO ? a0[1] : a1[1 - LO])                                                                          \
        FMA12(2, 2 < LO ? a0[2] : a1[2 - LO])                                                                          \
        FMA12(3, 3 < LO ? a0[3] : a1[3 - LO])                                                                          \
        FMA12(4, 4 < LO ? a0[4] : a1[4 - LO])                                                                          \
        FMA12(5, 5 < LO ? a0[5] : a1[5 - LO])                                                                          \
        FMA12(6, 6 < LO ? a0[6] : a1[6 - LO])                                                                          \
        FMA12(7, 7 < LO ? a0[7] : a1[7 - LO])                                                                          \
        FMA12(8, a1[8 - LO])                                                                                           \
        FMA12(9, a1[9 - LO])                                                                                           \
        FMA12(10, a1[10 - LO])                                                                                         \
        FMA12(11, a1[11 - LO])                                                                                         \
        a0 += NNB_GEMM_MR;                                                                                             \
        a1 += NNB_GEMM_MR;                                                                                             \
        bp += NNB_GEMM_NR;                                                                                             \
        pf += 16;                                                                                                      \
    } while (0)
#define ROW_STORE12(r)                                                                                                 \
    if (r < m) {                                                                                                       \
        float *cr = C + (int64_t)r * ldc;                                                                              \
        if (accumulate) {                                                                                              \
            d##r##0 = _mm512_add_ps(d##r##0, _mm512_maskz_loadu_ps(k0, cr));                                           \
            d##r##1 = _mm512_add_ps(d##r##1, _mm512_maskz_loadu_ps(k1, cr + 16));                                      \
        } else {                                                                                                       \
            d##r##0 = _mm512_add_ps(d##r##0, bias0);                                                                   \
            d##r##1 = _mm512_add_ps(d##r##1, bias1);                                                                   \
        }                                                                                                              \
        _mm512_mask_storeu_ps(cr, k0, d##r##0);                                                                        \
        _mm512_mask_storeu_ps(cr + 16, k1, d##r##1);                                                                   \
    }

void nnb_gemm_kernel_12x32_avx512(int64_t kc, const float *a0, const float *a1, int lo, const float *restrict Bp,
                                  float *C, int64_t ldc, int m, int n, int accumulate, const float *bias,
                                  const float *pf) {
    for (int r = 0; r < m; r++) {
        _mm_prefetch((const char *)(C + (int64_t)r * ldc), _MM_HINT_T0);
        _mm_prefetch((const char *)(C + (int64_t)r * ldc + 16), _MM_HINT_T0);
    }
    ACC12(0)
    ACC12(1)
    ACC12(2) ACC12(3) ACC12(4) ACC12(5) ACC12(6) ACC12(7) ACC12(8) ACC12(9) ACC12(10) ACC12(11) const float *bp = Bp;
    if (lo == 8)
        for (int64_t k = 0; k < kc; k++)
            K_STEP12(8);
    else
        for (int64_t k = 0; k < kc; k++)
            K_STEP12(4);
    __mmask16 k0 = n >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << n) - 1u);
    __mmask16 k1 = n >= 32 ? (__mmask16)0xFFFF : n <= 16 ? (__mmask16)0 : (__mmask16)((1u << (n - 16)) - 1u);
    __m512 bias0 = _mm512_setzero_ps(), bias1 = _mm512_setzero_ps();
    if (bias && !accumulate) {
        bias0 = _mm512_maskz_loadu_ps(k0, bias);
        bias1 = _mm512_maskz_loadu_ps(k1, bias + 16);
    }
    ROW_STORE12(0)
    ROW_STORE12(1)
    ROW_STORE12(2)
    ROW_STORE12(3) ROW_STORE12(4) ROW_STORE12(5) ROW_STORE12(6) ROW_STORE12(7) ROW_STORE12(8) ROW_STORE12(9)
        ROW_STORE12(10) ROW_STORE12(11)
}

/* 16 floats (m: which) -> their bf16 bits in the low halves of 16 dwords: RNE, a NaN stays a quiet NaN of its sign
 * (nnb_bf16_from_f32's rule). */
static inline __m512i bf16_bits_epi32(const float *src, __mmask16 m) {
    const __m512i one = _mm512_set1_epi32(1), bias = _mm512_set1_epi32(0x7fff),
                  abs_mask = _mm512_set1_epi32(0x7fffffff), inf = _mm512_set1_epi32(0x7f800000),
                  quiet = _mm512_set1_epi32(0x40);
    __m512i u = _mm512_castps_si512(_mm512_maskz_loadu_ps(m, src));
    __m512i lsb = _mm512_and_si512(_mm512_srli_epi32(u, 16), one);
    __m512i r = _mm512_srli_epi32(_mm512_add_epi32(u, _mm512_add_epi32(bias, lsb)), 16);
    __mmask16 nan = _mm512_cmpgt_epi32_mask(_mm512_and_si512(u, abs_mask), inf);
    return _mm512_mask_or_epi32(r, nan, _mm512_srli_epi32(u, 16), quiet);
}

static inline __mmask16 first_lanes(int64_t n) { return n >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << n) - 1u); }

void nnb_bf16_from_f32_row_avx512(const float *src, uint16_t *dst, int64_t n) {
    for (int64_t k = 0; k < n; k += 16) {
        __mmask16 m = first_lanes(n - k);
        _mm512_mask_cvtepi32_storeu_epi16(dst + k, m, bf16_bits_epi32(src + k, m));
    }
}

void nnb_bf16_pair_rows_avx512(const float *lo, const float *hi, int64_t n, int64_t width, uint32_t *dst) {
    for (int64_t j = 0; j < width; j += 16) {
        __mmask16 m = first_lanes(n - j < 0 ? 0 : n - j);
        __m512i l = bf16_bits_epi32(lo + j, m);
        __m512i h = hi ? bf16_bits_epi32(hi + j, m) : _mm512_setzero_si512();
        _mm512_storeu_si512(dst + j, _mm512_or_si512(l, _mm512_slli_epi32(h, 16)));
    }
}
