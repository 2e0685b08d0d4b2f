/*
 * cuDNN 9 LSTM runners through the v8 RNN API:
 *   cudnn            cudnnRNNForward (training mode), cudnnRNNBackwardData_v8, cudnnRNNBackwardWeights_v8
 *   vl_cudnn         the same with per-sequence lengths in the RNN data descriptors
 *                    (SEQ_MAJOR_UNPACKED, padding fill 0): packed-sequence semantics
 *   cudnn_dropout    cuDNN's own dropout (p = 0.4) between layers; its RNG mask cannot
 *                    equal nnb_dropout_mask, so this runner claims no reference
 *   cudnn_layernorm  forward only: the library LSTM, then per step two LayerNorms of a
 *                    seeded (B, 4H) input and cy = LN(cy) (gain 1, bias 0, eps 1e-5)
 * Inference (ABI 1.2, `cudnn` only): cudnnRNNForward with CUDNN_FWD_MODE_INFERENCE on the first n samples.
 * n = B runs on the model's buffers in place, with the create-time descriptors. cuDNN's data descriptors
 * (SEQ_MAJOR_UNPACKED) describe a dense (T, n, I) batch, with no pitch, and hx/cx must be fully packed, so for
 * n < B the first n columns of each row are packed on the device (cudaMemcpy2DAsync: x, hx, cx), cuDNN runs on
 * batch-n descriptors (one set, re-set on the host when n changes), and y, hy, cy are unpacked back into the
 * model's (T, B, H) / (L, B, H) buffers, where infer_io says the output is. The one workspace is sized at
 * create for training and for inference at every n = 1..B (cudnnGetRNNTempSpaceSizes), so infer never
 * allocates.
 * Weights: cudnnGetRNNWeightParams tells where each (layer, linLayerID) lives in the
 * weight space; cudnn_weight_map.c moves the PyTorch layout there, and the weight
 * gradients back. Workspace and reserve space are allocated once, at create.
 * cuDNN only accumulates weight gradients (CUDNN_WGRAD_MODE_ADD), so backward clears
 * the gradient space first, as a framework's fresh gradient buffer would be.
 * Precision (ABI 1.3): fp32 runs CUDNN_DATA_FLOAT with CUDNN_FMA_MATH, tf32 (or --tf32) the same data with
 * CUDNN_DEFAULT_MATH (TF32 tensor ops allowed). bf16 and fp16 store everything cuDNN reads and writes (x, y,
 * hx, cx, hy, cy, their gradients, the weight space with its biases, the gradient space) as CUDNN_DATA_BFLOAT16
 * / CUDNN_DATA_HALF, with mathPrec CUDNN_DATA_FLOAT (fp32 compute precision, as frameworks promote half RNN math)
 * and CUDNN_TENSOR_OP_MATH; the host converts on upload (the values are already rounded: nnb_lstm_data) and
 * widens results back to fp32. What cuDNN was set to is read back (cudnnGetRNNDescriptor_v8) for describe().
 * cudnn_layernorm (its LayerNorm kernels are fp32) runs fp32 and tf32 only; infer_io (fp32 device buffers for
 * serve) is refused in bf16/fp16.
 */
#include "cudnn_lstm.h"
#include "cuda_common.h"
#include "cudnn_weight_map.h"
#include "lstm_kernels.h"

#include <stdlib.h>
#include <string.h>

#define CUDNN_DROPOUT_P 0.4f
#define LN_EPS 1e-5f

typedef struct cudnn_kind {
    const char *name;
    int variable, dropout, layernorm;
    int infer; /* serves (ABI 1.2 infer, infer_io, load_param) */
} cudnn_kind;

static const cudnn_kind KINDS[] = {
    {"cudnn", 0, 0, 0, 1}, {"vl_cudnn", 1, 0, 0, 0}, {"cudnn_dropout", 0, 1, 0, 0}, {"cudnn_layernorm", 0, 0, 1, 0}};

typedef struct cudnn_lstm {
    nnb_cuda_lstm base; /* first: the shared interface reads the model as this (cuda_common.h) */
    const cudnn_kind *kind;
    int64_t T, B, I, H, L;
    cudnnHandle_t handle;
    cudnnRNNDescriptor_t rnn;
    cudnnRNNDataDescriptor_t xdesc, ydesc;
    cudnnTensorDescriptor_t hdesc, cdesc, mdesc, bdesc;
    cudnnDropoutDescriptor_t drop;
    cudnnMathType_t math;      /* what cuDNN reports back for the RNN descriptor */
    cudnnDataType_t math_prec; /* likewise */
    int precision;             /* nnb_precision of the run */
    cudnnDataType_t dtype;     /* data, weights and states: FLOAT, BFLOAT16 or HALF */
    size_t es;                 /* bytes per element of dtype */
    uint64_t seed;
    void *drop_states;
    size_t drop_states_size, wsize, work_size, reserve_size;
    int32_t *dev_seq_lengths; /* (B) */
    void *w, *dw;             /* weight space and its gradient (elements of dtype) */
    void *work, *reserve;
    /* device data, elements of dtype: */
    void *x, *dx;                        /* (T, B, I) */
    void *y, *dy;                        /* (T, B, H) */
    void *hx, *cx, *hy, *cy, *dhx, *dcx; /* (L, B, H) */
    float *ln_in, *ln_out;               /* (B, 4H) cudnn_layernorm's seeded input and its output */
    nnb_cudnn_weight_map map;
    float *space_host;
    /* inference on n < B samples (kind->infer): batch-n descriptors and packed (T, n, .) / (L, n, H) copies */
    cudnnRNNDataDescriptor_t xdesc_n, ydesc_n;
    cudnnTensorDescriptor_t hdesc_n, cdesc_n;
    int64_t desc_n;  /* the batch the _n descriptors describe now; 0: not set yet */
    int *all_t;      /* (B) host sequence lengths, all T */
    void *xp, *yp;   /* (T, n, I), (T, n, H) packed, elements of dtype */
    void *hxp, *cxp; /* (L, n, H) packed */
    void *hyp, *cyp;
    size_t infer_work_size; /* largest inference workspace over n = 1..B (within work_size) */
} cudnn_lstm;

static const char *math_name(cudnnMathType_t m) {
    switch (m) {
    case CUDNN_DEFAULT_MATH: return "CUDNN_DEFAULT_MATH (TF32 tensor ops allowed)";
    case CUDNN_FMA_MATH: return "CUDNN_FMA_MATH (fp32, no tensor ops)";
    case CUDNN_TENSOR_OP_MATH: return "CUDNN_TENSOR_OP_MATH (tensor ops on bf16/fp16 data)";
    case CUDNN_TENSOR_OP_MATH_ALLOW_CONVERSION: return "CUDNN_TENSOR_OP_MATH_ALLOW_CONVERSION";
    default: return "other";
    }
}

static const char *dtype_name(cudnnDataType_t t) {
    switch (t) {
    case CUDNN_DATA_FLOAT: return "CUDNN_DATA_FLOAT";
    case CUDNN_DATA_HALF: return "CUDNN_DATA_HALF";
    case CUDNN_DATA_BFLOAT16: return "CUDNN_DATA_BFLOAT16";
    default: return "other";
    }
}

/* A zeroed device buffer of n elements of the run's data type. */
static int alloc_elems(cudnn_lstm *m, void **p, size_t n, char *err, size_t err_len) {
    size_t bytes;
    if (nnb_mul_size(&bytes, n, m->es))
        return nnb_fail(err, err_len, "device buffer size overflows size_t");
    return nnb_cuda_alloc_bytes(&m->base.cu, p, bytes, err, err_len);
}

static int upload(const cudnn_lstm *m, void *dst, const float *src, size_t n, char *err, size_t err_len) {
    return nnb_cuda_upload_as(m->precision, dst, src, n, err, err_len);
}

static int download_elems(cudnn_lstm *m, float *dst, const void *src, size_t n, char *err, size_t err_len) {
    return nnb_cuda_download_as(m->base.cu.user_stream, m->precision, dst, src, n, err, err_len);
}

/* ---------------------------------------------------------------- phases */

static int forward_enqueue(void *p, char *err, size_t err_len) {
    cudnn_lstm *m = (cudnn_lstm *)p;
    NNB_CUDNN_TRY(cudnnSetStream(m->handle, m->base.cu.stream));
    NNB_CUDNN_TRY(cudnnRNNForward(m->handle, m->rnn, CUDNN_FWD_MODE_TRAINING, m->dev_seq_lengths, m->xdesc, m->x,
                                  m->ydesc, m->y, m->hdesc, m->hx, m->hy, m->cdesc, m->cx, m->cy, m->wsize, m->w,
                                  m->work_size, m->work, m->reserve_size, m->reserve));
    if (m->kind->layernorm) /* fastrnns' layernorm cudnn variant: LN work added per step */
        for (int64_t t = 0; t < m->T; t++) {
            int64_t rows = m->B, G = 4 * m->H;
            NNB_KERNEL_TRY(
                nnb_cuda_layernorm_rows(m->base.cu.stream, m->ln_out, m->ln_in, NULL, NULL, rows, G, LN_EPS));
            NNB_KERNEL_TRY(
                nnb_cuda_layernorm_rows(m->base.cu.stream, m->ln_out, m->ln_in, NULL, NULL, rows, G, LN_EPS));
            NNB_KERNEL_TRY(nnb_cuda_layernorm_rows(m->base.cu.stream, (float *)m->cy, (const float *)m->cy, NULL, NULL,
                                                   m->L * m->B, m->H, LN_EPS)); /* fp32 and tf32 only */
        }
    return 0;
}

static int backward_enqueue(void *p, char *err, size_t err_len) {
    cudnn_lstm *m = (cudnn_lstm *)p;
    NNB_CUDNN_TRY(cudnnSetStream(m->handle, m->base.cu.stream));
    NNB_CUDA_TRY(cudaMemsetAsync(m->dw, 0, m->wsize, m->base.cu.stream)); /* zero bits: 0 in every dtype */
    /* dhy, dcy NULL: the final states get no upstream gradient. */
    NNB_CUDNN_TRY(cudnnRNNBackwardData_v8(m->handle, m->rnn, m->dev_seq_lengths, m->ydesc, m->y, m->dy, m->xdesc, m->dx,
                                          m->hdesc, m->hx, NULL, m->dhx, m->cdesc, m->cx, NULL, m->dcx, m->wsize, m->w,
                                          m->work_size, m->work, m->reserve_size, m->reserve));
    NNB_CUDNN_TRY(cudnnRNNBackwardWeights_v8(m->handle, m->rnn, CUDNN_WGRAD_MODE_ADD, m->dev_seq_lengths, m->xdesc,
                                             m->x, m->hdesc, m->hx, m->ydesc, m->y, m->wsize, m->dw, m->work_size,
                                             m->work, m->reserve_size, m->reserve));
    return 0;
}

/* Batch-n descriptors for infer (host-only calls), when n differs from the batch they describe now. */
static int set_batch_descriptors(cudnn_lstm *m, int64_t n, char *err, size_t err_len) {
    if (m->desc_n == n)
        return 0;
    float fill = 0.0f;
    NNB_CUDNN_TRY(cudnnSetRNNDataDescriptor(m->xdesc_n, m->dtype, CUDNN_RNN_DATA_LAYOUT_SEQ_MAJOR_UNPACKED, (int)m->T,
                                            (int)n, (int)m->I, m->all_t, &fill));
    NNB_CUDNN_TRY(cudnnSetRNNDataDescriptor(m->ydesc_n, m->dtype, CUDNN_RNN_DATA_LAYOUT_SEQ_MAJOR_UNPACKED, (int)m->T,
                                            (int)n, (int)m->H, m->all_t, &fill));
    int dims[3] = {(int)m->L, (int)n, (int)m->H}, strides[3] = {(int)(n * m->H), (int)m->H, 1};
    NNB_CUDNN_TRY(cudnnSetTensorNdDescriptor(m->hdesc_n, m->dtype, 3, dims, strides));
    NNB_CUDNN_TRY(cudnnSetTensorNdDescriptor(m->cdesc_n, m->dtype, 3, dims, strides));
    m->desc_n = n;
    return 0;
}

/* rows of w elements: the first w of each row of pitch spitch elements into rows of pitch dpitch (stream order). */
static int copy_rows(cudnn_lstm *m, void *dst, int64_t dpitch, const void *src, int64_t spitch, int64_t w, int64_t rows,
                     char *err, size_t err_len) {
    size_t f = m->es;
    NNB_CUDA_TRY(cudaMemcpy2DAsync(dst, (size_t)dpitch * f, src, (size_t)spitch * f, (size_t)w * f, (size_t)rows,
                                   cudaMemcpyDeviceToDevice, m->base.cu.user_stream));
    return 0;
}

static int infer_enqueue(void *p, int64_t n, char *err, size_t err_len) {
    cudnn_lstm *m = (cudnn_lstm *)p;
    int64_t T = m->T, B = m->B, I = m->I, H = m->H, L = m->L;
    if (!m->kind->infer)
        return nnb_fail(err, err_len, "%s: infer is not supported by this runner", m->kind->name);
    NNB_CUDNN_TRY(cudnnSetStream(m->handle, m->base.cu.user_stream));
    if (n == B) { /* the model's buffers as they are */
        NNB_CUDNN_TRY(cudnnRNNForward(m->handle, m->rnn, CUDNN_FWD_MODE_INFERENCE, m->dev_seq_lengths, m->xdesc, m->x,
                                      m->ydesc, m->y, m->hdesc, m->hx, m->hy, m->cdesc, m->cx, m->cy, m->wsize, m->w,
                                      m->work_size, m->work, m->reserve_size, m->reserve));
        return 0;
    }
    if (set_batch_descriptors(m, n, err, err_len) || copy_rows(m, m->xp, n * I, m->x, B * I, n * I, T, err, err_len) ||
        copy_rows(m, m->hxp, n * H, m->hx, B * H, n * H, L, err, err_len) ||
        copy_rows(m, m->cxp, n * H, m->cx, B * H, n * H, L, err, err_len))
        return -1;
    /* devSeqLengths: the first n of the model's (all T) */
    NNB_CUDNN_TRY(cudnnRNNForward(m->handle, m->rnn, CUDNN_FWD_MODE_INFERENCE, m->dev_seq_lengths, m->xdesc_n, m->xp,
                                  m->ydesc_n, m->yp, m->hdesc_n, m->hxp, m->hyp, m->cdesc_n, m->cxp, m->cyp, m->wsize,
                                  m->w, m->work_size, m->work, m->reserve_size, m->reserve));
    if (copy_rows(m, m->y, B * H, m->yp, n * H, n * H, T, err, err_len) ||
        copy_rows(m, m->hy, B * H, m->hyp, n * H, n * H, L, err, err_len) ||
        copy_rows(m, m->cy, B * H, m->cyp, n * H, n * H, L, err, err_len))
        return -1;
    return 0;
}

/* ----------------------------------------------------------------- setup */

/* What cuDNN holds for the RNN descriptor: its math type and compute precision, for describe(). */
static int read_back_math(cudnn_lstm *m, char *err, size_t err_len) {
    cudnnRNNAlgo_t algo;
    cudnnRNNMode_t cell;
    cudnnRNNBiasMode_t bias;
    cudnnDirectionMode_t dir;
    cudnnRNNInputMode_t input;
    cudnnDataType_t data;
    int32_t in_size, hidden, proj, layers;
    cudnnDropoutDescriptor_t drop;
    uint32_t aux;
    NNB_CUDNN_TRY(cudnnGetRNNDescriptor_v8(m->rnn, &algo, &cell, &bias, &dir, &input, &data, &m->math_prec, &m->math,
                                           &in_size, &hidden, &proj, &layers, &drop, &aux));
    return 0;
}

static int set_descriptors(cudnn_lstm *m, char *err, size_t err_len) {
    int64_t T = m->T, B = m->B, I = m->I, H = m->H, L = m->L;
    NNB_CUDNN_TRY(cudnnCreate(&m->handle));
    NNB_CUDNN_TRY(cudnnCreateRNNDescriptor(&m->rnn));
    NNB_CUDNN_TRY(cudnnCreateRNNDataDescriptor(&m->xdesc));
    NNB_CUDNN_TRY(cudnnCreateRNNDataDescriptor(&m->ydesc));
    NNB_CUDNN_TRY(cudnnCreateTensorDescriptor(&m->hdesc));
    NNB_CUDNN_TRY(cudnnCreateTensorDescriptor(&m->cdesc));
    NNB_CUDNN_TRY(cudnnCreateTensorDescriptor(&m->mdesc));
    NNB_CUDNN_TRY(cudnnCreateTensorDescriptor(&m->bdesc));
    NNB_CUDNN_TRY(cudnnCreateDropoutDescriptor(&m->drop));
    NNB_CUDNN_TRY(cudnnDropoutGetStatesSize(m->handle, &m->drop_states_size));
    if (nnb_cuda_alloc_bytes(&m->base.cu, &m->drop_states, m->drop_states_size, err, err_len))
        return -1;
    NNB_CUDNN_TRY(cudnnSetDropoutDescriptor(m->drop, m->handle, m->kind->dropout ? CUDNN_DROPOUT_P : 0.0f,
                                            m->drop_states, m->drop_states_size, (unsigned long long)m->seed));
    cudnnMathType_t math = nnb_cuda_precision_is_16bit(m->precision) ? CUDNN_TENSOR_OP_MATH
                           : m->base.cu.tf32                         ? CUDNN_DEFAULT_MATH
                                                                     : CUDNN_FMA_MATH;
    NNB_CUDNN_TRY(cudnnSetRNNDescriptor_v8(m->rnn, CUDNN_RNN_ALGO_STANDARD, CUDNN_LSTM, CUDNN_RNN_DOUBLE_BIAS,
                                           CUDNN_UNIDIRECTIONAL, CUDNN_LINEAR_INPUT, m->dtype, CUDNN_DATA_FLOAT, math,
                                           (int32_t)I, (int32_t)H, (int32_t)H, (int32_t)L, m->drop,
                                           CUDNN_RNN_PADDED_IO_ENABLED));
    if (read_back_math(m, err, err_len))
        return -1;
    int *lengths = (int *)nnb_alloc_bytes(sizeof(int) * (size_t)B);
    if (!lengths)
        return nnb_fail(err, err_len, "out of memory");
    for (int64_t b = 0; b < B; b++)
        lengths[b] = (int)(m->base.d.variable ? m->base.d.lengths[b] : T);
    float fill = 0.0f;
    /* paddingFill is read as a value of the data type: 0.0f's zero bytes are 0 in every dtype */
    cudnnStatus_t sx = cudnnSetRNNDataDescriptor(m->xdesc, m->dtype, CUDNN_RNN_DATA_LAYOUT_SEQ_MAJOR_UNPACKED, (int)T,
                                                 (int)B, (int)I, lengths, &fill);
    cudnnStatus_t sy = cudnnSetRNNDataDescriptor(m->ydesc, m->dtype, CUDNN_RNN_DATA_LAYOUT_SEQ_MAJOR_UNPACKED, (int)T,
                                                 (int)B, (int)H, lengths, &fill);
    int rc = 0;
    if (nnb_cuda_alloc_bytes(&m->base.cu, (void **)&m->dev_seq_lengths, sizeof(int32_t) * (size_t)B, err, err_len))
        rc = -1;
    else if (cudaMemcpy(m->dev_seq_lengths, lengths, sizeof(int32_t) * (size_t)B, cudaMemcpyHostToDevice) !=
             cudaSuccess)
        rc = nnb_fail(err, err_len, "cudaMemcpy of the sequence lengths failed");
    nnb_free(lengths);
    if (rc)
        return -1;
    NNB_CUDNN_TRY(sx);
    NNB_CUDNN_TRY(sy);
    int dims[3] = {(int)L, (int)B, (int)H}, strides[3] = {(int)(B * H), (int)H, 1};
    NNB_CUDNN_TRY(cudnnSetTensorNdDescriptor(m->hdesc, m->dtype, 3, dims, strides));
    NNB_CUDNN_TRY(cudnnSetTensorNdDescriptor(m->cdesc, m->dtype, 3, dims, strides));
    return 0;
}

static int64_t desc_elements(cudnnTensorDescriptor_t desc) {
    cudnnDataType_t dt;
    int nb = 0, dims[8], strides[8];
    if (cudnnGetTensorNdDescriptor(desc, 8, &dt, &nb, dims, strides) != CUDNN_STATUS_SUCCESS)
        return -1;
    int64_t n = 1;
    for (int i = 0; i < nb; i++)
        n *= dims[i];
    return n;
}

/* Where cuDNN keeps each (layer, linLayerID), then the PyTorch weights moved there. */
static int place_weights(cudnn_lstm *m, char *err, size_t err_len) {
    NNB_CUDNN_TRY(cudnnGetRNNWeightSpaceSize(m->handle, m->rnn, &m->wsize));
    if (nnb_cuda_alloc_bytes(&m->base.cu, (void **)&m->w, m->wsize, err, err_len) ||
        nnb_cuda_alloc_bytes(&m->base.cu, (void **)&m->dw, m->wsize, err, err_len))
        return -1;
    m->map.L = m->L, m->map.I = m->I, m->map.H = m->H;
    m->map.space_floats = (int64_t)(m->wsize / m->es); /* elements of dtype */
    m->map.slots = (nnb_cudnn_slot *)nnb_alloc_bytes(sizeof(nnb_cudnn_slot) * (size_t)m->L * NNB_CUDNN_LSTM_LIN_LAYERS);
    if (!m->map.slots)
        return nnb_fail(err, err_len, "out of memory");
    for (int64_t k = 0; k < m->L; k++)
        for (int id = 0; id < NNB_CUDNN_LSTM_LIN_LAYERS; id++) {
            void *maddr = NULL, *baddr = NULL;
            NNB_CUDNN_TRY(cudnnGetRNNWeightParams(m->handle, m->rnn, (int32_t)k, m->wsize, m->w, id, m->mdesc, &maddr,
                                                  m->bdesc, &baddr));
            nnb_cudnn_slot *s = &m->map.slots[k * NNB_CUDNN_LSTM_LIN_LAYERS + id];
            s->m_offset = maddr ? ((char *)maddr - (char *)m->w) / (int64_t)m->es : -1;
            s->b_offset = baddr ? ((char *)baddr - (char *)m->w) / (int64_t)m->es : -1;
            s->m_count = desc_elements(m->mdesc);
            s->b_count = desc_elements(m->bdesc);
        }
    if (nnb_cudnn_map_validate(&m->map, err, err_len))
        return -1;
    if (!(m->space_host = nnb_alloc_floats((size_t)m->map.space_floats)))
        return nnb_fail(err, err_len, "out of memory");
    nnb_cudnn_pack(&m->map, m->base.d.w_ih, m->base.d.w_hh, m->base.d.b_ih, m->base.d.b_hh, m->space_host);
    return upload(m, m->w, m->space_host, (size_t)m->map.space_floats, err, err_len);
}

/* Inference at every n = 1..B: descriptors, the packed copies, and workspace / reserve sizes (the largest
 * over every n and training, so one allocation serves all). Host-only cuDNN calls, once, at create. */
static int setup_inference(cudnn_lstm *m, char *err, size_t err_len) {
    int64_t T = m->T, B = m->B, I = m->I, H = m->H, L = m->L;
    NNB_CUDNN_TRY(cudnnCreateRNNDataDescriptor(&m->xdesc_n));
    NNB_CUDNN_TRY(cudnnCreateRNNDataDescriptor(&m->ydesc_n));
    NNB_CUDNN_TRY(cudnnCreateTensorDescriptor(&m->hdesc_n));
    NNB_CUDNN_TRY(cudnnCreateTensorDescriptor(&m->cdesc_n));
    if (!(m->all_t = (int *)nnb_alloc_bytes(sizeof(int) * (size_t)B)))
        return nnb_fail(err, err_len, "out of memory");
    for (int64_t b = 0; b < B; b++)
        m->all_t[b] = (int)T;
    for (int64_t n = 1; n <= B; n++) {
        size_t work = 0, reserve = 0;
        if (set_batch_descriptors(m, n, err, err_len))
            return -1;
        NNB_CUDNN_TRY(
            cudnnGetRNNTempSpaceSizes(m->handle, m->rnn, CUDNN_FWD_MODE_INFERENCE, m->xdesc_n, &work, &reserve));
        if (work > m->infer_work_size)
            m->infer_work_size = work;
        if (work > m->work_size)
            m->work_size = work;
        if (reserve > m->reserve_size)
            m->reserve_size = reserve;
    }
    size_t tbi = (size_t)(T * B * I), tbh = (size_t)(T * B * H), lbh = (size_t)(L * B * H);
    if (alloc_elems(m, &m->xp, tbi, err, err_len) || alloc_elems(m, &m->yp, tbh, err, err_len) ||
        alloc_elems(m, &m->hxp, lbh, err, err_len) || alloc_elems(m, &m->cxp, lbh, err, err_len) ||
        alloc_elems(m, &m->hyp, lbh, err, err_len) || alloc_elems(m, &m->cyp, lbh, err, err_len))
        return -1;
    return 0;
}

static int setup(void *model, const nnb_config *cfg, char *err, size_t err_len) {
    cudnn_lstm *m = (cudnn_lstm *)model;
    m->kind = (const cudnn_kind *)m->base.kind;
    m->seed = cfg->seed;
    if (nnb_cuda_ctx_init(&m->base.cu, cfg, m->kind->name, 0, err, err_len))
        return -1;
    m->precision = m->base.cu.precision;
    if (m->precision < 0 || m->precision >= NNB_PRECISION_COUNT)
        return nnb_fail(err, err_len, "%s: unknown precision %d (fp32, tf32, bf16 or fp16)", m->kind->name,
                        m->precision);
    if (m->kind->layernorm && nnb_cuda_precision_is_16bit(m->precision))
        return nnb_fail(err, err_len, "%s: --dtype %s is not supported (its LayerNorm kernels are fp32: fp32, tf32)",
                        m->kind->name, nnb_precision_name(m->precision));
    m->dtype = nnb_cudnn_data_type(m->precision);
    m->es = nnb_cuda_precision_bytes(m->precision);
    if (nnb_lstm_data_init(&m->base.d, cfg, m->kind->variable, 0, err, err_len))
        return -1;
    m->base.params = nnb_lstm_data_params(&m->base.d);
    m->base.outputs = nnb_lstm_data_outputs(&m->base.d);
    if (m->kind->layernorm) /* forward-only: y, hy, cy */
        m->base.outputs.count = 3;
    m->T = m->base.d.T, m->B = m->base.d.B, m->I = m->base.d.I, m->H = m->base.d.H, m->L = m->base.d.L;
    int64_t T = m->T, B = m->B, I = m->I, H = m->H, L = m->L;
    if ((double)T * (double)B * (double)(I > 4 * H ? I : 4 * H) > 2147483647.0)
        return nnb_fail(err, err_len, "%s: sizes exceed cuDNN's int dimensions", m->kind->name);
    if (set_descriptors(m, err, err_len) || place_weights(m, err, err_len))
        return -1;
    NNB_CUDNN_TRY(cudnnGetRNNTempSpaceSizes(m->handle, m->rnn, CUDNN_FWD_MODE_TRAINING, m->xdesc, &m->work_size,
                                            &m->reserve_size));
    if (m->kind->infer && setup_inference(m, err, err_len))
        return -1;
    nnb_cuda_ctx *c = &m->base.cu;
    size_t tbi = (size_t)(T * B * I), tbh = (size_t)(T * B * H), lbh = (size_t)(L * B * H);
    if (nnb_cuda_alloc_bytes(c, &m->work, m->work_size, err, err_len) ||
        nnb_cuda_alloc_bytes(c, &m->reserve, m->reserve_size, err, err_len) ||
        alloc_elems(m, &m->x, tbi, err, err_len) || alloc_elems(m, &m->dx, tbi, err, err_len) ||
        alloc_elems(m, &m->y, tbh, err, err_len) || alloc_elems(m, &m->dy, tbh, err, err_len) ||
        alloc_elems(m, &m->hx, lbh, err, err_len) || alloc_elems(m, &m->cx, lbh, err, err_len) ||
        alloc_elems(m, &m->hy, lbh, err, err_len) || alloc_elems(m, &m->cy, lbh, err, err_len) ||
        alloc_elems(m, &m->dhx, lbh, err, err_len) || alloc_elems(m, &m->dcx, lbh, err, err_len))
        return -1;
    if (upload(m, m->x, m->base.d.x, tbi, err, err_len) || upload(m, m->dy, m->base.d.grad_y, tbh, err, err_len) ||
        upload(m, m->hx, m->base.d.hx, lbh, err, err_len) || upload(m, m->cx, m->base.d.cx, lbh, err, err_len))
        return -1;
    if (m->kind->layernorm) {
        size_t bg = (size_t)(B * 4 * H);
        float *host = nnb_alloc_floats(bg);
        if (!host)
            return nnb_fail(err, err_len, "out of memory");
        nnb_fill_normal(host, bg, cfg->seed, "ln_input1");
        int rc = nnb_cuda_alloc(c, &m->ln_in, bg, err, err_len) || nnb_cuda_alloc(c, &m->ln_out, bg, err, err_len) ||
                 nnb_cuda_upload(m->ln_in, host, bg, err, err_len);
        nnb_free(host);
        if (rc)
            return -1;
    }
    if (nnb_cuda_lstm_capture(&m->base, !m->kind->layernorm, err, err_len))
        return -1;
    if (c->graph)
        NNB_CUDNN_TRY(cudnnSetStream(m->handle, c->user_stream)); /* off the dead capture stream */
    return 0;
}

static void destroy(void *model) {
    cudnn_lstm *m = (cudnn_lstm *)model;
    if (m->rnn)
        cudnnDestroyRNNDescriptor(m->rnn);
    if (m->xdesc)
        cudnnDestroyRNNDataDescriptor(m->xdesc);
    if (m->ydesc)
        cudnnDestroyRNNDataDescriptor(m->ydesc);
    if (m->xdesc_n)
        cudnnDestroyRNNDataDescriptor(m->xdesc_n);
    if (m->ydesc_n)
        cudnnDestroyRNNDataDescriptor(m->ydesc_n);
    nnb_free(m->all_t);
    cudnnTensorDescriptor_t tds[] = {m->hdesc, m->cdesc, m->mdesc, m->bdesc, m->hdesc_n, m->cdesc_n};
    for (size_t i = 0; i < sizeof tds / sizeof *tds; i++)
        if (tds[i])
            cudnnDestroyTensorDescriptor(tds[i]);
    if (m->drop)
        cudnnDestroyDropoutDescriptor(m->drop);
    if (m->handle)
        cudnnDestroy(m->handle);
    nnb_free(m->map.slots);
    nnb_free(m->space_host);
}

/* ------------------------------------------------------------- interface */

/* Brings y, hy, cy and (with a backward) the gradients back; the weight gradients out of cuDNN's layout. */
static int download(void *model, char *err, size_t err_len) {
    cudnn_lstm *m = (cudnn_lstm *)model;
    nnb_lstm_data *d = &m->base.d;
    size_t tbi = (size_t)(m->T * m->B * m->I), tbh = (size_t)(m->T * m->B * m->H), lbh = (size_t)(m->L * m->B * m->H);
    if (download_elems(m, d->y, m->y, tbh, err, err_len) || download_elems(m, d->hy, m->hy, lbh, err, err_len) ||
        download_elems(m, d->cy, m->cy, lbh, err, err_len))
        return -1;
    if (m->kind->layernorm) /* forward-only: y, hy, cy */
        return 0;
    if (download_elems(m, d->dx, m->dx, tbi, err, err_len) || download_elems(m, d->dhx, m->dhx, lbh, err, err_len) ||
        download_elems(m, d->dcx, m->dcx, lbh, err, err_len) ||
        download_elems(m, m->space_host, m->dw, (size_t)m->map.space_floats, err, err_len))
        return -1;
    nnb_cudnn_unpack(&m->map, m->space_host, d->dw_ih, d->dw_hh, d->db_ih, d->db_hh);
    if (m->base.d.variable) /* dx rows past a sequence's end: no step there, so no gradient */
        for (int64_t t = 0; t < m->T; t++)
            for (int64_t b = 0; b < m->B; b++)
                if (t >= m->base.d.lengths[b])
                    memset(d->dx + (t * m->B + b) * m->I, 0, sizeof(float) * (size_t)m->I);
    return 0;
}

/* The first n of each row of pitch B * W, in place: rows move only towards the start, in order. */
static void compact_rows(float *a, int64_t rows, int64_t B, int64_t n, int64_t W) {
    for (int64_t r = 1; r < rows; r++)
        memmove(a + r * n * W, a + r * B * W, sizeof(float) * (size_t)(n * W));
}

/* outputs() after infer(n): y, hy, cy of the first n samples, densely packed into base.d's host buffers. */
static int download_infer(void *model, int64_t n, char *err, size_t err_len) {
    cudnn_lstm *m = (cudnn_lstm *)model;
    nnb_lstm_data *d = &m->base.d;
    size_t tbh = (size_t)(m->T * m->B * m->H), lbh = (size_t)(m->L * m->B * m->H);
    if (download_elems(m, d->y, m->y, tbh, err, err_len) || download_elems(m, d->hy, m->hy, lbh, err, err_len) ||
        download_elems(m, d->cy, m->cy, lbh, err, err_len))
        return -1;
    compact_rows(d->y, m->T, m->B, n, m->H);
    compact_rows(d->hy, m->L, m->B, n, m->H);
    compact_rows(d->cy, m->L, m->B, n, m->H);
    return 0;
}

/* Input x (T rows of pitch B * I * 4), output y (T rows of pitch B * H * 4): the model's buffers. */
static int infer_io(void *model, nnb_infer_io *io, char *err, size_t err_len) {
    cudnn_lstm *m = (cudnn_lstm *)model;
    size_t B = (size_t)m->B, I = (size_t)m->I, H = (size_t)m->H, T = (size_t)m->T, f = sizeof(float);
    if (!m->kind->infer)
        return nnb_fail(err, err_len, "%s: infer_io is not supported by this runner", m->kind->name);
    if (nnb_cuda_precision_is_16bit(m->precision))
        return nnb_fail(err, err_len,
                        "%s: infer_io hands out fp32 device buffers; with --dtype %s they hold %s elements (serve "
                        "runs fp32 and tf32)",
                        m->kind->name, nnb_precision_name(m->precision), nnb_precision_name(m->precision));
    return nnb_cuda_fill_infer_io(m->kind->name, io, m->x, T, B * I * f, I * f, m->y, T, B * H * f, H * f, err,
                                  err_len);
}

/* load_param changed base.d's weights: the whole weight space packed again and uploaded. */
static int reload_weights(void *model, char *err, size_t err_len) {
    cudnn_lstm *m = (cudnn_lstm *)model;
    nnb_cudnn_pack(&m->map, m->base.d.w_ih, m->base.d.w_hh, m->base.d.b_ih, m->base.d.b_hh, m->space_host);
    NNB_CUDA_TRY(cudaStreamSynchronize(m->base.cu.user_stream)); /* after any infer() in flight */
    return upload(m, m->w, m->space_host, (size_t)m->map.space_floats, err, err_len);
}

static void describe(const void *model, char *buf, size_t buf_len, size_t *used) {
    const cudnn_lstm *m = (const cudnn_lstm *)model;
    nnb_appendf(buf, buf_len, used,
                "\"library\":\"cuDNN RNN v8 API (cudnnRNNForward training, cudnnRNNBackwardData_v8, "
                "cudnnRNNBackwardWeights_v8 ADD)\",\"algo\":\"CUDNN_RNN_ALGO_STANDARD\",\"math\":\"%s\","
                "\"data_type\":\"%s\",\"math_prec\":\"%s\",\"fuser\":\"n/a (cuDNN kernels)\",",
                math_name(m->math), dtype_name(m->dtype), dtype_name(m->math_prec));
    nnb_appendf(buf, buf_len, used,
                "\"layout\":\"CUDNN_RNN_DATA_LAYOUT_SEQ_MAJOR_UNPACKED, padded IO, %s\",\"weight_space_bytes\":%zu,"
                "\"workspace_bytes\":%zu,\"reserve_bytes\":%zu,",
                m->base.d.variable ? "per-sequence lengths" : "all sequences of length T", m->wsize, m->work_size,
                m->reserve_size);
    if (m->kind->dropout)
        nnb_appendf(buf, buf_len, used,
                    "\"dropout\":\"cuDNN dropout descriptor p=%.2f between layers; cuDNN's RNG mask, not "
                    "nnb_dropout_mask: not comparable with a reference\",",
                    CUDNN_DROPOUT_P);
    if (m->kind->infer)
        nnb_appendf(buf, buf_len, used,
                    "\"infer\":\"cudnnRNNForward CUDNN_FWD_MODE_INFERENCE; n = B in place, n < B packed and "
                    "unpacked with cudaMemcpy2DAsync around it\",\"infer_workspace_bytes\":%zu,",
                    m->infer_work_size);
    if (m->kind->layernorm)
        nnb_appendf(buf, buf_len, used,
                    "\"layernorm\":\"per step: LN of a seeded (B,4H) input twice + cy=LN(cy); one warp per row, "
                    "eps 1e-5, gain 1, bias 0\",");
}

static const nnb_cuda_lstm_ops OPS = {setup,   forward_enqueue, backward_enqueue, download, describe,
                                      destroy, infer_enqueue,   download_infer,   infer_io, reload_weights};

#define CREATE(runner, kind)                                                                                           \
    void *nnb_cudnn_create_##runner(const nnb_config *cfg, char *err, size_t err_len) {                                \
        return nnb_cuda_lstm_create(sizeof(cudnn_lstm), &OPS, kind.name, &kind, cfg, err, err_len);                    \
    }
CREATE(cudnn, KINDS[0])
CREATE(vl_cudnn, KINDS[1])
CREATE(cudnn_dropout, KINDS[2])
CREATE(cudnn_layernorm, KINDS[3])
