/*
 * The fp32 FMA throughput ceiling, kept for the callers that want only it (tools/lstm_gemm_bench); the
 * per-precision peaks are in peak.h.
 */
#ifndef NNB_FMA_PEAK_H
#define NNB_FMA_PEAK_H

#ifdef __cplusplus
extern "C" {
#endif

/* GFLOP/s of `threads` threads running at once, each 24 independent AVX-512 FMA chains on registers (no memory
 * traffic) for about `seconds`: nnb_peak_gflops(NNB_PEAK_FP32_FMA, ...). 0 when the CPU lacks AVX-512F,
 * threads < 1, or a thread cannot be started. */
double nnb_fma_peak_gflops(int threads, double seconds);

#ifdef __cplusplus
}
#endif
#endif
