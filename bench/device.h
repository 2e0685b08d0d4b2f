/*
 * The driver's view of devices: CUDA probing, streams and event timing (built by
 * nvcc into bench/cuda/, or stubs when nnbench is built without CUDA), and the
 * CPU monotonic clock. All times in milliseconds.
 */
#ifndef NNB_DEVICE_H
#define NNB_DEVICE_H

#include <nnbench/results.h>
#include <nnbench/runner.h>

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* 1 if a usable CUDA device exists (device 0), else 0 with the reason
 * ("no device (...)", "built without CUDA"). Never crashes without a driver. */
int nnb_cuda_usable(char *reason, size_t reason_len);

/* Fills the CUDA fields of ctx (GPU name, SM, runtime and driver versions) for device (--cuda-device). */
void nnb_cuda_fill_context(nnb_run_context *ctx, int device);

/* The PCI bus id of CUDA device ("0000:3b:00.0"): how NVML, which ignores CUDA_VISIBLE_DEVICES and orders
 * devices its own way, finds the same GPU. 0, or -1 (no CUDA, no such device, len under 16). */
int nnb_cuda_pci_bus_id(int device, char *buf, size_t len);

/* A timer over a CUDA stream of device (made current in this thread): events recorded around a phase. A
 * device that does not exist: NULL with "cuda: device N requested, M present ...". */
typedef struct nnb_cuda_timer nnb_cuda_timer;
nnb_cuda_timer *nnb_cuda_timer_create(int device, void **stream_out, char *err, size_t err_len);
int nnb_cuda_timer_start(nnb_cuda_timer *t, const char *range_name, char *err, size_t err_len);
/* Records the stop event, synchronises, returns elapsed ms (or -1 with err). */
double nnb_cuda_timer_stop(nnb_cuda_timer *t, char *err, size_t err_len);
void nnb_cuda_timer_destroy(nnb_cuda_timer *t);

/* One serving worker's CUDA lane (nnbench serve): its own H2D, compute and D2H streams, events between
 * them, and pinned host buffers for requests in and responses out. */
typedef struct nnb_cuda_serve_lane nnb_cuda_serve_lane;
/* On device (--cuda-device); nnb_cuda_serve_lane_run makes it current again in the calling thread. */
nnb_cuda_serve_lane *nnb_cuda_serve_lane_create(int device, size_t in_bytes, size_t out_bytes, char *err,
                                                size_t err_len);
/* (Re)allocate the pinned buffers: in_bytes for a batch's input, out_bytes for its output. 0 or -1 with err. */
int nnb_cuda_serve_lane_buffers(nnb_cuda_serve_lane *l, size_t in_bytes, size_t out_bytes, char *err, size_t err_len);
/* The compute stream (a cudaStream_t): the worker's model is created with it as nnb_config.cuda_stream. */
void *nnb_cuda_serve_lane_stream(nnb_cuda_serve_lane *l);
/* One batch of n samples: the pinned input copied into io's input on the H2D stream, infer(model, n) on
 * the compute stream after it, io's output copied to the pinned output on the D2H stream after that; waits
 * for the D2H. ms[0..2]: H2D, compute, D2H times from events. 0, or -1 with err naming the failed call. */
int nnb_cuda_serve_lane_run(nnb_cuda_serve_lane *l, const struct nnb_infer_io *io, int64_t n,
                            int (*infer)(void *, int64_t, char *, size_t), void *model, double ms[3], char *err,
                            size_t err_len);
void nnb_cuda_serve_lane_destroy(nnb_cuda_serve_lane *l);

/* CPU wall clock (CLOCK_MONOTONIC), ms. */
double nnb_cpu_now_ms(void);

#ifdef __cplusplus
}
#endif
#endif
