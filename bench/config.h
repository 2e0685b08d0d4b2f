/* Run configuration defaults (fastrnns bench.py's). */
#ifndef NNB_CONFIG_H
#define NNB_CONFIG_H

#include <nnbench/runner.h>

#ifdef __cplusplus
extern "C" {
#endif

#define NNB_DEFAULT_SEQ_LENGTH 100
#define NNB_DEFAULT_NUM_LAYERS 1
#define NNB_DEFAULT_INPUT_SIZE 512
#define NNB_DEFAULT_HIDDEN_SIZE 512
#define NNB_DEFAULT_MINI_BATCH 64
#define NNB_DEFAULT_CNN_BATCH 32
#define NNB_DEFAULT_IMAGE_SIZE 224
#define NNB_DEFAULT_SEED 0

/* fastrnns defaults; threads = 1, fuser "te", no stream. */
void nnb_config_defaults(nnb_config *cfg);

#ifdef __cplusplus
}
#endif
#endif
