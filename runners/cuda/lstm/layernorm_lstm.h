/* jit_layernorm and jit_layernorm_decom on CUDA (layernorm_lstm.c): their create functions; the rest of their
 * descriptors is the shared interface of cuda_lstm_interface.h. */
#ifndef NNB_CUDA_LAYERNORM_LSTM_H
#define NNB_CUDA_LAYERNORM_LSTM_H

#include "cuda_lstm_interface.h"

#include <nnbench/runner.h>

void *nnb_ln_lstm_create(const nnb_config *cfg, char *err, size_t err_len);
void *nnb_ln_lstm_create_decom(const nnb_config *cfg, char *err, size_t err_len);

#endif
