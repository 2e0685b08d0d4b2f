/*
 * Fast float engine for the CPU LSTM variants: cblas_sgemm (OpenBLAS) for every
 * GEMM, batched over time where the recurrence allows (input projections,
 * weight gradients, input gradients), and our own passes for LayerNorm and the
 * cell. Same problem description and semantics as the plain references
 * (variants_reference.h).
 *
 * Pass structure (the point of the variants):
 *   fused, row-wise LayerNorm (jit_layernorm, fuser te/old): per batch row and
 *     step, one pass does LN_i, LN_h (each mean/var/normalise/affine in one go
 *     while the row is in cache), the gate activations, LN_c and h'.
 *   decomposed LayerNorm (jit_layernorm_decom): mean, subtract, variance,
 *     normalise, scale and shift are each a pass over the (B, n) array.
 *   one pass per op (fuser none): the cell is composed from elementwise passes
 *     (add, sigmoid, tanh, mul), each over the whole (B, H) array; LayerNorm is
 *     then one op (row-wise) or decomposed as above.
 */
#ifndef NNB_VARIANTS_FAST_H
#define NNB_VARIANTS_FAST_H

#include "variants_reference.h"

typedef struct nnb_varfast_mode {
    int ln_decomposed; /* LayerNorm as separate passes (only with p->layernorm) */
    int fused;         /* 1: cell math fused per row; 0: one pass per op */
    int parallel;      /* 1: OpenMP over batch rows / columns in our own passes */
} nnb_varfast_mode;

typedef struct nnb_varfast nnb_varfast;

/* p (and every buffer it points to) must outlive the engine. Returns NULL with
 * a message on size overflow or no memory. */
nnb_varfast *nnb_varfast_create(const nnb_varlstm_f *p, nnb_varfast_mode mode, char *err, size_t err_len);
void nnb_varfast_forward(nnb_varfast *f);
/* After a forward: overwrites every gradient of p. */
void nnb_varfast_backward(nnb_varfast *f);
void nnb_varfast_destroy(nnb_varfast *f);

/* Which vector math the fused passes' expf/tanhf compile to (for describe()). */
const char *nnb_varfast_vector_math(void);

#endif
