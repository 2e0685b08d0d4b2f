/*
 * A tiny seeded LSTM-variant problem in double for the double reference
 * (finite-difference and semantics tests): owns every array, wires them into an
 * nnb_varlstm_d, and lists every input/parameter with its gradient.
 *   inputs x, hx, cx, grad_y: uniform [-1, 1); weights uniform [-0.8, 0.8);
 *   LayerNorm gains [0.5, 1.5), biases [-0.3, 0.3); gate biases [-0.5, 0.5);
 *   dropout masks from nnb_dropout_mask (k >= 1) when dropout_p > 0.
 */
#ifndef NNB_VARIANTS_DOUBLE_PROBLEM_H
#define NNB_VARIANTS_DOUBLE_PROBLEM_H

#include "variants_reference.h"

enum { VP_MAX_L = 4, VP_MAX_TENSORS = 64 };

typedef struct variants_problem {
    nnb_varlstm_d p;
    double *w_ih[VP_MAX_L], *w_hh[VP_MAX_L], *b_ih[VP_MAX_L], *b_hh[VP_MAX_L], *mask[VP_MAX_L];
    double *ln_w[NNB_LN_COUNT][VP_MAX_L], *ln_b[NNB_LN_COUNT][VP_MAX_L];
    double *dw_ih[VP_MAX_L], *dw_hh[VP_MAX_L], *db_ih[VP_MAX_L], *db_hh[VP_MAX_L];
    double *dln_w[NNB_LN_COUNT][VP_MAX_L], *dln_b[NNB_LN_COUNT][VP_MAX_L];
    double *x, *hx, *cx, *grad_y, *y, *hy, *cy, *dx, *dhx, *dcx;
    /* every input/parameter with its gradient, for the sweep */
    struct {
        char name[48];
        double *value, *grad;
        int64_t n;
    } t[VP_MAX_TENSORS];
    int count;
    double *pool[256];
    int pooled;
} variants_problem;

/* Sizes at most VP_MAX_L layers; layernorm 1: LayerNorm LSTM, else plain cells (with b_*). */
void variants_problem_build(variants_problem *pb, int layernorm, float dropout_p, int64_t T, int64_t B, int64_t I,
                            int64_t H, int64_t L);
void variants_problem_free(variants_problem *pb);

#endif
