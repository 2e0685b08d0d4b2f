/*
 * The few helpers the plain C kernels need (kernels/cnn_ref, kernels/resnet), once. kernels/ are leaves:
 * they include nothing from runners/ or bench/, so these do not come from runners/common.
 */
#ifndef NNB_KERNEL_UTIL_H
#define NNB_KERNEL_UTIL_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* *out = a * b; -1 when that overflows size_t. */
static inline int nnb_kernel_mul_size(size_t *out, size_t a, size_t b) {
    if (a != 0 && b > SIZE_MAX / a)
        return -1;
    *out = a * b;
    return 0;
}

/* A one-line message into err (when given); returns -1 for `return nnb_kernel_fail(...)`. */
static inline int nnb_kernel_fail(char *err, size_t err_len, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;
static inline int nnb_kernel_fail(char *err, size_t err_len, const char *fmt, ...) {
    if (err && err_len) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, err_len, fmt, ap);
        va_end(ap);
    }
    return -1;
}

#endif
