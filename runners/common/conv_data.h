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
 * outputs lists y and the gradients of the backward parts cfg->conv_dirs asks for (dx with bwd_d; dw, db with
 * bwd_w), so --check compares what ran.
 *
 * Backward parts (nnb_runner_desc.backward_part*): backward-data ("bwd_data") then backward-weights (with db,
 * "bwd_weights"), only those cfg->conv_dirs asks for; part k of a runner is the k-th of those
 * (nnb_conv_backward_parts), so backward() == parts 0 .. count-1 in order.
 */
#ifndef NNB_CONV_DATA_H
#define NNB_CONV_DATA_H

#include "conv_ref.h"
#include "nnb_support.h"
#include <nnbench/runner.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The two backward parts of a convolution, in the order backward() runs them. */
typedef enum nnb_conv_part {
    NNB_CONV_PART_BWD_DATA = 0,    /* dx from grad_y and w; NNB_CONV_DIR_BWD_D */
    NNB_CONV_PART_BWD_WEIGHTS = 1, /* dw (and db) from x and grad_y; NNB_CONV_DIR_BWD_W */
} nnb_conv_part;
#define NNB_CONV_PART_COUNT 2

/* "bwd_data", "bwd_weights" (static), or NULL out of range. */
const char *nnb_conv_part_name(nnb_conv_part part);

/* cfg->conv_dirs, or NNB_CONV_DIR_ALL when it is 0 or the config predates ABI 1.3 (every direction). */
uint32_t nnb_conv_dirs(const nnb_config *cfg);

/* The backward parts dirs asks for, in backward order, into parts[NNB_CONV_PART_COUNT]; returns their count
 * (0 when dirs asks for the forward only). */
int nnb_conv_backward_parts(uint32_t dirs, nnb_conv_part *parts);

typedef struct nnb_conv_data {
    nnb_conv_geom geom; /* from cfg->conv */
    int ndims;          /* 4 or 5 */
    int has_bias;
    int precision; /* cfg->precision */
    uint32_t dirs; /* nnb_conv_dirs(cfg) */

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

    nnb_conv_part parts[NNB_CONV_PART_COUNT]; /* the backward parts dirs asks for, in order */
    int part_count;
    nnb_tensor infer_output; /* y with its batch axis infer's n long (nnb_conv_data_infer_outputs) */
} nnb_conv_data;

/* The geometry of a driver-checked problem. */
nnb_conv_geom nnb_conv_geom_from_problem(const nnb_conv_problem *p);

/* Allocates and fills everything from cfg (cfg->conv must be set). Returns 0, or -1 with a message (no problem:
 * "... give one with --conv DESC ...", invalid sizes or overflow, no memory). */
int nnb_conv_data_init(nnb_conv_data *d, const nnb_config *cfg, char *err, size_t err_len);
void nnb_conv_data_free(nnb_conv_data *d);

/* Zero y, dx, dw, db. */
void nnb_conv_data_zero_outputs(nnb_conv_data *d);

/* Views for nnb_runner_desc.params / .outputs (shapes with ndims axes). */
nnb_tensor_list nnb_conv_data_params(const nnb_conv_data *d);
nnb_tensor_list nnb_conv_data_outputs(const nnb_conv_data *d);

/* outputs() after an infer(n): y alone, its batch axis n long (the first n samples of y). */
nnb_tensor_list nnb_conv_data_infer_outputs(nnb_conv_data *d, int64_t n);

/* The geometry of infer(n): the problem's with mb = n. -1 with a message unless 1 <= n <= mb. */
int nnb_conv_data_infer_geom(const nnb_conv_data *d, int64_t n, nnb_conv_geom *out, char *err, size_t err_len);

/* load_param for w and b (serve --weights): same name, float32, same shape, else an error naming the tensor and
 * both shapes; x and grad_y are inputs and refused. The values are rounded to the run's precision, as the
 * seeded ones were. 0, or -1 with the message prefixed by runner. Device runners copy d->w / d->b over after. */
int nnb_conv_data_load_param(nnb_conv_data *d, const char *runner, const nnb_tensor *value, char *err, size_t err_len);

/* FLOPs (2 per multiply-add) of the forward pass, and of the backward as the phases in dirs ask
 * (NNB_CONV_DIR_BWD_D and/or NNB_CONV_DIR_BWD_W, each as many as the forward). */
double nnb_conv_forward_flops(const nnb_conv_data *d);
double nnb_conv_backward_flops(const nnb_conv_data *d, uint32_t dirs);

/* A --check tolerance for a conv runner against conv_ref (nnb_runner_desc.check_tolerance takes it as is): the
 * driver's fp32 rule on the longest reduction (8 FLT_EPSILON sqrt(K), at least 1e-4; K the largest of ic/g *
 * kd*kh*kw (forward), oc/g * kd*kh*kw (backward-data), mb * od*oh*ow (backward-weights)), plus 4 unit roundoffs
 * of the precision for bf16, fp16 and tf32 (results or products rounded to it). The driver's default when
 * cfg->conv is NULL (returns 0). */
double nnb_conv_check_tolerance(const nnb_config *cfg);

#ifdef __cplusplus
}
#endif
#endif /* NNB_CONV_DATA_H */
