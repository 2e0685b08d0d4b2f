/*
 * The ResNet runners' small kernels and their launchers, in the common subset
 * of C11 and CUDA C++: nvcc builds them into resnet_kernels.cu (extern "C"
 * entry points declared in resnet_kernels.h); the CPU tests include this file
 * directly and run the same source through kernels/cuda/grid_shim.h.
 *
 * Every kernel is a 1-D grid-stride loop over independent items (elements,
 * columns or planes), so any block size and any block cap give the same result.
 * Reductions (bias gradient, average pool) run in a fixed order per item:
 * deterministic, run to run.
 *
 * Activations and their gradients are stored as NNB_RK_F32, NNB_RK_BF16 or NNB_RK_F16 (the `st` argument of
 * the *_st launchers, one storage for every activation argument of a call): each element is widened to fp32
 * on load, the math is fp32, and the result is rounded to nearest even on store (nnb_precision.h, the same
 * rounding as the host's). The bias kernels (fp32 logits) and the BN parameters stay fp32.
 */
#ifndef NNB_RESNET_KERNELS_CUH
#define NNB_RESNET_KERNELS_CUH

#if !defined(__CUDACC__)
#define NNB_RK_CPU_SHIM
#endif
#include "grid_shim.h"
#include "nnb_precision.h"
#include "resnet_bn_math.h"
#include "resnet_kernels.h"
#include <stddef.h>

#if defined(__CUDACC__)
#define NNB_RK_API extern "C"
#define NNB_RK_STATUS() ((int)cudaGetLastError())
#else
#define NNB_RK_API static
#define NNB_RK_STATUS() 0
#endif

/* First item of this thread and the grid-wide stride. */
#define NNB_RK_FIRST() ((long long)blockIdx.x * blockDim.x + threadIdx.x)
#define NNB_RK_STRIDE() ((long long)gridDim.x * blockDim.x)

/* Element i of a buffer of storage st, widened to fp32 (exact). */
NNB_DEVICE float nnb_rk_ld(const void *p, long long i, int st) {
    if (st == NNB_RK_BF16)
        return nnb_f32_from_bf16(((const uint16_t *)p)[i]);
    if (st == NNB_RK_F16)
        return nnb_f32_from_fp16(((const uint16_t *)p)[i]);
    return ((const float *)p)[i];
}

/* v stored as element i of a buffer of storage st, rounded to nearest even. */
NNB_DEVICE void nnb_rk_st(void *p, long long i, float v, int st) {
    if (st == NNB_RK_BF16)
        ((uint16_t *)p)[i] = nnb_bf16_from_f32(v);
    else if (st == NNB_RK_F16)
        ((uint16_t *)p)[i] = nnb_fp16_from_f32(v);
    else
        ((float *)p)[i] = v;
}

NNB_KERNEL void nnb_rk_add_kernel(void *y, const void *a, const void *b, long long n, int st) {
    for (long long i = NNB_RK_FIRST(); i < n; i += NNB_RK_STRIDE())
        nnb_rk_st(y, i, nnb_rk_ld(a, i, st) + nnb_rk_ld(b, i, st), st);
}

NNB_KERNEL void nnb_rk_fanout_kernel(void *dst, const void *grad, long long n, int accumulate, int st) {
    for (long long i = NNB_RK_FIRST(); i < n; i += NNB_RK_STRIDE()) {
        float g = nnb_rk_ld(grad, i, st);
        nnb_rk_st(dst, i, accumulate ? nnb_rk_ld(dst, i, st) + g : g, st);
    }
}

NNB_KERNEL void nnb_rk_bias_add_kernel(float *y, const float *bias, long long rows, long long cols) {
    for (long long i = NNB_RK_FIRST(); i < rows * cols; i += NNB_RK_STRIDE())
        y[i] += bias[i % cols];
}

NNB_KERNEL void nnb_rk_bias_grad_kernel(float *db, const float *dy, long long rows, long long cols) {
    for (long long j = NNB_RK_FIRST(); j < cols; j += NNB_RK_STRIDE()) {
        float sum = 0.0f;
        for (long long r = 0; r < rows; r++)
            sum += dy[r * cols + j];
        db[j] = sum;
    }
}

NNB_KERNEL void nnb_rk_avgpool_fwd_kernel(void *y, const void *x, long long planes, long long hw, int st) {
    for (long long p = NNB_RK_FIRST(); p < planes; p += NNB_RK_STRIDE()) {
        float sum = 0.0f;
        for (long long k = 0; k < hw; k++)
            sum += nnb_rk_ld(x, p * hw + k, st);
        nnb_rk_st(y, p, sum / (float)hw, st);
    }
}

NNB_KERNEL void nnb_rk_avgpool_bwd_kernel(void *dx, const void *dy, long long planes, long long hw, int accumulate,
                                          int st) {
    for (long long i = NNB_RK_FIRST(); i < planes * hw; i += NNB_RK_STRIDE()) {
        float g = nnb_rk_ld(dy, i / hw, st) / (float)hw;
        nnb_rk_st(dx, i, accumulate ? nnb_rk_ld(dx, i, st) + g : g, st);
    }
}

NNB_KERNEL void nnb_rk_add_relu_kernel(void *y, const void *z, long long n, int st) {
    for (long long i = NNB_RK_FIRST(); i < n; i += NNB_RK_STRIDE()) {
        float v = z ? nnb_rk_ld(y, i, st) + nnb_rk_ld(z, i, st) : nnb_rk_ld(y, i, st);
        nnb_rk_st(y, i, v > 0.0f ? v : 0.0f, st);
    }
}

/* y is the relu output: y > 0 exactly where the relu input was > 0 (gradient 0 at 0, as PyTorch). */
NNB_KERNEL void nnb_rk_relu_grad_kernel(void *dy, const void *y, void *dz, long long n, int dz_accumulate, int st) {
    for (long long i = NNB_RK_FIRST(); i < n; i += NNB_RK_STRIDE()) {
        float g = nnb_rk_ld(y, i, st) > 0.0f ? nnb_rk_ld(dy, i, st) : 0.0f;
        nnb_rk_st(dy, i, g, st);
        if (dz)
            nnb_rk_st(dz, i, dz_accumulate ? nnb_rk_ld(dz, i, st) + g : g, st);
    }
}

/* Inference BN over (n, c, hw) NCHW elements (total < 2^31, which the plan guarantees for every activation),
 * channel parameters indexed by (i / hw) % c in 32-bit arithmetic; optional shortcut z and ReLU fused
 * (resnet_bn_math.h). y may be x or z (each element is read before it is written, by the same thread). */
NNB_KERNEL void nnb_rk_bn_infer_kernel(void *y, const void *x, const void *z, const float *gamma, const float *beta,
                                       const float *mean, const float *var, float eps, long long total, unsigned c,
                                       unsigned hw, int relu, int st) {
    for (long long i = NNB_RK_FIRST(); i < total; i += NNB_RK_STRIDE()) {
        unsigned ch = ((unsigned)i / hw) % c;
        float v = nnb_rk_bn_add_relu_value(nnb_rk_ld(x, i, st), z ? nnb_rk_ld(z, i, st) : 0.0f, z != NULL, relu,
                                           gamma[ch], beta[ch], mean[ch], var[ch], eps);
        nnb_rk_st(y, i, v, st);
    }
}

/* Blocks for n items: enough for one item per thread, at least 1, at most the cap. */
static inline dim3 nnb_rk_grid(const nnb_rk_geometry *g, long long n) {
    long long blocks = (n + g->block_size - 1) / g->block_size;
    if (blocks < 1)
        blocks = 1;
    if (g->max_blocks > 0 && blocks > g->max_blocks)
        blocks = g->max_blocks;
    if (blocks > 2147483647LL)
        blocks = 2147483647LL;
    return nnb_dim3((unsigned)blocks, 1);
}
static inline dim3 nnb_rk_block(const nnb_rk_geometry *g) { return nnb_dim3((unsigned)g->block_size, 1); }

NNB_RK_API int nnb_rk_add_st(const nnb_rk_geometry *g, void *stream, void *y, const void *a, const void *b, long long n,
                             int st) {
    NNB_LAUNCH(nnb_rk_add_kernel, nnb_rk_grid(g, n), nnb_rk_block(g), stream, y, a, b, n, st);
    return NNB_RK_STATUS();
}

NNB_RK_API int nnb_rk_fanout_st(const nnb_rk_geometry *g, void *stream, void *dst, const void *grad, long long n,
                                int accumulate, int st) {
    NNB_LAUNCH(nnb_rk_fanout_kernel, nnb_rk_grid(g, n), nnb_rk_block(g), stream, dst, grad, n, accumulate, st);
    return NNB_RK_STATUS();
}

NNB_RK_API int nnb_rk_bias_add(const nnb_rk_geometry *g, void *stream, float *y, const float *bias, long long rows,
                               long long cols) {
    NNB_LAUNCH(nnb_rk_bias_add_kernel, nnb_rk_grid(g, rows * cols), nnb_rk_block(g), stream, y, bias, rows, cols);
    return NNB_RK_STATUS();
}

NNB_RK_API int nnb_rk_bias_grad(const nnb_rk_geometry *g, void *stream, float *db, const float *dy, long long rows,
                                long long cols) {
    NNB_LAUNCH(nnb_rk_bias_grad_kernel, nnb_rk_grid(g, cols), nnb_rk_block(g), stream, db, dy, rows, cols);
    return NNB_RK_STATUS();
}

NNB_RK_API int nnb_rk_avgpool_fwd_st(const nnb_rk_geometry *g, void *stream, void *y, const void *x, long long planes,
                                     long long hw, int st) {
    NNB_LAUNCH(nnb_rk_avgpool_fwd_kernel, nnb_rk_grid(g, planes), nnb_rk_block(g), stream, y, x, planes, hw, st);
    return NNB_RK_STATUS();
}

NNB_RK_API int nnb_rk_avgpool_bwd_st(const nnb_rk_geometry *g, void *stream, void *dx, const void *dy, long long planes,
                                     long long hw, int accumulate, int st) {
    NNB_LAUNCH(nnb_rk_avgpool_bwd_kernel, nnb_rk_grid(g, planes * hw), nnb_rk_block(g), stream, dx, dy, planes, hw,
               accumulate, st);
    return NNB_RK_STATUS();
}

NNB_RK_API int nnb_rk_add_relu_st(const nnb_rk_geometry *g, void *stream, void *y, const void *z, long long n, int st) {
    NNB_LAUNCH(nnb_rk_add_relu_kernel, nnb_rk_grid(g, n), nnb_rk_block(g), stream, y, z, n, st);
    return NNB_RK_STATUS();
}

NNB_RK_API int nnb_rk_bn_infer_st(const nnb_rk_geometry *g, void *stream, void *y, const void *x, const void *z,
                                  const float *gamma, const float *beta, const float *mean, const float *var, float eps,
                                  long long n, long long c, long long hw, int relu, int st) {
    long long total = n * c * hw;
    if (n < 1 || c < 1 || hw < 1 || total > 2147483647LL)
        return 1; /* cudaErrorInvalidValue */
    NNB_LAUNCH(nnb_rk_bn_infer_kernel, nnb_rk_grid(g, total), nnb_rk_block(g), stream, y, x, z, gamma, beta, mean, var,
               eps, total, (unsigned)c, (unsigned)hw, relu, st);
    return NNB_RK_STATUS();
}

NNB_RK_API int nnb_rk_relu_grad_st(const nnb_rk_geometry *g, void *stream, void *dy, const void *y, void *dz,
                                   long long n, int dz_accumulate, int st) {
    NNB_LAUNCH(nnb_rk_relu_grad_kernel, nnb_rk_grid(g, n), nnb_rk_block(g), stream, dy, y, dz, n, dz_accumulate, st);
    return NNB_RK_STATUS();
}

/* ---- fp32 forms (NNB_RK_F32 storage) ---- */

NNB_RK_API int nnb_rk_add(const nnb_rk_geometry *g, void *stream, float *y, const float *a, const float *b,
                          long long n) {
    return nnb_rk_add_st(g, stream, y, a, b, n, NNB_RK_F32);
}

NNB_RK_API int nnb_rk_fanout(const nnb_rk_geometry *g, void *stream, float *dst, const float *grad, long long n,
                             int accumulate) {
    return nnb_rk_fanout_st(g, stream, dst, grad, n, accumulate, NNB_RK_F32);
}

NNB_RK_API int nnb_rk_avgpool_fwd(const nnb_rk_geometry *g, void *stream, float *y, const float *x, long long planes,
                                  long long hw) {
    return nnb_rk_avgpool_fwd_st(g, stream, y, x, planes, hw, NNB_RK_F32);
}

NNB_RK_API int nnb_rk_avgpool_bwd(const nnb_rk_geometry *g, void *stream, float *dx, const float *dy, long long planes,
                                  long long hw, int accumulate) {
    return nnb_rk_avgpool_bwd_st(g, stream, dx, dy, planes, hw, accumulate, NNB_RK_F32);
}

NNB_RK_API int nnb_rk_add_relu(const nnb_rk_geometry *g, void *stream, float *y, const float *z, long long n) {
    return nnb_rk_add_relu_st(g, stream, y, z, n, NNB_RK_F32);
}

NNB_RK_API int nnb_rk_bn_infer(const nnb_rk_geometry *g, void *stream, float *y, const float *x, const float *z,
                               const float *gamma, const float *beta, const float *mean, const float *var, float eps,
                               long long n, long long c, long long hw, int relu) {
    return nnb_rk_bn_infer_st(g, stream, y, x, z, gamma, beta, mean, var, eps, n, c, hw, relu, NNB_RK_F32);
}

NNB_RK_API int nnb_rk_relu_grad(const nnb_rk_geometry *g, void *stream, float *dy, const float *y, float *dz,
                                long long n, int dz_accumulate) {
    return nnb_rk_relu_grad_st(g, stream, dy, y, dz, n, dz_accumulate, NNB_RK_F32);
}

#endif
