/*
 * The one runner interface of every CUDA LSTM model kind (custom_lstm.c, layernorm_lstm.c, cudnn_lstm.c):
 * each model starts with an nnb_cuda_lstm (cuda_common.h), so these functions (cuda_common.c) serve all of
 * them. plugin.c puts them into every descriptor next to the kind's create function.
 */
#ifndef NNB_CUDA_LSTM_INTERFACE_H
#define NNB_CUDA_LSTM_INTERFACE_H

#include <nnbench/runner.h>

int nnb_cuda_lstm_forward(void *model, char *err, size_t err_len);
int nnb_cuda_lstm_backward(void *model, char *err, size_t err_len);
int nnb_cuda_lstm_params(void *model, nnb_tensor_list *out, char *err, size_t err_len);
int nnb_cuda_lstm_outputs(void *model, nnb_tensor_list *out, char *err, size_t err_len);
int nnb_cuda_lstm_describe(void *model, char *buf, size_t buf_len);
double nnb_cuda_lstm_forward_flops(void *model);
double nnb_cuda_lstm_backward_flops(void *model);
void nnb_cuda_lstm_destroy(void *model);
/* ABI 1.2 (kinds with ops->infer): inference of the first n samples, its device input/output, load_param. */
int nnb_cuda_lstm_infer(void *model, int64_t n, char *err, size_t err_len);
int nnb_cuda_lstm_infer_io(void *model, nnb_infer_io *io, char *err, size_t err_len);
int nnb_cuda_lstm_load_param(void *model, const nnb_tensor *value, char *err, size_t err_len);

/* The per-kind names the emulated-runtime tests' descriptors spell (tests/cuda_lstm_engine_should_match_
 * reference_on_cpu.c, tests/runners_should_reject_unsupported_fuser_and_executor.c): the same functions. */
#define nnb_cu_lstm_forward nnb_cuda_lstm_forward
#define nnb_cu_lstm_backward nnb_cuda_lstm_backward
#define nnb_cu_lstm_params nnb_cuda_lstm_params
#define nnb_cu_lstm_outputs nnb_cuda_lstm_outputs
#define nnb_cu_lstm_describe nnb_cuda_lstm_describe
#define nnb_cu_lstm_forward_flops nnb_cuda_lstm_forward_flops
#define nnb_cu_lstm_backward_flops nnb_cuda_lstm_backward_flops
#define nnb_cu_lstm_destroy nnb_cuda_lstm_destroy
#define nnb_cu_lstm_infer nnb_cuda_lstm_infer
#define nnb_cu_lstm_infer_io nnb_cuda_lstm_infer_io
#define nnb_cu_lstm_load_param nnb_cuda_lstm_load_param
#define nnb_ln_lstm_forward nnb_cuda_lstm_forward
#define nnb_ln_lstm_backward nnb_cuda_lstm_backward
#define nnb_ln_lstm_params nnb_cuda_lstm_params
#define nnb_ln_lstm_outputs nnb_cuda_lstm_outputs
#define nnb_ln_lstm_describe nnb_cuda_lstm_describe
#define nnb_ln_lstm_forward_flops nnb_cuda_lstm_forward_flops
#define nnb_ln_lstm_backward_flops nnb_cuda_lstm_backward_flops
#define nnb_ln_lstm_destroy nnb_cuda_lstm_destroy

#endif
