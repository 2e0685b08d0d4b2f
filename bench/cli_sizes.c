/* Sizes against size_t and this machine's memory (cli.h, nnb_cli_check_sizes). */
#define _GNU_SOURCE
#include "cli.h"

#include <stdint.h>
#include <stdio.h>
#include <unistd.h>

/* Bytes the largest LSTM runner keeps (reference saves every gate of every step
 * and layer); 0 on size_t overflow. */
static unsigned long long lstm_bytes(const nnb_config *c, int variable) {
    unsigned __int128 T = (unsigned __int128)(variable ? 99 : c->seq_length), B = c->mini_batch, I = c->input_size,
                      H = c->hidden_size, L = c->num_layers;
    unsigned __int128 in = I > H ? I : H;
    unsigned __int128 per_step = B * (in * 2 + H * 4 * 2 + H * 6); /* x, dx, gates, dgates, h, c, ... */
    unsigned __int128 weights = L * 4 * H * (in + H + 2) * 3;      /* weights, gradients, packed copies */
    unsigned __int128 total = (T * L * per_step + weights + L * B * H * 8) * 4;
    if (total > SIZE_MAX)
        return 0;
    return (unsigned long long)total;
}

static unsigned long long cnn_bytes(const nnb_config *c) {
    /* ResNet-50 training keeps about 25M floats of activations per 224x224 image: ~500 per pixel */
    unsigned __int128 per_image = (unsigned __int128)c->image_size * c->image_size * 600;
    unsigned __int128 total = per_image * c->cnn_batch * 4;
    if (total > SIZE_MAX)
        return 0;
    return (unsigned long long)total;
}

int nnb_cli_check_sizes(const nnb_options *o, char *err, size_t err_len) {
    unsigned long long phys = (unsigned long long)sysconf(_SC_PHYS_PAGES) * (unsigned long long)sysconf(_SC_PAGESIZE);
    unsigned long long need_lstm = lstm_bytes(&o->config, o->variable_lstms);
    unsigned long long need_cnn = cnn_bytes(&o->config);
    if (!need_lstm) {
        snprintf(err, err_len,
                 "--seqLength %lld --miniBatch %lld --inputSize %lld --hiddenSize %lld --numLayers %lld: "
                 "LSTM buffers overflow size_t",
                 (long long)o->config.seq_length, (long long)o->config.mini_batch, (long long)o->config.input_size,
                 (long long)o->config.hidden_size, (long long)o->config.num_layers);
        return -1;
    }
    if (need_lstm > phys) {
        snprintf(err, err_len,
                 "--seqLength %lld --miniBatch %lld --inputSize %lld --hiddenSize %lld --numLayers %lld: "
                 "LSTM buffers need about %.1f GiB, more than this machine's %.1f GiB",
                 (long long)o->config.seq_length, (long long)o->config.mini_batch, (long long)o->config.input_size,
                 (long long)o->config.hidden_size, (long long)o->config.num_layers, need_lstm / 1073741824.0,
                 phys / 1073741824.0);
        return -1;
    }
    if (!need_cnn || need_cnn > phys) {
        snprintf(err, err_len,
                 "--cnn-batch %lld --image-size %lld: CNN activations need more than this machine's %.1f GiB",
                 (long long)o->config.cnn_batch, (long long)o->config.image_size, phys / 1073741824.0);
        return -1;
    }
    return nnb_cli_conv_check_memory(o, phys, err, err_len);
}
