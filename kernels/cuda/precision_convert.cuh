/*
 * fp32 -> 16-bit storage conversion on the device (bf16 or IEEE half bits, round to nearest even), written
 * against grid_shim.h so the CPU tests run this very source. The per-element rounding is nnb_precision.h's
 * (__host__ __device__ under nvcc): the device rounds exactly as the host rounds the seeded problem.
 */
#ifndef NNB_PRECISION_CONVERT_CUH
#define NNB_PRECISION_CONVERT_CUH

#include "grid_shim.h"
#include "nnb_precision.h"

#define NNB_CONVERT_BLOCK 256u
#define NNB_CONVERT_MAX_BLOCKS 4096u

/* dst[e] = src[e] as bf16 (fp16 == 0) or fp16 (fp16 == 1) bits, e < n; grid-stride. */
NNB_KERNEL void nnb_f32_to_16bit_kernel(uint16_t *dst, const float *src, long long n, int fp16) {
    long long stride = (long long)gridDim.x * blockDim.x;
    for (long long e = (long long)blockIdx.x * blockDim.x + threadIdx.x; e < n; e += stride)
        dst[e] = fp16 ? nnb_fp16_from_f32(src[e]) : nnb_bf16_from_f32(src[e]);
}

static inline void nnb_launch_f32_to_16bit(void *stream, uint16_t *dst, const float *src, long long n, int fp16) {
    if (n <= 0)
        return;
    long long blocks = (n + NNB_CONVERT_BLOCK - 1) / NNB_CONVERT_BLOCK;
    if (blocks > (long long)NNB_CONVERT_MAX_BLOCKS)
        blocks = NNB_CONVERT_MAX_BLOCKS;
    NNB_LAUNCH(nnb_f32_to_16bit_kernel, nnb_dim3((unsigned)blocks, 1), nnb_dim3(NNB_CONVERT_BLOCK, 1), stream, dst, src,
               n, fp16);
}

#endif
