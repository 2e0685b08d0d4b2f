/*
 * ABI 1.2 inference support for the CPU LSTM runners on nnb_lstm_data (py, the fast runners, cudnn):
 * the bookkeeping of infer(n) and load_param that does not depend on the kernels. Static library
 * nnb_lstm_infer, linked into each of those plugins.
 *
 * infer(n) runs the forward over the first n sequences of the batch the model was created for:
 * x (T, B, I) columns 0..n-1 and hx, cx (L, B, H) rows 0..n-1 of every layer. Runners whose kernels
 * want dense arrays get them packed into (T, n, I) and (L, n, H) scratch made once, at create, for
 * n = B; with n = B the model's own arrays are used as they are. Results go to buffers of their own,
 * (T, n, H) and (L, n, H), so the training forward's outputs (and whatever it saved for backward)
 * stay as they were; outputs() after an infer() lists exactly y, hy, cy with batch n.
 *
 * load_param replaces one weight or bias (w_ih_l{k}, w_hh_l{k}, b_ih_l{k}, b_hh_l{k}) in the
 * PyTorch-layout arrays of nnb_lstm_data, after checking name, dtype and shape; the runner then
 * refreshes whatever copies its kernels read (packed, transposed or reordered weights).
 */
#ifndef NNB_LSTM_INFER_H
#define NNB_LSTM_INFER_H

#include "lstm_data.h"

#ifdef __cplusplus
extern "C" {
#endif

/* What the runner wants packed for n < B (its kernels read dense batch-n arrays). */
enum { NNB_INFER_PACK_X = 1u, NNB_INFER_PACK_STATES = 2u };

typedef struct nnb_lstm_infer_bufs {
    float *x;            /* (T, B, I) room for (T, n, I): x's first n columns; NULL unless NNB_INFER_PACK_X */
    float *hx, *cx;      /* (L, B, H) room for (L, n, H); NULL unless NNB_INFER_PACK_STATES */
    float *y;            /* (T, B, H) room for (T, n, H) */
    float *hy, *cy;      /* (L, B, H) room for (L, n, H) */
    int64_t n;           /* batch of the last infer(), 0 before the first */
    nnb_tensor views[3]; /* y, hy, cy with batch n */
} nnb_lstm_infer_bufs;

/* Allocate for d's sizes (packs: NNB_INFER_PACK_*). 0, or -1 with err. */
int nnb_lstm_infer_bufs_init(nnb_lstm_infer_bufs *b, const nnb_lstm_data *d, unsigned packs, char *err, size_t err_len);
void nnb_lstm_infer_bufs_free(nnb_lstm_infer_bufs *b);

/* 0 when 1 <= n <= B, else -1 with "<runner>: infer: batch n=0 outside 1..B=5 (the batch it was created for)". */
int nnb_lstm_infer_check_batch(const nnb_lstm_data *d, int64_t n, const char *runner, char *err, size_t err_len);

/* dst (rows, n, W) = the first n of the B columns of src (rows, B, W). */
void nnb_lstm_pack_columns(const float *src, int64_t rows, int64_t B, int64_t W, int64_t n, float *dst);

/* The inputs of infer(n): x (T, n, I), hx, cx (L, n, H), dense. The model's own arrays when n = B
 * (or when nothing was asked packed: then x, hx, cx keep their batch stride B), else packed into b. */
void nnb_lstm_infer_inputs(nnb_lstm_infer_bufs *b, const nnb_lstm_data *d, int64_t n, const float **x, const float **hx,
                           const float **cx);

/* After infer(n) wrote b->y, b->hy, b->cy: record n and the views outputs() hands out. */
void nnb_lstm_infer_done(nnb_lstm_infer_bufs *b, const nnb_lstm_data *d, int64_t n);
nnb_tensor_list nnb_lstm_infer_outputs(const nnb_lstm_infer_bufs *b);

typedef enum nnb_lstm_param_kind { NNB_PARAM_W_IH, NNB_PARAM_W_HH, NNB_PARAM_B_IH, NNB_PARAM_B_HH } nnb_lstm_param_kind;

/* Which of d's parameters value replaces: *dst (the PyTorch-layout array), *layer, *kind, *count
 * (floats), after checking it. Nothing is copied. Errors (-1) name the tensor:
 *   "<runner>: load_param: 'x' is an input, not a parameter (loadable: w_ih_l{k}, w_hh_l{k}, ...)"
 *   "<runner>: load_param: no parameter 'w_ih_l7' (loadable: w_ih_l{k}, ..., k = 0..1)"
 *   "<runner>: load_param: w_ih_l0: given f32 (52, 12), the model's is f32 (52, 11)"
 * and a NULL value or data. */
int nnb_lstm_param_lookup(const nnb_lstm_data *d, const nnb_tensor *value, const char *runner, float **dst,
                          int64_t *layer, nnb_lstm_param_kind *kind, size_t *count, char *err, size_t err_len);

/* nnb_lstm_param_lookup, then the copy into d. */
int nnb_lstm_load_param(nnb_lstm_data *d, const nnb_tensor *value, const char *runner, int64_t *layer,
                        nnb_lstm_param_kind *kind, char *err, size_t err_len);

#ifdef __cplusplus
}
#endif
#endif
