/*
 * nnb_cpu_kernels: CPU building blocks of the fast LSTM runners, usable by any
 * runner plugin (link target nnb_cpu_kernels). Stable API:
 *
 *   ISA        nnb_cpu_isa_detect() picks the widest vector ISA this CPU runs
 *              (AVX-512F+DQ, AVX2+FMA, or scalar) with __builtin_cpu_supports;
 *              nothing here needs -march=native.
 *   GEMM       C = op(A) op(B) + beta C   (row-major, alpha 1, beta 0 or 1).
 *              AVX-512: own 12x32 micro-kernel (8x32 for leftover 8-row panels)
 *              with BLIS-style packing and next-panel L2 prefetch, threads split
 *              over whichever of M or N has more panels (OpenMP).
 *              Otherwise: OpenBLAS cblas_sgemm when built with it, else a plain loop.
 *              bf16 (NNB_GEMM_BF16_*, gemm_bf16*.c): the same entry points with A and B rounded to
 *              bf16 (RNE) as they are packed and fp32 accumulation: AMX tdpbf16ps 32x32 blocks,
 *              AVX512_BF16 vdpbf16ps 12x32 micro-kernels on K pairs, or a portable scalar
 *              emulation of vdpbf16ps that gives the same bits (tests; CPUs without either), chosen
 *              at run time (nnb_gemm_bf16_default_impl); K is never split, so a product's bits do
 *              not depend on threads or blocking.
 *              A constant B (weights) can be packed once with nnb_pack_b; a bias
 *              row can be folded into the epilogue (nnb_sgemm_packed_bias); column
 *              slices (nnb_sgemm_packed_cols*, nnb_sgemm_prepacked_cols) let the
 *              threads of a caller's own OpenMP region share one product.
 *   Vector math nnb_vexpf / nnb_vtanhf / nnb_vsigmoidf on arrays, per ISA.
 *              Error bound (tested against libm in double over a dense grid in
 *              tests/cpu_kernels_should_match_plain_loops.c; measured maxima on
 *              AVX-512 / AVX2 / generic in brackets):
 *                exp:     <= 2 ulp on [-87, 88]                 [0.94 ulp]
 *                tanh:    <= 3 ulp and <= 2e-7 absolute          [1.97 ulp, 8.8e-8]
 *                sigmoid: <= 4 ulp where >= 1e-30, <= 2e-7 abs   [2.42 ulp, 8.9e-8]
 *              A NaN argument gives a NaN (tested).
 *   LSTM cell  fused forward/backward passes over a (rows, 4H) gate block,
 *              in three flavours: scalar fused (calls kernels/lstm_cell_math.h),
 *              vector fused (same formulas, vector exp/tanh), and one pass per
 *              pointwise op (the unfused baseline). See nnb_cell_fwd_args.
 *
 * Nothing here prints or allocates per call except the GEMM's per-thread
 * packing buffers (thread-local, grown once, reused, never freed; if they
 * cannot be allocated the block is computed by the plain loop instead).
 */
#ifndef NNB_CPU_KERNELS_H
#define NNB_CPU_KERNELS_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---------------------------------------------------------------- ISA */

typedef enum nnb_cpu_isa { NNB_ISA_SCALAR = 0, NNB_ISA_AVX2 = 1, NNB_ISA_AVX512 = 2 } nnb_cpu_isa;

nnb_cpu_isa nnb_cpu_isa_detect(void);          /* widest ISA the CPU supports */
const char *nnb_cpu_isa_name(nnb_cpu_isa isa); /* "scalar", "avx2", "avx512" */

/* ---------------------------------------------------------------- GEMM */

/* Micro-kernel tile of the AVX-512 GEMM. */
#define NNB_GEMM_MR 8
#define NNB_GEMM_NR 32

typedef enum nnb_gemm_impl {
    NNB_GEMM_OWN_AVX512 = 0, /* own kernel (needs AVX-512F) */
    NNB_GEMM_CBLAS = 1,      /* OpenBLAS cblas_sgemm (if built with it) */
    NNB_GEMM_PLAIN = 2,      /* plain triple loop, for tests */
    /* bf16 products (gemm_bf16.c): A and B rounded to bf16 (RNE) when packed, fp32 accumulation and C. */
    NNB_GEMM_BF16_AVX512 = 3,   /* own vdpbf16ps 12x32 micro-kernel (needs AVX512_BF16) */
    NNB_GEMM_BF16_PORTABLE = 4, /* scalar emulation of vdpbf16ps, bit for bit: tests, CPUs without the instruction */
    NNB_GEMM_BF16_AMX = 5,      /* AMX tiles (tdpbf16ps), 32x32 blocks; needs AMX-BF16 and the OS's permission */
} nnb_gemm_impl;

/* 1 for the bf16 implementations. Every entry point below takes them: B operands are packed as bf16 K pairs
 * (nnb_pack_b), A is rounded to bf16 as it is packed; nnb_packed_a_floats / nnb_pack_a_panels /
 * nnb_sgemm_prepacked_cols are own-fp32 only. */
static inline int nnb_gemm_impl_is_bf16(nnb_gemm_impl impl) {
    return impl == NNB_GEMM_BF16_AVX512 || impl == NNB_GEMM_BF16_PORTABLE || impl == NNB_GEMM_BF16_AMX;
}
/* The bf16 implementation this CPU runs fastest: AMX where usable, else avx512_bf16, else portable. */
nnb_gemm_impl nnb_gemm_bf16_default_impl(void);
/* Short name for describe(): "amx", "avx512_bf16", "portable" (bf16) or "own_avx512", "cblas", "plain". */
const char *nnb_gemm_impl_name(nnb_gemm_impl impl);

/* Default implementation on this CPU and build: own AVX-512 if the CPU has it,
 * else CBLAS if built with it, else plain. */
nnb_gemm_impl nnb_gemm_default_impl(void);
int nnb_gemm_impl_available(nnb_gemm_impl impl);
/* JSON-safe one-liner naming the implementation, e.g. "own avx512 8x32" or
 * "OpenBLAS 0.3.21 (config ...; core Haswell)". */
const char *nnb_gemm_impl_describe(nnb_gemm_impl impl, char *buf, size_t len);

/* C (M, N) = op(A) (M, K) . op(B) (K, N) + beta * C; trans 'N' or 'T';
 * op(A) = A (M, K, lda) or A^T with A (K, M, lda); likewise B. beta is 0 or 1.
 * threads >= 1: OpenMP threads for own/plain, BLAS threads for CBLAS (which
 * the caller sets with nnb_set_threads). */
void nnb_sgemm(nnb_gemm_impl impl, int threads, char transa, char transb, int64_t M, int64_t N, int64_t K,
               const float *A, int64_t lda, const float *B, int64_t ldb, float beta, float *C, int64_t ldc);

/* A constant B operand packed once (own kernel: NR-wide panels, K-major; other
 * implementations keep a plain reference). */
typedef struct nnb_packed_b {
    nnb_gemm_impl impl;
    int64_t K, N;
    float *panels;    /* own: (ceil(N/NR), K, NR), zero padded; else NULL */
    uint32_t *pairs;  /* bf16: (ceil(N/NR), kp, NR) bf16 pairs (k = 2p low half, 2p + 1 high), zero padded; kp =
                         ceil(K/2), rounded up to 16 for AMX */
    char trans;       /* as given, for the non-packed implementations */
    const float *src; /* as given (must outlive the packed copy for CBLAS/plain) */
    int64_t ld;
} nnb_packed_b;

/* Returns 0, or -1 on size overflow / out of memory. */
int nnb_pack_b(nnb_packed_b *p, nnb_gemm_impl impl, char transb, int64_t K, int64_t N, const float *B, int64_t ldb);
void nnb_packed_b_free(nnb_packed_b *p);

/* C (M, N) = op(A) . Bp + beta * C. */
void nnb_sgemm_packed(int threads, char transa, int64_t M, const float *A, int64_t lda, const nnb_packed_b *Bp,
                      float beta, float *C, int64_t ldc);

/* C (M, N) = op(A) . Bp + 1 . bias^T: the bias row (N) folded into the GEMM
 * (added in the micro-kernel's epilogue; no separate pass over C). */
void nnb_sgemm_packed_bias(int threads, char transa, int64_t M, const float *A, int64_t lda, const nnb_packed_b *Bp,
                           const float *bias, float *C, int64_t ldc);

/* Single-threaded, for use inside the caller's own parallel region: only the
 * columns [n0, n1) of C = op(A) . Bp + beta * C, n0 a multiple of NNB_GEMM_NR
 * (n1 is clipped to Bp->N; nothing outside [n0, n1) is written). C and ldc address the whole C. */
void nnb_sgemm_packed_cols(char transa, int64_t M, const float *A, int64_t lda, const nnb_packed_b *Bp, int64_t n0,
                           int64_t n1, float beta, float *C, int64_t ldc);

/* The same for nb operands B_b of equal K and N into C_b (one packing of A
 * serves them all), e.g. the four gates' blocks of W_hh^T. */
void nnb_sgemm_packed_cols_multi(char transa, int64_t M, const float *A, int64_t lda, int nb,
                                 const nnb_packed_b *const *Bs, float *const *Cs, int64_t n0, int64_t n1, float beta,
                                 int64_t ldc);

/* Several products sharing one A: C_b (M, N_b) = op(A) (M, K) . op(B_b) (K, N_b) + beta C_b,
 * op(A) packed once per block for all of them (e.g. dW_ih and dW_hh = dG^T . [X | H_prev]).
 * Own kernel: the team packs every B once, threads split M. Others: one product per operand. */
typedef struct nnb_gemm_b_operand {
    char trans; /* 'N': B (K, N) with ldb; 'T': B (N, K) with ldb */
    int64_t N;
    const float *B;
    int64_t ldb;
    float *C; /* (M, N) with ldc */
    int64_t ldc;
} nnb_gemm_b_operand;

void nnb_sgemm_shared_a(nnb_gemm_impl impl, int threads, char transa, int64_t M, int64_t K, const float *A, int64_t lda,
                        int nb, const nnb_gemm_b_operand *ops, float beta);

/* An A operand packed once and shared, e.g. by the threads of one team that
 * each compute other columns of the same product (own kernel and bf16 (see the _for variants): callers
 * check the impl and use nnb_sgemm_packed_cols otherwise).
 *   nnb_packed_a_floats: buffer size for op(A) (M, K); 0 on overflow.
 *   nnb_pack_a_panels:   pack row panels [p0, p1) (NNB_GEMM_MR rows each);
 *                        threads may pack disjoint panel ranges concurrently.
 *   nnb_sgemm_prepacked_cols: columns [n0, n1) of C = A . Bp + beta C
 *                        (n0 a multiple of NNB_GEMM_NR; nothing else written). */
size_t nnb_packed_a_floats(int64_t M, int64_t K);
void nnb_pack_a_panels(char transa, int64_t M, int64_t K, const float *A, int64_t lda, int64_t p0, int64_t p1,
                       float *Ap);
void nnb_sgemm_prepacked_cols(int64_t M, const float *Ap, const nnb_packed_b *Bp, int64_t n0, int64_t n1, float beta,
                              float *C, int64_t ldc);
/* The same for any implementation with a packed A: own fp32 (as above) or bf16 (A rounded to bf16 in that
 * implementation's layout, 4-byte words; nnb_sgemm_prepacked_cols then takes it with a bf16 Bp of that impl). */
size_t nnb_packed_a_floats_for(nnb_gemm_impl impl, int64_t M, int64_t K);
void nnb_pack_a_panels_for(nnb_gemm_impl impl, char transa, int64_t M, int64_t K, const float *A, int64_t lda,
                           int64_t p0, int64_t p1, float *Ap);

/* ---------------------------------------------------------------- vector math */

void nnb_vexpf(nnb_cpu_isa isa, const float *x, float *y, int64_t n);
void nnb_vtanhf(nnb_cpu_isa isa, const float *x, float *y, int64_t n);
void nnb_vsigmoidf(nnb_cpu_isa isa, const float *x, float *y, int64_t n);

/* ---------------------------------------------------------------- LSTM cell passes */

/* Forward of `rows` cells over hidden columns [j0, j1) of H (gate order i,f,g,o):
 *   pre = gates + gates_add + bias0 + bias1   (each addend optional: NULL)
 *   gates <- activated (i, f, g, o), saved for backward
 *   c = f * c_prev + i * g,  h = o * tanh(c)
 * Row strides: gates/gates_add 4H, c_prev/c/h H. */
typedef struct nnb_cell_fwd_args {
    int64_t rows, H;
    float *gates;           /* (rows, 4H) pre-activations in, activations out */
    const float *gates_add; /* (rows, 4H) or NULL */
    const float *bias0;     /* (4H) or NULL */
    const float *bias1;     /* (4H) or NULL */
    const float *c_prev;    /* (rows, H) */
    float *c;               /* (rows, H) */
    float *h;               /* (rows, H) */
} nnb_cell_fwd_args;

/* Backward over columns [j0, j1):
 *   dh = dh0 + dh1 (either NULL means 0), dc_in (NULL means 0)
 *   dgates (rows, 4H) <- gradients of the pre-activations
 *   dc_prev (rows, H) <- dc * f   (may alias dc_in)
 * ws: (rows, 2H) scratch for the one-pass-per-op flavour (others ignore it). */
typedef struct nnb_cell_bwd_args {
    int64_t rows, H;
    const float *act;    /* (rows, 4H) activated gates from forward */
    const float *c_prev; /* (rows, H) */
    const float *c;      /* (rows, H) */
    const float *dh0;    /* (rows, H) or NULL */
    const float *dh1;    /* (rows, H) or NULL */
    const float *dc_in;  /* (rows, H) or NULL */
    float *dgates;       /* (rows, 4H) */
    float *dc_prev;      /* (rows, H) */
    float *ws;           /* (rows, 2H) */
} nnb_cell_bwd_args;

/* Scalar fused pass: one loop, per-element math from kernels/lstm_cell_math.h. */
void nnb_cell_fwd_scalar(const nnb_cell_fwd_args *a, int64_t j0, int64_t j1);
void nnb_cell_bwd_scalar(const nnb_cell_bwd_args *a, int64_t j0, int64_t j1);

/* Vector fused pass (same formulas, vector exp/tanh) for the given ISA;
 * NNB_ISA_SCALAR runs the portable vector-extension build at default flags. */
void nnb_cell_fwd_vector(nnb_cpu_isa isa, const nnb_cell_fwd_args *a, int64_t j0, int64_t j1);
void nnb_cell_bwd_vector(nnb_cpu_isa isa, const nnb_cell_bwd_args *a, int64_t j0, int64_t j1);

/* One pass over memory per pointwise op (bias adds, each activation, cell and
 * hidden updates), the unfused baseline. Scalar math from lstm_cell_math.h. */
void nnb_cell_fwd_unfused(const nnb_cell_fwd_args *a, int64_t j0, int64_t j1);
void nnb_cell_bwd_unfused(const nnb_cell_bwd_args *a, int64_t j0, int64_t j1);

/* db[c] += sum over rows of g[r * ld + c], c in [c0, c1). */
void nnb_colsum_add(const float *g, int64_t rows, int64_t ld, int64_t c0, int64_t c1, float *db);

#ifdef __cplusplus
}
#endif
#endif
