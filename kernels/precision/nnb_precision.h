/*
 * Precision helpers shared by the driver, every runner and the CUDA kernels (a leaf: includes nothing of
 * the project's). The per-element conversions are __host__ __device__ under nvcc, so the CPU tests check the
 * same rounding the GPU kernels use.
 *
 * Rounding is round-to-nearest, ties to even (IEEE's default), as PyTorch's .to(torch.bfloat16/half) does:
 *   bf16: the top 16 bits of an fp32, rounded on the 16 dropped bits; NaN stays a (quiet) NaN.
 *   fp16: IEEE binary16 with subnormals; values past 65504 round to infinity.
 *   tf32: the fp32 with its mantissa rounded to 10 bits (what TF32 tensor cores read), still stored as fp32.
 * Unit roundoff u (half an ulp at 1): fp32 2^-24, tf32 2^-11, bf16 2^-8, fp16 2^-11.
 */
#ifndef NNB_PRECISION_H
#define NNB_PRECISION_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#if defined(__CUDACC__)
#define NNB_PREC_HD __host__ __device__ __forceinline__
#else
#define NNB_PREC_HD static inline
#endif

#ifdef __cplusplus
extern "C" {
#endif

NNB_PREC_HD uint32_t nnb_f32_bits(float f) {
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    return u;
}

NNB_PREC_HD float nnb_f32_from_bits(uint32_t u) {
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

/* fp32 -> bf16 bits, round to nearest even. */
NNB_PREC_HD uint16_t nnb_bf16_from_f32(float f) {
    uint32_t u = nnb_f32_bits(f);
    if ((u & 0x7fffffffu) > 0x7f800000u) /* NaN: keep the sign, make it quiet */
        return (uint16_t)((u >> 16) | 0x0040u);
    u += 0x7fffu + ((u >> 16) & 1u);
    return (uint16_t)(u >> 16);
}

NNB_PREC_HD float nnb_f32_from_bf16(uint16_t b) { return nnb_f32_from_bits((uint32_t)b << 16); }

/* fp32 rounded to the nearest bf16 value, kept as fp32. */
NNB_PREC_HD float nnb_round_bf16(float f) { return nnb_f32_from_bf16(nnb_bf16_from_f32(f)); }

/* fp32 rounded to TF32 (10 mantissa bits), kept as fp32. */
NNB_PREC_HD float nnb_round_tf32(float f) {
    uint32_t u = nnb_f32_bits(f);
    if ((u & 0x7f800000u) == 0x7f800000u) /* inf and NaN unchanged */
        return f;
    u += 0xfffu + ((u >> 13) & 1u);
    return nnb_f32_from_bits(u & 0xffffe000u);
}

/* fp32 -> IEEE half bits, round to nearest even, with subnormals, overflow to infinity. */
NNB_PREC_HD uint16_t nnb_fp16_from_f32(float f) {
    uint32_t u = nnb_f32_bits(f);
    uint16_t sign = (uint16_t)((u >> 16) & 0x8000u);
    uint32_t a = u & 0x7fffffffu;
    if (a > 0x7f800000u)
        return (uint16_t)(sign | 0x7e00u); /* NaN */
    if (a >= 0x477ff000u)                  /* >= 65520: rounds past the largest half (65504) */
        return (uint16_t)(sign | 0x7c00u);
    if (a >= 0x38800000u) { /* normal half: exponent >= -14 */
        uint32_t r = a + 0xfffu + ((a >> 13) & 1u);
        return (uint16_t)(sign | (((r >> 13) - (112u << 10)) & 0xffffu));
    }
    if (a < 0x33000000u) /* below half the smallest subnormal (2^-25): zero; exactly 2^-25 ties to 0 too */
        return sign;
    /* subnormal half: value = m * 2^-24, m in [0, 1024) */
    uint32_t e = a >> 23;                        /* biased fp32 exponent, 102 .. 112 */
    uint32_t mant = (a & 0x7fffffu) | 0x800000u; /* 24-bit significand */
    uint32_t shift = 126u - e;                   /* 14 .. 24: bits to drop so the unit is 2^-24 */
    uint32_t q = mant >> shift, rest = mant & ((1u << shift) - 1u), half = 1u << (shift - 1u);
    if (rest > half || (rest == half && (q & 1u)))
        q++;
    return (uint16_t)(sign | q);
}

NNB_PREC_HD float nnb_f32_from_fp16(uint16_t h) {
    uint32_t sign = (uint32_t)(h & 0x8000u) << 16;
    uint32_t e = (h >> 10) & 0x1fu, m = h & 0x3ffu;
    if (e == 0x1fu)
        return nnb_f32_from_bits(sign | 0x7f800000u | (m << 13));
    if (e == 0) { /* zero or subnormal: m * 2^-24, exact in fp32 */
        float v = (float)m * 5.9604644775390625e-8f;
        return sign ? -v : v;
    }
    return nnb_f32_from_bits(sign | ((e + 112u) << 23) | (m << 13));
}

NNB_PREC_HD float nnb_round_fp16(float f) { return nnb_f32_from_fp16(nnb_fp16_from_f32(f)); }

#ifdef __cplusplus
}
#endif

#ifndef __CUDACC__
#ifdef __cplusplus
extern "C" {
#endif

/* Unit roundoff of the data a precision stores (fp32 2^-24, tf32 2^-11, bf16 2^-8, fp16 2^-11); 0 for an
 * unknown precision. Precisions are nnb_precision values (fp32 0, tf32 1, bf16 2, fp16 3). */
double nnb_precision_unit_roundoff(int precision);

/* Rounds n floats in place to what precision stores, so every precision sees the same seeded problem rounded
 * once: bf16 and fp16 round; fp32 and tf32 (fp32 data, TF32 only inside the tensor-op math) are unchanged. */
void nnb_round_to_precision(float *x, size_t n, int precision);

/* bf16 bits of n floats (RNE); dst and src must not overlap. */
void nnb_f32_to_bf16_array(uint16_t *dst, const float *src, size_t n);
void nnb_bf16_to_f32_array(float *dst, const uint16_t *src, size_t n);
void nnb_f32_to_fp16_array(uint16_t *dst, const float *src, size_t n);
void nnb_fp16_to_f32_array(float *dst, const uint16_t *src, size_t n);

/* What this CPU offers for reduced precision, detected at run time. */
int nnb_cpu_has_avx512_bf16(void); /* vdpbf16ps */
int nnb_cpu_has_amx_bf16(void);    /* AMX tiles with bf16 (the OS must also grant them: see nnb_cpu_amx_ready) */
int nnb_cpu_has_avx512_fp16(void);
/* 1 when AMX tile data is usable by this process (asks the kernel for permission once); 0 otherwise. */
int nnb_cpu_amx_ready(void);

/* The one wording every CPU runner uses to refuse a precision this CPU cannot run, e.g.
 * "bf16 needs a CPU with avx512_bf16 or AMX; this CPU has neither". Returns 1 when the CPU can run it (buf
 * untouched), 0 with the reason in buf. fp32 always runs; tf32 is refused ("tf32 is a CUDA tensor-op math
 * mode; CPU runners compute fp32 as fp32"). */
int nnb_cpu_precision_available(int precision, char *buf, size_t buf_len);

#ifdef __cplusplus
}
#endif
#endif /* !__CUDACC__ */

#endif /* NNB_PRECISION_H */
