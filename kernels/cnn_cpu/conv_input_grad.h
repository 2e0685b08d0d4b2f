/*
 * nnb_cnn_cpu: the input gradient of a network's first convolution (few input channels, e.g. ResNet's
 * 7x7 stride-2 stem on RGB), computed directly from the output gradient in oneDNN's nChw16c layout.
 *
 * Why: oneDNN 2.6's blocked backward-data kernel pads the 3 input channels to 16 and is about 6x slower
 * than the stem's forward (about 290 ms of a 3 s ResNet-18 step at N=32, S=224, 2 threads); its GEMM
 * path needs plain layouts and still takes about 115 ms plus a reorder of the gradient. This kernel
 * vectorises over the 16 output channels of a block instead, so no lane computes padding.
 *
 *   dx[n, ci, iy, ix] = sum over co, kh, kw with iy = oy*s - pad + kh, ix = ox*s - pad + kw
 *                       (0 <= oy < OH, 0 <= ox < OW) of w[co, ci, kh, kw] * dy[n, co, oy, ox]
 *
 * Layouts: dy (n, ceil(k/16), oh, ow, 16) = oneDNN aBcd16b (lanes past k are never read: masked loads);
 * w (k, c, r, r) OIHW; dx (n, c, h, w) NCHW, overwritten (not accumulated).
 * Dimensions are those of the forward convolution (kernels/cnn_ref/cnn_ref.h, nnb_conv_dims).
 * Needs AVX-512F (nnb_conv_input_grad_available()); callers keep another path for other CPUs.
 * Checked against the double-precision reference in tests/conv_input_grad_should_match_reference.c.
 */
#ifndef NNB_CONV_INPUT_GRAD_H
#define NNB_CONV_INPUT_GRAD_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define NNB_CONV_INPUT_GRAD_MAX_C 16
#define NNB_CONV_INPUT_GRAD_MAX_R 32

/* 1 if this CPU and build can run the kernel. */
int nnb_conv_input_grad_available(void);

/* 1 if the kernel handles this shape: 1 <= c <= MAX_C input channels, kernel side 1..MAX_R, stride >= 1. */
int nnb_conv_input_grad_supported(int64_t c, int64_t r, int64_t stride);

/* Floats of the rearranged weights: ceil(k/16) * r * r * c * 16; 0 on size_t overflow. */
size_t nnb_conv_input_grad_weights_floats(int64_t k, int64_t c, int64_t r);

/* w (k, c, r, r) -> wt (ceil(k/16), r, r, c, 16), lanes past k zero. Cheap (k*c*r*r floats): callers
 * redo it whenever the weights change. */
void nnb_conv_input_grad_prepare_weights(int64_t k, int64_t c, int64_t r, const float *w, float *wt);

/* dx (n, c, h, w) = input gradient, from dy (n, ceil(k/16), oh, ow, 16) and wt as prepared above.
 * threads: OpenMP threads over the (n, row) pairs. */
void nnb_conv_input_grad_nchw16c(int64_t n, int64_t c, int64_t h, int64_t w, int64_t k, int64_t r, int64_t stride,
                                 int64_t pad, int64_t oh, int64_t ow, const float *wt, const float *dy, float *dx,
                                 int threads);

#ifdef __cplusplus
}
#endif
#endif
