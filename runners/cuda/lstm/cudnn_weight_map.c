#include "cudnn_weight_map.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int64_t layer_input(const nnb_cudnn_weight_map *m, int64_t k) { return k == 0 ? m->I : m->H; }

/* Expected element count of (k, id): the PyTorch block it maps to. */
static int64_t expected_count(const nnb_cudnn_weight_map *m, int64_t k, int id, int bias) {
    if (bias)
        return m->H;
    return m->H * (id < 4 ? layer_input(m, k) : m->H);
}

typedef struct span {
    int64_t begin, end;
    int64_t k;
    int id, bias;
} span;

static int by_begin(const void *a, const void *b) {
    const span *x = (const span *)a, *y = (const span *)b;
    return x->begin < y->begin ? -1 : x->begin > y->begin;
}

int nnb_cudnn_map_validate(const nnb_cudnn_weight_map *m, char *err, size_t err_len) {
    if (m->L < 1 || m->I < 1 || m->H < 1 || !m->slots) {
        snprintf(err, err_len, "cuDNN weight map: empty or invalid sizes");
        return -1;
    }
    size_t n = (size_t)m->L * NNB_CUDNN_LSTM_LIN_LAYERS * 2;
    span *spans = (span *)calloc(n, sizeof *spans);
    if (!spans) {
        snprintf(err, err_len, "out of memory");
        return -1;
    }
    size_t used = 0;
    int rc = 0;
    for (int64_t k = 0; k < m->L && !rc; k++)
        for (int id = 0; id < NNB_CUDNN_LSTM_LIN_LAYERS && !rc; id++)
            for (int bias = 0; bias < 2 && !rc; bias++) {
                const nnb_cudnn_slot *s = &m->slots[k * NNB_CUDNN_LSTM_LIN_LAYERS + id];
                int64_t off = bias ? s->b_offset : s->m_offset, count = bias ? s->b_count : s->m_count;
                int64_t want = expected_count(m, k, id, bias);
                if (count != want) {
                    snprintf(err, err_len,
                             "cuDNN weight map: layer %lld linLayerID %d %s has %lld elements, expected %lld",
                             (long long)k, id, bias ? "bias" : "matrix", (long long)count, (long long)want);
                    rc = -1;
                } else if (off < 0 || off > m->space_floats - count) {
                    snprintf(err, err_len,
                             "cuDNN weight map: layer %lld linLayerID %d %s lies outside the weight space",
                             (long long)k, id, bias ? "bias" : "matrix");
                    rc = -1;
                } else {
                    span sp = {off, off + count, k, id, bias};
                    spans[used++] = sp;
                }
            }
    if (!rc) {
        qsort(spans, used, sizeof *spans, by_begin);
        for (size_t i = 1; i < used && !rc; i++)
            if (spans[i].begin < spans[i - 1].end) {
                snprintf(err, err_len, "cuDNN weight map: layer %lld linLayerID %d overlaps layer %lld linLayerID %d",
                         (long long)spans[i].k, spans[i].id, (long long)spans[i - 1].k, spans[i - 1].id);
                rc = -1;
            }
    }
    free(spans);
    return rc;
}

const float *nnb_cudnn_torch_block(const nnb_cudnn_weight_map *m, float *const *w_ih, float *const *w_hh,
                                   float *const *b_ih, float *const *b_hh, int64_t k, int id, int bias,
                                   int64_t *count) {
    int64_t gate = id % 4, cols = id < 4 ? layer_input(m, k) : m->H;
    *count = expected_count(m, k, id, bias);
    if (bias)
        return (id < 4 ? b_ih[k] : b_hh[k]) + gate * m->H;
    return (id < 4 ? w_ih[k] : w_hh[k]) + gate * m->H * cols;
}

void nnb_cudnn_pack(const nnb_cudnn_weight_map *m, float *const *w_ih, float *const *w_hh, float *const *b_ih,
                    float *const *b_hh, float *space) {
    for (int64_t k = 0; k < m->L; k++)
        for (int id = 0; id < NNB_CUDNN_LSTM_LIN_LAYERS; id++) {
            const nnb_cudnn_slot *s = &m->slots[k * NNB_CUDNN_LSTM_LIN_LAYERS + id];
            int64_t count;
            const float *src = nnb_cudnn_torch_block(m, w_ih, w_hh, b_ih, b_hh, k, id, 0, &count);
            memcpy(space + s->m_offset, src, sizeof(float) * (size_t)count);
            src = nnb_cudnn_torch_block(m, w_ih, w_hh, b_ih, b_hh, k, id, 1, &count);
            memcpy(space + s->b_offset, src, sizeof(float) * (size_t)count);
        }
}

void nnb_cudnn_unpack(const nnb_cudnn_weight_map *m, const float *space, float **w_ih, float **w_hh, float **b_ih,
                      float **b_hh) {
    for (int64_t k = 0; k < m->L; k++)
        for (int id = 0; id < NNB_CUDNN_LSTM_LIN_LAYERS; id++) {
            const nnb_cudnn_slot *s = &m->slots[k * NNB_CUDNN_LSTM_LIN_LAYERS + id];
            int64_t count;
            float *dst = (float *)nnb_cudnn_torch_block(m, w_ih, w_hh, b_ih, b_hh, k, id, 0, &count);
            memcpy(dst, space + s->m_offset, sizeof(float) * (size_t)count);
            dst = (float *)nnb_cudnn_torch_block(m, w_ih, w_hh, b_ih, b_hh, k, id, 1, &count);
            memcpy(dst, space + s->b_offset, sizeof(float) * (size_t)count);
        }
}
