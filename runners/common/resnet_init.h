/*
 * Seeded ResNet tensors shared by every ResNet runner (CPU oneDNN, the plain C
 * reference, CUDA cuDNN), so that all of them see bit-identical inputs and
 * parameters. The architecture table itself (kernels/resnet/resnet_arch.h) is
 * a leaf and knows nothing of seeds; this is where its tensors get values.
 *
 * Initialisation (nnb_support.h named streams; stream = the tensor name):
 *   conv weights   Kaiming normal, fan-out, ReLU gain: normal * sqrt(2 / (out_c * k * k))   stream "<name>"
 *   bn weight 1, bias 0, running_mean 0, running_var 1
 *   fc.weight, fc.bias  uniform(-1/sqrt(fan_in), +1/sqrt(fan_in)) (nn.Linear default)   streams "fc.weight", "fc.bias"
 *   x            (N, 3, S, S) standard normal   stream "x"
 *   grad_logits  (N, 1000)    standard normal   stream "grad_logits"
 */
#ifndef NNB_RESNET_INIT_H
#define NNB_RESNET_INIT_H

#include "resnet_arch.h"

#include <nnbench/runner.h>

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Seeded initialisation of one parameter (params[index].count floats into dst). */
void nnb_resnet_init_param(const nnb_resnet_arch *arch, int index, float *dst, uint64_t seed);

/* All parameters packed in params[] order into dst (param_floats floats). */
void nnb_resnet_init_params(const nnb_resnet_arch *arch, float *dst, uint64_t seed);

/* x: (N, 3, S, S) and grad_logits: (N, 1000) from their named streams. */
void nnb_resnet_init_input(const nnb_resnet_arch *arch, float *x, uint64_t seed);
void nnb_resnet_init_grad_logits(const nnb_resnet_arch *arch, float *grad_logits, uint64_t seed);

/* Host buffers of one training step in torchvision's layouts (nnb_alloc_floats, zeroed; release each with
 * nnb_free): params and grads (param_floats, packed like arch->params), x and dx (N, 3, S, S), grad_logits and
 * logits (N, 1000). params, x and grad_logits are initialised from seed. Returns 0, or -1 when out of memory
 * (whatever was allocated is left in the pointers for the caller to free). */
int nnb_resnet_alloc_host(const nnb_resnet_arch *arch, uint64_t seed, float **params, float **grads, float **x,
                          float **grad_logits, float **logits, float **dx);

/* The tensor lists every ResNet runner hands out, over those buffers (calloc'ed arrays; release with free):
 *   in  (params()):  x, grad_logits, every learnable parameter by its state_dict key;
 *   out (outputs()): logits, dx, every parameter gradient ("d" + key), then the running statistics under
 *                    their keys (as they are after the step).
 * Returns 0, or -1 when out of memory. */
int nnb_resnet_tensor_lists(const nnb_resnet_arch *arch, const float *params, const float *grads, const float *x,
                            const float *grad_logits, const float *logits, const float *dx, nnb_tensor **in, int *n_in,
                            nnb_tensor **out, int *n_out);

/* The outputs() list of an inference pass (ABI 1.2 infer), over the same buffers: logits (n, 1000) over
 * `logits` (batch axis set by the caller, items[0].shape[0] = n, before each outputs()), then the running
 * statistics under their keys (which infer leaves as they are). calloc'ed; release with free. 0, or -1 when
 * out of memory. */
int nnb_resnet_infer_tensor_list(const nnb_resnet_arch *arch, const float *params, const float *logits,
                                 nnb_tensor **out, int *n_out);

/* What load_param (ABI 1.2) accepts, for every ResNet runner: value names a parameter of the table
 * (learnable, or a BatchNorm running statistic), is float32 with exactly the parameter's shape, and has data.
 * Returns the parameter's index in arch->params, or -1 with one line naming the runner, the tensor and, for
 * a shape mismatch, both shapes ("resnet18: load_param 'conv1.weight': shape (64, 3, 3, 3) does not match
 * the parameter's (64, 3, 7, 7)"). The inputs x and grad_logits are refused as not loadable. */
int nnb_resnet_load_param_index(const nnb_resnet_arch *arch, const char *runner, const nnb_tensor *value, char *err,
                                size_t err_len);

/* ABI 1.3: rounds the input x and every convolution and fc weight and bias to what `precision` stores
 * (nnb_round_to_precision: bf16/fp16 round, fp32/tf32 unchanged). BatchNorm parameters and running statistics
 * stay fp32, as mixed-precision training keeps them. Call after nnb_resnet_alloc_host / init_params. */
void nnb_resnet_round_to_precision(const nnb_resnet_arch *a, int precision, float *params, float *x);

#ifdef __cplusplus
}
#endif
#endif
