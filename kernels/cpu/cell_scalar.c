/* Scalar LSTM cell passes (fused and one-pass-per-op) and the ISA dispatch of
 * the vector ones. Per-element math: kernels/lstm_cell_math.h. */
#include "gemm_internal.h"
#include "lstm_cell_math.h"

#include <stddef.h>

/* ---------------------------------------------------------------- dispatch */

#define DISPATCH(isa, fn, ...)                                                                                         \
    do {                                                                                                               \
        switch (isa) {                                                                                                 \
        case NNB_ISA_AVX512: fn##_avx512(__VA_ARGS__); break;                                                          \
        case NNB_ISA_AVX2: fn##_avx2(__VA_ARGS__); break;                                                              \
        default: fn##_generic(__VA_ARGS__); break;                                                                     \
        }                                                                                                              \
    } while (0)

void nnb_vexpf(nnb_cpu_isa isa, const float *x, float *y, int64_t n) { DISPATCH(isa, nnb_vexpf, x, y, n); }
void nnb_vtanhf(nnb_cpu_isa isa, const float *x, float *y, int64_t n) { DISPATCH(isa, nnb_vtanhf, x, y, n); }
void nnb_vsigmoidf(nnb_cpu_isa isa, const float *x, float *y, int64_t n) { DISPATCH(isa, nnb_vsigmoidf, x, y, n); }

void nnb_cell_fwd_vector(nnb_cpu_isa isa, const nnb_cell_fwd_args *a, int64_t j0, int64_t j1) {
    DISPATCH(isa, nnb_cell_fwd_vector, a, j0, j1);
}

void nnb_cell_bwd_vector(nnb_cpu_isa isa, const nnb_cell_bwd_args *a, int64_t j0, int64_t j1) {
    DISPATCH(isa, nnb_cell_bwd_vector, a, j0, j1);
}

/* ---------------------------------------------------------------- scalar fused */

static float pre_activation(const nnb_cell_fwd_args *a, int64_t r, int64_t col) {
    int64_t G = 4 * a->H;
    float v = a->gates[r * G + col];
    if (a->gates_add)
        v += a->gates_add[r * G + col];
    if (a->bias0)
        v += a->bias0[col];
    if (a->bias1)
        v += a->bias1[col];
    return v;
}

void nnb_cell_fwd_scalar(const nnb_cell_fwd_args *a, int64_t j0, int64_t j1) {
    const int64_t H = a->H, G = 4 * H;
    for (int64_t r = 0; r < a->rows; r++) {
        float *gr = a->gates + r * G;
        for (int64_t j = j0; j < j1; j++) {
            float gi = pre_activation(a, r, j), gf = pre_activation(a, r, H + j);
            float gg = pre_activation(a, r, 2 * H + j), go = pre_activation(a, r, 3 * H + j);
            nnb_lstm_cell_fwdf(&gi, &gf, &gg, &go, a->c_prev[r * H + j], &a->c[r * H + j], &a->h[r * H + j]);
            gr[j] = gi;
            gr[H + j] = gf;
            gr[2 * H + j] = gg;
            gr[3 * H + j] = go;
        }
    }
}

void nnb_cell_bwd_scalar(const nnb_cell_bwd_args *a, int64_t j0, int64_t j1) {
    const int64_t H = a->H, G = 4 * H;
    for (int64_t r = 0; r < a->rows; r++) {
        const float *ar = a->act + r * G;
        float *dg = a->dgates + r * G;
        for (int64_t j = j0; j < j1; j++) {
            int64_t e = r * H + j;
            float dh = (a->dh0 ? a->dh0[e] : 0.0f) + (a->dh1 ? a->dh1[e] : 0.0f);
            float dc_in = a->dc_in ? a->dc_in[e] : 0.0f;
            nnb_lstm_cell_bwdf(ar[j], ar[H + j], ar[2 * H + j], ar[3 * H + j], a->c_prev[e], a->c[e], dh, dc_in, &dg[j],
                               &dg[H + j], &dg[2 * H + j], &dg[3 * H + j], &a->dc_prev[e]);
        }
    }
}

/* ---------------------------------------------------------------- one pass per op */

/* Each helper is one pass over rows x [j0, j1) of a column block. */
#define FOR_BLOCK(rows, j0, j1)                                                                                        \
    for (int64_t r = 0; r < (rows); r++)                                                                               \
        for (int64_t j = (j0); j < (j1); j++)

static void add_rows(float *y, int64_t ldy, const float *x, int64_t ldx, int64_t rows, int64_t j0, int64_t j1) {
    FOR_BLOCK(rows, j0, j1) y[r * ldy + j] += x[r * ldx + j];
}

static void add_bias(float *y, int64_t ldy, const float *b, int64_t rows, int64_t j0, int64_t j1) {
    FOR_BLOCK(rows, j0, j1) y[r * ldy + j] += b[j];
}

static void apply_sigmoid(float *y, int64_t ldy, int64_t rows, int64_t j0, int64_t j1) {
    FOR_BLOCK(rows, j0, j1) y[r * ldy + j] = nnb_sigmoidf(y[r * ldy + j]);
}

static void apply_tanh(float *y, int64_t ldy, const float *x, int64_t ldx, int64_t rows, int64_t j0, int64_t j1) {
    FOR_BLOCK(rows, j0, j1) y[r * ldy + j] = nnb_tanhf(x[r * ldx + j]);
}

/* y = a * b (elementwise) */
static void mul(float *y, int64_t ldy, const float *a, int64_t lda, const float *b, int64_t ldb, int64_t rows,
                int64_t j0, int64_t j1) {
    FOR_BLOCK(rows, j0, j1) y[r * ldy + j] = a[r * lda + j] * b[r * ldb + j];
}

void nnb_cell_fwd_unfused(const nnb_cell_fwd_args *a, int64_t j0, int64_t j1) {
    const int64_t H = a->H, G = 4 * H, n = a->rows;
    float *g = a->gates;
    for (int k = 0; k < 4; k++)
        if (a->gates_add)
            add_rows(g, G, a->gates_add, G, n, k * H + j0, k * H + j1);
    for (int k = 0; k < 4; k++)
        if (a->bias0)
            add_bias(g, G, a->bias0, n, k * H + j0, k * H + j1);
    for (int k = 0; k < 4; k++)
        if (a->bias1)
            add_bias(g, G, a->bias1, n, k * H + j0, k * H + j1);
    apply_sigmoid(g, G, n, j0, j1);                    /* i */
    apply_sigmoid(g, G, n, H + j0, H + j1);            /* f */
    apply_tanh(g, G, g, G, n, 2 * H + j0, 2 * H + j1); /* g */
    apply_sigmoid(g, G, n, 3 * H + j0, 3 * H + j1);    /* o */
    mul(a->c, H, g + H, G, a->c_prev, H, n, j0, j1);   /* c = f * c_prev */
    mul(a->h, H, g, G, g + 2 * H, G, n, j0, j1);       /* h = i * g (temporary) */
    add_rows(a->c, H, a->h, H, n, j0, j1);             /* c += i * g */
    apply_tanh(a->h, H, a->c, H, n, j0, j1);           /* h = tanh(c) */
    mul(a->h, H, g + 3 * H, G, a->h, H, n, j0, j1);    /* h = o * tanh(c) */
}

/* y = y * d(act) where d is the activation's derivative from its output. */
static void mul_sigmoid_grad(float *y, int64_t ldy, const float *s, int64_t lds, int64_t rows, int64_t j0, int64_t j1) {
    FOR_BLOCK(rows, j0, j1) y[r * ldy + j] *= s[r * lds + j] * (1.0f - s[r * lds + j]);
}

static void mul_tanh_grad(float *y, int64_t ldy, const float *t, int64_t ldt, int64_t rows, int64_t j0, int64_t j1) {
    FOR_BLOCK(rows, j0, j1) y[r * ldy + j] *= 1.0f - t[r * ldt + j] * t[r * ldt + j];
}

void nnb_cell_bwd_unfused(const nnb_cell_bwd_args *a, int64_t j0, int64_t j1) {
    const int64_t H = a->H, G = 4 * H, n = a->rows, W2 = 2 * H;
    const float *act = a->act;
    float *dg = a->dgates, *tc = a->ws, *dc = a->ws + H; /* ws rows: [tanh(c) | dc] */
    float *dh = dg + 3 * H;                              /* dh lives in the o block until dao replaces it */
    apply_tanh(tc, W2, a->c, H, n, j0, j1);
    FOR_BLOCK(n, j0, j1) dh[r * G + j] = 0.0f;
    if (a->dh0)
        add_rows(dh, G, a->dh0, H, n, j0, j1);
    if (a->dh1)
        add_rows(dh, G, a->dh1, H, n, j0, j1);
    mul(dc, W2, dh, G, act + 3 * H, G, n, j0, j1); /* dc = dh * o */
    mul_tanh_grad(dc, W2, tc, W2, n, j0, j1);      /* dc *= 1 - tanh(c)^2 */
    if (a->dc_in)
        add_rows(dc, W2, a->dc_in, H, n, j0, j1);
    mul(dg, G, dc, W2, act + 2 * H, G, n, j0, j1); /* dai = dc * g */
    mul_sigmoid_grad(dg, G, act, G, n, j0, j1);
    mul(dg + H, G, dc, W2, a->c_prev, H, n, j0, j1); /* daf = dc * c_prev */
    mul_sigmoid_grad(dg + H, G, act + H, G, n, j0, j1);
    mul(dg + 2 * H, G, dc, W2, act, G, n, j0, j1); /* dag = dc * i */
    mul_tanh_grad(dg + 2 * H, G, act + 2 * H, G, n, j0, j1);
    mul(dh, G, dh, G, tc, W2, n, j0, j1); /* dao = dh * tanh(c) */
    mul_sigmoid_grad(dh, G, act + 3 * H, G, n, j0, j1);
    mul(a->dc_prev, H, dc, W2, act + H, G, n, j0, j1); /* dc_prev = dc * f */
}
