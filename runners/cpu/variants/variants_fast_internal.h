/*
 * Internals of the fast variants engine (variants_fast.h), shared by variants_fast.c (allocation, steps,
 * layers, entry points) and variants_fast_passes.c (the passes the variants differ in: LayerNorm row-wise or
 * decomposed, the cell fused per row or one pass per op); only they include this.
 *
 * glibc's libmvec has SIMD versions of expf and tanhf, but glibc declares them only under -ffast-math.
 * Declaring them here (before the shared cell math is included) lets the `omp simd` loops over that math call
 * the vector versions without fast-math anywhere.
 */
#ifndef NNB_VARIANTS_FAST_INTERNAL_H
#define NNB_VARIANTS_FAST_INTERNAL_H

#include "variants_fast.h"

#include <math.h>

#if defined(__x86_64__) && defined(__GLIBC__) && defined(_OPENMP)
#pragma omp declare simd notinbranch
float expf(float);
#pragma omp declare simd notinbranch
float tanhf(float);
#define VECTOR_LIBM "glibc libmvec (expf, tanhf SIMD clones in omp simd loops)"
#define SIMD_LOOP _Pragma("omp simd")
#else
#define VECTOR_LIBM "none (scalar libm)"
#define SIMD_LOOP
#endif

#include "nnb_support.h"
#include "variants_cell.h"

#include <cblas.h>
#undef I /* <complex.h>'s imaginary unit, which cblas.h pulls in, clashes with our I (input size) */
#include <limits.h>
#include <math.h>
#include <string.h>

#ifdef _OPENMP
#define NNB_PRAGMA(x) _Pragma(#x)
#else
#define NNB_PRAGMA(x)
#endif
/* Rows of our passes across threads (when the engine is parallel). */
#define PARALLEL_ROWS(par) NNB_PRAGMA(omp parallel for if (par) schedule(static))

typedef struct fast_layer {
    int64_t in_size;
    const float *in;                 /* (T, B, in) layer input: x, the previous layer's h, or masked_in */
    float *masked_in;                /* (T, B, H) dropout applied (k >= 1 with a mask), else NULL */
    float *ai;                       /* (T, B, 4H) input projections; LayerNorm: xhat_i after the forward;
                                        plain cells: the gates (pre-activations, then activated) */
    float *ah;                       /* (T, B, 4H) LayerNorm: hidden projections, xhat_h after the forward */
    float *gates;                    /* (T, B, 4H) activated gates (aliases ai for plain cells) */
    float *h, *c;                    /* (T+1, B, H) states; row 0 holds hx, cx */
    float *xhat_c;                   /* (T, B, H) LayerNorm: raw cell state, then normalised in place */
    float *rstd_i, *rstd_h, *rstd_c; /* (T, B) LayerNorm 1/sqrt(var + eps) */
} fast_layer;

struct nnb_varfast {
    const nnb_varlstm_f *p;
    nnb_varfast_mode mode;
    int64_t T, B, H, G, L;
    fast_layer *layers;
    /* forward step scratch */
    float *ni, *nh;              /* (B, 4H) LN_i and LN_h outputs (when not fully fused) */
    float *tmp1, *tmp2;          /* (B, 4H) per-op temporaries */
    float *row_stat, *row_stat2; /* (B) decomposed LayerNorm row statistics */
    /* backward */
    float *da;                /* (T, B, 4H) gradient reaching the gates (LN_i + LN_h output / pre-activations) */
    float *dai, *dah;         /* (T, B, 4H) LayerNorm: gradients reaching the raw projections */
    float *dcn;               /* (T, B, H) LayerNorm: gradient reaching c' (LN_c's output) */
    float *dcraw;             /* (B, H) LayerNorm: gradient reaching the raw cell state */
    float *dh;                /* (B, H) gradient reaching h' at this step */
    float *dh_next, *dc_next; /* (B, H) gradients reaching the states from step t+1 */
    float *grad_a, *grad_b;   /* (T, B, max(I, H)) ping-pong: gradient reaching a layer's output / input */
};

typedef enum { OP_ADD, OP_MUL, OP_SIGMOID, OP_TANH, OP_SIGMOID_BWD, OP_TANH_BWD } elementwise_op;

/* ---- variants_fast_passes.c ---- */

/* dst = a (op) b over (rows, cols) blocks with leading dimensions; SIGMOID/TANH read a only; *_BWD: dst = a *
 * d(activation)/dx given the activation's output b. par: OpenMP over rows. */
void vf_op_pass(elementwise_op op, float *dst, int64_t ldd, const float *a, int64_t lda, const float *b, int64_t ldb,
                int64_t rows, int64_t cols, int par);
/* LayerNorm over (rows, n), row-wise or decomposed per f->mode: v (raw) becomes xhat in place; out = gain * xhat +
 * bias (or += when accumulate). Backward: dv from dout (gain/bias gradients are reduced after the time loop). */
void vf_layernorm_fwd(const nnb_varfast *f, float *v, int64_t rows, int64_t n, const float *gain, const float *bias,
                      float *out, float *rstd, int accumulate);
void vf_layernorm_bwd(const nnb_varfast *f, const float *dout, const float *xhat, const float *rstd, int64_t rows,
                      int64_t n, const float *gain, float *dv);
/* The cell, one pass per op over the (B, *) arrays of one step; the backward of h = o * tanh(c) (dao into da,
 * dc_out = dc_next + dh * o * (1 - tanh(c)^2)) and of c = f * c_prev + i * g with the activations (into da,
 * dc_prev into dc_next). */
void vf_activate_ops(const nnb_varfast *f, float *gates);
void vf_cell_state_ops(const nnb_varfast *f, const float *gates, const float *cprev, float *c_out);
void vf_cell_output_ops(const nnb_varfast *f, const float *gates, const float *c, float *h);
void vf_cell_output_bwd_ops(const nnb_varfast *f, const float *gates, const float *c, float *dh, float *da, float *dc);
void vf_cell_gates_bwd_ops(const nnb_varfast *f, const float *gates, const float *cprev, const float *dc, float *da);
/* The LayerNorm LSTM step of one batch row in one go (LN_i, LN_h, activations, LN_c, h'), and its backward. */
void vf_ln_lstm_row_fwd(float *ai, float *ah, const float *const gain[NNB_LN_COUNT],
                        const float *const bias[NNB_LN_COUNT], float *gate, const float *cprev, float *craw,
                        float *cnew, float *hnew, float *ri, float *rh, float *rc, int64_t H);
void vf_ln_lstm_row_bwd(const float *gate, const float *cprev, const float *c, const float *dy, const float *dh_next,
                        float *dc_next, const float *const gain[NNB_LN_COUNT], const float *xhat_i, const float *xhat_h,
                        const float *xhat_c, float ri, float rh, float rc, float *da, float *dcn, float *dcraw,
                        float *dai, float *dah, int64_t H);

#endif
