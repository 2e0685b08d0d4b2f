/*
 * Plain C reference CNN layers, forward and backward, in double precision,
 * and a whole ResNet built from them on top of the architecture table
 * (kernels/resnet/resnet_arch.h). These are the ground truth the oneDNN and
 * cuDNN runners are checked against: loops written for clarity first (with
 * branch-free inner loops so the compiler vectorises them), OpenMP over
 * independent outputs only, so results do not depend on the thread count.
 *
 * Layouts: activations NCHW, conv weights OIHW, fc weight (out, in), all dense.
 *
 * Backward convention: every backward ADDS its input gradient into dx (an
 * activation read by two layers, like a block input feeding conv1 and the
 * shortcut, gets both contributions); parameter gradients are OVERWRITTEN.
 * Pass dx = NULL to skip the input gradient.
 */
#ifndef NNB_CNN_REF_H
#define NNB_CNN_REF_H

#include "resnet_arch.h"

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Convolution without bias: x (n, c, h, w) * w (k, c, r, r) -> y (n, k, oh, ow). */
typedef struct nnb_conv_dims {
    int64_t n, c, h, w; /* input */
    int64_t k, r;       /* output channels, square kernel side */
    int64_t stride, pad;
    int64_t oh, ow; /* (h + 2 pad - r) / stride + 1 */
} nnb_conv_dims;

nnb_conv_dims nnb_conv_dims_make(int64_t n, int64_t c, int64_t h, int64_t w, int64_t k, int64_t r, int64_t stride,
                                 int64_t pad);

/* Scratch (in doubles) the convolution needs: 2 * (c*r*r) * (oh*ow); 0 on size_t overflow.
 * Computed as im2col + a plain triple loop per image (no BLAS). */
size_t nnb_ref_conv_work_size(const nnb_conv_dims *d);
void nnb_ref_conv_forward(const nnb_conv_dims *d, const double *x, const double *w, double *y, double *work);
/* dx (may be NULL) += d(loss)/dx; dw = d(loss)/dw. */
void nnb_ref_conv_backward(const nnb_conv_dims *d, const double *x, const double *w, const double *dy, double *dx,
                           double *dw, double *work);

/* BatchNorm2d, training: batch statistics over (n, h, w) per channel, biased
 * variance for normalisation; running_mean/var (may be NULL) updated with
 * momentum, running_var with the unbiased variance (PyTorch). Saves mean and
 * 1/sqrt(var + eps) per channel (c) for backward. */
void nnb_ref_bn_forward(int64_t n, int64_t c, int64_t hw, const double *x, const double *gamma, const double *beta,
                        double eps, double momentum, double *running_mean, double *running_var, double *save_mean,
                        double *save_invstd, double *y);
/* dx (may be NULL) +=; dgamma, dbeta (c) overwritten. */
void nnb_ref_bn_backward(int64_t n, int64_t c, int64_t hw, const double *x, const double *gamma,
                         const double *save_mean, const double *save_invstd, const double *dy, double *dx,
                         double *dgamma, double *dbeta);

/* BatchNorm2d, eval (torchvision's eval()): y = (x - running_mean) / sqrt(running_var + eps) * gamma + beta per
 * channel; nothing saved, nothing updated. */
void nnb_ref_bn_eval_forward(int64_t n, int64_t c, int64_t hw, const double *x, const double *gamma, const double *beta,
                             const double *running_mean, const double *running_var, double eps, double *y);

void nnb_ref_relu_forward(size_t count, const double *x, double *y);
/* dx += dy where x > 0 (PyTorch's convention at 0: gradient 0). */
void nnb_ref_relu_backward(size_t count, const double *x, const double *dy, double *dx);

/* Max pool, square window r, stride, padding (padding never wins); ties go to
 * the first maximum in row-major window order, as PyTorch's CPU kernel. */
void nnb_ref_maxpool_forward(int64_t n, int64_t c, int64_t h, int64_t w, int64_t r, int64_t stride, int64_t pad,
                             int64_t oh, int64_t ow, const double *x, double *y);
void nnb_ref_maxpool_backward(int64_t n, int64_t c, int64_t h, int64_t w, int64_t r, int64_t stride, int64_t pad,
                              int64_t oh, int64_t ow, const double *x, const double *dy, double *dx);

/* Global average pool: x (n, c, hw) -> y (n, c). */
void nnb_ref_avgpool_forward(int64_t n, int64_t c, int64_t hw, const double *x, double *y);
void nnb_ref_avgpool_backward(int64_t n, int64_t c, int64_t hw, const double *dy, double *dx);

/* Linear: y (n, out) = x (n, in) w^T + b; w (out, in), b (out). */
void nnb_ref_linear_forward(int64_t n, int64_t in, int64_t out, const double *x, const double *w, const double *b,
                            double *y);
/* dx (may be NULL) +=; dw, db overwritten. */
void nnb_ref_linear_backward(int64_t n, int64_t in, int64_t out, const double *x, const double *w, const double *dy,
                             double *dx, double *dw, double *db);

/* dst += src (residual add backward passes dy to both inputs). */
void nnb_ref_accumulate(size_t count, const double *src, double *dst);

/*
 * Whole ResNet, train mode, following the arch table layer by layer.
 *   params: packed in arch->params order (param_floats), running statistics
 *           included; forward updates running_mean / running_var in place.
 *   acts[0] is x, acts[num_acts-1] the logits (N, 1000).
 *   backward(grad_logits) fills dacts (dacts[0] = dx) and grads (packed like
 *   params; running-statistic slots stay 0).
 *   infer(n) is the eval-mode forward (torchvision's eval()) of the first n
 *   samples of acts[0]: BatchNorm with the running statistics, which stay as
 *   they are, like every parameter. It runs in buffers of its own (infer_bufs,
 *   shared between layers by nnb_resnet_plan_inference_slots, allocated on
 *   first use for the full batch, so any n <= N reuses them), so acts, dacts
 *   and the BN saves of the last training forward stay as they were.
 */
typedef struct nnb_cnn_ref_net {
    const nnb_resnet_arch *arch; /* not owned; must outlive the net */
    double *params;              /* (param_floats) */
    double *grads;               /* (param_floats) */
    double **acts;               /* (num_acts) each (n, c, h, w) */
    double **dacts;              /* (num_acts) */
    double *bn_save;             /* per BN layer: mean (c) then invstd (c), at bn_offset[layer] */
    size_t *bn_offset;           /* (num_layers) */
    double *conv_work;           /* scratch for the largest convolution */
    int *infer_slot;             /* (num_acts) buffer of each activation in infer, NULL until the first infer */
    double **infer_bufs;         /* (infer_num_slots) each as large as the largest activation it holds at N */
    int infer_num_slots;
} nnb_cnn_ref_net;

int nnb_cnn_ref_net_create(nnb_cnn_ref_net *net, const nnb_resnet_arch *arch, char *err, size_t err_len);
void nnb_cnn_ref_net_forward(nnb_cnn_ref_net *net);
void nnb_cnn_ref_net_backward(nnb_cnn_ref_net *net, const double *grad_logits);
/* logits: (n, classes) of the first n samples, 1 <= n <= N. 0, or -1 with err (n out of range, out of memory). */
int nnb_cnn_ref_net_infer(nnb_cnn_ref_net *net, int64_t n, double *logits, char *err, size_t err_len);
void nnb_cnn_ref_net_free(nnb_cnn_ref_net *net); /* safe on a zeroed or failed net */

#ifdef __cplusplus
}
#endif
#endif
