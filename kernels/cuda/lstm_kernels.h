/*
 * C interface of the CUDA LSTM kernels (kernels/cuda/lstm_kernels.cu). Every
 * function enqueues on `stream` (a cudaStream_t) and returns the launch's
 * cudaError_t as an int (0 = cudaSuccess). Pointers are device pointers.
 */
#ifndef NNB_LSTM_KERNELS_H
#define NNB_LSTM_KERNELS_H

#include "pointwise_geometry.h"

#ifdef __cplusplus
extern "C" {
#endif

/* How the LSTM cell's pointwise math runs (cfg->fuser). */
typedef enum nnb_cell_variant {
    NNB_CELL_TE = 0,  /* fused, 1-D grid, loop_level consecutive cells per thread */
    NNB_CELL_OLD = 1, /* fused, 2-D grid (row, unit), loop_level units strided by the block */
    NNB_CELL_NONE = 2 /* one kernel per op (aten) */
} nnb_cell_variant;

/* Kernel names of each variant, for describe(). */
const char *nnb_cell_variant_kernels(nnb_cell_variant v);

/* Forward cell over B rows: gates (B, 4H) pre-activations in, activations out;
 * bias_a/bias_b (4H) may be NULL; c_prev, c, h (B, H). scratch: 2*B*H floats
 * (used by NNB_CELL_NONE only, may be NULL otherwise). */
int nnb_cuda_lstm_cell_fwd(nnb_cell_variant v, const nnb_pw_geometry *geo, void *stream, float *gates,
                           const float *bias_a, const float *bias_b, const float *c_prev, float *c, float *h,
                           float *scratch, long long B, long long H);

/* Backward cell: gates (B, 4H) activations; c_prev, c (B, H); dy, dh_rec (B, H)
 * either may be NULL (dh = dy + dh_rec); dc (B, H) in: from step t+1, out: to
 * step t-1; dgates (B, 4H) out. scratch: 3*B*H floats (NNB_CELL_NONE only). */
int nnb_cuda_lstm_cell_bwd(nnb_cell_variant v, const nnb_pw_geometry *geo, void *stream, const float *gates,
                           const float *c_prev, const float *c, const float *dy, const float *dh_rec, float *dc,
                           float *dgates, float *scratch, long long B, long long H);

/* out = op(a, b) over a strided (rows, cols) view; op is an nnb_pw_op. */
int nnb_cuda_pointwise(const nnb_pw_geometry *geo, void *stream, int op, float *out, long long ldo, const float *a,
                       long long lda, const float *b, long long ldb, long long rows, long long cols);

/* Row-wise LayerNorm: out[r] = (in[r] - mean) / sqrt(var + eps) * gamma + beta
 * (biased variance; gamma/beta (cols) may be NULL for 1 and 0). One warp per
 * row; in place allowed. */
int nnb_cuda_layernorm_rows(void *stream, float *out, const float *in, const float *gamma, const float *beta,
                            long long rows, long long cols, float eps);

/* LayerNorm with what its backward needs: out = xhat * gamma + beta with
 * xhat = (in - mean) * rstd; xhat (rows, cols) and rstd (rows) are saved when
 * not NULL. One warp per row; out may alias in. */
int nnb_cuda_layernorm_fwd(void *stream, float *out, float *xhat, float *rstd, const float *in, const float *gamma,
                           const float *beta, long long rows, long long cols, float eps);

/* LayerNorm backward to its input: dxhat = dy * gamma,
 * dx = rstd * (dxhat - mean(dxhat) - xhat * mean(dxhat * xhat)). dx may alias dy. */
int nnb_cuda_layernorm_bwd(void *stream, float *dx, const float *dy, const float *xhat, const float *rstd,
                           const float *gamma, long long rows, long long cols);

/* The same LayerNorm as seven passes (mean, subtract, variance, 1/std, normalise,
 * scale, shift; lstm_pointwise.cuh), for jit_layernorm_decom. stat: rows floats
 * of scratch. out may alias in. */
int nnb_cuda_layernorm_decomposed(const nnb_pw_geometry *geo, void *stream, float *out, float *xhat, float *rstd,
                                  float *stat, const float *in, const float *gamma, const float *beta, long long rows,
                                  long long cols, float eps);

/* LayerNorm LSTM cell halves (lstm_pointwise.cuh, nnb_launch_ln_cell): which =
 * 0 gates forward, 1 output forward, 2 output backward, 3 gates backward. */
int nnb_cuda_ln_cell(int which, const nnb_pw_geometry *geo, void *stream, const float *p0, const float *p1,
                     const float *p2, const float *p3, const float *p4, float *o0, float *o1, long long B, long long H);

/* dst (n 16-bit elements) = src (n floats) rounded to nearest even: bf16 bits (fp16 == 0) or IEEE half bits
 * (fp16 == 1), what the 16-bit GEMM operands of the hand-written runners are made of (precision_convert.cuh). */
int nnb_cuda_f32_to_16bit(void *stream, void *dst, const float *src, long long n, int fp16);

#ifdef __cplusplus
}
#endif
#endif
