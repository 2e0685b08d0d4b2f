/*
 * The independent source the oneDNN runner tests check against: a plain double-precision LSTM forward + BPTT
 * (loss = sum(y * grad_y)) written from the per-element math of kernels/lstm_cell_math.h, with variable lengths
 * (packed-sequence semantics) and dropout masks from nnb_dropout_mask, run on a runner's own params(). Shared by
 * tests/onednn_should_match_reference.c and tests/onednn_should_compute_in_bf16.c (static: one copy each).
 */
#ifndef NNB_TEST_ONEDNN_PLAIN_LSTM_H
#define NNB_TEST_ONEDNN_PLAIN_LSTM_H

#include "lstm_cell_math.h"
#include "lstm_data.h"
#include "nnb_support.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct plain_in {
    int64_t T, B, I, H, L;
    const int64_t *lengths; /* NULL: all T */
    const float *x, *hx, *cx, *grad_y;
    const float *w_ih[8], *w_hh[8], *b_ih[8], *b_hh[8];
    float dropout_p; /* 0: none; else masks on the inputs of layers >= 1 */
    uint64_t seed;
} plain_in;

typedef struct plain_out {
    double *y, *hy, *cy, *dx, *dhx, *dcx; /* (T,B,H) (L,B,H) (L,B,H) (T,B,I) (L,B,H) (L,B,H) */
    double *dw_ih[8], *dw_hh[8], *db[8];
} plain_out;

static double *dalloc(size_t n) { return (double *)calloc(n ? n : 1, sizeof(double)); }

static int active(const plain_in *p, int64_t t, int64_t b) { return !p->lengths || t < p->lengths[b]; }

/* Plain LSTM forward + backward (loss = sum(y * grad_y)), in double. */
static void plain_lstm(const plain_in *p, plain_out *o) {
    const int64_t T = p->T, B = p->B, H = p->H, L = p->L, G = 4 * H;
    double *in = dalloc((size_t)(T * B * (p->I > H ? p->I : H)));   /* layer input (T, B, in) */
    double **acts = (double **)calloc((size_t)L, sizeof(double *)); /* [L] (T, B, 4H) activated gates */
    double **cs = (double **)calloc((size_t)L, sizeof(double *));   /* [L] (T+1, B, H) cell, c[0] = cx */
    double **hs = (double **)calloc((size_t)L, sizeof(double *));   /* [L] (T+1, B, H) hidden */
    double **ins = (double **)calloc((size_t)L, sizeof(double *));  /* [L] (T, B, in_k) layer inputs */
    float **masks = (float **)calloc((size_t)L, sizeof(float *));
    o->y = dalloc((size_t)(T * B * H)), o->dx = dalloc((size_t)(T * B * p->I));
    o->hy = dalloc((size_t)(L * B * H)), o->cy = dalloc((size_t)(L * B * H));
    o->dhx = dalloc((size_t)(L * B * H)), o->dcx = dalloc((size_t)(L * B * H));
    for (int64_t e = 0; e < T * B * p->I; e++)
        in[e] = p->x[e];
    for (int64_t k = 0; k < L; k++) {
        const int64_t in_k = k == 0 ? p->I : H;
        if (k > 0 && p->dropout_p > 0) {
            masks[k] = (float *)calloc((size_t)(T * B * H), sizeof(float));
            nnb_dropout_mask(masks[k], (size_t)(T * B * H), p->seed, (int)k, p->dropout_p);
            for (int64_t e = 0; e < T * B * H; e++)
                in[e] *= masks[k][e];
        }
        ins[k] = dalloc((size_t)(T * B * in_k));
        memcpy(ins[k], in, sizeof(double) * (size_t)(T * B * in_k));
        acts[k] = dalloc((size_t)(T * B * G));
        cs[k] = dalloc((size_t)((T + 1) * B * H)), hs[k] = dalloc((size_t)((T + 1) * B * H));
        for (int64_t e = 0; e < B * H; e++)
            hs[k][e] = p->hx[k * B * H + e], cs[k][e] = p->cx[k * B * H + e];
        for (int64_t t = 0; t < T; t++)
            for (int64_t b = 0; b < B; b++) {
                double *hp = hs[k] + (t * B + b) * H, *cp = cs[k] + (t * B + b) * H;
                double *hn = hs[k] + ((t + 1) * B + b) * H, *cn = cs[k] + ((t + 1) * B + b) * H;
                if (!active(p, t, b)) { /* finished: carry the state, output zero */
                    memcpy(hn, hp, sizeof(double) * (size_t)H), memcpy(cn, cp, sizeof(double) * (size_t)H);
                    for (int64_t j = 0; j < H; j++)
                        in[(t * B + b) * H + j] = 0;
                    continue;
                }
                double *a = acts[k] + (t * B + b) * G;
                for (int64_t r = 0; r < G; r++) {
                    double s = (double)p->b_ih[k][r] + p->b_hh[k][r];
                    for (int64_t c = 0; c < in_k; c++)
                        s += p->w_ih[k][r * in_k + c] * ins[k][(t * B + b) * in_k + c];
                    for (int64_t c = 0; c < H; c++)
                        s += p->w_hh[k][r * H + c] * hp[c];
                    a[r] = s;
                }
                for (int64_t j = 0; j < H; j++) {
                    nnb_lstm_cell_fwdd(&a[j], &a[H + j], &a[2 * H + j], &a[3 * H + j], cp[j], &cn[j], &hn[j]);
                    in[(t * B + b) * H + j] = hn[j]; /* next layer's input (in is reused: in_k is read above) */
                }
            }
        for (int64_t b = 0; b < B; b++)
            for (int64_t j = 0; j < H; j++) {
                o->hy[(k * B + b) * H + j] = hs[k][(T * B + b) * H + j];
                o->cy[(k * B + b) * H + j] = cs[k][(T * B + b) * H + j];
            }
    }
    memcpy(o->y, in, sizeof(double) * (size_t)(T * B * H));

    double *dy = dalloc((size_t)(T * B * H)); /* gradient reaching the current layer's output */
    for (int64_t e = 0; e < T * B * H; e++)
        dy[e] = p->grad_y[e];
    double *dh = dalloc((size_t)(B * H)), *dc = dalloc((size_t)(B * H)), *da = dalloc((size_t)G);
    for (int64_t k = L - 1; k >= 0; k--) {
        const int64_t in_k = k == 0 ? p->I : H;
        double *din = dalloc((size_t)(T * B * in_k));
        o->dw_ih[k] = dalloc((size_t)(G * in_k)), o->dw_hh[k] = dalloc((size_t)(G * H)), o->db[k] = dalloc((size_t)G);
        memset(dh, 0, sizeof(double) * (size_t)(B * H)), memset(dc, 0, sizeof(double) * (size_t)(B * H));
        for (int64_t t = T - 1; t >= 0; t--)
            for (int64_t b = 0; b < B; b++) {
                if (!active(p, t, b))
                    continue; /* state carried unchanged: gradient passes through */
                const double *a = acts[k] + (t * B + b) * G, *cp = cs[k] + (t * B + b) * H;
                const double *cn = cs[k] + ((t + 1) * B + b) * H, *hp = hs[k] + (t * B + b) * H;
                double *dhb = dh + b * H, *dcb = dc + b * H;
                for (int64_t j = 0; j < H; j++) {
                    double dcp;
                    nnb_lstm_cell_bwdd(a[j], a[H + j], a[2 * H + j], a[3 * H + j], cp[j], cn[j],
                                       dy[(t * B + b) * H + j] + dhb[j], dcb[j], &da[j], &da[H + j], &da[2 * H + j],
                                       &da[3 * H + j], &dcp);
                    dcb[j] = dcp;
                }
                for (int64_t c = 0; c < H; c++)
                    dhb[c] = 0;
                for (int64_t r = 0; r < G; r++) {
                    o->db[k][r] += da[r];
                    for (int64_t c = 0; c < in_k; c++) {
                        o->dw_ih[k][r * in_k + c] += da[r] * ins[k][(t * B + b) * in_k + c];
                        din[(t * B + b) * in_k + c] += p->w_ih[k][r * in_k + c] * da[r];
                    }
                    for (int64_t c = 0; c < H; c++) {
                        o->dw_hh[k][r * H + c] += da[r] * hp[c];
                        dhb[c] += p->w_hh[k][r * H + c] * da[r];
                    }
                }
            }
        memcpy(o->dhx + k * B * H, dh, sizeof(double) * (size_t)(B * H));
        memcpy(o->dcx + k * B * H, dc, sizeof(double) * (size_t)(B * H));
        if (k == 0) {
            memcpy(o->dx, din, sizeof(double) * (size_t)(T * B * p->I));
        } else {
            for (int64_t e = 0; e < T * B * H; e++)
                dy[e] = din[e] * (masks[k] ? masks[k][e] : 1.0);
        }
        free(din);
    }
    for (int64_t k = 0; k < L; k++)
        free(acts[k]), free(cs[k]), free(hs[k]), free(ins[k]), free(masks[k]);
    free(acts), free(cs), free(hs), free(ins), free(masks), free(in), free(dy), free(dh), free(dc), free(da);
}

static void plain_free(plain_out *o, int64_t L) {
    free(o->y), free(o->hy), free(o->cy), free(o->dx), free(o->dhx), free(o->dcx);
    for (int64_t k = 0; k < L; k++)
        free(o->dw_ih[k]), free(o->dw_hh[k]), free(o->db[k]);
}

static const nnb_tensor *find(const nnb_tensor_list *l, const char *name) {
    for (int i = 0; i < l->count; i++)
        if (!strcmp(l->items[i].name, name))
            return &l->items[i];
    return NULL;
}

/* The plain LSTM's inputs: the runner's own params() (x, hx, cx, grad_y, weights, lengths), sizes from cfg. */
static void plain_from_params(plain_in *p, const nnb_tensor_list *params, const nnb_config *cfg, float dropout_p) {
    memset(p, 0, sizeof *p);
    p->T = find(params, "x")->shape[0], p->B = cfg->mini_batch, p->I = cfg->input_size, p->H = cfg->hidden_size;
    p->L = cfg->num_layers, p->dropout_p = dropout_p, p->seed = cfg->seed;
    p->x = find(params, "x")->data, p->hx = find(params, "hx")->data, p->cx = find(params, "cx")->data;
    p->grad_y = find(params, "grad_y")->data;
    const nnb_tensor *len = find(params, "lengths");
    p->lengths = len ? (const int64_t *)len->data : NULL;
    char nm[32];
    for (int64_t k = 0; k < p->L; k++) {
        snprintf(nm, sizeof nm, "w_ih_l%lld", (long long)k), p->w_ih[k] = find(params, nm)->data;
        snprintf(nm, sizeof nm, "w_hh_l%lld", (long long)k), p->w_hh[k] = find(params, nm)->data;
        snprintf(nm, sizeof nm, "b_ih_l%lld", (long long)k), p->b_ih[k] = find(params, nm)->data;
        snprintf(nm, sizeof nm, "b_hh_l%lld", (long long)k), p->b_hh[k] = find(params, nm)->data;
    }
}

#endif
