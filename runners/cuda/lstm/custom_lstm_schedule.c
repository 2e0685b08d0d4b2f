/* The hand-written CUDA LSTM engine's time loops (custom_lstm_internal.h); what each runner schedules and how
 * the 16-bit precisions store their GEMM operands: custom_lstm.c's header. */
#include "custom_lstm_internal.h"
#include "pointwise_ops.h"

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

int nnb_cu_forward_enqueue(void *p, char *err, size_t err_len) {
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
int nnb_cu_infer_enqueue(void *p, int64_t n, char *err, size_t err_len) {
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

int nnb_cu_backward_enqueue(void *p, char *err, size_t err_len) {
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
        if (m->lp && to_16bit(m, s, m->dgates16 + t * B * G, dg, bt * G, err, err_len))
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
