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
 */
#ifndef NNB_RESNET_KERNELS_CUH
#define NNB_RESNET_KERNELS_CUH

#if !defined(__CUDACC__)
#define NNB_RK_CPU_SHIM
#endif
#include "grid_shim.h"
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

NNB_KERNEL void nnb_rk_add_kernel(float *y, const float *a, const float *b, long long n) {
    for (long long i = NNB_RK_FIRST(); i < n; i += NNB_RK_STRIDE())
        y[i] = a[i] + b[i];
}

NNB_KERNEL void nnb_rk_fanout_kernel(float *dst, const float *grad, long long n, int accumulate) {
    for (long long i = NNB_RK_FIRST(); i < n; i += NNB_RK_STRIDE())
        dst[i] = accumulate ? dst[i] + grad[i] : grad[i];
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

NNB_KERNEL void nnb_rk_avgpool_fwd_kernel(float *y, const float *x, long long planes, long long hw) {
    for (long long p = NNB_RK_FIRST(); p < planes; p += NNB_RK_STRIDE()) {
        float sum = 0.0f;
        for (long long k = 0; k < hw; k++)
            sum += x[p * hw + k];
        y[p] = sum / (float)hw;
    }
}

NNB_KERNEL void nnb_rk_avgpool_bwd_kernel(float *dx, const float *dy, long long planes, long long hw, int accumulate) {
    for (long long i = NNB_RK_FIRST(); i < planes * hw; i += NNB_RK_STRIDE()) {
        float g = dy[i / hw] / (float)hw;
        dx[i] = accumulate ? dx[i] + g : g;
    }
}

NNB_KERNEL void nnb_rk_add_relu_kernel(float *y, const float *z, long long n) {
    for (long long i = NNB_RK_FIRST(); i < n; i += NNB_RK_STRIDE()) {
        float v = z ? y[i] + z[i] : y[i];
        y[i] = v > 0.0f ? v : 0.0f;
    }
}

/* y is the relu output: y > 0 exactly where the relu input was > 0 (gradient 0 at 0, as PyTorch). */
NNB_KERNEL void nnb_rk_relu_grad_kernel(float *dy, const float *y, float *dz, long long n, int dz_accumulate) {
    for (long long i = NNB_RK_FIRST(); i < n; i += NNB_RK_STRIDE()) {
        float g = y[i] > 0.0f ? dy[i] : 0.0f;
        dy[i] = g;
        if (dz)
            dz[i] = dz_accumulate ? dz[i] + g : g;
    }
}

/* Inference BN over (n, c, hw) NCHW elements (total < 2^31, which the plan guarantees for every activation),
 * channel parameters indexed by (i / hw) % c in 32-bit arithmetic; optional shortcut z and ReLU fused
 * (resnet_bn_math.h). y may be x or z (each element is read before it is written, by the same thread). */
NNB_KERNEL void nnb_rk_bn_infer_kernel(float *y, const float *x, const float *z, const float *gamma, const float *beta,
                                       const float *mean, const float *var, float eps, long long total, unsigned c,
                                       unsigned hw, int relu) {
    for (long long i = NNB_RK_FIRST(); i < total; i += NNB_RK_STRIDE()) {
        unsigned ch = ((unsigned)i / hw) % c;
        y[i] = nnb_rk_bn_add_relu_value(x[i], z ? z[i] : 0.0f, z != NULL, relu, gamma[ch], beta[ch], mean[ch], var[ch],
                                        eps);
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

NNB_RK_API int nnb_rk_add(const nnb_rk_geometry *g, void *stream, float *y, const float *a, const float *b,
                          long long n) {
    NNB_LAUNCH(nnb_rk_add_kernel, nnb_rk_grid(g, n), nnb_rk_block(g), stream, y, a, b, n);
    return NNB_RK_STATUS();
}

NNB_RK_API int nnb_rk_fanout(const nnb_rk_geometry *g, void *stream, float *dst, const float *grad, long long n,
                             int accumulate) {
    NNB_LAUNCH(nnb_rk_fanout_kernel, nnb_rk_grid(g, n), nnb_rk_block(g), stream, dst, grad, n, accumulate);
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

NNB_RK_API int nnb_rk_avgpool_fwd(const nnb_rk_geometry *g, void *stream, float *y, const float *x, long long planes,
                                  long long hw) {
    NNB_LAUNCH(nnb_rk_avgpool_fwd_kernel, nnb_rk_grid(g, planes), nnb_rk_block(g), stream, y, x, planes, hw);
    return NNB_RK_STATUS();
}

NNB_RK_API int nnb_rk_avgpool_bwd(const nnb_rk_geometry *g, void *stream, float *dx, const float *dy, long long planes,
                                  long long hw, int accumulate) {
    NNB_LAUNCH(nnb_rk_avgpool_bwd_kernel, nnb_rk_grid(g, planes * hw), nnb_rk_block(g), stream, dx, dy, planes, hw,
               accumulate);
    return NNB_RK_STATUS();
}

NNB_RK_API int nnb_rk_add_relu(const nnb_rk_geometry *g, void *stream, float *y, const float *z, long long n) {
    NNB_LAUNCH(nnb_rk_add_relu_kernel, nnb_rk_grid(g, n), nnb_rk_block(g), stream, y, z, n);
    return NNB_RK_STATUS();
}

NNB_RK_API int nnb_rk_bn_infer(const nnb_rk_geometry *g, void *stream, float *y, const float *x, const float *z,
                               const float *gamma, const float *beta, const float *mean, const float *var, float eps,
                               long long n, long long c, long long hw, int relu) {
    long long total = n * c * hw;
    if (n < 1 || c < 1 || hw < 1 || total > 2147483647LL)
        return 1; /* cudaErrorInvalidValue */
    NNB_LAUNCH(nnb_rk_bn_infer_kernel, nnb_rk_grid(g, total), nnb_rk_block(g), stream, y, x, z, gamma, beta, mean, var,
               eps, total, (unsigned)c, (unsigned)hw, relu);
    return NNB_RK_STATUS();
}

NNB_RK_API int nnb_rk_relu_grad(const nnb_rk_geometry *g, void *stream, float *dy, const float *y, float *dz,
                                long long n, int dz_accumulate) {
    NNB_LAUNCH(nnb_rk_relu_grad_kernel, nnb_rk_grid(g, n), nnb_rk_block(g), stream, dy, y, dz, n, dz_accumulate);
    return NNB_RK_STATUS();
}

#endif
