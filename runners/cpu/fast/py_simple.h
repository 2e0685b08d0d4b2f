/* py_simple: plain reference of jit_simple (hidden; see py_simple.c). */
#ifndef NNB_FAST_PY_SIMPLE_H
#define NNB_FAST_PY_SIMPLE_H

#include <nnbench/runner.h>

void *py_simple_create(const nnb_config *cfg, char *err, size_t err_len);
int py_simple_forward(void *model, char *err, size_t err_len);
int py_simple_backward(void *model, char *err, size_t err_len);
int py_simple_zero_grad(void *model, char *err, size_t err_len);
int py_simple_params(void *model, nnb_tensor_list *out, char *err, size_t err_len);
int py_simple_outputs(void *model, nnb_tensor_list *out, char *err, size_t err_len);
int py_simple_describe(void *model, char *buf, size_t len);
double py_simple_forward_flops(void *model);
double py_simple_backward_flops(void *model);
void py_simple_destroy(void *model);

/* 0 with a reason when cfg asks for more than one layer (jit_simple, py_simple). */
int fast_single_layer_available(const nnb_config *cfg, char *reason, size_t reason_len);

#define PY_SIMPLE_RUNNER                                                                                               \
    {                                                                                                                  \
        .struct_size = sizeof(nnb_runner_desc), .name = "py_simple", .group = NNB_GROUP_RNNS,                          \
        .device = NNB_DEVICE_CPU, .description = "plain reference of jit_simple: final (h, c), backward from grad_hy", \
        .reference = NULL, .flags = NNB_FLAG_REFERENCE | NNB_FLAG_HIDDEN | NNB_FLAG_SINGLE_LAYER,                      \
        .available = fast_single_layer_available, .create = py_simple_create, .forward = py_simple_forward,            \
        .backward = py_simple_backward, .zero_grad = py_simple_zero_grad, .params = py_simple_params,                  \
        .outputs = py_simple_outputs, .describe = py_simple_describe, .forward_flops = py_simple_forward_flops,        \
        .backward_flops = py_simple_backward_flops, .destroy = py_simple_destroy,                                      \
        .precisions = NNB_PRECISION_BIT(NNB_PRECISION_FP32) | NNB_PRECISION_BIT(NNB_PRECISION_BF16)                    \
    }

#endif
