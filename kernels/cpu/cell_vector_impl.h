/*
 * Vector exp / tanh / sigmoid and the fused LSTM cell passes, written once with
 * GCC vector extensions (16 floats) and compiled once per ISA: cell_avx512.c
 * (-mavx512f -mavx512dq -mfma), cell_avx2.c (-mavx2 -mfma), cell_generic.c
 * (default flags). Include with NNB_VEC_SFX defined. The cell formulas are
 * those of kernels/lstm_cell_math.h, in the same order of operations.
 *
 * exp(x): x = n ln2 + r, |r| <= ln2/2 (Cody-Waite, two-part ln2), e^r by its
 *   degree-7 Taylor polynomial (truncation < 6e-9 relative), times 2^n built in
 *   the exponent field. Inputs clamped to [-87.3, 88.3] so 2^n stays normal.
 * tanh(x): |x| < 0.5: odd Taylor series through x^17 (truncation < 1e-9
 *   relative); else 1 - 2 / (exp(2|x|) + 1) with |x| capped at 9 (tanh = 1 in
 *   float beyond); sign copied from x.
 * sigmoid(x) = 1 / (1 + exp(-x)).
 */
#include "gemm_internal.h"

#include <string.h>

#define CAT2(a, b) a##_##b
#define CAT(a, b) CAT2(a, b)
#define FN(name) CAT(name, NNB_VEC_SFX)

enum { W = 16 };
typedef float V __attribute__((vector_size(64)));
typedef int VI __attribute__((vector_size(64)));

static inline V splat(float s) { return (V){0} + s; }

/* Full vectors by a constant-size copy (one vector load or store); only a partial tail goes element by element.
 * A memcpy of variable size would be a libc call per vector: once, most of the cell's time. */
static inline V ld(const float *p, int w) {
    V v = {0};
    if (__builtin_expect(w == W, 1)) {
        memcpy(&v, p, sizeof v);
    } else {
        for (int i = 0; i < w; i++)
            v[i] = p[i];
    }
    return v;
}

static inline void st(float *p, V v, int w) {
    if (__builtin_expect(w == W, 1)) {
        memcpy(p, &v, sizeof v);
    } else {
        for (int i = 0; i < w; i++)
            p[i] = v[i];
    }
}

static inline V select(VI mask, V a, V b) { return (V)((mask & (VI)a) | (~mask & (VI)b)); }

static inline V vmin(V a, V b) { return select(a < b, a, b); }
static inline V vmax(V a, V b) { return select(a > b, a, b); }

static inline V vexp(V x) {
    const float log2e = 1.44269504088896341f, ln2_hi = 0.693359375f, ln2_lo = -2.12194440e-4f;
    const float round_magic = 12582912.0f; /* 1.5 * 2^23: adding it rounds to an integer */
    x = vmin(vmax(x, splat(-87.3f)), splat(88.3f));
    V t = x * log2e + round_magic;
    t = t - round_magic;
    V r = x - t * ln2_hi;
    r = r - t * ln2_lo;
    V p = splat(1.0f / 5040.0f);
    p = p * r + 1.0f / 720.0f;
    p = p * r + 1.0f / 120.0f;
    p = p * r + 1.0f / 24.0f;
    p = p * r + 1.0f / 6.0f;
    p = p * r + 0.5f;
    p = p * r + 1.0f;
    p = p * r + 1.0f;
    VI n = __builtin_convertvector(t, VI);
    V scale = (V)((n + 127) << 23);
    return p * scale;
}

static inline V vsigmoid(V x) { return 1.0f / (1.0f + vexp(-x)); }

static inline V vtanh(V x) {
    const VI sign_bit = (VI){0} + (int)0x80000000u;
    V ax = (V)((VI)x & ~sign_bit);
    V x2 = ax * ax;
    /* tanh Taylor coefficients of x^3 .. x^17 */
    V p = splat(6404582.0f / 10854718875.0f);
    p = p * x2 - 929569.0f / 638512875.0f;
    p = p * x2 + 21844.0f / 6081075.0f;
    p = p * x2 - 1382.0f / 155925.0f;
    p = p * x2 + 62.0f / 2835.0f;
    p = p * x2 - 17.0f / 315.0f;
    p = p * x2 + 2.0f / 15.0f;
    p = p * x2 - 1.0f / 3.0f;
    V small = ax + ax * (x2 * p);
    V e = vexp(2.0f * vmin(ax, splat(9.0f)));
    V large = 1.0f - 2.0f / (e + 1.0f);
    V mag = select(ax < 0.5f, small, large);
    return (V)((VI)mag | ((VI)x & sign_bit));
}

#define ARRAY_MAP(name, op)                                                                                            \
    void FN(name)(const float *x, float *y, int64_t n) {                                                               \
        for (int64_t e = 0; e < n; e += W) {                                                                           \
            int w = n - e < W ? (int)(n - e) : W;                                                                      \
            st(y + e, op(ld(x + e, w)), w);                                                                            \
        }                                                                                                              \
    }

ARRAY_MAP(nnb_vexpf, vexp)
ARRAY_MAP(nnb_vtanhf, vtanh)
ARRAY_MAP(nnb_vsigmoidf, vsigmoid)

/* Sum of the optional addends of one gate block. */
static inline V pre_activation(const nnb_cell_fwd_args *a, int64_t r, int64_t col, int w) {
    int64_t G = 4 * a->H;
    V v = ld(a->gates + r * G + col, w);
    if (a->gates_add)
        v += ld(a->gates_add + r * G + col, w);
    if (a->bias0)
        v += ld(a->bias0 + col, w);
    if (a->bias1)
        v += ld(a->bias1 + col, w);
    return v;
}

/* One vector of columns [j, j + w) of row r; always inlined so that full vectors (w == W, a constant) compile to
 * plain vector loads and stores with no width tests. */
static inline __attribute__((always_inline)) void cell_fwd_vec(const nnb_cell_fwd_args *a, int64_t r, int64_t j,
                                                               int w) {
    const int64_t H = a->H;
    float *gr = a->gates + r * 4 * H;
    V i = vsigmoid(pre_activation(a, r, j, w));
    V f = vsigmoid(pre_activation(a, r, H + j, w));
    V g = vtanh(pre_activation(a, r, 2 * H + j, w));
    V o = vsigmoid(pre_activation(a, r, 3 * H + j, w));
    V cn = f * ld(a->c_prev + r * H + j, w) + i * g;
    st(gr + j, i, w);
    st(gr + H + j, f, w);
    st(gr + 2 * H + j, g, w);
    st(gr + 3 * H + j, o, w);
    st(a->c + r * H + j, cn, w);
    st(a->h + r * H + j, o * vtanh(cn), w);
}

void FN(nnb_cell_fwd_vector)(const nnb_cell_fwd_args *a, int64_t j0, int64_t j1) {
    for (int64_t r = 0; r < a->rows; r++) {
        int64_t j = j0;
        for (; j + W <= j1; j += W)
            cell_fwd_vec(a, r, j, W);
        if (j < j1)
            cell_fwd_vec(a, r, j, (int)(j1 - j));
    }
}

void FN(nnb_cell_bwd_vector)(const nnb_cell_bwd_args *a, int64_t j0, int64_t j1) {
    const int64_t H = a->H, G = 4 * H;
    for (int64_t r = 0; r < a->rows; r++) {
        const float *ar = a->act + r * G;
        float *dg = a->dgates + r * G;
        for (int64_t j = j0; j < j1; j += W) {
            int w = j1 - j < W ? (int)(j1 - j) : W;
            int64_t e = r * H + j;
            V i = ld(ar + j, w), f = ld(ar + H + j, w), g = ld(ar + 2 * H + j, w), o = ld(ar + 3 * H + j, w);
            V cp = ld(a->c_prev + e, w), c = ld(a->c + e, w);
            V dh = splat(0.0f), dcin = splat(0.0f);
            if (a->dh0)
                dh += ld(a->dh0 + e, w);
            if (a->dh1)
                dh += ld(a->dh1 + e, w);
            if (a->dc_in)
                dcin = ld(a->dc_in + e, w);
            V tc = vtanh(c);
            V dc = dcin + dh * o * (1.0f - tc * tc);
            st(dg + j, dc * g * i * (1.0f - i), w);
            st(dg + H + j, dc * cp * f * (1.0f - f), w);
            st(dg + 2 * H + j, dc * i * (1.0f - g * g), w);
            st(dg + 3 * H + j, dh * tc * o * (1.0f - o), w);
            st(a->dc_prev + e, dc * f, w);
        }
    }
}
