/*
 * The CPU LSTM engine's backward (lstm_engine.h): per-step (ATEN, JIT) and premultiplied (PREMUL, PREMUL_BIAS)
 * recurrences, the weight, input and bias gradients. Separate from the forward (lstm_engine_forward.c): it only
 * reads what the training forward kept.
 */
#include "lstm_engine_internal.h"

#include <string.h>

static void run_cell_bwd(const lstm_engine *e, const nnb_cell_bwd_args *a) {
#pragma omp parallel num_threads(pass_threads(e))
    {
        int64_t j0, j1;
        column_slice(a->H, &j0, &j1);
        if (j0 < j1)
            nnb_fuser_cell_bwd(&e->fuser, a, j0, j1);
    }
}

/* db (4H) += column sums of g (rows, 4H). */
static void bias_grad_add(const lstm_engine *e, const float *g, int64_t rows, float *db) {
    int64_t G = 4 * e->H;
#pragma omp parallel num_threads(pass_threads(e))
    {
        int64_t j0, j1;
        column_slice(G, &j0, &j1);
        if (j0 < j1)
            nnb_colsum_add(g, rows, G, j0, j1, db);
    }
}

static void gemm(const lstm_engine *e, char ta, char tb, int64_t M, int64_t N, int64_t K, const float *A, int64_t lda,
                 const float *B, int64_t ldb, float beta, float *C, int64_t ldc) {
    nnb_sgemm(e->gemm, e->threads, ta, tb, M, N, K, A, lda, B, ldb, beta, C, ldc);
}

/* Backward of the cell at step t: dh = dout_t (NULL: none) + the recurrent dh, dc carried in place. */
static nnb_cell_bwd_args cell_bwd_at(const lstm_engine *e, const lstm_layer *ly, int64_t t, const float *dout) {
    int64_t o = e->off[t], H = e->H;
    nnb_cell_bwd_args a = {.rows = e->bs[t],
                           .H = H,
                           .act = ly->gates + o * 4 * H,
                           .c_prev = c_prev(ly, e, t),
                           .c = ly->cs + o * H,
                           .dh0 = dout ? dout + o * H : NULL,
                           .dh1 = e->dh_rec,
                           .dc_in = e->dc,
                           .dgates = ly->dgates + o * 4 * H,
                           .dc_prev = e->dc,
                           .ws = e->ws};
    return a;
}

/* Weight and input gradients of one step (ATEN, JIT). */
static void step_input_grads(lstm_engine *e, int64_t k, int64_t t, float *dX) {
    lstm_layer *ly = &e->layers[k];
    const nnb_lstm_data *d = &e->d;
    int64_t H = e->H, G = 4 * H, in = ly->in, rows = e->bs[t], o = e->off[t];
    const float *dg = ly->dgates + o * G;
    float beta = t == e->T - 1 ? 0.0f : 1.0f; /* the first step backward overwrites */
    nnb_sgemm_packed(e->threads, 'N', rows, dg, G, &ly->wih_n, 0.0f, dX + o * in, in);
    gemm(e, 'T', 'N', G, in, rows, dg, G, layer_input(e, k) + o * in, in, beta, d->dw_ih[k], in);
    gemm(e, 'T', 'N', G, H, rows, dg, G, h_prev(ly, e, t), H, beta, d->dw_hh[k], H);
}

/* The batched GEMMs of the premultiplied backward. */
static void batched_input_grads(lstm_engine *e, int64_t k, float *dX) {
    lstm_layer *ly = &e->layers[k];
    const nnb_lstm_data *d = &e->d;
    int64_t H = e->H, G = 4 * H, in = ly->in, N = e->N, B = e->B;
    const float *X = layer_input(e, k);
    nnb_sgemm_packed(e->threads, 'N', N, ly->dgates, G, &ly->wih_n, 0.0f, dX, in);
    /* dW_ih and dW_hh in one pass over dG^T: [dW_ih | dW_hh] = dG^T . [X | H_prev] */
    if (ly->hprev) {
        nnb_gemm_b_operand ops[2] = {{'N', in, X, in, d->dw_ih[k], in}, {'N', H, ly->hprev, H, d->dw_hh[k], H}};
        nnb_sgemm_shared_a(e->gemm, e->threads, 'T', G, N, ly->dgates, G, 2, ops, 0.0f);
    } else { /* fixed length: h entering step 0 is h0, then the outputs of steps 0..T-2 */
        nnb_gemm_b_operand first[2] = {{'N', in, X, in, d->dw_ih[k], in}, {'N', H, ly->h0, H, d->dw_hh[k], H}};
        nnb_sgemm_shared_a(e->gemm, e->threads, 'T', G, B, ly->dgates, G, 2, first, 0.0f);
        nnb_gemm_b_operand rest[2] = {{'N', in, X + B * in, in, d->dw_ih[k], in}, {'N', H, ly->hs, H, d->dw_hh[k], H}};
        if (N > B)
            nnb_sgemm_shared_a(e->gemm, e->threads, 'T', G, N - B, ly->dgates + B * G, G, 2, rest, 1.0f);
    }
}

/* The cell backward's operands for rows [r0, r1) of step t (all columns): cell_bwd_at shifted by r0 rows. */
static nnb_cell_bwd_args cell_bwd_rows(const lstm_engine *e, const lstm_layer *ly, int64_t t, const float *dout,
                                       int64_t r0, int64_t r1) {
    nnb_cell_bwd_args a = cell_bwd_at(e, ly, t, dout);
    const int64_t H = e->H;
    a.rows = r1 - r0;
    a.act += r0 * 4 * H;
    a.c_prev += r0 * H;
    a.c += r0 * H;
    if (a.dh0)
        a.dh0 += r0 * H;
    a.dh1 += r0 * H;
    a.dc_in += r0 * H;
    a.dgates += r0 * 4 * H;
    a.dc_prev += r0 * H;
    a.ws += r0 * 2 * H;
    return a;
}

/* Premultiplied backward recurrence, one parallel region. Per step: each thread runs the cell backward on its rows
 * (whole rows: long contiguous streams through the forward's activations, which come from memory) and packs its
 * rows of dG_t for the GEMM while they are hot; a barrier makes dG_t whole; each thread computes its columns of
 * dh = dG_t . W_hh; a barrier makes dh whole for the next step's rows. PREMUL reduces the bias gradients per step,
 * each thread into its own partial sums (added up once the loop is done). */
static void recurrence_bwd_premul(lstm_engine *e, int64_t k, const float *dout) {
    lstm_layer *ly = &e->layers[k];
    const int64_t H = e->H, G = 4 * H;
#pragma omp parallel num_threads(pass_threads(e))
    {
        int64_t j0, j1;
        panel_slice(H, &j0, &j1);
        const int tid = thread_id(), nt = thread_count();
        float *db_part = e->db_part ? e->db_part + tid * G : NULL;
        for (int64_t t = e->T - 1; t >= 0; t--) {
            int64_t rows = e->bs[t], o = e->off[t];
            float *dg = ly->dgates + o * G;
            int64_t panels = (rows + NNB_GEMM_MR - 1) / NNB_GEMM_MR, p0 = panels * tid / nt,
                    p1 = panels * (tid + 1) / nt;
            int64_t r0 = p0 * NNB_GEMM_MR, r1 = p1 * NNB_GEMM_MR < rows ? p1 * NNB_GEMM_MR : rows;
            if (r0 < r1) {
                nnb_cell_bwd_args a = cell_bwd_rows(e, ly, t, dout, r0, r1);
                nnb_fuser_cell_bwd(&e->fuser, &a, 0, H);
                if (db_part)
                    nnb_colsum_add(dg + r0 * G, r1 - r0, G, 0, G, db_part);
                if (e->dg_packed)
                    nnb_pack_a_panels_for(e->gemm, 'N', rows, G, dg, G, p0, p1, e->dg_packed);
            }
#pragma omp barrier
            /* rows past bs[t] keep dh_rec = dc = 0 until their sequence becomes active */
            if (j0 < j1) {
                if (e->dg_packed)
                    nnb_sgemm_prepacked_cols(rows, e->dg_packed, &ly->whh_n, j0, j1, 0.0f, e->dh_rec, H);
                else
                    nnb_sgemm_packed_cols('N', rows, dg, G, &ly->whh_n, j0, j1, 0.0f, e->dh_rec, H);
            }
#pragma omp barrier
        }
    }
}

static void backward_layer(lstm_engine *e, int64_t k) {
    lstm_layer *ly = &e->layers[k];
    nnb_lstm_data *d = &e->d;
    const int64_t H = e->H, G = 4 * H, B = e->B;
    int top = k == e->L - 1;
    const float *dout = top ? (e->simple ? NULL : e->grad_packed) : ly->dout;
    float *dX = k == 0 ? e->dx_packed : e->layers[k - 1].dout;
    int batched = is_premul(e);
    memset(e->dc, 0, sizeof(float) * (size_t)(B * H));
    if (top && e->simple)
        memcpy(e->dh_rec, e->grad_hy, sizeof(float) * (size_t)(B * H));
    else
        memset(e->dh_rec, 0, sizeof(float) * (size_t)(B * H));
    memset(d->db_ih[k], 0, sizeof(float) * (size_t)G);
    if (e->db_part)
        memset(e->db_part, 0, sizeof(float) * (size_t)(pass_threads(e) * G));
    memset(d->db_hh[k], 0, sizeof(float) * (size_t)G);
    if (batched)
        recurrence_bwd_premul(e, k, dout);
    else
        for (int64_t t = e->T - 1; t >= 0; t--) {
            int64_t rows = e->bs[t], o = e->off[t];
            float *dg = ly->dgates + o * G;
            nnb_cell_bwd_args a = cell_bwd_at(e, ly, t, dout);
            run_cell_bwd(e, &a);
            /* rows past bs[t] keep dh_rec = dc = 0 until their sequence becomes active */
            nnb_sgemm_packed(e->threads, 'N', rows, dg, G, &ly->whh_n, 0.0f, e->dh_rec, H);
            step_input_grads(e, k, t, dX);
            bias_grad_add(e, dg, rows, d->db_ih[k]);
            bias_grad_add(e, dg, rows, d->db_hh[k]);
        }
    if (batched)
        batched_input_grads(e, k, dX);
    if (e->mode == MODE_PREMUL_BIAS) /* both biases have the same gradient: reduce once */
        bias_grad_add(e, ly->dgates, e->N, d->db_ih[k]);
    if (e->db_part) { /* PREMUL: the per-thread partial bias sums of the recurrence */
        for (int t = 0; t < pass_threads(e); t++)
            for (int64_t j = 0; j < G; j++)
                d->db_ih[k][j] += e->db_part[t * G + j];
    }
    if (batched)
        memcpy(d->db_hh[k], d->db_ih[k], sizeof(float) * (size_t)G);
    for (int64_t r = 0; r < B; r++) {
        memcpy(d->dhx + (k * B + e->perm[r]) * H, e->dh_rec + r * H, sizeof(float) * (size_t)H);
        memcpy(d->dcx + (k * B + e->perm[r]) * H, e->dc + r * H, sizeof(float) * (size_t)H);
    }
}

int lstm_engine_backward(lstm_engine *e) {
    nnb_set_threads(e->threads);
    if (e->d.variable)
        lstm_engine_gather_rows(e, e->d.grad_y, e->grad_packed, e->H);
    for (int64_t k = e->L - 1; k >= 0; k--)
        backward_layer(e, k);
    if (e->d.variable)
        lstm_engine_scatter_rows(e, e->dx_packed, e->d.dx, e->d.I);
    return 0;
}
