/* The hand-written CUDA LSTM runners (custom_lstm.c): engine kinds and the
 * functions plugin.c puts into their descriptors. */
#ifndef NNB_CUDA_CUSTOM_LSTM_H
#define NNB_CUDA_CUSTOM_LSTM_H

#include <nnbench/runner.h>

typedef struct nnb_cuda_engine_kind {
    const char *name;
    int aten;        /* separate h.W_hh^T buffer, one kernel per pointwise op */
    int premul;      /* input GEMM over all steps up front, batched input-side backward */
    int premul_bias; /* b_ih folded into the big GEMM, bias gradients reduced once */
    int dropout;     /* p = 0.4 between layers */
    int variable;    /* variable-length batch (vl_rnns) */
    int simple;      /* single layer, final (h, c) only, backward from the final h */
    const char *schedule;
} nnb_cuda_engine_kind;

/* X(runner name) for every runner of the engine. */
#define NNB_CUDA_CUSTOM_RUNNERS(X)                                                                                     \
    X(aten) X(jit) X(jit_multilayer) X(jit_premul) X(jit_premul_bias) X(jit_simple) X(jit_dropout) X(vl_jit)

#define NNB_DECLARE_CUSTOM_CREATE(name)                                                                                \
    void *nnb_cu_lstm_create_##name(const nnb_config *cfg, char *err, size_t err_len);
NNB_CUDA_CUSTOM_RUNNERS(NNB_DECLARE_CUSTOM_CREATE)

int nnb_cu_lstm_forward(void *model, char *err, size_t err_len);
int nnb_cu_lstm_backward(void *model, char *err, size_t err_len);
int nnb_cu_lstm_params(void *model, nnb_tensor_list *out, char *err, size_t err_len);
int nnb_cu_lstm_outputs(void *model, nnb_tensor_list *out, char *err, size_t err_len);
int nnb_cu_lstm_describe(void *model, char *buf, size_t buf_len);
double nnb_cu_lstm_forward_flops(void *model);
double nnb_cu_lstm_backward_flops(void *model);
void nnb_cu_lstm_destroy(void *model);

#endif
