// CUDA side of the driver: device probe, stream, event timer, NVTX ranges.
#include "device.h"

#include <cuda_runtime.h>
#include <nvtx3/nvToolsExt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NNB_CUDA_TRY(call, err, err_len)                                                                               \
    do {                                                                                                               \
        cudaError_t st_ = (call);                                                                                      \
        if (st_ != cudaSuccess) {                                                                                      \
            snprintf((err), (err_len), "%s failed: %s (%s:%d)", #call, cudaGetErrorString(st_), __FILE__, __LINE__);   \
            return -1;                                                                                                 \
        }                                                                                                              \
    } while (0)

extern "C" int nnb_cuda_usable(char *reason, size_t reason_len) {
    int count = 0;
    cudaError_t st = cudaGetDeviceCount(&count);
    if (st != cudaSuccess) {
        snprintf(reason, reason_len, "no device (%s)", cudaGetErrorString(st));
        cudaGetLastError(); /* clear the sticky-free error so later probes start clean */
        return 0;
    }
    if (count < 1) {
        snprintf(reason, reason_len, "no device (0 CUDA devices)");
        return 0;
    }
    return 1;
}

extern "C" void nnb_cuda_fill_context(nnb_run_context *ctx) {
    int rt = 0, drv = 0;
    if (cudaRuntimeGetVersion(&rt) == cudaSuccess)
        snprintf(ctx->cuda_runtime, sizeof ctx->cuda_runtime, "%d.%d", rt / 1000, (rt % 1000) / 10);
    if (cudaDriverGetVersion(&drv) == cudaSuccess && drv > 0)
        snprintf(ctx->cuda_driver, sizeof ctx->cuda_driver, "%d.%d", drv / 1000, (drv % 1000) / 10);
    char reason[256];
    if (!nnb_cuda_usable(reason, sizeof reason))
        return;
    cudaDeviceProp p;
    if (cudaGetDeviceProperties(&p, 0) != cudaSuccess)
        return;
    snprintf(ctx->gpu_name, sizeof ctx->gpu_name, "%.127s", p.name);
    snprintf(ctx->gpu_sm, sizeof ctx->gpu_sm, "sm_%d%d", p.major, p.minor);
}

struct nnb_cuda_timer {
    cudaStream_t stream;
    cudaEvent_t start, stop;
    int range_open;
};

extern "C" nnb_cuda_timer *nnb_cuda_timer_create(void **stream_out, char *err, size_t err_len) {
    nnb_cuda_timer *t = (nnb_cuda_timer *)calloc(1, sizeof *t);
    if (!t) {
        snprintf(err, err_len, "out of memory");
        return NULL;
    }
    int rc = [&]() -> int {
        NNB_CUDA_TRY(cudaSetDevice(0), err, err_len);
        NNB_CUDA_TRY(cudaStreamCreateWithFlags(&t->stream, cudaStreamNonBlocking), err, err_len);
        NNB_CUDA_TRY(cudaEventCreate(&t->start), err, err_len);
        NNB_CUDA_TRY(cudaEventCreate(&t->stop), err, err_len);
        return 0;
    }();
    if (rc) {
        nnb_cuda_timer_destroy(t);
        return NULL;
    }
    *stream_out = (void *)t->stream;
    return t;
}

extern "C" int nnb_cuda_timer_start(nnb_cuda_timer *t, const char *range_name, char *err, size_t err_len) {
    if (range_name) {
        nvtxRangePushA(range_name);
        t->range_open = 1;
    }
    NNB_CUDA_TRY(cudaEventRecord(t->start, t->stream), err, err_len);
    return 0;
}

static int stop_and_sync(nnb_cuda_timer *t, float *ms, char *err, size_t err_len) {
    NNB_CUDA_TRY(cudaEventRecord(t->stop, t->stream), err, err_len);
    NNB_CUDA_TRY(cudaEventSynchronize(t->stop), err, err_len);
    NNB_CUDA_TRY(cudaEventElapsedTime(ms, t->start, t->stop), err, err_len);
    return 0;
}

extern "C" double nnb_cuda_timer_stop(nnb_cuda_timer *t, char *err, size_t err_len) {
    float ms = 0;
    int rc = stop_and_sync(t, &ms, err, err_len);
    if (t->range_open) {
        nvtxRangePop();
        t->range_open = 0;
    }
    return rc ? -1.0 : (double)ms;
}

extern "C" void nnb_cuda_timer_destroy(nnb_cuda_timer *t) {
    if (!t)
        return;
    if (t->start)
        cudaEventDestroy(t->start);
    if (t->stop)
        cudaEventDestroy(t->stop);
    if (t->stream)
        cudaStreamDestroy(t->stream);
    free(t);
}
