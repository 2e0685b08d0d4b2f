/*
 * Fast float engine of the CPU LSTM variants (see variants_fast.h): allocation, one forward / backward step,
 * layers (batched cblas GEMMs over time), entry points. The passes each variant is made of are in
 * variants_fast_passes.c (variants_fast_internal.h).
 */
#include "variants_fast_internal.h"

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
            vf_activate_ops(f, gates);
            vf_cell_state_ops(f, gates, cprev, cnew);
            vf_cell_output_ops(f, gates, cnew, hnew);
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
            vf_ln_lstm_row_fwd(ai + b * G, ah + b * G, gain, bias, gates + b * G, cprev + b * H, craw + b * H,
                               cnew + b * H, hnew + b * H, ri + b, rh + b, rc + b, H);
        return;
    }
    vf_layernorm_fwd(f, ai, B, G, gain[NNB_LN_I], bias[NNB_LN_I], f->ni, ri, 0);
    vf_layernorm_fwd(f, ah, B, G, gain[NNB_LN_H], bias[NNB_LN_H], f->nh, rh, 0);
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
        vf_op_pass(OP_ADD, gates, G, f->ni, G, f->nh, G, B, G, par);
        vf_activate_ops(f, gates);
        vf_cell_state_ops(f, gates, cprev, craw);
    }
    vf_layernorm_fwd(f, craw, B, H, gain[NNB_LN_C], bias[NNB_LN_C], cnew, rc, 0);
    if (f->mode.fused) {
        PARALLEL_ROWS(par)
        for (int64_t b = 0; b < B; b++)
            SIMD_LOOP
        for (int64_t j = 0; j < H; j++)
            hnew[b * H + j] = gates[b * G + 3 * H + j] * nnb_tanhf(cnew[b * H + j]);
    } else {
        vf_cell_output_ops(f, gates, cnew, hnew);
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
            vf_op_pass(OP_ADD, f->dh, H, dy_t, H, f->dh_next, H, B, H, par);
            vf_cell_output_bwd_ops(f, gates, c, f->dh, da, f->dcraw);
            vf_cell_gates_bwd_ops(f, gates, cprev, f->dcraw, da);
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
            vf_ln_lstm_row_bwd(gates + b * G, cprev + b * H, c + b * H, dy_t + b * H, f->dh_next + b * H,
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
        vf_op_pass(OP_ADD, f->dh, H, dy_t, H, f->dh_next, H, B, H, par);
        vf_cell_output_bwd_ops(f, gates, c, f->dh, da, dcn);
    }
    vf_layernorm_bwd(f, dcn, xhat_c, rc, B, H, gain[NNB_LN_C], f->dcraw);
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
        vf_cell_gates_bwd_ops(f, gates, cprev, f->dcraw, da);
    }
    vf_layernorm_bwd(f, da, xhat_i, ri, B, G, gain[NNB_LN_I], dai);
    vf_layernorm_bwd(f, da, xhat_h, rh, B, G, gain[NNB_LN_H], dah);
}

/* ---------------------------------------------------------------- layers */

static void layer_forward(nnb_varfast *f, int64_t k) {
    const nnb_varlstm_f *p = f->p;
    fast_layer *s = &f->layers[k];
    const int64_t T = f->T, B = f->B, H = f->H, G = f->G, in = s->in_size;
    const int par = f->mode.parallel;
    if (s->masked_in) /* dropout of the previous layer's output */
        vf_op_pass(OP_MUL, s->masked_in, H, f->layers[k - 1].h + B * H, H, p->mask[k], H, T * B, H, par);
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
            vf_op_pass(OP_MUL, din, H, din, H, p->mask[k], H, T * B, H, f->mode.parallel);
        dy = din;
        din = din == f->grad_a ? f->grad_b : f->grad_a;
    }
}

const char *nnb_varfast_vector_math(void) { return VECTOR_LIBM; }
