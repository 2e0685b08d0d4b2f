/*
 * Plain references of the LSTM variants (LayerNorm LSTM, dropout LSTM): readable
 * loops, one batch row and one step at a time, per-element cell math from
 * kernels/lstm_cell_math.h, written once for any floating type
 * (variants_reference_impl.h) and instantiated in double: the hidden runners
 * py_layernorm / py_dropout run it on a double copy of their float problem
 * (variants_double_mirror.h), the tests on double problems (finite differences).
 * The problem struct exists in float too: the fast engine takes nnb_varlstm_f.
 *
 * Semantics (fastrnns' LayerNormLSTMCell and dropout LSTM, PyTorch gate order
 * i, f, g, o, time-major, loss = sum(y * grad_y), hy/cy get no upstream gradient):
 *   LayerNorm LSTM, layer k, step t:
 *     gates = LN_i(in_t W_ih^T) + LN_h(h W_hh^T)            (no gate biases)
 *     i, f, g, o = sigmoid, sigmoid, tanh, sigmoid of the chunks
 *     c' = LN_c(f * c + i * g)       h' = o * tanh(c')
 *     LN(v) = gain * (v - mean(v)) / sqrt(var(v) + 1e-5) + bias, over the
 *     feature axis (4H for LN_i and LN_h, H for LN_c), biased variance.
 *   Dropout LSTM: a plain LSTM per layer (both biases); layer k >= 1 reads
 *     mask_k * y_{k-1} (mask values 0 or 1/(1-p), nnb_dropout_mask).
 * Every gradient is overwritten (not accumulated) by a backward.
 */
#ifndef NNB_VARIANTS_REFERENCE_H
#define NNB_VARIANTS_REFERENCE_H

#include <stddef.h>
#include <stdint.h>

#define NNB_LN_EPS 1e-5
#define NNB_LN_I 0 /* LayerNorm of the input projection (4H) */
#define NNB_LN_H 1 /* LayerNorm of the hidden projection (4H) */
#define NNB_LN_C 2 /* LayerNorm of the cell state (H) */
#define NNB_LN_COUNT 3

#define NNB_DECLARE_VARLSTM(R, SFX)                                                                                    \
    typedef struct nnb_varlstm_##SFX {                                                                                 \
        int64_t T, B, I, H, L;                                                                                         \
        int layernorm;                      /* 1: LayerNorm LSTM (ln_*, no b_*); 0: plain LSTM cells */                \
        const R *x;                         /* (T, B, I) */                                                            \
        const R *hx, *cx;                   /* (L, B, H) */                                                            \
        const R *const *w_ih;               /* [L] of (4H, in_k); in_0 = I, else H */                                  \
        const R *const *w_hh;               /* [L] of (4H, H) */                                                       \
        const R *const *b_ih;               /* [L] of (4H); plain cells only */                                        \
        const R *const *b_hh;               /* [L] of (4H); plain cells only */                                        \
        const R *const *ln_w[NNB_LN_COUNT]; /* [L] gains: (4H), (4H), (H) */                                           \
        const R *const *ln_b[NNB_LN_COUNT]; /* [L] biases, as ln_w */                                                  \
        const R *const *mask;               /* [L] of (T, B, H), mask[0] unused; NULL: no dropout */                   \
        const R *grad_y;                    /* (T, B, H) */                                                            \
        R *y;                               /* (T, B, H) top layer's output */                                         \
        R *hy, *cy;                         /* (L, B, H) */                                                            \
        R *dx;                              /* (T, B, I) */                                                            \
        R *dhx, *dcx;                       /* (L, B, H) */                                                            \
        R *const *dw_ih, *const *dw_hh, *const *db_ih, *const *db_hh;                                                  \
        R *const *dln_w[NNB_LN_COUNT];                                                                                 \
        R *const *dln_b[NNB_LN_COUNT];                                                                                 \
    } nnb_varlstm_##SFX;

NNB_DECLARE_VARLSTM(float, f)
NNB_DECLARE_VARLSTM(double, d)

/* Forward, and the full backward when with_backward. Returns 0, or -1 with a
 * message (size overflow, no memory). */
int nnb_varlstm_reference_d(const nnb_varlstm_d *p, int with_backward, char *err, size_t err_len);

#endif
