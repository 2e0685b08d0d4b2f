/* The availability probe every CUDA runner shares (nnb_runner_desc.available). */
#ifndef NNB_CUDA_AVAILABLE_H
#define NNB_CUDA_AVAILABLE_H

#include <nnbench/runner.h>

/* 1 if cfg->cuda_device exists; else 0 with "cuda: no device (<reason>)".
 * Safe without a driver (cudart reports an error, nothing crashes). */
int nnb_cuda_available(const nnb_config *cfg, char *reason, size_t reason_len);

#endif
