/*
 * The double-precision reference LSTM's backward against central finite
 * differences of its own forward, on tiny shapes: a fixed-length 2-layer case
 * and three variable-length cases (1 and 2 layers; one wide enough for the
 * GEMM's register-blocked path). loss = sum(y * grad_y), with
 * grad_y non-zero everywhere, also past each length, so a gradient leaking
 * through an absent step would show.
 *
 * Every element of x, hx, cx and of every layer's w_ih, w_hh, b_ih, b_hh is
 * perturbed by +-EPS. Central differences err by O(EPS^2) ~ 1e-12 (truncation)
 * plus O(1e-16 * |loss| / EPS) ~ 1e-10 (rounding), so each element must satisfy
 *   |fd - analytic| <= 1e-6 * max(|analytic|, 1e-2)
 * (relative 1e-6, absolute 1e-8 near zero; observed: at most ~2% of that bound).
 */
#include "lstm_ref.h"
#include "nnb_support.h"
#include "test_support.h"

#include <stdlib.h>
#include <string.h>

#define EPS 1e-6
#define REL_TOL 1e-6
#define ABS_FLOOR 1e-2
#define MAX_LAYERS 2

typedef struct fd_case {
    const char *name;
    int64_t T, B, I, H, L;
    int64_t lengths[4]; /* all zero: fixed length */
} fd_case;

typedef struct problem {
    const fd_case *c;
    const int64_t *lengths;
    double *x, *hx, *cx, *grad_y; /* (T,B,I), (L,B,H) x2, (T,B,H) */
    double *w_ih[MAX_LAYERS], *w_hh[MAX_LAYERS], *b_ih[MAX_LAYERS], *b_hh[MAX_LAYERS]; /* per layer */
    double *y, *hy, *cy;                                                               /* (T,B,H), (L,B,H) x2 */
    double *dx, *dhx, *dcx;                                                            /* as x, hx, cx */
    double *dw_ih[MAX_LAYERS], *dw_hh[MAX_LAYERS], *db_ih[MAX_LAYERS], *db_hh[MAX_LAYERS];
    nnb_ref_lstm_d lstm;
} problem;

static double *random_array(size_t n, uint64_t seed, const char *name, double scale) {
    double *a = calloc(n, sizeof *a);
    nnb_rng r = nnb_rng_for(seed, name);
    for (size_t i = 0; i < n; i++)
        a[i] = scale * (2.0 * nnb_rng_uniform(&r) - 1.0);
    return a;
}

static void problem_init(problem *p, const fd_case *c) {
    memset(p, 0, sizeof *p);
    p->c = c;
    p->lengths = c->lengths[0] ? c->lengths : NULL;
    const size_t tbi = (size_t)(c->T * c->B * c->I), tbh = (size_t)(c->T * c->B * c->H),
                 lbh = (size_t)(c->L * c->B * c->H);
    const size_t g = 4 * (size_t)c->H;
    p->x = random_array(tbi, 1, "x", 1.0);
    p->hx = random_array(lbh, 1, "hx", 0.5);
    p->cx = random_array(lbh, 1, "cx", 0.5);
    p->grad_y = random_array(tbh, 1, "grad_y", 1.0);
    for (int64_t k = 0; k < c->L; k++) {
        size_t in = (size_t)(k == 0 ? c->I : c->H);
        char name[32];
        snprintf(name, sizeof name, "w_ih%lld", (long long)k), p->w_ih[k] = random_array(g * in, 1, name, 0.6);
        snprintf(name, sizeof name, "w_hh%lld", (long long)k),
            p->w_hh[k] = random_array(g * (size_t)c->H, 1, name, 0.6);
        snprintf(name, sizeof name, "b_ih%lld", (long long)k), p->b_ih[k] = random_array(g, 1, name, 0.3);
        snprintf(name, sizeof name, "b_hh%lld", (long long)k), p->b_hh[k] = random_array(g, 1, name, 0.3);
        p->dw_ih[k] = calloc(g * in, sizeof(double));
        p->dw_hh[k] = calloc(g * (size_t)c->H, sizeof(double));
        p->db_ih[k] = calloc(g, sizeof(double));
        p->db_hh[k] = calloc(g, sizeof(double));
    }
    p->y = calloc(tbh, sizeof(double));
    p->hy = calloc(lbh, sizeof(double));
    p->cy = calloc(lbh, sizeof(double));
    p->dx = calloc(tbi, sizeof(double));
    p->dhx = calloc(lbh, sizeof(double));
    p->dcx = calloc(lbh, sizeof(double));
    char err[256] = "";
    CHECK_MSG(nnb_ref_lstm_init_d(&p->lstm, c->T, c->B, c->I, c->H, c->L, p->lengths, err, sizeof err) == 0, "%s: %s",
              c->name, err);
}

static void problem_free(problem *p) {
    double *flat[] = {p->x, p->hx, p->cx, p->grad_y, p->y, p->hy, p->cy, p->dx, p->dhx, p->dcx};
    for (size_t i = 0; i < sizeof flat / sizeof *flat; i++)
        free(flat[i]);
    for (int k = 0; k < MAX_LAYERS; k++) {
        double *per_layer[] = {p->w_ih[k],  p->w_hh[k],  p->b_ih[k],  p->b_hh[k],
                               p->dw_ih[k], p->dw_hh[k], p->db_ih[k], p->db_hh[k]};
        for (size_t i = 0; i < sizeof per_layer / sizeof *per_layer; i++)
            free(per_layer[i]);
    }
    nnb_ref_lstm_free_d(&p->lstm);
}

static nnb_ref_lstm_params_d params_of(problem *p) {
    return (nnb_ref_lstm_params_d){p->w_ih, p->w_hh, p->b_ih, p->b_hh};
}

/* loss = sum(y * grad_y) after a forward pass. */
static double loss(problem *p) {
    nnb_ref_lstm_params_d params = params_of(p);
    nnb_ref_lstm_forward_d(&p->lstm, &params, p->x, p->hx, p->cx, p->y, p->hy, p->cy);
    double s = 0;
    for (int64_t i = 0; i < p->c->T * p->c->B * p->c->H; i++)
        s += p->y[i] * p->grad_y[i];
    return s;
}

static void analytic_gradients(problem *p) {
    nnb_ref_lstm_params_d params = params_of(p);
    nnb_ref_lstm_grads_d grads = {p->dw_ih, p->dw_hh, p->db_ih, p->db_hh};
    loss(p);
    CHECK(nnb_ref_lstm_backward_d(&p->lstm, &params, p->x, p->grad_y, p->dx, p->dhx, p->dcx, &grads) == 0);
}

/* Perturb every element of v (n) and compare the central difference with grad; returns the worst error ratio
 * |fd - grad| / (REL_TOL * max(|grad|, ABS_FLOOR)), which must be <= 1. */
static double check_tensor(problem *p, const char *name, double *v, const double *grad, size_t n) {
    double worst = 0, largest_grad = 0;
    int failures = 0;
    for (size_t i = 0; i < n; i++) {
        const double saved = v[i];
        v[i] = saved + EPS;
        const double up = loss(p);
        v[i] = saved - EPS;
        const double down = loss(p);
        v[i] = saved;
        const double fd = (up - down) / (2 * EPS);
        const double ratio = fabs(fd - grad[i]) / (REL_TOL * fmax(fabs(grad[i]), ABS_FLOOR));
        worst = fmax(worst, ratio);
        largest_grad = fmax(largest_grad, fabs(grad[i]));
        if (ratio > 1 && failures++ < 3)
            CHECK_MSG(0, "%s d%s[%zu]: analytic %.12g, finite difference %.12g", p->c->name, name, i, grad[i], fd);
    }
    CHECK_MSG(failures == 0, "%s d%s: %d of %zu elements off", p->c->name, name, failures, n);
    CHECK_MSG(largest_grad > 1e-3, "%s d%s is (nearly) zero everywhere: the check would be vacuous", p->c->name, name);
    return worst;
}

/* Gradient of x at absent steps must be exactly zero (no gradient through absent steps). */
static void check_absent_steps_have_no_gradient(const problem *p) {
    const fd_case *c = p->c;
    if (!p->lengths)
        return;
    int nonzero = 0;
    for (int64_t t = 0; t < c->T; t++)
        for (int64_t b = 0; b < c->B; b++)
            for (int64_t i = 0; i < c->I; i++)
                if (t >= p->lengths[b] && p->dx[(t * c->B + b) * c->I + i] != 0)
                    nonzero++;
    CHECK_MSG(nonzero == 0, "%s: %d dx elements non-zero past their sequence's length", c->name, nonzero);
}

static void run_case(const fd_case *c) {
    problem p;
    problem_init(&p, c);
    analytic_gradients(&p);
    check_absent_steps_have_no_gradient(&p);
    const size_t tbi = (size_t)(c->T * c->B * c->I), lbh = (size_t)(c->L * c->B * c->H), g = 4 * (size_t)c->H;
    double worst = 0;
    worst = fmax(worst, check_tensor(&p, "x", p.x, p.dx, tbi));
    worst = fmax(worst, check_tensor(&p, "hx", p.hx, p.dhx, lbh));
    worst = fmax(worst, check_tensor(&p, "cx", p.cx, p.dcx, lbh));
    for (int64_t k = 0; k < c->L; k++) {
        const size_t in = (size_t)(k == 0 ? c->I : c->H);
        char name[4][32];
        const char *fmt[4] = {"w_ih_l%lld", "w_hh_l%lld", "b_ih_l%lld", "b_hh_l%lld"};
        for (int q = 0; q < 4; q++)
            snprintf(name[q], sizeof name[q], fmt[q], (long long)k);
        worst = fmax(worst, check_tensor(&p, name[0], p.w_ih[k], p.dw_ih[k], g * in));
        worst = fmax(worst, check_tensor(&p, name[1], p.w_hh[k], p.dw_hh[k], g * (size_t)c->H));
        worst = fmax(worst, check_tensor(&p, name[2], p.b_ih[k], p.db_ih[k], g));
        worst = fmax(worst, check_tensor(&p, name[3], p.b_hh[k], p.db_hh[k], g));
    }
    printf("%-22s worst |fd - analytic| / tolerance = %.3g\n", c->name, worst);
    problem_free(&p);
}

/* The core refuses what it cannot compute, with a message, instead of reading out of bounds. */
static void check_bad_input_is_refused(void) {
    nnb_ref_lstm_d m;
    char err[256] = "";
    const int64_t zero_length[2] = {2, 0}, too_long[2] = {2, 4};
    CHECK(nnb_ref_lstm_init_d(&m, 0, 2, 3, 4, 1, NULL, err, sizeof err) != 0 && strstr(err, "positive"));
    err[0] = 0;
    CHECK(nnb_ref_lstm_init_d(&m, 3, 2, 3, 4, 1, zero_length, err, sizeof err) != 0 && strstr(err, "lengths[1]"));
    err[0] = 0;
    CHECK(nnb_ref_lstm_init_d(&m, 3, 2, 3, 4, 1, too_long, err, sizeof err) != 0 && strstr(err, "lengths[1]"));
    CHECK(nnb_ref_lstm_init_d(&m, 3, 2, 3, 4, 1, NULL, err, sizeof err) == 0);
    nnb_ref_lstm_params_d none = {NULL, NULL, NULL, NULL};
    nnb_ref_lstm_grads_d no_grads = {NULL, NULL, NULL, NULL};
    CHECK_MSG(nnb_ref_lstm_backward_d(&m, &none, NULL, NULL, NULL, NULL, NULL, &no_grads) != 0,
              "backward before forward must fail");
    nnb_ref_lstm_free_d(&m);
}

int main(void) {
    check_bad_input_is_refused();
    static const fd_case cases[] = {
        {"fixed T3 B2 I3 H4 L2", 3, 2, 3, 4, 2, {0}},
        {"variable T4 B3 I2 H3 L1", 4, 3, 2, 3, 1, {4, 2, 1}},
        {"variable T5 B3 I3 H2 L2", 5, 3, 3, 2, 2, {2, 5, 1}},
        /* 4H = 64 and 4-row multiples: exercises the GEMM's register-blocked path, not only its edge loops. */
        {"variable T3 B4 I5 H16 L2", 3, 4, 5, 16, 2, {3, 1, 2, 3}},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++)
        run_case(&cases[i]);
    return nnb_test_finish();
}
