/*
 * jit_layernorm on CUDA: fastrnns' LayerNorm LSTM cell (as the CPU runner and
 * its reference py_layernorm), no gate biases:
 *   pre = LN_i(x W_ih^T) + LN_h(h W_hh^T)   (LN over 4H, learnable gain and bias)
 *   i, f, g, o from pre;  c' = LN_c(f * c + i * g)  (over H);  h' = o * tanh(c')
 * Schedule: x W_ih^T for all steps as one cuBLAS GEMM and LN_i over all T*B rows
 * at once (LN is row-wise); per step h W_hh^T, LN_h, the fused gate half, LN_c,
 * the fused output half. LayerNorms are one warp per row (kernels/cuda), saving
 * the normalised rows and 1/std for backward. Backward per step: output half,
 * LN_c backward, gate half, LN_h backward, h-side GEMMs; then LN_i backward and
 * the input-side GEMMs batched over all steps; LayerNorm gain/bias gradients
 * reduced once over all steps (cuBLAS GEMV column sums).
 * jit_layernorm_decom: the same, with each forward LayerNorm as seven passes
 * (mean, subtract, variance, 1/std, normalise, scale, shift) as fastrnns'
 * decomposed version; its backward is jit_layernorm's (fused LayerNorm backward).
 * LN parameters come from the same named streams as the CPU runners:
 *   ln_{i,h}_weight_l{k} (4H), ln_c_weight_l{k} (H): uniform [0.5, 1.5)
 *   ln_{i,h}_bias_l{k}, ln_c_bias_l{k}: uniform [-0.1, 0.1)
 * Precision (ABI 1.3): tf32 is cuBLAS's TF32 math mode. bf16 / fp16 keep every GEMM operand in 16 bits (x and
 * the weights converted on upload, h after each step and the gradients reaching the GEMM outputs converted on
 * the device, as custom_lstm.c does) with cublasGemmEx (CUBLAS_COMPUTE_32F, fp32 results); the LayerNorms, their
 * gain and bias (fp32, as mixed-precision training keeps normalisation parameters), the cell state and the cell
 * math stay fp32.
 */
#include "layernorm_lstm.h"
#include "cuda_common.h"
#include "cuda_gemm.h"
#include "lstm_kernels.h"
#include "pointwise_ops.h"

#include <stdio.h>
#include <string.h>

#define LN_EPS 1e-5f
#define LN_GAIN_LO 0.5f
#define LN_GAIN_HI 1.5f
#define LN_BIAS_LO -0.1f
#define LN_BIAS_HI 0.1f

enum { LN_I = 0, LN_H = 1, LN_C = 2, LN_COUNT = 3 };
static const char *const LN_NAMES[LN_COUNT] = {"ln_i", "ln_h", "ln_c"};

typedef struct ln_layer {
    int64_t in;
    float *w_ih, *w_hh, *dw_ih, *dw_hh;     /* (4H, in), (4H, H) */
    uint16_t *w_ih16, *w_hh16, *hs16;       /* bf16/fp16: 16-bit copies of w_ih, w_hh and hs (else NULL) */
    float *gain[LN_COUNT], *bias[LN_COUNT]; /* (4H), (4H), (H) */
    float *dgain[LN_COUNT], *dbias[LN_COUNT];
    float *h_gain[LN_COUNT], *h_bias[LN_COUNT];   /* host copies (params) */
    float *h_dgain[LN_COUNT], *h_dbias[LN_COUNT]; /* host gradients (outputs) */
    float *acts;                                  /* (T, B, 4H): LN_i(x W_ih^T) rows, then the activated gates */
    float *xhat_i, *xhat_h;                       /* (T, B, 4H) normalised rows */
    float *rstd_i, *rstd_h, *rstd_c;              /* (T, B) */
    float *xhat_c;                                /* (T, B, H) */
    float *hs, *cs;                               /* (T+1, B, H): h and LN_c(c) per step, row 0 = hx, cx */
} ln_layer;

typedef struct ln_lstm {
    nnb_cuda_lstm base; /* first: the shared interface reads the model as this (cuda_common.h) */
    int decom;          /* forward LayerNorms as one pass per op (jit_layernorm_decom) */
    float *stat;        /* (T * B) decomposed LayerNorm's row statistics */
    nnb_pw_geometry geo;
    const char *fuser;
    nnb_gemm gemm;   /* the handle and the GEMM operands' storage */
    int lp, fp16;    /* 16-bit GEMM operands (bf16, or fp16 with fp16 = 1) */
    uint16_t *x16;   /* (T, B, I) 16-bit copy of x */
    uint16_t *dgh16; /* (B, 4H) 16-bit copy of dgh */
    uint16_t *dgx16; /* (T, B, 4H) 16-bit copy of dgx */
    int64_t T, B, I, H, L;
    ln_layer *layers;
    float *x, *dx, *grad_y; /* (T, B, I), (T, B, I), (T, B, H) */
    float *dlayer[2];       /* (T, B, H) gradient between layers */
    float *gh;              /* (B, 4H) h W_hh^T, then LN_h of it */
    float *c_raw;           /* (B, H) f * c + i * g before LN_c */
    float *dgates;          /* (T, B, 4H) gradient reaching LN_i's and LN_h's outputs */
    float *dgh;             /* (B, 4H) gradient reaching h W_hh^T */
    float *dc_norm;         /* (T, B, H) gradient reaching LN_c's output */
    float *dc_raw;          /* (B, H) */
    float *dh_rec, *dc;     /* (B, H) */
    float *dhx, *dcx;       /* (L, B, H) */
    float *prod;            /* (T, B, 4H) scratch: dy * xhat for gain gradients */
    float *dgx;             /* (T, B, 4H) gradient reaching x W_ih^T */
    float *ones;            /* (T * B) */
    nnb_tensor *params, *outputs;
    char (*names)[40];
    int name_count;
} ln_lstm;

static int64_t ln_width(const ln_lstm *m, int n) { return n == LN_C ? m->H : 4 * m->H; }

/* A GEMM operand at offset elements: the 16-bit copy in bf16/fp16 runs, else the fp32 buffer. */
static const void *operand(const ln_lstm *m, const float *f32, const uint16_t *b16, int64_t offset) {
    return m->lp ? (const void *)(b16 + offset) : (const void *)(f32 + offset);
}

/* bf16/fp16: dst (n elements) = src rounded to 16 bits on the model's stream; nothing in fp32 runs. */
static int to_16bit(const ln_lstm *m, uint16_t *dst, const float *src, int64_t n, char *err, size_t err_len) {
    if (m->lp)
        NNB_KERNEL_TRY(nnb_cuda_f32_to_16bit(m->base.cu.stream, dst, src, n, m->fp16));
    return 0;
}

/* Layer k's input as a GEMM operand: x, or the layer below's h rows 1..T. */
static const void *layer_input(const ln_lstm *m, int64_t k) {
    int64_t BH = m->B * m->H;
    return k == 0 ? operand(m, m->x, m->x16, 0) : operand(m, m->layers[k - 1].hs, m->layers[k - 1].hs16, BH);
}

/* ---------------------------------------------------------------- forward */

static int ln_forward(ln_lstm *m, float *out, float *xhat, float *rstd, const float *in, const float *gain,
                      const float *bias, int64_t rows, int64_t cols, char *err, size_t err_len) {
    if (m->decom)
        NNB_KERNEL_TRY(nnb_cuda_layernorm_decomposed(&m->geo, m->base.cu.stream, out, xhat, rstd, m->stat, in, gain,
                                                     bias, rows, cols, LN_EPS));
    else
        NNB_KERNEL_TRY(nnb_cuda_layernorm_fwd(m->base.cu.stream, out, xhat, rstd, in, gain, bias, rows, cols, LN_EPS));
    return 0;
}

static int layer_forward(ln_lstm *m, int64_t k, char *err, size_t err_len) {
    ln_layer *ly = &m->layers[k];
    cudaStream_t s = m->base.cu.stream;
    const nnb_gemm *h = &m->gemm;
    int64_t T = m->T, B = m->B, H = m->H, G = 4 * H, in = ly->in;
    const void *w_hh = operand(m, ly->w_hh, ly->w_hh16, 0);
    if (nnb_gemmx_nt(h, T * B, G, in, layer_input(m, k), in, operand(m, ly->w_ih, ly->w_ih16, 0), in, 0.0f, ly->acts, G,
                     err, err_len))
        return -1;
    if (ln_forward(m, ly->acts, ly->xhat_i, ly->rstd_i, ly->acts, ly->gain[LN_I], ly->bias[LN_I], T * B, G, err,
                   err_len))
        return -1;
    for (int64_t t = 0; t < T; t++) {
        float *acts = ly->acts + t * B * G;
        const float *c_prev = ly->cs + t * B * H;
        if (nnb_gemmx_nt(h, B, G, H, operand(m, ly->hs, ly->hs16, t * B * H), H, w_hh, H, 0.0f, m->gh, G, err, err_len))
            return -1;
        if (ln_forward(m, m->gh, ly->xhat_h + t * B * G, ly->rstd_h + t * B, m->gh, ly->gain[LN_H], ly->bias[LN_H], B,
                       G, err, err_len))
            return -1;
        NNB_KERNEL_TRY(nnb_cuda_ln_cell(0, &m->geo, s, m->gh, c_prev, NULL, NULL, NULL, acts, m->c_raw, B, H));
        float *c_norm = ly->cs + (t + 1) * B * H;
        if (ln_forward(m, c_norm, ly->xhat_c + t * B * H, ly->rstd_c + t * B, m->c_raw, ly->gain[LN_C], ly->bias[LN_C],
                       B, H, err, err_len))
            return -1;
        NNB_KERNEL_TRY(
            nnb_cuda_ln_cell(1, &m->geo, s, acts, c_norm, NULL, NULL, NULL, ly->hs + (t + 1) * B * H, NULL, B, H));
        if (m->lp && to_16bit(m, ly->hs16 + (t + 1) * B * H, ly->hs + (t + 1) * B * H, B * H, err, err_len))
            return -1;
    }
    return 0;
}

static int forward_enqueue(void *p, char *err, size_t err_len) {
    ln_lstm *m = (ln_lstm *)p;
    if (nnb_cuda_ctx_use_stream(&m->base.cu, m->base.cu.stream, err, err_len))
        return -1;
    for (int64_t k = 0; k < m->L; k++)
        if (layer_forward(m, k, err, err_len))
            return -1;
    return 0;
}

/* --------------------------------------------------------------- backward */

/* dgain = colsum(dy * xhat), dbias = colsum(dy) over rows. */
static int ln_param_grads(ln_lstm *m, const float *dy, const float *xhat, int64_t rows, int64_t cols, float *dgain,
                          float *dbias, char *err, size_t err_len) {
    NNB_KERNEL_TRY(
        nnb_cuda_pointwise(&m->geo, m->base.cu.stream, NNB_PW_MUL, m->prod, cols, dy, cols, xhat, cols, rows, cols));
    if (nnb_colsum(m->base.cu.cublas, rows, cols, m->prod, cols, m->ones, 0.0f, dgain, err, err_len))
        return -1;
    return nnb_colsum(m->base.cu.cublas, rows, cols, dy, cols, m->ones, 0.0f, dbias, err, err_len);
}

static int layer_backward(ln_lstm *m, int64_t k, const float *dy, float *dxout, char *err, size_t err_len) {
    ln_layer *ly = &m->layers[k];
    cudaStream_t s = m->base.cu.stream;
    const nnb_gemm *h = &m->gemm;
    int64_t T = m->T, B = m->B, H = m->H, G = 4 * H, in = ly->in;
    const void *w_ih = operand(m, ly->w_ih, ly->w_ih16, 0), *w_hh = operand(m, ly->w_hh, ly->w_hh16, 0);
    const void *dgh = operand(m, m->dgh, m->dgh16, 0), *dgx = operand(m, m->dgx, m->dgx16, 0);
    size_t bh = sizeof(float) * (size_t)(B * H);
    NNB_CUDA_TRY(cudaMemsetAsync(ly->dw_hh, 0, sizeof(float) * (size_t)(G * H), s));
    NNB_CUDA_TRY(cudaMemsetAsync(m->dh_rec, 0, bh, s));
    NNB_CUDA_TRY(cudaMemsetAsync(m->dc, 0, bh, s));
    for (int64_t t = T - 1; t >= 0; t--) {
        const float *acts = ly->acts + t * B * G, *c_norm = ly->cs + (t + 1) * B * H;
        float *dg = m->dgates + t * B * G, *dcn = m->dc_norm + t * B * H;
        NNB_KERNEL_TRY(
            nnb_cuda_ln_cell(2, &m->geo, s, acts, c_norm, dy ? dy + t * B * H : NULL, m->dh_rec, m->dc, dg, dcn, B, H));
        NNB_KERNEL_TRY(nnb_cuda_layernorm_bwd(s, m->dc_raw, dcn, ly->xhat_c + t * B * H, ly->rstd_c + t * B,
                                              ly->gain[LN_C], B, H));
        NNB_KERNEL_TRY(
            nnb_cuda_ln_cell(3, &m->geo, s, acts, ly->cs + t * B * H, m->dc_raw, NULL, NULL, dg, m->dc, B, H));
        NNB_KERNEL_TRY(
            nnb_cuda_layernorm_bwd(s, m->dgh, dg, ly->xhat_h + t * B * G, ly->rstd_h + t * B, ly->gain[LN_H], B, G));
        if (to_16bit(m, m->dgh16, m->dgh, B * G, err, err_len) ||
            nnb_gemmx_nn(h, B, H, G, dgh, G, w_hh, H, 0.0f, m->dh_rec, H, err, err_len) ||
            nnb_gemmx_tn(h, G, H, B, dgh, G, operand(m, ly->hs, ly->hs16, t * B * H), H, 1.0f, ly->dw_hh, H, err,
                         err_len))
            return -1;
    }
    /* input side, batched over all steps */
    NNB_KERNEL_TRY(nnb_cuda_layernorm_bwd(s, m->dgx, m->dgates, ly->xhat_i, ly->rstd_i, ly->gain[LN_I], T * B, G));
    if (to_16bit(m, m->dgx16, m->dgx, T * B * G, err, err_len) ||
        nnb_gemmx_nn(h, T * B, in, G, dgx, G, w_ih, in, 0.0f, dxout, in, err, err_len) ||
        nnb_gemmx_tn(h, G, in, T * B, dgx, G, layer_input(m, k), in, 0.0f, ly->dw_ih, in, err, err_len))
        return -1;
    /* LN_i and LN_h see the same output gradient (their outputs are summed) */
    if (ln_param_grads(m, m->dgates, ly->xhat_i, T * B, G, ly->dgain[LN_I], ly->dbias[LN_I], err, err_len) ||
        ln_param_grads(m, m->dgates, ly->xhat_h, T * B, G, ly->dgain[LN_H], ly->dbias[LN_H], err, err_len) ||
        ln_param_grads(m, m->dc_norm, ly->xhat_c, T * B, H, ly->dgain[LN_C], ly->dbias[LN_C], err, err_len))
        return -1;
    NNB_CUDA_TRY(cudaMemcpyAsync(m->dhx + k * B * H, m->dh_rec, bh, cudaMemcpyDeviceToDevice, s));
    NNB_CUDA_TRY(cudaMemcpyAsync(m->dcx + k * B * H, m->dc, bh, cudaMemcpyDeviceToDevice, s));
    return 0;
}

static int backward_enqueue(void *p, char *err, size_t err_len) {
    ln_lstm *m = (ln_lstm *)p;
    if (nnb_cuda_ctx_use_stream(&m->base.cu, m->base.cu.stream, err, err_len))
        return -1;
    for (int64_t k = m->L - 1; k >= 0; k--) {
        const float *dy = k == m->L - 1 ? m->grad_y : m->dlayer[k % 2];
        float *dxout = k == 0 ? m->dx : m->dlayer[(k - 1) % 2];
        if (layer_backward(m, k, dy, dxout, err, err_len))
            return -1;
    }
    return 0;
}

/* ------------------------------------------------------------------ setup */

static int is_bias_tensor(const char *name) { return !strncmp(name, "b_", 2) || !strncmp(name, "db_", 3); }

static const char *add_name(ln_lstm *m, const char *prefix, int n, int64_t k) {
    char *dst = m->names[m->name_count++];
    snprintf(dst, sizeof m->names[0], "%s%s_%s_l%lld", prefix[0] == 'd' ? "d" : "", LN_NAMES[n],
             prefix[1] == 'w' ? "weight" : "bias", (long long)k);
    return dst;
}

static void set_view(nnb_tensor *t, const char *name, const float *data, int64_t n) {
    memset(t, 0, sizeof *t);
    t->name = name;
    t->dtype = NNB_F32;
    t->ndim = 1;
    t->shape[0] = n;
    t->data = data;
}

/* nnb_lstm_data's views less the gate biases, plus the LN parameters and their gradients. */
static int build_views(ln_lstm *m, char *err, size_t err_len) {
    const nnb_lstm_data *d = &m->base.d;
    size_t cap = (size_t)(d->param_count + d->output_count) + 12 * (size_t)m->L;
    m->params = (nnb_tensor *)nnb_alloc_bytes(sizeof(nnb_tensor) * cap);
    m->outputs = (nnb_tensor *)nnb_alloc_bytes(sizeof(nnb_tensor) * cap);
    m->names = (char(*)[40])nnb_alloc_bytes(sizeof m->names[0] * 12 * (size_t)m->L);
    if (!m->params || !m->outputs || !m->names)
        return nnb_fail(err, err_len, "out of memory");
    int np = 0, no = 0;
    for (int i = 0; i < d->param_count; i++)
        if (!is_bias_tensor(d->param_views[i].name))
            m->params[np++] = d->param_views[i];
    for (int i = 0; i < d->output_count; i++)
        if (!is_bias_tensor(d->output_views[i].name))
            m->outputs[no++] = d->output_views[i];
    for (int64_t k = 0; k < m->L; k++)
        for (int n = 0; n < LN_COUNT; n++) {
            const ln_layer *ly = &m->layers[k];
            int64_t w = ln_width(m, n);
            set_view(&m->params[np++], add_name(m, "-w", n, k), ly->h_gain[n], w);
            set_view(&m->params[np++], add_name(m, "-b", n, k), ly->h_bias[n], w);
            set_view(&m->outputs[no++], add_name(m, "dw", n, k), ly->h_dgain[n], w);
            set_view(&m->outputs[no++], add_name(m, "db", n, k), ly->h_dbias[n], w);
        }
    m->base.params.count = np;
    m->base.params.items = m->params;
    m->base.outputs.count = no;
    m->base.outputs.items = m->outputs;
    return 0;
}

/* A zeroed device buffer of n 16-bit elements. */
static int alloc16(ln_lstm *m, uint16_t **p, size_t n, char *err, size_t err_len) {
    size_t bytes;
    if (nnb_mul_size(&bytes, n, sizeof(uint16_t)))
        return nnb_fail(err, err_len, "device buffer size overflows size_t");
    return nnb_cuda_alloc_bytes(&m->base.cu, (void **)p, bytes, err, err_len);
}

static int alloc_layer(ln_lstm *m, int64_t k, uint64_t seed, char *err, size_t err_len) {
    nnb_cuda_ctx *c = &m->base.cu;
    ln_layer *ly = &m->layers[k];
    int64_t T = m->T, B = m->B, H = m->H, G = 4 * H;
    ly->in = nnb_lstm_layer_input(&m->base.d, k);
    size_t wih = (size_t)(G * ly->in), whh = (size_t)(G * H), tbg = (size_t)(T * B * G), tb = (size_t)(T * B);
    size_t hs = (size_t)((T + 1) * B * H);
    if (nnb_cuda_alloc(c, &ly->w_ih, wih, err, err_len) || nnb_cuda_alloc(c, &ly->w_hh, whh, err, err_len) ||
        nnb_cuda_alloc(c, &ly->dw_ih, wih, err, err_len) || nnb_cuda_alloc(c, &ly->dw_hh, whh, err, err_len) ||
        nnb_cuda_alloc(c, &ly->acts, tbg, err, err_len) || nnb_cuda_alloc(c, &ly->xhat_i, tbg, err, err_len) ||
        nnb_cuda_alloc(c, &ly->xhat_h, tbg, err, err_len) || nnb_cuda_alloc(c, &ly->rstd_i, tb, err, err_len) ||
        nnb_cuda_alloc(c, &ly->rstd_h, tb, err, err_len) || nnb_cuda_alloc(c, &ly->rstd_c, tb, err, err_len) ||
        nnb_cuda_alloc(c, &ly->xhat_c, (size_t)(T * B * H), err, err_len) ||
        nnb_cuda_alloc(c, &ly->hs, hs, err, err_len) || nnb_cuda_alloc(c, &ly->cs, hs, err, err_len))
        return -1;
    if (nnb_cuda_upload(ly->w_ih, m->base.d.w_ih[k], wih, err, err_len) ||
        nnb_cuda_upload(ly->w_hh, m->base.d.w_hh[k], whh, err, err_len) ||
        nnb_cuda_upload(ly->hs, m->base.d.hx + k * B * H, (size_t)(B * H), err, err_len) ||
        nnb_cuda_upload(ly->cs, m->base.d.cx + k * B * H, (size_t)(B * H), err, err_len))
        return -1;
    int p = m->base.cu.precision;
    if (m->lp && (alloc16(m, &ly->w_ih16, wih, err, err_len) || alloc16(m, &ly->w_hh16, whh, err, err_len) ||
                  alloc16(m, &ly->hs16, hs, err, err_len) ||
                  nnb_cuda_upload_as(p, ly->w_ih16, m->base.d.w_ih[k], wih, err, err_len) ||
                  nnb_cuda_upload_as(p, ly->w_hh16, m->base.d.w_hh[k], whh, err, err_len) ||
                  nnb_cuda_upload_as(p, ly->hs16, m->base.d.hx + k * B * H, (size_t)(B * H), err, err_len)))
        return -1;
    for (int n = 0; n < LN_COUNT; n++) {
        size_t w = (size_t)ln_width(m, n);
        char name[40];
        if (!(ly->h_gain[n] = nnb_alloc_floats(w)) || !(ly->h_bias[n] = nnb_alloc_floats(w)) ||
            !(ly->h_dgain[n] = nnb_alloc_floats(w)) || !(ly->h_dbias[n] = nnb_alloc_floats(w)))
            return nnb_fail(err, err_len, "out of host memory");
        snprintf(name, sizeof name, "%s_weight_l%lld", LN_NAMES[n], (long long)k);
        nnb_fill_uniform(ly->h_gain[n], w, seed, name, LN_GAIN_LO, LN_GAIN_HI);
        snprintf(name, sizeof name, "%s_bias_l%lld", LN_NAMES[n], (long long)k);
        nnb_fill_uniform(ly->h_bias[n], w, seed, name, LN_BIAS_LO, LN_BIAS_HI);
        if (nnb_cuda_alloc(c, &ly->gain[n], w, err, err_len) || nnb_cuda_alloc(c, &ly->bias[n], w, err, err_len) ||
            nnb_cuda_alloc(c, &ly->dgain[n], w, err, err_len) || nnb_cuda_alloc(c, &ly->dbias[n], w, err, err_len) ||
            nnb_cuda_upload(ly->gain[n], ly->h_gain[n], w, err, err_len) ||
            nnb_cuda_upload(ly->bias[n], ly->h_bias[n], w, err, err_len))
            return -1;
    }
    return 0;
}

static int setup(void *model, const nnb_config *cfg, char *err, size_t err_len) {
    ln_lstm *m = (ln_lstm *)model;
    m->decom = !strcmp(m->base.name, "jit_layernorm_decom");
    /* te and old both run the fused LayerNorm-LSTM cell kernels; there is no unfused chain for them */
    static const char *const fusers[] = {"te", "old", NULL};
    if (nnb_check_fuser_executor(m->base.name, cfg, fusers, nnb_cuda_lstm_executors, err, err_len))
        return -1;
    const char *f = cfg->fuser ? cfg->fuser : "te";
    m->fuser = f;
    if (nnb_pw_geometry_from_config(&m->geo, cfg->cuda_pointwise_block_size, cfg->cuda_pointwise_block_count,
                                    cfg->cuda_pointwise_loop_level, err, err_len))
        return -1;
    if (nnb_cuda_ctx_init(&m->base.cu, cfg, m->base.name, 1, err, err_len))
        return -1;
    int p = m->base.cu.precision;
    if (!nnb_precision_name(p))
        return nnb_fail(err, err_len, "%s: unknown precision %d (fp32, tf32, bf16 or fp16)", m->base.name, p);
    m->lp = nnb_cuda_precision_is_16bit(p);
    m->fp16 = p == NNB_PRECISION_FP16;
    m->gemm.h = m->base.cu.cublas;
    m->gemm.ab = nnb_cuda_data_type(p);
    if (nnb_lstm_data_init(&m->base.d, cfg, 0, 0, err, err_len))
        return -1;
    m->T = m->base.d.T, m->B = m->base.d.B, m->I = m->base.d.I, m->H = m->base.d.H, m->L = m->base.d.L;
    int64_t T = m->T, B = m->B, I = m->I, H = m->H, G = 4 * H, L = m->L;
    if ((double)T * (double)B * (double)(G > I ? G : I) > 2147483647.0)
        return nnb_fail(err, err_len, "%s: T*B*max(4H, I) exceeds cuBLAS's int dimensions", m->base.name);
    m->layers = (ln_layer *)nnb_alloc_bytes(sizeof(ln_layer) * (size_t)L);
    if (!m->layers)
        return nnb_fail(err, err_len, "out of memory");
    nnb_cuda_ctx *c = &m->base.cu;
    size_t tbh = (size_t)(T * B * H), bh = (size_t)(B * H), tb = (size_t)(T * B), tbg = tb * (size_t)G;
    if (nnb_cuda_alloc(c, &m->x, (size_t)(T * B * I), err, err_len) ||
        nnb_cuda_alloc(c, &m->dx, (size_t)(T * B * I), err, err_len) ||
        nnb_cuda_alloc(c, &m->grad_y, tbh, err, err_len) || nnb_cuda_alloc(c, &m->gh, bh * 4, err, err_len) ||
        nnb_cuda_alloc(c, &m->c_raw, bh, err, err_len) || nnb_cuda_alloc(c, &m->dgates, tbg, err, err_len) ||
        nnb_cuda_alloc(c, &m->dgh, bh * 4, err, err_len) || nnb_cuda_alloc(c, &m->dc_norm, tbh, err, err_len) ||
        nnb_cuda_alloc(c, &m->dc_raw, bh, err, err_len) || nnb_cuda_alloc(c, &m->dh_rec, bh, err, err_len) ||
        nnb_cuda_alloc(c, &m->dc, bh, err, err_len) || nnb_cuda_alloc(c, &m->dhx, (size_t)L * bh, err, err_len) ||
        nnb_cuda_alloc(c, &m->dcx, (size_t)L * bh, err, err_len) || nnb_cuda_alloc(c, &m->prod, tbg, err, err_len) ||
        nnb_cuda_alloc(c, &m->dgx, tbg, err, err_len) || nnb_cuda_alloc(c, &m->ones, tb, err, err_len) ||
        nnb_cuda_alloc(c, &m->stat, tb, err, err_len))
        return -1;
    if (m->lp && (alloc16(m, &m->x16, (size_t)(T * B * I), err, err_len) ||
                  alloc16(m, &m->dgh16, bh * 4, err, err_len) || alloc16(m, &m->dgx16, tbg, err, err_len) ||
                  nnb_cuda_upload_as(p, m->x16, m->base.d.x, (size_t)(T * B * I), err, err_len)))
        return -1;
    if (L > 1 &&
        (nnb_cuda_alloc(c, &m->dlayer[0], tbh, err, err_len) || nnb_cuda_alloc(c, &m->dlayer[1], tbh, err, err_len)))
        return -1;
    float *ones = nnb_alloc_floats(tb);
    if (!ones)
        return nnb_fail(err, err_len, "out of host memory");
    for (size_t i = 0; i < tb; i++)
        ones[i] = 1.0f;
    int rc = nnb_cuda_upload(m->ones, ones, tb, err, err_len);
    nnb_free(ones);
    if (rc || nnb_cuda_upload(m->x, m->base.d.x, (size_t)(T * B * I), err, err_len) ||
        nnb_cuda_upload(m->grad_y, m->base.d.grad_y, tbh, err, err_len))
        return -1;
    for (int64_t k = 0; k < L; k++)
        if (alloc_layer(m, k, cfg->seed, err, err_len))
            return -1;
    if (build_views(m, err, err_len))
        return -1;
    return nnb_cuda_lstm_capture(&m->base, 1, err, err_len);
}

static void destroy(void *model) {
    ln_lstm *m = (ln_lstm *)model;
    for (int64_t k = 0; m->layers && k < m->L; k++)
        for (int n = 0; n < LN_COUNT; n++) {
            ln_layer *ly = &m->layers[k];
            nnb_free(ly->h_gain[n]), nnb_free(ly->h_bias[n]), nnb_free(ly->h_dgain[n]), nnb_free(ly->h_dbias[n]);
        }
    nnb_free(m->layers);
    nnb_free(m->params);
    nnb_free(m->outputs);
    nnb_free(m->names);
}

/* ------------------------------------------------------------- interface */

/* Brings the outputs and every gradient (the LN parameters' into their host copies) back. */
static int download(void *model, char *err, size_t err_len) {
    ln_lstm *m = (ln_lstm *)model;
    nnb_lstm_data *d = &m->base.d;
    int64_t T = m->T, B = m->B, H = m->H, G = 4 * H;
    size_t bh = (size_t)(B * H);
    const ln_layer *top = &m->layers[m->L - 1];
    if (nnb_cuda_download(&m->base.cu, d->y, top->hs + B * H, (size_t)(T * B * H), err, err_len) ||
        nnb_cuda_download(&m->base.cu, d->dx, m->dx, (size_t)(T * B * m->I), err, err_len) ||
        nnb_cuda_download(&m->base.cu, d->dhx, m->dhx, (size_t)m->L * bh, err, err_len) ||
        nnb_cuda_download(&m->base.cu, d->dcx, m->dcx, (size_t)m->L * bh, err, err_len))
        return -1;
    for (int64_t k = 0; k < m->L; k++) {
        const ln_layer *ly = &m->layers[k];
        if (nnb_cuda_download(&m->base.cu, d->hy + k * B * H, ly->hs + T * B * H, bh, err, err_len) ||
            nnb_cuda_download(&m->base.cu, d->cy + k * B * H, ly->cs + T * B * H, bh, err, err_len) ||
            nnb_cuda_download(&m->base.cu, d->dw_ih[k], ly->dw_ih, (size_t)(G * ly->in), err, err_len) ||
            nnb_cuda_download(&m->base.cu, d->dw_hh[k], ly->dw_hh, (size_t)(G * H), err, err_len))
            return -1;
        for (int n = 0; n < LN_COUNT; n++) {
            size_t w = (size_t)ln_width(m, n);
            if (nnb_cuda_download(&m->base.cu, ly->h_dgain[n], ly->dgain[n], w, err, err_len) ||
                nnb_cuda_download(&m->base.cu, ly->h_dbias[n], ly->dbias[n], w, err, err_len))
                return -1;
        }
    }
    return 0;
}

static void describe(const void *model, char *buf, size_t buf_len, size_t *used) {
    const ln_lstm *m = (const ln_lstm *)model;
    nnb_appendf(buf, buf_len, used,
                "\"schedule\":\"one GEMM x.W_ih^T + LN_i over all steps; per step h.W_hh^T, LN_h, fused gate "
                "half, LN_c, fused output half\",");
    if (m->lp)
        nnb_appendf(buf, buf_len, used,
                    "\"gemm\":\"cublasGemmEx (%s A and B, fp32 C, CUBLAS_COMPUTE_32F)\",\"storage\":\"%s x, weights, "
                    "h and the GEMM-side gradients as GEMM operands; fp32 LayerNorms, their parameters, cell state\",",
                    m->fp16 ? "fp16" : "bf16", m->fp16 ? "fp16" : "bf16");
    else
        nnb_appendf(buf, buf_len, used, "\"gemm\":\"cublasSgemm (fp32%s)\",",
                    m->base.cu.tf32 ? ", TF32 tensor ops allowed" : "");
    nnb_appendf(buf, buf_len, used,
                "\"fuser\":\"%s\",\"cell_kernels\":\"nnb_ln_cell_{gates,out}_{fwd,bwd}_kernel\","
                "\"layernorm_forward\":\"%s\",\"layernorm_backward\":\"nnb_layernorm_bwd_kernel (one warp per row)\",",
                m->fuser,
                m->decom ? "7 passes: nnb_row_reduce_kernel mean, nnb_row_scalar_kernel sub, mean sq, rsqrt, "
                           "normalise, nnb_pointwise_kernel scale, shift (eps 1e-5)"
                         : "nnb_layernorm_fwd_kernel (one warp per row, eps 1e-5)");
    nnb_appendf(buf, buf_len, used,
                "\"pointwise_geometry\":{\"block_size\":%d,\"block_count_cap\":%d,\"loop_level\":%d},",
                m->geo.block_size, m->geo.block_count, m->geo.loop_level);
}

static const nnb_cuda_lstm_ops OPS = {
    setup, forward_enqueue, backward_enqueue, download, describe, destroy, NULL, NULL, NULL,
    NULL}; /* no inference (ABI 1.2) */

void *nnb_ln_lstm_create(const nnb_config *cfg, char *err, size_t err_len) {
    return nnb_cuda_lstm_create(sizeof(ln_lstm), &OPS, "jit_layernorm", NULL, cfg, err, err_len);
}

void *nnb_ln_lstm_create_decom(const nnb_config *cfg, char *err, size_t err_len) {
    return nnb_cuda_lstm_create(sizeof(ln_lstm), &OPS, "jit_layernorm_decom", NULL, cfg, err, err_len);
}
