/* GEMM front end: implementation choice, blocking and threading over the packed layouts of gemm_pack.c. */
#include "gemm_internal.h"
#include "precision/nnb_precision.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#ifdef _OPENMP
#include <omp.h>
#endif
#ifdef NNB_HAVE_CBLAS
#include <cblas.h>
#endif

enum { MR = NNB_GEMM_MR, NR = NNB_GEMM_NR, KC = NNB_GEMM_KC, KC_MAX = NNB_GEMM_KC_MAX, MC = NNB_GEMM_MC };

/* ---------------------------------------------------------------- ISA */

nnb_cpu_isa nnb_cpu_isa_detect(void) {
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512dq"))
        return NNB_ISA_AVX512;
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
        return NNB_ISA_AVX2;
    return NNB_ISA_SCALAR;
}

const char *nnb_cpu_isa_name(nnb_cpu_isa isa) {
    switch (isa) {
    case NNB_ISA_AVX512: return "avx512";
    case NNB_ISA_AVX2: return "avx2";
    default: return "scalar";
    }
}

int nnb_gemm_impl_available(nnb_gemm_impl impl) {
    switch (impl) {
    case NNB_GEMM_OWN_AVX512: return nnb_cpu_isa_detect() == NNB_ISA_AVX512;
#ifdef NNB_HAVE_CBLAS
    case NNB_GEMM_CBLAS: return 1;
#else
    case NNB_GEMM_CBLAS: return 0;
#endif
    case NNB_GEMM_PLAIN: return 1;
    case NNB_GEMM_BF16_AVX512: /* vdpbf16ps on zmm: AVX-512F and AVX512_BF16, asked of the CPU at run time */
        return nnb_cpu_has_avx512_bf16();
    case NNB_GEMM_BF16_PORTABLE: return 1;
    case NNB_GEMM_BF16_AMX: return nnb_cpu_has_amx_bf16() && nnb_cpu_amx_ready();
    }
    return 0;
}

nnb_gemm_impl nnb_gemm_bf16_default_impl(void) {
    if (nnb_gemm_impl_available(NNB_GEMM_BF16_AMX))
        return NNB_GEMM_BF16_AMX;
    return nnb_gemm_impl_available(NNB_GEMM_BF16_AVX512) ? NNB_GEMM_BF16_AVX512 : NNB_GEMM_BF16_PORTABLE;
}

const char *nnb_gemm_impl_name(nnb_gemm_impl impl) {
    switch (impl) {
    case NNB_GEMM_OWN_AVX512: return "own_avx512";
    case NNB_GEMM_CBLAS: return "cblas";
    case NNB_GEMM_PLAIN: return "plain";
    case NNB_GEMM_BF16_AVX512: return "avx512_bf16";
    case NNB_GEMM_BF16_PORTABLE: return "portable";
    case NNB_GEMM_BF16_AMX: return "amx";
    }
    return "unknown";
}

nnb_gemm_impl nnb_gemm_default_impl(void) {
    if (nnb_gemm_impl_available(NNB_GEMM_OWN_AVX512))
        return NNB_GEMM_OWN_AVX512;
    if (nnb_gemm_impl_available(NNB_GEMM_CBLAS))
        return NNB_GEMM_CBLAS;
    return NNB_GEMM_PLAIN;
}

const char *nnb_gemm_impl_describe(nnb_gemm_impl impl, char *buf, size_t len) {
    switch (impl) {
    case NNB_GEMM_OWN_AVX512:
        snprintf(buf, len,
                 "own avx512 12x%d micro-kernel (8x%d for leftover %d-row panels), next-B-panel L2 prefetch, KC %d "
                 "(K <= %d unsplit), MC %d, OpenMP (tall products: shrinking row chunks taken dynamically)",
                 NR, NR, MR, KC, KC_MAX, MC);
        break;
    case NNB_GEMM_CBLAS:
#ifdef NNB_HAVE_CBLAS
    {
        /* The config string has no quotes or backslashes; keep the text JSON-safe anyway. */
        char cfgs[256];
        snprintf(cfgs, sizeof cfgs, "%s", openblas_get_config());
        for (char *p = cfgs; *p; p++)
            if (*p == '"' || *p == '\\')
                *p = ' ';
        snprintf(buf, len, "OpenBLAS cblas_sgemm (%s; core %s; %d threads)", cfgs, openblas_get_corename(),
                 openblas_get_num_threads());
    }
#else
        snprintf(buf, len, "cblas (not built)");
#endif
    break;
    case NNB_GEMM_PLAIN: snprintf(buf, len, "plain C triple loop"); break;
    case NNB_GEMM_BF16_AVX512:
        snprintf(buf, len,
                 "own avx512_bf16 vdpbf16ps 12x%d micro-kernel (8x%d for leftover %d-row panels), operands rounded to "
                 "bf16 (RNE) when packed as K pairs, fp32 accumulation, K unsplit, MC %d, OpenMP",
                 NR, NR, MR, MC);
        break;
    case NNB_GEMM_BF16_AMX:
        snprintf(buf, len,
                 "own AMX tdpbf16ps kernel (2x2 tiles of 16x16 fp32 per 32x%d block, K in steps of 32), operands "
                 "rounded to bf16 (RNE) when packed, fp32 accumulation, K unsplit, MC %d, OpenMP",
                 NR, MC);
        break;
    case NNB_GEMM_BF16_PORTABLE:
        snprintf(buf, len,
                 "PORTABLE scalar emulation of vdpbf16ps (slow: for tests and CPUs without avx512_bf16), operands "
                 "rounded to bf16 (RNE), fp32 accumulation");
        break;
    }
    return buf;
}

/* ---------------------------------------------------------------- plain reference */

static float op_at(const float *X, int64_t ld, char trans, int64_t r, int64_t c) {
    return trans == 'N' ? X[r * ld + c] : X[c * ld + r];
}

/* The plain loop every fast path is tested against (double accumulation). */
static void gemm_plain(int threads, char ta, char tb, int64_t M, int64_t N, int64_t K, const float *A, int64_t lda,
                       const float *B, int64_t ldb, float beta, float *C, int64_t ldc) {
    (void)threads;
#pragma omp parallel for num_threads(threads) schedule(static)
    for (int64_t i = 0; i < M; i++)
        for (int64_t j = 0; j < N; j++) {
            double s = beta != 0.0f ? (double)C[i * ldc + j] : 0.0;
            for (int64_t k = 0; k < K; k++)
                s += (double)op_at(A, lda, ta, i, k) * op_at(B, ldb, tb, k, j);
            C[i * ldc + j] = (float)s;
        }
}

#ifdef NNB_HAVE_CBLAS
static void gemm_cblas(char ta, char tb, int64_t M, int64_t N, int64_t K, const float *A, int64_t lda, const float *B,
                       int64_t ldb, float beta, float *C, int64_t ldc) {
    cblas_sgemm(CblasRowMajor, ta == 'N' ? CblasNoTrans : CblasTrans, tb == 'N' ? CblasNoTrans : CblasTrans, (blasint)M,
                (blasint)N, (blasint)K, 1.0f, A, (blasint)lda, B, (blasint)ldb, beta, C, (blasint)ldc);
}
#endif

/* Prefetch target of the call-th micro-kernel call on a B panel: the first two calls pull the two halves of the
 * next panel (kc lines each) into L2, so its first pass does not wait on L3; later calls re-touch the current
 * panel, which is in L1 already (a prefetch that costs one load slot). */
static const float *pf_target(const float *next, const float *cur, int call, int64_t kc) {
    return call < 2 ? next + call * kc * 16 : cur;
}

/* C (rows, n <= NR) (+)= the packed row panels ap (ceil(rows/MR), kc, MR) . the B panel bpan (kc, NR).
 * Three 8-row panels at a time go through two 12x32 kernels (rows 0-11: panel 0 + first half of panel 1; rows
 * 12-23: second half of panel 1 + panel 2); the one or two panels left over through the 8x32 kernel (so a
 * 64-row step is 4 x 12 + 2 x 8 rows, nothing computed on padding). next: the B panel read after this one. */
static void micro_rows(int64_t kc, const float *ap, int64_t rows, const float *bpan, const float *next, float *C,
                       int64_t ldc, int n, int accumulate, const float *bias) {
    int64_t p = 0;
    int call = 0;
    for (; p + 2 * MR < rows; p += 3 * MR) { /* panels p/MR .. p/MR + 2 all hold rows */
        const float *a0 = ap + p * kc, *a1 = a0 + MR * kc, *a2 = a1 + MR * kc;
        int m = rows - p < 12 ? (int)(rows - p) : 12;
        nnb_gemm_kernel_12x32_avx512(kc, a0, a1, 8, bpan, C + p * ldc, ldc, m, n, accumulate, bias,
                                     pf_target(next, bpan, call++, kc));
        m = rows - p - 12 < 12 ? (int)(rows - p - 12) : 12;
        nnb_gemm_kernel_12x32_avx512(kc, a1 + MR / 2, a2, 4, bpan, C + (p + 12) * ldc, ldc, m, n, accumulate, bias,
                                     pf_target(next, bpan, call++, kc));
    }
    for (; p < rows; p += MR) {
        int m = rows - p < MR ? (int)(rows - p) : MR;
        nnb_gemm_kernel_8x32_avx512(kc, ap + p * kc, bpan, C + p * ldc, ldc, m, n, accumulate, bias,
                                    pf_target(next, bpan, call++, kc));
    }
}

/* ---------------------------------------------------------------- own blocked driver */

/* Per-thread packing buffers, grown once and reused (OpenMP threads persist). */
static _Thread_local float *tl_abuf, *tl_bbuf, *tl_wholeb;
static _Thread_local size_t tl_acap, tl_bcap, tl_wholecap;

static float *grow(float **buf, size_t *cap, size_t n) {
    if (n <= *cap)
        return *buf;
    free(*buf);
    *buf = aligned_alloc(64, ((n * sizeof(float)) + 63) & ~(size_t)63);
    *cap = *buf ? n : 0;
    return *buf;
}

/* One thread's rectangle: rows [m0, m1), B panels [q0, q1). Bp: prepacked B or NULL. */
static void gemm_own_block(char ta, char tb, int64_t N, int64_t K, const float *A, int64_t lda, const float *B,
                           int64_t ldb, const nnb_packed_b *Bp, float beta, const float *bias, float *C, int64_t ldc,
                           int64_t m0, int64_t m1, int64_t q0, int64_t q1) {
    if (m1 <= m0 || q1 <= q0)
        return;
    float *abuf = grow(&tl_abuf, &tl_acap, (size_t)MC * KC_MAX);
    float *bbuf = Bp ? NULL : grow(&tl_bbuf, &tl_bcap, (size_t)(q1 - q0) * NR * KC_MAX);
    if (!abuf || (!Bp && !bbuf)) { /* no memory for packing: the same block by the plain loop */
        int64_t n0 = q0 * NR, n1 = q1 * NR < N ? q1 * NR : N;
        const float *Bs = Bp ? Bp->src : B;
        int64_t ld = Bp ? Bp->ld : ldb;
        char t = Bp ? Bp->trans : tb;
        if (bias && beta == 0.0f) {
            for (int64_t i = m0; i < m1; i++)
                memcpy(C + i * ldc + n0, bias + n0, sizeof(float) * (size_t)(n1 - n0));
            beta = 1.0f;
        }
        gemm_plain(1, ta, t, m1 - m0, n1 - n0, K, ta == 'N' ? A + m0 * lda : A + m0, lda,
                   t == 'N' ? Bs + n0 : Bs + n0 * ld, ld, beta, C + m0 * ldc + n0, ldc);
        return;
    }
    const int64_t kb = nnb_gemm_k_block(K);
    if (Bp && !NNB_GEMM_KB_OUTER) { /* B already packed: K blocks innermost, so each MC x N block of C stays in cache
                                       across them */
        for (int64_t mb = m0; mb < m1; mb += MC) {
            int64_t mc = m1 - mb < MC ? m1 - mb : MC;
            for (int64_t k0 = 0; k0 < K; k0 += kb) {
                int64_t kc = K - k0 < kb ? K - k0 : kb;
                int accumulate = k0 > 0 || beta != 0.0f;
                nnb_gemm_pack_a(ta, A, lda, mb, mc, k0, kc, abuf);
                for (int64_t q = q0; q < q1; q++) {
                    const float *bpan = Bp->panels + q * K * NR + k0 * NR;
                    const float *next = q + 1 < q1 ? bpan + K * NR : Bp->panels + q0 * K * NR + (k0 + kc) % K * NR;
                    int n = N - q * NR < NR ? (int)(N - q * NR) : NR;
                    micro_rows(kc, abuf, mc, bpan, next, C + mb * ldc + q * NR, ldc, n, accumulate,
                               bias ? bias + q * NR : NULL);
                }
            }
        }
        return;
    }
    for (int64_t k0 = 0; k0 < K; k0 += kb) {
        int64_t kc = K - k0 < kb ? K - k0 : kb;
        int accumulate = k0 > 0 || beta != 0.0f;
        if (!Bp)
            for (int64_t q = q0; q < q1; q++)
                nnb_gemm_pack_b_panel(tb, B, ldb, N, k0, kc, q * NR, bbuf + (q - q0) * kc * NR);
        for (int64_t mb = m0; mb < m1; mb += MC) {
            int64_t mc = m1 - mb < MC ? m1 - mb : MC;
            nnb_gemm_pack_a(ta, A, lda, mb, mc, k0, kc, abuf);
            for (int64_t q = q0; q < q1; q++) {
                const float *bpan = Bp ? Bp->panels + q * K * NR + k0 * NR : bbuf + (q - q0) * kc * NR;
                const float *next = q + 1 < q1 ? (Bp ? bpan + K * NR : bpan + kc * NR) : bpan;
                int n = N - q * NR < NR ? (int)(N - q * NR) : NR;
                micro_rows(kc, abuf, mc, bpan, next, C + mb * ldc + q * NR, ldc, n, accumulate,
                           bias ? bias + q * NR : NULL);
            }
        }
    }
}

/* Row chunks for dynamic scheduling over M: the starts (MR multiples, ascending, starts[n] = M) of chunks of
 * shrinking size, each about the remaining rows / (2 threads), rounded up to whole MC blocks, never below MIN_CHUNK
 * rows. A thread that runs slower (another tenant on its core, a late wake-up) then takes fewer chunks instead of
 * holding the others at the closing barrier; the large first chunks keep B's reuse within a thread. Returns the
 * chunk count, or 0 if there would be more than max (the caller then splits statically). */
enum { MIN_CHUNK = 64 };
static int row_chunks(int64_t M, int threads, int64_t *starts, int max) {
    int n = 0;
    for (int64_t m = 0; m < M; n++) {
        if (n >= max)
            return 0;
        int64_t rest = M - m, size = (rest + 2 * threads - 1) / (2 * threads);
        size = size <= MIN_CHUNK ? MIN_CHUNK : (size + MC - 1) / MC * MC;
        starts[n] = m;
        m += size < rest ? size : rest;
    }
    starts[n] = M;
    return n;
}
enum { MAX_CHUNKS = 128 };

/* Split the larger panel count across threads (rows: shrinking chunks taken dynamically once B is packed);
 * each thread packs the A it reads. */
static void gemm_own(int threads, char ta, char tb, int64_t M, int64_t N, int64_t K, const float *A, int64_t lda,
                     const float *B, int64_t ldb, const nnb_packed_b *Bp, float beta, const float *bias, float *C,
                     int64_t ldc) {
    int64_t mpanels = (M + MR - 1) / MR, npanels = (N + NR - 1) / NR;
    if (K == 0) { /* C = beta C */
        for (int64_t i = 0; i < M && beta == 0.0f; i++)
            memset(C + i * ldc, 0, sizeof(float) * (size_t)N);
        return;
    }
    int split_m = mpanels >= npanels;
    int64_t units = split_m ? mpanels : npanels;
    if (threads > units)
        threads = (int)units;
    if (threads < 1)
        threads = 1;
    /* Tall products with a B that is not prepacked (the weight gradients): the team packs all of B once,
     * so every thread can keep its C blocks in cache across the K blocks instead of re-reading C per block. */
    nnb_packed_b whole = {0};
    if (!Bp && split_m && M > 2 * MC && (uint64_t)npanels * NR * (uint64_t)K <= ((uint64_t)64 << 20) / sizeof(float)) {
        whole.panels = grow(&tl_wholeb, &tl_wholecap, (size_t)npanels * NR * (size_t)K);
        if (whole.panels) {
            whole.impl = NNB_GEMM_OWN_AVX512, whole.K = K, whole.N = N, whole.trans = tb, whole.src = B, whole.ld = ldb;
            Bp = &whole;
        }
    }
    const int pack_whole = Bp == &whole;
    int64_t starts[MAX_CHUNKS + 1];
    const int chunks = split_m && Bp && threads > 1 ? row_chunks(M, threads, starts, MAX_CHUNKS) : 0;
#pragma omp parallel num_threads(threads)
    {
        int t = 0, nt = 1;
#ifdef _OPENMP
        t = omp_get_thread_num();
        nt = omp_get_num_threads();
#endif
        if (pack_whole) {
#pragma omp for schedule(static)
            for (int64_t q = 0; q < npanels; q++)
                nnb_gemm_pack_b_panel(tb, B, ldb, N, 0, K, q * NR, whole.panels + q * K * NR);
        } /* the omp for ends with a barrier: B is whole before anyone reads it */
        int64_t u0 = units * t / nt, u1 = units * (t + 1) / nt;
        if (chunks) {
#pragma omp for schedule(dynamic, 1) nowait
            for (int c = 0; c < chunks; c++)
                gemm_own_block(ta, tb, N, K, A, lda, B, ldb, Bp, beta, bias, C, ldc, starts[c], starts[c + 1], 0,
                               npanels);
        } else if (split_m) {
            int64_t m0 = u0 * MR, m1 = u1 * MR < M ? u1 * MR : M;
            gemm_own_block(ta, tb, N, K, A, lda, B, ldb, Bp, beta, bias, C, ldc, m0, m1, 0, npanels);
        } else {
            gemm_own_block(ta, tb, N, K, A, lda, B, ldb, Bp, beta, bias, C, ldc, 0, M, u0, u1);
        }
    }
}

/* ---------------------------------------------------------------- entry points */

void nnb_sgemm(nnb_gemm_impl impl, int threads, char transa, char transb, int64_t M, int64_t N, int64_t K,
               const float *A, int64_t lda, const float *B, int64_t ldb, float beta, float *C, int64_t ldc) {
    if (M <= 0 || N <= 0)
        return;
    switch (impl) {
    case NNB_GEMM_OWN_AVX512:
        gemm_own(threads, transa, transb, M, N, K, A, lda, B, ldb, NULL, beta, NULL, C, ldc);
        return;
    case NNB_GEMM_CBLAS:
#ifdef NNB_HAVE_CBLAS
        gemm_cblas(transa, transb, M, N, K, A, lda, B, ldb, beta, C, ldc);
#else
        gemm_plain(threads, transa, transb, M, N, K, A, lda, B, ldb, beta, C, ldc);
#endif
        return;
    case NNB_GEMM_PLAIN: gemm_plain(threads, transa, transb, M, N, K, A, lda, B, ldb, beta, C, ldc); return;
    case NNB_GEMM_BF16_AVX512:
    case NNB_GEMM_BF16_PORTABLE:
    case NNB_GEMM_BF16_AMX: nnb_bf16_gemm(impl, threads, transa, transb, M, N, K, A, lda, B, ldb, beta, C, ldc); return;
    }
}

void nnb_sgemm_packed(int threads, char transa, int64_t M, const float *A, int64_t lda, const nnb_packed_b *Bp,
                      float beta, float *C, int64_t ldc) {
    if (M <= 0)
        return;
    if (nnb_gemm_impl_is_bf16(Bp->impl))
        nnb_bf16_gemm_packed(threads, transa, M, A, lda, Bp, beta, NULL, C, ldc);
    else if (Bp->impl == NNB_GEMM_OWN_AVX512)
        gemm_own(threads, transa, 'N', M, Bp->N, Bp->K, A, lda, NULL, 0, Bp, beta, NULL, C, ldc);
    else
        nnb_sgemm(Bp->impl, threads, transa, Bp->trans, M, Bp->N, Bp->K, A, lda, Bp->src, Bp->ld, beta, C, ldc);
}

void nnb_sgemm_packed_bias(int threads, char transa, int64_t M, const float *A, int64_t lda, const nnb_packed_b *Bp,
                           const float *bias, float *C, int64_t ldc) {
    if (M <= 0)
        return;
    if (nnb_gemm_impl_is_bf16(Bp->impl)) {
        nnb_bf16_gemm_packed(threads, transa, M, A, lda, Bp, 0.0f, bias, C, ldc);
        return;
    }
    if (Bp->impl == NNB_GEMM_OWN_AVX512) {
        if (Bp->K == 0) { /* no product: C = bias rows */
            for (int64_t i = 0; i < M; i++)
                memcpy(C + i * ldc, bias, sizeof(float) * (size_t)Bp->N);
            return;
        }
        gemm_own(threads, transa, 'N', M, Bp->N, Bp->K, A, lda, NULL, 0, Bp, 0.0f, bias, C, ldc);
        return;
    }
    for (int64_t i = 0; i < M; i++)
        memcpy(C + i * ldc, bias, sizeof(float) * (size_t)Bp->N);
    nnb_sgemm(Bp->impl, threads, transa, Bp->trans, M, Bp->N, Bp->K, A, lda, Bp->src, Bp->ld, 1.0f, C, ldc);
}

/* Several prepacked B operands of one K sharing one packing of A: C_b (M, [q0, q1) panels) (+)= op(A) . B_b. */
static void gemm_own_packed_multi(char ta, int64_t M, const float *A, int64_t lda, int nb,
                                  const nnb_packed_b *const *Bs, float *const *Cs, int64_t N, float beta, int64_t ldc,
                                  int64_t q0, int64_t q1) {
    const int64_t K = Bs[0]->K;
    float *abuf = grow(&tl_abuf, &tl_acap, (size_t)MC * KC_MAX);
    if (!abuf) { /* no memory for packing: the plain loop on each operand's column block */
        int64_t n0 = q0 * NR, n1 = q1 * NR < N ? q1 * NR : N;
        for (int b = 0; b < nb; b++) {
            const nnb_packed_b *Bp = Bs[b];
            gemm_plain(1, ta, Bp->trans, M, n1 - n0, K, A, lda, Bp->trans == 'N' ? Bp->src + n0 : Bp->src + n0 * Bp->ld,
                       Bp->ld, beta, Cs[b] + n0, ldc);
        }
        return;
    }
    const int64_t kb = nnb_gemm_k_block(K);
    for (int64_t k0 = 0; k0 < K; k0 += kb) {
        int64_t kc = K - k0 < kb ? K - k0 : kb;
        int accumulate = k0 > 0 || beta != 0.0f;
        for (int64_t mb = 0; mb < M; mb += MC) {
            int64_t mc = M - mb < MC ? M - mb : MC;
            nnb_gemm_pack_a(ta, A, lda, mb, mc, k0, kc, abuf);
            for (int b = 0; b < nb; b++)
                for (int64_t q = q0; q < q1; q++) {
                    const float *bpan = Bs[b]->panels + q * K * NR + k0 * NR;
                    const float *next = q + 1 < q1   ? bpan + K * NR
                                        : b + 1 < nb ? Bs[b + 1]->panels + q0 * K * NR + k0 * NR
                                                     : bpan;
                    int n = N - q * NR < NR ? (int)(N - q * NR) : NR;
                    micro_rows(kc, abuf, mc, bpan, next, Cs[b] + mb * ldc + q * NR, ldc, n, accumulate, NULL);
                }
        }
    }
}

void nnb_sgemm_packed_cols_multi(char transa, int64_t M, const float *A, int64_t lda, int nb,
                                 const nnb_packed_b *const *Bs, float *const *Cs, int64_t n0, int64_t n1, float beta,
                                 int64_t ldc) {
    if (nb < 1)
        return;
    if (n1 > Bs[0]->N)
        n1 = Bs[0]->N;
    if (M <= 0 || n1 <= n0)
        return;
    if (nnb_gemm_impl_is_bf16(Bs[0]->impl)) {
        nnb_bf16_gemm_packed_cols_multi(transa, M, A, lda, nb, Bs, Cs, n0, n1, beta, ldc);
        return;
    }
    if (Bs[0]->impl == NNB_GEMM_OWN_AVX512) {
        /* N = n1 clips the last panel so no column past n1 is written */
        gemm_own_packed_multi(transa, M, A, lda, nb, Bs, Cs, n1, beta, ldc, n0 / NR, (n1 + NR - 1) / NR);
        return;
    }
    for (int b = 0; b < nb; b++) { /* plain / CBLAS: the same product on the column block of each B */
        const nnb_packed_b *Bp = Bs[b];
        const float *B = Bp->trans == 'N' ? Bp->src + n0 : Bp->src + n0 * Bp->ld;
        nnb_sgemm(Bp->impl, 1, transa, Bp->trans, M, n1 - n0, Bp->K, A, lda, B, Bp->ld, beta, Cs[b] + n0, ldc);
    }
}

/* ---------------------------------------------------------------- several B sharing one A */

/* Rows [m0, m1) of every C_b = op(A) . B_b, the B_b packed whole (one after another) in `whole`; abuf: this
 * thread's A packing buffer (NULL: no memory for it, the plain loop instead). */
static void shared_a_rows(char transa, const float *A, int64_t lda, int64_t K, int nb, const nnb_gemm_b_operand *ops,
                          const float *whole, int64_t total_panels, float beta, float *abuf, int64_t m0, int64_t m1) {
    if (m1 <= m0)
        return;
    if (!abuf) {
        for (int b = 0; b < nb; b++)
            gemm_plain(1, transa, ops[b].trans, m1 - m0, ops[b].N, K, transa == 'N' ? A + m0 * lda : A + m0, lda,
                       ops[b].B, ops[b].ldb, beta, ops[b].C + m0 * ops[b].ldc, ops[b].ldc);
        return;
    }
    const int64_t kb = nnb_gemm_k_block(K);
    for (int64_t mb = m0; mb < m1; mb += MC) {
        int64_t mc = m1 - mb < MC ? m1 - mb : MC;
        for (int64_t k0 = 0; k0 < K; k0 += kb) {
            int64_t kc = K - k0 < kb ? K - k0 : kb;
            int accumulate = k0 > 0 || beta != 0.0f;
            nnb_gemm_pack_a(transa, A, lda, mb, mc, k0, kc, abuf);
            for (int b = 0, first = 0; b < nb; first += (int)((ops[b].N + NR - 1) / NR), b++)
                for (int64_t q = 0; q < (ops[b].N + NR - 1) / NR; q++) {
                    const float *bpan = whole + (first + q) * K * NR + k0 * NR;
                    const float *next = first + q + 1 < total_panels ? bpan + K * NR : bpan;
                    int n = ops[b].N - q * NR < NR ? (int)(ops[b].N - q * NR) : NR;
                    micro_rows(kc, abuf, mc, bpan, next, ops[b].C + mb * ops[b].ldc + q * NR, ops[b].ldc, n, accumulate,
                               NULL);
                }
        }
    }
}

void nnb_sgemm_shared_a(nnb_gemm_impl impl, int threads, char transa, int64_t M, int64_t K, const float *A, int64_t lda,
                        int nb, const nnb_gemm_b_operand *ops, float beta) {
    if (M <= 0 || nb < 1)
        return;
    if (nnb_gemm_impl_is_bf16(impl)) {
        nnb_bf16_gemm_shared_a(impl, threads, transa, M, K, A, lda, nb, ops, beta);
        return;
    }
    int64_t total_panels = 0;
    for (int b = 0; b < nb; b++)
        total_panels += (ops[b].N + NR - 1) / NR;
    float *whole = NULL;
    if (impl == NNB_GEMM_OWN_AVX512 && K > 0 && (uint64_t)total_panels * NR * (uint64_t)K <= ((uint64_t)64 << 20) / 4)
        whole = grow(&tl_wholeb, &tl_wholecap, (size_t)total_panels * NR * (size_t)K);
    if (!whole) { /* other implementations, or no memory: one product per operand */
        for (int b = 0; b < nb; b++)
            nnb_sgemm(impl, threads, transa, ops[b].trans, M, ops[b].N, K, A, lda, ops[b].B, ops[b].ldb, beta, ops[b].C,
                      ops[b].ldc);
        return;
    }
    int64_t mpanels = (M + MR - 1) / MR;
    if (threads > mpanels)
        threads = (int)mpanels;
    if (threads < 1)
        threads = 1;
    int64_t starts[MAX_CHUNKS + 1];
    const int chunks = threads > 1 ? row_chunks(M, threads, starts, MAX_CHUNKS) : 0;
#pragma omp parallel num_threads(threads)
    {
        int t = 0, nt = 1;
#ifdef _OPENMP
        t = omp_get_thread_num();
        nt = omp_get_num_threads();
#endif
        for (int b = 0, first = 0; b < nb; first += (int)((ops[b].N + NR - 1) / NR), b++) {
            int64_t panels = (ops[b].N + NR - 1) / NR;
#pragma omp for schedule(static)
            for (int64_t q = 0; q < panels; q++)
                nnb_gemm_pack_b_panel(ops[b].trans, ops[b].B, ops[b].ldb, ops[b].N, 0, K, q * NR,
                                      whole + (first + q) * K * NR);
        } /* each omp for ends with a barrier: every B is packed before anyone reads it */
        float *abuf = grow(&tl_abuf, &tl_acap, (size_t)MC * KC_MAX);
        if (chunks) {
#pragma omp for schedule(dynamic, 1) nowait
            for (int c = 0; c < chunks; c++)
                shared_a_rows(transa, A, lda, K, nb, ops, whole, total_panels, beta, abuf, starts[c], starts[c + 1]);
        } else {
            int64_t m0 = mpanels * t / nt * MR, m1 = mpanels * (t + 1) / nt * MR;
            shared_a_rows(transa, A, lda, K, nb, ops, whole, total_panels, beta, abuf, m0, m1 < M ? m1 : M);
        }
    }
}

void nnb_sgemm_prepacked_cols(int64_t M, const float *Ap, const nnb_packed_b *Bp, int64_t n0, int64_t n1, float beta,
                              float *C, int64_t ldc) {
    const int64_t K = Bp->K, mpad = (M + MR - 1) / MR * MR;
    if (n1 > Bp->N)
        n1 = Bp->N;
    if (M <= 0 || n1 <= n0)
        return;
    if (nnb_gemm_impl_is_bf16(Bp->impl)) {
        nnb_bf16_gemm_prepacked_cols(M, (const uint32_t *)Ap, Bp, n0, n1, beta, C, ldc);
        return;
    }
    if (Bp->impl != NNB_GEMM_OWN_AVX512)
        return;
    const int64_t kb = nnb_gemm_k_block(K);
    for (int64_t k0 = 0; k0 < K; k0 += kb) {
        int64_t kc = K - k0 < kb ? K - k0 : kb;
        int accumulate = k0 > 0 || beta != 0.0f;
        const float *ablock = Ap + k0 * mpad;
        for (int64_t q = n0 / NR; q < (n1 + NR - 1) / NR; q++) {
            const float *bpan = Bp->panels + q * K * NR + k0 * NR;
            const float *next = q + 1 < (n1 + NR - 1) / NR ? bpan + K * NR : bpan;
            int n = n1 - q * NR < NR ? (int)(n1 - q * NR) : NR; /* clipped at n1: nothing past it is written */
            micro_rows(kc, ablock, M, bpan, next, C + q * NR, ldc, n, accumulate, NULL);
        }
    }
}

void nnb_sgemm_packed_cols(char transa, int64_t M, const float *A, int64_t lda, const nnb_packed_b *Bp, int64_t n0,
                           int64_t n1, float beta, float *C, int64_t ldc) {
    nnb_sgemm_packed_cols_multi(transa, M, A, lda, 1, &Bp, &C, n0, n1, beta, ldc);
}

void nnb_colsum_add(const float *g, int64_t rows, int64_t ld, int64_t c0, int64_t c1, float *db) {
    for (int64_t r = 0; r < rows; r++) {
        const float *row = g + r * ld;
        for (int64_t c = c0; c < c1; c++)
            db[c] += row[c];
    }
}

size_t nnb_packed_a_floats_for(nnb_gemm_impl impl, int64_t M, int64_t K) {
    return nnb_gemm_impl_is_bf16(impl) ? nnb_bf16_packed_a_words(impl, M, K) : nnb_packed_a_floats(M, K);
}

void nnb_pack_a_panels_for(nnb_gemm_impl impl, char transa, int64_t M, int64_t K, const float *A, int64_t lda,
                           int64_t p0, int64_t p1, float *Ap) {
    if (nnb_gemm_impl_is_bf16(impl))
        nnb_bf16_pack_a_panels(impl, transa, M, K, A, lda, p0, p1, (uint32_t *)Ap);
    else
        nnb_pack_a_panels(transa, M, K, A, lda, p0, p1, Ap);
}
