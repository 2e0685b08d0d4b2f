/*
 * LSTM cell per-element math: the one copy shared by every CPU pass and every
 * CUDA kernel (functions are __host__ __device__ under nvcc), so CPU tests
 * exercise exactly the math the GPU runs.
 *
 * Gate order is PyTorch's: i, f, g, o. Pre-activations include both biases.
 *   i = sigmoid(ai)  f = sigmoid(af)  g = tanh(ag)  o = sigmoid(ao)
 *   c' = f * c + i * g            h' = o * tanh(c')
 * Backward, from dh (gradient reaching h') and dc_in (gradient reaching c'
 * from step t+1):
 *   dc = dc_in + dh * o * (1 - tanh(c')^2)
 *   dai = dc * g * i(1-i)   daf = dc * c * f(1-f)
 *   dag = dc * i * (1-g^2)  dao = dh * tanh(c') * o(1-o)
 *   dc_prev = dc * f
 * Float (suffix f) and double (suffix d) versions come from one template.
 */
#ifndef NNB_LSTM_CELL_MATH_H
#define NNB_LSTM_CELL_MATH_H

#include <math.h>

#if defined(__CUDACC__)
#define NNB_HD __host__ __device__ __forceinline__
#else
#define NNB_HD static inline
#endif

#define NNB_DEFINE_LSTM_CELL_MATH(T, SFX, EXP, TANH)                                                                   \
    NNB_HD T nnb_sigmoid##SFX(T x) { return (T)1 / ((T)1 + EXP(-x)); }                                                 \
                                                                                                                       \
    NNB_HD T nnb_tanh##SFX(T x) { return TANH(x); }                                                                    \
                                                                                                                       \
    /* Activations from pre-activations; writes the activated gates in place. */                                       \
    NNB_HD void nnb_lstm_cell_fwd##SFX(T *gi, T *gf, T *gg, T *go, T c_prev, T *c, T *h) {                             \
        T i = nnb_sigmoid##SFX(*gi), f = nnb_sigmoid##SFX(*gf);                                                        \
        T g = TANH(*gg), o = nnb_sigmoid##SFX(*go);                                                                    \
        T cn = f * c_prev + i * g;                                                                                     \
        *gi = i;                                                                                                       \
        *gf = f;                                                                                                       \
        *gg = g;                                                                                                       \
        *go = o;                                                                                                       \
        *c = cn;                                                                                                       \
        *h = o * TANH(cn);                                                                                             \
    }                                                                                                                  \
                                                                                                                       \
    /* Gradients of the pre-activations from the saved activated gates. */                                             \
    NNB_HD void nnb_lstm_cell_bwd##SFX(T i, T f, T g, T o, T c_prev, T c, T dh, T dc_in, T *dai, T *daf, T *dag,       \
                                       T *dao, T *dc_prev) {                                                           \
        T tc = TANH(c);                                                                                                \
        T dc = dc_in + dh * o * ((T)1 - tc * tc);                                                                      \
        *dai = dc * g * i * ((T)1 - i);                                                                                \
        *daf = dc * c_prev * f * ((T)1 - f);                                                                           \
        *dag = dc * i * ((T)1 - g * g);                                                                                \
        *dao = dh * tc * o * ((T)1 - o);                                                                               \
        *dc_prev = dc * f;                                                                                             \
    }                                                                                                                  \
                                                                                                                       \
    /* Output half of the backward alone: gradient of c' and of the o pre-activation. For cells                        \
     * whose c' is not f * c + i * g (e.g. LayerNorm on the cell state). */                                            \
    NNB_HD void nnb_lstm_cell_out_bwd##SFX(T o, T c, T dh, T dc_in, T *dao, T *dc) {                                   \
        T tc = TANH(c);                                                                                                \
        *dc = dc_in + dh * o * ((T)1 - tc * tc);                                                                       \
        *dao = dh * tc * o * ((T)1 - o);                                                                               \
    }

NNB_DEFINE_LSTM_CELL_MATH(float, f, expf, tanhf)
NNB_DEFINE_LSTM_CELL_MATH(double, d, exp, tanh)

#endif
