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
#include "custom_lstm.h"
#include "cuda_common.h"
#include "cuda_gemm.h"
#include "lstm_kernels.h"
#include "nnb_precision.h"
#include "pointwise_ops.h"

#include <stdlib.h>
#include <string.h>

#define DROPOUT_P 0.4f

typedef struct cu_layer {
    int64_t in;                       /* input width: I for layer 0, else H */
    float *w_ih, *w_hh, *b_ih, *b_hh; /* (4H, in), (4H, H), (4H), (4H) */
    uint16_t *w_ih16, *w_hh16;        /* 16-bit copies (bf16/fp16 runs only, else NULL) */
    uint16_t *hs16;                   /* (T+1, B, H) 16-bit copy of hs (bf16/fp16) */
    uint16_t *xin16;                  /* (T, B, H) 16-bit copy of xin (bf16/fp16 with dropout) */
    float *dw_ih, *dw_hh, *db_ih, *db_hh;
    float *gates;   /* (T, B, 4H) activated gates, saved for backward */
    float *hs, *cs; /* (T+1, B, H): row 0 = hx/cx, row t+1 = after step t */
    float *mask;    /* (T, B, H) dropout mask on this layer's input, or NULL */
    float *xin;     /* (T, B, H) masked input (dropout, k >= 1), or NULL */
} cu_layer;

typedef struct cu_lstm {
    nnb_cuda_lstm base; /* first: the shared interface reads the model as this (cuda_common.h) */
    const nnb_cuda_engine_kind *kind;
    nnb_cell_variant cell;
    const char *fuser;
    nnb_pw_geometry geo;
    nnb_gemm gemm; /* the handle and the GEMM operands' storage */
    int lp;        /* 1: bf16/fp16 GEMM operands (the 16-bit copies below), 0: fp32 */
    int fp16;      /* with lp: fp16 (1) or bf16 (0) */
    int64_t T, B, I, H, L;
    int64_t *bt;              /* (T) active rows at step t */
    int64_t *perm;            /* (B) device row r holds sequence perm[r] */
    int64_t *len;             /* (B) length of device row r */
    cu_layer *layers;         /* [L] */
    float *x, *dx;            /* (T, B, I) */
    uint16_t *x16;            /* (T, B, I) 16-bit copy of x (bf16/fp16) */
    uint16_t *dgates16;       /* (T, B, 4H) 16-bit copy of dgates (bf16/fp16) */
    float *grad_y;            /* (T, B, H) upstream gradient of y (NULL for jit_simple) */
    float *grad_hy;           /* (B, H) jit_simple's upstream gradient of the final h */
    float *h_grad_hy;         /* host copy of it */
    float *dlayer[2];         /* (T, B, H) gradient reaching a lower layer's output, ping-pong */
    float *dgates;            /* (T, B, 4H) */
    float *gates_h;           /* (B, 4H) aten's separate h.W_hh^T */
    float *scratch;           /* (3, B, H) unfused cell temporaries */
    float *dh_rec, *dc;       /* (B, H) recurrent gradients */
    float *dhx, *dcx;         /* (L, B, H) */
    float *ones;              /* (T * B) for bias column sums */
    float *stage;             /* host staging for un-sorting */
    nnb_tensor *simple_views; /* jit_simple's own params and outputs */
} cu_lstm;

static int layer_forward(cu_lstm *m, int64_t k, int64_t infer_n, char *err, size_t err_len);
static int layer_backward(cu_lstm *m, int64_t k, const float *dy, float *dxout, char *err, size_t err_len);

/* ------------------------------------------------------------ time loops */

static const float *layer_input(const cu_lstm *m, int64_t k) {
    if (k == 0)
        return m->x;
    if (m->layers[k].xin)
        return m->layers[k].xin;
    return m->layers[k - 1].hs + m->B * m->H;
}

/* layer_input's 16-bit copy (bf16/fp16 runs). */
static const uint16_t *layer_input16(const cu_lstm *m, int64_t k) {
    if (k == 0)
        return m->x16;
    if (m->layers[k].xin16)
        return m->layers[k].xin16;
    return m->layers[k - 1].hs16 + m->B * m->H;
}

/* A GEMM operand at offset elements: the 16-bit copy in bf16/fp16 runs, else the fp32 buffer. */
static const void *operand(const cu_lstm *m, const float *f32, const uint16_t *b16, int64_t offset) {
    return m->lp ? (const void *)(b16 + offset) : (const void *)(f32 + offset);
}

/* bf16/fp16 runs: dst (n elements) = src rounded to 16 bits, on stream s; a no-op in fp32 runs. */
static int to_16bit(const cu_lstm *m, cudaStream_t s, uint16_t *dst, const float *src, int64_t n, char *err,
                    size_t err_len) {
    if (m->lp)
        NNB_KERNEL_TRY(nnb_cuda_f32_to_16bit(s, dst, src, n, m->fp16));
    return 0;
}

static int forward_enqueue(void *p, char *err, size_t err_len) {
    cu_lstm *m = (cu_lstm *)p;
    if (nnb_cuda_ctx_use_stream(&m->base.cu, m->base.cu.stream, err, err_len))
        return -1;
    for (int64_t k = 0; k < m->L; k++)
        if (layer_forward(m, k, 0, err, err_len))
            return -1;
    return 0;
}

/* ABI 1.2 infer(n): the forward's schedule on the first n rows of every (T, B, .) block, in place (the rows of
 * step t are t * B .. t * B + n - 1, so every per-step GEMM and cell kernel takes n rows where the forward
 * takes B, and the premul GEMM becomes a strided-batched one over the T steps). Eager on the caller's stream
 * (never captured: n varies); dropout off (inference). Overwrites the forward's saved gates and states. */
static int infer_enqueue(void *p, int64_t n, char *err, size_t err_len) {
    cu_lstm *m = (cu_lstm *)p;
    if (m->base.d.variable)
        return nnb_fail(err, err_len, "%s: infer is not supported for variable-length batches", m->kind->name);
    if (nnb_cuda_ctx_use_stream(&m->base.cu, m->base.cu.user_stream, err, err_len))
        return -1;
    /* infer_io hands out the fp32 x: its 16-bit copy follows whatever was written there */
    if (to_16bit(m, m->base.cu.user_stream, m->x16, m->x, m->T * m->B * m->I, err, err_len))
        return -1;
    for (int64_t k = 0; k < m->L; k++)
        if (layer_forward(m, k, n, err, err_len))
            return -1;
    return 0;
}

/* infer_n 0: the training forward (dropout masks, m->bt rows per step, on base.cu.stream, capturable);
 * infer_n > 0: inference on the first infer_n rows (see infer_enqueue). */
static int layer_forward(cu_lstm *m, int64_t k, int64_t infer_n, char *err, size_t err_len) {
    const nnb_cuda_engine_kind *kind = m->kind;
    cu_layer *ly = &m->layers[k];
    cudaStream_t s = infer_n ? m->base.cu.user_stream : m->base.cu.stream;
    const nnb_gemm *h = &m->gemm;
    int64_t T = m->T, B = m->B, H = m->H, G = 4 * H, in = ly->in;
    if (ly->xin && !infer_n) { /* dropout: this layer's input is the mask times the layer below's output */
        NNB_KERNEL_TRY(nnb_cuda_pointwise(&m->geo, s, NNB_PW_MUL, ly->xin, H, m->layers[k - 1].hs + B * H, H, ly->mask,
                                          H, T * B, H));
        if (to_16bit(m, s, ly->xin16, ly->xin, T * B * H, err, err_len))
            return -1;
    }
    /* inference: no dropout, so a layer reads the layer below's output itself */
    int below = infer_n && k > 0;
    const float *X = below ? m->layers[k - 1].hs + B * H : layer_input(m, k);
    const uint16_t *X16 = !m->lp ? NULL : below ? m->layers[k - 1].hs16 + B * H : layer_input16(m, k);
    if (kind->premul) {
        float beta = 0.0f;
        /* rows 0 .. last_row - 1 hold every row used: all T * B, or for infer up to step T-1's n-th row */
        int64_t last_row = infer_n ? (T - 1) * B + infer_n : T * B;
        if (kind->premul_bias) { /* gates = b_ih (broadcast) + X W_ih^T */
            NNB_KERNEL_TRY(
                nnb_cuda_pointwise(&m->geo, s, NNB_PW_COPY, ly->gates, G, ly->b_ih, 0, NULL, 0, last_row, G));
            beta = 1.0f;
        }
        const void *w = operand(m, ly->w_ih, ly->w_ih16, 0), *x = operand(m, X, X16, 0);
        if (!infer_n || infer_n == B) {
            if (nnb_gemmx_nt(h, T * B, G, in, x, in, w, in, beta, ly->gates, G, err, err_len))
                return -1;
        } else if (nnb_gemmx_nt_batched(h, T, infer_n, G, in, x, in, B * in, w, in, beta, ly->gates, G, B * G, err,
                                        err_len)) {
            return -1;
        }
    }
    const float *bias_a = kind->premul_bias ? NULL : ly->b_ih;
    for (int64_t t = 0; t < T; t++) {
        int64_t bt = infer_n ? infer_n : m->bt[t];
        float *gates = ly->gates + t * B * G;
        const float *c_prev = ly->cs + t * B * H;
        const void *h_prev = operand(m, ly->hs, ly->hs16, t * B * H), *w_hh = operand(m, ly->w_hh, ly->w_hh16, 0);
        if (!kind->premul && nnb_gemmx_nt(h, bt, G, in, operand(m, X, X16, t * B * in), in,
                                          operand(m, ly->w_ih, ly->w_ih16, 0), in, 0.0f, gates, G, err, err_len))
            return -1;
        if (kind->aten) {
            if (nnb_gemmx_nt(h, bt, G, H, h_prev, H, w_hh, H, 0.0f, m->gates_h, G, err, err_len))
                return -1;
            NNB_KERNEL_TRY(nnb_cuda_pointwise(&m->geo, s, NNB_PW_ADD, gates, G, gates, G, m->gates_h, G, bt, G));
        } else if (nnb_gemmx_nt(h, bt, G, H, h_prev, H, w_hh, H, 1.0f, gates, G, err, err_len)) {
            return -1;
        }
        NNB_KERNEL_TRY(nnb_cuda_lstm_cell_fwd(m->cell, &m->geo, s, gates, bias_a, ly->b_hh, c_prev,
                                              ly->cs + (t + 1) * B * H, ly->hs + (t + 1) * B * H, m->scratch, bt, H));
        /* the next step's (and the next layer's) GEMM operand */
        if (m->lp && to_16bit(m, s, ly->hs16 + (t + 1) * B * H, ly->hs + (t + 1) * B * H, bt * H, err, err_len))
            return -1;
    }
    return 0;
}

static int backward_enqueue(void *p, char *err, size_t err_len) {
    cu_lstm *m = (cu_lstm *)p;
    cudaStream_t s = m->base.cu.stream;
    if (nnb_cuda_ctx_use_stream(&m->base.cu, s, err, err_len))
        return -1;
    int64_t T = m->T, B = m->B, H = m->H;
    for (int64_t k = m->L - 1; k >= 0; k--) {
        const float *dy = k == m->L - 1 ? m->grad_y : m->dlayer[k % 2];
        float *dxout = k == 0 ? m->dx : m->dlayer[(k - 1) % 2];
        if (layer_backward(m, k, dy, dxout, err, err_len))
            return -1;
        if (k > 0 && m->layers[k].mask) /* through the dropout mask to the layer below's output */
            NNB_KERNEL_TRY(
                nnb_cuda_pointwise(&m->geo, s, NNB_PW_MUL, dxout, H, dxout, H, m->layers[k].mask, H, T * B, H));
    }
    return 0;
}

static int layer_backward(cu_lstm *m, int64_t k, const float *dy, float *dxout, char *err, size_t err_len) {
    const nnb_cuda_engine_kind *kind = m->kind;
    cu_layer *ly = &m->layers[k];
    cudaStream_t s = m->base.cu.stream;
    const nnb_gemm *h = &m->gemm;
    cublasHandle_t blas = m->base.cu.cublas;
    int64_t T = m->T, B = m->B, H = m->H, G = 4 * H, in = ly->in;
    const float *X = layer_input(m, k);
    const uint16_t *X16 = m->lp ? layer_input16(m, k) : NULL;
    const void *w_ih = operand(m, ly->w_ih, ly->w_ih16, 0), *w_hh = operand(m, ly->w_hh, ly->w_hh16, 0);
    size_t bh = sizeof(float) * (size_t)(B * H);
    /* Gradients are overwritten each backward (weight gradients accumulate over steps from zero). */
    NNB_CUDA_TRY(cudaMemsetAsync(ly->dw_ih, 0, sizeof(float) * (size_t)(G * in), s));
    NNB_CUDA_TRY(cudaMemsetAsync(ly->dw_hh, 0, sizeof(float) * (size_t)(G * H), s));
    NNB_CUDA_TRY(cudaMemsetAsync(ly->db_hh, 0, sizeof(float) * (size_t)G, s));
    NNB_CUDA_TRY(cudaMemsetAsync(m->dc, 0, bh, s));
    if (m->grad_hy && k == m->L - 1)
        NNB_CUDA_TRY(cudaMemcpyAsync(m->dh_rec, m->grad_hy, bh, cudaMemcpyDeviceToDevice, s));
    else
        NNB_CUDA_TRY(cudaMemsetAsync(m->dh_rec, 0, bh, s));
    if (m->base.d.variable) { /* rows past a sequence's end must hold zero gradients */
        NNB_CUDA_TRY(cudaMemsetAsync(m->dgates, 0, sizeof(float) * (size_t)(T * B * G), s));
        if (m->lp) /* zero bits are zero in bf16 and fp16 */
            NNB_CUDA_TRY(cudaMemsetAsync(m->dgates16, 0, sizeof(uint16_t) * (size_t)(T * B * G), s));
        NNB_CUDA_TRY(cudaMemsetAsync(dxout, 0, sizeof(float) * (size_t)(T * B * in), s));
    }
    for (int64_t t = T - 1; t >= 0; t--) {
        int64_t bt = m->bt[t];
        const float *gates = ly->gates + t * B * G;
        float *dg = m->dgates + t * B * G;
        NNB_KERNEL_TRY(nnb_cuda_lstm_cell_bwd(m->cell, &m->geo, s, gates, ly->cs + t * B * H, ly->cs + (t + 1) * B * H,
                                              dy ? dy + t * B * H : NULL, m->dh_rec, m->dc, dg, m->scratch, bt, H));
        if (to_16bit(m, s, m->dgates16 + t * B * G, dg, bt * G, err, err_len))
            return -1;
        const void *dg_op = operand(m, m->dgates, m->dgates16, t * B * G);
        if (nnb_gemmx_nn(h, bt, H, G, dg_op, G, w_hh, H, 0.0f, m->dh_rec, H, err, err_len))
            return -1;
        if (nnb_gemmx_tn(h, G, H, bt, dg_op, G, operand(m, ly->hs, ly->hs16, t * B * H), H, 1.0f, ly->dw_hh, H, err,
                         err_len))
            return -1;
        if (!kind->premul_bias && nnb_colsum(blas, bt, G, dg, G, m->ones, 1.0f, ly->db_hh, err, err_len))
            return -1;
        if (!kind->premul) {
            if (nnb_gemmx_nn(h, bt, in, G, dg_op, G, w_ih, in, 0.0f, dxout + t * B * in, in, err, err_len))
                return -1;
            if (nnb_gemmx_tn(h, G, in, bt, dg_op, G, operand(m, X, X16, t * B * in), in, 1.0f, ly->dw_ih, in, err,
                             err_len))
                return -1;
        }
    }
    if (kind->premul) {
        const void *dg_all = operand(m, m->dgates, m->dgates16, 0);
        if (nnb_gemmx_nn(h, T * B, in, G, dg_all, G, w_ih, in, 0.0f, dxout, in, err, err_len))
            return -1;
        if (nnb_gemmx_tn(h, G, in, T * B, dg_all, G, operand(m, X, X16, 0), in, 1.0f, ly->dw_ih, in, err, err_len))
            return -1;
    }
    if (kind->premul_bias && nnb_colsum(blas, T * B, G, m->dgates, G, m->ones, 0.0f, ly->db_hh, err, err_len))
        return -1;
    /* b_ih and b_hh enter the same pre-activation: equal gradients. */
    NNB_CUDA_TRY(cudaMemcpyAsync(ly->db_ih, ly->db_hh, sizeof(float) * (size_t)G, cudaMemcpyDeviceToDevice, s));
    NNB_CUDA_TRY(cudaMemcpyAsync(m->dhx + k * B * H, m->dh_rec, bh, cudaMemcpyDeviceToDevice, s));
    NNB_CUDA_TRY(cudaMemcpyAsync(m->dcx + k * B * H, m->dc, bh, cudaMemcpyDeviceToDevice, s));
    return 0;
}

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

static const nnb_cuda_lstm_ops OPS = {setup,   forward_enqueue, backward_enqueue, download_all, describe,
                                      destroy, infer_enqueue,   download_infer,   infer_io,     reload_weights};

#define NNB_DEFINE_CUSTOM_CREATE(name)                                                                                 \
    void *nnb_cu_lstm_create_##name(const nnb_config *cfg, char *err, size_t err_len) {                                \
        return nnb_cuda_lstm_create(sizeof(cu_lstm), &OPS, #name, kind_named(#name), cfg, err, err_len);               \
    }
NNB_CUDA_CUSTOM_RUNNERS(NNB_DEFINE_CUSTOM_CREATE)
