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

double nnb_conv_geom_macs(const nnb_conv_geom *p) {
    return (double)nnb_conv_geom_y_count(p) * (double)(p->ic / p->g) * (double)p->kd * (double)p->kh * (double)p->kw;
}

/* Input position of output position o through kernel tap k, or -1 when it falls into the padding. */
static int64_t input_pos(int64_t o, int64_t k, int64_t s, int64_t pad, int64_t dil, int64_t in) {
    int64_t i = o * s - pad + k * (dil + 1);
    return i >= 0 && i < in ? i : -1;
}

/* Flat offset of x element (n, c, z, y, x) for valid positions, or -1. */
static int64_t x_offset(const nnb_conv_geom *p, int64_t n, int64_t c, int64_t od, int64_t oh, int64_t ow, int64_t kd,
                        int64_t kh, int64_t kw) {
    int64_t z = input_pos(od, kd, p->sd, p->pd, p->dd, p->id);
    int64_t y = input_pos(oh, kh, p->sh, p->ph, p->dh, p->ih);
    int64_t x = input_pos(ow, kw, p->sw, p->pw, p->dw, p->iw);
    if (z < 0 || y < 0 || x < 0)
        return -1;
    return (((n * p->ic + c) * p->id + z) * p->ih + y) * p->iw + x;
}

static int64_t w_offset(const nnb_conv_geom *p, int64_t o, int64_t cg, int64_t kd, int64_t kh, int64_t kw) {
    return (((o * (p->ic / p->g) + cg) * p->kd + kd) * p->kh + kh) * p->kw + kw;
}

static int64_t y_offset(const nnb_conv_geom *p, int64_t n, int64_t o, int64_t od, int64_t oh, int64_t ow) {
    return (((n * p->oc + o) * p->od + od) * p->oh + oh) * p->ow + ow;
}

/* Calls body(n, o, c, od, oh, ow, kd, kh, kw) with xo, wo, yo set, for every valid (output, tap) pair. */
#define FOR_EACH_TAP(p, body)                                                                                          \
    for (int64_t n = 0; n < (p)->mb; n++)                                                                              \
        for (int64_t o = 0; o < (p)->oc; o++) {                                                                        \
            int64_t icg = (p)->ic / (p)->g, c0 = (o / ((p)->oc / (p)->g)) * icg;                                       \
            for (int64_t od = 0; od < (p)->od; od++)                                                                   \
                for (int64_t oh = 0; oh < (p)->oh; oh++)                                                               \
                    for (int64_t ow = 0; ow < (p)->ow; ow++) {                                                         \
                        int64_t yo = y_offset(p, n, o, od, oh, ow);                                                    \
                        for (int64_t cg = 0; cg < icg; cg++)                                                           \
                            for (int64_t kd = 0; kd < (p)->kd; kd++)                                                   \
                                for (int64_t kh = 0; kh < (p)->kh; kh++)                                               \
                                    for (int64_t kw = 0; kw < (p)->kw; kw++) {                                         \
                                        int64_t xo = x_offset(p, n, c0 + cg, od, oh, ow, kd, kh, kw);                  \
                                        if (xo < 0)                                                                    \
                                            continue;                                                                  \
                                        int64_t wo = w_offset(p, o, cg, kd, kh, kw);                                   \
                                        body;                                                                          \
                                    }                                                                                  \
                    }                                                                                                  \
        }

void nnb_conv_ref_forward(const nnb_conv_geom *p, const float *x, const float *w, const float *b, float *y) {
    int64_t ny = nnb_conv_geom_y_count(p);
    double *acc = calloc((size_t)ny, sizeof *acc);
    if (!acc)
        return;
    FOR_EACH_TAP(p, acc[yo] += (double)x[xo] * (double)w[wo]);
    int64_t spatial = p->od * p->oh * p->ow;
    for (int64_t i = 0; i < ny; i++)
        y[i] = (float)(acc[i] + (b ? (double)b[(i / spatial) % p->oc] : 0.0));
    free(acc);
}

void nnb_conv_ref_backward_data(const nnb_conv_geom *p, const float *grad_y, const float *w, float *dx) {
    int64_t nx = nnb_conv_geom_x_count(p);
    double *acc = calloc((size_t)nx, sizeof *acc);
    if (!acc)
        return;
    FOR_EACH_TAP(p, acc[xo] += (double)grad_y[yo] * (double)w[wo]);
    for (int64_t i = 0; i < nx; i++)
        dx[i] = (float)acc[i];
    free(acc);
}

void nnb_conv_ref_backward_weights(const nnb_conv_geom *p, const float *x, const float *grad_y, float *dw, float *db) {
    int64_t nw = nnb_conv_geom_w_count(p);
    double *acc = calloc((size_t)nw, sizeof *acc);
    if (!acc)
        return;
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
                    s += grad_y[(n * p->oc + o) * spatial + i];
            db[o] = (float)s;
        }
    }
}
