/*
 * Test plugin "abi12": one runner, old_abi12 (rnns/cpu, hidden), built as a plugin of ABI 1.2 would be: plugin
 * minor 2, descriptor struct_size = offsetof(nnb_runner_desc, precisions), the size of the 1.2 layout. The
 * bytes past that size are not the plugin's (a 1.2 plugin's next descriptor, or anything), so here they hold
 * a bf16 bit the driver must never read: an old plugin is fp32-only. forward: y = 2x on x (2, 3) = 0..5.
 */
#include <nnbench/runner.h>

#include <stddef.h>
#include <stdlib.h>

typedef struct old_model {
    float x[6], y[6];
    nnb_tensor in[1], out[1];
} old_model;

static void view(nnb_tensor *t, const char *name, float *data) {
    *t = (nnb_tensor){.name = name, .dtype = NNB_F32, .ndim = 2, .shape = {2, 3}, .data = data};
}

static void *old_create(const nnb_config *cfg, char *err, size_t err_len) {
    (void)cfg, (void)err, (void)err_len;
    old_model *m = calloc(1, sizeof *m);
    for (int i = 0; m && i < 6; i++)
        m->x[i] = (float)i;
    if (m)
        view(&m->in[0], "x", m->x), view(&m->out[0], "y", m->y);
    return m;
}

static int old_forward(void *model, char *err, size_t err_len) {
    (void)err, (void)err_len;
    old_model *m = model;
    for (int i = 0; i < 6; i++)
        m->y[i] = 2 * m->x[i];
    return 0;
}

static int old_params(void *model, nnb_tensor_list *out, char *err, size_t err_len) {
    (void)err, (void)err_len;
    *out = (nnb_tensor_list){1, ((old_model *)model)->in};
    return 0;
}

static int old_outputs(void *model, nnb_tensor_list *out, char *err, size_t err_len) {
    (void)err, (void)err_len;
    *out = (nnb_tensor_list){1, ((old_model *)model)->out};
    return 0;
}

static void old_destroy(void *model) { free(model); }

static const nnb_runner_desc runners[] = {{
    .struct_size = offsetof(nnb_runner_desc, precisions), /* the ABI 1.2 layout ends here */
    .name = "old_abi12",
    .group = NNB_GROUP_RNNS,
    .device = NNB_DEVICE_CPU,
    .description = "built against ABI 1.2: computes in fp32 only",
    .flags = NNB_FLAG_HIDDEN,
    .create = old_create,
    .forward = old_forward,
    .params = old_params,
    .outputs = old_outputs,
    .destroy = old_destroy,
    .precisions = NNB_PRECISION_BIT(NNB_PRECISION_BF16), /* past struct_size: must be ignored */
}};

static const nnb_plugin plugin = {NNB_ABI_MAJOR, 2, sizeof(nnb_plugin), "abi12", 1, runners};

NNB_DEFINE_PLUGIN(plugin)
