/* The precision as the CUDA runners see it: see nnb_cuda_precision.h. */
#include "nnb_cuda_precision.h"
#include "nnb_cuda_util.h"
#include "nnb_precision.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int nnb_cuda_config_precision(const nnb_config *cfg) {
    if (!cfg || cfg->struct_size < offsetof(nnb_config, precision) + sizeof cfg->precision)
        return NNB_PRECISION_FP32;
    return cfg->precision;
}

int nnb_cuda_precision_min_cc(int precision) {
    switch (precision) {
    case NNB_PRECISION_TF32:
    case NNB_PRECISION_BF16: return 80; /* Ampere's tensor cores brought TF32 and bf16 */
    case NNB_PRECISION_FP16: return 70; /* Volta's */
    default: return 0;
    }
}

int nnb_cuda_precision_available(const nnb_config *cfg, char *reason, size_t reason_len) {
    if (!nnb_cuda_available(cfg, reason, reason_len))
        return 0;
    int precision = nnb_cuda_config_precision(cfg), need = nnb_cuda_precision_min_cc(precision);
    if (need == 0)
        return 1;
    int device = cfg ? cfg->cuda_device : 0;
    struct cudaDeviceProp prop;
    cudaError_t st = cudaGetDeviceProperties(&prop, device);
    if (st != cudaSuccess) {
        snprintf(reason, reason_len, "cuda: no device (cudaGetDeviceProperties: %s)", cudaGetErrorString(st));
        return 0;
    }
    if (prop.major * 10 + prop.minor >= need)
        return 1;
    const char *name = nnb_precision_name(precision);
    snprintf(reason, reason_len, "%s needs a GPU of compute capability %d.%d or newer; device %d is %d.%d",
             name ? name : "?", need / 10, need % 10, device, prop.major, prop.minor);
    return 0;
}

cudaDataType nnb_cuda_data_type(int precision) {
    if (precision == NNB_PRECISION_BF16)
        return CUDA_R_16BF;
    return precision == NNB_PRECISION_FP16 ? CUDA_R_16F : CUDA_R_32F;
}

cudnnDataType_t nnb_cudnn_data_type(int precision) {
    if (precision == NNB_PRECISION_BF16)
        return CUDNN_DATA_BFLOAT16;
    return precision == NNB_PRECISION_FP16 ? CUDNN_DATA_HALF : CUDNN_DATA_FLOAT;
}

void nnb_cuda_to_storage(int precision, void *dst, const float *src, size_t n) {
    uint16_t *d16 = (uint16_t *)dst;
    if (precision == NNB_PRECISION_BF16)
        for (size_t i = 0; i < n; i++)
            d16[i] = nnb_bf16_from_f32(src[i]);
    else if (precision == NNB_PRECISION_FP16)
        for (size_t i = 0; i < n; i++)
            d16[i] = nnb_fp16_from_f32(src[i]);
    else
        memcpy(dst, src, n * sizeof(float));
}

void nnb_cuda_from_storage(int precision, float *dst, const void *src, size_t n) {
    const uint16_t *s16 = (const uint16_t *)src;
    if (precision == NNB_PRECISION_BF16)
        for (size_t i = 0; i < n; i++)
            dst[i] = nnb_f32_from_bf16(s16[i]);
    else if (precision == NNB_PRECISION_FP16)
        for (size_t i = 0; i < n; i++)
            dst[i] = nnb_f32_from_fp16(s16[i]);
    else
        memcpy(dst, src, n * sizeof(float));
}

/* A host buffer of n elements of the precision, or NULL with err. */
static void *host_elements(int precision, size_t n, char *err, size_t err_len) {
    size_t bytes;
    void *p = NULL;
    if (nnb_mul_size(&bytes, n ? n : 1, nnb_cuda_precision_bytes(precision)) || !(p = malloc(bytes)))
        nnb_fail(err, err_len, "out of host memory for a %zu-element conversion buffer", n);
    return p;
}

int nnb_cuda_upload_as(int precision, void *dst, const float *src, size_t n, char *err, size_t err_len) {
    if (!nnb_cuda_precision_is_16bit(precision))
        return nnb_cuda_upload((float *)dst, src, n, err, err_len);
    void *tmp = host_elements(precision, n, err, err_len);
    if (!tmp)
        return -1;
    nnb_cuda_to_storage(precision, tmp, src, n);
    cudaError_t st = cudaMemcpy(dst, tmp, n * nnb_cuda_precision_bytes(precision), cudaMemcpyHostToDevice);
    free(tmp);
    if (st != cudaSuccess)
        return nnb_fail(err, err_len, "cudaMemcpy(host -> device, %zu %s elements) failed: %s (%s:%d)", n,
                        nnb_precision_name(precision), cudaGetErrorString(st), __FILE__, __LINE__);
    return 0;
}

int nnb_cuda_download_as(cudaStream_t stream, int precision, float *dst, const void *src, size_t n, char *err,
                         size_t err_len) {
    if (!nnb_cuda_precision_is_16bit(precision))
        return nnb_cuda_download_on(stream, dst, (const float *)src, n, err, err_len);
    void *tmp = host_elements(precision, n, err, err_len);
    if (!tmp)
        return -1;
    const char *call = "cudaStreamSynchronize";
    cudaError_t st = cudaStreamSynchronize(stream);
    if (st == cudaSuccess) {
        call = "cudaMemcpy(device -> host)";
        st = cudaMemcpy(tmp, src, n * nnb_cuda_precision_bytes(precision), cudaMemcpyDeviceToHost);
    }
    if (st == cudaSuccess)
        nnb_cuda_from_storage(precision, dst, tmp, n);
    free(tmp);
    if (st != cudaSuccess)
        return nnb_fail(err, err_len, "%s of %zu %s elements failed: %s (%s:%d)", call, n,
                        nnb_precision_name(precision), cudaGetErrorString(st), __FILE__, __LINE__);
    return 0;
}
