/*
 * bf16 GEMM (nnb_gemm_impl NNB_GEMM_BF16_*): C (fp32) = bf16(op(A)) . bf16(op(B)) (+ C or + bias), fp32
 * accumulation. Operands are rounded to bf16 (round to nearest even) as they are packed into the layout vdpbf16ps
 * reads: K pairs interleaved (gemm_internal.h). Blocking as the fp32 driver without K blocks (K is never split: a
 * product's bits do not depend on the blocking or the thread count). Two micro-kernels give the same bits:
 *   avx512_bf16  gemm_bf16_avx512.c (vdpbf16ps), used where the CPU has AVX512_BF16;
 *   portable     the scalar emulation below (the instruction's definition: per pair, high then low element, each
 *                an FMA rounded to nearest even, denormal inputs as zero, denormal results flushed to zero).
 */
#include "gemm_internal.h"
#include "precision/nnb_precision.h"

#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#ifdef _OPENMP
#include <omp.h>
#endif

enum { MR = NNB_GEMM_MR, NR = NNB_GEMM_NR, MC = NNB_GEMM_MC };

static inline int64_t pairs_of(int64_t K) { return (K + 1) / 2; }

/* ---------------------------------------------------------------- packing */

static inline float op_at(const float *X, int64_t ld, char trans, int64_t r, int64_t c) {
    return trans == 'N' ? X[r * ld + c] : X[c * ld + r];
}

/* bf16 pair of op(X) rows (k, k + 1) at column c of a (K, .) operand; k + 1 == K pads with zero. */
static inline uint32_t pair_k(const float *X, int64_t ld, char trans, int64_t K, int64_t k, int64_t c, int k_is_row) {
    float lo = k_is_row ? op_at(X, ld, trans, k, c) : op_at(X, ld, trans, c, k);
    float hi = k + 1 < K ? (k_is_row ? op_at(X, ld, trans, k + 1, c) : op_at(X, ld, trans, c, k + 1)) : 0.0f;
    return (uint32_t)nnb_bf16_from_f32(lo) | (uint32_t)nnb_bf16_from_f32(hi) << 16;
}

/* op(A) rows [m0, m0 + mc), all K -> (ceil(mc/MR), kp, MR) pairs, zero padded. */
static void pack_a(char ta, const float *A, int64_t lda, int64_t m0, int64_t mc, int64_t K, uint32_t *Ap) {
    const int64_t kp = pairs_of(K);
    for (int64_t p = 0; p < mc; p += MR) {
        int rows = mc - p < MR ? (int)(mc - p) : MR;
        uint32_t *dst = Ap + p * kp;
        for (int64_t q = 0; q < kp; q++)
            for (int r = 0; r < MR; r++)
                dst[q * MR + r] = r < rows ? pair_k(A, lda, ta, K, 2 * q, m0 + p + r, 0) : 0u;
    }
}

/* Rows of K pairs an implementation's B panels hold: AMX tiles read 16 pairs (32 k) at a time. */
static int64_t kp_rows(nnb_gemm_impl impl, int64_t K) {
    return impl == NNB_GEMM_BF16_AMX ? (pairs_of(K) + 15) / 16 * 16 : pairs_of(K);
}

static int vector_rounding(void) {
    static int vector = -1;
    if (vector < 0)
        vector = nnb_cpu_isa_detect() == NNB_ISA_AVX512;
    return vector;
}

/* op(B) (K, N) panel columns [n0, n0 + NR) -> (kprows, NR) pairs, zero padded. */
static void pack_b_panel(char tb, const float *B, int64_t ldb, int64_t K, int64_t N, int64_t n0, int64_t kprows,
                         uint32_t *dst) {
    const int cols = N - n0 < NR ? (int)(N - n0) : NR;
    if (tb == 'N' && vector_rounding()) { /* rows 2q and 2q + 1 of B side by side */
        for (int64_t q = 0; q < kprows; q++) {
            if (2 * q < K)
                nnb_bf16_pair_rows_avx512(B + 2 * q * ldb + n0, 2 * q + 1 < K ? B + (2 * q + 1) * ldb + n0 : NULL,
                                          cols, NR, dst + q * NR);
            else
                memset(dst + q * NR, 0, sizeof(uint32_t) * NR);
        }
        return;
    }
    for (int64_t q = 0; q < kprows; q++)
        for (int j = 0; j < NR; j++)
            dst[q * NR + j] = j < cols && 2 * q < K ? pair_k(B, ldb, tb, K, 2 * q, n0 + j, 1) : 0u;
}

static int64_t b_pairs_len(nnb_gemm_impl impl, int64_t K, int64_t N) {
    return (N + NR - 1) / NR * NR * kp_rows(impl, K);
}

/* fp32 -> bf16 bits of n contiguous floats (RNE, as nnb_bf16_from_f32): AVX-512 where the CPU has it. */
static void round_row(const float *src, uint16_t *dst, int64_t n) {
    if (vector_rounding()) {
        nnb_bf16_from_f32_row_avx512(src, dst, n);
        return;
    }
    for (int64_t k = 0; k < n; k++)
        dst[k] = nnb_bf16_from_f32(src[k]);
}

/* AMX: op(A) rows [m0, m0 + mc) -> row-major bf16 rows 0 .. mc - 1 of Ap (kpad = 2 kp_rows bf16 each, zero padded;
 * a tile row is 32 consecutive k of one row), then zero rows mc .. rows_pad - 1. */
static void pack_a_rows(char ta, const float *A, int64_t lda, int64_t m0, int64_t mc, int64_t rows_pad, int64_t K,
                        int64_t kpad, uint16_t *Ap) {
    if (ta == 'N') {
        for (int64_t m = 0; m < mc; m++)
            round_row(A + (m0 + m) * lda, Ap + m * kpad, K);
    } else { /* A (K, M): per k one contiguous run of op(A) rows, rounded together, written down the rows */
        enum { KB = 32, CHUNK = 256 }; /* 32 k: one 64-byte line of each packed row per block */
        uint16_t tmp[KB][CHUNK];
        for (int64_t kb = 0; kb < K; kb += KB) {
            const int64_t kn = K - kb < KB ? K - kb : KB;
            for (int64_t c0 = 0; c0 < mc; c0 += CHUNK) {
                const int64_t cn = mc - c0 < CHUNK ? mc - c0 : CHUNK;
                for (int64_t kk = 0; kk < kn; kk++)
                    round_row(A + (kb + kk) * lda + m0 + c0, tmp[kk], cn);
                for (int64_t m = 0; m < cn; m++)
                    for (int64_t kk = 0; kk < kn; kk++)
                        Ap[(c0 + m) * kpad + kb + kk] = tmp[kk][m];
            }
        }
    }
    for (int64_t m = 0; m < rows_pad; m++) /* zero padding: k past K, rows past mc */
        memset(Ap + m * kpad + (m < mc ? K : 0), 0, sizeof(uint16_t) * (size_t)(m < mc ? kpad - K : kpad));
}

/* uint32 words of packed A for mc rows: pair panels, or AMX's padded rows. */
static size_t a_words(nnb_gemm_impl impl, int64_t mc, int64_t K) {
    if (impl == NNB_GEMM_BF16_AMX)
        return (size_t)((mc + 31) / 32 * 32) * (size_t)kp_rows(impl, K);
    return (size_t)((mc + MR - 1) / MR * MR) * (size_t)pairs_of(K);
}

static void pack_a_for(nnb_gemm_impl impl, char ta, const float *A, int64_t lda, int64_t m0, int64_t mc, int64_t K,
                       uint32_t *Ap) {
    if (impl == NNB_GEMM_BF16_AMX)
        pack_a_rows(ta, A, lda, m0, mc, (mc + 31) / 32 * 32, K, 2 * kp_rows(impl, K), (uint16_t *)Ap);
    else
        pack_a(ta, A, lda, m0, mc, K, Ap);
}

int nnb_bf16_pack_b(nnb_packed_b *p, char transb, int64_t K, int64_t N, const float *B, int64_t ldb) {
    const int64_t panels = (N + NR - 1) / NR, kr = kp_rows(p->impl, K);
    if (K <= 0 || N <= 0 || (uint64_t)panels > SIZE_MAX / 4 / NR / (uint64_t)kr)
        return -1;
    size_t bytes = (size_t)b_pairs_len(p->impl, K, N) * 4;
    p->pairs = aligned_alloc(64, (bytes + 63) & ~(size_t)63);
    if (!p->pairs)
        return -1;
    for (int64_t q = 0; q < panels; q++)
        pack_b_panel(transb, B, ldb, K, N, q * NR, kr, p->pairs + q * kr * NR);
    return 0;
}

/* ---------------------------------------------------------------- portable micro-kernel */

static inline float daz(float x) { return fabsf(x) < FLT_MIN ? copysignf(0.0f, x) : x; }

/* One accumulation of vdpbf16ps: acc + a b rounded once (the product of two bf16 is exact), denormals flushed. */
static inline float dp_step(float acc, uint32_t a_bits, uint32_t b_bits) {
    float r = fmaf(daz(nnb_f32_from_bf16((uint16_t)a_bits)), daz(nnb_f32_from_bf16((uint16_t)b_bits)), acc);
    return fabsf(r) < FLT_MIN ? copysignf(0.0f, r) : r;
}

/* C (rows, n <= NR) (+)= the packed row panels ap . the B panel bp, element by element. */
static void portable_rows(int64_t kp, const uint32_t *ap, int64_t rows, const uint32_t *bp, float *C, int64_t ldc,
                          int n, int accumulate, const float *bias) {
    for (int64_t i = 0; i < rows; i++) {
        const uint32_t *a = ap + i / MR * MR * kp + i % MR;
        for (int j = 0; j < n; j++) {
            float acc = 0.0f;
            for (int64_t q = 0; q < kp; q++) {
                uint32_t av = a[q * MR], bv = bp[q * NR + j];
                acc = dp_step(acc, av >> 16, bv >> 16);
                acc = dp_step(acc, av & 0xffffu, bv & 0xffffu);
            }
            float *c = C + i * ldc + j;
            *c = accumulate ? acc + *c : bias ? acc + bias[j] : acc;
        }
    }
}

/* The vdpbf16ps kernels over `rows` rows, composed as the fp32 driver's micro_rows (12 + 12 per three panels). */
static void avx512_rows(int64_t kp, const uint32_t *ap, int64_t rows, const uint32_t *bp, float *C, int64_t ldc, int n,
                        int accumulate, const float *bias) {
    int64_t p = 0;
    for (; p + 2 * MR < rows; p += 3 * MR) {
        const uint32_t *a0 = ap + p * kp, *a1 = a0 + MR * kp, *a2 = a1 + MR * kp;
        int m = rows - p < 12 ? (int)(rows - p) : 12;
        nnb_gemm_kernel_12x32_bf16(kp, a0, a1, 8, bp, C + p * ldc, ldc, m, n, accumulate, bias);
        m = rows - p - 12 < 12 ? (int)(rows - p - 12) : 12;
        nnb_gemm_kernel_12x32_bf16(kp, a1 + MR / 2, a2, 4, bp, C + (p + 12) * ldc, ldc, m, n, accumulate, bias);
    }
    for (; p < rows; p += MR) {
        int m = rows - p < MR ? (int)(rows - p) : MR;
        nnb_gemm_kernel_8x32_bf16(kp, ap + p * kp, bp, C + p * ldc, ldc, m, n, accumulate, bias);
    }
}

/* kp: rows of pairs of the B panel (kp_rows). */
static void rows_kernel(nnb_gemm_impl impl, int64_t kp, const uint32_t *ap, int64_t rows, const uint32_t *bp, float *C,
                        int64_t ldc, int n, int accumulate, const float *bias) {
    if (impl == NNB_GEMM_BF16_AMX)
        nnb_gemm_amx_bf16_rows(kp, (const uint16_t *)ap, rows, bp, C, ldc, n, accumulate, bias);
    else if (impl == NNB_GEMM_BF16_AVX512)
        avx512_rows(kp, ap, rows, bp, C, ldc, n, accumulate, bias);
    else
        portable_rows(kp, ap, rows, bp, C, ldc, n, accumulate, bias);
}

/* ---------------------------------------------------------------- drivers */

/* Per-thread A packing buffer and the caller's whole-B buffer, grown once and reused. */
static _Thread_local uint32_t *tl_a, *tl_b, *tl_awhole;
static _Thread_local size_t tl_acap, tl_bcap, tl_awholecap;

static uint32_t *grow(uint32_t **buf, size_t *cap, size_t n) {
    if (n <= *cap)
        return *buf;
    free(*buf);
    *buf = aligned_alloc(64, ((n * 4) + 63) & ~(size_t)63);
    *cap = *buf ? n : 0;
    return *buf;
}

/* AMX with a transposed A (the weight gradients' dG^T): a thread packs its whole row range [m0, m1) in one pass
 * down the rows of A (contiguous runs, few pages at a time) instead of one strided pass per MC block; the MC blocks
 * then read their rows from it. NULL where that does not apply or the buffer cannot be had (per-block packing). */
static const uint32_t *pack_whole_rows(nnb_gemm_impl impl, char ta, const float *A, int64_t lda, int64_t m0,
                                       int64_t m1, int64_t K) {
    if (impl != NNB_GEMM_BF16_AMX || ta != 'T' || m1 - m0 <= MC)
        return NULL;
    uint32_t *buf = grow(&tl_awhole, &tl_awholecap, a_words(impl, m1 - m0, K));
    if (buf)
        pack_a_for(impl, ta, A, lda, m0, m1 - m0, K, buf);
    return buf;
}

/* The operands of one product once B is packed (bpairs: (ceil(N/NR), kp, NR)). */
typedef struct bf16_product {
    nnb_gemm_impl impl;
    char ta;
    int64_t M, N, K;
    const float *A;
    int64_t lda;
    const uint32_t *bpairs;
    int accumulate;
    const float *bias;
    float *C;
    int64_t ldc;
} bf16_product;

/* Rows [m0, m1) x B panels [q0, q1) of the product; abuf holds MC rows of packed A. */
static void product_block(const bf16_product *g, uint32_t *abuf, int64_t m0, int64_t m1, int64_t q0, int64_t q1) {
    const int64_t kp = kp_rows(g->impl, g->K);
    const uint32_t *whole = pack_whole_rows(g->impl, g->ta, g->A, g->lda, m0, m1, g->K);
    if (g->impl == NNB_GEMM_BF16_AMX)
        nnb_gemm_amx_begin();
    for (int64_t mb = m0; mb < m1; mb += MC) {
        int64_t mc = m1 - mb < MC ? m1 - mb : MC;
        const uint32_t *ablock = whole ? whole + (mb - m0) * kp : abuf; /* AMX rows: kp words each */
        if (!whole)
            pack_a_for(g->impl, g->ta, g->A, g->lda, mb, mc, g->K, abuf);
        for (int64_t q = q0; q < q1; q++) {
            int n = g->N - q * NR < NR ? (int)(g->N - q * NR) : NR;
            rows_kernel(g->impl, kp, ablock, mc, g->bpairs + q * kp * NR, g->C + mb * g->ldc + q * NR, g->ldc, n,
                        g->accumulate, g->bias ? g->bias + q * NR : NULL);
        }
    }
    if (g->impl == NNB_GEMM_BF16_AMX)
        nnb_gemm_amx_end();
}

/* Threads split whichever of M or N has more panels; a thread without packing memory computes nothing and the
 * product is redone by the caller's thread (see run_product). Returns 0, or -1 when some buffer was missing. */
static int run_product(const bf16_product *g, int threads, char tb, const float *B, int64_t ldb, uint32_t *bwhole) {
    const int64_t mpanels = (g->M + MR - 1) / MR, npanels = (g->N + NR - 1) / NR, kp = kp_rows(g->impl, g->K);
    const int split_m = mpanels >= npanels;
    const int64_t units = split_m ? mpanels : npanels;
    if (threads > units)
        threads = (int)units;
    if (threads < 1)
        threads = 1;
    int failed = 0;
#pragma omp parallel num_threads(threads) reduction(| : failed)
    {
        int t = 0, nt = 1;
#ifdef _OPENMP
        t = omp_get_thread_num();
        nt = omp_get_num_threads();
#endif
        if (bwhole) {
#pragma omp for schedule(static)
            for (int64_t q = 0; q < npanels; q++)
                pack_b_panel(tb, B, ldb, g->K, g->N, q * NR, kp, bwhole + q * kp * NR);
        } /* barrier: B is whole before anyone reads it */
        uint32_t *abuf = grow(&tl_a, &tl_acap, a_words(g->impl, MC, g->K));
        int64_t u0 = units * t / nt, u1 = units * (t + 1) / nt;
        if (!abuf)
            failed = 1;
        else if (split_m)
            product_block(g, abuf, u0 * MR, u1 * MR < g->M ? u1 * MR : g->M, 0, npanels);
        else
            product_block(g, abuf, 0, g->M, u0, u1);
    }
    return failed ? -1 : 0;
}

/* C = beta C, or C = bias rows (K == 0: no product). */
static void no_product(int64_t M, int64_t N, float beta, const float *bias, float *C, int64_t ldc) {
    for (int64_t i = 0; i < M; i++) {
        if (bias && beta == 0.0f)
            memcpy(C + i * ldc, bias, sizeof(float) * (size_t)N);
        else if (beta == 0.0f)
            memset(C + i * ldc, 0, sizeof(float) * (size_t)N);
    }
}

/* Out of memory for the packing buffers (a few MB per thread, grown once and kept): abort. Unlike the fp32 path there
 * is no unpacked loop to fall back on, and a partial product would pass for a result. */
static void packing_failed(void) { abort(); }

void nnb_bf16_gemm_packed(int threads, char ta, int64_t M, const float *A, int64_t lda, const nnb_packed_b *Bp,
                          float beta, const float *bias, float *C, int64_t ldc) {
    if (M <= 0 || Bp->N <= 0)
        return;
    if (Bp->K == 0) {
        no_product(M, Bp->N, beta, bias, C, ldc);
        return;
    }
    bf16_product g = {Bp->impl, ta, M, Bp->N, Bp->K, A, lda, Bp->pairs, beta != 0.0f, bias, C, ldc};
    if (run_product(&g, threads, 'N', NULL, 0, NULL))
        packing_failed();
}

void nnb_bf16_gemm(nnb_gemm_impl impl, int threads, char ta, char tb, int64_t M, int64_t N, int64_t K, const float *A,
                   int64_t lda, const float *B, int64_t ldb, float beta, float *C, int64_t ldc) {
    if (M <= 0 || N <= 0)
        return;
    if (K == 0) {
        no_product(M, N, beta, NULL, C, ldc);
        return;
    }
    uint32_t *bwhole = grow(&tl_b, &tl_bcap, (size_t)b_pairs_len(impl, K, N));
    if (!bwhole)
        packing_failed();
    bf16_product g = {impl, ta, M, N, K, A, lda, bwhole, beta != 0.0f, NULL, C, ldc};
    if (run_product(&g, threads, tb, B, ldb, bwhole))
        packing_failed();
}

void nnb_bf16_gemm_packed_cols_multi(char ta, int64_t M, const float *A, int64_t lda, int nb,
                                     const nnb_packed_b *const *Bs, float *const *Cs, int64_t n0, int64_t n1,
                                     float beta, int64_t ldc) {
    const nnb_gemm_impl impl = Bs[0]->impl;
    const int64_t K = Bs[0]->K, kp = kp_rows(impl, K);
    if (K == 0) {
        for (int b = 0; b < nb; b++)
            no_product(M, n1 - n0, beta, NULL, Cs[b] + n0, ldc);
        return;
    }
    uint32_t *abuf = grow(&tl_a, &tl_acap, a_words(impl, M, K));
    if (!abuf)
        packing_failed();
    pack_a_for(impl, ta, A, lda, 0, M, K, abuf);
    if (impl == NNB_GEMM_BF16_AMX)
        nnb_gemm_amx_begin();
    for (int b = 0; b < nb; b++)
        for (int64_t q = n0 / NR; q < (n1 + NR - 1) / NR; q++) {
            int n = n1 - q * NR < NR ? (int)(n1 - q * NR) : NR; /* clipped at n1: nothing past it is written */
            rows_kernel(impl, kp, abuf, M, Bs[b]->pairs + q * kp * NR, Cs[b] + q * NR, ldc, n, beta != 0.0f, NULL);
        }
    if (impl == NNB_GEMM_BF16_AMX)
        nnb_gemm_amx_end();
}

/* ---------------------------------------------------------------- A packed once, shared */

size_t nnb_bf16_packed_a_words(nnb_gemm_impl impl, int64_t M, int64_t K) {
    return M > 0 && K > 0 ? a_words(impl, M, K) : 0;
}

void nnb_bf16_pack_a_panels(nnb_gemm_impl impl, char ta, int64_t M, int64_t K, const float *A, int64_t lda, int64_t p0,
                            int64_t p1, uint32_t *Ap) {
    const int64_t m0 = p0 * MR, m1 = p1 * MR < M ? p1 * MR : M;
    if (m1 <= m0)
        return;
    if (impl == NNB_GEMM_BF16_AMX) { /* rows m0.. of the row-major layout; the range ending at M pads to 32 rows */
        const int64_t kpad = 2 * kp_rows(impl, K), pad_end = m1 == M ? (M + 31) / 32 * 32 : m1;
        pack_a_rows(ta, A, lda, m0, m1 - m0, pad_end - m0, K, kpad, (uint16_t *)Ap + m0 * kpad);
    } else {
        pack_a(ta, A, lda, m0, m1 - m0, K, Ap + m0 * pairs_of(K));
    }
}

void nnb_bf16_gemm_prepacked_cols(int64_t M, const uint32_t *Ap, const nnb_packed_b *Bp, int64_t n0, int64_t n1,
                                  float beta, float *C, int64_t ldc) {
    const int64_t kp = kp_rows(Bp->impl, Bp->K);
    if (Bp->impl == NNB_GEMM_BF16_AMX)
        nnb_gemm_amx_begin();
    for (int64_t q = n0 / NR; q < (n1 + NR - 1) / NR; q++) {
        int n = n1 - q * NR < NR ? (int)(n1 - q * NR) : NR;
        rows_kernel(Bp->impl, kp, Ap, M, Bp->pairs + q * kp * NR, C + q * NR, ldc, n, beta != 0.0f, NULL);
    }
    if (Bp->impl == NNB_GEMM_BF16_AMX)
        nnb_gemm_amx_end();
}

/* Several B operands sharing one A (e.g. dW_ih and dW_hh = dG^T [X | H_prev]): every B packed once by the team into
 * one buffer, threads split the rows, each MC block of A packed once for all operands. */
void nnb_bf16_gemm_shared_a(nnb_gemm_impl impl, int threads, char ta, int64_t M, int64_t K, const float *A, int64_t lda,
                            int nb, const nnb_gemm_b_operand *ops, float beta) {
    enum { MAX_OPS = 8 };
    const int64_t kp = kp_rows(impl, K);
    if (M <= 0 || nb < 1)
        return;
    if (K == 0 || nb > MAX_OPS) {
        for (int b = 0; b < nb; b++)
            nnb_bf16_gemm(impl, threads, ta, ops[b].trans, M, ops[b].N, K, A, lda, ops[b].B, ops[b].ldb, beta, ops[b].C,
                          ops[b].ldc);
        return;
    }
    int64_t first[MAX_OPS + 1] = {0}; /* first panel of each operand in the shared buffer */
    for (int b = 0; b < nb; b++)
        first[b + 1] = first[b] + (ops[b].N + NR - 1) / NR;
    uint32_t *bwhole = grow(&tl_b, &tl_bcap, (size_t)(first[nb] * NR * kp));
    if (!bwhole)
        packing_failed();
    const int64_t mpanels = (M + MR - 1) / MR;
    if (threads > mpanels)
        threads = (int)mpanels;
    int failed = 0;
#pragma omp parallel num_threads(threads < 1 ? 1 : threads) reduction(| : failed)
    {
        int t = 0, nt = 1;
#ifdef _OPENMP
        t = omp_get_thread_num();
        nt = omp_get_num_threads();
#endif
        for (int b = 0; b < nb; b++) {
#pragma omp for schedule(static)
            for (int64_t q = 0; q < first[b + 1] - first[b]; q++)
                pack_b_panel(ops[b].trans, ops[b].B, ops[b].ldb, K, ops[b].N, q * NR, kp,
                             bwhole + (first[b] + q) * kp * NR);
        } /* barriers: every B is packed before anyone reads it */
        uint32_t *abuf = grow(&tl_a, &tl_acap, a_words(impl, MC, K));
        const int64_t m0 = mpanels * t / nt * MR,
                      m1 = mpanels * (t + 1) / nt * MR < M ? mpanels * (t + 1) / nt * MR : M;
        if (!abuf)
            failed = 1;
        const uint32_t *whole = abuf ? pack_whole_rows(impl, ta, A, lda, m0, m1, K) : NULL;
        if (impl == NNB_GEMM_BF16_AMX && abuf)
            nnb_gemm_amx_begin();
        for (int64_t mb = m0; abuf && mb < m1; mb += MC) {
            int64_t mc = m1 - mb < MC ? m1 - mb : MC;
            const uint32_t *ablock = whole ? whole + (mb - m0) * kp : abuf; /* AMX rows: kp words each */
            if (!whole)
                pack_a_for(impl, ta, A, lda, mb, mc, K, abuf);
            for (int b = 0; b < nb; b++)
                for (int64_t q = 0; q < first[b + 1] - first[b]; q++) {
                    int n = ops[b].N - q * NR < NR ? (int)(ops[b].N - q * NR) : NR;
                    rows_kernel(impl, kp, ablock, mc, bwhole + (first[b] + q) * kp * NR,
                                ops[b].C + mb * ops[b].ldc + q * NR, ops[b].ldc, n, beta != 0.0f, NULL);
                }
        }
    }
    if (failed)
        packing_failed();
}
