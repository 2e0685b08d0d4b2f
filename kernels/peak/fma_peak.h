/*
 * This machine's fp32 FMA throughput ceiling: what a kernel's GFLOP/s is a
 * fraction of. A leaf: plain C and pthreads, no OpenMP and no BLAS, so the
 * driver can measure it without loading either.
 */
#ifndef NNB_FMA_PEAK_H
#define NNB_FMA_PEAK_H

#ifdef __cplusplus
extern "C" {
#endif

/* GFLOP/s of `threads` threads running at once, each 24 independent AVX-512
 * FMA chains on registers (no memory traffic) for about `seconds`. 0 when the
 * CPU lacks AVX-512F, threads < 1, or a thread cannot be started. */
double nnb_fma_peak_gflops(int threads, double seconds);

#ifdef __cplusplus
}
#endif
#endif
