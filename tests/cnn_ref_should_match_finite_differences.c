/*
 * The plain C reference layers (double precision) against central finite
 * differences on tiny, awkward shapes: for a layer y = f(x, params) and a fixed
 * random upstream gradient g, the loss L = sum(y * g) is differentiated
 * numerically with respect to every input and parameter element and compared
 * with the layer's backward. Then the whole ResNet-18 / ResNet-50 reference
 * (train-mode BN, shortcuts, pooling) along random directions.
 *
 * Tolerance: central differences with step 1e-6 in double have truncation
 * error O(h^2 f''') ~ 1e-12 and rounding error ~ eps * |L| / h ~ 1e-10 * |L|;
 * we require |fd - analytic| <= 1e-6 * max|analytic| over the tensor (layers)
 * and 1e-5 of sum |grad * v| (whole network, step 1e-9, see below), far above both errors
 * and far below any real bug (a wrong index or a missing term is O(1)).
 */
#include "cnn_ref.h"
#include "nnb_support.h"
#include "resnet_init.h"
#include "test_support.h"

#include <stdlib.h>
#include <string.h>

static double *random_doubles(size_t n, uint64_t seed, const char *name) {
    float *f = nnb_alloc_floats(n);
    double *d = calloc(n, sizeof *d);
    nnb_fill_normal(f, n, seed, name);
    for (size_t i = 0; i < n; i++)
        d[i] = f[i];
    nnb_free(f);
    return d;
}

static double dot(const double *a, const double *b, size_t n) {
    double s = 0;
    for (size_t i = 0; i < n; i++)
        s += a[i] * b[i];
    return s;
}

/* A layer under test: computes y from its (mutable) inputs. */
typedef void (*forward_fn)(void *ctx, double *y);

/* Checks analytic gradient `an` (n) of L = sum(f(ctx) * g) w.r.t. buffer v (n) by central differences. */
static void check_fd(const char *what, forward_fn f, void *ctx, double *v, const double *an, size_t n, const double *g,
                     size_t ny, double step, double tol) {
    double *y = calloc(ny, sizeof *y);
    double max_an = 1e-30, max_err = 0;
    for (size_t i = 0; i < n; i++)
        max_an = fmax(max_an, fabs(an[i]));
    for (size_t i = 0; i < n; i++) {
        double keep = v[i];
        v[i] = keep + step;
        f(ctx, y);
        double lp = dot(y, g, ny);
        v[i] = keep - step;
        f(ctx, y);
        double lm = dot(y, g, ny);
        v[i] = keep;
        max_err = fmax(max_err, fabs((lp - lm) / (2 * step) - an[i]));
    }
    CHECK_MSG(max_err <= tol * max_an, "%s: max |fd - analytic| = %.3g, max |analytic| = %.3g (tol %.1g relative)",
              what, max_err, max_an, tol);
    free(y);
}

/* ---- convolution ---- */
typedef struct conv_ctx {
    nnb_conv_dims d;
    double *x, *w, *work;
} conv_ctx;
static void conv_f(void *c, double *y) {
    conv_ctx *t = c;
    nnb_ref_conv_forward(&t->d, t->x, t->w, y, t->work);
}

static void check_conv(int64_t n, int64_t c, int64_t h, int64_t w, int64_t k, int64_t r, int64_t stride, int64_t pad) {
    conv_ctx t = {nnb_conv_dims_make(n, c, h, w, k, r, stride, pad), NULL, NULL, NULL};
    t.work = calloc(nnb_ref_conv_work_size(&t.d), sizeof(double));
    size_t nx = (size_t)(n * c * h * w), nw = (size_t)(k * c * r * r), ny = (size_t)(n * k * t.d.oh * t.d.ow);
    t.x = random_doubles(nx, 1, "x");
    t.w = random_doubles(nw, 1, "w");
    double *g = random_doubles(ny, 1, "g"), *dx = calloc(nx, sizeof *dx), *dw = calloc(nw, sizeof *dw);
    nnb_ref_conv_backward(&t.d, t.x, t.w, g, dx, dw, t.work);
    char what[96];
    snprintf(what, sizeof what, "conv %lldx%lld s%lld p%lld on %lldx%lld dx", (long long)r, (long long)r,
             (long long)stride, (long long)pad, (long long)h, (long long)w);
    check_fd(what, conv_f, &t, t.x, dx, nx, g, ny, 1e-6, 1e-6);
    strcat(what, "/dw");
    check_fd(what, conv_f, &t, t.w, dw, nw, g, ny, 1e-6, 1e-6);
    /* dx accumulates: a second backward doubles it. */
    double first = dx[nx / 2];
    nnb_ref_conv_backward(&t.d, t.x, t.w, g, dx, dw, t.work);
    CHECK_NEAR(dx[nx / 2], 2 * first, 1e-12 * fabs(first) + 1e-300);
    free(t.x), free(t.w), free(t.work), free(g), free(dx), free(dw);
}

/* ---- batch norm (training) ---- */
typedef struct bn_ctx {
    int64_t n, c, hw;
    double *x, *gamma, *beta, mean[8], invstd[8];
} bn_ctx;
static void bn_f(void *p, double *y) {
    bn_ctx *t = p;
    nnb_ref_bn_forward(t->n, t->c, t->hw, t->x, t->gamma, t->beta, 1e-5, 0.1, NULL, NULL, t->mean, t->invstd, y);
}

static void check_bn(void) {
    bn_ctx t = {3, 2, 5, NULL, NULL, NULL, {0}, {0}};
    size_t nx = 30;
    t.x = random_doubles(nx, 2, "x");
    t.gamma = random_doubles(2, 2, "gamma");
    t.beta = random_doubles(2, 2, "beta");
    double *g = random_doubles(nx, 2, "g"), *y = calloc(nx, sizeof *y), *dx = calloc(nx, sizeof *dx);
    double dgamma[2], dbeta[2], rm[2] = {0.5, -1}, rv[2] = {2, 1};
    nnb_ref_bn_forward(t.n, t.c, t.hw, t.x, t.gamma, t.beta, 1e-5, 0.1, rm, rv, t.mean, t.invstd, y);
    nnb_ref_bn_backward(t.n, t.c, t.hw, t.x, t.gamma, t.mean, t.invstd, g, dx, dgamma, dbeta);
    check_fd("bn train dx", bn_f, &t, t.x, dx, nx, g, nx, 1e-6, 1e-6);
    check_fd("bn train dgamma", bn_f, &t, t.gamma, dgamma, 2, g, nx, 1e-6, 1e-6);
    check_fd("bn train dbeta", bn_f, &t, t.beta, dbeta, 2, g, nx, 1e-6, 1e-6);
    /* Running statistics, channel 1, computed here independently: momentum 0.1, unbiased variance. */
    double s = 0, ss = 0;
    for (int i = 0; i < 3; i++)
        for (int j = 0; j < 5; j++)
            s += t.x[(i * 2 + 1) * 5 + j];
    double mean = s / 15;
    for (int i = 0; i < 3; i++)
        for (int j = 0; j < 5; j++)
            ss += pow(t.x[(i * 2 + 1) * 5 + j] - mean, 2);
    CHECK_NEAR(rm[1], 0.9 * -1 + 0.1 * mean, 1e-12);
    CHECK_NEAR(rv[1], 0.9 * 1 + 0.1 * ss / 14, 1e-12);
    CHECK_NEAR(t.invstd[1], 1 / sqrt(ss / 15 + 1e-5), 1e-9);
    free(t.x), free(t.gamma), free(t.beta), free(g), free(y), free(dx);
}

/* ---- max pool, avg pool, relu, linear ---- */
typedef struct pool_ctx {
    int64_t n, c, h, w, oh, ow;
    double *x;
} pool_ctx;
static void maxpool_f(void *p, double *y) {
    pool_ctx *t = p;
    nnb_ref_maxpool_forward(t->n, t->c, t->h, t->w, 3, 2, 1, t->oh, t->ow, t->x, y);
}
static void avgpool_f(void *p, double *y) {
    pool_ctx *t = p;
    nnb_ref_avgpool_forward(t->n, t->c, t->h * t->w, t->x, y);
}
static void relu_f(void *p, double *y) {
    pool_ctx *t = p;
    nnb_ref_relu_forward((size_t)(t->n * t->c * t->h * t->w), t->x, y);
}

static void check_pooling_and_relu(void) {
    pool_ctx t = {2, 3, 7, 6, 4, 3, NULL}; /* odd height: the last window hangs over the padding */
    size_t nx = 2 * 3 * 7 * 6, ny = 2 * 3 * 4 * 3;
    t.x = random_doubles(nx, 3, "x"); /* continuous draws: no ties, no zeros */
    double *g = random_doubles(nx, 3, "g"), *dx = calloc(nx, sizeof *dx);
    nnb_ref_maxpool_backward(t.n, t.c, t.h, t.w, 3, 2, 1, t.oh, t.ow, t.x, g, dx);
    check_fd("maxpool 3x3 s2 p1 dx", maxpool_f, &t, t.x, dx, nx, g, ny, 1e-6, 1e-6);
    memset(dx, 0, nx * sizeof *dx);
    nnb_ref_avgpool_backward(t.n, t.c, t.h * t.w, g, dx);
    check_fd("global avgpool dx", avgpool_f, &t, t.x, dx, nx, g, 6, 1e-6, 1e-6);
    memset(dx, 0, nx * sizeof *dx);
    nnb_ref_relu_backward(nx, t.x, g, dx);
    check_fd("relu dx", relu_f, &t, t.x, dx, nx, g, nx, 1e-6, 1e-6);
    free(t.x), free(g), free(dx);
}

typedef struct linear_ctx {
    double *x, *w, *b;
} linear_ctx;
static void linear_f(void *p, double *y) {
    linear_ctx *t = p;
    nnb_ref_linear_forward(3, 5, 4, t->x, t->w, t->b, y);
}

static void check_linear(void) {
    linear_ctx t = {random_doubles(15, 4, "x"), random_doubles(20, 4, "w"), random_doubles(4, 4, "b")};
    double *g = random_doubles(12, 4, "g"), dx[15] = {0}, dw[20], db[4];
    nnb_ref_linear_backward(3, 5, 4, t.x, t.w, g, dx, dw, db);
    check_fd("linear dx", linear_f, &t, t.x, dx, 15, g, 12, 1e-6, 1e-6);
    check_fd("linear dw", linear_f, &t, t.w, dw, 20, g, 12, 1e-6, 1e-6);
    check_fd("linear db", linear_f, &t, t.b, db, 4, g, 12, 1e-6, 1e-6);
    free(t.x), free(t.w), free(t.b), free(g);
}

/* ---- whole network: directional derivatives ----
 * Along a random direction v over a set of tensors, (L(t + h v) - L(t - h v)) / 2h must equal sum(grad * v).
 * A random v makes any wrong gradient element show up (barring a measure-zero coincidence). The step is
 * tiny (1e-9) because with BatchNorm over 8 values per channel the network bends sharply (gradients up to
 * 1e7): ReLU and max-pool kinks within a larger step gave 2-15% differences on resnet50 at steps 1e-7 and
 * 1e-8, converging to the analytic value as the step shrinks (1e-9 and 1e-10 agree within 1e-5); rounding
 * at 1e-9 is ~1e-16 * |L| / 1e-9, orders below the 1e-5 * sum |grad v| tolerance. */
typedef enum { DIR_X, DIR_CONV_AND_FC, DIR_BN, DIR_ALL } direction_kind;

static int in_direction(const nnb_resnet_param *p, direction_kind kind) {
    if (!p->learnable)
        return 0;
    if (kind == DIR_ALL)
        return 1;
    if (kind == DIR_BN)
        return p->kind == NNB_RESNET_BN_WEIGHT || p->kind == NNB_RESNET_BN_BIAS;
    return kind == DIR_CONV_AND_FC && !(p->kind == NNB_RESNET_BN_WEIGHT || p->kind == NNB_RESNET_BN_BIAS);
}

static double net_loss(nnb_cnn_ref_net *net, const double *g) {
    const nnb_resnet_arch *a = net->arch;
    nnb_cnn_ref_net_forward(net);
    return dot(net->acts[a->num_acts - 1], g, nnb_resnet_shape_count(a->acts[a->num_acts - 1]));
}

/* Moves x or the selected parameters by t * v (v packed as x followed by params). */
static void move(nnb_cnn_ref_net *net, const double *v, double t, direction_kind kind) {
    const nnb_resnet_arch *a = net->arch;
    size_t nx = nnb_resnet_shape_count(a->acts[0]);
    if (kind == DIR_X || kind == DIR_ALL)
        for (size_t i = 0; i < nx; i++)
            net->acts[0][i] += t * v[i];
    for (int p = 0; p < a->num_params; p++)
        if (in_direction(&a->params[p], kind))
            for (size_t i = a->params[p].offset; i < a->params[p].offset + a->params[p].count; i++)
                net->params[i] += t * v[nx + i];
}

static void check_direction(nnb_cnn_ref_net *net, const double *g, const double *v, const double *dx,
                            const double *grads, direction_kind kind, const char *what) {
    const nnb_resnet_arch *a = net->arch;
    size_t nx = nnb_resnet_shape_count(a->acts[0]);
    double an = 0, scale = 0; /* sum(grad * v) and sum |grad * v| */
    if (kind == DIR_X || kind == DIR_ALL)
        for (size_t i = 0; i < nx; i++)
            an += dx[i] * v[i], scale += fabs(dx[i] * v[i]);
    for (int p = 0; p < a->num_params; p++)
        if (in_direction(&a->params[p], kind))
            for (size_t i = a->params[p].offset; i < a->params[p].offset + a->params[p].count; i++)
                an += grads[i] * v[nx + i], scale += fabs(grads[i] * v[nx + i]);
    const double step = 1e-9;
    move(net, v, step, kind);
    double lp = net_loss(net, g);
    move(net, v, -2 * step, kind);
    double lm = net_loss(net, g);
    move(net, v, step, kind);
    double fd = (lp - lm) / (2 * step);
    CHECK_MSG(fabs(fd - an) <= 1e-5 * scale, "%s: fd %.9g analytic %.9g (sum |grad v| %.3g)", what, fd, an, scale);
}

/* separate_directions: x, conv+fc, BN params each on its own (3 pairs of forwards), else one direction over all. */
static void check_network(int depth, int64_t batch, int64_t size, int separate_directions) {
    nnb_resnet_arch a;
    nnb_cnn_ref_net net;
    char err[256];
    CHECK(nnb_resnet_arch_build(&a, depth, batch, size, err, sizeof err) == 0);
    CHECK(nnb_cnn_ref_net_create(&net, &a, err, sizeof err) == 0);
    float *pf = nnb_alloc_floats(a.param_floats);
    size_t nx = nnb_resnet_shape_count(a.acts[0]), ng = (size_t)batch * NNB_RESNET_CLASSES;
    nnb_resnet_init_params(&a, pf, 5);
    for (size_t i = 0; i < a.param_floats; i++)
        net.params[i] = pf[i];
    /* Non-trivial BN gains/biases so every term of the BN gradients is exercised. */
    for (int p = 0; p < a.num_params; p++)
        if (a.params[p].kind == NNB_RESNET_BN_WEIGHT || a.params[p].kind == NNB_RESNET_BN_BIAS)
            for (size_t i = 0; i < a.params[p].count; i++)
                net.params[a.params[p].offset + i] += 0.1 * sin((double)(i + 7 * p));
    double *x = random_doubles(nx, 5, "x"), *g = random_doubles(ng, 5, "grad_logits");
    double *v = random_doubles(nx + a.param_floats, 5, "direction");
    memcpy(net.acts[0], x, nx * sizeof *x);
    nnb_cnn_ref_net_forward(&net);
    nnb_cnn_ref_net_backward(&net, g);
    double *dx = calloc(nx, sizeof *dx), *grads = calloc(a.param_floats, sizeof *grads);
    memcpy(dx, net.dacts[0], nx * sizeof *dx);
    memcpy(grads, net.grads, a.param_floats * sizeof *grads);
    char what[96];
    if (separate_directions) {
        snprintf(what, sizeof what, "resnet%d N=%lld S=%lld along x", depth, (long long)batch, (long long)size);
        check_direction(&net, g, v, dx, grads, DIR_X, what);
        snprintf(what, sizeof what, "resnet%d along conv and fc parameters", depth);
        check_direction(&net, g, v, dx, grads, DIR_CONV_AND_FC, what);
        snprintf(what, sizeof what, "resnet%d along bn gains and biases", depth);
        check_direction(&net, g, v, dx, grads, DIR_BN, what);
    } else {
        snprintf(what, sizeof what, "resnet%d N=%lld S=%lld along x and all parameters", depth, (long long)batch,
                 (long long)size);
        check_direction(&net, g, v, dx, grads, DIR_ALL, what);
    }
    free(x), free(g), free(v), free(dx), free(grads);
    nnb_free(pf);
    nnb_cnn_ref_net_free(&net);
    nnb_resnet_arch_free(&a);
}

int main(void) {
    check_conv(2, 3, 7, 6, 4, 3, 2, 1); /* 3x3 stride 2, padding, odd sizes */
    check_conv(2, 3, 5, 5, 2, 3, 1, 1);
    check_conv(1, 2, 7, 8, 3, 1, 2, 0); /* downsample 1x1 stride 2 */
    check_conv(1, 2, 9, 8, 2, 7, 2, 3); /* stem 7x7 stride 2 padding 3 */
    check_bn();
    check_pooling_and_relu();
    check_linear();
    check_network(18, 2, 33, 1); /* layer4 maps 2x2: 8 values per BN channel */
    check_network(50, 2, 33, 0); /* one direction over everything keeps the double-precision resnet50 cheap */
    return nnb_test_finish();
}
