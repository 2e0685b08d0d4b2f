/*
 * Status checks of the CUDA ResNet runners: each macro names the failing call,
 * file and line in err and returns -1 from the enclosing function (which has
 * `char *err, size_t err_len` in scope). Nothing aborts, nothing prints.
 */
#ifndef NNB_CUDA_RESNET_UTIL_H
#define NNB_CUDA_RESNET_UTIL_H

#include "nnb_support.h"

#include <cublas_v2.h>
#include <cuda_runtime_api.h>
#include <cudnn.h>

#define CR_CUDA(call)                                                                                                  \
    do {                                                                                                               \
        cudaError_t st_ = (call);                                                                                      \
        if (st_ != cudaSuccess)                                                                                        \
            return nnb_fail(err, err_len, "%s failed: %s (%s:%d)", #call, cudaGetErrorString(st_), __FILE__,           \
                            __LINE__);                                                                                 \
    } while (0)
#define CR_CUBLAS(call)                                                                                                \
    do {                                                                                                               \
        cublasStatus_t st_ = (call);                                                                                   \
        if (st_ != CUBLAS_STATUS_SUCCESS)                                                                              \
            return nnb_fail(err, err_len, "%s failed: %s (%s:%d)", #call, cublasGetStatusString(st_), __FILE__,        \
                            __LINE__);                                                                                 \
    } while (0)
#define CR_CUDNN(call)                                                                                                 \
    do {                                                                                                               \
        cudnnStatus_t st_ = (call);                                                                                    \
        if (st_ != CUDNN_STATUS_SUCCESS)                                                                               \
            return nnb_fail(err, err_len, "%s failed: %s (%s:%d)", #call, cudnnGetErrorString(st_), __FILE__,          \
                            __LINE__);                                                                                 \
    } while (0)
/* Kernel launchers (resnet_kernels.h) return a cudaError_t as int. */
#define CR_KERNEL(call) CR_CUDA((cudaError_t)(call))

#endif
