/* cuDNN LSTM runners (cudnn_lstm.c): their create functions; the rest of their descriptors is the shared
 * interface of cuda_lstm_interface.h. */
#ifndef NNB_CUDA_CUDNN_LSTM_H
#define NNB_CUDA_CUDNN_LSTM_H

#include "cuda_lstm_interface.h"

#include <nnbench/runner.h>

void *nnb_cudnn_create_cudnn(const nnb_config *cfg, char *err, size_t err_len);
void *nnb_cudnn_create_vl_cudnn(const nnb_config *cfg, char *err, size_t err_len);
void *nnb_cudnn_create_cudnn_dropout(const nnb_config *cfg, char *err, size_t err_len);
void *nnb_cudnn_create_cudnn_layernorm(const nnb_config *cfg, char *err, size_t err_len);

#endif
