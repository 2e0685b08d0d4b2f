/* nvcc side of the ResNet kernels: the kernels and their extern "C" launchers
 * are in resnet_kernels.cuh (shared with the CPU tests). */
#include "resnet_kernels.cuh"
