/*
 * Support code shared by runner plugins (linked statically into each plugin):
 * seeded random streams, overflow-checked allocation, error formatting and
 * thread control, the common --fuser / --executor check. Nothing here prints.
 *
 * Random streams: every tensor draws from its own stream, keyed by the run's
 * seed and the tensor's name, so adding a tensor never shifts another's values
 * and every runner built from the same seed sees bit-identical inputs.
 *   stream state = splitmix64(seed ^ fnv1a64(name))
 *   uniform      = top 24 bits of splitmix64 output * 2^-24, in [0, 1)
 *   normal       = Box-Muller on two uniforms (cosine branch only)
 */
#ifndef NNB_SUPPORT_H
#define NNB_SUPPORT_H

#include <nnbench/runner.h>

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct nnb_rng {
    uint64_t state;
} nnb_rng;

nnb_rng nnb_rng_for(uint64_t seed, const char *stream_name);
uint64_t nnb_rng_next_u64(nnb_rng *rng);
float nnb_rng_uniform(nnb_rng *rng); /* [0, 1) */
float nnb_rng_normal(nnb_rng *rng);  /* mean 0, std 1 */

/* Fill from the named stream. */
void nnb_fill_uniform(float *dst, size_t n, uint64_t seed, const char *name, float lo, float hi);
void nnb_fill_normal(float *dst, size_t n, uint64_t seed, const char *name);

/* Dropout mask shared by every dropout runner (jit_dropout, cudnn_dropout and
 * their references): element e of the mask applied to layer k's input (k >= 1,
 * i.e. after layer k-1's output) is kept when the uniform draw e of stream
 * "dropout_l{k}" is >= p. Kept elements are scaled by 1/(1-p) (inverted dropout),
 * so mask[e] is 0 or 1/(1-p). n elements, in the order of a (T, B, H) array. */
void nnb_dropout_mask(float *mask, size_t n, uint64_t seed, int layer, float p);

/* a*b*c... without overflow: return 0 and set *out, or return -1. */
int nnb_mul_size(size_t *out, size_t a, size_t b);
int nnb_mul_size3(size_t *out, size_t a, size_t b, size_t c);

/* Room for `need` elements of `elem` bytes in the array *array_ptr (a T **) of capacity *cap, doubling;
 * 0, or -1 when out of memory (the array is left as it was). */
int nnb_grow(void *array_ptr, int *cap, int need, size_t elem);

/* Zero-initialised, 64-byte aligned allocation of n floats; NULL on overflow
 * or failure. Free with nnb_free. */
float *nnb_alloc_floats(size_t n);
void *nnb_alloc_bytes(size_t bytes);
void nnb_free(void *p);

/* snprintf into err; always returns -1 so callers can `return nnb_fail(...)`. */
int nnb_fail(char *err, size_t err_len, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

/* The one check of --fuser and --executor every runner makes in create(), so that all refuse a setting they
 * cannot honour in the same words. fusers and executors: NULL-terminated lists of what this runner honours
 * (a runner to which fusion does not apply honours every fuser name: nnb_every_fuser). A NULL cfg->fuser or
 * cfg->executor (or a config struct too old to have the field) means the runner's default and is always
 * accepted. Returns 0, or -1 with
 *   "<runner>: --executor 'graph' is not supported by this runner (supported: eager)"
 *   "<runner>: --fuser 'none' is not supported by this runner (supported: te, old)"
 * (executor checked first). */
int nnb_check_fuser_executor(const char *runner, const nnb_config *cfg, const char *const *fusers,
                             const char *const *executors, char *err, size_t err_len);
extern const char *const nnb_every_fuser[]; /* te, old, none */
extern const char *const nnb_eager_only[];  /* eager */

/* describe() JSON by pieces: vsnprintf at buf + *used, never overrunning buf; *used grows by what each piece
 * wanted, so the text was cut exactly when *used >= len (check that once at the end: `*used < len`). */
/* "float32", "float64", "int64", "int32": a dtype in an error message. */
const char *nnb_dtype_name(nnb_dtype t);

/* "(64, 3, 7, 7)" into buf (NUL-terminated, truncated to len): a shape in an error message. */
void nnb_shape_text(char *buf, size_t len, int ndim, const int64_t *shape);

/* load_param's check of a value for the float32 parameter `name` of shape (ndim, shape): dtype float32, the same
 * shape, data present; else -1 with "<runner>: load_param '<name>': ..." naming what differs (both shapes). */
int nnb_check_param_value(const char *runner, const char *name, int ndim, const int64_t *shape, const nnb_tensor *v,
                          char *err, size_t err_len);

void nnb_appendf(char *buf, size_t len, size_t *used, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 4, 5)))
#endif
    ;

/* Set OpenMP (when built with it) and BLAS (when loaded) thread counts. */
void nnb_set_threads(int threads);

/* Monotonic wall time in seconds (for reporting creation times). */
double nnb_now_seconds(void);

/* For the benchmark tools (the driver times with bench/, not with these):
 *   nnb_cpu_seconds:   CPU time of the whole process (all threads), seconds;
 *   nnb_bench_seconds: nnb_now_seconds(), or nnb_cpu_seconds() when NNB_CPUTIME=1 is in the environment
 *                      (steadier for one thread on a loaded machine; counts spinning threads when more);
 *   nnb_median:        median of v (n >= 1; mean of the middle two when n is even), sorting v in place. */
double nnb_cpu_seconds(void);
double nnb_bench_seconds(void);
double nnb_median(double *v, int n);

#ifdef __cplusplus
}
#endif
#endif
