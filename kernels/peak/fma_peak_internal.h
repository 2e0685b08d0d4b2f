#ifndef NNB_FMA_PEAK_INTERNAL_H
#define NNB_FMA_PEAK_INTERNAL_H

#include <stdint.h>

/* 24 independent FMA chains of n iterations on registers; returns a value that depends on all of them (so the
 * loop is not optimised away). 2 * 16 * 24 * n flops. */
float nnb_fma_chains_avx512(int64_t n);

#endif
