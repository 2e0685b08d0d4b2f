#define _GNU_SOURCE
#include "nnb_precision.h"

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#endif
#include <stdio.h>
#include <sys/syscall.h>
#include <unistd.h>

double nnb_precision_unit_roundoff(int precision) {
    switch (precision) {
    case 0: return 0x1p-24;
    case 1: return 0x1p-11;
    case 2: return 0x1p-8;
    case 3: return 0x1p-11;
    }
    return 0.0;
}

void nnb_round_to_precision(float *x, size_t n, int precision) {
    for (size_t i = 0; i < n; i++)
        x[i] = precision == 2 ? nnb_round_bf16(x[i]) : precision == 3 ? nnb_round_fp16(x[i]) : x[i];
}

void nnb_f32_to_bf16_array(uint16_t *dst, const float *src, size_t n) {
    for (size_t i = 0; i < n; i++)
        dst[i] = nnb_bf16_from_f32(src[i]);
}

void nnb_bf16_to_f32_array(float *dst, const uint16_t *src, size_t n) {
    for (size_t i = 0; i < n; i++)
        dst[i] = nnb_f32_from_bf16(src[i]);
}

void nnb_f32_to_fp16_array(uint16_t *dst, const float *src, size_t n) {
    for (size_t i = 0; i < n; i++)
        dst[i] = nnb_fp16_from_f32(src[i]);
}

void nnb_fp16_to_f32_array(float *dst, const uint16_t *src, size_t n) {
    for (size_t i = 0; i < n; i++)
        dst[i] = nnb_f32_from_fp16(src[i]);
}

/* One CPUID bit (reg 0..3: eax, ebx, ecx, edx), 0 when the leaf does not exist. Read directly rather than through
 * __builtin_cpu_supports, whose feature names differ between compilers ("avx512fp16" is unknown to clang 14). */
static int cpuid_bit(unsigned leaf, unsigned subleaf, int reg, unsigned bit) {
#if defined(__x86_64__) || defined(__i386__)
    unsigned r[4];
    if (!__get_cpuid_count(leaf, subleaf, &r[0], &r[1], &r[2], &r[3]))
        return 0;
    return (int)((r[reg] >> bit) & 1u);
#else
    (void)leaf, (void)subleaf, (void)reg, (void)bit;
    return 0;
#endif
}

/* AVX-512 state enabled by the OS (what __builtin_cpu_supports("avx512f") checks, XCR0 included). */
static int os_avx512(void) {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512f") != 0;
#else
    return 0;
#endif
}

/* CPUID leaf 7 subleaf 1, EAX bit 5: AVX512_BF16 (vdpbf16ps). */
int nnb_cpu_has_avx512_bf16(void) { return os_avx512() && cpuid_bit(7, 1, 0, 5); }

/* CPUID leaf 7 subleaf 0, EDX bit 22: AMX-BF16 (the tile data permission is nnb_cpu_amx_ready's). */
int nnb_cpu_has_amx_bf16(void) { return cpuid_bit(7, 0, 3, 22); }

/* CPUID leaf 7 subleaf 0, EDX bit 23: AVX512_FP16. */
int nnb_cpu_has_avx512_fp16(void) { return os_avx512() && cpuid_bit(7, 0, 3, 23); }

int nnb_cpu_amx_ready(void) {
#if defined(__x86_64__) && defined(SYS_arch_prctl)
    static int ready = -1;
    if (ready >= 0)
        return ready;
    ready = 0;
    if (nnb_cpu_has_amx_bf16()) {
        enum { ARCH_REQ_XCOMP_PERM = 0x1023, XFEATURE_XTILEDATA = 18 };
        ready = syscall(SYS_arch_prctl, ARCH_REQ_XCOMP_PERM, XFEATURE_XTILEDATA) == 0;
    }
    return ready;
#else
    return 0;
#endif
}

int nnb_cpu_precision_available(int precision, char *buf, size_t buf_len) {
    switch (precision) {
    case 0: return 1;
    case 1: snprintf(buf, buf_len, "tf32 is a CUDA tensor-op math mode; CPU runners compute fp32 as fp32"); return 0;
    case 2:
        if (nnb_cpu_has_avx512_bf16() || nnb_cpu_has_amx_bf16())
            return 1;
        snprintf(buf, buf_len, "bf16 needs a CPU with avx512_bf16 or AMX; this CPU has neither");
        return 0;
    case 3:
        if (nnb_cpu_has_avx512_fp16())
            return 1;
        snprintf(buf, buf_len, "fp16 needs a CPU with avx512_fp16; this CPU has none");
        return 0;
    }
    snprintf(buf, buf_len, "unknown precision %d", precision);
    return 0;
}
