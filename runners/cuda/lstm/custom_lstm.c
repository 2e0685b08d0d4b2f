/*
 * Hand-written CUDA LSTM runners: cuBLAS GEMMs plus the pointwise kernels of
 * kernels/cuda (fused te/old, or one kernel per op). One engine, configured per
 * runner (the same definitions as the CPU runners):
 *   aten            per step x.W_ih^T and h.W_hh^T into separate buffers, then one kernel per op
 *   jit             per step x.W_ih^T, h.W_hh^T accumulated onto it, one fused cell kernel;
 *                   backward per step likewise (dx_t, dW_ih, dW_hh, bias sums every step)
 *   jit_multilayer  jit's schedule, layers looped inside one forward/backward
 *   jit_premul      x.W_ih^T for all T steps as one GEMM up front; per step h.W_hh^T + cell;
 *                   backward batches the input-side GEMMs (dx, dW_ih) over all steps
 *   jit_premul_bias premul with b_ih folded into the big GEMM (C preset to b_ih, beta 1),
 *                   b_hh added by the cell; each bias gradient reduced once over all steps
 *   jit_simple      single layer, outputs only the final (h, c); backward from the final h
 *                   (upstream gradient "grad_hy", as the CPU py_simple reference)
 *   jit_dropout     premul, p = 0.4 inverted dropout between layers, mask from nnb_dropout_mask
 *   vl_jit          premul over the padded (T, B) block, rows sorted by length (longest
 *                   first) so each step runs its GEMM and cell on the shrinking active rows
 * All rows are kept in sorted order on the device (identity for fixed length);
 * outputs() un-sorts on the host.
 *
 * Precision (ABI 1.3): fp32 and tf32 run the fp32 schedule above (tf32: cuBLAS's TF32 tensor-op math mode).
 * bf16 and fp16 keep every GEMM operand in 16 bits (weights, x, the dropout-masked inputs, the hidden states h
 * and the gate gradients), converted once on upload (weights, x, hx) or on the device right after the fp32
 * kernel that makes them (h after each cell step, dgates after each cell backward), and run the GEMMs as
 * cublasGemmEx / cublasGemmStridedBatchedEx with CUBLAS_COMPUTE_32F (fp32 accumulation, fp32 results). The
 * gate pre-activations, the cell state, biases, the cell math (lstm_cell_math.h, fp32) and every gradient
 * output stay fp32, as mixed-precision training keeps them.
 */
#include "custom_lstm_internal.h"
#include "nnb_precision.h"

#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------ setup */

static const nnb_cuda_engine_kind KINDS[] = {
    {"aten", 1, 0, 0, 0, 0, 0, "per step: 2 cublasSgemm (x.W_ih^T, h.W_hh^T) + add + one kernel per pointwise op"},
    {"jit", 0, 0, 0, 0, 0, 0, "per step: cublasSgemm x.W_ih^T, cublasSgemm h.W_hh^T (beta 1), fused cell"},
    {"jit_multilayer", 0, 0, 0, 0, 0, 0,
     "jit's per-step schedule, all layers inside one forward/backward (same GPU schedule as jit)"},
    {"jit_premul", 0, 1, 0, 0, 0, 0, "one cublasSgemm x.W_ih^T for all steps; per step h.W_hh^T (beta 1) + fused cell"},
    {"jit_premul_bias", 0, 1, 1, 0, 0, 0,
     "one cublasSgemm b_ih + x.W_ih^T for all steps; per step h.W_hh^T + fused cell adding b_hh; bias grads reduced "
     "once"},
    {"jit_simple", 0, 0, 0, 0, 0, 1, "jit's schedule, single layer, final (h, c) only; backward from grad_hy"},
    {"jit_dropout", 0, 1, 0, 1, 0, 0, "jit_premul per layer, inverted dropout p=0.4 (nnb_dropout_mask) between layers"},
    {"vl_jit", 0, 1, 0, 0, 1, 0,
     "rows sorted by length; one premul GEMM over the padded block; per step GEMM + fused cell on the active rows"},
};

static const nnb_cuda_engine_kind *kind_named(const char *name) {
    for (size_t i = 0; i < sizeof KINDS / sizeof *KINDS; i++)
        if (!strcmp(KINDS[i].name, name))
            return &KINDS[i];
    return NULL;
}

static int parse_fuser(cu_lstm *m, const nnb_config *cfg, char *err, size_t err_len) {
    /* every fuser (aten is unfused by definition, but a fuser name is still checked), eager or graph */
    if (nnb_check_fuser_executor(m->kind->name, cfg, nnb_every_fuser, nnb_cuda_lstm_executors, err, err_len))
        return -1;
    const char *f = cfg->fuser ? cfg->fuser : "te";
    if (m->kind->aten) { /* aten is the unfused baseline by definition */
        m->cell = NNB_CELL_NONE;
        m->fuser = "n/a (aten is unfused by definition)";
        return 0;
    }
    if (!strcmp(f, "te"))
        m->cell = NNB_CELL_TE;
    else if (!strcmp(f, "old"))
        m->cell = NNB_CELL_OLD;
    else
        m->cell = NNB_CELL_NONE; /* "none" */
    m->fuser = f;
    return 0;
}

/* Active rows per step, and the length-descending order of the sequences. */
static int plan_rows(cu_lstm *m, char *err, size_t err_len) {
    m->bt = (int64_t *)nnb_alloc_bytes(sizeof(int64_t) * (size_t)m->T);
    m->perm = (int64_t *)nnb_alloc_bytes(sizeof(int64_t) * (size_t)m->B);
    m->len = (int64_t *)nnb_alloc_bytes(sizeof(int64_t) * (size_t)m->B);
    if (!m->bt || !m->perm || !m->len)
        return nnb_fail(err, err_len, "out of memory");
    for (int64_t b = 0; b < m->B; b++)
        m->perm[b] = b;
    if (m->base.d.variable) /* stable insertion sort, longest first (B is small) */
        for (int64_t i = 1; i < m->B; i++)
            for (int64_t j = i; j > 0 && m->base.d.lengths[m->perm[j]] > m->base.d.lengths[m->perm[j - 1]]; j--) {
                int64_t tmp = m->perm[j];
                m->perm[j] = m->perm[j - 1];
                m->perm[j - 1] = tmp;
            }
    for (int64_t r = 0; r < m->B; r++)
        m->len[r] = m->base.d.variable ? m->base.d.lengths[m->perm[r]] : m->T;
    for (int64_t t = 0; t < m->T; t++) {
        int64_t n = 0;
        while (n < m->B && m->len[n] > t)
            n++;
        m->bt[t] = n;
    }
    return 0;
}

/* dst rows in device (sorted) order from a host (steps, B, W) array. */
static void gather_rows(const cu_lstm *m, float *dst, const float *src, int64_t steps, int64_t W) {
    for (int64_t t = 0; t < steps; t++)
        for (int64_t r = 0; r < m->B; r++)
            memcpy(dst + (t * m->B + r) * W, src + (t * m->B + m->perm[r]) * W, sizeof(float) * (size_t)W);
}

static void scatter_rows(const cu_lstm *m, float *dst, const float *src, int64_t steps, int64_t W) {
    for (int64_t t = 0; t < steps; t++)
        for (int64_t r = 0; r < m->B; r++)
            memcpy(dst + (t * m->B + m->perm[r]) * W, src + (t * m->B + r) * W, sizeof(float) * (size_t)W);
}

/* Uploads a host (steps, B, W) array in device row order into dev (fp32) and, in bf16/fp16 runs, dev16 (its
 * 16-bit copy; may be NULL). */
static int upload_rows(cu_lstm *m, float *dev, uint16_t *dev16, const float *host, int64_t steps, int64_t W, char *err,
                       size_t err_len) {
    size_t n = (size_t)(steps * m->B * W);
    gather_rows(m, m->stage, host, steps, W);
    if (nnb_cuda_upload(dev, m->stage, n, err, err_len))
        return -1;
    return m->lp && dev16 ? nnb_cuda_upload_as(m->base.cu.precision, dev16, m->stage, n, err, err_len) : 0;
}

/* A zeroed device buffer of n 16-bit elements in bf16/fp16 runs; *p stays NULL in fp32 runs. */
static int alloc16(cu_lstm *m, uint16_t **p, size_t n, char *err, size_t err_len) {
    *p = NULL;
    if (!m->lp)
        return 0;
    size_t bytes;
    if (nnb_mul_size(&bytes, n, sizeof(uint16_t)))
        return nnb_fail(err, err_len, "device buffer size overflows size_t");
    return nnb_cuda_alloc_bytes(&m->base.cu, (void **)p, bytes, err, err_len);
}

/* Layer k's weights and biases from base.d: fp32, and the 16-bit copies of the weights in bf16/fp16 runs. */
static int upload_weights(cu_lstm *m, int64_t k, char *err, size_t err_len) {
    cu_layer *ly = &m->layers[k];
    int64_t G = 4 * m->H;
    size_t wih = (size_t)(G * ly->in), whh = (size_t)(G * m->H);
    int p = m->base.cu.precision;
    if (nnb_cuda_upload(ly->w_ih, m->base.d.w_ih[k], wih, err, err_len) ||
        nnb_cuda_upload(ly->w_hh, m->base.d.w_hh[k], whh, err, err_len) ||
        nnb_cuda_upload(ly->b_ih, m->base.d.b_ih[k], (size_t)G, err, err_len) ||
        nnb_cuda_upload(ly->b_hh, m->base.d.b_hh[k], (size_t)G, err, err_len))
        return -1;
    if (m->lp && (nnb_cuda_upload_as(p, ly->w_ih16, m->base.d.w_ih[k], wih, err, err_len) ||
                  nnb_cuda_upload_as(p, ly->w_hh16, m->base.d.w_hh[k], whh, err, err_len)))
        return -1;
    return 0;
}

static int alloc_layer(cu_lstm *m, int64_t k, const nnb_config *cfg, char *err, size_t err_len) {
    nnb_cuda_ctx *c = &m->base.cu;
    cu_layer *ly = &m->layers[k];
    int64_t T = m->T, B = m->B, H = m->H, G = 4 * H;
    ly->in = nnb_lstm_layer_input(&m->base.d, k);
    size_t wih = (size_t)(G * ly->in), whh = (size_t)(G * H), tbg = (size_t)(T * B * G), hs = (size_t)((T + 1) * B * H);
    if (nnb_cuda_alloc(c, &ly->w_ih, wih, err, err_len) || nnb_cuda_alloc(c, &ly->w_hh, whh, err, err_len) ||
        nnb_cuda_alloc(c, &ly->b_ih, (size_t)G, err, err_len) ||
        nnb_cuda_alloc(c, &ly->b_hh, (size_t)G, err, err_len) || nnb_cuda_alloc(c, &ly->dw_ih, wih, err, err_len) ||
        nnb_cuda_alloc(c, &ly->dw_hh, whh, err, err_len) || nnb_cuda_alloc(c, &ly->db_ih, (size_t)G, err, err_len) ||
        nnb_cuda_alloc(c, &ly->db_hh, (size_t)G, err, err_len) || nnb_cuda_alloc(c, &ly->gates, tbg, err, err_len) ||
        nnb_cuda_alloc(c, &ly->hs, hs, err, err_len) || nnb_cuda_alloc(c, &ly->cs, hs, err, err_len))
        return -1;
    if (alloc16(m, &ly->w_ih16, wih, err, err_len) || alloc16(m, &ly->w_hh16, whh, err, err_len) ||
        alloc16(m, &ly->hs16, hs, err, err_len) || upload_weights(m, k, err, err_len))
        return -1;
    /* initial state rows */
    if (upload_rows(m, ly->hs, ly->hs16, m->base.d.hx + k * B * H, 1, H, err, err_len) ||
        upload_rows(m, ly->cs, NULL, m->base.d.cx + k * B * H, 1, H, err, err_len))
        return -1;
    if (m->kind->dropout && k > 0) {
        size_t tbh = (size_t)(T * B * H);
        float *mask = nnb_alloc_floats(tbh);
        if (!mask)
            return nnb_fail(err, err_len, "out of memory for the dropout mask");
        nnb_dropout_mask(mask, tbh, cfg->seed, (int)k, DROPOUT_P);
        int rc = nnb_cuda_alloc(c, &ly->mask, tbh, err, err_len) || nnb_cuda_alloc(c, &ly->xin, tbh, err, err_len) ||
                 alloc16(m, &ly->xin16, tbh, err, err_len) || nnb_cuda_upload(ly->mask, mask, tbh, err, err_len);
        nnb_free(mask);
        if (rc)
            return -1;
    }
    return 0;
}

/* jit_simple's tensor lists: no y / grad_y; grad_hy (1, B, H) instead. */
static int build_simple_views(cu_lstm *m, char *err, size_t err_len) {
    int np = m->base.d.param_count, no = m->base.d.output_count;
    m->simple_views = (nnb_tensor *)nnb_alloc_bytes(sizeof(nnb_tensor) * (size_t)(np + no + 1));
    if (!m->simple_views)
        return nnb_fail(err, err_len, "out of memory");
    int n = 0;
    for (int i = 0; i < np; i++)
        if (strcmp(m->base.d.param_views[i].name, "grad_y"))
            m->simple_views[n++] = m->base.d.param_views[i];
    nnb_tensor *g = &m->simple_views[n++];
    g->name = "grad_hy";
    g->dtype = NNB_F32;
    g->ndim = 3; /* (1, B, H), as hy and as the CPU py_simple lists it */
    g->shape[0] = 1;
    g->shape[1] = m->B;
    g->shape[2] = m->H;
    g->data = m->h_grad_hy;
    m->base.params.count = n;
    m->base.params.items = m->simple_views;
    for (int i = 0; i < no; i++)
        if (strcmp(m->base.d.output_views[i].name, "y"))
            m->simple_views[n++] = m->base.d.output_views[i];
    m->base.outputs.count = n - m->base.params.count;
    m->base.outputs.items = m->simple_views + m->base.params.count;
    return 0;
}

static int setup(void *model, const nnb_config *cfg, char *err, size_t err_len) {
    cu_lstm *m = (cu_lstm *)model;
    const nnb_cuda_engine_kind *kind = m->kind = (const nnb_cuda_engine_kind *)m->base.kind;
    if (kind->simple && cfg->num_layers > 1)
        return nnb_fail(err, err_len, "jit_simple is single-layer by definition (numLayers %lld requested)",
                        (long long)cfg->num_layers);
    if (parse_fuser(m, cfg, err, err_len))
        return -1;
    if (nnb_pw_geometry_from_config(&m->geo, cfg->cuda_pointwise_block_size, cfg->cuda_pointwise_block_count,
                                    cfg->cuda_pointwise_loop_level, err, err_len))
        return -1;
    if (nnb_cuda_ctx_init(&m->base.cu, cfg, kind->name, 1, err, err_len))
        return -1;
    int p = m->base.cu.precision;
    if (p < 0 || p >= NNB_PRECISION_COUNT)
        return nnb_fail(err, err_len, "%s: unknown precision %d (fp32, tf32, bf16 or fp16)", kind->name, p);
    m->lp = nnb_cuda_precision_is_16bit(p);
    m->fp16 = p == NNB_PRECISION_FP16;
    m->gemm.h = m->base.cu.cublas;
    m->gemm.ab = nnb_cuda_data_type(p);
    if (nnb_lstm_data_init(&m->base.d, cfg, kind->variable, kind->simple ? 1 : 0, err, err_len))
        return -1;
    m->base.params = nnb_lstm_data_params(&m->base.d); /* jit_simple lists its own (build_simple_views) */
    m->base.outputs = nnb_lstm_data_outputs(&m->base.d);
    m->T = m->base.d.T, m->B = m->base.d.B, m->I = m->base.d.I, m->H = m->base.d.H, m->L = m->base.d.L;
    int64_t T = m->T, B = m->B, I = m->I, H = m->H, G = 4 * H, L = m->L;
    if ((double)T * (double)B * (double)(G > I ? G : I) > 2147483647.0)
        return nnb_fail(err, err_len, "%s: T*B*max(4H, I) exceeds cuBLAS's int dimensions", kind->name);
    if (plan_rows(m, err, err_len))
        return -1;
    size_t stage = (size_t)((T + 1) * B * (H > I ? H : I));
    if (!(m->stage = nnb_alloc_floats(stage)))
        return nnb_fail(err, err_len, "out of host memory");
    m->layers = (cu_layer *)nnb_alloc_bytes(sizeof(cu_layer) * (size_t)L);
    if (!m->layers)
        return nnb_fail(err, err_len, "out of memory");
    nnb_cuda_ctx *c = &m->base.cu;
    size_t tbh = (size_t)(T * B * H), bh = (size_t)(B * H), tb = (size_t)(T * B);
    if (nnb_cuda_alloc(c, &m->x, (size_t)(T * B * I), err, err_len) ||
        nnb_cuda_alloc(c, &m->dx, (size_t)(T * B * I), err, err_len) ||
        nnb_cuda_alloc(c, &m->dgates, tb * (size_t)G, err, err_len) ||
        nnb_cuda_alloc(c, &m->gates_h, bh * 4, err, err_len) || nnb_cuda_alloc(c, &m->scratch, 3 * bh, err, err_len) ||
        nnb_cuda_alloc(c, &m->dh_rec, bh, err, err_len) || nnb_cuda_alloc(c, &m->dc, bh, err, err_len) ||
        nnb_cuda_alloc(c, &m->dhx, (size_t)L * bh, err, err_len) ||
        nnb_cuda_alloc(c, &m->dcx, (size_t)L * bh, err, err_len) || nnb_cuda_alloc(c, &m->ones, tb, err, err_len) ||
        alloc16(m, &m->x16, (size_t)(T * B * I), err, err_len) ||
        alloc16(m, &m->dgates16, tb * (size_t)G, err, err_len))
        return -1;
    if (L > 1 &&
        (nnb_cuda_alloc(c, &m->dlayer[0], tbh, err, err_len) || nnb_cuda_alloc(c, &m->dlayer[1], tbh, err, err_len)))
        return -1;
    if (upload_rows(m, m->x, m->x16, m->base.d.x, T, I, err, err_len))
        return -1;
    for (size_t i = 0; i < tb; i++)
        m->stage[i] = 1.0f;
    if (nnb_cuda_upload(m->ones, m->stage, tb, err, err_len))
        return -1;
    if (kind->simple) {
        if (!(m->h_grad_hy = nnb_alloc_floats(bh)))
            return nnb_fail(err, err_len, "out of host memory");
        nnb_fill_normal(m->h_grad_hy, bh, cfg->seed, "grad_hy");
        nnb_round_to_precision(m->h_grad_hy, bh, m->base.cu.precision); /* as every seeded tensor (lstm_data) */
        if (nnb_cuda_alloc(c, &m->grad_hy, bh, err, err_len) ||
            nnb_cuda_upload(m->grad_hy, m->h_grad_hy, bh, err, err_len) || build_simple_views(m, err, err_len))
            return -1;
    } else if (nnb_cuda_alloc(c, &m->grad_y, tbh, err, err_len) ||
               upload_rows(m, m->grad_y, NULL, m->base.d.grad_y, T, H, err, err_len)) {
        return -1;
    }
    for (int64_t k = 0; k < L; k++)
        if (alloc_layer(m, k, cfg, err, err_len))
            return -1;
    return nnb_cuda_lstm_capture(&m->base, 1, err, err_len);
}

static void destroy(void *model) {
    cu_lstm *m = (cu_lstm *)model;
    nnb_free(m->layers);
    nnb_free(m->bt);
    nnb_free(m->perm);
    nnb_free(m->len);
    nnb_free(m->stage);
    nnb_free(m->h_grad_hy);
    nnb_free(m->simple_views);
}

/* ------------------------------------------------------------- interface */

/* Brings every output and gradient back into nnb_lstm_data, in the caller's row order. */
static int download_all(void *model, char *err, size_t err_len) {
    cu_lstm *m = (cu_lstm *)model;
    nnb_lstm_data *d = &m->base.d;
    int64_t T = m->T, B = m->B, I = m->I, H = m->H, G = 4 * H;
    float *st = m->stage;
    for (int64_t k = 0; k < m->L; k++) {
        const cu_layer *ly = &m->layers[k];
        float *states[2] = {ly->hs, ly->cs}, *finals[2] = {d->hy + k * B * H, d->cy + k * B * H};
        for (int s = 0; s < 2; s++) {
            if (nnb_cuda_download(&m->base.cu, st, states[s], (size_t)((T + 1) * B * H), err, err_len))
                return -1;
            for (int64_t r = 0; r < B; r++) /* the state after each sequence's own last step */
                memcpy(finals[s] + m->perm[r] * H, st + (m->len[r] * B + r) * H, sizeof(float) * (size_t)H);
            if (s == 0 && k == m->L - 1)
                for (int64_t t = 0; t < T; t++)
                    for (int64_t r = 0; r < B; r++) {
                        float *dst = d->y + (t * B + m->perm[r]) * H;
                        if (t < m->len[r])
                            memcpy(dst, st + ((t + 1) * B + r) * H, sizeof(float) * (size_t)H);
                        else
                            memset(dst, 0, sizeof(float) * (size_t)H);
                    }
        }
        size_t wih = (size_t)(G * ly->in), whh = (size_t)(G * H);
        if (nnb_cuda_download(&m->base.cu, d->dw_ih[k], ly->dw_ih, wih, err, err_len) ||
            nnb_cuda_download(&m->base.cu, d->dw_hh[k], ly->dw_hh, whh, err, err_len) ||
            nnb_cuda_download(&m->base.cu, d->db_ih[k], ly->db_ih, (size_t)G, err, err_len) ||
            nnb_cuda_download(&m->base.cu, d->db_hh[k], ly->db_hh, (size_t)G, err, err_len))
            return -1;
    }
    if (nnb_cuda_download(&m->base.cu, st, m->dx, (size_t)(T * B * I), err, err_len))
        return -1;
    scatter_rows(m, d->dx, st, T, I);
    if (nnb_cuda_download(&m->base.cu, st, m->dhx, (size_t)(m->L * B * H), err, err_len))
        return -1;
    scatter_rows(m, d->dhx, st, m->L, H);
    if (nnb_cuda_download(&m->base.cu, st, m->dcx, (size_t)(m->L * B * H), err, err_len))
        return -1;
    scatter_rows(m, d->dcx, st, m->L, H);
    return 0;
}

/* outputs() after infer(n): y (T, n, H), hy and cy (L, n, H), densely packed into the host buffers of base.d
 * (jit_simple: hy and cy only). Fixed-length rows are in the caller's order (perm is the identity). */
static int download_infer(void *model, int64_t n, char *err, size_t err_len) {
    cu_lstm *m = (cu_lstm *)model;
    nnb_lstm_data *d = &m->base.d;
    int64_t T = m->T, B = m->B, H = m->H;
    size_t row = sizeof(float) * (size_t)(n * H);
    for (int64_t k = 0; k < m->L; k++) {
        const cu_layer *ly = &m->layers[k];
        const float *states[2] = {ly->hs, ly->cs};
        float *finals[2] = {d->hy + k * n * H, d->cy + k * n * H};
        for (int s = 0; s < 2; s++) {
            if (nnb_cuda_download(&m->base.cu, m->stage, states[s], (size_t)((T + 1) * B * H), err, err_len))
                return -1;
            memcpy(finals[s], m->stage + T * B * H, row); /* after step T-1 */
            if (s == 0 && k == m->L - 1 && !m->kind->simple)
                for (int64_t t = 0; t < T; t++)
                    memcpy(d->y + t * n * H, m->stage + (t + 1) * B * H, row);
        }
    }
    return 0;
}

/* Input: x (T, B, I) in place, T rows of pitch B * I * 4. Output: the last layer's y, which is rows 1..T of its
 * hs (T rows of pitch B * H * 4); jit_simple's is the final h, one row. */
static int infer_io(void *model, nnb_infer_io *io, char *err, size_t err_len) {
    cu_lstm *m = (cu_lstm *)model;
    if (m->kind->variable)
        return nnb_fail(err, err_len, "%s: infer_io is not supported for variable-length batches", m->kind->name);
    const cu_layer *top = &m->layers[m->L - 1];
    size_t B = (size_t)m->B, I = (size_t)m->I, H = (size_t)m->H, T = (size_t)m->T, f = sizeof(float);
    if (m->kind->simple)
        return nnb_cuda_fill_infer_io(m->kind->name, io, m->x, T, B * I * f, I * f, top->hs + T * B * H, 1, 0, H * f,
                                      err, err_len);
    return nnb_cuda_fill_infer_io(m->kind->name, io, m->x, T, B * I * f, I * f, top->hs + B * H, T, B * H * f, H * f,
                                  err, err_len);
}

/* load_param changed base.d's weights: upload every layer's (untimed, ordered on the caller's stream). */
static int reload_weights(void *model, char *err, size_t err_len) {
    cu_lstm *m = (cu_lstm *)model;
    cudaStream_t s = m->base.cu.user_stream;
    NNB_CUDA_TRY(cudaStreamSynchronize(s)); /* after any infer() in flight; the uploads below are synchronous */
    for (int64_t k = 0; k < m->L; k++)
        if (upload_weights(m, k, err, err_len))
            return -1;
    return 0;
}

static void describe(const void *model, char *buf, size_t buf_len, size_t *used) {
    const cu_lstm *m = (const cu_lstm *)model;
    if (m->lp)
        nnb_appendf(buf, buf_len, used,
                    "\"schedule\":\"%s\",\"gemm\":\"cublasGemmEx (%s A and B, fp32 C, CUBLAS_COMPUTE_32F)\","
                    "\"storage\":\"%s weights, x, h and dgates as GEMM operands; fp32 gates, cell state, biases, "
                    "cell math and gradient outputs\",",
                    m->kind->schedule, m->fp16 ? "fp16" : "bf16", m->fp16 ? "fp16" : "bf16");
    else
        nnb_appendf(buf, buf_len, used, "\"schedule\":\"%s\",\"gemm\":\"cublasSgemm (fp32%s)\",", m->kind->schedule,
                    m->base.cu.tf32 ? ", TF32 tensor ops allowed" : "");
    nnb_appendf(buf, buf_len, used, "\"fuser\":\"%s\",\"cell_kernels\":\"%s\",", m->fuser,
                nnb_cell_variant_kernels(m->cell));
    nnb_appendf(buf, buf_len, used,
                "\"pointwise_geometry\":{\"block_size\":%d,\"block_count_cap\":%d,\"loop_level\":%d},",
                m->geo.block_size, m->geo.block_count, m->geo.loop_level);
    if (m->kind->dropout)
        nnb_appendf(buf, buf_len, used, "\"dropout\":%.2f,", DROPOUT_P);
    if (!m->kind->variable)
        nnb_appendf(buf, buf_len, used,
                    "\"infer\":\"eager on the caller's stream, the forward's schedule on the first n rows in place%s; "
                    "dropout off\",",
                    m->kind->premul ? " (n < B: x.W_ih^T as cublasSgemmStridedBatched over the T steps)" : "");
}

static const nnb_cuda_lstm_ops OPS = {
    setup,   nnb_cu_forward_enqueue, nnb_cu_backward_enqueue, download_all, describe,
    destroy, nnb_cu_infer_enqueue,   download_infer,          infer_io,     reload_weights};

#define NNB_DEFINE_CUSTOM_CREATE(name)                                                                                 \
    void *nnb_cu_lstm_create_##name(const nnb_config *cfg, char *err, size_t err_len) {                                \
        return nnb_cuda_lstm_create(sizeof(cu_lstm), &OPS, #name, kind_named(#name), cfg, err, err_len);               \
    }
NNB_CUDA_CUSTOM_RUNNERS(NNB_DEFINE_CUSTOM_CREATE)
