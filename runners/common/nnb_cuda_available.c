/* Shared by the CUDA runner plugins; compiled into each (and into the CPU-side
 * tests against an emulated runtime). */
#include "nnb_cuda_available.h"

#include <cuda_runtime_api.h>
#include <stdio.h>

int nnb_cuda_available(const nnb_config *cfg, char *reason, size_t reason_len) {
    int count = 0;
    cudaError_t st = cudaGetDeviceCount(&count);
    if (st != cudaSuccess) {
        snprintf(reason, reason_len, "cuda: no device (%s)", cudaGetErrorString(st));
        return 0;
    }
    if (count == 0) {
        snprintf(reason, reason_len, "cuda: no device (cudaGetDeviceCount reports 0 devices)");
        return 0;
    }
    if (cfg && (cfg->cuda_device < 0 || cfg->cuda_device >= count)) {
        snprintf(reason, reason_len, "cuda: device %d requested, %d present", cfg->cuda_device, count);
        return 0;
    }
    return 1;
}
