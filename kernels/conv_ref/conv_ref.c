#include "conv_ref.h"

#include <stdlib.h>
#include <string.h>

static int64_t mul_or_zero(int64_t a, int64_t b) { return (a <= 0 || b <= 0 || a > INT64_MAX / b) ? 0 : a * b; }

int64_t nnb_conv_geom_x_count(const nnb_conv_geom *p) {
    return mul_or_zero(mul_or_zero(mul_or_zero(p->mb, p->ic), mul_or_zero(p->id, p->ih)), p->iw);
}

int64_t nnb_conv_geom_w_count(const nnb_conv_geom *p) {
    if (p->g <= 0 || p->ic % p->g || p->oc % p->g)
        return 0;
    return mul_or_zero(mul_or_zero(mul_or_zero(p->oc, p->ic / p->g), mul_or_zero(p->kd, p->kh)), p->kw);
}

int64_t nnb_conv_geom_y_count(const nnb_conv_geom *p) {
    return mul_or_zero(mul_or_zero(mul_or_zero(p->mb, p->oc), mul_or_zero(p->od, p->oh)), p->ow);
}

/* Strides and paddings may be anything the loops stay in bounds with (every position is range-checked);
 * sizes, groups and the kernel must make positive counts. */
int nnb_conv_geom_valid(const nnb_conv_geom *p) {
    return nnb_conv_geom_x_count(p) && nnb_conv_geom_w_count(p) && nnb_conv_geom_y_count(p);
}

double nnb_conv_geom_macs(const nnb_conv_geom *p) {
    if (!nnb_conv_geom_valid(p))
        return 0.0;
    return (double)nnb_conv_geom_y_count(p) * (double)(p->ic / p->g) * (double)p->kd * (double)p->kh * (double)p->kw;
}

/* Input position of output position o through kernel tap k, or -1 when it falls into the padding. */
static int64_t input_pos(int64_t o, int64_t k, int64_t s, int64_t pad, int64_t dil, int64_t in) {
    int64_t i = o * s - pad + k * (dil + 1);
    return i >= 0 && i < in ? i : -1;
}

/* Offset of input position (z, y, x) within one channel's (id, ih, iw) plane, or -1 in the padding. */
static int64_t x_spatial(const nnb_conv_geom *p, int64_t od, int64_t oh, int64_t ow, int64_t kd, int64_t kh,
                         int64_t kw) {
    int64_t z = input_pos(od, kd, p->sd, p->pd, p->dd, p->id);
    int64_t y = input_pos(oh, kh, p->sh, p->ph, p->dh, p->ih);
    int64_t x = input_pos(ow, kw, p->sw, p->pw, p->dw, p->iw);
    if (z < 0 || y < 0 || x < 0)
        return -1;
    return (z * p->ih + y) * p->iw + x;
}

/* Calls body with xo, wo, yo (flat offsets into x, w, y) for every (output element, input channel, tap) whose
 * input position is inside x. The tap's input position does not depend on the channel, so it is found once per
 * (output, tap) and the channel loop is innermost. */
#define FOR_EACH_TAP(p, body)                                                                                          \
    do {                                                                                                               \
        const int64_t icg_ = (p)->ic / (p)->g, ocg_ = (p)->oc / (p)->g;                                                \
        const int64_t x_plane_ = (p)->id * (p)->ih * (p)->iw, k_plane_ = (p)->kd * (p)->kh * (p)->kw;                  \
        for (int64_t n = 0; n < (p)->mb; n++)                                                                          \
            for (int64_t o = 0; o < (p)->oc; o++) {                                                                    \
                const int64_t x_base_ = (n * (p)->ic + (o / ocg_) * icg_) * x_plane_, w_base_ = o * icg_ * k_plane_;   \
                for (int64_t od = 0; od < (p)->od; od++)                                                               \
                    for (int64_t oh = 0; oh < (p)->oh; oh++)                                                           \
                        for (int64_t ow = 0; ow < (p)->ow; ow++) {                                                     \
                            const int64_t yo = (((n * (p)->oc + o) * (p)->od + od) * (p)->oh + oh) * (p)->ow + ow;     \
                            for (int64_t kd = 0; kd < (p)->kd; kd++)                                                   \
                                for (int64_t kh = 0; kh < (p)->kh; kh++)                                               \
                                    for (int64_t kw = 0; kw < (p)->kw; kw++) {                                         \
                                        const int64_t s_ = x_spatial(p, od, oh, ow, kd, kh, kw);                       \
                                        if (s_ < 0)                                                                    \
                                            continue;                                                                  \
                                        const int64_t k_ = (kd * (p)->kh + kh) * (p)->kw + kw;                         \
                                        for (int64_t cg = 0; cg < icg_; cg++) {                                        \
                                            const int64_t xo = x_base_ + cg * x_plane_ + s_;                           \
                                            const int64_t wo = w_base_ + cg * k_plane_ + k_;                           \
                                            body;                                                                      \
                                        }                                                                              \
                                    }                                                                                  \
                        }                                                                                              \
            }                                                                                                          \
    } while (0)

/* A zeroed double accumulator of n elements, or NULL (invalid geometry or no memory). */
static double *accumulator(const nnb_conv_geom *p, int64_t n) {
    return nnb_conv_geom_valid(p) ? calloc((size_t)n, sizeof(double)) : NULL;
}

int nnb_conv_ref_forward(const nnb_conv_geom *p, const float *x, const float *w, const float *b, float *y) {
    int64_t ny = nnb_conv_geom_y_count(p);
    double *acc = accumulator(p, ny); /* (mb, oc, od, oh, ow) */
    if (!acc)
        return -1;
    FOR_EACH_TAP(p, acc[yo] += (double)x[xo] * (double)w[wo]);
    int64_t spatial = p->od * p->oh * p->ow;
    for (int64_t i = 0; i < ny; i++)
        y[i] = (float)(acc[i] + (b ? (double)b[(i / spatial) % p->oc] : 0.0));
    free(acc);
    return 0;
}

int nnb_conv_ref_backward_data(const nnb_conv_geom *p, const float *grad_y, const float *w, float *dx) {
    int64_t nx = nnb_conv_geom_x_count(p);
    double *acc = accumulator(p, nx); /* (mb, ic, id, ih, iw) */
    if (!acc)
        return -1;
    FOR_EACH_TAP(p, acc[xo] += (double)grad_y[yo] * (double)w[wo]);
    for (int64_t i = 0; i < nx; i++)
        dx[i] = (float)acc[i];
    free(acc);
    return 0;
}

int nnb_conv_ref_backward_weights(const nnb_conv_geom *p, const float *x, const float *grad_y, float *dw, float *db) {
    int64_t nw = nnb_conv_geom_w_count(p);
    double *acc = accumulator(p, nw); /* (oc, ic/g, kd, kh, kw) */
    if (!acc)
        return -1;
    FOR_EACH_TAP(p, acc[wo] += (double)x[xo] * (double)grad_y[yo]);
    for (int64_t i = 0; i < nw; i++)
        dw[i] = (float)acc[i];
    free(acc);
    if (db) {
        int64_t spatial = p->od * p->oh * p->ow;
        for (int64_t o = 0; o < p->oc; o++) {
            double s = 0;
            for (int64_t n = 0; n < p->mb; n++)
                for (int64_t i = 0; i < spatial; i++)
                    s += (double)grad_y[(n * p->oc + o) * spatial + i];
            db[o] = (float)s;
        }
    }
    return 0;
}
