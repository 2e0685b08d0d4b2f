#include "cuda_common.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifdef NNB_HAVE_NVTX
#include <nvtx3/nvToolsExt.h>
#endif

enum { CUBLAS_WORKSPACE_BYTES = 32 << 20 }; /* cuBLAS's recommendation for Hopper */

int nnb_cuda_ctx_init(nnb_cuda_ctx *c, const nnb_config *cfg, const char *runner, int with_cublas, char *err,
                      size_t err_len) {
    double t0 = nnb_now_seconds();
    memset(c, 0, sizeof *c);
    if (cfg->struct_size < offsetof(nnb_config, cuda_stream) + sizeof cfg->cuda_stream)
        return nnb_fail(err, err_len, "%s: config struct too old (struct_size %zu)", runner, cfg->struct_size);
    c->runner = runner;
    c->device = cfg->cuda_device;
    c->tf32 = cfg->allow_tf32 != 0;
    if (!cfg->executor || !strcmp(cfg->executor, "eager"))
        c->graph = 0;
    else if (!strcmp(cfg->executor, "graph"))
        c->graph = 1;
    else
        return nnb_fail(err, err_len, "%s: executor '%s' is not supported (eager, graph)", runner, cfg->executor);
    char why[256];
    if (!nnb_cuda_available(cfg, why, sizeof why))
        return nnb_fail(err, err_len, "%s", why);
    NNB_CUDA_TRY(cudaSetDevice(c->device));
    NNB_CUDA_TRY(cudaGetDeviceProperties(&c->prop, c->device));
    c->user_stream = c->stream = (cudaStream_t)cfg->cuda_stream;
    if (with_cublas) {
        NNB_CUBLAS_TRY(cublasCreate(&c->cublas));
        NNB_CUBLAS_TRY(cublasSetStream(c->cublas, c->stream));
        NNB_CUBLAS_TRY(cublasSetMathMode(c->cublas, c->tf32 ? CUBLAS_TF32_TENSOR_OP_MATH : CUBLAS_DEFAULT_MATH));
        NNB_CUBLAS_TRY(cublasSetPointerMode(c->cublas, CUBLAS_POINTER_MODE_HOST));
        if (nnb_cuda_alloc_bytes(c, &c->cublas_ws, CUBLAS_WORKSPACE_BYTES, err, err_len))
            return -1;
        NNB_CUBLAS_TRY(cublasSetWorkspace(c->cublas, c->cublas_ws, CUBLAS_WORKSPACE_BYTES));
    }
    c->create_ms = 1e3 * (nnb_now_seconds() - t0);
    return 0;
}

void nnb_cuda_ctx_free(nnb_cuda_ctx *c) {
    if (c->fwd_exec)
        cudaGraphExecDestroy(c->fwd_exec);
    if (c->bwd_exec)
        cudaGraphExecDestroy(c->bwd_exec);
    if (c->cublas)
        cublasDestroy(c->cublas);
    for (int i = 0; i < c->alloc_count; i++)
        cudaFree(c->allocs[i]);
    free(c->allocs);
    memset(c, 0, sizeof *c);
}

int nnb_cuda_alloc_bytes(nnb_cuda_ctx *c, void **p, size_t bytes, char *err, size_t err_len) {
    *p = NULL;
    if (c->alloc_count == c->alloc_cap) {
        int cap = c->alloc_cap ? 2 * c->alloc_cap : 64;
        void **grown = (void **)realloc(c->allocs, sizeof(void *) * (size_t)cap);
        if (!grown)
            return nnb_fail(err, err_len, "out of host memory");
        c->allocs = grown;
        c->alloc_cap = cap;
    }
    if (bytes == 0)
        bytes = 4;
    NNB_CUDA_TRY(cudaMalloc(p, bytes));
    c->allocs[c->alloc_count++] = *p;
    NNB_CUDA_TRY(cudaMemset(*p, 0, bytes));
    return 0;
}

int nnb_cuda_alloc(nnb_cuda_ctx *c, float **p, size_t n, char *err, size_t err_len) {
    size_t bytes;
    if (nnb_mul_size(&bytes, n, sizeof(float)))
        return nnb_fail(err, err_len, "device buffer size overflows size_t");
    return nnb_cuda_alloc_bytes(c, (void **)p, bytes, err, err_len);
}

int nnb_cuda_upload(float *dst, const float *src, size_t n, char *err, size_t err_len) {
    NNB_CUDA_TRY(cudaMemcpy(dst, src, n * sizeof(float), cudaMemcpyHostToDevice));
    return 0;
}

int nnb_cuda_download(nnb_cuda_ctx *c, float *dst, const float *src, size_t n, char *err, size_t err_len) {
    NNB_CUDA_TRY(cudaStreamSynchronize(c->user_stream));
    NNB_CUDA_TRY(cudaMemcpy(dst, src, n * sizeof(float), cudaMemcpyDeviceToHost));
    return 0;
}

int nnb_cuda_capture(nnb_cuda_ctx *c, nnb_enqueue_fn enqueue, void *model, cudaGraphExec_t *exec, char *err,
                     size_t err_len) {
    cudaStream_t cap;
    NNB_CUDA_TRY(cudaStreamCreateWithFlags(&cap, cudaStreamNonBlocking));
    c->stream = cap;
    cudaGraph_t graph = NULL;
    cudaError_t st = cudaStreamBeginCapture(cap, cudaStreamCaptureModeThreadLocal);
    int rc = 0;
    if (st == cudaSuccess) {
        rc = enqueue(model, err, err_len);
        cudaError_t end = cudaStreamEndCapture(cap, &graph);
        if (!rc && end != cudaSuccess)
            st = end;
    }
    c->stream = c->user_stream;
    if (c->cublas)
        cublasSetStream(c->cublas, c->user_stream); /* never leave a handle on the dead capture stream */
    if (!rc && st == cudaSuccess)
        st = cudaGraphInstantiate(exec, graph, 0);
    if (graph)
        cudaGraphDestroy(graph);
    cudaStreamDestroy(cap);
    if (rc)
        return nnb_fail(err, err_len, "graph capture: %.400s", err);
    if (st != cudaSuccess)
        return nnb_fail(err, err_len, "%s: capturing a CUDA graph failed: %s", c->runner, cudaGetErrorString(st));
    return 0;
}

int nnb_cuda_run_phase(nnb_cuda_ctx *c, const char *phase, nnb_enqueue_fn enqueue, void *model, cudaGraphExec_t exec,
                       char *err, size_t err_len) {
#ifdef NNB_HAVE_NVTX
    char range[96];
    snprintf(range, sizeof range, "%s.%s", c->runner, phase);
    nvtxRangePushA(range);
#endif
    int rc = 0;
    if (c->graph) {
        cudaError_t st = cudaGraphLaunch(exec, c->stream);
        if (st != cudaSuccess)
            rc = nnb_fail(err, err_len, "cudaGraphLaunch(%s %s) failed: %s", c->runner, phase, cudaGetErrorString(st));
    } else {
        rc = enqueue(model, err, err_len);
    }
#ifdef NNB_HAVE_NVTX
    nvtxRangePop();
#endif
    return rc;
}

void nnb_appendf(char *buf, size_t len, size_t *used, const char *fmt, ...) {
    if (*used >= len)
        return;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf + *used, len - *used, fmt, ap);
    va_end(ap);
    if (n > 0)
        *used = *used + (size_t)n < len ? *used + (size_t)n : len - 1;
}

void nnb_cuda_describe_common(const nnb_cuda_ctx *c, char *buf, size_t len, size_t *used) {
    int rt = 0, drv = 0, cublas = 0;
    cudaRuntimeGetVersion(&rt);
    cudaDriverGetVersion(&drv);
    if (c->cublas)
        cublasGetVersion(c->cublas, &cublas);
    char name[sizeof c->prop.name + 1];
    size_t n = 0;
    for (size_t i = 0; i < sizeof c->prop.name && c->prop.name[i]; i++)
        if (c->prop.name[i] != '"' && c->prop.name[i] != '\\')
            name[n++] = c->prop.name[i];
    name[n] = 0;
    nnb_appendf(buf, len, used, "\"device\":\"%s\",\"device_index\":%d,\"sm\":\"%d.%d\",", name, c->device,
                c->prop.major, c->prop.minor);
    nnb_appendf(buf, len, used, "\"cuda_runtime\":%d,\"cuda_driver\":%d,\"cudnn\":%zu,", rt, drv, cudnnGetVersion());
    if (c->cublas)
        nnb_appendf(buf, len, used, "\"cublas\":%d,", cublas);
    nnb_appendf(buf, len, used, "\"executor\":\"%s\",\"tf32\":%s,\"create_ms\":%.3f,", c->graph ? "graph" : "eager",
                c->tf32 ? "true" : "false", c->create_ms);
}
