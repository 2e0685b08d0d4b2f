/*
 * The precision (ABI 1.3, --dtype) as the CUDA runners see it: what a device needs for each precision (the one
 * refusal wording of every CUDA runner's available()), the library data types it maps to, and host-side
 * conversions between the fp32 host tensors (what params() and outputs() show) and 16-bit device buffers.
 * Rounding is nnb_precision.h's round-to-nearest-even, the same the device conversion kernel uses.
 * Part of nnb_cuda_util (plain C); nothing prints.
 */
#ifndef NNB_CUDA_PRECISION_H
#define NNB_CUDA_PRECISION_H

#include <cublas_v2.h>
#include <cuda_runtime_api.h>
#include <cudnn.h>
#include <nnbench/runner.h>

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* cfg->precision where the config is new enough to carry it (ABI 1.3), else NNB_PRECISION_FP32. */
int nnb_cuda_config_precision(const nnb_config *cfg);

/* 1 for the precisions stored in 16 bits (bf16, fp16). */
static inline int nnb_cuda_precision_is_16bit(int precision) {
    return precision == NNB_PRECISION_BF16 || precision == NNB_PRECISION_FP16;
}

/* Bytes of one stored element: 2 for bf16/fp16, else 4 (fp32 and tf32 store fp32). */
static inline size_t nnb_cuda_precision_bytes(int precision) { return nnb_cuda_precision_is_16bit(precision) ? 2 : 4; }

/* The compute capability a precision's tensor-core math needs (major * 10 + minor): tf32 and bf16 80, fp16 70,
 * fp32 0 (none). */
int nnb_cuda_precision_min_cc(int precision);

/* nnb_runner_desc.available of every CUDA runner declaring precisions: nnb_cuda_available's checks (no driver,
 * no device, device out of range: "cuda: no device (...)"), then whether device cfg->cuda_device can compute in
 * cfg->precision: 0 with "bf16 needs a GPU of compute capability 8.0 or newer; device 0 is 7.5" when it cannot. */
int nnb_cuda_precision_available(const nnb_config *cfg, char *reason, size_t reason_len);

/* Library data types of the stored elements: fp32/tf32 CUDA_R_32F / CUDNN_DATA_FLOAT, bf16 CUDA_R_16BF /
 * CUDNN_DATA_BFLOAT16, fp16 CUDA_R_16F / CUDNN_DATA_HALF. */
cudaDataType nnb_cuda_data_type(int precision);
cudnnDataType_t nnb_cudnn_data_type(int precision);

/* n fp32 host values into dst (host) as the precision stores them: 16-bit bits for bf16/fp16, else a copy. */
void nnb_cuda_to_storage(int precision, void *dst, const float *src, size_t n);
/* The reverse: n stored elements widened to fp32 (exact). */
void nnb_cuda_from_storage(int precision, float *dst, const void *src, size_t n);

/* Host fp32 -> device buffer of the precision's elements (synchronous; converts through a host buffer). 0, or -1
 * with err naming the failed call. */
int nnb_cuda_upload_as(int precision, void *dst, const float *src, size_t n, char *err, size_t err_len);
/* Waits for stream, then device elements of the precision -> host fp32 (widened). */
int nnb_cuda_download_as(cudaStream_t stream, int precision, float *dst, const void *src, size_t n, char *err,
                         size_t err_len);

#ifdef __cplusplus
}
#endif
#endif
