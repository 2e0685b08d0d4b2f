/*
 * What every CUDA LSTM runner shares on top of runners/cuda/common/nnb_cuda_util.h
 * (status macros, availability, device and cuBLAS setup, buffers, NVTX, describe
 * helpers, shared with the CUDA ResNet runners): one context per model with its
 * stream, cuBLAS workspace and buffers, the executor (eager launches or CUDA
 * graphs captured at create), the common part of describe(), and the common first
 * member of every model (nnb_cuda_lstm) behind the one interface of
 * cuda_lstm_interface.h.
 */
#ifndef NNB_CUDA_COMMON_H
#define NNB_CUDA_COMMON_H

#include "cuda_lstm_interface.h"
#include "lstm_data.h"
#include "nnb_cuda_precision.h"
#include "nnb_cuda_util.h" /* status macros, nnb_cuda_available, buffers, nnb_appendf */
#include "nnb_support.h"

#include <cublas_v2.h>
#include <cuda_runtime_api.h>
#include <cudnn.h>
#include <nnbench/runner.h>

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
    int tf32;      /* TF32 tensor-op math: --tf32 (allow_tf32) or --dtype tf32 */
    int precision; /* nnb_precision of the run (ABI 1.3; fp32 for older configs) */
    struct cudaDeviceProp prop;
    nnb_cuda_buffers buffers; /* device buffers, freed at destroy */
} nnb_cuda_ctx;

/* What the CUDA LSTM runners honour of --executor: eager launches or CUDA graphs. */
extern const char *const nnb_cuda_lstm_executors[]; /* eager, graph */

/* Device, stream, executor (NULL/"eager" or "graph"; anything else is refused by
 * nnb_check_fuser_executor), optional cuBLAS handle with a fixed workspace, the precision and the tf32 mode. */
int nnb_cuda_ctx_init(nnb_cuda_ctx *c, const nnb_config *cfg, const char *runner, int with_cublas, char *err,
                      size_t err_len);
void nnb_cuda_ctx_free(nnb_cuda_ctx *c);
/* Every kind's way to move its cuBLAS handle (if any) to stream: with the context's fixed workspace set again
 * (nnb_cuda_cublas_set_stream). 0, or -1 with err naming the failed call. */
int nnb_cuda_ctx_use_stream(nnb_cuda_ctx *c, cudaStream_t stream, char *err, size_t err_len);

/* Zeroed device buffer of n floats (overflow-checked), owned by the context. */
int nnb_cuda_alloc(nnb_cuda_ctx *c, float **p, size_t n, char *err, size_t err_len);
int nnb_cuda_alloc_bytes(nnb_cuda_ctx *c, void **p, size_t bytes, char *err, size_t err_len);
/* Waits for the stream, then copies to the host. */
int nnb_cuda_download(nnb_cuda_ctx *c, float *dst, const float *src, size_t n, char *err, size_t err_len);

/* With the graph executor: captures enqueue(model) on a private stream into
 * *exec (nothing runs). On failure err reads "<runner>: capturing a CUDA graph failed: <cause>", the cause
 * naming the failed call. */
int nnb_cuda_capture(nnb_cuda_ctx *c, nnb_enqueue_fn enqueue, void *model, cudaGraphExec_t *exec, char *err,
                     size_t err_len);
/* Runs one phase: replays exec (graph executor) or calls enqueue (eager),
 * inside an NVTX range "<runner>.<phase>". */
int nnb_cuda_run_phase(nnb_cuda_ctx *c, const char *phase, nnb_enqueue_fn enqueue, void *model, cudaGraphExec_t exec,
                       char *err, size_t err_len);

/* Appends the common describe() fields, as `"key":value,` pairs, to buf at *used. */
void nnb_cuda_describe_common(const nnb_cuda_ctx *c, char *buf, size_t len, size_t *used);

/* ------------------------------------------------------- the model kinds */

/* What one CUDA LSTM model kind (custom_lstm.c, layernorm_lstm.c, cudnn_lstm.c) adds to the shared interface. */
typedef struct nnb_cuda_lstm_ops {
    /* Builds the zeroed model (base.ops, base.name and base.kind set): context, data, buffers, base.params and
     * base.outputs, graph capture. On failure the model is destroyed, half-built. */
    int (*setup)(void *model, const nnb_config *cfg, char *err, size_t err_len);
    nnb_enqueue_fn forward, backward; /* each phase's work, on base.cu.stream */
    /* outputs(): brings the last results back into the host tensors of base.outputs. */
    int (*download)(void *model, char *err, size_t err_len);
    /* describe(): the kind's fields, as `"key":value,` pairs, between the common ones and "layers". */
    void (*describe)(const void *model, char *buf, size_t len, size_t *used);
    /* destroy(): frees what the kind owns beyond nnb_cuda_lstm (model possibly half-built); NULL if nothing. */
    void (*destroy)(void *model);

    /* ---- ABI 1.2 inference; NULL where the kind does not serve ---- */
    /* infer(n): inference forward of the first n (1 <= n <= B, checked) samples on base.cu.user_stream, never
     * captured (n varies): reads the device input in place, writes the device outputs infer_io names. */
    int (*infer)(void *model, int64_t n, char *err, size_t err_len);
    /* outputs() after infer(n): y, hy, cy of those n samples into the host tensors of base.d, densely packed
     * ((T, n, H), (L, n, H)) at the start of each buffer. */
    int (*download_infer)(void *model, int64_t n, char *err, size_t err_len);
    /* infer_io(): the device input (T rows, pitch B * I * 4) and output infer() writes. */
    int (*infer_io)(void *model, nnb_infer_io *io, char *err, size_t err_len);
    /* load_param(): the host weights of base.d have changed (already checked and copied): upload them. */
    int (*reload_weights)(void *model, char *err, size_t err_len);
} nnb_cuda_lstm_ops;

/* The common first member of every CUDA LSTM model (cu_lstm, ln_lstm, cudnn_lstm). Being first, it has the
 * model's address, so the interface functions (forward, backward, params, outputs, describe, flops, destroy)
 * read the void *model of any kind as an nnb_cuda_lstm and exist once, in cuda_common.c, instead of as one
 * cast-and-call trampoline per kind; what differs is reached through ops. */
typedef struct nnb_cuda_lstm {
    nnb_cuda_ctx cu;
    const nnb_cuda_lstm_ops *ops;
    const char *name;                /* runner name: describe()'s "runner" */
    const void *kind;                /* the kind's own table entry for this runner, for its setup; or NULL */
    nnb_lstm_data d;                 /* host inputs, weights and results */
    nnb_tensor_list params, outputs; /* what params() and outputs() hand out, set by setup */
    /* Inference (ABI 1.2): infer_n > 0 while the last pass was infer(infer_n), so outputs() hands out
     * infer_views (y, hy, cy of base.outputs, batch axis infer_n, over the same host buffers); stale_forward:
     * an infer() ran since the last forward, whose saved activations it reused, so backward refuses to run. */
    int64_t infer_n;
    int stale_forward;
    nnb_tensor infer_views[3];
    int infer_count;
} nnb_cuda_lstm;

/* A zeroed model of size bytes (an nnb_cuda_lstm first), set up by ops->setup; NULL with err on failure. */
void *nnb_cuda_lstm_create(size_t size, const nnb_cuda_lstm_ops *ops, const char *name, const void *kind,
                           const nnb_config *cfg, char *err, size_t err_len);

/* The end of setup: waits for the device, then with the graph executor runs forward (and, with
 * with_backward, backward) once eagerly on the user stream, waits for it, and captures the same phases. */
int nnb_cuda_lstm_capture(nnb_cuda_lstm *m, int with_backward, char *err, size_t err_len);

#endif
