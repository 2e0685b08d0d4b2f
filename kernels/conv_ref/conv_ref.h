/*
 * The plain convolution reference (forward, backward-data, backward-weights) that the conv_ref runner wraps and
 * every other conv runner is checked against: direct loops, accumulation in double, no blocking, no threads.
 * Each (output, tap) pair finds its input position once, then runs over the group's channels; the loops read
 * like the definition:
 *   y[n, o, od, oh, ow] = b[o] + sum_{c in group(o), kd, kh, kw}
 *       x[n, c, od*sd - pd + kd*(dd+1), oh*sh - ph + kh*(dh+1), ow*sw - pw + kw*(dw+1)] * w[o, c - c0, kd, kh, kw]
 * (out-of-range input positions are zero padding). Dilation is benchdnn's: 0 is dense.
 * Layouts: x (mb, ic, id, ih, iw), w (oc, ic/g, kd, kh, kw), b (oc), y (mb, oc, od, oh, ow): NCDHW / OIDHW;
 * a 2-D problem is the 3-D one with id = od = kd = sd = 1 and pd = dd = 0, so NCHW / OIHW memory is the same.
 * Outputs are overwritten (not accumulated). Each pass returns 0, or -1 (outputs untouched) when the geometry is
 * invalid (nnb_conv_geom_valid) or its double accumulator cannot be allocated. Every input position is
 * range-checked, so any valid geometry stays in bounds, whether or not its output sizes are the ones the input,
 * kernel, stride, padding and dilation deduce (the driver checks that). Single-threaded: each output's sum runs
 * in one fixed order, so results are reproducible bit for bit. A leaf: includes nothing of the project's.
 */
#ifndef NNB_CONV_REF_H
#define NNB_CONV_REF_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct nnb_conv_geom {
    int64_t g, mb, ic, oc;
    int64_t id, ih, iw, od, oh, ow;
    int64_t kd, kh, kw, sd, sh, sw;
    int64_t pd, ph, pw, dd, dh, dw;
} nnb_conv_geom;

/* Element counts of x, w and y; 0 when the geometry is invalid or a count overflows int64. */
int64_t nnb_conv_geom_x_count(const nnb_conv_geom *p);
int64_t nnb_conv_geom_w_count(const nnb_conv_geom *p);
int64_t nnb_conv_geom_y_count(const nnb_conv_geom *p);

/* 1 when every count above is positive (sizes positive, g divides ic and oc, no overflow), else 0. */
int nnb_conv_geom_valid(const nnb_conv_geom *p);

/* Multiply-adds of one forward pass (each of backward-data and backward-weights does as many); 0 when invalid. */
double nnb_conv_geom_macs(const nnb_conv_geom *p);

/* y = conv(x, w) + b; b may be NULL (no bias). */
int nnb_conv_ref_forward(const nnb_conv_geom *p, const float *x, const float *w, const float *b, float *y);
/* dx = the gradient of sum(y * grad_y) with respect to x. */
int nnb_conv_ref_backward_data(const nnb_conv_geom *p, const float *grad_y, const float *w, float *dx);
/* dw (and db, the sum of grad_y over n and positions, unless NULL). */
int nnb_conv_ref_backward_weights(const nnb_conv_geom *p, const float *x, const float *grad_y, float *dw, float *db);

#ifdef __cplusplus
}
#endif
#endif /* NNB_CONV_REF_H */
