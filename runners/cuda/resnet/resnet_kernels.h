/*
 * The small CUDA kernels of the ResNet runners (everything cuDNN and cuBLAS do
 * not do), as C functions that enqueue one launch on a stream and return the
 * launch status (a cudaError_t as int, 0 on success). The kernels themselves
 * live in resnet_kernels.cuh, which the CPU tests compile through
 * kernels/cuda/grid_shim.h. All arrays are dense device memory: float32 in the plain forms; in the *_st forms
 * (ABI 1.3 precisions) the activation arguments are stored as `st` (NNB_RK_F32, NNB_RK_BF16, NNB_RK_F16: loaded
 * as fp32, computed in fp32, stored rounded to nearest even), the BN parameters stay float32.
 */
#ifndef NNB_RESNET_KERNELS_H
#define NNB_RESNET_KERNELS_H

#ifdef __cplusplus
extern "C" {
#endif

/* Launch geometry: threads per block, and a cap on the blocks (0 = none; beyond it, grid-stride loops). */
typedef struct nnb_rk_geometry {
    int block_size;
    int max_blocks;
} nnb_rk_geometry;

/* Storage of the activation arguments of the *_st forms. */
#define NNB_RK_F32 0
#define NNB_RK_BF16 1
#define NNB_RK_F16 2

/* The CPU tests include resnet_kernels.cuh, which defines these as static functions. */
#ifndef NNB_RK_CPU_SHIM

/* Residual add: y = a + b, n elements. */
int nnb_rk_add(const nnb_rk_geometry *g, void *stream, float *y, const float *a, const float *b, long long n);
/* Gradient fan-out of the residual add: dst = g (accumulate 0) or dst += g (accumulate 1). */
int nnb_rk_fanout(const nnb_rk_geometry *g, void *stream, float *dst, const float *grad, long long n, int accumulate);
/* fc bias: y (rows, cols) += bias (cols), row-major. */
int nnb_rk_bias_add(const nnb_rk_geometry *g, void *stream, float *y, const float *bias, long long rows,
                    long long cols);
/* fc bias gradient: db (cols) = column sums of dy (rows, cols); one thread per column, rows in order. */
int nnb_rk_bias_grad(const nnb_rk_geometry *g, void *stream, float *db, const float *dy, long long rows,
                     long long cols);
/* Global average pool: y (planes) = mean over hw of x (planes, hw); planes = N*C. */
int nnb_rk_avgpool_fwd(const nnb_rk_geometry *g, void *stream, float *y, const float *x, long long planes,
                       long long hw);
/* Its backward: dx (planes, hw) = dy / hw broadcast (accumulate 1: added to dx). */
int nnb_rk_avgpool_bwd(const nnb_rk_geometry *g, void *stream, float *dx, const float *dy, long long planes,
                       long long hw, int accumulate);
/* Fused tail of bn + add + relu (jit fallback): y = max(y + z, 0) in place; z may be NULL (plain relu). */
int nnb_rk_add_relu(const nnb_rk_geometry *g, void *stream, float *y, const float *z, long long n);
/* Its backward: dy = dy * (y > 0) in place, and dz (may be NULL) = or += that gradient. */
int nnb_rk_relu_grad(const nnb_rk_geometry *g, void *stream, float *dy, const float *y, float *dz, long long n,
                     int dz_accumulate);
/* Inference BatchNorm with the running statistics over (n, c, hw) NCHW, optionally + z (NULL: none) and ReLU
 * (relu 1): y = relu(bn(x) + z), resnet_bn_math.h; the *_jit runners' fused inference step. y may alias x or z.
 * Returns cudaErrorInvalidValue (1) without launching when n * c * hw is not in [1, 2^31). */
int nnb_rk_bn_infer(const nnb_rk_geometry *g, void *stream, float *y, const float *x, const float *z,
                    const float *gamma, const float *beta, const float *mean, const float *var, float eps, long long n,
                    long long c, long long hw, int relu);

/* The same (bias kernels aside) with the activations stored as st. */
int nnb_rk_add_st(const nnb_rk_geometry *g, void *stream, void *y, const void *a, const void *b, long long n, int st);
int nnb_rk_fanout_st(const nnb_rk_geometry *g, void *stream, void *dst, const void *grad, long long n, int accumulate,
                     int st);
int nnb_rk_avgpool_fwd_st(const nnb_rk_geometry *g, void *stream, void *y, const void *x, long long planes,
                          long long hw, int st);
int nnb_rk_avgpool_bwd_st(const nnb_rk_geometry *g, void *stream, void *dx, const void *dy, long long planes,
                          long long hw, int accumulate, int st);
int nnb_rk_add_relu_st(const nnb_rk_geometry *g, void *stream, void *y, const void *z, long long n, int st);
int nnb_rk_relu_grad_st(const nnb_rk_geometry *g, void *stream, void *dy, const void *y, void *dz, long long n,
                        int dz_accumulate, int st);
int nnb_rk_bn_infer_st(const nnb_rk_geometry *g, void *stream, void *y, const void *x, const void *z,
                       const float *gamma, const float *beta, const float *mean, const float *var, float eps,
                       long long n, long long c, long long hw, int relu, int st);
#endif

#ifdef __cplusplus
}
#endif
#endif
