/* The hand-written CUDA LSTM runners (custom_lstm.c): engine kinds and their create functions; the rest of
 * their descriptors is the shared interface of cuda_lstm_interface.h. */
#ifndef NNB_CUDA_CUSTOM_LSTM_H
#define NNB_CUDA_CUSTOM_LSTM_H

#include "cuda_lstm_interface.h"

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

#endif
