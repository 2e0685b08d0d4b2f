/*
 * nvcc side of the LSTM kernels: the pointwise kernels themselves live in
 * lstm_pointwise.cuh (shared with the CPU tests); this file gives them a C
 * interface, and adds the LayerNorm kernel (warp reductions, GPU only).
 */
#include "lstm_kernels.h"
#include "lstm_pointwise.cuh"
#include "precision_convert.cuh"

#include <cuda_runtime.h>

extern "C" const char *nnb_cell_variant_kernels(nnb_cell_variant v) {
    switch (v) {
    case NNB_CELL_TE: return "nnb_lstm_fwd_te_kernel/nnb_lstm_bwd_te_kernel";
    case NNB_CELL_OLD: return "nnb_lstm_fwd_old_kernel/nnb_lstm_bwd_old_kernel";
    default: return "nnb_pointwise_kernel (one launch per op)";
    }
}

extern "C" int nnb_cuda_lstm_cell_fwd(nnb_cell_variant v, const nnb_pw_geometry *geo, void *stream, float *gates,
                                      const float *bias_a, const float *bias_b, const float *c_prev, float *c, float *h,
                                      float *scratch, long long B, long long H) {
    if (v == NNB_CELL_NONE)
        nnb_lstm_fwd_unfused(geo, stream, gates, bias_a, bias_b, c_prev, c, h, scratch, B, H);
    else
        nnb_launch_lstm_fwd(v == NNB_CELL_OLD, geo, stream, gates, bias_a, bias_b, c_prev, c, h, B, H);
    return (int)cudaGetLastError();
}

extern "C" int nnb_cuda_lstm_cell_bwd(nnb_cell_variant v, const nnb_pw_geometry *geo, void *stream, const float *gates,
                                      const float *c_prev, const float *c, const float *dy, const float *dh_rec,
                                      float *dc, float *dgates, float *scratch, long long B, long long H) {
    if (v == NNB_CELL_NONE)
        nnb_lstm_bwd_unfused(geo, stream, gates, c_prev, c, dy, dh_rec, dc, dgates, scratch, B, H);
    else
        nnb_launch_lstm_bwd(v == NNB_CELL_OLD, geo, stream, gates, c_prev, c, dy, dh_rec, dc, dgates, B, H);
    return (int)cudaGetLastError();
}

extern "C" int nnb_cuda_pointwise(const nnb_pw_geometry *geo, void *stream, int op, float *out, long long ldo,
                                  const float *a, long long lda, const float *b, long long ldb, long long rows,
                                  long long cols) {
    nnb_launch_pointwise(geo, stream, op, out, ldo, a, lda, b, ldb, rows, cols);
    return (int)cudaGetLastError();
}

extern "C" int nnb_cuda_f32_to_16bit(void *stream, void *dst, const float *src, long long n, int fp16) {
    nnb_launch_f32_to_16bit(stream, (uint16_t *)dst, src, n, fp16);
    return (int)cudaGetLastError();
}

/* ------------------------------------------------------------------ LayerNorm */

enum { LN_WARPS_PER_BLOCK = 8 };

__device__ __forceinline__ float warp_sum(float v) {
    for (int offset = 16; offset > 0; offset >>= 1)
        v += __shfl_xor_sync(0xffffffffu, v, offset);
    return v;
}

/* One warp per row: mean, then the centred variance (more accurate than
 * E[x^2] - mean^2), then the normalised, affine output. */
__global__ void nnb_layernorm_fwd_kernel(float *out, float *xhat, float *rstd_out, const float *in, const float *gamma,
                                         const float *beta, long long rows, long long cols, float eps) {
    long long row = (long long)blockIdx.x * LN_WARPS_PER_BLOCK + threadIdx.x / 32;
    int lane = threadIdx.x % 32;
    if (row >= rows)
        return; /* whole warps leave together: the row is per warp */
    const float *x = in + row * cols;
    float *y = out + row * cols;
    float s = 0;
    for (long long j = lane; j < cols; j += 32)
        s += x[j];
    float mean = warp_sum(s) / (float)cols;
    float v = 0;
    for (long long j = lane; j < cols; j += 32) {
        float d = x[j] - mean;
        v += d * d;
    }
    float rstd = rsqrtf(warp_sum(v) / (float)cols + eps);
    if (rstd_out && lane == 0)
        rstd_out[row] = rstd;
    for (long long j = lane; j < cols; j += 32) {
        float n = (x[j] - mean) * rstd;
        if (xhat)
            xhat[row * cols + j] = n;
        y[j] = n * (gamma ? gamma[j] : 1.0f) + (beta ? beta[j] : 0.0f);
    }
}

__global__ void nnb_layernorm_bwd_kernel(float *dx, const float *dy, const float *xhat, const float *rstd,
                                         const float *gamma, long long rows, long long cols) {
    long long row = (long long)blockIdx.x * LN_WARPS_PER_BLOCK + threadIdx.x / 32;
    int lane = threadIdx.x % 32;
    if (row >= rows)
        return;
    const float *g = dy + row * cols, *n = xhat + row * cols;
    float s1 = 0, s2 = 0;
    for (long long j = lane; j < cols; j += 32) {
        float d = g[j] * (gamma ? gamma[j] : 1.0f);
        s1 += d;
        s2 += d * n[j];
    }
    float mean_d = warp_sum(s1) / (float)cols, mean_dn = warp_sum(s2) / (float)cols, r = rstd[row];
    for (long long j = lane; j < cols; j += 32) {
        float d = g[j] * (gamma ? gamma[j] : 1.0f);
        dx[row * cols + j] = r * (d - mean_d - n[j] * mean_dn);
    }
}

static unsigned ln_blocks(long long rows) { return (unsigned)((rows + LN_WARPS_PER_BLOCK - 1) / LN_WARPS_PER_BLOCK); }

extern "C" int nnb_cuda_layernorm_fwd(void *stream, float *out, float *xhat, float *rstd, const float *in,
                                      const float *gamma, const float *beta, long long rows, long long cols,
                                      float eps) {
    if (rows <= 0 || cols <= 0)
        return 0;
    nnb_layernorm_fwd_kernel<<<ln_blocks(rows), 32 * LN_WARPS_PER_BLOCK, 0, (cudaStream_t)stream>>>(
        out, xhat, rstd, in, gamma, beta, rows, cols, eps);
    return (int)cudaGetLastError();
}

extern "C" int nnb_cuda_layernorm_rows(void *stream, float *out, const float *in, const float *gamma, const float *beta,
                                       long long rows, long long cols, float eps) {
    return nnb_cuda_layernorm_fwd(stream, out, NULL, NULL, in, gamma, beta, rows, cols, eps);
}

extern "C" int nnb_cuda_layernorm_bwd(void *stream, float *dx, const float *dy, const float *xhat, const float *rstd,
                                      const float *gamma, long long rows, long long cols) {
    if (rows <= 0 || cols <= 0)
        return 0;
    nnb_layernorm_bwd_kernel<<<ln_blocks(rows), 32 * LN_WARPS_PER_BLOCK, 0, (cudaStream_t)stream>>>(dx, dy, xhat, rstd,
                                                                                                    gamma, rows, cols);
    return (int)cudaGetLastError();
}

extern "C" int nnb_cuda_ln_cell(int which, const nnb_pw_geometry *geo, void *stream, const float *p0, const float *p1,
                                const float *p2, const float *p3, const float *p4, float *o0, float *o1, long long B,
                                long long H) {
    nnb_launch_ln_cell(which, geo, stream, p0, p1, p2, p3, p4, o0, o1, B, H);
    return (int)cudaGetLastError();
}

extern "C" int nnb_cuda_layernorm_decomposed(const nnb_pw_geometry *geo, void *stream, float *out, float *xhat,
                                             float *rstd, float *stat, const float *in, const float *gamma,
                                             const float *beta, long long rows, long long cols, float eps) {
    nnb_layernorm_decomposed(geo, stream, out, xhat, rstd, stat, in, gamma, beta, rows, cols, eps);
    return (int)cudaGetLastError();
}
