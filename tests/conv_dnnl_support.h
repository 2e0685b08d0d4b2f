/*
 * What the tests of the `conv` runners (oneDNN's; cuDNN's on a GPU) share: the plugin loaded straight from the build
 * tree (dlopen of nnb_cpu_conv.so, so nothing depends on the driver's --conv parser), hand-filled problems, and one
 * pass of the runner compared with kernels/conv_ref on the very values the runner used (its params()).
 */
#ifndef CONV_DNNL_SUPPORT_H
#define CONV_DNNL_SUPPORT_H

#include "conv_ref.h"
#include "test_support.h"

/* The `conv` descriptor of the build tree's nnb_cpu_conv plugin; NULL (with a failure recorded) if missing. */
const nnb_runner_desc *conv_dnnl_runner(void);
/* The same for any conv plugin file of the build tree (e.g. "nnb_cuda_conv.so"). */
const nnb_runner_desc *conv_plugin_runner(const char *plugin_file);

/* A 2-D problem, output size deduced (symmetric padding) as benchdnn does; dilation 0 is dense. */
nnb_conv_problem conv_problem_2d(int64_t g, int64_t mb, int64_t ic, int64_t ih, int64_t iw, int64_t oc, int64_t kh,
                                 int64_t kw, int64_t sh, int64_t sw, int64_t ph, int64_t pw, int64_t dh, int64_t dw,
                                 const char *name);

/* A 3-D problem: the 2-D one (kernel, stride, padding, dilation the same in h and w) given a depth axis. */
nnb_conv_problem conv_problem_3d(nnb_conv_problem p2, int64_t id, int64_t kd, int64_t sd, int64_t pd, int64_t dd);

/* nnb_config_defaults() for problem p (threads 2, seed 7) in precision `precision`. */
nnb_config conv_config(const nnb_conv_problem *p, int precision);

/* Normwise relative error per result, max|got - ref| / max|ref| (conv_ref.h's reference in double). */
typedef struct conv_errors {
    double y, dx, dw, db; /* db 0 without bias */
} conv_errors;

/* create, forward, backward (whole, or part by part when by_parts), outputs; the errors against conv_ref.
 * Returns 0, or -1 with a failure recorded (create or a pass failed). */
int conv_run_against_reference(const nnb_runner_desc *d, const nnb_config *cfg, int by_parts, conv_errors *e);

/* The errors of model m's last forward and backward (its params() and outputs()). Returns 0, or -1 with a
 * failure recorded. */
int conv_model_errors(const nnb_runner_desc *d, void *m, const nnb_conv_problem *p, conv_errors *e);

/* K of each result's reduction: y ic/g*kh*kw, dx oc/g*kh*kw, dw and db mb*oh*ow. */
conv_errors conv_reduction_lengths(const nnb_conv_problem *p);

#endif
