#define _POSIX_C_SOURCE 199309L
/*
 * Test plugin "good": runners that do (almost) nothing, for measuring the
 * harness's own overhead and exercising the driver end to end.
 *   empty       rnns/cpu: forward and backward return at once
 *   empty_fwd   rnns/cpu: forward-only
 *   create_fails rnns/cpu, hidden: create() fails with a message
 *   forward_fails rnns/cpu, hidden: forward() fails on its third call
 *   fake_cuda   rnns/cuda, hidden: a CUDA runner (skipped without a device)
 *   empty_cnn   cnns/cpu, hidden: empty in the other group (runs of several groups, --ab across groups)
 *   spin        rnns/cpu, hidden: forward busy-waits --seqLength microseconds and backward twice that, so
 *               two sizes give a known time ratio (--ab spin spin@--seqLength=105: B/A = 1.05); infer(n)
 *               busy-waits --seqLength + n x --inputSize microseconds: a server with a known service time
 * Every runner has infer (ABI 1.2): empty's does nothing (the serving harness's own cost), forward_fails'
 * fails on its third call; infer(n) refuses n outside 1..--miniBatch.
 * params() gives x (2, 3) = 0..5; outputs() gives y = 2x and dx = 2.
 */
#include <nnbench/runner.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef struct empty_model {
    float x[6], y[6], dx[6];
    nnb_tensor params[1], outputs[2];
    int forward_calls, fail_forward_at, infer_calls;
    int64_t max_batch;      /* --miniBatch: infer's n at most */
    double spin_us;         /* spin: forward's busy-wait */
    double spin_per_sample; /* spin: infer's busy-wait per sample */
} empty_model;

static void view(nnb_tensor *t, const char *name, float *data) {
    memset(t, 0, sizeof *t);
    t->name = name;
    t->dtype = NNB_F32;
    t->ndim = 2;
    t->shape[0] = 2;
    t->shape[1] = 3;
    t->data = data;
}

static void *create_model(const nnb_config *cfg, char *err, size_t err_len, int fail_forward_at) {
    if (cfg->struct_size < sizeof(nnb_config)) {
        snprintf(err, err_len, "config too old");
        return NULL;
    }
    empty_model *m = calloc(1, sizeof *m);
    if (!m) {
        snprintf(err, err_len, "out of memory");
        return NULL;
    }
    for (int i = 0; i < 6; i++)
        m->x[i] = (float)i;
    view(&m->params[0], "x", m->x);
    view(&m->outputs[0], "y", m->y);
    view(&m->outputs[1], "dx", m->dx);
    m->fail_forward_at = fail_forward_at;
    m->max_batch = cfg->mini_batch;
    return m;
}

static void *empty_create(const nnb_config *cfg, char *err, size_t err_len) {
    return create_model(cfg, err, err_len, 0);
}
static void *failing_forward_create(const nnb_config *cfg, char *err, size_t err_len) {
    return create_model(cfg, err, err_len, 3);
}

static void *spin_create(const nnb_config *cfg, char *err, size_t err_len) {
    empty_model *m = create_model(cfg, err, err_len, 0);
    if (m) {
        m->spin_us = (double)cfg->seq_length;
        m->spin_per_sample = (double)cfg->input_size;
    }
    return m;
}

static double now_us(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec * 1e-3;
}

static void spin_for(double us) {
    for (double t0 = now_us(); now_us() - t0 < us;)
        ;
}

static int spin_forward(void *model, char *err, size_t err_len) {
    (void)err, (void)err_len;
    empty_model *m = model;
    spin_for(m->spin_us);
    return 0;
}

static int spin_backward(void *model, char *err, size_t err_len) {
    (void)err, (void)err_len;
    empty_model *m = model;
    spin_for(2 * m->spin_us);
    return 0;
}

static int check_n(empty_model *m, int64_t n, char *err, size_t err_len) {
    if (n < 1 || n > m->max_batch) {
        snprintf(err, err_len, "infer: n %lld outside 1..%lld", (long long)n, (long long)m->max_batch);
        return -1;
    }
    if (++m->infer_calls == m->fail_forward_at) {
        snprintf(err, err_len, "deliberate infer failure at call %d", m->infer_calls);
        return -1;
    }
    return 0;
}

static int empty_infer(void *model, int64_t n, char *err, size_t err_len) { return check_n(model, n, err, err_len); }

static int spin_infer(void *model, int64_t n, char *err, size_t err_len) {
    empty_model *m = model;
    if (check_n(m, n, err, err_len))
        return -1;
    spin_for(m->spin_us + (double)n * m->spin_per_sample);
    return 0;
}

static void *failing_create(const nnb_config *cfg, char *err, size_t err_len) {
    (void)cfg;
    snprintf(err, err_len, "deliberate create failure for the test");
    return NULL;
}

static int empty_forward(void *model, char *err, size_t err_len) {
    empty_model *m = model;
    if (++m->forward_calls == m->fail_forward_at) {
        snprintf(err, err_len, "deliberate forward failure at call %d", m->forward_calls);
        return -1;
    }
    for (int i = 0; i < 6; i++)
        m->y[i] = 2 * m->x[i];
    return 0;
}

static int empty_backward(void *model, char *err, size_t err_len) {
    (void)err, (void)err_len;
    empty_model *m = model;
    for (int i = 0; i < 6; i++)
        m->dx[i] = 2;
    return 0;
}

static int empty_params(void *model, nnb_tensor_list *out, char *err, size_t err_len) {
    (void)err, (void)err_len;
    empty_model *m = model;
    out->count = 1;
    out->items = m->params;
    return 0;
}

static int empty_outputs(void *model, nnb_tensor_list *out, char *err, size_t err_len) {
    (void)err, (void)err_len;
    empty_model *m = model;
    out->count = 2;
    out->items = m->outputs;
    return 0;
}

static int empty_describe(void *model, char *buf, size_t len) {
    (void)model;
    snprintf(buf, len, "{\"implementation\": \"does nothing\"}");
    return 0;
}

static double empty_flops(void *model) {
    (void)model;
    return 12.0;
}

static void empty_destroy(void *model) { free(model); }

#define RUNNER(NAME, GROUP, DEVICE, DESC, FLAGS, CREATE, BACKWARD)                                                     \
    RUNNER_FWD(NAME, GROUP, DEVICE, DESC, FLAGS, CREATE, empty_forward, BACKWARD, empty_infer)
#define RUNNER_FWD(NAME, GROUP, DEVICE, DESC, FLAGS, CREATE, FORWARD, BACKWARD, INFER)                                 \
    {                                                                                                                  \
        .struct_size = sizeof(nnb_runner_desc), .name = NAME, .group = GROUP, .device = DEVICE, .description = DESC,   \
        .flags = FLAGS, .create = CREATE, .forward = FORWARD, .backward = BACKWARD, .params = empty_params,            \
        .outputs = empty_outputs, .describe = empty_describe, .forward_flops = empty_flops,                            \
        .backward_flops = empty_flops, .destroy = empty_destroy, .infer = INFER                                        \
    }

static const nnb_runner_desc runners[] = {
    RUNNER("empty", NNB_GROUP_RNNS, NNB_DEVICE_CPU, "does nothing: measures the harness", 0, empty_create,
           empty_backward),
    RUNNER("empty_fwd", NNB_GROUP_RNNS, NNB_DEVICE_CPU, "does nothing, forward-only", 0, empty_create, NULL),
    RUNNER("create_fails", NNB_GROUP_RNNS, NNB_DEVICE_CPU, "create always fails", NNB_FLAG_HIDDEN, failing_create,
           empty_backward),
    RUNNER("forward_fails", NNB_GROUP_RNNS, NNB_DEVICE_CPU, "forward fails on its third call", NNB_FLAG_HIDDEN,
           failing_forward_create, empty_backward),
    RUNNER("fake_cuda", NNB_GROUP_RNNS, NNB_DEVICE_CUDA, "a CUDA runner that needs a device", NNB_FLAG_HIDDEN,
           empty_create, empty_backward),
    RUNNER("empty_cnn", NNB_GROUP_CNNS, NNB_DEVICE_CPU, "does nothing, in the cnns group", NNB_FLAG_HIDDEN,
           empty_create, empty_backward),
    RUNNER_FWD("spin", NNB_GROUP_RNNS, NNB_DEVICE_CPU, "busy-waits --seqLength us forward, twice that backward",
               NNB_FLAG_HIDDEN, spin_create, spin_forward, spin_backward, spin_infer),
};

static const nnb_plugin plugin = {
    NNB_ABI_MAJOR, NNB_ABI_MINOR, sizeof(nnb_plugin), "test_empty", (int)(sizeof runners / sizeof *runners), runners};

NNB_DEFINE_PLUGIN(plugin)
