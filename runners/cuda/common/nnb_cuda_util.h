/*
 * What both CUDA runner families (runners/cuda/lstm, runners/cuda/resnet) share: status checks that name the
 * failing call, file and line; the device-availability probe (nnb_runner_desc.available); device and cuBLAS
 * setup; a pool of zeroed device buffers freed together; host copies; NVTX ranges; the device part of
 * describe() (appended with runners/common's nnb_appendf).
 * Built as the static library nnb_cuda_util (plain C over cudart, cuBLAS and cuDNN); the CPU-side tests
 * compile nnb_cuda_util.c against the emulated runtime (runners/cuda/lstm/emulation). Nothing prints.
 */
#ifndef NNB_CUDA_UTIL_H
#define NNB_CUDA_UTIL_H

#include "nnb_support.h"

#include <cublas_v2.h>
#include <cuda_runtime_api.h>
#include <cudnn.h>
#include <nnbench/runner.h>

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* In a function with `char *err, size_t err_len` returning int: on failure,
 * write "<call> failed: <reason> (file:line)" and return -1. */
#define NNB_CUDA_TRY(call)                                                                                             \
    do {                                                                                                               \
        cudaError_t st_ = (call);                                                                                      \
        if (st_ != cudaSuccess)                                                                                        \
            return nnb_fail(err, err_len, "%s failed: %s (%s:%d)", #call, cudaGetErrorString(st_), __FILE__,           \
                            __LINE__);                                                                                 \
    } while (0)
#define NNB_CUBLAS_TRY(call)                                                                                           \
    do {                                                                                                               \
        cublasStatus_t st_ = (call);                                                                                   \
        if (st_ != CUBLAS_STATUS_SUCCESS)                                                                              \
            return nnb_fail(err, err_len, "%s failed: %s (%s:%d)", #call, cublasGetStatusString(st_), __FILE__,        \
                            __LINE__);                                                                                 \
    } while (0)
#define NNB_CUDNN_TRY(call)                                                                                            \
    do {                                                                                                               \
        cudnnStatus_t st_ = (call);                                                                                    \
        if (st_ != CUDNN_STATUS_SUCCESS)                                                                               \
            return nnb_fail(err, err_len, "%s failed: %s (%s:%d)", #call, cudnnGetErrorString(st_), __FILE__,          \
                            __LINE__);                                                                                 \
    } while (0)
/* Kernel launch wrappers return a cudaError_t as int. */
#define NNB_KERNEL_TRY(call) NNB_CUDA_TRY((cudaError_t)(call))

/* 1 if cfg->cuda_device exists; else 0 with "cuda: no device (<reason>)" (or the device asked for and the
 * count present). Safe without a driver (cudart reports an error, nothing crashes). */
int nnb_cuda_available(const nnb_config *cfg, char *reason, size_t reason_len);

/* nnb_cuda_available (its reason as the error), then cudaSetDevice(cfg->cuda_device) and its properties. */
int nnb_cuda_device_init(const nnb_config *cfg, int *device, struct cudaDeviceProp *prop, char *err, size_t err_len);

/* A cuBLAS handle on stream, host pointer mode, CUBLAS_DEFAULT_MATH (CUBLAS_TF32_TENSOR_OP_MATH with tf32). */
int nnb_cuda_cublas_init(cublasHandle_t *handle, cudaStream_t stream, int tf32, char *err, size_t err_len);
/* Puts handle on stream, then (workspace not NULL) sets workspace again: cublasSetStream resets a handle's
 * workspace to cuBLAS's default pool, so a fixed workspace (what keeps graph capture from allocating) is lost
 * unless it is set after every stream change. Every stream change of a handle with a workspace goes here. */
int nnb_cuda_cublas_set_stream(cublasHandle_t handle, cudaStream_t stream, void *workspace, size_t workspace_bytes,
                               char *err, size_t err_len);

/* Device buffers owned together, freed by nnb_cuda_buffers_free (zeroed struct = empty). */
typedef struct nnb_cuda_buffers {
    void **items;
    int count, cap;
} nnb_cuda_buffers;

/* A zeroed device buffer of bytes (at least 4), added to b. */
int nnb_cuda_buffers_alloc(nnb_cuda_buffers *b, void **p, size_t bytes, char *err, size_t err_len);
/* n floats, overflow-checked. */
int nnb_cuda_buffers_floats(nnb_cuda_buffers *b, float **p, size_t n, char *err, size_t err_len);
void nnb_cuda_buffers_free(nnb_cuda_buffers *b);

/* Host -> device (synchronous). */
int nnb_cuda_upload(float *dst, const float *src, size_t n, char *err, size_t err_len);
/* Waits for stream, then copies device -> host. */
int nnb_cuda_download_on(cudaStream_t stream, float *dst, const float *src, size_t n, char *err, size_t err_len);
/* Host -> device bytes on stream (ordered after the work already there, e.g. an infer() in flight), then waits
 * for it, so src may be reused at once. What load_param uploads with. */
int nnb_cuda_upload_on(cudaStream_t stream, void *dst, const void *src, size_t bytes, char *err, size_t err_len);

/* ---- ABI 1.2 inference helpers (both families) ---- */

/* 1 <= n <= batch, else "<runner>: infer: n = N outside [1, B] (the batch it was created for)". */
int nnb_cuda_check_infer_n(const char *runner, int64_t n, int64_t batch, char *err, size_t err_len);
/* Fills io (an nnb_infer_io of at least ABI 1.2's size, as io->struct_size says; its struct_size is kept). */
int nnb_cuda_fill_infer_io(const char *runner, nnb_infer_io *io, void *input, size_t input_rows, size_t input_row_pitch,
                           size_t input_sample_bytes, void *output, size_t output_rows, size_t output_row_pitch,
                           size_t output_sample_bytes, char *err, size_t err_len);
/* load_param's check of value against want (the params() tensor of that name): dtype and shape equal and data
 * present, else one line naming the runner, the tensor and both shapes (or dtypes). 0 or -1. */
int nnb_cuda_match_param(const char *runner, const nnb_tensor *want, const nnb_tensor *value, char *err,
                         size_t err_len);

/* NVTX range "<runner>.<phase>" (no-ops when built without NVTX). */
void nnb_cuda_range_push(const char *runner, const char *phase);
void nnb_cuda_range_pop(void);

/* Appends `"device":"<name>","device_index":N,"sm":"M.m","cuda_runtime":R,"cuda_driver":D,"cudnn":V,` and,
 * with a cuBLAS handle, `"cublas":V,` (the name without quotes or backslashes). */
void nnb_cuda_describe_device(const struct cudaDeviceProp *prop, int device, cublasHandle_t cublas, char *buf,
                              size_t len, size_t *used);

#ifdef __cplusplus
}
#endif
#endif
