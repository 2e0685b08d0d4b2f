/*
 * Test plugin "convs": fake_conv (convs/cpu), a convolution runner that computes nothing but counts every call, so
 * the driver's handling of the convs group can be checked exactly: the problem it passes (describe() echoes
 * nnb_config.conv, conv_dirs and conv_algo), and how often it calls forward, backward_setup, backward, each backward
 * part and zero_grad. Parts follow --conv-dir: bwd_d gives "bwd_data", bwd_w "bwd_weights", all both, fwd none.
 * destroy() appends the counts to the file $NNB_FAKE_CONV_COUNTS (when set), one "name count" per line, then "mb N".
 * infer(n) (serve, --ab) counts too; params() gives x (mb, ic, ih, iw) zeros, outputs() y (mb, oc, oh, ow) zeros.
 */
#include <nnbench/runner.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { C_FORWARD, C_SETUP, C_BACKWARD, C_PART0, C_PART1, C_ZERO_GRAD, C_INFER, C_COUNT };
static const char *const COUNT_NAMES[C_COUNT] = {"forward", "backward_setup", "backward", "part0",
                                                 "part1",   "zero_grad",      "infer"};

typedef struct fake_conv {
    nnb_conv_problem p;
    char name[128];
    uint32_t dirs;
    char algo[64];
    int parts[2], part_count; /* 0 bwd_data, 1 bwd_weights */
    long calls[C_COUNT];
    float *x, *y;
    nnb_tensor params[1], outputs[1];
} fake_conv;

static void *fake_create(const nnb_config *cfg, char *err, size_t err_len) {
    if (cfg->struct_size < sizeof(nnb_config) || !cfg->conv) {
        snprintf(err, err_len, "fake_conv: no convolution problem in the config");
        return NULL;
    }
    fake_conv *m = calloc(1, sizeof *m);
    if (!m)
        return NULL;
    m->p = *cfg->conv;
    snprintf(m->name, sizeof m->name, "%s", cfg->conv->name ? cfg->conv->name : "");
    m->dirs = cfg->conv_dirs;
    snprintf(m->algo, sizeof m->algo, "%s", cfg->conv_algo ? cfg->conv_algo : "(null)");
    if (m->dirs & NNB_CONV_DIR_BWD_D)
        m->parts[m->part_count++] = 0;
    if (m->dirs & NNB_CONV_DIR_BWD_W)
        m->parts[m->part_count++] = 1;
    int64_t xs[4] = {m->p.mb, m->p.ic, m->p.ih, m->p.iw}, ys[4] = {m->p.mb, m->p.oc, m->p.oh, m->p.ow};
    m->x = calloc((size_t)(xs[0] * xs[1] * xs[2] * xs[3]), sizeof(float));
    m->y = calloc((size_t)(ys[0] * ys[1] * ys[2] * ys[3]), sizeof(float));
    nnb_tensor *t[2] = {&m->params[0], &m->outputs[0]};
    const int64_t *shape[2] = {xs, ys};
    for (int i = 0; i < 2; i++) {
        t[i]->name = i ? "y" : "x";
        t[i]->dtype = NNB_F32;
        t[i]->ndim = 4;
        memcpy(t[i]->shape, shape[i], sizeof xs);
        t[i]->data = i ? m->y : m->x;
    }
    return m;
}

static int count(void *model, int which) {
    ((fake_conv *)model)->calls[which]++;
    return 0;
}
static int fake_forward(void *m, char *e, size_t l) { return (void)e, (void)l, count(m, C_FORWARD); }
static int fake_setup(void *m, char *e, size_t l) { return (void)e, (void)l, count(m, C_SETUP); }
static int fake_backward(void *m, char *e, size_t l) { return (void)e, (void)l, count(m, C_BACKWARD); }
static int fake_zero_grad(void *m, char *e, size_t l) { return (void)e, (void)l, count(m, C_ZERO_GRAD); }
static int fake_infer(void *m, int64_t n, char *e, size_t l) {
    if (n < 1 || n > ((fake_conv *)m)->p.mb) {
        snprintf(e, l, "fake_conv: infer n=%lld outside 1..mb", (long long)n);
        return -1;
    }
    return count(m, C_INFER);
}

static int fake_part_count(void *model) { return ((fake_conv *)model)->part_count; }
static const char *fake_part_name(void *model, int part) {
    fake_conv *m = model;
    return part < 0 || part >= m->part_count ? NULL : m->parts[part] ? "bwd_weights" : "bwd_data";
}
static int fake_part(void *model, int part, char *err, size_t err_len) {
    fake_conv *m = model;
    if (part < 0 || part >= m->part_count) {
        snprintf(err, err_len, "fake_conv: no part %d", part);
        return -1;
    }
    return count(m, C_PART0 + part);
}

static int fake_params(void *m, nnb_tensor_list *out, char *e, size_t l) {
    (void)e, (void)l;
    *out = (nnb_tensor_list){1, ((fake_conv *)m)->params};
    return 0;
}
static int fake_outputs(void *m, nnb_tensor_list *out, char *e, size_t l) {
    (void)e, (void)l;
    *out = (nnb_tensor_list){1, ((fake_conv *)m)->outputs};
    return 0;
}

/* The problem exactly as the driver passed it. */
static int fake_describe(void *model, char *buf, size_t len) {
    fake_conv *m = model;
    const nnb_conv_problem *p = &m->p;
    snprintf(buf, len,
             "{\"ndims\": %d, \"g\": %lld, \"mb\": %lld, \"ic\": %lld, \"oc\": %lld, \"ih\": %lld, \"iw\": %lld, "
             "\"oh\": %lld, \"ow\": %lld, \"kh\": %lld, \"sh\": %lld, \"ph\": %lld, \"dh\": %lld, \"has_bias\": %d, "
             "\"name\": \"%s\", \"dirs\": %u, \"algo\": \"%s\"}",
             p->ndims, (long long)p->g, (long long)p->mb, (long long)p->ic, (long long)p->oc, (long long)p->ih,
             (long long)p->iw, (long long)p->oh, (long long)p->ow, (long long)p->kh, (long long)p->sh, (long long)p->ph,
             (long long)p->dh, p->has_bias, m->name, m->dirs, m->algo);
    return 0;
}

static double fake_flops(void *model) {
    const nnb_conv_problem *p = &((fake_conv *)model)->p;
    return 2.0 * (double)(p->mb * p->oc * p->oh * p->ow) * (double)(p->ic / p->g * p->kh * p->kw);
}

static void fake_destroy(void *model) {
    fake_conv *m = model;
    if (!m)
        return;
    const char *path = getenv("NNB_FAKE_CONV_COUNTS");
    FILE *f = path ? fopen(path, "a") : NULL;
    for (int i = 0; f && i < C_COUNT; i++)
        fprintf(f, "%s %ld\n", COUNT_NAMES[i], m->calls[i]);
    if (f)
        fprintf(f, "mb %lld\n", (long long)m->p.mb);
    if (f)
        fclose(f);
    free(m->x);
    free(m->y);
    free(m);
}

static const nnb_runner_desc runners[] = {{
    .struct_size = sizeof(nnb_runner_desc),
    .name = "fake_conv",
    .group = NNB_GROUP_CONVS,
    .device = NNB_DEVICE_CPU,
    .description = "counts the driver's calls (tests)",
    .create = fake_create,
    .forward = fake_forward,
    .backward_setup = fake_setup,
    .backward = fake_backward,
    .zero_grad = fake_zero_grad,
    .params = fake_params,
    .outputs = fake_outputs,
    .describe = fake_describe,
    .forward_flops = fake_flops,
    .backward_flops = fake_flops,
    .destroy = fake_destroy,
    .infer = fake_infer,
    .backward_part_count = fake_part_count,
    .backward_part_name = fake_part_name,
    .backward_part = fake_part,
}};

static const nnb_plugin plugin = {NNB_ABI_MAJOR, NNB_ABI_MINOR, sizeof(nnb_plugin), "test_convs", 1, runners};
NNB_DEFINE_PLUGIN(plugin)
