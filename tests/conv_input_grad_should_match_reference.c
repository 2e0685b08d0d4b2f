/*
 * kernels/cnn_cpu's stem input gradient (from nChw16c output gradients) against the double-precision
 * reference convolution backward (kernels/cnn_ref) on awkward shapes: odd and non-square images, output
 * channels that are not a multiple of 16 (padded lanes hold NaN: they must never be read), 1..16 input
 * channels (1..3 take the 8-pixel register path, more the one-pixel path), strides 1-3, pads 0-3, kernels
 * 1-7. dx is pre-filled with NaN, so an element the kernel forgets to write fails.
 *
 * Tolerance: each dx element sums at most k * r * r products in fp32 (<= 1584 here); we require
 * max |got - ref| <= 1e-5 * max |ref|, about 100x the rounding error and far below any indexing bug.
 */
#include "cnn_ref.h"
#include "conv_input_grad.h"
#include "nnb_support.h"
#include "test_support.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct shape {
    int64_t n, c, h, w, k, r, s, pad;
} shape;

static void check_shape(const shape *sh, int threads) {
    nnb_conv_dims d = nnb_conv_dims_make(sh->n, sh->c, sh->h, sh->w, sh->k, sh->r, sh->s, sh->pad);
    size_t nx = (size_t)(d.n * d.c * d.h * d.w), nw = (size_t)(d.k * d.c * d.r * d.r),
           ny = (size_t)(d.n * d.k * d.oh * d.ow);
    int64_t kb = (d.k + 15) / 16;
    size_t nyb = (size_t)(d.n * kb * d.oh * d.ow * 16), nwt = nnb_conv_input_grad_weights_floats(d.k, d.c, d.r);
    float *w = nnb_alloc_floats(nw), *dy = nnb_alloc_floats(ny), *dyb = nnb_alloc_floats(nyb);
    float *wt = nnb_alloc_floats(nwt), *dx = nnb_alloc_floats(nx);
    double *xd = calloc(nx, sizeof *xd), *wd = calloc(nw, sizeof *wd), *dyd = calloc(ny, sizeof *dyd);
    double *dxd = calloc(nx, sizeof *dxd), *dwd = calloc(nw, sizeof *dwd);
    double *work = calloc(nnb_ref_conv_work_size(&d), sizeof *work);
    CHECK(w && dy && dyb && wt && dx && xd && wd && dyd && dxd && dwd && work && nwt);
    nnb_fill_normal(w, nw, 7, "conv_input_grad.w");
    nnb_fill_normal(dy, ny, 7, "conv_input_grad.dy");
    for (size_t i = 0; i < nw; i++)
        wd[i] = w[i];
    for (size_t i = 0; i < ny; i++)
        dyd[i] = dy[i];
    for (size_t i = 0; i < nyb; i++)
        dyb[i] = NAN; /* padded lanes */
    for (int64_t n = 0; n < d.n; n++)
        for (int64_t co = 0; co < d.k; co++)
            for (int64_t p = 0; p < d.oh * d.ow; p++)
                dyb[((n * kb + co / 16) * d.oh * d.ow + p) * 16 + co % 16] = dy[(n * d.k + co) * d.oh * d.ow + p];
    for (size_t i = 0; i < nx; i++)
        dx[i] = NAN;
    nnb_ref_conv_backward(&d, xd, wd, dyd, dxd, dwd, work);
    nnb_conv_input_grad_prepare_weights(d.k, d.c, d.r, w, wt);
    nnb_conv_input_grad_nchw16c(d.n, d.c, d.h, d.w, d.k, d.r, d.stride, d.pad, d.oh, d.ow, wt, dyb, dx, threads);
    double worst = 0, scale = 0;
    for (size_t i = 0; i < nx; i++) {
        double e = fabs((double)dx[i] - dxd[i]);
        if (!(e <= worst))
            worst = e; /* NaN sticks */
        if (fabs(dxd[i]) > scale)
            scale = fabs(dxd[i]);
    }
    CHECK_MSG(worst <= 1e-5 * scale,
              "n%lld c%lld %lldx%lld k%lld r%lld s%lld p%lld threads %d: max error %.3g of max |dx| %.3g",
              (long long)sh->n, (long long)sh->c, (long long)sh->h, (long long)sh->w, (long long)sh->k,
              (long long)sh->r, (long long)sh->s, (long long)sh->pad, threads, worst, scale);
    printf("n%lld c%lld %lldx%lld k%lld r%lld s%lld p%lld threads %d: max error %.2g (max |dx| %.2g)\n",
           (long long)sh->n, (long long)sh->c, (long long)sh->h, (long long)sh->w, (long long)sh->k, (long long)sh->r,
           (long long)sh->s, (long long)sh->pad, threads, worst, scale);
    nnb_free(w), nnb_free(dy), nnb_free(dyb), nnb_free(wt), nnb_free(dx);
    free(xd), free(wd), free(dyd), free(dxd), free(dwd), free(work);
}

int main(void) {
    if (!nnb_conv_input_grad_available()) {
        printf("SKIP: this CPU has no AVX-512F (the kernel is not used here)\n");
        return nnb_test_finish();
    }
    CHECK(nnb_conv_input_grad_supported(3, 7, 2));
    CHECK(!nnb_conv_input_grad_supported(17, 3, 1));
    CHECK(!nnb_conv_input_grad_supported(3, 33, 1));
    CHECK(nnb_conv_input_grad_weights_floats(INT64_MAX / 2, 3, 7) == 0); /* overflow */
    static const shape shapes[] = {
        {2, 3, 64, 64, 64, 7, 2, 3},  /* ResNet stem at the runner test's image size */
        {2, 3, 40, 37, 64, 7, 2, 3},  /* odd width: phases of 19 and 18 pixels */
        {1, 3, 29, 53, 20, 7, 2, 3},  /* 20 output channels: a partial block */
        {2, 1, 17, 40, 16, 3, 1, 1},  /* one input channel, stride 1 */
        {1, 2, 23, 35, 33, 5, 3, 2},  /* stride 3, 33 channels */
        {1, 4, 15, 19, 32, 3, 2, 0},  /* 4 channels: one-pixel path, no padding */
        {1, 3, 9, 9, 16, 1, 1, 0},    /* 1x1 */
        {1, 16, 12, 30, 48, 3, 1, 1}, /* the most input channels supported */
        {1, 3, 5, 6, 16, 7, 2, 3},    /* smaller than the kernel: every pixel on an edge */
    };
    for (size_t i = 0; i < sizeof shapes / sizeof *shapes; i++)
        check_shape(&shapes[i], i % 2 ? 2 : 1);
    return nnb_test_finish();
}
