/* jit_layernorm and jit_layernorm_decom on CUDA (layernorm_lstm.c): the functions plugin.c puts into its descriptor. */
#ifndef NNB_CUDA_LAYERNORM_LSTM_H
#define NNB_CUDA_LAYERNORM_LSTM_H

#include <nnbench/runner.h>

void *nnb_ln_lstm_create(const nnb_config *cfg, char *err, size_t err_len);
void *nnb_ln_lstm_create_decom(const nnb_config *cfg, char *err, size_t err_len);
int nnb_ln_lstm_forward(void *model, char *err, size_t err_len);
int nnb_ln_lstm_backward(void *model, char *err, size_t err_len);
int nnb_ln_lstm_params(void *model, nnb_tensor_list *out, char *err, size_t err_len);
int nnb_ln_lstm_outputs(void *model, nnb_tensor_list *out, char *err, size_t err_len);
int nnb_ln_lstm_describe(void *model, char *buf, size_t buf_len);
double nnb_ln_lstm_forward_flops(void *model);
double nnb_ln_lstm_backward_flops(void *model);
void nnb_ln_lstm_destroy(void *model);

#endif
