/* AMX bf16 GEMM kernel (tdpbf16ps). Compiled with -mamx-tile -mamx-bf16 -mavx512f (this file only) and called
 * only when nnb_gemm_impl_available(NNB_GEMM_BF16_AMX) said yes: the CPU has AMX-BF16 and the kernel granted this
 * process tile data (nnb_cpu_amx_ready). Layouts: gemm_internal.h. */
#include "gemm_internal.h"

#include <immintrin.h>

/* LDTILECFG's 64-byte operand, palette 1: every tile used is 16 rows of 64 bytes (C: 16 x 16 fp32; A: 16 rows x 32
 * bf16; B: 16 pairs x 16 columns x 2 bf16). */
typedef struct tile_config {
    uint8_t palette, start_row, reserved[14];
    uint16_t colsb[16];
    uint8_t rows[16];
} tile_config;

/* Tile configuration is per thread and other code on the thread (oneDNN) may change or release it: every product
 * configures on entry and releases when done (nnb_gemm_amx_begin / _end around a thread's kernel calls). */
void nnb_gemm_amx_begin(void) {
    /* static data: gcc 12 does not see that ldtilecfg reads its operand and dropped the stores to a local one */
    static const tile_config cfg __attribute__((aligned(64))) = {
        .palette = 1,
        .colsb = {64, 64, 64, 64, 64, 64, 64, 64},
        .rows = {16, 16, 16, 16, 16, 16, 16, 16},
    };
    _tile_loadconfig(&cfg);
}

void nnb_gemm_amx_end(void) { _tile_release(); }

/* Tiles: 0-3 C (rows 0-15 / 16-31 x columns 0-15 / 16-31), 4-5 A (rows 0-15 / 16-31), 6-7 B (columns 0-15 /
 * 16-31). Per 32 k: four tile loads, four tdpbf16ps (16 x 16 x 32 multiply-adds each). */
void nnb_gemm_amx_bf16_rows(int64_t kp, const uint16_t *Ap, int64_t rows, const uint32_t *Bp, float *C, int64_t ldc,
                            int n, int accumulate, const float *bias) {
    const int64_t kpad = 2 * kp, a_stride = kpad * (int64_t)sizeof(uint16_t);
    const int b_stride = NNB_GEMM_NR * (int)sizeof(uint32_t);
    float out[32][32] __attribute__((aligned(64))); /* one 32 x 32 block of results */
    const __mmask16 k0 = n >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << n) - 1u);
    const __mmask16 k1 = n >= 32 ? (__mmask16)0xFFFF : n <= 16 ? (__mmask16)0 : (__mmask16)((1u << (n - 16)) - 1u);
    __m512 bias0 = _mm512_setzero_ps(), bias1 = _mm512_setzero_ps();
    if (bias && !accumulate) {
        bias0 = _mm512_maskz_loadu_ps(k0, bias);
        bias1 = _mm512_maskz_loadu_ps(k1, bias + 16);
    }
    for (int64_t r0 = 0; r0 < rows; r0 += 32) {
        const uint16_t *a = Ap + r0 * kpad;
        _tile_zero(0);
        _tile_zero(1);
        _tile_zero(2);
        _tile_zero(3);
        for (int64_t p = 0; p < kp; p += 16) {
            _tile_loadd(4, a + 2 * p, a_stride);
            _tile_loadd(5, a + 16 * kpad + 2 * p, a_stride);
            _tile_loadd(6, Bp + p * NNB_GEMM_NR, b_stride);
            _tile_loadd(7, Bp + p * NNB_GEMM_NR + 16, b_stride);
            _tile_dpbf16ps(0, 4, 6);
            _tile_dpbf16ps(1, 4, 7);
            _tile_dpbf16ps(2, 5, 6);
            _tile_dpbf16ps(3, 5, 7);
        }
        _tile_stored(0, &out[0][0], 128);
        _tile_stored(1, &out[0][16], 128);
        _tile_stored(2, &out[16][0], 128);
        _tile_stored(3, &out[16][16], 128);
        const int m = rows - r0 < 32 ? (int)(rows - r0) : 32;
        for (int i = 0; i < m; i++) {
            float *cr = C + (r0 + i) * ldc;
            __m512 v0 = _mm512_load_ps(&out[i][0]), v1 = _mm512_load_ps(&out[i][16]);
            if (accumulate) {
                v0 = _mm512_add_ps(v0, _mm512_maskz_loadu_ps(k0, cr));
                v1 = _mm512_add_ps(v1, _mm512_maskz_loadu_ps(k1, cr + 16));
            } else if (bias) {
                v0 = _mm512_add_ps(v0, bias0);
                v1 = _mm512_add_ps(v1, bias1);
            }
            _mm512_mask_storeu_ps(cr, k0, v0);
            _mm512_mask_storeu_ps(cr + 16, k1, v1);
        }
    }
}
