/*
 * The host buffers every LSTM runner shares: inputs, parameters and upstream
 * gradient made from the seed (identical for every runner), and room for the
 * outputs and gradients that runners fill. Layout is PyTorch's nn.LSTM layout
 * (the golden data's): time-major x, gate order i, f, g, o along the 4H axis.
 *
 * Initialisation (documented in docs/design.md):
 *   w_ih_l{k}, w_hh_l{k}, b_ih_l{k}, b_hh_l{k}: uniform in [-1/sqrt(H), 1/sqrt(H))
 *   x, hx, cx, grad_y: standard normal
 *   lengths (variable-length only): uniform integers in [30, 99]
 * each from its own named stream (nnb_support.h). In variable-length data
 * x and grad_y are zero beyond each sequence's length and T = max(lengths).
 */
#ifndef NNB_LSTM_DATA_H
#define NNB_LSTM_DATA_H

#include "nnb_support.h"
#include <nnbench/runner.h>

#ifdef __cplusplus
extern "C" {
#endif

#define NNB_VL_MIN_LENGTH 30
#define NNB_VL_MAX_LENGTH 99

typedef struct nnb_lstm_data {
    int64_t T, B, I, H, L;
    int variable;     /* 1: per-sequence lengths */
    int64_t *lengths; /* (B) variable-length only, else NULL */

    /* inputs and parameters */
    float *x;             /* (T, B, I) */
    float *hx, *cx;       /* (L, B, H) */
    float **w_ih, **w_hh; /* [L] of (4H, in_l) and (4H, H); in_0 = I, else H */
    float **b_ih, **b_hh; /* [L] of (4H) */
    float *grad_y;        /* (T, B, H) upstream gradient of y */

    /* outputs and gradients, written by runners */
    float *y;               /* (T, B, H) */
    float *hy, *cy;         /* (L, B, H) */
    float *dx;              /* (T, B, I) */
    float *dhx, *dcx;       /* (L, B, H) */
    float **dw_ih, **dw_hh; /* as w_ih, w_hh */
    float **db_ih, **db_hh; /* as b_ih */

    /* tensor views handed to the driver */
    nnb_tensor *param_views;
    int param_count;
    nnb_tensor *output_views;
    int output_count;
    char (*names)[32];
} nnb_lstm_data;

/* Allocates and fills everything from cfg (and cfg->seed). num_layers < 1 means
 * cfg->num_layers. Returns 0, or -1 with a message (size overflow, no memory). */
int nnb_lstm_data_init(nnb_lstm_data *d, const nnb_config *cfg, int variable, int64_t num_layers, char *err,
                       size_t err_len);
void nnb_lstm_data_free(nnb_lstm_data *d);

/* Zero every output and gradient buffer. */
void nnb_lstm_data_zero_outputs(nnb_lstm_data *d);
void nnb_lstm_data_zero_grads(nnb_lstm_data *d);

/* Input width of layer k. */
static inline int64_t nnb_lstm_layer_input(const nnb_lstm_data *d, int64_t k) { return k == 0 ? d->I : d->H; }

/* Views for nnb_runner_desc.params / .outputs. */
nnb_tensor_list nnb_lstm_data_params(const nnb_lstm_data *d);
nnb_tensor_list nnb_lstm_data_outputs(const nnb_lstm_data *d);

/* Forward and backward FLOPs of a plain LSTM of these sizes: the GEMMs only
 * (2 per multiply-add); backward = 2x forward (data and weight gradients). For
 * variable-length data, the sum over each sequence's own steps. */
double nnb_lstm_forward_flops(const nnb_lstm_data *d);
double nnb_lstm_backward_flops(const nnb_lstm_data *d);

/* --check tolerance of LayerNorm LSTMs (nnb_runner_desc.check_tolerance): the
 * LayerNorm LSTM amplifies rounding along the sequence (in the double reference
 * one float ulp of x moves y by ~5e-4 at T = 100; a plain LSTM ~1e-7), and fp32
 * runners drift from it by ~1.6e-3 at T = 100, L = 2. Grows with T * L, about
 * 2.5x above what was measured. */
double nnb_layernorm_lstm_check_tolerance(const nnb_config *cfg);

#ifdef __cplusplus
}
#endif
#endif
