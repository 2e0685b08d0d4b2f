/* Fast float engine of the CPU LSTM variants (see variants_fast.h). */
#include "variants_fast.h"

#include <math.h>

/* glibc's libmvec has SIMD versions of expf and tanhf, but glibc declares them
 * only under -ffast-math. Declaring them here (before the shared cell math is
 * included) lets the `omp simd` loops over that math call the vector versions
 * without fast-math anywhere. */
#if defined(__x86_64__) && defined(__GLIBC__) && defined(_OPENMP)
#pragma omp declare simd notinbranch
float expf(float);
#pragma omp declare simd notinbranch
float tanhf(float);
#define VECTOR_LIBM "glibc libmvec (expf, tanhf SIMD clones in omp simd loops)"
#define SIMD_LOOP _Pragma("omp simd")
#else
#define VECTOR_LIBM "none (scalar libm)"
#define SIMD_LOOP
#endif

#include "nnb_support.h"
#include "variants_cell.h"

#include <cblas.h>
#undef I /* <complex.h>'s imaginary unit, which cblas.h pulls in, clashes with our I (input size) */
#include <limits.h>
#include <math.h>
#include <string.h>

#ifdef _OPENMP
#define NNB_PRAGMA(x) _Pragma(#x)
#else
#define NNB_PRAGMA(x)
#endif
/* Rows of our passes across threads (when the engine is parallel). */
#define PARALLEL_ROWS(par) NNB_PRAGMA(omp parallel for if (par) schedule(static))

typedef struct fast_layer {
    int64_t in_size;
    const float *in;                 /* (T, B, in) layer input: x, the previous layer's h, or masked_in */
    float *masked_in;                /* (T, B, H) dropout applied (k >= 1 with a mask), else NULL */
    float *ai;                       /* (T, B, 4H) input projections; LayerNorm: xhat_i after the forward;
                                        plain cells: the gates (pre-activations, then activated) */
    float *ah;                       /* (T, B, 4H) LayerNorm: hidden projections, xhat_h after the forward */
    float *gates;                    /* (T, B, 4H) activated gates (aliases ai for plain cells) */
    float *h, *c;                    /* (T+1, B, H) states; row 0 holds hx, cx */
    float *xhat_c;                   /* (T, B, H) LayerNorm: raw cell state, then normalised in place */
    float *rstd_i, *rstd_h, *rstd_c; /* (T, B) LayerNorm 1/sqrt(var + eps) */
} fast_layer;

struct nnb_varfast {
    const nnb_varlstm_f *p;
    nnb_varfast_mode mode;
    int64_t T, B, H, G, L;
    fast_layer *layers;
    /* forward step scratch */
    float *ni, *nh;              /* (B, 4H) LN_i and LN_h outputs (when not fully fused) */
    float *tmp1, *tmp2;          /* (B, 4H) per-op temporaries */
    float *row_stat, *row_stat2; /* (B) decomposed LayerNorm row statistics */
    /* backward */
    float *da;                /* (T, B, 4H) gradient reaching the gates (LN_i + LN_h output / pre-activations) */
    float *dai, *dah;         /* (T, B, 4H) LayerNorm: gradients reaching the raw projections */
    float *dcn;               /* (T, B, H) LayerNorm: gradient reaching c' (LN_c's output) */
    float *dcraw;             /* (B, H) LayerNorm: gradient reaching the raw cell state */
    float *dh;                /* (B, H) gradient reaching h' at this step */
    float *dh_next, *dc_next; /* (B, H) gradients reaching the states from step t+1 */
    float *grad_a, *grad_b;   /* (T, B, max(I, H)) ping-pong: gradient reaching a layer's output / input */
};

/* ---------------------------------------------------------------- allocation */

static float *ws_alloc(int *failed, int64_t a, int64_t b, int64_t c) {
    size_t n;
    if (nnb_mul_size3(&n, (size_t)a, (size_t)b, (size_t)c)) {
        *failed = 1;
        return NULL;
    }
    float *p = nnb_alloc_floats(n);
    if (!p)
        *failed = 1;
    return p;
}

void nnb_varfast_destroy(nnb_varfast *f) {
    if (!f)
        return;
    for (int64_t k = 0; f->layers && k < f->L; k++) {
        fast_layer *s = &f->layers[k];
        float *bufs[] = {s->masked_in, s->ai,     s->ah,    s->gates == s->ai ? NULL : s->gates, s->h, s->c, s->xhat_c,
                         s->rstd_i,    s->rstd_h, s->rstd_c};
        for (size_t i = 0; i < sizeof bufs / sizeof *bufs; i++)
            nnb_free(bufs[i]);
    }
    nnb_free(f->layers);
    float *bufs[] = {f->ni,  f->nh,  f->tmp1,  f->tmp2, f->row_stat, f->row_stat2, f->da,     f->dai,
                     f->dah, f->dcn, f->dcraw, f->dh,   f->dh_next,  f->dc_next,   f->grad_a, f->grad_b};
    for (size_t i = 0; i < sizeof bufs / sizeof *bufs; i++)
        nnb_free(bufs[i]);
    nnb_free(f);
}

nnb_varfast *nnb_varfast_create(const nnb_varlstm_f *p, nnb_varfast_mode mode, char *err, size_t err_len) {
    nnb_varfast *f = (nnb_varfast *)nnb_alloc_bytes(sizeof *f);
    if (!f)
        return nnb_fail(err, err_len, "out of memory"), NULL;
    f->p = p;
    f->mode = mode;
    f->T = p->T, f->B = p->B, f->H = p->H, f->G = 4 * p->H, f->L = p->L;
    const int64_t T = f->T, B = f->B, H = f->H, G = f->G, wide = p->I > H ? p->I : H;
    const int ln = p->layernorm;
    if (T * B > INT_MAX || G > INT_MAX || p->I > INT_MAX) {
        nnb_varfast_destroy(f);
        nnb_fail(err, err_len, "sizes exceed the BLAS interface's int (T*B=%lld, 4H=%lld, I=%lld)", (long long)(T * B),
                 (long long)G, (long long)p->I);
        return NULL;
    }
    int failed = 0;
    f->layers = (fast_layer *)nnb_alloc_bytes(sizeof(fast_layer) * (size_t)f->L);
    if (!f->layers)
        failed = 1;
    for (int64_t k = 0; !failed && k < f->L; k++) {
        fast_layer *s = &f->layers[k];
        s->in_size = k == 0 ? p->I : H;
        s->ai = ws_alloc(&failed, T, B, G);
        s->h = ws_alloc(&failed, T + 1, B, H);
        s->c = ws_alloc(&failed, T + 1, B, H);
        s->gates = s->ai;
        if (k > 0 && p->mask)
            s->masked_in = ws_alloc(&failed, T, B, H);
        if (failed)
            break;
        s->in = k == 0 ? p->x : s->masked_in ? s->masked_in : f->layers[k - 1].h + B * H;
        if (!ln)
            continue;
        s->ah = ws_alloc(&failed, T, B, G);
        s->gates = ws_alloc(&failed, T, B, G);
        s->xhat_c = ws_alloc(&failed, T, B, H);
        s->rstd_i = ws_alloc(&failed, T, B, 1);
        s->rstd_h = ws_alloc(&failed, T, B, 1);
        s->rstd_c = ws_alloc(&failed, T, B, 1);
    }
    f->ni = ws_alloc(&failed, 1, B, G);
    f->nh = ws_alloc(&failed, 1, B, G);
    f->tmp1 = ws_alloc(&failed, 1, B, G);
    f->tmp2 = ws_alloc(&failed, 1, B, G);
    f->row_stat = ws_alloc(&failed, 1, B, 1);
    f->row_stat2 = ws_alloc(&failed, 1, B, 1);
    f->da = ws_alloc(&failed, T, B, G);
    if (ln) {
        f->dai = ws_alloc(&failed, T, B, G);
        f->dah = ws_alloc(&failed, T, B, G);
        f->dcn = ws_alloc(&failed, T, B, H);
    }
    f->dcraw = ws_alloc(&failed, 1, B, H);
    f->dh = ws_alloc(&failed, 1, B, H);
    f->dh_next = ws_alloc(&failed, 1, B, H);
    f->dc_next = ws_alloc(&failed, 1, B, H);
    f->grad_a = ws_alloc(&failed, T, B, wide);
    f->grad_b = ws_alloc(&failed, T, B, wide);
    if (failed) {
        nnb_varfast_destroy(f);
        nnb_fail(err, err_len, "out of memory for the workspace (T=%lld B=%lld H=%lld L=%lld)", (long long)T,
                 (long long)B, (long long)H, (long long)p->L);
        return NULL;
    }
    return f;
}

/* ---------------------------------------------------------------- row-wise LayerNorm (one pass per row) */

/* Sum of n floats with 16 independent lanes, so it vectorises. */
static float row_sum(const float *v, int64_t n) {
    float lane[16] = {0};
    int64_t j = 0;
    for (; j + 16 <= n; j += 16)
        for (int l = 0; l < 16; l++)
            lane[l] += v[j + l];
    float s = 0;
    for (; j < n; j++)
        s += v[j];
    for (int l = 0; l < 16; l++)
        s += lane[l];
    return s;
}

static float row_centered_sumsq(const float *v, int64_t n, float mean) {
    float lane[16] = {0};
    int64_t j = 0;
    for (; j + 16 <= n; j += 16)
        for (int l = 0; l < 16; l++)
            lane[l] += (v[j + l] - mean) * (v[j + l] - mean);
    float s = 0;
    for (; j < n; j++)
        s += (v[j] - mean) * (v[j] - mean);
    for (int l = 0; l < 16; l++)
        s += lane[l];
    return s;
}

/* One row: v (raw) becomes xhat in place; out = gain * xhat + bias (or += when accumulate). */
static void ln_row_fwd(float *v, int64_t n, const float *gain, const float *bias, float *out, float *rstd,
                       int accumulate) {
    const float mean = row_sum(v, n) / (float)n;
    const float r = 1.0f / sqrtf(row_centered_sumsq(v, n, mean) / (float)n + (float)NNB_LN_EPS);
    *rstd = r;
    if (accumulate)
        for (int64_t j = 0; j < n; j++) {
            v[j] = (v[j] - mean) * r;
            out[j] += gain[j] * v[j] + bias[j];
        }
    else
        for (int64_t j = 0; j < n; j++) {
            v[j] = (v[j] - mean) * r;
            out[j] = gain[j] * v[j] + bias[j];
        }
}

/* One row: dv = rstd * (gain*dout - mean(gain*dout) - xhat * mean(gain*dout*xhat)). */
static void ln_row_bwd(const float *dout, const float *xhat, float rstd, const float *gain, int64_t n, float *dv) {
    float lane_g[16] = {0}, lane_gx[16] = {0};
    int64_t j = 0;
    for (; j + 16 <= n; j += 16)
        for (int l = 0; l < 16; l++) {
            float g = gain[j + l] * dout[j + l];
            lane_g[l] += g;
            lane_gx[l] += g * xhat[j + l];
        }
    float mg = 0, mgx = 0;
    for (; j < n; j++) {
        mg += gain[j] * dout[j];
        mgx += gain[j] * dout[j] * xhat[j];
    }
    for (int l = 0; l < 16; l++)
        mg += lane_g[l], mgx += lane_gx[l];
    mg /= (float)n;
    mgx /= (float)n;
    for (j = 0; j < n; j++)
        dv[j] = rstd * (gain[j] * dout[j] - mg - xhat[j] * mgx);
}

/* ---------------------------------------------------------------- decomposed LayerNorm (one pass per op) */

static void rows_mean(const float *a, int64_t rows, int64_t n, float *mean, int par) {
    PARALLEL_ROWS(par)
    for (int64_t r = 0; r < rows; r++)
        mean[r] = row_sum(a + r * n, n) / (float)n;
}

static void rows_subtract(float *a, int64_t rows, int64_t n, const float *s, int par) {
    PARALLEL_ROWS(par)
    for (int64_t r = 0; r < rows; r++)
        for (int64_t j = 0; j < n; j++)
            a[r * n + j] -= s[r];
}

/* rstd[r] = 1/sqrt(mean(a[r]^2) + eps) of an already centred a. */
static void rows_rstd(const float *a, int64_t rows, int64_t n, float *rstd, int par) {
    PARALLEL_ROWS(par)
    for (int64_t r = 0; r < rows; r++)
        rstd[r] = 1.0f / sqrtf(row_centered_sumsq(a + r * n, n, 0.0f) / (float)n + (float)NNB_LN_EPS);
}

static void rows_scale(float *a, int64_t rows, int64_t n, const float *s, int par) {
    PARALLEL_ROWS(par)
    for (int64_t r = 0; r < rows; r++)
        for (int64_t j = 0; j < n; j++)
            a[r * n + j] *= s[r];
}

/* out[r, j] = a[r, j] * v[j] (+ out when accumulate) */
static void cols_mul(const float *a, int64_t rows, int64_t n, const float *v, float *out, int accumulate, int par) {
    PARALLEL_ROWS(par)
    for (int64_t r = 0; r < rows; r++)
        for (int64_t j = 0; j < n; j++)
            out[r * n + j] = (accumulate ? out[r * n + j] : 0.0f) + a[r * n + j] * v[j];
}

static void cols_add(float *out, int64_t rows, int64_t n, const float *v, int par) {
    PARALLEL_ROWS(par)
    for (int64_t r = 0; r < rows; r++)
        for (int64_t j = 0; j < n; j++)
            out[r * n + j] += v[j];
}

/* ---------------------------------------------------------------- elementwise ops on (rows, cols) blocks with strides
 */

typedef enum { OP_ADD, OP_MUL, OP_SIGMOID, OP_TANH, OP_SIGMOID_BWD, OP_TANH_BWD } elementwise_op;

/* dst = a (op) b. SIGMOID/TANH read a only; *_BWD: dst = a * d(activation)/dx given the activation's output b. */
static void op_pass(elementwise_op op, float *dst, int64_t ldd, const float *a, int64_t lda, const float *b,
                    int64_t ldb, int64_t rows, int64_t cols, int par) {
    PARALLEL_ROWS(par)
    for (int64_t r = 0; r < rows; r++) {
        float *d = dst + r * ldd;
        const float *x = a + r * lda, *y = b ? b + r * ldb : NULL;
        switch (op) {
        case OP_ADD:
            for (int64_t j = 0; j < cols; j++)
                d[j] = x[j] + y[j];
            break;
        case OP_MUL:
            for (int64_t j = 0; j < cols; j++)
                d[j] = x[j] * y[j];
            break;
        case OP_SIGMOID:
            SIMD_LOOP
            for (int64_t j = 0; j < cols; j++)
                d[j] = nnb_sigmoidf(x[j]);
            break;
        case OP_TANH:
            SIMD_LOOP
            for (int64_t j = 0; j < cols; j++)
                d[j] = nnb_tanhf(x[j]);
            break;
        case OP_SIGMOID_BWD:
            for (int64_t j = 0; j < cols; j++)
                d[j] = x[j] * y[j] * (1.0f - y[j]);
            break;
        case OP_TANH_BWD:
            for (int64_t j = 0; j < cols; j++)
                d[j] = x[j] * (1.0f - y[j] * y[j]);
            break;
        }
    }
}

/* ---------------------------------------------------------------- LayerNorm over a (rows, n) array */

/* v (raw) becomes xhat in place; out = gain * xhat + bias (or += when accumulate). */
static void layernorm_fwd(const nnb_varfast *f, float *v, int64_t rows, int64_t n, const float *gain, const float *bias,
                          float *out, float *rstd, int accumulate) {
    const int par = f->mode.parallel;
    if (!f->mode.ln_decomposed) {
        PARALLEL_ROWS(par)
        for (int64_t r = 0; r < rows; r++)
            ln_row_fwd(v + r * n, n, gain, bias, out + r * n, &rstd[r], accumulate);
        return;
    }
    rows_mean(v, rows, n, f->row_stat, par);          /* mean */
    rows_subtract(v, rows, n, f->row_stat, par);      /* subtract */
    rows_rstd(v, rows, n, rstd, par);                 /* variance */
    rows_scale(v, rows, n, rstd, par);                /* normalise */
    cols_mul(v, rows, n, gain, out, accumulate, par); /* scale */
    cols_add(out, rows, n, bias, par);                /* shift */
}

/* dv from dout (gain/bias gradients are reduced after the time loop). */
static void layernorm_bwd(const nnb_varfast *f, const float *dout, const float *xhat, const float *rstd, int64_t rows,
                          int64_t n, const float *gain, float *dv) {
    const int par = f->mode.parallel;
    if (!f->mode.ln_decomposed) {
        PARALLEL_ROWS(par)
        for (int64_t r = 0; r < rows; r++)
            ln_row_bwd(dout + r * n, xhat + r * n, rstd[r], gain, n, dv + r * n);
        return;
    }
    float *g = f->tmp1, *gx = f->tmp2;                   /* (rows, n) */
    cols_mul(dout, rows, n, gain, g, 0, par);            /* g = gain * dout */
    rows_mean(g, rows, n, f->row_stat, par);             /* mean(g) */
    op_pass(OP_MUL, gx, n, g, n, xhat, n, rows, n, par); /* g * xhat */
    rows_mean(gx, rows, n, f->row_stat2, par);           /* mean(g * xhat) */
    memcpy(dv, g, sizeof(float) * (size_t)(rows * n));
    rows_subtract(dv, rows, n, f->row_stat, par); /* g - mean(g) */
    PARALLEL_ROWS(par)
    for (int64_t r = 0; r < rows; r++) /* - xhat * mean(g * xhat) */
        for (int64_t j = 0; j < n; j++)
            dv[r * n + j] -= xhat[r * n + j] * f->row_stat2[r];
    rows_scale(dv, rows, n, rstd, par); /* * rstd */
}

/* ---------------------------------------------------------------- cell, one pass per op */

/* i, f, g, o = sigmoid, sigmoid, tanh, sigmoid of the (B, 4H) pre-activations, in place. */
static void activate_ops(const nnb_varfast *f, float *gates) {
    const int64_t B = f->B, H = f->H, G = f->G;
    const int par = f->mode.parallel;
    op_pass(OP_SIGMOID, gates, G, gates, G, NULL, 0, B, H, par);
    op_pass(OP_SIGMOID, gates + H, G, gates + H, G, NULL, 0, B, H, par);
    op_pass(OP_TANH, gates + 2 * H, G, gates + 2 * H, G, NULL, 0, B, H, par);
    op_pass(OP_SIGMOID, gates + 3 * H, G, gates + 3 * H, G, NULL, 0, B, H, par);
}

/* c_out = f * c_prev + i * g */
static void cell_state_ops(const nnb_varfast *f, const float *gates, const float *cprev, float *c_out) {
    const int64_t B = f->B, H = f->H, G = f->G;
    const int par = f->mode.parallel;
    op_pass(OP_MUL, f->tmp1, H, gates + H, G, cprev, H, B, H, par);
    op_pass(OP_MUL, f->tmp2, H, gates, G, gates + 2 * H, G, B, H, par);
    op_pass(OP_ADD, c_out, H, f->tmp1, H, f->tmp2, H, B, H, par);
}

/* h = o * tanh(c) */
static void cell_output_ops(const nnb_varfast *f, const float *gates, const float *c, float *h) {
    const int64_t B = f->B, H = f->H, G = f->G;
    op_pass(OP_TANH, f->tmp1, H, c, H, NULL, 0, B, H, f->mode.parallel);
    op_pass(OP_MUL, h, H, gates + 3 * H, G, f->tmp1, H, B, H, f->mode.parallel);
}

/* Backward of h = o * tanh(c): dao into da, and dc_out = dc_next + dh * o * (1 - tanh(c)^2). */
static void cell_output_bwd_ops(const nnb_varfast *f, const float *gates, const float *c, float *dh, float *da,
                                float *dc_out) {
    const int64_t B = f->B, H = f->H, G = f->G;
    const int par = f->mode.parallel;
    float *tc = f->tmp1, *t2 = f->tmp2;
    op_pass(OP_TANH, tc, H, c, H, NULL, 0, B, H, par);                          /* tanh(c) */
    op_pass(OP_MUL, t2, H, dh, H, tc, H, B, H, par);                            /* d o = dh * tanh(c) */
    op_pass(OP_SIGMOID_BWD, da + 3 * H, G, t2, H, gates + 3 * H, G, B, H, par); /* dao */
    op_pass(OP_MUL, dh, H, dh, H, gates + 3 * H, G, B, H, par);                 /* d tanh(c) = dh * o */
    op_pass(OP_TANH_BWD, t2, H, dh, H, tc, H, B, H, par);                       /* through tanh */
    op_pass(OP_ADD, dc_out, H, t2, H, f->dc_next, H, B, H, par);                /* + dc from step t+1 */
}

/* Backward of c = f * c_prev + i * g and the gate activations, from dc: dai, daf, dag into da, dc_prev into dc_next. */
static void cell_gates_bwd_ops(const nnb_varfast *f, const float *gates, const float *cprev, const float *dc,
                               float *da) {
    const int64_t B = f->B, H = f->H, G = f->G;
    const int par = f->mode.parallel;
    float *t = f->tmp1;
    op_pass(OP_MUL, t, H, dc, H, gates + 2 * H, G, B, H, par); /* d i = dc * g */
    op_pass(OP_SIGMOID_BWD, da, G, t, H, gates, G, B, H, par);
    op_pass(OP_MUL, t, H, dc, H, cprev, H, B, H, par); /* d f = dc * c_prev */
    op_pass(OP_SIGMOID_BWD, da + H, G, t, H, gates + H, G, B, H, par);
    op_pass(OP_MUL, t, H, dc, H, gates, G, B, H, par); /* d g = dc * i */
    op_pass(OP_TANH_BWD, da + 2 * H, G, t, H, gates + 2 * H, G, B, H, par);
    op_pass(OP_MUL, f->dc_next, H, dc, H, gates + H, G, B, H, par); /* dc_prev = dc * f */
}

/* ---------------------------------------------------------------- cell, fused per row */

/* LayerNorm LSTM step of one batch row in one go: LN_i, LN_h, activations, LN_c, h'. */
static void ln_lstm_row_fwd(float *ai, float *ah, const float *const gain[NNB_LN_COUNT],
                            const float *const bias[NNB_LN_COUNT], float *gate, const float *cprev, float *craw,
                            float *cnew, float *hnew, float *ri, float *rh, float *rc, int64_t H) {
    const int64_t G = 4 * H;
    ln_row_fwd(ai, G, gain[NNB_LN_I], bias[NNB_LN_I], gate, ri, 0);
    ln_row_fwd(ah, G, gain[NNB_LN_H], bias[NNB_LN_H], gate, rh, 1);
    SIMD_LOOP
    for (int64_t j = 0; j < H; j++) {
        float plain_h; /* h of the raw state: not this cell's output */
        nnb_lstm_cell_fwdf(&gate[j], &gate[H + j], &gate[2 * H + j], &gate[3 * H + j], cprev[j], &craw[j], &plain_h);
    }
    ln_row_fwd(craw, H, gain[NNB_LN_C], bias[NNB_LN_C], cnew, rc, 0);
    SIMD_LOOP
    for (int64_t j = 0; j < H; j++)
        hnew[j] = gate[3 * H + j] * nnb_tanhf(cnew[j]);
}

/* Its backward, one row: da, dcn (gradient reaching c'), dai, dah; dh_next/dc_next in, dc_next out. */
static void ln_lstm_row_bwd(const float *gate, const float *cprev, const float *c, const float *dy,
                            const float *dh_next, float *dc_next, const float *const gain[NNB_LN_COUNT],
                            const float *xhat_i, const float *xhat_h, const float *xhat_c, float ri, float rh, float rc,
                            float *da, float *dcn, float *dcraw, float *dai, float *dah, int64_t H) {
    const int64_t G = 4 * H;
    SIMD_LOOP
    for (int64_t j = 0; j < H; j++)
        nnb_ln_cell_out_bwdf(gate[3 * H + j], c[j], dy[j] + dh_next[j], dc_next[j], &da[3 * H + j], &dcn[j]);
    ln_row_bwd(dcn, xhat_c, rc, gain[NNB_LN_C], H, dcraw);
    SIMD_LOOP
    for (int64_t j = 0; j < H; j++) {
        float unused_dao;
        nnb_lstm_cell_bwdf(gate[j], gate[H + j], gate[2 * H + j], gate[3 * H + j], cprev[j], c[j], 0.0f, dcraw[j],
                           &da[j], &da[H + j], &da[2 * H + j], &unused_dao, &dc_next[j]);
    }
    ln_row_bwd(da, xhat_i, ri, gain[NNB_LN_I], G, dai);
    ln_row_bwd(da, xhat_h, rh, gain[NNB_LN_H], G, dah);
}

/* ---------------------------------------------------------------- one step */

static void step_forward(nnb_varfast *f, int64_t k, int64_t t) {
    const nnb_varlstm_f *p = f->p;
    fast_layer *s = &f->layers[k];
    const int64_t B = f->B, H = f->H, G = f->G;
    const int par = f->mode.parallel;
    const float *cprev = s->c + t * B * H;
    float *cnew = s->c + (t + 1) * B * H, *hnew = s->h + (t + 1) * B * H, *gates = s->gates + t * B * G;
    if (!p->layernorm) {
        if (!f->mode.fused) {
            activate_ops(f, gates);
            cell_state_ops(f, gates, cprev, cnew);
            cell_output_ops(f, gates, cnew, hnew);
            return;
        }
        PARALLEL_ROWS(par)
        for (int64_t b = 0; b < B; b++) {
            float *g = gates + b * G;
            SIMD_LOOP
            for (int64_t j = 0; j < H; j++)
                nnb_lstm_cell_fwdf(&g[j], &g[H + j], &g[2 * H + j], &g[3 * H + j], cprev[b * H + j], &cnew[b * H + j],
                                   &hnew[b * H + j]);
        }
        return;
    }
    const float *gain[NNB_LN_COUNT], *bias[NNB_LN_COUNT];
    for (int n = 0; n < NNB_LN_COUNT; n++)
        gain[n] = p->ln_w[n][k], bias[n] = p->ln_b[n][k];
    float *ai = s->ai + t * B * G, *ah = s->ah + t * B * G, *craw = s->xhat_c + t * B * H;
    float *ri = s->rstd_i + t * B, *rh = s->rstd_h + t * B, *rc = s->rstd_c + t * B;
    if (f->mode.fused && !f->mode.ln_decomposed) {
        PARALLEL_ROWS(par)
        for (int64_t b = 0; b < B; b++)
            ln_lstm_row_fwd(ai + b * G, ah + b * G, gain, bias, gates + b * G, cprev + b * H, craw + b * H,
                            cnew + b * H, hnew + b * H, ri + b, rh + b, rc + b, H);
        return;
    }
    layernorm_fwd(f, ai, B, G, gain[NNB_LN_I], bias[NNB_LN_I], f->ni, ri, 0);
    layernorm_fwd(f, ah, B, G, gain[NNB_LN_H], bias[NNB_LN_H], f->nh, rh, 0);
    if (f->mode.fused) {
        PARALLEL_ROWS(par)
        for (int64_t b = 0; b < B; b++) {
            float *g = gates + b * G;
            for (int64_t j = 0; j < G; j++)
                g[j] = f->ni[b * G + j] + f->nh[b * G + j];
            SIMD_LOOP
            for (int64_t j = 0; j < H; j++) {
                float plain_h; /* h of the raw state: not this cell's output */
                nnb_lstm_cell_fwdf(&g[j], &g[H + j], &g[2 * H + j], &g[3 * H + j], cprev[b * H + j], &craw[b * H + j],
                                   &plain_h);
            }
        }
    } else {
        op_pass(OP_ADD, gates, G, f->ni, G, f->nh, G, B, G, par);
        activate_ops(f, gates);
        cell_state_ops(f, gates, cprev, craw);
    }
    layernorm_fwd(f, craw, B, H, gain[NNB_LN_C], bias[NNB_LN_C], cnew, rc, 0);
    if (f->mode.fused) {
        PARALLEL_ROWS(par)
        for (int64_t b = 0; b < B; b++)
            SIMD_LOOP
        for (int64_t j = 0; j < H; j++)
            hnew[b * H + j] = gates[b * G + 3 * H + j] * nnb_tanhf(cnew[b * H + j]);
    } else {
        cell_output_ops(f, gates, cnew, hnew);
    }
}

/* Backward of step t: da (and, LayerNorm, dcn, dai, dah) at t; dc_next becomes the gradient reaching c_{t-1}. */
static void step_backward(nnb_varfast *f, int64_t k, int64_t t, const float *dy) {
    const nnb_varlstm_f *p = f->p;
    const fast_layer *s = &f->layers[k];
    const int64_t B = f->B, H = f->H, G = f->G;
    const int par = f->mode.parallel;
    const float *gates = s->gates + t * B * G, *cprev = s->c + t * B * H, *c = s->c + (t + 1) * B * H;
    const float *dy_t = dy + t * B * H;
    float *da = f->da + t * B * G;
    if (!p->layernorm) {
        if (!f->mode.fused) {
            op_pass(OP_ADD, f->dh, H, dy_t, H, f->dh_next, H, B, H, par);
            cell_output_bwd_ops(f, gates, c, f->dh, da, f->dcraw);
            cell_gates_bwd_ops(f, gates, cprev, f->dcraw, da);
            return;
        }
        PARALLEL_ROWS(par)
        for (int64_t b = 0; b < B; b++) {
            const float *g = gates + b * G;
            float *d = da + b * G;
            SIMD_LOOP
            for (int64_t j = 0; j < H; j++) {
                const int64_t e = b * H + j;
                nnb_lstm_cell_bwdf(g[j], g[H + j], g[2 * H + j], g[3 * H + j], cprev[e], c[e], dy_t[e] + f->dh_next[e],
                                   f->dc_next[e], &d[j], &d[H + j], &d[2 * H + j], &d[3 * H + j], &f->dc_next[e]);
            }
        }
        return;
    }
    const float *gain[NNB_LN_COUNT];
    for (int n = 0; n < NNB_LN_COUNT; n++)
        gain[n] = p->ln_w[n][k];
    const float *xhat_i = s->ai + t * B * G, *xhat_h = s->ah + t * B * G, *xhat_c = s->xhat_c + t * B * H;
    const float *ri = s->rstd_i + t * B, *rh = s->rstd_h + t * B, *rc = s->rstd_c + t * B;
    float *dcn = f->dcn + t * B * H, *dai = f->dai + t * B * G, *dah = f->dah + t * B * G;
    if (f->mode.fused && !f->mode.ln_decomposed) {
        PARALLEL_ROWS(par)
        for (int64_t b = 0; b < B; b++)
            ln_lstm_row_bwd(gates + b * G, cprev + b * H, c + b * H, dy_t + b * H, f->dh_next + b * H,
                            f->dc_next + b * H, gain, xhat_i + b * G, xhat_h + b * G, xhat_c + b * H, ri[b], rh[b],
                            rc[b], da + b * G, dcn + b * H, f->dcraw + b * H, dai + b * G, dah + b * G, H);
        return;
    }
    if (f->mode.fused) {
        PARALLEL_ROWS(par)
        for (int64_t b = 0; b < B; b++)
            SIMD_LOOP
        for (int64_t j = 0; j < H; j++) {
            const int64_t e = b * H + j;
            nnb_ln_cell_out_bwdf(gates[b * G + 3 * H + j], c[e], dy_t[e] + f->dh_next[e], f->dc_next[e],
                                 &da[b * G + 3 * H + j], &dcn[e]);
        }
    } else {
        op_pass(OP_ADD, f->dh, H, dy_t, H, f->dh_next, H, B, H, par);
        cell_output_bwd_ops(f, gates, c, f->dh, da, dcn);
    }
    layernorm_bwd(f, dcn, xhat_c, rc, B, H, gain[NNB_LN_C], f->dcraw);
    if (f->mode.fused) {
        PARALLEL_ROWS(par)
        for (int64_t b = 0; b < B; b++)
            SIMD_LOOP
        for (int64_t j = 0; j < H; j++) {
            const int64_t e = b * H + j;
            const float *g = gates + b * G;
            float *d = da + b * G, unused_dao;
            nnb_lstm_cell_bwdf(g[j], g[H + j], g[2 * H + j], g[3 * H + j], cprev[e], c[e], 0.0f, f->dcraw[e], &d[j],
                               &d[H + j], &d[2 * H + j], &unused_dao, &f->dc_next[e]);
        }
    } else {
        cell_gates_bwd_ops(f, gates, cprev, f->dcraw, da);
    }
    layernorm_bwd(f, da, xhat_i, ri, B, G, gain[NNB_LN_I], dai);
    layernorm_bwd(f, da, xhat_h, rh, B, G, gain[NNB_LN_H], dah);
}

/* ---------------------------------------------------------------- layers */

static void layer_forward(nnb_varfast *f, int64_t k) {
    const nnb_varlstm_f *p = f->p;
    fast_layer *s = &f->layers[k];
    const int64_t T = f->T, B = f->B, H = f->H, G = f->G, in = s->in_size;
    const int par = f->mode.parallel;
    if (s->masked_in) /* dropout of the previous layer's output */
        op_pass(OP_MUL, s->masked_in, H, f->layers[k - 1].h + B * H, H, p->mask[k], H, T * B, H, par);
    memcpy(s->h, p->hx + k * B * H, sizeof(float) * (size_t)(B * H));
    memcpy(s->c, p->cx + k * B * H, sizeof(float) * (size_t)(B * H));
    float beta = 0.0f;
    if (!p->layernorm) { /* both biases, added once for every step */
        PARALLEL_ROWS(par)
        for (int64_t r = 0; r < T * B; r++)
            for (int64_t j = 0; j < G; j++)
                s->ai[r * G + j] = p->b_ih[k][j] + p->b_hh[k][j];
        beta = 1.0f;
    }
    /* (T*B, in) x (in, 4H): every step's input projection at once */
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)(T * B), (int)G, (int)in, 1.0f, s->in, (int)in,
                p->w_ih[k], (int)in, beta, s->ai, (int)G);
    for (int64_t t = 0; t < T; t++) {
        /* (B, H) x (H, 4H): LayerNorm normalises it on its own; plain cells add it to the gates */
        float *dst = p->layernorm ? s->ah + t * B * G : s->ai + t * B * G;
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)B, (int)G, (int)H, 1.0f, s->h + t * B * H, (int)H,
                    p->w_hh[k], (int)H, p->layernorm ? 0.0f : 1.0f, dst, (int)G);
        step_forward(f, k, t);
    }
}

/* out[j] = sum over rows of a[r, j] (* b[r, j] when b) */
static void column_sums(const float *a, const float *b, int64_t rows, int64_t n, float *out, int par) {
    enum { BLOCK = 256 };
    PARALLEL_ROWS(par)
    for (int64_t j0 = 0; j0 < n; j0 += BLOCK) {
        const int64_t j1 = j0 + BLOCK < n ? j0 + BLOCK : n;
        for (int64_t j = j0; j < j1; j++)
            out[j] = 0;
        for (int64_t r = 0; r < rows; r++)
            if (b)
                for (int64_t j = j0; j < j1; j++)
                    out[j] += a[r * n + j] * b[r * n + j];
            else
                for (int64_t j = j0; j < j1; j++)
                    out[j] += a[r * n + j];
    }
}

/* dy (T, B, H) reaches the layer's output; writes din (T, B, in), dhx[k], dcx[k] and the layer's parameter gradients.
 */
static void layer_backward(nnb_varfast *f, int64_t k, const float *dy, float *din) {
    const nnb_varlstm_f *p = f->p;
    const fast_layer *s = &f->layers[k];
    const int64_t T = f->T, B = f->B, H = f->H, G = f->G, in = s->in_size, TB = T * B;
    const int par = f->mode.parallel, ln = p->layernorm;
    const float *dgi = ln ? f->dai : f->da, *dgh = ln ? f->dah : f->da; /* (T, B, 4H) reaching the projections */
    memset(f->dh_next, 0, sizeof(float) * (size_t)(B * H));             /* hy, cy: no upstream gradient */
    memset(f->dc_next, 0, sizeof(float) * (size_t)(B * H));
    for (int64_t t = T - 1; t >= 0; t--) {
        step_backward(f, k, t, dy);
        /* (B, 4H) x (4H, H): the gradient reaching h_{t-1} */
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)B, (int)H, (int)G, 1.0f, dgh + t * B * G, (int)G,
                    p->w_hh[k], (int)H, 0.0f, f->dh_next, (int)H);
    }
    memcpy(p->dhx + k * B * H, f->dh_next, sizeof(float) * (size_t)(B * H));
    memcpy(p->dcx + k * B * H, f->dc_next, sizeof(float) * (size_t)(B * H));
    /* weight and input gradients of every step at once: (4H, T*B) x (T*B, in), (4H, T*B) x (T*B, H), (T*B, 4H) x (4H,
     * in) */
    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)G, (int)in, (int)TB, 1.0f, dgi, (int)G, s->in, (int)in,
                0.0f, p->dw_ih[k], (int)in);
    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)G, (int)H, (int)TB, 1.0f, dgh, (int)G, s->h, (int)H, 0.0f,
                p->dw_hh[k], (int)H);
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)TB, (int)in, (int)G, 1.0f, dgi, (int)G, p->w_ih[k],
                (int)in, 0.0f, din, (int)in);
    if (!ln) {
        column_sums(f->da, NULL, TB, G, p->db_ih[k], par);
        memcpy(p->db_hh[k], p->db_ih[k], sizeof(float) * (size_t)G);
        return;
    }
    column_sums(f->da, s->ai, TB, G, p->dln_w[NNB_LN_I][k], par);
    column_sums(f->da, s->ah, TB, G, p->dln_w[NNB_LN_H][k], par);
    column_sums(f->da, NULL, TB, G, p->dln_b[NNB_LN_I][k], par);
    memcpy(p->dln_b[NNB_LN_H][k], p->dln_b[NNB_LN_I][k], sizeof(float) * (size_t)G);
    column_sums(f->dcn, s->xhat_c, TB, H, p->dln_w[NNB_LN_C][k], par);
    column_sums(f->dcn, NULL, TB, H, p->dln_b[NNB_LN_C][k], par);
}

void nnb_varfast_forward(nnb_varfast *f) {
    const nnb_varlstm_f *p = f->p;
    const int64_t T = f->T, B = f->B, H = f->H, BH = B * H;
    for (int64_t k = 0; k < f->L; k++) {
        layer_forward(f, k);
        memcpy(p->hy + k * BH, f->layers[k].h + T * BH, sizeof(float) * (size_t)BH);
        memcpy(p->cy + k * BH, f->layers[k].c + T * BH, sizeof(float) * (size_t)BH);
    }
    memcpy(p->y, f->layers[f->L - 1].h + BH, sizeof(float) * (size_t)(T * BH));
}

void nnb_varfast_backward(nnb_varfast *f) {
    const nnb_varlstm_f *p = f->p;
    const int64_t T = f->T, B = f->B, H = f->H;
    const float *dy = p->grad_y;
    float *din = f->grad_a;
    for (int64_t k = f->L - 1; k >= 0; k--) {
        layer_backward(f, k, dy, k == 0 ? p->dx : din);
        if (k == 0)
            break;
        if (p->mask)
            op_pass(OP_MUL, din, H, din, H, p->mask[k], H, T * B, H, f->mode.parallel);
        dy = din;
        din = din == f->grad_a ? f->grad_b : f->grad_a;
    }
}

const char *nnb_varfast_vector_math(void) { return VECTOR_LIBM; }
