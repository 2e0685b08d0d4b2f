/*
 * Vector exp / tanh / sigmoid and the fused LSTM cell passes, written once with
 * GCC vector extensions (16 floats) and compiled once per ISA: cell_avx512.c
 * (-mavx512f -mavx512dq -mfma), cell_avx2.c (-mavx2 -mfma), cell_generic.c
 * (default flags). Include with NNB_VEC_SFX defined. The cell formulas are
 * those of kernels/lstm_cell_math.h, in the same order of operations.
 *
 * exp(x): x = n ln2 + r, |r| <= ln2/2 (Cody-Waite, two-part ln2), e^r - 1 by
 *   its Taylor polynomial through r^7 (truncation < 2e-8 relative), plus 1, times
 *   2^n (vscalefps on AVX-512, the exponent field elsewhere). Inputs clamped to
 *   [-87.3, 88.3] so 2^n stays normal.
 * tanh(x) = E / (E + 2) with E = e^(2|x|) - 1 = 2^n (e^r - 1) + (2^n - 1): the
 *   same reduction and polynomial, and no cancellation near 0, so one formula
 *   and one division for every x; |x| capped at 9 (tanh = 1 in float beyond);
 *   sign copied from x.
 * sigmoid(x) = 1 / (1 + exp(-x)).
 * A NaN argument stays a NaN (min/max take it as their second operand).
 */
#include "gemm_internal.h"

#include <string.h>
#ifdef __AVX512F__
#include <immintrin.h>
#endif

#define CAT2(a, b) a##_##b
#define CAT(a, b) CAT2(a, b)
#define FN(name) CAT(name, NNB_VEC_SFX)

enum { W = 16 };
typedef float V __attribute__((vector_size(64)));
typedef int VI __attribute__((vector_size(64)));

static inline V splat(float s) { return (V){0} + s; }

/* Full vectors by a constant-size copy (one vector load or store); only a partial tail goes element by element.
 * (A memcpy of variable size compiles to a libc call per vector.) */
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

/* AVX-512 has single instructions for what the generic vector code spells with compares and masks: min, max (same
 * NaN rule: the second operand), the blend, and 2^n scaling. */
#ifdef __AVX512F__
static inline V vmin(V a, V b) { return (V)_mm512_min_ps((__m512)a, (__m512)b); }
static inline V vmax(V a, V b) { return (V)_mm512_max_ps((__m512)a, (__m512)b); }
/* x < c ? a : b */
static inline V select_lt(V x, float c, V a, V b) {
    return (V)_mm512_mask_blend_ps(_mm512_cmp_ps_mask((__m512)x, _mm512_set1_ps(c), _CMP_LT_OQ), (__m512)b, (__m512)a);
}
#else
static inline V vmin(V a, V b) { return select(a < b, a, b); }
static inline V vmax(V a, V b) { return select(a > b, a, b); }
static inline V select_lt(V x, float c, V a, V b) { return select(x < c, a, b); }
#endif

/* round(x) for |x| < 2^22 (ties to even), as a float. */
static inline V round_nearest(V x) {
#ifdef __AVX512F__
    return (V)_mm512_roundscale_ps((__m512)x, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
#else
    const float round_magic = 12582912.0f; /* 1.5 * 2^23: adding it rounds to an integer */
    return (x + round_magic) - round_magic;
#endif
}

/* p * 2^t for integral t with 2^t normal. */
static inline V scale_pow2(V p, V t) {
#ifdef __AVX512F__
    return (V)_mm512_scalef_ps((__m512)p, (__m512)t);
#else
    VI n = __builtin_convertvector(t, VI);
    return p * (V)((n + 127) << 23);
#endif
}

/* Cody-Waite reduction x = t ln2 + r, |r| <= ln2/2 (t integral); returns r. */
static inline V reduce_ln2(V x, V *t) {
    const float log2e = 1.44269504088896341f, ln2_hi = 0.693359375f, ln2_lo = -2.12194440e-4f;
    *t = round_nearest(x * log2e);
    V r = x - *t * ln2_hi;
    return r - *t * ln2_lo;
}

/* e^r - 1 for |r| <= ln2/2: r + r^2 (1/2 + r/6 + ... + r^5/5040), Taylor through r^7 (truncation < 2e-8 relative). */
static inline V expm1_reduced(V r) {
    V q = splat(1.0f / 5040.0f);
    q = q * r + 1.0f / 720.0f;
    q = q * r + 1.0f / 120.0f;
    q = q * r + 1.0f / 24.0f;
    q = q * r + 1.0f / 6.0f;
    q = q * r + 0.5f;
    return r + (r * r) * q;
}

static inline V vexp(V x) {
    x = vmin(splat(88.3f), vmax(splat(-87.3f), x)); /* x second: a NaN passes through */
    V t, r = reduce_ln2(x, &t);
    return scale_pow2(expm1_reduced(r) + 1.0f, t);
}

static inline V vsigmoid(V x) { return 1.0f / (1.0f + vexp(-x)); }

/* tanh|x| = E / (E + 2), E = e^(2|x|) - 1 = 2^t (e^r - 1) + (2^t - 1): no cancellation near 0, so one formula
 * for every x; |x| capped at 9 (tanh = 1 in float beyond); sign copied from x. */
static inline V vtanh(V x) {
    const VI sign_bit = (VI){0} + (int)0x80000000u;
    V ax = (V)((VI)x & ~sign_bit);
    V t, r = reduce_ln2(2.0f * vmin(splat(9.0f), ax), &t); /* ax second: a NaN passes through */
    V p2 = scale_pow2(splat(1.0f), t);
    V e = scale_pow2(expm1_reduced(r), t) + (p2 - 1.0f);
    V mag = e / (e + 2.0f);
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

/* The gate pre-activation: gates plus the optional addends. ADD, B0, B1 say which are present; the cell pass
 * dispatches once per call so that each loop body is compiled with them as constants (no per-vector tests). */
static inline __attribute__((always_inline)) V pre_activation(const nnb_cell_fwd_args *a, int64_t r, int64_t col, int w,
                                                              int ADD, int B0, int B1) {
    int64_t G = 4 * a->H;
    V v = ld(a->gates + r * G + col, w);
    if (ADD)
        v += ld(a->gates_add + r * G + col, w);
    if (B0)
        v += ld(a->bias0 + col, w);
    if (B1)
        v += ld(a->bias1 + col, w);
    return v;
}

/* One vector of columns [j, j + w) of row r; always inlined so that full vectors (w == W, a constant) compile to
 * plain vector loads and stores with no width tests. */
static inline __attribute__((always_inline)) void cell_fwd_vec(const nnb_cell_fwd_args *a, int64_t r, int64_t j, int w,
                                                               int ADD, int B0, int B1) {
    const int64_t H = a->H;
    float *gr = a->gates + r * 4 * H;
    V i = vsigmoid(pre_activation(a, r, j, w, ADD, B0, B1));
    V f = vsigmoid(pre_activation(a, r, H + j, w, ADD, B0, B1));
    V g = vtanh(pre_activation(a, r, 2 * H + j, w, ADD, B0, B1));
    V o = vsigmoid(pre_activation(a, r, 3 * H + j, w, ADD, B0, B1));
    V cn = f * ld(a->c_prev + r * H + j, w) + i * g;
    st(gr + j, i, w);
    st(gr + H + j, f, w);
    st(gr + 2 * H + j, g, w);
    st(gr + 3 * H + j, o, w);
    st(a->c + r * H + j, cn, w);
    st(a->h + r * H + j, o * vtanh(cn), w);
}

static inline __attribute__((always_inline)) void cell_fwd_rows(const nnb_cell_fwd_args *a, int64_t j0, int64_t j1,
                                                                int ADD, int B0, int B1) {
    for (int64_t r = 0; r < a->rows; r++) {
        int64_t j = j0;
        for (; j + W <= j1; j += W)
            cell_fwd_vec(a, r, j, W, ADD, B0, B1);
        if (j < j1)
            cell_fwd_vec(a, r, j, (int)(j1 - j), ADD, B0, B1);
    }
}

void FN(nnb_cell_fwd_vector)(const nnb_cell_fwd_args *a, int64_t j0, int64_t j1) {
    switch ((a->gates_add != NULL) << 2 | (a->bias0 != NULL) << 1 | (a->bias1 != NULL)) {
    case 0: cell_fwd_rows(a, j0, j1, 0, 0, 0); break;
    case 1: cell_fwd_rows(a, j0, j1, 0, 0, 1); break;
    case 2: cell_fwd_rows(a, j0, j1, 0, 1, 0); break;
    case 3: cell_fwd_rows(a, j0, j1, 0, 1, 1); break;
    case 4: cell_fwd_rows(a, j0, j1, 1, 0, 0); break;
    case 5: cell_fwd_rows(a, j0, j1, 1, 0, 1); break;
    case 6: cell_fwd_rows(a, j0, j1, 1, 1, 0); break;
    default: cell_fwd_rows(a, j0, j1, 1, 1, 1); break;
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
