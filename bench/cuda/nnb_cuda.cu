// CUDA side of the driver: device probe, stream, event timer, NVTX ranges, serve lanes. Everything runs on
// the device --cuda-device names (nnb_config.cuda_device), set in each thread that uses it.
#include "device.h"

#include <cuda_runtime.h>
#include <limits.h>
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

/* cudaSetDevice(device) after checking it exists: "cuda: device N requested, M present" names the problem. */
static int use_device(int device, char *err, size_t err_len) {
    int count = 0;
    NNB_CUDA_TRY(cudaGetDeviceCount(&count), err, err_len);
    if (device < 0 || device >= count) {
        snprintf(err, err_len, "cuda: device %d requested, %d present (--cuda-device counts from 0)", device, count);
        return -1;
    }
    NNB_CUDA_TRY(cudaSetDevice(device), err, err_len);
    return 0;
}

extern "C" int nnb_cuda_pci_bus_id(int device, char *buf, size_t len) {
    if (len < 16 || len > INT_MAX)
        return -1;
    return cudaDeviceGetPCIBusId(buf, (int)len, device) == cudaSuccess ? 0 : -1;
}

extern "C" void nnb_cuda_fill_context(nnb_run_context *ctx, int device) {
    int rt = 0, drv = 0;
    if (cudaRuntimeGetVersion(&rt) == cudaSuccess)
        snprintf(ctx->cuda_runtime, sizeof ctx->cuda_runtime, "%d.%d", rt / 1000, (rt % 1000) / 10);
    if (cudaDriverGetVersion(&drv) == cudaSuccess && drv > 0)
        snprintf(ctx->cuda_driver, sizeof ctx->cuda_driver, "%d.%d", drv / 1000, (drv % 1000) / 10);
    char reason[256];
    if (!nnb_cuda_usable(reason, sizeof reason))
        return;
    cudaDeviceProp p;
    if (cudaGetDeviceProperties(&p, device) != cudaSuccess)
        return;
    snprintf(ctx->gpu_name, sizeof ctx->gpu_name, "%.127s", p.name);
    snprintf(ctx->gpu_sm, sizeof ctx->gpu_sm, "sm_%d%d", p.major, p.minor);
}

struct nnb_cuda_timer {
    cudaStream_t stream;
    cudaEvent_t start, stop;
    int range_open;
};

extern "C" nnb_cuda_timer *nnb_cuda_timer_create(int device, void **stream_out, char *err, size_t err_len) {
    nnb_cuda_timer *t = (nnb_cuda_timer *)calloc(1, sizeof *t);
    if (!t) {
        snprintf(err, err_len, "out of memory");
        return NULL;
    }
    int rc = [&]() -> int {
        if (use_device(device, err, err_len))
            return -1;
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

/* ---- nnbench serve: one worker's lane of streams ------------------------------------------------------ */

struct nnb_cuda_serve_lane {
    int device; /* set again in each worker thread that runs the lane (the current device is per thread) */
    cudaStream_t h2d, compute, d2h;
    cudaEvent_t start, in_done, compute_done, out_done;
    void *host_in, *host_out; /* pinned: requests in, responses out */
    size_t in_bytes, out_bytes;
};

extern "C" void nnb_cuda_serve_lane_destroy(nnb_cuda_serve_lane *l) {
    if (!l)
        return;
    cudaStream_t streams[] = {l->h2d, l->compute, l->d2h};
    for (cudaStream_t s : streams)
        if (s)
            cudaStreamDestroy(s);
    cudaEvent_t events[] = {l->start, l->in_done, l->compute_done, l->out_done};
    for (cudaEvent_t e : events)
        if (e)
            cudaEventDestroy(e);
    if (l->host_in)
        cudaFreeHost(l->host_in);
    if (l->host_out)
        cudaFreeHost(l->host_out);
    free(l);
}

static int lane_init(nnb_cuda_serve_lane *l, char *err, size_t err_len) {
    if (use_device(l->device, err, err_len))
        return -1;
    NNB_CUDA_TRY(cudaStreamCreateWithFlags(&l->h2d, cudaStreamNonBlocking), err, err_len);
    NNB_CUDA_TRY(cudaStreamCreateWithFlags(&l->compute, cudaStreamNonBlocking), err, err_len);
    NNB_CUDA_TRY(cudaStreamCreateWithFlags(&l->d2h, cudaStreamNonBlocking), err, err_len);
    NNB_CUDA_TRY(cudaEventCreate(&l->start), err, err_len);
    NNB_CUDA_TRY(cudaEventCreate(&l->in_done), err, err_len);
    NNB_CUDA_TRY(cudaEventCreate(&l->compute_done), err, err_len);
    NNB_CUDA_TRY(cudaEventCreate(&l->out_done), err, err_len);
    return 0;
}

extern "C" int nnb_cuda_serve_lane_buffers(nnb_cuda_serve_lane *l, size_t in_bytes, size_t out_bytes, char *err,
                                           size_t err_len) {
    if (l->host_in)
        cudaFreeHost(l->host_in);
    if (l->host_out)
        cudaFreeHost(l->host_out);
    l->host_in = l->host_out = NULL;
    l->in_bytes = in_bytes;
    l->out_bytes = out_bytes;
    NNB_CUDA_TRY(cudaHostAlloc(&l->host_in, in_bytes ? in_bytes : 1, cudaHostAllocDefault), err, err_len);
    NNB_CUDA_TRY(cudaHostAlloc(&l->host_out, out_bytes ? out_bytes : 1, cudaHostAllocDefault), err, err_len);
    memset(l->host_in, 0, in_bytes); /* requests carry zeros: the model's own input is what it computes on */
    return 0;
}

extern "C" nnb_cuda_serve_lane *nnb_cuda_serve_lane_create(int device, size_t in_bytes, size_t out_bytes, char *err,
                                                           size_t err_len) {
    nnb_cuda_serve_lane *l = (nnb_cuda_serve_lane *)calloc(1, sizeof *l);
    if (!l) {
        snprintf(err, err_len, "out of memory");
        return NULL;
    }
    l->device = device;
    if (lane_init(l, err, err_len) || nnb_cuda_serve_lane_buffers(l, in_bytes, out_bytes, err, err_len)) {
        nnb_cuda_serve_lane_destroy(l);
        return NULL;
    }
    return l;
}

extern "C" void *nnb_cuda_serve_lane_stream(nnb_cuda_serve_lane *l) { return l ? (void *)l->compute : NULL; }

/* n samples of rows x sample_bytes, pitch apart on the device, packed on the host. */
static cudaError_t copy_rows(void *dst, size_t dpitch, const void *src, size_t spitch, size_t width, size_t rows,
                             cudaMemcpyKind kind, cudaStream_t s) {
    if (rows <= 1)
        return cudaMemcpyAsync(dst, src, width, kind, s);
    return cudaMemcpy2DAsync(dst, dpitch, src, spitch, width, rows, kind, s);
}

extern "C" int nnb_cuda_serve_lane_run(nnb_cuda_serve_lane *l, const struct nnb_infer_io *io, int64_t n,
                                       int (*infer)(void *, int64_t, char *, size_t), void *model, double ms[3],
                                       char *err, size_t err_len) {
    const size_t in_w = (size_t)n * io->input_sample_bytes, out_w = (size_t)n * io->output_sample_bytes;
    const size_t in_rows = io->input_rows ? io->input_rows : 1, out_rows = io->output_rows ? io->output_rows : 1;
    if (in_w * in_rows > l->in_bytes || out_w * out_rows > l->out_bytes) {
        snprintf(err, err_len, "serve lane: batch of %lld samples exceeds the pinned buffers", (long long)n);
        return -1;
    }
    NNB_CUDA_TRY(cudaSetDevice(l->device), err, err_len);
    NNB_CUDA_TRY(cudaEventRecord(l->start, l->h2d), err, err_len);
    NNB_CUDA_TRY(
        copy_rows(io->input, io->input_row_pitch, l->host_in, in_w, in_w, in_rows, cudaMemcpyHostToDevice, l->h2d), err,
        err_len);
    NNB_CUDA_TRY(cudaEventRecord(l->in_done, l->h2d), err, err_len);
    NNB_CUDA_TRY(cudaStreamWaitEvent(l->compute, l->in_done, 0), err, err_len);
    if (infer(model, n, err, err_len))
        return -1;
    NNB_CUDA_TRY(cudaEventRecord(l->compute_done, l->compute), err, err_len);
    NNB_CUDA_TRY(cudaStreamWaitEvent(l->d2h, l->compute_done, 0), err, err_len);
    NNB_CUDA_TRY(copy_rows(l->host_out, out_w, io->output, io->output_row_pitch, out_w, out_rows,
                           cudaMemcpyDeviceToHost, l->d2h),
                 err, err_len);
    NNB_CUDA_TRY(cudaEventRecord(l->out_done, l->d2h), err, err_len);
    NNB_CUDA_TRY(cudaEventSynchronize(l->out_done), err, err_len);
    float a = 0, b = 0, c = 0;
    NNB_CUDA_TRY(cudaEventElapsedTime(&a, l->start, l->in_done), err, err_len);
    NNB_CUDA_TRY(cudaEventElapsedTime(&b, l->in_done, l->compute_done), err, err_len);
    NNB_CUDA_TRY(cudaEventElapsedTime(&c, l->compute_done, l->out_done), err, err_len);
    ms[0] = a, ms[1] = b, ms[2] = c;
    return 0;
}
