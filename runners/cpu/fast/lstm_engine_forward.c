/*
 * The CPU LSTM engine's forward (lstm_engine.h): every strategy's per-layer recurrence, and infer(n), which runs
 * the same forward on a view of the engine with batch n over buffers of its own. Separate from the backward
 * (lstm_engine_backward.c) and from creation (lstm_engine.c): these are the timed passes.
 */
#include "lstm_engine_internal.h"

#include <string.h>

static void run_cell_fwd(const lstm_engine *e, const nnb_cell_fwd_args *a) {
#pragma omp parallel num_threads(pass_threads(e))
    {
        int64_t j0, j1;
        column_slice(a->H, &j0, &j1);
        if (j0 < j1)
            nnb_fuser_cell_fwd(&e->fuser, a, j0, j1);
    }
}

/* Step t's rows of the gate block and of the cell state. The training forward keeps every step's (backward reads
 * them); infer()'s view keeps one step's gates where each step's GEMM fills its own block (the per-step
 * strategies) and only the last two cell states. */
static float *gates_at(const lstm_engine *e, const lstm_layer *ly, int64_t t) {
    const int one_step = e->infer_view && !is_premul(e);
    return ly->gates + (one_step ? 0 : e->off[t]) * 4 * e->H;
}

/* The fused cell's operands at step t of layer k (biases: added by the caller where the strategy wants them). */
static nnb_cell_fwd_args cell_fwd_at(const lstm_engine *e, const lstm_layer *ly, int64_t t) {
    nnb_cell_fwd_args a = {.rows = e->bs[t],
                           .H = e->H,
                           .gates = gates_at(e, ly, t),
                           .c_prev = c_prev(ly, e, t),
                           .c = c_at(e, ly, t),
                           .h = ly->hs + e->off[t] * e->H};
    return a;
}

static void gather_state(const lstm_engine *e, const float *src, float *dst) {
    for (int64_t r = 0; r < e->B; r++)
        memcpy(dst + r * e->H, src + e->perm[r] * e->H, sizeof(float) * (size_t)e->H);
}

/* hy/cy: each packed row's state after its own last step. */
static void final_states(const lstm_engine *e, const lstm_layer *ly, float *hy, float *cy) {
    int64_t H = e->H;
    for (int64_t r = 0; r < e->B; r++) {
        int64_t last = e->len[r] - 1;
        memcpy(hy + e->perm[r] * H, ly->hs + (e->off[last] + r) * H, sizeof(float) * (size_t)H);
        memcpy(cy + e->perm[r] * H, c_at(e, ly, last) + r * H, sizeof(float) * (size_t)H);
    }
}

/* Premultiplied recurrence: one parallel region for all T steps. Each thread
 * owns hidden columns [j0, j1) (whole GEMM panels): it computes its columns of
 * every gate's h.W_hh^T and then the cell on exactly those columns, so the only
 * synchronisation is one barrier per step (h_t complete before step t+1). */
static void recurrence_fwd_premul(lstm_engine *e, int64_t k) {
    lstm_layer *ly = &e->layers[k];
    const nnb_lstm_data *d = &e->d;
    const int64_t H = e->H, G = 4 * H;
#pragma omp parallel num_threads(pass_threads(e))
    {
        int64_t j0, j1;
        panel_slice(H, &j0, &j1);
        for (int64_t t = 0; t < e->T; t++) {
            int64_t rows = e->bs[t];
            float *g = gates_at(e, ly, t);
            const float *hp = h_prev(ly, e, t);
            if (j0 < j1) {
                if (ly->hprev)
                    for (int64_t r = 0; r < rows; r++)
                        memcpy(ly->hprev + (e->off[t] + r) * H + j0, hp + r * H + j0,
                               sizeof(float) * (size_t)(j1 - j0));
                const nnb_packed_b *w[4] = {&ly->whh_gate[0], &ly->whh_gate[1], &ly->whh_gate[2], &ly->whh_gate[3]};
                float *c[4] = {g, g + H, g + 2 * H, g + 3 * H};
                nnb_sgemm_packed_cols_multi('N', rows, hp, H, 4, w, c, j0, j1, 1.0f, G);
                nnb_cell_fwd_args a = cell_fwd_at(e, ly, t);
                a.bias1 = d->b_hh[k];
                if (e->mode != MODE_PREMUL_BIAS)
                    a.bias0 = d->b_ih[k];
                nnb_fuser_cell_fwd(&e->fuser, &a, j0, j1);
            }
#pragma omp barrier
        }
    }
}

static void forward_layer(lstm_engine *e, int64_t k) {
    lstm_layer *ly = &e->layers[k];
    const nnb_lstm_data *d = &e->d;
    const int64_t H = e->H, G = 4 * H, in = ly->in;
    const float *X = layer_input(e, k);
    int premul = is_premul(e);
    if (d->variable) {
        gather_state(e, d->hx + k * e->B * H, ly->h0);
        gather_state(e, d->cx + k * e->B * H, ly->c0);
    }
    if (e->mode == MODE_PREMUL_BIAS) {
        nnb_sgemm_packed_bias(e->threads, 'N', e->N, X, in, &ly->wih_t, d->b_ih[k], ly->gates, G);
    } else if (premul) {
        nnb_sgemm_packed(e->threads, 'N', e->N, X, in, &ly->wih_t, 0.0f, ly->gates, G);
    }
    if (premul)
        recurrence_fwd_premul(e, k);
    else
        for (int64_t t = 0; t < e->T; t++) {
            int64_t rows = e->bs[t];
            float *g = gates_at(e, ly, t);
            const float *hp = h_prev(ly, e, t);
            nnb_cell_fwd_args a = cell_fwd_at(e, ly, t);
            a.bias0 = d->b_ih[k];
            a.bias1 = d->b_hh[k];
            nnb_sgemm_packed(e->threads, 'N', rows, X + e->off[t] * in, in, &ly->wih_t, 0.0f, g, G);
            if (e->mode == MODE_ATEN) {
                nnb_sgemm_packed(e->threads, 'N', rows, hp, H, &ly->whh_t, 0.0f, e->gates_h, G);
                a.gates_add = e->gates_h;
            } else {
                nnb_sgemm_packed(e->threads, 'N', rows, hp, H, &ly->whh_t, 1.0f, g, G);
            }
            run_cell_fwd(e, &a);
        }
    final_states(e, ly, d->hy + k * e->B * H, d->cy + k * e->B * H);
}

int lstm_engine_forward(lstm_engine *e) {
    nnb_set_threads(e->threads);
    if (e->d.variable)
        lstm_engine_gather_rows(e, e->d.x, e->x_packed, e->d.I);
    for (int64_t k = 0; k < e->L; k++)
        forward_layer(e, k);
    if (e->d.variable)
        lstm_engine_scatter_rows(e, e->layers[e->L - 1].hs, e->d.y, e->H);
    return 0;
}

/* ---------------------------------------------------------------- inference */

/* infer()'s view of the engine: batch n, the model's (packed) weights, infer()'s buffers. The forward code runs on
 * it unchanged; nothing of the training forward's state is written. */
static void infer_view(const lstm_engine *e, int64_t n, const float *x, lstm_engine *v) {
    lstm_infer *inf = e->inf;
    const int64_t H = e->H;
    *v = *e;
    v->infer_view = 1;
    v->inf = NULL;
    v->B = n;
    v->N = e->T * n;
    for (int64_t t = 0; t < e->T; t++)
        inf->bs[t] = n, inf->off[t] = t * n;
    v->bs = inf->bs;
    v->off = inf->off;
    v->x_packed = (float *)x; /* read only: the layer input */
    v->d.hy = inf->io.hy;     /* (L, n, H) */
    v->d.cy = inf->io.cy;     /* (L, n, H) */
    v->layers = inf->layers;
    for (int64_t k = 0; k < e->L; k++) {
        lstm_layer *ly = &inf->layers[k];
        *ly = e->layers[k]; /* in, packed weights */
        ly->gates = inf->gates;
        ly->cs = inf->cs;
        ly->hs = k == e->L - 1 ? inf->io.y : inf->hs[k & 1];
        ly->h0 = e->d.hx + k * e->B * H; /* layer k's first n rows of (L, B, H) */
        ly->c0 = e->d.cx + k * e->B * H;
        ly->dgates = ly->dout = ly->hprev = ly->hs_own = ly->h0_own = ly->c0_own = NULL;
    }
}

int lstm_engine_infer(lstm_engine *e, int64_t n) {
    const float *x, *hx, *cx; /* x (T, n, I); hx, cx stay (L, B, H): the view reads their prefixes */
    nnb_lstm_infer_inputs(&e->inf->io, &e->d, n, &x, &hx, &cx);
    lstm_engine v;
    infer_view(e, n, x, &v);
    nnb_set_threads(e->threads);
    for (int64_t k = 0; k < e->L; k++)
        forward_layer(&v, k);
    nnb_lstm_infer_done(&e->inf->io, &e->d, n);
    return 0;
}
