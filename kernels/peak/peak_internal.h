/* The register-only chain kernels behind peak.c, one per instruction. Each file is built with the ISA flags its
 * instruction needs and is called only after the CPU (and, for AMX, the kernel) said it may run.
 *
 * Every kernel runs n iterations of its independent chains, all operands `one` (1.0 in the data's precision),
 * and returns the sum of every accumulator lane in double, less the lanes' start values. The vector chains start
 * at i * one (chain i), not all at 0: identical chains are one chain to the compiler, which then keeps just one. With
 * unit data each lane grows by the multiply-adds it received, so the sum is the number of multiply-adds executed: the
 * count the tests hold each kernel's FLOPs per instruction against (exact while a lane stays below 2^24 in fp32 and
 * 2^11 in fp16; past that a lane stops growing, which keeps long timed runs finite). */
#ifndef NNB_PEAK_INTERNAL_H
#define NNB_PEAK_INTERNAL_H

#include <stdint.h>

/* 24 chains of vfmadd231ps zmm: 24 instructions per iteration. */
double nnb_fma_chains_avx512(int64_t n, float one);
/* 24 chains of vdpbf16ps zmm: 24 instructions per iteration. */
double nnb_dpbf16_chains_avx512(int64_t n, float one);
/* 24 chains of vfmadd231ph zmm: 24 instructions per iteration. */
double nnb_fp16_chains_avx512(int64_t n, float one);
/* 6 independent accumulator tiles of tdpbf16ps (full 16 x 64-byte tiles): 6 instructions per iteration.
 * Configures and releases the tiles itself; needs nnb_cpu_amx_ready() first. */
double nnb_amx_bf16_chains(int64_t n, float one);

#endif
