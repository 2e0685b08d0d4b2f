#define _GNU_SOURCE
#include "nnb_support.h"

#include <dlfcn.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#ifdef _OPENMP
#include <omp.h>
#endif

static uint64_t fnv1a64(const char *s) {
    uint64_t h = 1469598103934665603ull;
    for (; *s; s++) {
        h ^= (unsigned char)*s;
        h *= 1099511628211ull;
    }
    return h;
}

nnb_rng nnb_rng_for(uint64_t seed, const char *stream_name) {
    nnb_rng r = {seed ^ fnv1a64(stream_name)};
    return r;
}

uint64_t nnb_rng_next_u64(nnb_rng *rng) {
    uint64_t z = (rng->state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

float nnb_rng_uniform(nnb_rng *rng) { return (float)(nnb_rng_next_u64(rng) >> 40) * 0x1p-24f; }

float nnb_rng_normal(nnb_rng *rng) {
    /* 1 - u is in (0, 1], so the log is finite. */
    double u1 = 1.0 - (double)nnb_rng_uniform(rng);
    double u2 = (double)nnb_rng_uniform(rng);
    return (float)(sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2));
}

void nnb_fill_uniform(float *dst, size_t n, uint64_t seed, const char *name, float lo, float hi) {
    nnb_rng r = nnb_rng_for(seed, name);
    for (size_t i = 0; i < n; i++)
        dst[i] = lo + (hi - lo) * nnb_rng_uniform(&r);
}

void nnb_fill_normal(float *dst, size_t n, uint64_t seed, const char *name) {
    nnb_rng r = nnb_rng_for(seed, name);
    for (size_t i = 0; i < n; i++)
        dst[i] = nnb_rng_normal(&r);
}

void nnb_dropout_mask(float *mask, size_t n, uint64_t seed, int layer, float p) {
    char name[32];
    snprintf(name, sizeof name, "dropout_l%d", layer);
    nnb_rng r = nnb_rng_for(seed, name);
    const float keep_scale = 1.0f / (1.0f - p);
    for (size_t i = 0; i < n; i++)
        mask[i] = nnb_rng_uniform(&r) >= p ? keep_scale : 0.0f;
}

int nnb_mul_size(size_t *out, size_t a, size_t b) {
    if (a != 0 && b > SIZE_MAX / a)
        return -1;
    *out = a * b;
    return 0;
}

int nnb_mul_size3(size_t *out, size_t a, size_t b, size_t c) {
    size_t ab;
    if (nnb_mul_size(&ab, a, b))
        return -1;
    return nnb_mul_size(out, ab, c);
}

void *nnb_alloc_bytes(size_t bytes) {
    size_t rounded = (bytes + 63) / 64 * 64;
    if (rounded < bytes)
        return NULL;
    if (rounded == 0)
        rounded = 64;
    void *p = aligned_alloc(64, rounded);
    if (p)
        memset(p, 0, rounded);
    return p;
}

float *nnb_alloc_floats(size_t n) {
    size_t bytes;
    if (nnb_mul_size(&bytes, n, sizeof(float)))
        return NULL;
    return (float *)nnb_alloc_bytes(bytes);
}

void nnb_free(void *p) { free(p); }

int nnb_fail(char *err, size_t err_len, const char *fmt, ...) {
    if (err && err_len) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, err_len, fmt, ap);
        va_end(ap);
    }
    return -1;
}

const char *const nnb_every_fuser[] = {"te", "old", "none", NULL};
const char *const nnb_eager_only[] = {"eager", NULL};

static int in_list(const char *v, const char *const *list) {
    for (; list && *list; list++)
        if (!strcmp(v, *list))
            return 1;
    return 0;
}

static int not_supported(const char *runner, const char *flag, const char *value, const char *const *list, char *err,
                         size_t err_len) {
    char supported[256] = "";
    size_t used = 0;
    for (int i = 0; list && list[i] && used < sizeof supported; i++) {
        int n = snprintf(supported + used, sizeof supported - used, "%s%s", i ? ", " : "", list[i]);
        if (n < 0)
            break;
        used += (size_t)n;
    }
    return nnb_fail(err, err_len, "%s: --%s '%s' is not supported by this runner (supported: %s)", runner, flag, value,
                    supported);
}

int nnb_check_fuser_executor(const char *runner, const nnb_config *cfg, const char *const *fusers,
                             const char *const *executors, char *err, size_t err_len) {
    size_t have = cfg ? cfg->struct_size : 0;
    const char *executor = have >= offsetof(nnb_config, executor) + sizeof cfg->executor ? cfg->executor : NULL;
    const char *fuser = have >= offsetof(nnb_config, fuser) + sizeof cfg->fuser ? cfg->fuser : NULL;
    if (executor && !in_list(executor, executors))
        return not_supported(runner, "executor", executor, executors, err, err_len);
    if (fuser && !in_list(fuser, fusers))
        return not_supported(runner, "fuser", fuser, fusers, err, err_len);
    return 0;
}

void nnb_appendf(char *buf, size_t len, size_t *used, const char *fmt, ...) {
    if (*used >= len)
        return;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf + *used, len - *used, fmt, ap);
    va_end(ap);
    if (n > 0)
        *used += (size_t)n;
}

void nnb_set_threads(int threads) {
    if (threads < 1)
        threads = 1;
#ifdef _OPENMP
    omp_set_num_threads(threads);
#endif
    /* BLAS libraries are found in the process, whichever one a plugin linked. */
    /* Plugins are loaded RTLD_LOCAL, so their BLAS is not in the global scope:
     * look it up by soname among the libraries already loaded. */
    static const struct {
        const char *lib, *fn;
    } setters[] = {{"libopenblas.so.0", "openblas_set_num_threads"},
                   {"libblis.so.4", "bli_thread_set_num_threads"},
                   {"libmkl_rt.so", "mkl_set_num_threads"}};
    for (size_t i = 0; i < sizeof setters / sizeof *setters; i++) {
        void *lib = dlopen(setters[i].lib, RTLD_NOW | RTLD_NOLOAD);
        if (!lib)
            continue;
        void (*f)(int);
        void *sym = dlsym(lib, setters[i].fn);
        memcpy(&f, &sym, sizeof f);
        if (f)
            f(threads);
        dlclose(lib);
    }
}

double nnb_now_seconds(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

double nnb_cpu_seconds(void) {
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

double nnb_bench_seconds(void) {
    static int cpu = -1;
    if (cpu < 0) {
        const char *v = getenv("NNB_CPUTIME");
        cpu = v && atoi(v) != 0;
    }
    return cpu ? nnb_cpu_seconds() : nnb_now_seconds();
}

static int compare_doubles(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

double nnb_median(double *v, int n) {
    qsort(v, (size_t)n, sizeof *v, compare_doubles);
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

int nnb_grow(void *array_ptr, int *cap, int need, size_t elem) {
    void **array = array_ptr;
    if (need <= *cap)
        return 0;
    int ncap = *cap ? *cap * 2 : 16;
    while (ncap < need)
        ncap *= 2;
    void *grown = realloc(*array, (size_t)ncap * elem);
    if (!grown)
        return -1;
    *array = grown;
    *cap = ncap;
    return 0;
}

const char *nnb_dtype_name(nnb_dtype t) {
    switch (t) {
    case NNB_F32: return "float32";
    case NNB_F64: return "float64";
    case NNB_I64: return "int64";
    case NNB_I32: return "int32";
    }
    return "unknown dtype";
}

void nnb_shape_text(char *buf, size_t len, int ndim, const int64_t *shape) {
    size_t used = 0;
    if (len)
        buf[0] = 0;
    nnb_appendf(buf, len, &used, "(");
    for (int i = 0; i < ndim && i < NNB_MAX_DIMS; i++)
        nnb_appendf(buf, len, &used, "%s%lld", i ? ", " : "", (long long)shape[i]);
    nnb_appendf(buf, len, &used, ")");
}

int nnb_check_param_value(const char *runner, const char *name, int ndim, const int64_t *shape, const nnb_tensor *v,
                          char *err, size_t err_len) {
    if (v->dtype != NNB_F32)
        return nnb_fail(err, err_len, "%s: load_param '%s': dtype %s, the parameter is float32", runner, name,
                        nnb_dtype_name(v->dtype));
    int same = v->ndim == ndim;
    for (int i = 0; same && i < ndim; i++)
        same = v->shape[i] == shape[i];
    if (!same) {
        char got[128], want[128];
        nnb_shape_text(got, sizeof got, v->ndim < 0 || v->ndim > NNB_MAX_DIMS ? 0 : v->ndim, v->shape);
        nnb_shape_text(want, sizeof want, ndim, shape);
        return nnb_fail(err, err_len, "%s: load_param '%s': shape %s does not match the parameter's %s", runner, name,
                        got, want);
    }
    if (!v->data)
        return nnb_fail(err, err_len, "%s: load_param '%s': no data", runner, name);
    return 0;
}
