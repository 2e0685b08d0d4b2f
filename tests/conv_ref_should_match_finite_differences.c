/*
 * The convolution reference's backward passes against finite differences of its own forward, independent of
 * PyTorch: on two tiny problems (2-D with groups, stride, padding and dilation; 3-D with padding and dilation)
 * every element of dx, dw and db equals the central difference of the loss L = sum(y * grad_y).
 *
 * L is linear in each of x, w and b, so the central difference has no truncation error and the step can be
 * large (h = 0.5); what remains is the float32 rounding of y: |error of L| <= 2^-24 sum |y| |grad_y| for each
 * of L+ and L-, divided by the step actually taken (x + h and x - h rounded to float32). The test allows four
 * times that plus 1e-6. A wrong tap or group (a whole term, ~1e-1) fails.
 */
#include "conv_ref.h"
#include "test_support.h"

#include <stdlib.h>
#include <string.h>

typedef struct problem {
    const char *name;
    nnb_conv_geom g;
} problem;

static const problem problems[] = {
    /* g2 mb2 ic4 ih5 iw6 oc4 oh3 ow6 kh3 kw2 sh2 ph1 pw1 dw1 */
    {"2d_g2_s2_p1_d1",
     {.g = 2,
      .mb = 2,
      .ic = 4,
      .oc = 4,
      .id = 1,
      .ih = 5,
      .iw = 6,
      .od = 1,
      .oh = 3,
      .ow = 6,
      .kd = 1,
      .kh = 3,
      .kw = 2,
      .sd = 1,
      .sh = 2,
      .sw = 1,
      .pd = 0,
      .ph = 1,
      .pw = 1,
      .dw = 1}},
    /* mb1 ic2 id3 ih4 iw3 oc2 od3 oh3 ow3 kd2 kh2 kw3 pd1 pw1 dd1 */
    {"3d_p1_d1",
     {.g = 1,
      .mb = 1,
      .ic = 2,
      .oc = 2,
      .id = 3,
      .ih = 4,
      .iw = 3,
      .od = 3,
      .oh = 3,
      .ow = 3,
      .kd = 2,
      .kh = 2,
      .kw = 3,
      .sd = 1,
      .sh = 1,
      .sw = 1,
      .pd = 1,
      .ph = 0,
      .pw = 1,
      .dd = 1}},
};

/* Deterministic values in [-1, 1) without the project's generators. */
static void fill(float *v, int64_t n, unsigned seed) {
    for (int64_t i = 0; i < n; i++) {
        seed = seed * 1103515245u + 12345u;
        v[i] = (float)((seed >> 8) & 0xffff) / 32768.0f - 1.0f;
    }
}

typedef struct tensors {
    float *x, *w, *b, *gy, *y;
} tensors;

/* L = sum(y * grad_y) in double, and the bound on its error from y's float32 rounding. */
static double loss(const nnb_conv_geom *g, const tensors *t, double *bound) {
    CHECK(nnb_conv_ref_forward(g, t->x, t->w, t->b, t->y) == 0);
    double l = 0, s = 0;
    for (int64_t i = 0; i < nnb_conv_geom_y_count(g); i++) {
        l += (double)t->y[i] * (double)t->gy[i];
        s += fabs((double)t->y[i] * (double)t->gy[i]);
    }
    *bound = 0x1p-24 * s;
    return l;
}

/* Every element of v (one of t's inputs) against the central difference; returns the worst error. */
static double check_gradient(const problem *p, tensors *t, float *v, int64_t n, const float *grad, const char *what) {
    double worst = 0;
    int64_t bad = 0;
    for (int64_t i = 0; i < n; i++) {
        float keep = v[i], plus = keep + 0.5f, minus = keep - 0.5f;
        double bp, bm;
        v[i] = plus;
        double lp = loss(&p->g, t, &bp);
        v[i] = minus;
        double lm = loss(&p->g, t, &bm);
        v[i] = keep;
        double step = (double)plus - (double)minus, fd = (lp - lm) / step;
        double err = fabs(fd - (double)grad[i]), tol = 4.0 * (bp + bm) / step + 1e-6;
        bad += !(err <= tol);
        worst = fmax(worst, err);
    }
    CHECK_MSG(bad == 0, "%s %s: %lld of %lld elements differ from the central difference", p->name, what,
              (long long)bad, (long long)n);
    printf("%-16s %-2s %4lld elements, worst |analytic - central difference| %.3g\n", p->name, what, (long long)n,
           worst);
    return worst;
}

static void check_problem(const problem *p) {
    const nnb_conv_geom *g = &p->g;
    int64_t nx = nnb_conv_geom_x_count(g), nw = nnb_conv_geom_w_count(g), ny = nnb_conv_geom_y_count(g);
    CHECK_MSG(nx && nw && ny, "%s: invalid geometry", p->name);
    tensors t = {malloc(nx * sizeof(float)), malloc(nw * sizeof(float)), malloc(g->oc * sizeof(float)),
                 malloc(ny * sizeof(float)), malloc(ny * sizeof(float))};
    float *dx = malloc(nx * sizeof(float)), *dw = malloc(nw * sizeof(float)), *db = malloc(g->oc * sizeof(float));
    fill(t.x, nx, 1), fill(t.w, nw, 2), fill(t.b, g->oc, 3), fill(t.gy, ny, 4);
    CHECK(nnb_conv_ref_backward_data(g, t.gy, t.w, dx) == 0);
    CHECK(nnb_conv_ref_backward_weights(g, t.x, t.gy, dw, db) == 0);
    check_gradient(p, &t, t.x, nx, dx, "dx");
    check_gradient(p, &t, t.w, nw, dw, "dw");
    check_gradient(p, &t, t.b, g->oc, db, "db");
    free(t.x), free(t.w), free(t.b), free(t.gy), free(t.y), free(dx), free(dw), free(db);
}

/* Invalid geometry is refused (and counted as zero work), not divided by. */
static void check_invalid_geometry(void) {
    nnb_conv_geom g = problems[0].g;
    float v[1] = {0};
    g.g = 0;
    CHECK(!nnb_conv_geom_valid(&g) && nnb_conv_geom_macs(&g) == 0.0);
    CHECK(nnb_conv_ref_forward(&g, v, v, NULL, v) == -1);
    CHECK(nnb_conv_ref_backward_data(&g, v, v, v) == -1);
    CHECK(nnb_conv_ref_backward_weights(&g, v, v, v, NULL) == -1);
    g.g = 3; /* does not divide ic = oc = 4 */
    CHECK(!nnb_conv_geom_valid(&g) && nnb_conv_ref_forward(&g, v, v, NULL, v) == -1);
    g = problems[0].g;
    g.oh = 0;
    CHECK(!nnb_conv_geom_valid(&g) && nnb_conv_ref_forward(&g, v, v, NULL, v) == -1);
    g = problems[0].g; /* 2 * 4 * 3 * 6 outputs, 4/2 * 3 * 2 taps each */
    CHECK(nnb_conv_geom_valid(&g) && nnb_conv_geom_macs(&g) == 2.0 * 4 * 3 * 6 * 2 * 3 * 2);
}

int main(void) {
    for (size_t i = 0; i < sizeof problems / sizeof *problems; i++)
        check_problem(&problems[i]);
    check_invalid_geometry();
    return nnb_test_finish();
}
