/*
 * Plain C reference LSTM (PyTorch nn.LSTM semantics), forward and full BPTT
 * backward, on explicit arrays so that tests can feed golden data directly.
 *
 * One source, two precisions: lstm_ref_api.h (declarations) and lstm_ref_impl.h
 * (definitions) are templates included once with REAL = float (suffix _f, used
 * by the plugin) and once with REAL = double (suffix _d, used by the
 * finite-difference test). Per-element cell math comes from kernels/lstm_cell_math.h.
 *
 * Semantics
 *   gates = x W_ih^T + b_ih + h W_hh^T + b_hh, gate order i, f, g, o (rows of 4H).
 *   Time-major: x (T, B, I), y (T, B, H); hx, cx, hy, cy (L, B, H).
 *   Layer k > 0 reads layer k-1's output sequence.
 *   Variable length (lengths != NULL): packed-sequence semantics. Row b exists
 *   only at steps t < lengths[b]; y is zero beyond; hy/cy are row b's state after
 *   step lengths[b]-1; backward passes no gradient through absent steps, so
 *   dhx/dcx of row b come from its first step.
 *   Backward: loss = sum(y * grad_y) (no upstream gradient on hy, cy). Every
 *   gradient output is overwritten, never accumulated.
 *
 * Determinism: every sum runs in the same order whatever the thread count and
 * whichever instruction set the GEMM clone uses (vectorised across independent
 * outputs only; built with -ffp-contract=off, so no FMA), so results are
 * bit-identical across runs, thread counts and machines with the same libm.
 */
#ifndef NNB_LSTM_REF_H
#define NNB_LSTM_REF_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define NNB_REF_PASTE_(a, b) a##_##b
#define NNB_REF_PASTE(a, b) NNB_REF_PASTE_(a, b)

#define REAL float
#define NNB_REF(name) NNB_REF_PASTE(name, f)
#include "lstm_ref_api.h"
#undef REAL
#undef NNB_REF

#define REAL double
#define NNB_REF(name) NNB_REF_PASTE(name, d)
#include "lstm_ref_api.h"
#undef REAL
#undef NNB_REF

/* Instruction set the GEMM clones dispatch to on this CPU ("avx512f", "avx2" or "baseline"). */
const char *nnb_ref_lstm_isa(void);

#ifdef __cplusplus
}
#endif
#endif
