/*
 * The host buffers every convolution runner (conv, conv_ref; cpu and cuda) shares: the problem from
 * nnb_config.conv, inputs and parameters made from the seed (identical for every runner, rounded once to the
 * run's precision), and room for the results runners fill. Layouts NC[D]HW / OI[D]HW (nnb_conv_problem).
 *
 * Initialisation (docs/convs.md):
 *   w: uniform in [-1/sqrt(fan_in), 1/sqrt(fan_in)), fan_in = ic/g * kd*kh*kw (PyTorch's Conv default bound)
 *   b: uniform in the same range
 *   x, grad_y: standard normal
 * each from its own named stream (nnb_support.h), then rounded to cfg->precision (nnb_round_to_precision).
 * Tensor names (params, outputs, --dump): x, w, b, grad_y; y, dx, dw, db. b and db only with a bias.
 */
#ifndef NNB_CONV_DATA_H
#define NNB_CONV_DATA_H

#include "conv_ref.h"
#include "nnb_support.h"
#include <nnbench/runner.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct nnb_conv_data {
    nnb_conv_geom geom; /* from cfg->conv */
    int ndims;          /* 4 or 5 */
    int has_bias;
    int precision; /* cfg->precision */

    float *x;      /* (mb, ic, [id,] ih, iw) */
    float *w;      /* (oc, ic/g, [kd,] kh, kw) */
    float *b;      /* (oc), NULL without bias */
    float *grad_y; /* (mb, oc, [od,] oh, ow) */

    float *y;  /* as grad_y */
    float *dx; /* as x */
    float *dw; /* as w */
    float *db; /* as b */

    int64_t x_count, w_count, y_count;
    nnb_tensor params[4];
    int param_count;
    nnb_tensor outputs[4];
    int output_count;
} nnb_conv_data;

/* The geometry of a driver-checked problem. */
nnb_conv_geom nnb_conv_geom_from_problem(const nnb_conv_problem *p);

/* Allocates and fills everything from cfg (cfg->conv must be set). Returns 0, or -1 with a message (no problem,
 * size overflow, no memory). */
int nnb_conv_data_init(nnb_conv_data *d, const nnb_config *cfg, char *err, size_t err_len);
void nnb_conv_data_free(nnb_conv_data *d);

/* Zero y, dx, dw, db. */
void nnb_conv_data_zero_outputs(nnb_conv_data *d);

/* Views for nnb_runner_desc.params / .outputs (shapes with ndims axes). */
nnb_tensor_list nnb_conv_data_params(const nnb_conv_data *d);
nnb_tensor_list nnb_conv_data_outputs(const nnb_conv_data *d);

/* FLOPs (2 per multiply-add) of the forward pass, and of the backward as the phases in dirs ask
 * (NNB_CONV_DIR_BWD_D and/or NNB_CONV_DIR_BWD_W, each as many as the forward). */
double nnb_conv_forward_flops(const nnb_conv_data *d);
double nnb_conv_backward_flops(const nnb_conv_data *d, uint32_t dirs);

#ifdef __cplusplus
}
#endif
#endif /* NNB_CONV_DATA_H */
