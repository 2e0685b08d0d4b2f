/*
 * This machine's arithmetic throughput ceilings, one per precision: what a kernel's GFLOP/s is a fraction of.
 * A leaf: plain C and pthreads, no OpenMP and no BLAS, so the driver can measure them without loading either.
 *
 * Each peak is `threads` threads running at once, each a set of independent register-only chains of one
 * instruction (no memory traffic) for about `seconds`. FLOPs count a multiply-add as 2:
 *   fp32 FMA    vfmadd231ps zmm  16 fp32 lanes x 1 multiply-add               =    32 FLOPs per instruction
 *   bf16 dot    vdpbf16ps zmm    16 fp32 lanes x 2 bf16 pairs multiplied-added =    64 FLOPs per instruction
 *   bf16 AMX    tdpbf16ps        C(16x16 fp32) += A(16x32 bf16) B(32x16 bf16): 8192 multiply-adds
 *                                                                              = 16384 FLOPs per instruction
 *   fp16 FMA    vfmadd231ph zmm  32 fp16 lanes x 1 multiply-add               =    64 FLOPs per instruction
 * Each is detected at run time (never at build time): a kind the CPU (or, for AMX, the OS) does not offer is
 * refused with the reason.
 */
#ifndef NNB_PEAK_H
#define NNB_PEAK_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum nnb_peak_kind {
    NNB_PEAK_FP32_FMA = 0, /* vfmadd231ps, AVX-512F */
    NNB_PEAK_BF16_DOT,     /* vdpbf16ps, AVX512_BF16 */
    NNB_PEAK_BF16_AMX,     /* tdpbf16ps, AMX-BF16 with the kernel's permission for tile data */
    NNB_PEAK_FP16_FMA,     /* vfmadd231ph, AVX512_FP16 */
    NNB_PEAK_KINDS
} nnb_peak_kind;

/* What one kind measures (static; never NULL for a valid kind, NULL otherwise). */
typedef struct nnb_peak_kernel {
    const char *key;                /* "fp32_fma", "bf16_dot", "bf16_amx", "fp16_fma" (JSON keys) */
    const char *precision;          /* "fp32", "bf16", "bf16", "fp16" */
    const char *instruction;        /* "vfmadd231ps", "vdpbf16ps", "tdpbf16ps", "vfmadd231ph" */
    const char *isa;                /* "avx512f", "avx512_bf16", "amx_bf16", "avx512_fp16" */
    int instructions_per_iteration; /* independent chains (AMX: accumulator tiles) per loop iteration */
    double flops_per_instruction;   /* the table above */
} nnb_peak_kernel;

const nnb_peak_kernel *nnb_peak_kernel_of(nnb_peak_kind kind);

/* 1 when this CPU (and OS) can run the kind; 0 with the reason in why ("vdpbf16ps needs avx512_bf16; this CPU
 * lacks it"). why may be NULL. */
int nnb_peak_available(nnb_peak_kind kind, char *why, size_t why_len);

/* GFLOP/s of the kind on `threads` threads for about `seconds`; 0 with the reason in why when the kind is not
 * available, threads < 1, or a thread cannot be started. */
double nnb_peak_gflops(nnb_peak_kind kind, int threads, double seconds, char *why, size_t why_len);

/* FLOPs one thread performs in n iterations: n x instructions_per_iteration x flops_per_instruction. */
double nnb_peak_flops(nnb_peak_kind kind, int64_t n);

/* The kind's chains run n iterations on this thread with every operand 1.0: the sum of every accumulator lane,
 * which is the number of multiply-adds executed (exact for n <= 1000). -1 when the kind is not available. For
 * the tests: 2 x this must equal nnb_peak_flops(kind, n). */
double nnb_peak_count_macs(nnb_peak_kind kind, int64_t n);

#ifdef __cplusplus
}
#endif
#endif
