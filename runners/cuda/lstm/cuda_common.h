/*
 * What every CUDA LSTM runner shares: status-checking macros (naming the call,
 * file and line), device/stream/cuBLAS setup, device buffers, the executor
 * (eager launches or CUDA graphs captured at create), NVTX ranges, and the
 * common part of describe().
 */
#ifndef NNB_CUDA_COMMON_H
#define NNB_CUDA_COMMON_H

#include "lstm_data.h"
#include "nnb_support.h"

#include <cublas_v2.h>
#include <cuda_runtime_api.h>
#include <cudnn.h>
#include <nnbench/runner.h>

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

typedef int (*nnb_enqueue_fn)(void *model, char *err, size_t err_len);

typedef struct nnb_cuda_ctx {
    const char *runner; /* runner name: NVTX ranges, messages */
    int device;
    cudaStream_t stream; /* where work goes now: cfg->cuda_stream, or the capture stream while capturing */
    cudaStream_t user_stream;
    cublasHandle_t cublas; /* NULL when the runner uses none */
    void *cublas_ws;       /* fixed cuBLAS workspace (so graph capture never allocates) */
    int graph;             /* executor: 0 eager, 1 CUDA graphs */
    cudaGraphExec_t fwd_exec, bwd_exec;
    int tf32;
    struct cudaDeviceProp prop;
    void **allocs; /* device buffers, freed at destroy */
    int alloc_count, alloc_cap;
    double create_ms;
} nnb_cuda_ctx;

/* descriptor.available for every CUDA runner. */
#include "nnb_cuda_available.h" /* nnb_cuda_available */

/* Device, stream, executor (NULL/"eager" or "graph"; anything else is an error
 * naming it), optional cuBLAS handle with a fixed workspace and the tf32 mode. */
int nnb_cuda_ctx_init(nnb_cuda_ctx *c, const nnb_config *cfg, const char *runner, int with_cublas, char *err,
                      size_t err_len);
void nnb_cuda_ctx_free(nnb_cuda_ctx *c);

/* Zeroed device buffer of n floats (overflow-checked), owned by the context. */
int nnb_cuda_alloc(nnb_cuda_ctx *c, float **p, size_t n, char *err, size_t err_len);
int nnb_cuda_alloc_bytes(nnb_cuda_ctx *c, void **p, size_t bytes, char *err, size_t err_len);
int nnb_cuda_upload(float *dst, const float *src, size_t n, char *err, size_t err_len);
/* Waits for the stream, then copies to the host. */
int nnb_cuda_download(nnb_cuda_ctx *c, float *dst, const float *src, size_t n, char *err, size_t err_len);

/* With the graph executor: captures enqueue(model) on a private stream into
 * *exec (nothing runs). */
int nnb_cuda_capture(nnb_cuda_ctx *c, nnb_enqueue_fn enqueue, void *model, cudaGraphExec_t *exec, char *err,
                     size_t err_len);
/* Runs one phase: replays exec (graph executor) or calls enqueue (eager),
 * inside an NVTX range "<runner>.<phase>". */
int nnb_cuda_run_phase(nnb_cuda_ctx *c, const char *phase, nnb_enqueue_fn enqueue, void *model, cudaGraphExec_t exec,
                       char *err, size_t err_len);

/* Appends the common describe() fields, as `"key":value,` pairs, to buf at *used. */
void nnb_cuda_describe_common(const nnb_cuda_ctx *c, char *buf, size_t len, size_t *used);
/* snprintf that appends at *used and never overruns. */
void nnb_appendf(char *buf, size_t len, size_t *used, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 4, 5)))
#endif
    ;

#endif
