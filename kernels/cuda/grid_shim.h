/*
 * Lets one kernel source compile both with nvcc (real CUDA launches) and with a
 * plain C compiler (a sequential grid loop), so the CPU tests run the very
 * source the GPU runs. Kernels written against this header:
 *   - are declared NNB_KERNEL and use only blockIdx/threadIdx/blockDim/gridDim
 *     (no shared memory, no __syncthreads: each thread must be independent);
 *   - are launched with NNB_LAUNCH(kernel, grid, block, stream, args...).
 * On the CPU the launch visits every block and every thread in order.
 */
#ifndef NNB_GRID_SHIM_H
#define NNB_GRID_SHIM_H

#if defined(__CUDACC__)
#include <cuda_runtime.h>

#define NNB_KERNEL __global__
#define NNB_DEVICE __device__ __forceinline__
static inline dim3 nnb_dim3(unsigned x, unsigned y) { return dim3(x, y, 1); }
#define NNB_LAUNCH(kernel, grid, block, stream, ...) kernel<<<(grid), (block), 0, (cudaStream_t)(stream)>>>(__VA_ARGS__)

#else /* CPU shim */

#define NNB_KERNEL static
#define NNB_DEVICE static inline
#if !defined(__VECTOR_TYPES_H__) /* the CUDA headers' C dim3 has the same x, y, z */
typedef struct dim3 {
    unsigned x, y, z;
} dim3;
#endif
/* The "built-in" variables of the thread being run. */
static dim3 gridDim __attribute__((unused)), blockDim __attribute__((unused));
static dim3 blockIdx __attribute__((unused)), threadIdx __attribute__((unused));
static inline dim3 nnb_dim3(unsigned x, unsigned y) {
    dim3 d = {x, y, 1};
    return d;
}
#define NNB_LAUNCH(kernel, grid, block, stream, ...)                                                                   \
    do {                                                                                                               \
        (void)(stream);                                                                                                \
        gridDim = (grid);                                                                                              \
        blockDim = (block);                                                                                            \
        for (blockIdx.z = 0; blockIdx.z < gridDim.z; blockIdx.z++)                                                     \
            for (blockIdx.y = 0; blockIdx.y < gridDim.y; blockIdx.y++)                                                 \
                for (blockIdx.x = 0; blockIdx.x < gridDim.x; blockIdx.x++)                                             \
                    for (threadIdx.z = 0; threadIdx.z < blockDim.z; threadIdx.z++)                                     \
                        for (threadIdx.y = 0; threadIdx.y < blockDim.y; threadIdx.y++)                                 \
                            for (threadIdx.x = 0; threadIdx.x < blockDim.x; threadIdx.x++)                             \
                                kernel(__VA_ARGS__);                                                                   \
    } while (0)
#endif

#endif
