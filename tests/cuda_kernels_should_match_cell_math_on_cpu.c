/*
 * The CUDA pointwise kernels' own source (kernels/cuda/lstm_pointwise.cuh),
 * compiled for the CPU through kernels/cuda/grid_shim.h, against
 *   (1) kernels/lstm_cell_math.h called in a plain loop (same float math), and
 *   (2) an independent double-precision cell: the forward written out here, and
 *       its gradients by central finite differences of that forward,
 * for the fused te and old kernels and the unfused one-op-per-pass chain, under
 * several launch geometries: partial last blocks, a capped grid that forces
 * grid-stride loops, several elements per thread.
 *
 * Tolerances: fused vs lstm_cell_math.h 1e-6 relative (same float formulas;
 * only the order of the two bias additions may differ); any variant vs the
 * double cell 2e-5 (float rounding of O(1) values, exp/tanh ulps); gradients
 * vs finite differences (eps 1e-5 in double, truncation error ~1e-10) 2e-5.
 * Every output starts as NaN, so an element a geometry forgets fails.
 */
#include "lstm_pointwise.cuh"
#include "test_support.h"

#include <stdlib.h>
#include <string.h>

static void expect_in(const char *msg, const char *needle) { CHECK_STR_CONTAINS(msg, needle); }

enum { VARIANT_TE = 0, VARIANT_OLD = 1, VARIANT_NONE = 2 };

enum { B = 5, H = 37, G = 4 * H, N = B * H };

typedef struct inputs {
    float pre[B * G]; /* (B, 4H) gate pre-activations (without biases) */
    float b_ih[G], b_hh[G];
    float c_prev[N]; /* (B, H) */
    float dy[N], dh_rec[N], dc_in[N];
} inputs;

static float uniform(unsigned *s, float lo, float hi) {
    *s = *s * 1664525u + 1013904223u;
    return lo + (hi - lo) * (float)(*s >> 8) / 16777216.0f;
}

static void make_inputs(inputs *in) {
    unsigned s = 12345;
    for (int e = 0; e < B * G; e++)
        in->pre[e] = uniform(&s, -3, 3);
    for (int e = 0; e < G; e++)
        in->b_ih[e] = uniform(&s, -0.5f, 0.5f), in->b_hh[e] = uniform(&s, -0.5f, 0.5f);
    for (int e = 0; e < N; e++) {
        in->c_prev[e] = uniform(&s, -2, 2);
        in->dy[e] = uniform(&s, -1, 1);
        in->dh_rec[e] = uniform(&s, -1, 1);
        in->dc_in[e] = uniform(&s, -1, 1);
    }
}

static void fill_nan(float *a, int n) {
    for (int e = 0; e < n; e++)
        a[e] = NAN;
}

/* ------------------------------------------------ independent double cell */

typedef struct dcell {
    double ai, af, ag, ao, c_prev;
} dcell;

static double dsig(double x) { return 1.0 / (1.0 + exp(-x)); }

static void dforward(const dcell *x, double *c, double *h) {
    *c = dsig(x->af) * x->c_prev + dsig(x->ai) * tanh(x->ag);
    *h = dsig(x->ao) * tanh(*c);
}

/* loss = dh * h + dc_in * c; gradient of field f by central differences. */
static double dloss(const dcell *x, double dh, double dc_in) {
    double c, h;
    dforward(x, &c, &h);
    return dh * h + dc_in * c;
}

static double fd_grad(const dcell *x0, int which, double dh, double dc_in) {
    const double eps = 1e-5;
    dcell p = *x0, m = *x0;
    double *fp[] = {&p.ai, &p.af, &p.ag, &p.ao, &p.c_prev}, *fm[] = {&m.ai, &m.af, &m.ag, &m.ao, &m.c_prev};
    *fp[which] += eps;
    *fm[which] -= eps;
    return (dloss(&p, dh, dc_in) - dloss(&m, dh, dc_in)) / (2 * eps);
}

static dcell cell_of(const inputs *in, int b, int j) {
    const float *p = in->pre + b * G;
    dcell x = {(double)p[j] + in->b_ih[j] + in->b_hh[j], (double)p[H + j] + in->b_ih[H + j] + in->b_hh[H + j],
               (double)p[2 * H + j] + in->b_ih[2 * H + j] + in->b_hh[2 * H + j],
               (double)p[3 * H + j] + in->b_ih[3 * H + j] + in->b_hh[3 * H + j], in->c_prev[b * H + j]};
    return x;
}

/* ------------------------------------------------------------------ runs */

typedef struct result {
    float gates[B * G], c[N], h[N]; /* forward */
    float dgates[B * G], dc[N];     /* backward */
} result;

static float scratch[3 * N];

static void run_variant(int variant, const nnb_pw_geometry *geo, const inputs *in, result *r) {
    memcpy(r->gates, in->pre, sizeof r->gates);
    fill_nan(r->c, N);
    fill_nan(r->h, N);
    fill_nan(r->dgates, B * G);
    if (variant == VARIANT_NONE)
        nnb_lstm_fwd_unfused(geo, NULL, r->gates, in->b_ih, in->b_hh, in->c_prev, r->c, r->h, scratch, B, H);
    else
        nnb_launch_lstm_fwd(variant, geo, NULL, r->gates, in->b_ih, in->b_hh, in->c_prev, r->c, r->h, B, H);
    memcpy(r->dc, in->dc_in, sizeof r->dc);
    if (variant == VARIANT_NONE)
        nnb_lstm_bwd_unfused(geo, NULL, r->gates, in->c_prev, r->c, in->dy, in->dh_rec, r->dc, r->dgates, scratch, B,
                             H);
    else
        nnb_launch_lstm_bwd(variant, geo, NULL, r->gates, in->c_prev, r->c, in->dy, in->dh_rec, r->dc, r->dgates, B, H);
}

static const char *variant_name(int v) { return v == VARIANT_TE ? "te" : v == VARIANT_OLD ? "old" : "none"; }

static double rel(double got, double want) { return fabs(got - want) / (fabs(want) > 1.0 ? fabs(want) : 1.0); }

/* (1) Same float math: lstm_cell_math.h in a plain loop. */
static void check_against_cell_math(int v, const nnb_pw_geometry *geo, const inputs *in, const result *r) {
    double worst_f = 0, worst_b = 0;
    int finite = 1;
    for (int b = 0; b < B; b++)
        for (int j = 0; j < H; j++) {
            const float *p = in->pre + b * G;
            float ai = p[j] + (in->b_ih[j] + in->b_hh[j]), af = p[H + j] + (in->b_ih[H + j] + in->b_hh[H + j]);
            float ag = p[2 * H + j] + (in->b_ih[2 * H + j] + in->b_hh[2 * H + j]);
            float ao = p[3 * H + j] + (in->b_ih[3 * H + j] + in->b_hh[3 * H + j]);
            float c, h;
            int e = b * H + j;
            nnb_lstm_cell_fwdf(&ai, &af, &ag, &ao, in->c_prev[e], &c, &h);
            float acts[4] = {ai, af, ag, ao}, d[4], dcp;
            nnb_lstm_cell_bwdf(ai, af, ag, ao, in->c_prev[e], c, in->dy[e] + in->dh_rec[e], in->dc_in[e], &d[0], &d[1],
                               &d[2], &d[3], &dcp);
            double fw[] = {rel(r->c[e], c), rel(r->h[e], h)};
            for (int q = 0; q < 2; q++)
                worst_f = fw[q] > worst_f ? fw[q] : worst_f;
            for (int q = 0; q < 4; q++) {
                double ef = rel(r->gates[b * G + q * H + j], acts[q]), eb = rel(r->dgates[b * G + q * H + j], d[q]);
                worst_f = ef > worst_f ? ef : worst_f;
                worst_b = eb > worst_b ? eb : worst_b;
                finite &= isfinite(r->gates[b * G + q * H + j]) && isfinite(r->dgates[b * G + q * H + j]);
            }
            double ec = rel(r->dc[e], dcp);
            worst_b = ec > worst_b ? ec : worst_b;
            finite &= isfinite(r->c[e]) && isfinite(r->h[e]) && isfinite(r->dc[e]);
        }
    double tol = v == VARIANT_NONE ? 2e-5 : 1e-6; /* unfused: per-op rounding differs from the fused formula */
    CHECK_MSG(finite, "%s (block %d, cap %d, loop %d): an element was not written (NaN left)", variant_name(v),
              geo->block_size, geo->block_count, geo->loop_level);
    CHECK_MSG(worst_f <= tol, "%s (block %d, cap %d, loop %d): forward vs lstm_cell_math.h rel err %.3g > %.1g",
              variant_name(v), geo->block_size, geo->block_count, geo->loop_level, worst_f, tol);
    CHECK_MSG(worst_b <= tol, "%s (block %d, cap %d, loop %d): backward vs lstm_cell_math.h rel err %.3g > %.1g",
              variant_name(v), geo->block_size, geo->block_count, geo->loop_level, worst_b, tol);
}

/* (2) Independent double cell and finite-difference gradients. */
static void check_against_double(int v, const nnb_pw_geometry *geo, const inputs *in, const result *r) {
    double worst_f = 0, worst_b = 0;
    for (int b = 0; b < B; b++)
        for (int j = 0; j < H; j++) {
            int e = b * H + j;
            dcell x = cell_of(in, b, j);
            double c, h;
            dforward(&x, &c, &h);
            double acts[4] = {dsig(x.ai), dsig(x.af), tanh(x.ag), dsig(x.ao)};
            double fw[] = {rel(r->c[e], c), rel(r->h[e], h)};
            for (int q = 0; q < 2; q++)
                worst_f = fw[q] > worst_f ? fw[q] : worst_f;
            double dh = (double)in->dy[e] + in->dh_rec[e];
            for (int q = 0; q < 4; q++) {
                double ef = rel(r->gates[b * G + q * H + j], acts[q]);
                double eb = rel(r->dgates[b * G + q * H + j], fd_grad(&x, q, dh, in->dc_in[e]));
                worst_f = ef > worst_f ? ef : worst_f;
                worst_b = eb > worst_b ? eb : worst_b;
            }
            double ec = rel(r->dc[e], fd_grad(&x, 4, dh, in->dc_in[e]));
            worst_b = ec > worst_b ? ec : worst_b;
        }
    CHECK_MSG(worst_f <= 2e-5, "%s (block %d, cap %d, loop %d): forward vs double cell rel err %.3g", variant_name(v),
              geo->block_size, geo->block_count, geo->loop_level, worst_f);
    CHECK_MSG(worst_b <= 2e-5, "%s (block %d, cap %d, loop %d): backward vs finite differences rel err %.3g",
              variant_name(v), geo->block_size, geo->block_count, geo->loop_level, worst_b);
}

static void check_geometry_validation(void) {
    nnb_pw_geometry g;
    char err[256];
    CHECK(nnb_pw_geometry_from_config(&g, 0, 0, 0, err, sizeof err) == 0 && g.block_size == NNB_PW_DEFAULT_BLOCK_SIZE &&
          g.loop_level == NNB_PW_DEFAULT_LOOP_LEVEL && g.block_count == 0);
    CHECK(nnb_pw_geometry_from_config(&g, 48, 0, 0, err, sizeof err) != 0);
    expect_in(err, "multiple of 32");
    CHECK(nnb_pw_geometry_from_config(&g, 2048, 0, 0, err, sizeof err) != 0);
    CHECK(nnb_pw_geometry_from_config(&g, 16, 0, 0, err, sizeof err) != 0);
    CHECK(nnb_pw_geometry_from_config(&g, 128, -1, 0, err, sizeof err) != 0);
    CHECK(nnb_pw_geometry_from_config(&g, 128, 0, 65, err, sizeof err) != 0);
    CHECK(nnb_pw_geometry_from_config(&g, 128, 0, -2, err, sizeof err) != 0);
    CHECK(nnb_pw_geometry_from_config(&g, 1024, 7, 64, err, sizeof err) == 0);
    /* blocks: ceil(n / (block * loop)), capped */
    nnb_pw_geometry a = {32, 0, 1}, c = {32, 2, 1}, l = {64, 0, 3};
    CHECK(nnb_pw_blocks(&a, 185) == 6);
    CHECK(nnb_pw_blocks(&c, 185) == 2);
    CHECK(nnb_pw_blocks(&l, 185) == 1);
    CHECK(nnb_pw_blocks(&a, 0) == 1);
}

int main(void) {
    static inputs in;
    static result r;
    make_inputs(&in);
    /* B*H = 185 cells, H = 37 units per row. */
    const nnb_pw_geometry geos[] = {
        {NNB_PW_DEFAULT_BLOCK_SIZE, 0, 1}, /* one partial block */
        {32, 0, 1},                        /* 6 blocks, the last partial */
        {32, 1, 1},                        /* one block: grid-stride over 6 block-widths */
        {64, 2, 3},                        /* capped grid and 3 elements per thread */
        {32, 3, 5},                        /* loop level that does not divide the rows */
        {1024, 0, 2},                      /* a block far larger than the work */
    };
    for (int v = VARIANT_TE; v <= VARIANT_NONE; v++)
        for (size_t gi = 0; gi < sizeof geos / sizeof *geos; gi++) {
            run_variant(v, &geos[gi], &in, &r);
            check_against_cell_math(v, &geos[gi], &in, &r);
            check_against_double(v, &geos[gi], &in, &r);
        }
    check_geometry_validation();
    return nnb_test_finish();
}
