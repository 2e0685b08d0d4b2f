/* Internal to nnb_cpu_kernels: per-ISA entry points. */
#ifndef NNB_GEMM_INTERNAL_H
#define NNB_GEMM_INTERNAL_H

#include "cpu_kernels.h"

void nnb_gemm_kernel_8x32_avx512(int64_t kc, const float *restrict Ap, const float *restrict Bp, float *C, int64_t ldc,
                                 int m, int n, int accumulate, const float *bias, const float *pf);

/* Vector math and fused cell passes compiled once per ISA from cell_vector_impl.h. */
#define NNB_DECLARE_VECTOR_ISA(SFX)                                                                                    \
    void nnb_vexpf_##SFX(const float *x, float *y, int64_t n);                                                         \
    void nnb_vtanhf_##SFX(const float *x, float *y, int64_t n);                                                        \
    void nnb_vsigmoidf_##SFX(const float *x, float *y, int64_t n);                                                     \
    void nnb_cell_fwd_vector_##SFX(const nnb_cell_fwd_args *a, int64_t j0, int64_t j1);                                \
    void nnb_cell_bwd_vector_##SFX(const nnb_cell_bwd_args *a, int64_t j0, int64_t j1);

NNB_DECLARE_VECTOR_ISA(avx512)
NNB_DECLARE_VECTOR_ISA(avx2)
NNB_DECLARE_VECTOR_ISA(generic)

#endif
