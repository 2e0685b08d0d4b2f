/*
 * The plain C double-precision ResNet references resnet18_ref / resnet50_ref (kernels/cnn_ref, following the
 * architecture table layer by layer), as runner entry points. The plugin nnb_cpu_resnet_ref (plugin.c) lists
 * them; tests drive nnb_resnet_ref_create_from_arch on hand-made tables.
 *
 * Inputs and parameters are the same float32 seeds as every ResNet runner's (runners/common/resnet_init.h),
 * widened to double; outputs are rounded to float32. Tensor names and order: resnet_init.h.
 */
#ifndef NNB_RESNET_REF_H
#define NNB_RESNET_REF_H

#include "resnet_arch.h"

#include <nnbench/runner.h>

#include <stddef.h>

/* create() of resnet18_ref / resnet50_ref for cfg (name: the runner's, "resnet18_ref" or "resnet50_ref"). */
void *nnb_resnet_ref_create(const nnb_config *cfg, const char *name, char *err, size_t err_len);

/* The model for any table that starts with acts[0] and ends with the logits (taken over: freed with the model,
 * also on failure). The config's fuser and executor are not checked here (nnb_resnet_ref_create does). */
void *nnb_resnet_ref_create_from_arch(nnb_resnet_arch *arch, const char *name, const nnb_config *cfg, char *err,
                                      size_t err_len);

int nnb_resnet_ref_forward(void *model, char *err, size_t err_len);
int nnb_resnet_ref_backward(void *model, char *err, size_t err_len);
/* ABI 1.2: eval-mode forward of the first n samples (outputs(): logits (n, 1000) and the running statistics),
 * and replacing one parameter (learnable or running statistic) by name. */
int nnb_resnet_ref_infer(void *model, int64_t n, char *err, size_t err_len);
int nnb_resnet_ref_load_param(void *model, const nnb_tensor *value, char *err, size_t err_len);
int nnb_resnet_ref_params(void *model, nnb_tensor_list *out, char *err, size_t err_len);
int nnb_resnet_ref_outputs(void *model, nnb_tensor_list *out, char *err, size_t err_len);
int nnb_resnet_ref_describe(void *model, char *buf, size_t len);
double nnb_resnet_ref_forward_flops(void *model);
double nnb_resnet_ref_backward_flops(void *model);
void nnb_resnet_ref_destroy(void *model); /* NULL: no-op */

#endif
