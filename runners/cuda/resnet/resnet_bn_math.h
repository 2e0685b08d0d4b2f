/*
 * BatchNorm in inference mode, per element: the one copy the fused inference kernel (resnet_kernels.cuh,
 * nnb_rk_bn_infer_kernel) and the CPU tests share (__host__ __device__ under nvcc), so the CPU shim runs
 * exactly the math the GPU runs.
 *
 *   y = (x - running_mean) * (gamma / sqrt(running_var + eps)) + beta        (cuDNN's and PyTorch's eval BN)
 *   fused (the *_jit runners): y = relu(bn(x) + z), z the shortcut (or none), relu(v) = v > 0 ? v : 0
 *   (as nnb_rk_add_relu_kernel: NaN becomes 0).
 */
#ifndef NNB_RESNET_BN_MATH_H
#define NNB_RESNET_BN_MATH_H

#include <math.h>

#if defined(__CUDACC__)
#define NNB_RK_HD __host__ __device__ __forceinline__
#else
#define NNB_RK_HD static inline
#endif

NNB_RK_HD float nnb_rk_bn_infer_value(float x, float gamma, float beta, float mean, float var, float eps) {
    return (x - mean) * (gamma / sqrtf(var + eps)) + beta;
}

/* relu(bn(x) + z) with has_z; without relu, bn(x) (+ z). */
NNB_RK_HD float nnb_rk_bn_add_relu_value(float x, float z, int has_z, int relu, float gamma, float beta, float mean,
                                         float var, float eps) {
    float v = nnb_rk_bn_infer_value(x, gamma, beta, mean, var, eps);
    if (has_z)
        v += z;
    if (relu)
        v = v > 0.0f ? v : 0.0f;
    return v;
}

#endif
