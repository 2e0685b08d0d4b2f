/*
 * Plain (unoptimised, double-accumulating) LSTM forward and layer norm: the math
 * behind the hidden reference runner py_cudnn_layernorm. Deliberately simple:
 * it exists to be obviously right, not fast.
 */
#ifndef NNB_ONEDNN_PLAIN_LSTM_H
#define NNB_ONEDNN_PLAIN_LSTM_H

#include "lstm_data.h"

/* Multi-layer LSTM forward over d's inputs: writes d->y (T, B, H), d->hy, d->cy (L, B, H).
 * Returns 0, or -1 with err (no memory). */
int onx_plain_lstm_forward(nnb_lstm_data *d, char *err, size_t err_len);

/* LayerNorm with gain 1 and bias 0 over the last axis of src (rows, cols) into dst (may alias). */
void onx_plain_layer_norm(const float *src, float *dst, int64_t rows, int64_t cols, double eps);

#endif
