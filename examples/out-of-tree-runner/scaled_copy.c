/*
 * scaled_copy: a minimal nnbench runner plugin built outside the nnbench tree,
 * against nothing but the installed <nnbench/runner.h> (pkg-config nnbench-runner).
 *
 *   params:   x (T, B, I) and grad_y (T, B, I), seeded from cfg->seed
 *   forward:  y = 2 x
 *   backward: dx = 2 grad_y
 *
 * It is not an LSTM; it shows every rule of the plugin ABI (runner.h) in the
 * smallest runner that still does real, checkable work:
 *   - every struct carries struct_size; the config is read only as far as the
 *     driver's struct_size says it goes, and copied (it is valid only during create);
 *   - failures return non-zero (or NULL) with a one-line message in err;
 *   - the runner never prints; forward/backward do only the work;
 *   - params/outputs hand out host tensors owned by the model;
 *   - destroy(NULL) is a no-op;
 *   - the plugin exports one symbol, the entry point (built with -fvisibility=hidden).
 */
#include <nnbench/runner.h>

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SCALE 2.0f

typedef struct scaled_copy_model {
    int64_t t, b, i; /* sizes copied from the config */
    size_t count;    /* t * b * i */
    uint64_t seed;
    float *x, *grad_y, *y, *dx;
    nnb_tensor params[2], outputs[2];
} scaled_copy_model;

static void fail(char *err, size_t err_len, const char *fmt, ...) {
    if (!err || !err_len)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, err_len, fmt, ap);
    va_end(ap);
}

/* splitmix64: a deterministic stream per (seed, tensor). */
static uint64_t splitmix64(uint64_t *state) {
    uint64_t z = (*state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

/* Uniform in [-1, 1), from the top 24 bits (exact in float). */
static void seeded_fill(float *v, size_t n, uint64_t seed, uint64_t stream) {
    uint64_t state = seed ^ (stream * 0xd1b54a32d192ed03ull);
    for (size_t k = 0; k < n; k++)
        v[k] = (float)(splitmix64(&state) >> 40) * (2.0f / 16777216.0f) - 1.0f;
}

static void set_tensor(nnb_tensor *t, const char *name, const scaled_copy_model *m, const float *data) {
    memset(t, 0, sizeof *t);
    t->name = name;
    t->dtype = NNB_F32;
    t->ndim = 3;
    t->shape[0] = m->t;
    t->shape[1] = m->b;
    t->shape[2] = m->i;
    t->data = data;
}

static void scaled_copy_destroy(void *model) {
    scaled_copy_model *m = model;
    if (!m) /* destroy(NULL) is a no-op */
        return;
    free(m->x);
    free(m->grad_y);
    free(m->y);
    free(m->dx);
    free(m);
}

static void *scaled_copy_create(const nnb_config *cfg, char *err, size_t err_len) {
    /* The fields read here must be within what the driver says it passed. */
    size_t needed = offsetof(nnb_config, seed) + sizeof cfg->seed;
    if (!cfg || cfg->struct_size < needed) {
        fail(err, err_len, "scaled_copy: nnb_config too old (struct_size %zu < %zu)", cfg ? cfg->struct_size : 0,
             needed);
        return NULL;
    }
    int64_t t = cfg->seq_length, b = cfg->mini_batch, i = cfg->input_size;
    if (t <= 0 || b <= 0 || i <= 0) {
        fail(err, err_len, "scaled_copy: sizes must be positive (seqLength %lld, miniBatch %lld, inputSize %lld)",
             (long long)t, (long long)b, (long long)i);
        return NULL;
    }
    if ((uint64_t)t > SIZE_MAX / sizeof(float) / (uint64_t)b / (uint64_t)i) {
        fail(err, err_len, "scaled_copy: %lld x %lld x %lld floats do not fit in memory", (long long)t, (long long)b,
             (long long)i);
        return NULL;
    }
    scaled_copy_model *m = calloc(1, sizeof *m);
    if (!m) {
        fail(err, err_len, "scaled_copy: out of memory");
        return NULL;
    }
    m->t = t, m->b = b, m->i = i, m->seed = cfg->seed;
    m->count = (size_t)t * (size_t)b * (size_t)i;
    m->x = malloc(m->count * sizeof(float));
    m->grad_y = malloc(m->count * sizeof(float));
    m->y = calloc(m->count, sizeof(float));
    m->dx = calloc(m->count, sizeof(float));
    if (!m->x || !m->grad_y || !m->y || !m->dx) {
        fail(err, err_len, "scaled_copy: out of memory for %zu floats per tensor", m->count);
        scaled_copy_destroy(m);
        return NULL;
    }
    seeded_fill(m->x, m->count, m->seed, 1);
    seeded_fill(m->grad_y, m->count, m->seed, 2);
    set_tensor(&m->params[0], "x", m, m->x);
    set_tensor(&m->params[1], "grad_y", m, m->grad_y);
    set_tensor(&m->outputs[0], "y", m, m->y);
    set_tensor(&m->outputs[1], "dx", m, m->dx);
    return m;
}

static int scaled_copy_forward(void *model, char *err, size_t err_len) {
    scaled_copy_model *m = model;
    if (!m) {
        fail(err, err_len, "scaled_copy: forward without a model");
        return 1;
    }
    for (size_t k = 0; k < m->count; k++)
        m->y[k] = SCALE * m->x[k];
    return 0;
}

static int scaled_copy_backward(void *model, char *err, size_t err_len) {
    scaled_copy_model *m = model;
    if (!m) {
        fail(err, err_len, "scaled_copy: backward without a model");
        return 1;
    }
    for (size_t k = 0; k < m->count; k++)
        m->dx[k] = SCALE * m->grad_y[k];
    return 0;
}

static int scaled_copy_params(void *model, nnb_tensor_list *out, char *err, size_t err_len) {
    scaled_copy_model *m = model;
    if (!m || !out) {
        fail(err, err_len, "scaled_copy: params without a model or list");
        return 1;
    }
    out->count = 2;
    out->items = m->params;
    return 0;
}

static int scaled_copy_outputs(void *model, nnb_tensor_list *out, char *err, size_t err_len) {
    scaled_copy_model *m = model;
    if (!m || !out) {
        fail(err, err_len, "scaled_copy: outputs without a model or list");
        return 1;
    }
    out->count = 2;
    out->items = m->outputs;
    return 0;
}

/* What ran, as a JSON object (it lands in the full JSON results as runner_info). */
static int scaled_copy_describe(void *model, char *buf, size_t buf_len) {
    const scaled_copy_model *m = model;
    if (!m || !buf || !buf_len)
        return 1;
    int n = snprintf(buf, buf_len,
                     "{\"kernel\": \"scaled_copy\", \"scale\": %g, \"elements\": %zu, \"seed\": %llu, "
                     "\"plugin\": \"out-of-tree example\"}",
                     (double)SCALE, m->count, (unsigned long long)m->seed);
    return n < 0 || (size_t)n >= buf_len;
}

/* One multiply per element each way. */
static double scaled_copy_flops(void *model) {
    const scaled_copy_model *m = model;
    return m ? (double)m->count : 0.0;
}

static const nnb_runner_desc runners[] = {{
    .struct_size = sizeof(nnb_runner_desc),
    .name = "scaled_copy",
    .group = NNB_GROUP_RNNS,
    .device = NNB_DEVICE_CPU,
    .description = "out-of-tree example: y = 2x forward, dx = 2 grad_y backward over (seqLength, miniBatch, inputSize)",
    .reference = NULL,
    .flags = 0,
    .create = scaled_copy_create,
    .forward = scaled_copy_forward,
    .backward = scaled_copy_backward,
    .params = scaled_copy_params,
    .outputs = scaled_copy_outputs,
    .describe = scaled_copy_describe,
    .forward_flops = scaled_copy_flops,
    .backward_flops = scaled_copy_flops,
    .destroy = scaled_copy_destroy,
}};

static const nnb_plugin plugin = {
    .abi_major = NNB_ABI_MAJOR,
    .abi_minor = NNB_ABI_MINOR,
    .struct_size = sizeof(nnb_plugin),
    .name = "example_scaled_copy",
    .runner_count = (int)(sizeof runners / sizeof runners[0]),
    .runners = runners,
};

NNB_DEFINE_PLUGIN(plugin)
