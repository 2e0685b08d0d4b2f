/* Internal to nnb_cpu_kernels: per-ISA entry points, the own GEMM's blocking and packing. */
#ifndef NNB_GEMM_INTERNAL_H
#define NNB_GEMM_INTERNAL_H

#include "cpu_kernels.h"

/* AVX-512 micro-kernels (gemm_avx512.c): C (m, n <= 32) (+)= A (kc, rows) . B panel (kc, 32), A in 8-row panels.
 * pf: kc cache lines to pull into L2 meanwhile (the next B panel's share). The 12-row kernel reads lo rows from a0
 * then 12 - lo from a1 (two neighbouring 8-row panels; lo 8 or 4). */
void nnb_gemm_kernel_8x32_avx512(int64_t kc, const float *restrict Ap, const float *restrict Bp, float *C, int64_t ldc,
                                 int m, int n, int accumulate, const float *bias, const float *pf);
void nnb_gemm_kernel_12x32_avx512(int64_t kc, const float *a0, const float *a1, int lo, const float *restrict Bp,
                                  float *C, int64_t ldc, int m, int n, int accumulate, const float *bias,
                                  const float *pf);

/* bf16 micro-kernels: the fp32 kernels' shapes over bf16 K pairs (a uint32 holds k = 2p in its low half, 2p + 1
 * in its high half). A: 8-row panels (kp, 8) pairs; B: a panel (kp, 32) pairs. Per pair and output, in this order:
 * acc += a_hi b_hi; acc += a_lo b_lo (each an FMA rounded to nearest even, denormal inputs read as zero, denormal
 * results flushed to zero), acc starting at 0; then C = acc + C (accumulate) or acc + bias[j] (bias) or acc.
 * gemm_bf16_avx512.c (vdpbf16ps) and the portable emulation in gemm_bf16.c give the same bits. */
void nnb_gemm_kernel_8x32_bf16(int64_t kp, const uint32_t *Ap, const uint32_t *Bp, float *C, int64_t ldc, int m, int n,
                               int accumulate, const float *bias);
void nnb_gemm_kernel_12x32_bf16(int64_t kp, const uint32_t *a0, const uint32_t *a1, int lo, const uint32_t *Bp,
                                float *C, int64_t ldc, int m, int n, int accumulate, const float *bias);

/* AMX (gemm_bf16_amx.c, tdpbf16ps): C (rows, n <= 32) (+)= A . B panel, A row-major bf16 (rows rounded up to 32,
 * 2 kp k), the B panel (kp, 32) pairs with kp a multiple of 16. Epilogue as the kernels above. The caller has AMX
 * permission (nnb_cpu_amx_ready). Accumulation order inside a tile product is the hardware's: not bit-compatible
 * with the portable emulation, within the fp32 accumulation bound of it. */
void nnb_gemm_amx_bf16_rows(int64_t kp, const uint16_t *Ap, int64_t rows, const uint32_t *Bp, float *C, int64_t ldc,
                            int n, int accumulate, const float *bias);
/* Configure this thread's tiles for nnb_gemm_amx_bf16_rows / release them: around each thread's calls. */
void nnb_gemm_amx_begin(void);
void nnb_gemm_amx_end(void);

/* bf16 products (gemm_bf16.c), behind the nnb_sgemm* entry points of gemm.c when the implementation is bf16. */
int nnb_bf16_pack_b(nnb_packed_b *p, char transb, int64_t K, int64_t N, const float *B, int64_t ldb);
void nnb_bf16_gemm(nnb_gemm_impl impl, int threads, char ta, char tb, int64_t M, int64_t N, int64_t K, const float *A,
                   int64_t lda, const float *B, int64_t ldb, float beta, float *C, int64_t ldc);
void nnb_bf16_gemm_packed(int threads, char ta, int64_t M, const float *A, int64_t lda, const nnb_packed_b *Bp,
                          float beta, const float *bias, float *C, int64_t ldc);
void nnb_bf16_gemm_packed_cols_multi(char ta, int64_t M, const float *A, int64_t lda, int nb,
                                     const nnb_packed_b *const *Bs, float *const *Cs, int64_t n0, int64_t n1,
                                     float beta, int64_t ldc);

void nnb_bf16_gemm_shared_a(nnb_gemm_impl impl, int threads, char ta, int64_t M, int64_t K, const float *A, int64_t lda,
                            int nb, const nnb_gemm_b_operand *ops, float beta);
size_t nnb_bf16_packed_a_words(nnb_gemm_impl impl, int64_t M, int64_t K);
void nnb_bf16_pack_a_panels(nnb_gemm_impl impl, char ta, int64_t M, int64_t K, const float *A, int64_t lda, int64_t p0,
                            int64_t p1, uint32_t *Ap);
void nnb_bf16_gemm_prepacked_cols(int64_t M, const uint32_t *Ap, const nnb_packed_b *Bp, int64_t n0, int64_t n1,
                                  float beta, float *C, int64_t ldc);
/* fp32 -> bf16 bits, RNE with NaN kept quiet, exactly nnb_bf16_from_f32 (gemm_avx512.c, AVX-512F). */
void nnb_bf16_from_f32_row_avx512(const float *src, uint16_t *dst, int64_t n);
/* dst[j] (j < width, a multiple of 16) = bf16(lo[j]) | bf16(hi[j]) << 16 for j < n, 0 past n; hi NULL: zeros. */
void nnb_bf16_pair_rows_avx512(const float *lo, const float *hi, int64_t n, int64_t width, uint32_t *dst);

/* Vector math and fused cell passes compiled once per ISA from cell_vector_impl.h. */
#define NNB_DECLARE_VECTOR_ISA(SFX)                                                                                    \
    void nnb_vexpf_##SFX(const float *x, float *y, int64_t n);                                                         \
    void nnb_vtanhf_##SFX(const float *x, float *y, int64_t n);                                                        \
    void nnb_vsigmoidf_##SFX(const float *x, float *y, int64_t n);                                                     \
    void nnb_cell_fwd_vector_##SFX(const nnb_cell_fwd_args *a, int64_t j0, int64_t j1);                                \
    void nnb_cell_bwd_vector_##SFX(const nnb_cell_bwd_args *a, int64_t j0, int64_t j1);

NNB_DECLARE_VECTOR_ISA(avx512)
NNB_DECLARE_VECTOR_ISA(avx2)
NNB_DECLARE_VECTOR_ISA(generic)

/* Blocking of the own GEMM (gemm.c drivers, gemm_pack.c layouts); overridable at build time for A/B experiments. */
#ifndef NNB_GEMM_KC
#define NNB_GEMM_KC 256 /* target depth of one K block (B micro-panel KC x NR stays in L1) */
#endif
#ifndef NNB_GEMM_KC_MAX
#define NNB_GEMM_KC_MAX 512 /* K up to this is never split */
#endif
#ifndef NNB_GEMM_KB_OUTER
#define NNB_GEMM_KB_OUTER 0 /* 1: K blocks outermost also for prepacked B (A/B experiments) */
#endif
#ifndef NNB_GEMM_MC
#define NNB_GEMM_MC 128
#endif

/* Depth of the K blocks for a product of depth K: K itself up to NNB_GEMM_KC_MAX (C is then written once), else K
 * split evenly into blocks of about NNB_GEMM_KC (each block re-reads C). */
static inline int64_t nnb_gemm_k_block(int64_t K) {
    if (K <= NNB_GEMM_KC_MAX)
        return K > 0 ? K : 1;
    int64_t blocks = (K + NNB_GEMM_KC - 1) / NNB_GEMM_KC;
    return (K + blocks - 1) / blocks;
}

/* Packing (gemm_pack.c), the layouts the micro-kernels read:
 *   nnb_gemm_pack_a: op(A) rows [m0, m0+mc), cols [k0, k0+kc) -> panels of NNB_GEMM_MR rows: (ceil(mc/MR), kc, MR),
 *                    zero padded.
 *   nnb_gemm_pack_b_panel: op(B) rows [k0, k0+kc), panel columns [n0, n0+NR) -> (kc, NR) at dst with row stride
 *                    NNB_GEMM_NR, zero padded. */
void nnb_gemm_pack_a(char ta, const float *A, int64_t lda, int64_t m0, int64_t mc, int64_t k0, int64_t kc, float *Ap);
void nnb_gemm_pack_b_panel(char tb, const float *B, int64_t ldb, int64_t N, int64_t k0, int64_t kc, int64_t n0,
                           float *dst);

#endif
