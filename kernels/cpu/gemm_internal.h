/* Internal to nnb_cpu_kernels: per-ISA entry points. */
#ifndef NNB_GEMM_INTERNAL_H
#define NNB_GEMM_INTERNAL_H

#include "cpu_kernels.h"

/* AVX-512 micro-kernels (gemm_avx512.c): C (m, n <= 32) (+)= A (kc, rows) . B panel (kc, 32), A in 8-row panels.
 * pf: kc cache lines to pull into L2 meanwhile (the next B panel's share). The 12-row kernel reads lo rows from a0
 * then 12 - lo from a1 (two neighbouring 8-row panels; lo 8 or 4). */
void nnb_gemm_kernel_8x32_avx512(int64_t kc, const float *restrict Ap, const float *restrict Bp, float *C, int64_t ldc,
                                 int m, int n, int accumulate, const float *bias, const float *pf);
void nnb_gemm_kernel_12x32_avx512(int64_t kc, const float *a0, const float *a1, int lo, const float *restrict Bp,
                                  float *C, int64_t ldc, int m, int n, int accumulate, const float *bias,
                                  const float *pf);

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
