/*
 * The driver's view of devices: CUDA probing, streams and event timing (built by
 * nvcc into bench/cuda/, or stubs when nnbench is built without CUDA), and the
 * CPU monotonic clock. All times in milliseconds.
 */
#ifndef NNB_DEVICE_H
#define NNB_DEVICE_H

#include <nnbench/results.h>

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* 1 if a usable CUDA device exists (device 0), else 0 with the reason
 * ("no device (...)", "built without CUDA"). Never crashes without a driver. */
int nnb_cuda_usable(char *reason, size_t reason_len);

/* Fills the CUDA fields of ctx (GPU name, SM, runtime and driver versions). */
void nnb_cuda_fill_context(nnb_run_context *ctx);

/* A timer over a CUDA stream: events recorded around a phase. */
typedef struct nnb_cuda_timer nnb_cuda_timer;
nnb_cuda_timer *nnb_cuda_timer_create(void **stream_out, char *err, size_t err_len);
int nnb_cuda_timer_start(nnb_cuda_timer *t, const char *range_name, char *err, size_t err_len);
/* Records the stop event, synchronises, returns elapsed ms (or -1 with err). */
double nnb_cuda_timer_stop(nnb_cuda_timer *t, char *err, size_t err_len);
void nnb_cuda_timer_destroy(nnb_cuda_timer *t);

/* CPU wall clock (CLOCK_MONOTONIC), ms. */
double nnb_cpu_now_ms(void);

/* Statistics of samples (mean, std with N-1, min, median, max). */
void nnb_stats_compute(nnb_phase_stats *s);

#ifdef __cplusplus
}
#endif
#endif
