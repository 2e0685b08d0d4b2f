/*
 * The passes of the fast variants engine (variants_fast_internal.h): LayerNorm row-wise (one pass per row) or
 * decomposed (one pass per op), strided elementwise ops, and the LSTM cell one pass per op or fused per row.
 * They are what jit_layernorm, jit_layernorm_decom and the fusers' variants differ in; the engine that
 * sequences them over steps and layers is variants_fast.c.
 */
#include "variants_fast_internal.h"

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

/* ---------------------------------------------------------------- elementwise ops on (rows, cols) blocks */

/* dst = a (op) b. SIGMOID/TANH read a only; *_BWD: dst = a * d(activation)/dx given the activation's output b. */
void vf_op_pass(elementwise_op op, float *dst, int64_t ldd, const float *a, int64_t lda, const float *b, int64_t ldb,
                int64_t rows, int64_t cols, int par) {
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
void vf_layernorm_fwd(const nnb_varfast *f, float *v, int64_t rows, int64_t n, const float *gain, const float *bias,
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
void vf_layernorm_bwd(const nnb_varfast *f, const float *dout, const float *xhat, const float *rstd, int64_t rows,
                      int64_t n, const float *gain, float *dv) {
    const int par = f->mode.parallel;
    if (!f->mode.ln_decomposed) {
        PARALLEL_ROWS(par)
        for (int64_t r = 0; r < rows; r++)
            ln_row_bwd(dout + r * n, xhat + r * n, rstd[r], gain, n, dv + r * n);
        return;
    }
    float *g = f->tmp1, *gx = f->tmp2;                      /* (rows, n) */
    cols_mul(dout, rows, n, gain, g, 0, par);               /* g = gain * dout */
    rows_mean(g, rows, n, f->row_stat, par);                /* mean(g) */
    vf_op_pass(OP_MUL, gx, n, g, n, xhat, n, rows, n, par); /* g * xhat */
    rows_mean(gx, rows, n, f->row_stat2, par);              /* mean(g * xhat) */
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
void vf_activate_ops(const nnb_varfast *f, float *gates) {
    const int64_t B = f->B, H = f->H, G = f->G;
    const int par = f->mode.parallel;
    vf_op_pass(OP_SIGMOID, gates, G, gates, G, NULL, 0, B, H, par);
    vf_op_pass(OP_SIGMOID, gates + H, G, gates + H, G, NULL, 0, B, H, par);
    vf_op_pass(OP_TANH, gates + 2 * H, G, gates + 2 * H, G, NULL, 0, B, H, par);
    vf_op_pass(OP_SIGMOID, gates + 3 * H, G, gates + 3 * H, G, NULL, 0, B, H, par);
}

/* c_out = f * c_prev + i * g */
void vf_cell_state_ops(const nnb_varfast *f, const float *gates, const float *cprev, float *c_out) {
    const int64_t B = f->B, H = f->H, G = f->G;
    const int par = f->mode.parallel;
    vf_op_pass(OP_MUL, f->tmp1, H, gates + H, G, cprev, H, B, H, par);
    vf_op_pass(OP_MUL, f->tmp2, H, gates, G, gates + 2 * H, G, B, H, par);
    vf_op_pass(OP_ADD, c_out, H, f->tmp1, H, f->tmp2, H, B, H, par);
}

/* h = o * tanh(c) */
void vf_cell_output_ops(const nnb_varfast *f, const float *gates, const float *c, float *h) {
    const int64_t B = f->B, H = f->H, G = f->G;
    vf_op_pass(OP_TANH, f->tmp1, H, c, H, NULL, 0, B, H, f->mode.parallel);
    vf_op_pass(OP_MUL, h, H, gates + 3 * H, G, f->tmp1, H, B, H, f->mode.parallel);
}

/* Backward of h = o * tanh(c): dao into da, and dc_out = dc_next + dh * o * (1 - tanh(c)^2). */
void vf_cell_output_bwd_ops(const nnb_varfast *f, const float *gates, const float *c, float *dh, float *da,
                            float *dc_out) {
    const int64_t B = f->B, H = f->H, G = f->G;
    const int par = f->mode.parallel;
    float *tc = f->tmp1, *t2 = f->tmp2;
    vf_op_pass(OP_TANH, tc, H, c, H, NULL, 0, B, H, par);                          /* tanh(c) */
    vf_op_pass(OP_MUL, t2, H, dh, H, tc, H, B, H, par);                            /* d o = dh * tanh(c) */
    vf_op_pass(OP_SIGMOID_BWD, da + 3 * H, G, t2, H, gates + 3 * H, G, B, H, par); /* dao */
    vf_op_pass(OP_MUL, dh, H, dh, H, gates + 3 * H, G, B, H, par);                 /* d tanh(c) = dh * o */
    vf_op_pass(OP_TANH_BWD, t2, H, dh, H, tc, H, B, H, par);                       /* through tanh */
    vf_op_pass(OP_ADD, dc_out, H, t2, H, f->dc_next, H, B, H, par);                /* + dc from step t+1 */
}

/* Backward of c = f * c_prev + i * g and the gate activations, from dc: dai, daf, dag into da, dc_prev into dc_next. */
void vf_cell_gates_bwd_ops(const nnb_varfast *f, const float *gates, const float *cprev, const float *dc, float *da) {
    const int64_t B = f->B, H = f->H, G = f->G;
    const int par = f->mode.parallel;
    float *t = f->tmp1;
    vf_op_pass(OP_MUL, t, H, dc, H, gates + 2 * H, G, B, H, par); /* d i = dc * g */
    vf_op_pass(OP_SIGMOID_BWD, da, G, t, H, gates, G, B, H, par);
    vf_op_pass(OP_MUL, t, H, dc, H, cprev, H, B, H, par); /* d f = dc * c_prev */
    vf_op_pass(OP_SIGMOID_BWD, da + H, G, t, H, gates + H, G, B, H, par);
    vf_op_pass(OP_MUL, t, H, dc, H, gates, G, B, H, par); /* d g = dc * i */
    vf_op_pass(OP_TANH_BWD, da + 2 * H, G, t, H, gates + 2 * H, G, B, H, par);
    vf_op_pass(OP_MUL, f->dc_next, H, dc, H, gates + H, G, B, H, par); /* dc_prev = dc * f */
}

/* ---------------------------------------------------------------- cell, fused per row */

/* LayerNorm LSTM step of one batch row in one go: LN_i, LN_h, activations, LN_c, h'. */
void vf_ln_lstm_row_fwd(float *ai, float *ah, const float *const gain[NNB_LN_COUNT],
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
void vf_ln_lstm_row_bwd(const float *gate, const float *cprev, const float *c, const float *dy, const float *dh_next,
                        float *dc_next, const float *const gain[NNB_LN_COUNT], const float *xhat_i, const float *xhat_h,
                        const float *xhat_c, float ri, float rh, float rc, float *da, float *dcn, float *dcraw,
                        float *dai, float *dah, int64_t H) {
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
