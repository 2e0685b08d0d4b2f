/* Portable half of nnb_cnn_cpu's stem input gradient: CPU check and weight rearrangement. */
#include "conv_input_grad.h"

#include <string.h>

int nnb_conv_input_grad_available(void) {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512f");
}

int nnb_conv_input_grad_supported(int64_t c, int64_t r, int64_t stride) {
    return c >= 1 && c <= NNB_CONV_INPUT_GRAD_MAX_C && r >= 1 && r <= NNB_CONV_INPUT_GRAD_MAX_R && stride >= 1;
}

size_t nnb_conv_input_grad_weights_floats(int64_t k, int64_t c, int64_t r) {
    if (k <= 0 || c <= 0 || r <= 0)
        return 0;
    uint64_t n = (uint64_t)((k + 15) / 16) * 16;
    uint64_t rest[3] = {(uint64_t)r, (uint64_t)r, (uint64_t)c};
    for (int i = 0; i < 3; i++) {
        if (n > SIZE_MAX / rest[i])
            return 0;
        n *= rest[i];
    }
    return (size_t)n;
}

void nnb_conv_input_grad_prepare_weights(int64_t k, int64_t c, int64_t r, const float *w, float *wt) {
    int64_t kb = (k + 15) / 16;
    memset(wt, 0, sizeof(float) * (size_t)(kb * r * r * c * 16));
    for (int64_t co = 0; co < k; co++)
        for (int64_t ci = 0; ci < c; ci++)
            for (int64_t kh = 0; kh < r; kh++)
                for (int64_t kw = 0; kw < r; kw++)
                    wt[((((co / 16) * r + kh) * r + kw) * c + ci) * 16 + co % 16] =
                        w[((co * c + ci) * r + kh) * r + kw];
}
