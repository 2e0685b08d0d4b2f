/*
 * Row-major GEMM helpers over cuBLAS (which is column-major): a row-major
 * (M, N) matrix is a column-major (N, M) one, so C = A op B row-major is
 * computed as C^T = op(B)^T A^T by swapping the operands.
 *
 * The nnb_gemmx_* forms take the operands' storage (nnb_gemm): fp32 operands go to cublasSgemm exactly as
 * before; 16-bit (bf16/fp16) operands go to cublasGemmEx / cublasGemmStridedBatchedEx with CUBLAS_COMPUTE_32F:
 * fp32 accumulation, fp32 alpha/beta, fp32 C. A and B are then 16-bit buffers (pointer arithmetic on them is the
 * caller's, in elements); C is always fp32. The nnb_gemm_* forms are the fp32 ones (fp32 pointers).
 */
#ifndef NNB_CUDA_GEMM_H
#define NNB_CUDA_GEMM_H

#include "cuda_common.h"

typedef struct nnb_gemm {
    cublasHandle_t h;
    cudaDataType ab; /* A and B: CUDA_R_32F (cublasSgemm), CUDA_R_16BF or CUDA_R_16F (cublasGemmEx) */
} nnb_gemm;

/* Column-major C (m, n) = op(A) op(B) + beta C, by the operands' storage. */
static inline int nnb_gemm_col(const nnb_gemm *g, cublasOperation_t ta, cublasOperation_t tb, int64_t m, int64_t n,
                               int64_t k, const void *A, int64_t lda, const void *B, int64_t ldb, float beta, float *C,
                               int64_t ldc, char *err, size_t err_len) {
    const float one = 1.0f;
    if (g->ab == CUDA_R_32F)
        NNB_CUBLAS_TRY(cublasSgemm(g->h, ta, tb, (int)m, (int)n, (int)k, &one, (const float *)A, (int)lda,
                                   (const float *)B, (int)ldb, &beta, C, (int)ldc));
    else
        NNB_CUBLAS_TRY(cublasGemmEx(g->h, ta, tb, (int)m, (int)n, (int)k, &one, A, g->ab, (int)lda, B, g->ab, (int)ldb,
                                    &beta, C, CUDA_R_32F, (int)ldc, CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT));
    return 0;
}

/* C (M, N) = A (M, K) . B (N, K)^T + beta C */
static inline int nnb_gemmx_nt(const nnb_gemm *g, int64_t M, int64_t N, int64_t K, const void *A, int64_t lda,
                               const void *B, int64_t ldb, float beta, float *C, int64_t ldc, char *err,
                               size_t err_len) {
    if (M <= 0)
        return 0;
    return nnb_gemm_col(g, CUBLAS_OP_T, CUBLAS_OP_N, N, M, K, B, ldb, A, lda, beta, C, ldc, err, err_len);
}

/* For each of batch blocks b: C_b (M, N) = A_b (M, K) . B (N, K)^T + beta C_b, with A_b = A + b * stride_a and
 * C_b = C + b * stride_c (elements) and B shared (stride 0): M rows of a strided sub-block, e.g. the first n of
 * B rows of each time step (infer on batch n < B reads the (T, B, in) input in place). */
static inline int nnb_gemmx_nt_batched(const nnb_gemm *g, int64_t batch, int64_t M, int64_t N, int64_t K, const void *A,
                                       int64_t lda, int64_t stride_a, const void *B, int64_t ldb, float beta, float *C,
                                       int64_t ldc, int64_t stride_c, char *err, size_t err_len) {
    const float one = 1.0f;
    if (M <= 0 || batch <= 0)
        return 0;
    if (g->ab == CUDA_R_32F)
        NNB_CUBLAS_TRY(cublasSgemmStridedBatched(
            g->h, CUBLAS_OP_T, CUBLAS_OP_N, (int)N, (int)M, (int)K, &one, (const float *)B, (int)ldb, 0LL,
            (const float *)A, (int)lda, (long long)stride_a, &beta, C, (int)ldc, (long long)stride_c, (int)batch));
    else
        NNB_CUBLAS_TRY(cublasGemmStridedBatchedEx(g->h, CUBLAS_OP_T, CUBLAS_OP_N, (int)N, (int)M, (int)K, &one, B,
                                                  g->ab, (int)ldb, 0LL, A, g->ab, (int)lda, (long long)stride_a, &beta,
                                                  C, CUDA_R_32F, (int)ldc, (long long)stride_c, (int)batch,
                                                  CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT));
    return 0;
}

/* C (M, N) = A (M, K) . B (K, N) + beta C */
static inline int nnb_gemmx_nn(const nnb_gemm *g, int64_t M, int64_t N, int64_t K, const void *A, int64_t lda,
                               const void *B, int64_t ldb, float beta, float *C, int64_t ldc, char *err,
                               size_t err_len) {
    if (M <= 0)
        return 0;
    return nnb_gemm_col(g, CUBLAS_OP_N, CUBLAS_OP_N, N, M, K, B, ldb, A, lda, beta, C, ldc, err, err_len);
}

/* C (M, N) = A (K, M)^T . B (K, N) + beta C  (weight gradients) */
static inline int nnb_gemmx_tn(const nnb_gemm *g, int64_t M, int64_t N, int64_t K, const void *A, int64_t lda,
                               const void *B, int64_t ldb, float beta, float *C, int64_t ldc, char *err,
                               size_t err_len) {
    if (K <= 0)
        return 0;
    return nnb_gemm_col(g, CUBLAS_OP_N, CUBLAS_OP_T, N, M, K, B, ldb, A, lda, beta, C, ldc, err, err_len);
}

/* ---- fp32 forms ---- */

static inline int nnb_gemm_nt(cublasHandle_t h, int64_t M, int64_t N, int64_t K, const float *A, int64_t lda,
                              const float *B, int64_t ldb, float beta, float *C, int64_t ldc, char *err,
                              size_t err_len) {
    const nnb_gemm g = {h, CUDA_R_32F};
    return nnb_gemmx_nt(&g, M, N, K, A, lda, B, ldb, beta, C, ldc, err, err_len);
}

static inline int nnb_gemm_nn(cublasHandle_t h, int64_t M, int64_t N, int64_t K, const float *A, int64_t lda,
                              const float *B, int64_t ldb, float beta, float *C, int64_t ldc, char *err,
                              size_t err_len) {
    const nnb_gemm g = {h, CUDA_R_32F};
    return nnb_gemmx_nn(&g, M, N, K, A, lda, B, ldb, beta, C, ldc, err, err_len);
}

static inline int nnb_gemm_tn(cublasHandle_t h, int64_t M, int64_t N, int64_t K, const float *A, int64_t lda,
                              const float *B, int64_t ldb, float beta, float *C, int64_t ldc, char *err,
                              size_t err_len) {
    const nnb_gemm g = {h, CUDA_R_32F};
    return nnb_gemmx_tn(&g, M, N, K, A, lda, B, ldb, beta, C, ldc, err, err_len);
}

/* y (N) = A (rows, N)^T . ones (rows) + beta y  (bias gradients: column sums; fp32) */
static inline int nnb_colsum(cublasHandle_t h, int64_t rows, int64_t N, const float *A, int64_t lda, const float *ones,
                             float beta, float *y, char *err, size_t err_len) {
    const float one = 1.0f;
    if (rows <= 0)
        return 0;
    NNB_CUBLAS_TRY(cublasSgemv(h, CUBLAS_OP_N, (int)N, (int)rows, &one, A, (int)lda, ones, 1, &beta, y, 1));
    return 0;
}

#endif
