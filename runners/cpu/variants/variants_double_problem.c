/* See variants_double_problem.h. */
#include "variants_double_problem.h"

#include "nnb_support.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static double *new_uniform(variants_problem *pb, int64_t n, uint64_t seed, const char *stream, double lo, double hi) {
    double *a = calloc((size_t)n, sizeof *a);
    nnb_rng r = nnb_rng_for(seed, stream);
    for (int64_t e = 0; e < n; e++)
        a[e] = lo + (hi - lo) * nnb_rng_uniform(&r);
    pb->pool[pb->pooled++] = a;
    return a;
}

static double *new_zero(variants_problem *pb, int64_t n) { return new_uniform(pb, n, 0, "zero", 0, 0); }

static void track(variants_problem *pb, const char *name, int64_t k, double *value, double *grad, int64_t n) {
    snprintf(pb->t[pb->count].name, sizeof pb->t[pb->count].name, "%.30s_l%d", name, (int)(k % 10000)); /* L <= 1024 */
    pb->t[pb->count].value = value;
    pb->t[pb->count].grad = grad;
    pb->t[pb->count].n = n;
    pb->count++;
}

void variants_problem_build(variants_problem *pb, int layernorm, float dropout_p, int64_t T, int64_t B, int64_t I,
                            int64_t H, int64_t L) {
    memset(pb, 0, sizeof *pb);
    const uint64_t seed = 7;
    const int64_t G = 4 * H;
    nnb_varlstm_d *p = &pb->p;
    p->T = T, p->B = B, p->I = I, p->H = H, p->L = L, p->layernorm = layernorm;
    pb->x = new_uniform(pb, T * B * I, seed, "x", -1, 1);
    pb->hx = new_uniform(pb, L * B * H, seed, "hx", -1, 1);
    pb->cx = new_uniform(pb, L * B * H, seed, "cx", -1, 1);
    pb->grad_y = new_uniform(pb, T * B * H, seed, "grad_y", -1, 1);
    pb->y = new_zero(pb, T * B * H);
    pb->hy = new_zero(pb, L * B * H), pb->cy = new_zero(pb, L * B * H);
    pb->dx = new_zero(pb, T * B * I);
    pb->dhx = new_zero(pb, L * B * H), pb->dcx = new_zero(pb, L * B * H);
    track(pb, "x", 0, pb->x, pb->dx, T * B * I);
    track(pb, "hx", 0, pb->hx, pb->dhx, L * B * H);
    track(pb, "cx", 0, pb->cx, pb->dcx, L * B * H);
    char name[32];
    for (int64_t k = 0; k < L; k++) {
        int64_t in = k == 0 ? I : H;
        snprintf(name, sizeof name, "w_ih_l%lld", (long long)k);
        pb->w_ih[k] = new_uniform(pb, G * in, seed, name, -0.8, 0.8);
        snprintf(name, sizeof name, "w_hh_l%lld", (long long)k);
        pb->w_hh[k] = new_uniform(pb, G * H, seed, name, -0.8, 0.8);
        pb->dw_ih[k] = new_zero(pb, G * in), pb->dw_hh[k] = new_zero(pb, G * H);
        track(pb, "w_ih", k, pb->w_ih[k], pb->dw_ih[k], G * in);
        track(pb, "w_hh", k, pb->w_hh[k], pb->dw_hh[k], G * H);
        if (layernorm) {
            static const char *ln_names[NNB_LN_COUNT] = {"ln_i", "ln_h", "ln_c"};
            for (int n = 0; n < NNB_LN_COUNT; n++) {
                int64_t width = n == NNB_LN_C ? H : G;
                snprintf(name, sizeof name, "%s_weight_l%lld", ln_names[n], (long long)k);
                pb->ln_w[n][k] = new_uniform(pb, width, seed, name, 0.5, 1.5);
                snprintf(name, sizeof name, "%s_bias_l%lld", ln_names[n], (long long)k);
                pb->ln_b[n][k] = new_uniform(pb, width, seed, name, -0.3, 0.3);
                pb->dln_w[n][k] = new_zero(pb, width), pb->dln_b[n][k] = new_zero(pb, width);
                snprintf(name, sizeof name, "%s_weight", ln_names[n]);
                track(pb, name, k, pb->ln_w[n][k], pb->dln_w[n][k], width);
                snprintf(name, sizeof name, "%s_bias", ln_names[n]);
                track(pb, name, k, pb->ln_b[n][k], pb->dln_b[n][k], width);
            }
        } else {
            snprintf(name, sizeof name, "b_ih_l%lld", (long long)k);
            pb->b_ih[k] = new_uniform(pb, G, seed, name, -0.5, 0.5);
            snprintf(name, sizeof name, "b_hh_l%lld", (long long)k);
            pb->b_hh[k] = new_uniform(pb, G, seed, name, -0.5, 0.5);
            pb->db_ih[k] = new_zero(pb, G), pb->db_hh[k] = new_zero(pb, G);
            track(pb, "b_ih", k, pb->b_ih[k], pb->db_ih[k], G);
            track(pb, "b_hh", k, pb->b_hh[k], pb->db_hh[k], G);
        }
        if (dropout_p > 0 && k > 0) {
            float *m = calloc((size_t)(T * B * H), sizeof *m);
            nnb_dropout_mask(m, (size_t)(T * B * H), seed, (int)k, dropout_p);
            pb->mask[k] = new_zero(pb, T * B * H);
            for (int64_t e = 0; e < T * B * H; e++)
                pb->mask[k][e] = m[e];
            free(m);
        }
    }
    p->x = pb->x, p->hx = pb->hx, p->cx = pb->cx, p->grad_y = pb->grad_y;
    p->w_ih = (const double *const *)pb->w_ih, p->w_hh = (const double *const *)pb->w_hh;
    p->b_ih = (const double *const *)pb->b_ih, p->b_hh = (const double *const *)pb->b_hh;
    p->mask = dropout_p > 0 ? (const double *const *)pb->mask : NULL;
    for (int n = 0; n < NNB_LN_COUNT; n++) {
        p->ln_w[n] = (const double *const *)pb->ln_w[n], p->ln_b[n] = (const double *const *)pb->ln_b[n];
        p->dln_w[n] = pb->dln_w[n], p->dln_b[n] = pb->dln_b[n];
    }
    p->y = pb->y, p->hy = pb->hy, p->cy = pb->cy, p->dx = pb->dx, p->dhx = pb->dhx, p->dcx = pb->dcx;
    p->dw_ih = pb->dw_ih, p->dw_hh = pb->dw_hh, p->db_ih = pb->db_ih, p->db_hh = pb->db_hh;
}

void variants_problem_free(variants_problem *pb) {
    for (int i = 0; i < pb->pooled; i++)
        free(pb->pool[i]);
}
