/*
 * Row-major GEMM helpers over cuBLAS (which is column-major): a row-major
 * (M, N) matrix is a column-major (N, M) one, so C = A op B row-major is
 * computed as C^T = op(B)^T A^T by swapping the operands. fp32 in and out.
 */
#ifndef NNB_CUDA_GEMM_H
#define NNB_CUDA_GEMM_H

#include "cuda_common.h"

/* C (M, N) = A (M, K) . B (N, K)^T + beta C */
static inline int nnb_gemm_nt(cublasHandle_t h, int64_t M, int64_t N, int64_t K, const float *A, int64_t lda,
                              const float *B, int64_t ldb, float beta, float *C, int64_t ldc, char *err,
                              size_t err_len) {
    const float one = 1.0f;
    if (M <= 0)
        return 0;
    NNB_CUBLAS_TRY(cublasSgemm(h, CUBLAS_OP_T, CUBLAS_OP_N, (int)N, (int)M, (int)K, &one, B, (int)ldb, A, (int)lda,
                               &beta, C, (int)ldc));
    return 0;
}

/* For each of batch blocks b: C_b (M, N) = A_b (M, K) . B (N, K)^T + beta C_b, with A_b = A + b * stride_a and
 * C_b = C + b * stride_c (elements) and B shared (stride 0): M rows of a strided sub-block, e.g. the first n of
 * B rows of each time step (infer on batch n < B reads the (T, B, in) input in place). */
static inline int nnb_gemm_nt_batched(cublasHandle_t h, int64_t batch, int64_t M, int64_t N, int64_t K, const float *A,
                                      int64_t lda, int64_t stride_a, const float *B, int64_t ldb, float beta, float *C,
                                      int64_t ldc, int64_t stride_c, char *err, size_t err_len) {
    const float one = 1.0f;
    if (M <= 0 || batch <= 0)
        return 0;
    NNB_CUBLAS_TRY(cublasSgemmStridedBatched(h, CUBLAS_OP_T, CUBLAS_OP_N, (int)N, (int)M, (int)K, &one, B, (int)ldb,
                                             0LL, A, (int)lda, (long long)stride_a, &beta, C, (int)ldc,
                                             (long long)stride_c, (int)batch));
    return 0;
}

/* C (M, N) = A (M, K) . B (K, N) + beta C */
static inline int nnb_gemm_nn(cublasHandle_t h, int64_t M, int64_t N, int64_t K, const float *A, int64_t lda,
                              const float *B, int64_t ldb, float beta, float *C, int64_t ldc, char *err,
                              size_t err_len) {
    const float one = 1.0f;
    if (M <= 0)
        return 0;
    NNB_CUBLAS_TRY(cublasSgemm(h, CUBLAS_OP_N, CUBLAS_OP_N, (int)N, (int)M, (int)K, &one, B, (int)ldb, A, (int)lda,
                               &beta, C, (int)ldc));
    return 0;
}

/* C (M, N) = A (K, M)^T . B (K, N) + beta C  (weight gradients) */
static inline int nnb_gemm_tn(cublasHandle_t h, int64_t M, int64_t N, int64_t K, const float *A, int64_t lda,
                              const float *B, int64_t ldb, float beta, float *C, int64_t ldc, char *err,
                              size_t err_len) {
    const float one = 1.0f;
    if (K <= 0)
        return 0;
    NNB_CUBLAS_TRY(cublasSgemm(h, CUBLAS_OP_N, CUBLAS_OP_T, (int)N, (int)M, (int)K, &one, B, (int)ldb, A, (int)lda,
                               &beta, C, (int)ldc));
    return 0;
}

/* y (N) = A (rows, N)^T . ones (rows) + beta y  (bias gradients: column sums) */
static inline int nnb_colsum(cublasHandle_t h, int64_t rows, int64_t N, const float *A, int64_t lda, const float *ones,
                             float beta, float *y, char *err, size_t err_len) {
    const float one = 1.0f;
    if (rows <= 0)
        return 0;
    NNB_CUBLAS_TRY(cublasSgemv(h, CUBLAS_OP_N, (int)N, (int)rows, &one, A, (int)lda, ones, 1, &beta, y, 1));
    return 0;
}

#endif
