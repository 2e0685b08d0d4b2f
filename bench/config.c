#include "config.h"

#include <string.h>

void nnb_config_defaults(nnb_config *cfg) {
    memset(cfg, 0, sizeof *cfg);
    cfg->struct_size = sizeof *cfg;
    cfg->seq_length = NNB_DEFAULT_SEQ_LENGTH;
    cfg->num_layers = NNB_DEFAULT_NUM_LAYERS;
    cfg->input_size = NNB_DEFAULT_INPUT_SIZE;
    cfg->hidden_size = NNB_DEFAULT_HIDDEN_SIZE;
    cfg->mini_batch = NNB_DEFAULT_MINI_BATCH;
    cfg->cnn_batch = NNB_DEFAULT_CNN_BATCH;
    cfg->image_size = NNB_DEFAULT_IMAGE_SIZE;
    cfg->seed = NNB_DEFAULT_SEED;
    cfg->threads = 1;
    cfg->fuser = "te";
    cfg->precision = NNB_PRECISION_FP32;
    cfg->conv_dirs = NNB_CONV_DIR_ALL;
    cfg->conv_algo = "auto";
}
