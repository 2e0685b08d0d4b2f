#define _GNU_SOURCE
#include "driver.h"

#include <stdlib.h>

/* OpenBLAS core names for the best ISA this CPU has. */
const char *nnb_cpu_best_openblas_core(void) {
#if defined(__x86_64__) && defined(__GNUC__)
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512dq") &&
        __builtin_cpu_supports("avx512vl"))
        return "SkylakeX";
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
        return "Haswell";
#endif
    return NULL;
}

const char *nnb_tune_blas_env(void) {
    if (getenv("OPENBLAS_CORETYPE"))
        return NULL; /* the user's choice stands (and is recorded) */
    const char *core = nnb_cpu_best_openblas_core();
    if (core)
        setenv("OPENBLAS_CORETYPE", core, 0);
    return core;
}
