/*
 * Packing of the own GEMM's operands: the panel layouts the AVX-512 micro-kernels read (A in NNB_GEMM_MR-row
 * panels, B in NNB_GEMM_NR-column panels), per block or once for a whole operand (nnb_pack_b, nnb_pack_a_panels).
 * Separate from the drivers (gemm.c), which only decide blocking and threading over these layouts.
 */
#include "gemm_internal.h"

#include <stdlib.h>
#include <string.h>

enum { MR = NNB_GEMM_MR, NR = NNB_GEMM_NR };

/* op(A) rows [m0, m0+mc), cols [k0, k0+kc) -> panels of MR rows: (ceil(mc/MR), kc, MR), zero padded. */
void nnb_gemm_pack_a(char ta, const float *A, int64_t lda, int64_t m0, int64_t mc, int64_t k0, int64_t kc, float *Ap) {
    for (int64_t p = 0; p < mc; p += MR) {
        int rows = mc - p < MR ? (int)(mc - p) : MR;
        float *dst = Ap + p * kc;
        if (ta == 'N' && rows == MR) { /* full panel: MR sequential read streams, contiguous writes */
            const float *src[MR];
            for (int r = 0; r < MR; r++)
                src[r] = A + (m0 + p + r) * lda + k0;
            for (int64_t k = 0; k < kc; k++)
                for (int r = 0; r < MR; r++)
                    dst[k * MR + r] = src[r][k];
        } else if (ta == 'N') {
            for (int r = 0; r < MR; r++) {
                const float *src = A + (m0 + p + (r < rows ? r : 0)) * lda + k0;
                for (int64_t k = 0; k < kc; k++)
                    dst[k * MR + r] = r < rows ? src[k] : 0.0f;
            }
        } else if (rows == MR) { /* transposed, full panel: MR contiguous floats per k */
            for (int64_t k = 0; k < kc; k++)
                memcpy(dst + k * MR, A + (k0 + k) * lda + m0 + p, sizeof(float) * MR);
        } else {
            for (int64_t k = 0; k < kc; k++) {
                const float *src = A + (k0 + k) * lda + m0 + p;
                for (int r = 0; r < MR; r++)
                    dst[k * MR + r] = r < rows ? src[r] : 0.0f;
            }
        }
    }
}

/* op(B) rows [k0, k0+kc), panel columns [n0, n0+NR) -> (kc, NR) at dst with row stride NR, zero padded. */
void nnb_gemm_pack_b_panel(char tb, const float *B, int64_t ldb, int64_t N, int64_t k0, int64_t kc, int64_t n0,
                           float *dst) {
    int cols = N - n0 < NR ? (int)(N - n0) : NR;
    if (tb == 'N' && cols == NR) { /* full panel: one row copy per k */
        for (int64_t k = 0; k < kc; k++)
            memcpy(dst + k * NR, B + (k0 + k) * ldb + n0, sizeof(float) * NR);
    } else if (tb == 'N') {
        for (int64_t k = 0; k < kc; k++) {
            const float *src = B + (k0 + k) * ldb + n0;
            float *d = dst + k * NR;
            for (int j = 0; j < NR; j++)
                d[j] = j < cols ? src[j] : 0.0f;
        }
    } else {
        for (int j = 0; j < NR; j++) {
            if (j < cols) {
                const float *src = B + (n0 + j) * ldb + k0;
                for (int64_t k = 0; k < kc; k++)
                    dst[k * NR + j] = src[k];
            } else {
                for (int64_t k = 0; k < kc; k++)
                    dst[k * NR + j] = 0.0f;
            }
        }
    }
}

int nnb_pack_b(nnb_packed_b *p, nnb_gemm_impl impl, char transb, int64_t K, int64_t N, const float *B, int64_t ldb) {
    memset(p, 0, sizeof *p);
    p->impl = impl;
    p->K = K;
    p->N = N;
    p->trans = transb;
    p->src = B;
    p->ld = ldb;
    if (nnb_gemm_impl_is_bf16(impl))
        return nnb_bf16_pack_b(p, transb, K, N, B, ldb);
    if (impl != NNB_GEMM_OWN_AVX512)
        return 0;
    int64_t panels = (N + NR - 1) / NR;
    if (K <= 0 || N <= 0 || (uint64_t)panels > SIZE_MAX / sizeof(float) / NR / (uint64_t)K)
        return -1;
    p->panels = aligned_alloc(64, (((size_t)panels * NR * (size_t)K * sizeof(float)) + 63) & ~(size_t)63);
    if (!p->panels)
        return -1;
    for (int64_t q = 0; q < panels; q++)
        nnb_gemm_pack_b_panel(transb, B, ldb, N, 0, K, q * NR, p->panels + q * K * NR);
    return 0;
}

void nnb_packed_b_free(nnb_packed_b *p) {
    if (!p)
        return;
    free(p->panels);
    free(p->pairs);
    memset(p, 0, sizeof *p);
}

size_t nnb_packed_a_floats(int64_t M, int64_t K) {
    int64_t mpad = (M + MR - 1) / MR * MR;
    if (M <= 0 || K <= 0 || (uint64_t)mpad > SIZE_MAX / sizeof(float) / (uint64_t)K)
        return 0;
    return (size_t)mpad * (size_t)K;
}

/* Layout: K blocks of nnb_gemm_k_block(K); block k0 holds all row panels: Ap + k0 * Mpad + p * kc (p a row index,
 * multiple of MR). */
void nnb_pack_a_panels(char transa, int64_t M, int64_t K, const float *A, int64_t lda, int64_t p0, int64_t p1,
                       float *Ap) {
    int64_t mpad = (M + MR - 1) / MR * MR, m0 = p0 * MR, m1 = p1 * MR < M ? p1 * MR : M;
    if (m1 <= m0)
        return;
    const int64_t kb = nnb_gemm_k_block(K);
    for (int64_t k0 = 0; k0 < K; k0 += kb) {
        int64_t kc = K - k0 < kb ? K - k0 : kb;
        nnb_gemm_pack_a(transa, A, lda, m0, m1 - m0, k0, kc, Ap + k0 * mpad + m0 * kc);
    }
}
