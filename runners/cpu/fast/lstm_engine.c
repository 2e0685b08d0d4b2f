/* The CPU LSTM engine of nnb_cpu_fast: see lstm_engine.h for the strategies. */
#include "lstm_engine.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifdef _OPENMP
#include <omp.h>
#endif

/* ---------------------------------------------------------------- helpers */

static int thread_id(void) {
#ifdef _OPENMP
    return omp_get_thread_num();
#else
    return 0;
#endif
}

static int thread_count(void) {
#ifdef _OPENMP
    return omp_get_num_threads();
#else
    return 1;
#endif
}

/* Our own passes run on the OpenMP team unless the GEMM is OpenBLAS's, whose
 * pthreads would fight spinning OpenMP threads: then our passes run serially. */
static int pass_threads(const lstm_engine *e) { return e->gemm == NNB_GEMM_CBLAS ? 1 : e->threads; }

/* This thread's slice of [0, H), in 16-column chunks. */
static void column_slice(int64_t H, int64_t *j0, int64_t *j1) {
    int t = thread_id(), nt = thread_count();
    int64_t chunks = (H + 15) / 16;
    *j0 = chunks * t / nt * 16;
    *j1 = chunks * (t + 1) / nt * 16;
    if (*j1 > H)
        *j1 = H;
    if (*j0 > H)
        *j0 = H;
}

/* This thread's slice of [0, H) in whole GEMM panels (NNB_GEMM_NR columns). */
static void panel_slice(int64_t H, int64_t *j0, int64_t *j1) {
    int t = thread_id(), nt = thread_count();
    int64_t panels = (H + NNB_GEMM_NR - 1) / NNB_GEMM_NR;
    *j0 = panels * t / nt * NNB_GEMM_NR;
    *j1 = panels * (t + 1) / nt * NNB_GEMM_NR;
    if (*j1 > H)
        *j1 = H;
    if (*j0 > H)
        *j0 = H;
}

static void run_cell_fwd(const lstm_engine *e, const nnb_cell_fwd_args *a) {
#pragma omp parallel num_threads(pass_threads(e))
    {
        int64_t j0, j1;
        column_slice(a->H, &j0, &j1);
        if (j0 < j1)
            nnb_fuser_cell_fwd(&e->fuser, a, j0, j1);
    }
}

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

static const float *layer_input(const lstm_engine *e, int64_t k) { return k == 0 ? e->x_packed : e->layers[k - 1].hs; }

static const float *h_prev(const lstm_layer *ly, const lstm_engine *e, int64_t t) {
    return t == 0 ? ly->h0 : ly->hs + e->off[t - 1] * e->H;
}

static int is_premul(const lstm_engine *e) { return e->mode == MODE_PREMUL || e->mode == MODE_PREMUL_BIAS; }

/* Step t's rows of the gate block and of the cell state. The training forward keeps every step's (backward reads
 * them); infer()'s view keeps one step's gates where each step's GEMM fills its own block (the per-step
 * strategies) and only the last two cell states. */
static float *gates_at(const lstm_engine *e, const lstm_layer *ly, int64_t t) {
    const int one_step = e->infer_view && !is_premul(e);
    return ly->gates + (one_step ? 0 : e->off[t]) * 4 * e->H;
}

static float *c_at(const lstm_engine *e, const lstm_layer *ly, int64_t t) {
    return ly->cs + (e->infer_view ? (t & 1) * e->B : e->off[t]) * e->H;
}

static const float *c_prev(const lstm_layer *ly, const lstm_engine *e, int64_t t) {
    return t == 0 ? ly->c0 : c_at(e, ly, t - 1);
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

/* ---------------------------------------------------------------- packing of the batch */

static int by_length_desc(const void *a, const void *b, void *lens) {
    const int64_t *l = lens;
    int64_t ia = *(const int64_t *)a, ib = *(const int64_t *)b;
    if (l[ia] != l[ib])
        return l[ia] > l[ib] ? -1 : 1;
    return ia < ib ? -1 : ia > ib; /* stable */
}

/* Insertion sort (B is small); qsort_r is not C11. */
static void sort_by_length(int64_t *perm, const int64_t *lens, int64_t B) {
    for (int64_t b = 0; b < B; b++)
        perm[b] = b;
    for (int64_t i = 1; i < B; i++) {
        int64_t v = perm[i], j = i;
        while (j > 0 && by_length_desc(&perm[j - 1], &v, (void *)lens) > 0) {
            perm[j] = perm[j - 1];
            j--;
        }
        perm[j] = v;
    }
}

static int build_steps(lstm_engine *e, char *err, size_t err_len) {
    int64_t T = e->T, B = e->B;
    e->bs = nnb_alloc_bytes(sizeof(int64_t) * (size_t)T);
    e->off = nnb_alloc_bytes(sizeof(int64_t) * (size_t)T);
    e->perm = nnb_alloc_bytes(sizeof(int64_t) * (size_t)B);
    e->len = nnb_alloc_bytes(sizeof(int64_t) * (size_t)B);
    if (!e->bs || !e->off || !e->perm || !e->len)
        return nnb_fail(err, err_len, "out of memory");
    if (e->d.variable) {
        sort_by_length(e->perm, e->d.lengths, B);
        for (int64_t r = 0; r < B; r++)
            e->len[r] = e->d.lengths[e->perm[r]];
    } else {
        for (int64_t r = 0; r < B; r++) {
            e->perm[r] = r;
            e->len[r] = T;
        }
    }
    e->N = 0;
    for (int64_t t = 0; t < T; t++) {
        int64_t n = 0;
        while (n < B && e->len[n] > t)
            n++;
        e->bs[t] = n;
        e->off[t] = e->N;
        e->N += n;
    }
    return 0;
}

/* rows of a (T, B, W) array -> packed (N, W), and back (zeros where inactive). */
static void gather_rows(const lstm_engine *e, const float *src, float *dst, int64_t W) {
    for (int64_t t = 0; t < e->T; t++)
        for (int64_t r = 0; r < e->bs[t]; r++)
            memcpy(dst + (e->off[t] + r) * W, src + (t * e->B + e->perm[r]) * W, sizeof(float) * (size_t)W);
}

static void scatter_rows(const lstm_engine *e, const float *src, float *dst, int64_t W) {
    for (int64_t t = 0; t < e->T; t++)
        for (int64_t r = 0; r < e->B; r++) {
            float *d = dst + (t * e->B + e->perm[r]) * W;
            if (r < e->bs[t])
                memcpy(d, src + (e->off[t] + r) * W, sizeof(float) * (size_t)W);
            else
                memset(d, 0, sizeof(float) * (size_t)W);
        }
}

/* ---------------------------------------------------------------- create / destroy */

static float *alloc2(size_t a, size_t b, int *fail) {
    size_t n;
    if (nnb_mul_size(&n, a, b)) {
        *fail = 1;
        return NULL;
    }
    float *p = nnb_alloc_floats(n);
    if (!p)
        *fail = 1;
    return p;
}

static int create_layer(lstm_engine *e, int64_t k, char *err, size_t err_len) {
    lstm_layer *ly = &e->layers[k];
    const nnb_lstm_data *d = &e->d;
    int64_t H = e->H, G = 4 * H, in = nnb_lstm_layer_input(d, k);
    size_t N = (size_t)e->N, B = (size_t)e->B;
    int fail = 0;
    ly->in = in;
    if (nnb_pack_b(&ly->wih_t, e->gemm, 'T', in, G, d->w_ih[k], in) ||
        nnb_pack_b(&ly->whh_t, e->gemm, 'T', H, G, d->w_hh[k], H) ||
        nnb_pack_b(&ly->wih_n, e->gemm, 'N', G, in, d->w_ih[k], in) ||
        nnb_pack_b(&ly->whh_n, e->gemm, 'N', G, H, d->w_hh[k], H))
        return nnb_fail(err, err_len, "out of memory packing layer %lld weights", (long long)k);
    for (int q = 0; q < 4 && is_premul(e); q++)
        if (nnb_pack_b(&ly->whh_gate[q], e->gemm, 'T', H, H, d->w_hh[k] + (size_t)q * (size_t)H * (size_t)H, H))
            return nnb_fail(err, err_len, "out of memory packing layer %lld weights", (long long)k);
    ly->gates = alloc2(N, (size_t)G, &fail);
    ly->dgates = alloc2(N, (size_t)G, &fail);
    ly->cs = alloc2(N, (size_t)H, &fail);
    int top = k == e->L - 1;
    if (top && !d->variable) {
        ly->hs = d->y; /* fixed-length top layer writes y directly */
    } else {
        ly->hs_own = alloc2(N, (size_t)H, &fail);
        ly->hs = ly->hs_own;
    }
    if (d->variable) {
        ly->h0_own = alloc2(B, (size_t)H, &fail);
        ly->c0_own = alloc2(B, (size_t)H, &fail);
        ly->h0 = ly->h0_own;
        ly->c0 = ly->c0_own;
        if (is_premul(e))
            ly->hprev = alloc2(N, (size_t)H, &fail);
    } else {
        ly->h0 = d->hx + (size_t)k * B * (size_t)H;
        ly->c0 = d->cx + (size_t)k * B * (size_t)H;
    }
    if (!top)
        ly->dout = alloc2(N, (size_t)H, &fail);
    if (fail)
        return nnb_fail(err, err_len, "out of memory for layer %lld buffers (N=%lld, H=%lld)", (long long)k,
                        (long long)e->N, (long long)H);
    return 0;
}

/* infer()'s buffers, for n up to B (see lstm_engine.h). */
static int create_infer(lstm_engine *e, char *err, size_t err_len) {
    const size_t T = (size_t)e->T, B = (size_t)e->B, H = (size_t)e->H, L = (size_t)e->L;
    lstm_infer *inf = e->inf = nnb_alloc_bytes(sizeof *inf);
    if (!inf)
        return nnb_fail(err, err_len, "out of memory");
    if (nnb_lstm_infer_bufs_init(&inf->io, &e->d, NNB_INFER_PACK_X, err, err_len))
        return -1;
    int fail = 0;
    inf->gates = alloc2(is_premul(e) ? T * B : B, 4 * H, &fail); /* (T, B, 4H) or (B, 4H) */
    inf->cs = alloc2(2 * B, H, &fail);                           /* (2, B, H) */
    for (size_t i = 0; i < 2 && i + 1 < L; i++)
        inf->hs[i] = alloc2(T * B, H, &fail); /* (T, B, H) */
    inf->bs = nnb_alloc_bytes(sizeof(int64_t) * T);
    inf->off = nnb_alloc_bytes(sizeof(int64_t) * T);
    inf->layers = nnb_alloc_bytes(sizeof(lstm_layer) * L);
    if (fail || !inf->bs || !inf->off || !inf->layers)
        return nnb_fail(err, err_len, "out of memory for inference buffers");
    return 0;
}

static void destroy_infer(lstm_infer *inf) {
    if (!inf)
        return;
    nnb_lstm_infer_bufs_free(&inf->io);
    void *bufs[] = {inf->gates, inf->cs, inf->hs[0], inf->hs[1], inf->bs, inf->off, inf->layers};
    for (size_t i = 0; i < sizeof bufs / sizeof *bufs; i++)
        nnb_free(bufs[i]);
    nnb_free(inf);
}

int lstm_engine_create(lstm_engine *e, const nnb_config *cfg, const lstm_engine_opts *o, char *err, size_t err_len) {
    memset(e, 0, sizeof *e);
    e->mode = o->mode;
    e->simple = o->simple;
    e->threads = cfg->threads < 1 ? 1 : cfg->threads;
    /* --fuser and --executor were checked by the runner (nnb_check_fuser_executor); this selects the passes. */
    if (o->force_unfused) {
        if (nnb_fuser_select("none", &e->fuser, err, err_len))
            return -1;
        /* aten is unfused by definition; a bad --fuser name is still an error */
        nnb_fuser unused;
        if (nnb_fuser_select(cfg->fuser, &unused, err, err_len))
            return -1;
    } else if (nnb_fuser_select(cfg->fuser, &e->fuser, err, err_len)) {
        return -1;
    }
    e->gemm = nnb_gemm_default_impl();
    const char *forced = getenv("NNB_CPU_GEMM"); /* own | cblas | plain: exercise the portable paths */
    if (forced && *forced) {
        static const char *const impls[] = {"own", "cblas", "plain"};
        int found = -1;
        for (int i = 0; i < 3; i++)
            if (!strcmp(forced, impls[i]))
                found = i;
        if (found < 0 || !nnb_gemm_impl_available((nnb_gemm_impl)found))
            return nnb_fail(err, err_len, "NNB_CPU_GEMM='%s' not available here (valid: own (AVX-512), cblas, plain)",
                            forced);
        e->gemm = (nnb_gemm_impl)found;
    }
    nnb_set_threads(e->threads);
    if (nnb_lstm_data_init(&e->d, cfg, o->variable, o->simple ? 1 : 0, err, err_len))
        return -1;
    nnb_lstm_data *d = &e->d;
    e->T = d->T;
    e->B = d->B;
    e->H = d->H;
    e->L = d->L;
    if (build_steps(e, err, err_len))
        return -1;
    int fail = 0;
    size_t B = (size_t)e->B, H = (size_t)e->H;
    e->layers = nnb_alloc_bytes(sizeof(lstm_layer) * (size_t)e->L);
    if (!e->layers)
        return nnb_fail(err, err_len, "out of memory");
    if (d->variable) {
        e->x_packed = alloc2((size_t)e->N, (size_t)d->I, &fail);
        e->dx_packed = alloc2((size_t)e->N, (size_t)d->I, &fail);
        e->grad_packed = alloc2((size_t)e->N, H, &fail);
    } else {
        e->x_packed = d->x;
        e->dx_packed = d->dx;
        e->grad_packed = d->grad_y;
    }
    e->dh_rec = alloc2(B, H, &fail);
    e->dc = alloc2(B, H, &fail);
    e->ws = alloc2(B, 2 * H, &fail);
    if (e->mode == MODE_ATEN)
        e->gates_h = alloc2(B, 4 * H, &fail);
    if (o->simple) {
        e->grad_hy = alloc2(B, H, &fail);
        if (e->grad_hy)
            nnb_fill_normal(e->grad_hy, B * H, cfg->seed, NNB_SIMPLE_GRAD_STREAM);
    }
    if (e->gemm == NNB_GEMM_OWN_AVX512 && is_premul(e)) {
        size_t n = nnb_packed_a_floats(e->B, 4 * e->H);
        e->dg_packed = n ? nnb_alloc_floats(n) : NULL;
        if (!e->dg_packed)
            fail = 1;
    }
    if (e->mode == MODE_PREMUL)
        e->db_part = alloc2((size_t)e->threads, 4 * H, &fail);
    if (fail)
        return nnb_fail(err, err_len, "out of memory for LSTM work buffers");
    for (int64_t k = 0; k < e->L; k++)
        if (create_layer(e, k, err, err_len))
            return -1;
    if (o->infer && !o->variable && !o->simple && create_infer(e, err, err_len))
        return -1;
    return 0;
}

void lstm_engine_destroy(lstm_engine *e) {
    if (!e)
        return;
    if (e->layers)
        for (int64_t k = 0; k < e->L; k++) {
            lstm_layer *ly = &e->layers[k];
            nnb_packed_b_free(&ly->wih_t);
            nnb_packed_b_free(&ly->whh_t);
            nnb_packed_b_free(&ly->wih_n);
            nnb_packed_b_free(&ly->whh_n);
            for (int q = 0; q < 4; q++)
                nnb_packed_b_free(&ly->whh_gate[q]);
            float *bufs[] = {ly->gates, ly->dgates, ly->cs, ly->hs_own, ly->h0_own, ly->c0_own, ly->dout, ly->hprev};
            for (size_t i = 0; i < sizeof bufs / sizeof *bufs; i++)
                nnb_free(bufs[i]);
        }
    nnb_free(e->layers);
    if (e->d.variable) {
        nnb_free(e->x_packed);
        nnb_free(e->dx_packed);
        nnb_free(e->grad_packed);
    }
    float *bufs[] = {e->gates_h, e->dh_rec, e->dc, e->ws, e->grad_hy, e->dg_packed, e->db_part};
    for (size_t i = 0; i < sizeof bufs / sizeof *bufs; i++)
        nnb_free(bufs[i]);
    nnb_free(e->bs);
    nnb_free(e->off);
    nnb_free(e->perm);
    nnb_free(e->len);
    nnb_free(e->simple_params);
    nnb_free(e->simple_outputs);
    destroy_infer(e->inf);
    nnb_lstm_data_free(&e->d);
    memset(e, 0, sizeof *e);
}

/* ---------------------------------------------------------------- forward */

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
        gather_rows(e, e->d.x, e->x_packed, e->d.I);
    for (int64_t k = 0; k < e->L; k++)
        forward_layer(e, k);
    if (e->d.variable)
        scatter_rows(e, e->layers[e->L - 1].hs, e->d.y, e->H);
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

/* One packed operand made from a weight matrix: op, its (K, N), and where in the matrix it starts. */
typedef struct weight_copy {
    nnb_packed_b *p;
    char trans;
    int64_t K, N;
    size_t offset;
} weight_copy;

/* The packed operands made from layer k's weight of this kind (none for biases: the cell reads those). */
static int weight_copies(lstm_engine *e, int64_t k, nnb_lstm_param_kind kind, weight_copy *c, int64_t *ld) {
    lstm_layer *ly = &e->layers[k];
    const int64_t H = e->H, G = 4 * H, in = ly->in;
    int n = 0;
    if (kind == NNB_PARAM_W_IH) {
        *ld = in;
        c[n++] = (weight_copy){&ly->wih_t, 'T', in, G, 0};
        c[n++] = (weight_copy){&ly->wih_n, 'N', G, in, 0};
    } else if (kind == NNB_PARAM_W_HH) {
        *ld = H;
        c[n++] = (weight_copy){&ly->whh_t, 'T', H, G, 0};
        c[n++] = (weight_copy){&ly->whh_n, 'N', G, H, 0};
        for (int q = 0; q < 4 && is_premul(e); q++)
            c[n++] = (weight_copy){&ly->whh_gate[q], 'T', H, H, (size_t)q * (size_t)(H * H)};
    }
    return n;
}

int lstm_engine_load_param(lstm_engine *e, const nnb_tensor *value, const char *runner, char *err, size_t err_len) {
    float *dst;
    int64_t k, ld = 0;
    nnb_lstm_param_kind kind;
    size_t count;
    if (nnb_lstm_param_lookup(&e->d, value, runner, &dst, &k, &kind, &count, err, err_len))
        return -1;
    weight_copy c[6];
    nnb_packed_b fresh[6];
    const int nc = weight_copies(e, k, kind, c, &ld);
    const float *src = value->data;
    for (int i = 0; i < nc; i++) /* pack first: when that fails, nothing has changed */
        if (nnb_pack_b(&fresh[i], e->gemm, c[i].trans, c[i].K, c[i].N, src + c[i].offset, ld)) {
            while (i-- > 0)
                nnb_packed_b_free(&fresh[i]);
            return nnb_fail(err, err_len, "%s: load_param: out of memory packing %s", runner, value->name);
        }
    memmove(dst, src, sizeof(float) * count); /* src may be params()' own view of dst */
    for (int i = 0; i < nc; i++) {
        fresh[i].src = dst + c[i].offset; /* OpenBLAS and the plain loop read the model's array itself */
        nnb_packed_b_free(c[i].p);
        *c[i].p = fresh[i];
    }
    return 0;
}

/* ---------------------------------------------------------------- backward */

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
                    nnb_pack_a_panels('N', rows, G, dg, G, p0, p1, e->dg_packed);
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
        gather_rows(e, e->d.grad_y, e->grad_packed, e->H);
    for (int64_t k = e->L - 1; k >= 0; k--)
        backward_layer(e, k);
    if (e->d.variable)
        scatter_rows(e, e->dx_packed, e->d.dx, e->d.I);
    return 0;
}

/* ---------------------------------------------------------------- describe */

static const char *infer_note(const lstm_engine *e) {
    return is_premul(e) ? "the forward on the first n sequences (x packed to (T, n, I)): all steps' gates by one GEMM, "
                          "cell state ring of 2, buffers of its own (training state untouched)"
                        : "the forward on the first n sequences (x packed to (T, n, I)): one step's gate block, "
                          "cell state ring of 2, buffers of its own (training state untouched)";
}

int lstm_engine_describe(const lstm_engine *e, const char *runner, char *buf, size_t len) {
    static const char *const modes[] = {
        "aten: per-step GEMMs x.W_ih^T and h.W_hh^T, one pass per pointwise op",
        "jit: per-step GEMMs into one gate block, fused cell pass",
        "premul: x.W_ih^T for all steps as one GEMM, per-step h.W_hh^T + fused cell in one OpenMP region "
        "(hidden columns split per thread, one barrier per step); backward recurrence: cell on each thread's rows, "
        "dh GEMM on its columns (two barriers per step); batched input-side backward",
        "premul_bias: premul with b_ih folded into the big GEMM's epilogue, b_hh per step; bias grads "
        "reduced once"};
    char gemm_desc[512], fuser_desc[256];
    nnb_gemm_impl_describe(e->gemm, gemm_desc, sizeof gemm_desc);
    nnb_fuser_describe(&e->fuser, fuser_desc, sizeof fuser_desc);
    int n = snprintf(buf, len,
                     "{\"runner\":\"%s\",\"strategy\":\"%s\",\"gemm\":\"%s\",\"weights_prepacked\":%s,"
                     "\"cpu_isa\":\"%s\",%s,\"threads\":%d,\"pass_threads\":%d,\"num_layers\":%lld,"
                     "\"packed_batch\":%s,\"infer\":\"%s\"}",
                     runner, modes[e->mode], gemm_desc, e->gemm == NNB_GEMM_OWN_AVX512 ? "true" : "false",
                     nnb_cpu_isa_name(nnb_cpu_isa_detect()), fuser_desc, e->threads, pass_threads(e), (long long)e->L,
                     e->d.variable ? "true" : "false", e->inf ? infer_note(e) : "none");
    return n < 0 || (size_t)n >= len ? -1 : 0;
}
