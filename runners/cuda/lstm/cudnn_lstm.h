/* cuDNN LSTM runners (cudnn_lstm.c): the functions plugin.c puts into their descriptors. */
#ifndef NNB_CUDA_CUDNN_LSTM_H
#define NNB_CUDA_CUDNN_LSTM_H

#include <nnbench/runner.h>

void *nnb_cudnn_create_cudnn(const nnb_config *cfg, char *err, size_t err_len);
void *nnb_cudnn_create_vl_cudnn(const nnb_config *cfg, char *err, size_t err_len);
void *nnb_cudnn_create_cudnn_dropout(const nnb_config *cfg, char *err, size_t err_len);
void *nnb_cudnn_create_cudnn_layernorm(const nnb_config *cfg, char *err, size_t err_len);
int nnb_cudnn_forward(void *model, char *err, size_t err_len);
int nnb_cudnn_backward(void *model, char *err, size_t err_len);
int nnb_cudnn_params(void *model, nnb_tensor_list *out, char *err, size_t err_len);
int nnb_cudnn_outputs(void *model, nnb_tensor_list *out, char *err, size_t err_len);
int nnb_cudnn_describe(void *model, char *buf, size_t buf_len);
double nnb_cudnn_forward_flops(void *model);
double nnb_cudnn_backward_flops(void *model);
void nnb_cudnn_destroy(void *model);

#endif
