/*
 * Template: definitions of the reference LSTM for one precision (see lstm_ref.h).
 * Included by lstm_ref.c with REAL, NNB_REF(name), CELL_FWD and CELL_BWD defined;
 * deliberately no include guard.
 */

/* ---------------------------------------------------------------------------------------------------------------
 * Dense products. One kernel, C (M, N) (+)= A (M, K) B (K, N), with A addressed through strides so a transposed A
 * costs nothing: A(i, p) = A[i * a_rs + p * a_cs]. Weights needed as B^T are transposed once per call instead.
 */

/* y[0:n] += a * x[0:n]: contiguous on both sides, so gcc -O3 vectorises it. */
NNB_REF_INLINE void NNB_REF(axpy)(int64_t n, REAL a, const REAL *restrict x, REAL *restrict y) {
    for (int64_t j = 0; j < n; j++)
        y[j] += a * x[j];
}

/* C[0:4, 0:TILE_COLS] += A[0:4, p0:p1] B[p0:p1, 0:TILE_COLS]: four rows of C share each load of a row of B, and
 * the block stays in local arrays of constant size (registers or L1) across the whole p loop. */
NNB_REF_INLINE void NNB_REF(gemm_block_4rows)(int64_t p0, int64_t p1, const REAL *A, int64_t a_rs, int64_t a_cs,
                                              const REAL *B, int64_t ldb, REAL *C, int64_t ldc) {
    REAL c0[TILE_COLS], c1[TILE_COLS], c2[TILE_COLS], c3[TILE_COLS];
    for (int j = 0; j < TILE_COLS; j++)
        c0[j] = C[j], c1[j] = C[ldc + j], c2[j] = C[2 * ldc + j], c3[j] = C[3 * ldc + j];
    for (int64_t p = p0; p < p1; p++) {
        const REAL *b = B + p * ldb;
        const REAL a0 = A[p * a_cs], a1 = A[a_rs + p * a_cs], a2 = A[2 * a_rs + p * a_cs], a3 = A[3 * a_rs + p * a_cs];
        for (int j = 0; j < TILE_COLS; j++) {
            const REAL bj = b[j];
            c0[j] += a0 * bj, c1[j] += a1 * bj, c2[j] += a2 * bj, c3[j] += a3 * bj;
        }
    }
    for (int j = 0; j < TILE_COLS; j++)
        C[j] = c0[j], C[ldc + j] = c1[j], C[2 * ldc + j] = c2[j], C[3 * ldc + j] = c3[j];
}

/* C[i0:i1, j0:j1] += A[i0:i1, p0:p1] B[p0:p1, j0:j1]. Each C element sums over p in increasing order, in the
 * register blocks and in the plain loop that covers the edges alike. */
NNB_REF_CLONES static void NNB_REF(gemm_tile)(int64_t i0, int64_t i1, int64_t p0, int64_t p1, int64_t j0, int64_t j1,
                                              const REAL *A, int64_t a_rs, int64_t a_cs, const REAL *B, int64_t ldb,
                                              REAL *C, int64_t ldc) {
    const int64_t i_blocked = i0 + (i1 - i0) / 4 * 4;
    const int64_t j_blocked = j0 + (j1 - j0) / TILE_COLS * TILE_COLS;
    for (int64_t i = i0; i < i_blocked; i += 4)
        for (int64_t j = j0; j < j_blocked; j += TILE_COLS)
            NNB_REF(gemm_block_4rows)(p0, p1, A + i * a_rs, a_rs, a_cs, B + j, ldb, C + i * ldc + j, ldc);
    /* Edges: columns right of the blocks, then rows below them. */
    for (int64_t i = i0; i < i_blocked && j_blocked < j1; i++)
        for (int64_t p = p0; p < p1; p++)
            NNB_REF(axpy)(j1 - j_blocked, A[i * a_rs + p * a_cs], B + p * ldb + j_blocked, C + i * ldc + j_blocked);
    for (int64_t i = i_blocked; i < i1; i++)
        for (int64_t p = p0; p < p1; p++)
            NNB_REF(axpy)(j1 - j0, A[i * a_rs + p * a_cs], B + p * ldb + j0, C + i * ldc + j0);
}

/* C (M, N) = A (M, K) B (K, N), or C += A B when accumulate. Rows of C are split into blocks (one per thread at a
 * time); inside a block, K and N are tiled so a (KC, NC) tile of B stays in L2 while it serves every row. */
static void NNB_REF(gemm)(int64_t M, int64_t N, int64_t K, const REAL *A, int64_t a_rs, int64_t a_cs, const REAL *B,
                          int64_t ldb, REAL *C, int64_t ldc, int accumulate) {
    const int64_t blocks = (M + GEMM_MB - 1) / GEMM_MB;
    NNB_OMP_FOR_IF(blocks > 1 && M * N * K >= PARALLEL_MIN_WORK)
    for (int64_t blk = 0; blk < blocks; blk++) {
        const int64_t i0 = blk * GEMM_MB, i1 = min_i64(M, i0 + GEMM_MB);
        if (!accumulate)
            for (int64_t i = i0; i < i1; i++)
                memset(C + i * ldc, 0, sizeof(REAL) * (size_t)N);
        for (int64_t p0 = 0; p0 < K; p0 += GEMM_KC)
            for (int64_t j0 = 0; j0 < N; j0 += GEMM_NC)
                NNB_REF(gemm_tile)
                (i0, i1, p0, min_i64(K, p0 + GEMM_KC), j0, min_i64(N, j0 + GEMM_NC), A, a_rs, a_cs, B, ldb, C, ldc);
    }
}

/* dst (cols, rows) = src (rows, cols)^T */
static void NNB_REF(transpose)(int64_t rows, int64_t cols, const REAL *src, REAL *dst) {
    NNB_OMP_FOR_IF(rows * cols >= PARALLEL_MIN_WORK)
    for (int64_t c = 0; c < cols; c++)
        for (int64_t r = 0; r < rows; r++)
            dst[c * rows + r] = src[r * cols + c];
}

/* ---------------------------------------------------------------------------------------------------------------
 * Sizes and buffers.
 */

int NNB_REF(nnb_ref_lstm_init)(NNB_REF(nnb_ref_lstm) * m, int64_t T, int64_t B, int64_t I, int64_t H, int64_t L,
                               const int64_t *lengths, char *err, size_t err_len) {
    memset(m, 0, sizeof *m);
    if (T < 1 || B < 1 || I < 1 || H < 1 || L < 1)
        return nnb_fail(err, err_len, "reference LSTM: sizes must be positive (T=%lld B=%lld I=%lld H=%lld L=%lld)",
                        (long long)T, (long long)B, (long long)I, (long long)H, (long long)L);
    if (H > INT64_MAX / 4 || T == INT64_MAX)
        return nnb_fail(err, err_len, "reference LSTM: sizes overflow int64");
    for (int64_t b = 0; lengths && b < B; b++)
        if (lengths[b] < 1 || lengths[b] > T)
            return nnb_fail(err, err_len, "reference LSTM: lengths[%lld] = %lld outside 1..T=%lld", (long long)b,
                            (long long)lengths[b], (long long)T);
    m->T = T, m->B = B, m->I = I, m->H = H, m->L = L;
    size_t n_gates, n_states, n_wt, n_dgates, n_dy, n_bh, n_bias;
    if (checked_count(&n_gates, L, T, B, 4 * H) || checked_count(&n_states, L, T + 1, B, H) ||
        checked_count(&n_wt, I > H ? I : H, 4 * H, 1, 1) || checked_count(&n_dgates, T, B, 4 * H, 1) ||
        checked_count(&n_dy, T, B, H, 1) || checked_count(&n_bh, B, H, 1, 1) || checked_count(&n_bias, 4 * H, 1, 1, 1))
        return nnb_fail(err, err_len, "reference LSTM: buffer sizes overflow size_t");
    REAL **bufs[] = {&m->gates, &m->h, &m->c, &m->w_t, &m->bias, &m->dgates, &m->dy, &m->dh, &m->dc, &m->dh_prev};
    size_t counts[] = {n_gates, n_states, n_states, n_wt, n_bias, n_dgates, n_dy, n_bh, n_bh, n_bh};
    for (size_t i = 0; i < sizeof counts / sizeof *counts; i++) {
        size_t bytes;
        if (nnb_mul_size(&bytes, counts[i], sizeof(REAL)) || !(*bufs[i] = (REAL *)nnb_alloc_bytes(bytes))) {
            NNB_REF(nnb_ref_lstm_free)(m);
            return nnb_fail(err, err_len, "reference LSTM: out of memory (T=%lld B=%lld I=%lld H=%lld L=%lld)",
                            (long long)T, (long long)B, (long long)I, (long long)H, (long long)L);
        }
    }
    if (lengths) {
        if (!(m->lengths = (int64_t *)nnb_alloc_bytes(sizeof(int64_t) * (size_t)B))) {
            NNB_REF(nnb_ref_lstm_free)(m);
            return nnb_fail(err, err_len, "reference LSTM: out of memory");
        }
        memcpy(m->lengths, lengths, sizeof(int64_t) * (size_t)B);
    }
    return 0;
}

void NNB_REF(nnb_ref_lstm_free)(NNB_REF(nnb_ref_lstm) * m) {
    if (!m)
        return;
    void *bufs[] = {m->lengths, m->gates, m->h, m->c, m->w_t, m->bias, m->dgates, m->dy, m->dh, m->dc, m->dh_prev};
    for (size_t i = 0; i < sizeof bufs / sizeof *bufs; i++)
        nnb_free(bufs[i]);
    memset(m, 0, sizeof *m);
}

/* ---------------------------------------------------------------------------------------------------------------
 * Forward.
 */

/* Step t of one layer. gates_t (B, 4H) holds the pre-activations; for rows that exist at t they are activated in
 * place and h_next, c_next (B, H) get the new state. Rows past their length carry h and c over unchanged. */
static void NNB_REF(cell_forward_step)(const NNB_REF(nnb_ref_lstm) * m, int64_t t, REAL *gates_t, const REAL *h_prev,
                                       const REAL *c_prev, REAL *h_next, REAL *c_next) {
    const int64_t H = m->H;
    NNB_OMP_FOR_IF(m->B * H >= PARALLEL_MIN_WORK / 8)
    for (int64_t b = 0; b < m->B; b++) {
        if (!row_exists(m->lengths, b, t)) {
            memcpy(h_next + b * H, h_prev + b * H, sizeof(REAL) * (size_t)H);
            memcpy(c_next + b * H, c_prev + b * H, sizeof(REAL) * (size_t)H);
            continue;
        }
        REAL *g = gates_t + b * 4 * H; /* (4H): i, f, g, o */
        for (int64_t j = 0; j < H; j++)
            CELL_FWD(&g[j], &g[H + j], &g[2 * H + j], &g[3 * H + j], c_prev[b * H + j], &c_next[b * H + j],
                     &h_next[b * H + j]);
    }
}

/* Layer k over the whole sequence: in (T, B, in) -> the layer's h and c states (saved in m). */
static void NNB_REF(layer_forward)(NNB_REF(nnb_ref_lstm) * m, int64_t k, const REAL *in, int64_t in_size,
                                   const REAL *w_ih, const REAL *w_hh, const REAL *b_ih, const REAL *b_hh,
                                   const REAL *hx, const REAL *cx) {
    const int64_t T = m->T, B = m->B, H = m->H, BH = B * H, G = 4 * H;
    REAL *gates = m->gates + k * T * B * G; /* (T, B, 4H) */
    REAL *hs = m->h + k * (T + 1) * BH;     /* (T+1, B, H) */
    REAL *cs = m->c + k * (T + 1) * BH;     /* (T+1, B, H) */
    memcpy(hs, hx, sizeof(REAL) * (size_t)BH);
    memcpy(cs, cx, sizeof(REAL) * (size_t)BH);

    /* Input contribution of every step at once: gates = b_ih + b_hh + in W_ih^T. */
    for (int64_t j = 0; j < G; j++)
        m->bias[j] = b_ih[j] + b_hh[j];
    for (int64_t r = 0; r < T * B; r++)
        memcpy(gates + r * G, m->bias, sizeof(REAL) * (size_t)G);
    NNB_REF(transpose)(G, in_size, w_ih, m->w_t); /* (in, 4H) */
    NNB_REF(gemm)(T * B, G, in_size, in, in_size, 1, m->w_t, G, gates, G, 1);

    /* Recurrence: gates_t += h_t W_hh^T, then the cell. */
    NNB_REF(transpose)(G, H, w_hh, m->w_t); /* (H, 4H) */
    for (int64_t t = 0; t < T; t++) {
        REAL *gates_t = gates + t * B * G;
        NNB_REF(gemm)(B, G, H, hs + t * BH, H, 1, m->w_t, G, gates_t, G, 1);
        NNB_REF(cell_forward_step)(m, t, gates_t, hs + t * BH, cs + t * BH, hs + (t + 1) * BH, cs + (t + 1) * BH);
    }
}

void NNB_REF(nnb_ref_lstm_forward)(NNB_REF(nnb_ref_lstm) * m, const NNB_REF(nnb_ref_lstm_params) * p, const REAL *x,
                                   const REAL *hx, const REAL *cx, REAL *y, REAL *hy, REAL *cy) {
    const int64_t T = m->T, B = m->B, H = m->H, BH = B * H;
    for (int64_t k = 0; k < m->L; k++) {
        /* Layer k reads layer k-1's outputs h_1..h_T, i.e. its states from index 1 on. */
        const REAL *in = k == 0 ? x : m->h + (k - 1) * (T + 1) * BH + BH;
        const int64_t in_size = k == 0 ? m->I : H;
        NNB_REF(layer_forward)
        (m, k, in, in_size, p->w_ih[k], p->w_hh[k], p->b_ih[k], p->b_hh[k], hx + k * BH, cx + k * BH);
        /* Final states; rows past their length carried theirs, so index T holds the state after step len-1. */
        memcpy(hy + k * BH, m->h + k * (T + 1) * BH + T * BH, sizeof(REAL) * (size_t)BH);
        memcpy(cy + k * BH, m->c + k * (T + 1) * BH + T * BH, sizeof(REAL) * (size_t)BH);
    }
    /* y: the top layer's h at existing steps, zero elsewhere. */
    const REAL *top = m->h + (m->L - 1) * (T + 1) * BH + BH; /* (T, B, H) */
    for (int64_t t = 0; t < T; t++)
        for (int64_t b = 0; b < B; b++) {
            REAL *dst = y + (t * B + b) * H;
            if (row_exists(m->lengths, b, t))
                memcpy(dst, top + (t * B + b) * H, sizeof(REAL) * (size_t)H);
            else
                memset(dst, 0, sizeof(REAL) * (size_t)H);
        }
    m->forward_done = 1;
}

void NNB_REF(nnb_ref_lstm_infer)(NNB_REF(nnb_ref_lstm) * m, const NNB_REF(nnb_ref_lstm_params) * p, int64_t n,
                                 const REAL *x, const REAL *hx, const REAL *cx, REAL *y, REAL *hy, REAL *cy) {
    const int64_t B = m->B;
    m->B = n; /* every loop of the forward runs over m->B rows, and its buffers have room for B >= n of them */
    NNB_REF(nnb_ref_lstm_forward)(m, p, x, hx, cx, y, hy, cy);
    m->B = B;
    m->forward_done = 0; /* the saved gates and states are batch n's now */
}

/* ---------------------------------------------------------------------------------------------------------------
 * Backward.
 */

/* Step t of one layer, backwards. dh (B, H) holds the gradient reaching h_{t+1} from step t+1, dy_t (B, H) the one
 * from the layer's output, dc (B, H) the one reaching c_{t+1}. Writes dgates_t (B, 4H) and replaces dc with the
 * gradient reaching c_t. Rows past their length get zero dgates and keep dh and dc as they are (carried). */
static void NNB_REF(cell_backward_step)(const NNB_REF(nnb_ref_lstm) * m, int64_t t, const REAL *gates_t,
                                        const REAL *c_prev, const REAL *c_next, const REAL *dy_t, const REAL *dh,
                                        REAL *dc, REAL *dgates_t) {
    const int64_t H = m->H;
    NNB_OMP_FOR_IF(m->B * H >= PARALLEL_MIN_WORK / 8)
    for (int64_t b = 0; b < m->B; b++) {
        REAL *dg = dgates_t + b * 4 * H; /* (4H) */
        if (!row_exists(m->lengths, b, t)) {
            memset(dg, 0, sizeof(REAL) * 4 * (size_t)H);
            continue;
        }
        const REAL *g = gates_t + b * 4 * H;
        const int64_t o = b * H;
        for (int64_t j = 0; j < H; j++)
            CELL_BWD(g[j], g[H + j], g[2 * H + j], g[3 * H + j], c_prev[o + j], c_next[o + j], dh[o + j] + dy_t[o + j],
                     dc[o + j], &dg[j], &dg[H + j], &dg[2 * H + j], &dg[3 * H + j], &dc[o + j]);
    }
}

/* dh[b] = src[b] for the rows that exist at step t; the others keep carrying theirs. */
static void NNB_REF(update_existing_rows)(const NNB_REF(nnb_ref_lstm) * m, int64_t t, const REAL *src, REAL *dh) {
    for (int64_t b = 0; b < m->B; b++)
        if (row_exists(m->lengths, b, t))
            memcpy(dh + b * m->H, src + b * m->H, sizeof(REAL) * (size_t)m->H);
}

/* Layer k: dy (T, B, H), the gradient reaching its outputs -> dhx, dcx (B, H), parameter gradients, and d_in
 * (T, B, in), the gradient reaching its input (may alias dy: written last). */
static void NNB_REF(layer_backward)(NNB_REF(nnb_ref_lstm) * m, int64_t k, const REAL *in, int64_t in_size,
                                    const REAL *w_ih, const REAL *w_hh, const REAL *dy, REAL *dhx, REAL *dcx,
                                    REAL *dw_ih, REAL *dw_hh, REAL *db_ih, REAL *db_hh, REAL *d_in) {
    const int64_t T = m->T, B = m->B, H = m->H, BH = B * H, G = 4 * H;
    const REAL *gates = m->gates + k * T * B * G; /* (T, B, 4H) */
    const REAL *hs = m->h + k * (T + 1) * BH;     /* (T+1, B, H) */
    const REAL *cs = m->c + k * (T + 1) * BH;     /* (T+1, B, H) */
    REAL *dgates = m->dgates;                     /* (T, B, 4H) */

    /* No upstream gradient on hy, cy. */
    memset(m->dh, 0, sizeof(REAL) * (size_t)BH);
    memset(m->dc, 0, sizeof(REAL) * (size_t)BH);
    for (int64_t t = T - 1; t >= 0; t--) {
        REAL *dgates_t = dgates + t * B * G;
        NNB_REF(cell_backward_step)
        (m, t, gates + t * B * G, cs + t * BH, cs + (t + 1) * BH, dy + t * BH, m->dh, m->dc, dgates_t);
        /* Gradient reaching h_t: dgates_t (B, 4H) W_hh (4H, H). */
        NNB_REF(gemm)(B, H, G, dgates_t, G, 1, w_hh, H, m->dh_prev, H, 0);
        NNB_REF(update_existing_rows)(m, t, m->dh_prev, m->dh);
    }
    memcpy(dhx, m->dh, sizeof(REAL) * (size_t)BH);
    memcpy(dcx, m->dc, sizeof(REAL) * (size_t)BH);

    /* Weight gradients over every step at once: dW = dgates^T (4H, T*B) times the step inputs (T*B, .); the
     * transposed dgates is read through strides. h_0..h_{T-1} are hs' first T entries. */
    NNB_REF(gemm)(G, H, T * B, dgates, 1, G, hs, H, dw_hh, H, 0);
    NNB_REF(gemm)(G, in_size, T * B, dgates, 1, G, in, in_size, dw_ih, in_size, 0);
    memset(db_ih, 0, sizeof(REAL) * (size_t)G);
    for (int64_t r = 0; r < T * B; r++)
        NNB_REF(axpy)(G, 1, dgates + r * G, db_ih);
    memcpy(db_hh, db_ih, sizeof(REAL) * (size_t)G);

    /* Gradient reaching the input: dgates (T*B, 4H) W_ih (4H, in). */
    NNB_REF(gemm)(T * B, in_size, G, dgates, G, 1, w_ih, in_size, d_in, in_size, 0);
}

int NNB_REF(nnb_ref_lstm_backward)(NNB_REF(nnb_ref_lstm) * m, const NNB_REF(nnb_ref_lstm_params) * p, const REAL *x,
                                   const REAL *grad_y, REAL *dx, REAL *dhx, REAL *dcx,
                                   const NNB_REF(nnb_ref_lstm_grads) * g) {
    if (!m->forward_done)
        return -1;
    const int64_t T = m->T, BH = m->B * m->H;
    for (int64_t k = m->L - 1; k >= 0; k--) {
        const REAL *in = k == 0 ? x : m->h + (k - 1) * (T + 1) * BH + BH; /* (T, B, in) */
        const int64_t in_size = k == 0 ? m->I : m->H;
        const REAL *dy = k == m->L - 1 ? grad_y : m->dy; /* gradient reaching layer k's outputs */
        REAL *d_in = k == 0 ? dx : m->dy;                /* written after dy is consumed */
        NNB_REF(layer_backward)
        (m, k, in, in_size, p->w_ih[k], p->w_hh[k], dy, dhx + k * BH, dcx + k * BH, g->dw_ih[k], g->dw_hh[k],
         g->db_ih[k], g->db_hh[k], d_in);
    }
    return 0;
}
