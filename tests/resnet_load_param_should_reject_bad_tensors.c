/*
 * load_param (ABI 1.2) of every CPU ResNet runner built (the references always; resnet18, resnet18_jit,
 * resnet50, resnet50_jit with oneDNN), N=2, S=33:
 *   - refuses a wrong shape (conv1.weight (64, 3, 3, 3); bn1.running_mean (64, 1)) naming the tensor and both
 *     shapes, a wrong dtype (float64) naming both dtypes, an unknown name, and the inputs x and grad_logits,
 *     each with a message naming the tensor, and leaves the parameter as it was;
 *   - accepts a learnable parameter and a running statistic with the right shape: params() shows the new
 *     conv1.weight, outputs() after a training forward shows bn1.running_mean moved from the loaded values,
 *     and infer() runs with them.
 */
#include "resnet_arch.h"
#include "test_support.h"

#include <stdlib.h>
#include <string.h>

static const nnb_tensor *find(nnb_tensor_list l, const char *name) {
    for (int i = 0; i < l.count; i++)
        if (!strcmp(l.items[i].name, name))
            return &l.items[i];
    return NULL;
}

/* load_param must fail with a message containing every one of `want` (NULL-terminated). */
static void expect_refusal(const nnb_runner_desc *d, void *m, const nnb_tensor *v, const char *const *want) {
    char err[512] = "";
    int rc = d->load_param(m, v, err, sizeof err);
    CHECK_MSG(rc != 0, "%s: load_param '%s' accepted a bad tensor", d->name, v->name);
    printf("%s: %s\n", d->name, err);
    for (int i = 0; want[i]; i++)
        CHECK_STR_CONTAINS(err, want[i]);
}

static void check_refusals(const nnb_runner_desc *d, void *m, const float *data) {
    nnb_tensor v = {.name = "conv1.weight", .dtype = NNB_F32, .ndim = 4, .shape = {64, 3, 3, 3}, .data = data};
    expect_refusal(d, m, &v, (const char *const[]){"'conv1.weight'", "(64, 3, 3, 3)", "(64, 3, 7, 7)", NULL});
    v.shape[2] = v.shape[3] = 7;
    v.ndim = 3;
    expect_refusal(d, m, &v, (const char *const[]){"'conv1.weight'", "(64, 3, 7)", "(64, 3, 7, 7)", NULL});
    v.ndim = 4;
    v.dtype = NNB_F64;
    expect_refusal(d, m, &v, (const char *const[]){"'conv1.weight'", "float64", "float32", NULL});
    nnb_tensor rm = {.name = "bn1.running_mean", .dtype = NNB_F32, .ndim = 2, .shape = {64, 1}, .data = data};
    expect_refusal(d, m, &rm, (const char *const[]){"'bn1.running_mean'", "(64, 1)", "(64)", NULL});
    nnb_tensor unknown = {.name = "conv9.weight", .dtype = NNB_F32, .ndim = 1, .shape = {64}, .data = data};
    expect_refusal(d, m, &unknown, (const char *const[]){"'conv9.weight'", "no such parameter", NULL});
    nnb_tensor x = {.name = "x", .dtype = NNB_F32, .ndim = 4, .shape = {2, 3, 33, 33}, .data = data};
    expect_refusal(d, m, &x, (const char *const[]){"'x'", "not a loadable parameter", NULL});
    nnb_tensor g = {.name = "grad_logits", .dtype = NNB_F32, .ndim = 2, .shape = {2, 1000}, .data = data};
    expect_refusal(d, m, &g, (const char *const[]){"'grad_logits'", "not a loadable parameter", NULL});
}

static void check_runner(const nnb_registry *reg, const char *name) {
    const nnb_runner_desc *d = nnb_test_runner(reg, name);
    if (!d)
        return;
    CHECK_MSG(d->load_param != NULL && d->infer != NULL, "%s: no load_param / infer", name);
    if (!d->load_param || !d->infer)
        return;
    nnb_config cfg;
    nnb_config_defaults(&cfg);
    cfg.cnn_batch = 2, cfg.image_size = 33, cfg.threads = 2, cfg.seed = 3;
    char err[512] = "";
    void *m = d->create(&cfg, err, sizeof err);
    CHECK_MSG(m != NULL, "%s: %s", name, err);
    float *data = calloc(2 * 3 * 33 * 33 + 64 * 3 * 7 * 7, sizeof *data); /* big enough for every case above */
    float *orig = malloc(64 * 3 * 7 * 7 * sizeof *orig);
    nnb_tensor_list in, out;
    if (!m || !data || !orig || d->params(m, &in, err, sizeof err) || !find(in, "conv1.weight"))
        goto done;
    memcpy(orig, find(in, "conv1.weight")->data, 64 * 3 * 7 * 7 * sizeof *orig);
    check_refusals(d, m, data);
    CHECK(d->params(m, &in, err, sizeof err) == 0);
    CHECK_MSG(memcmp(find(in, "conv1.weight")->data, orig, 64 * 3 * 7 * 7 * sizeof *orig) == 0,
              "%s: a refused load_param changed conv1.weight", name);

    for (int i = 0; i < 64 * 3 * 7 * 7; i++)
        data[i] = 0.5f * orig[i];
    nnb_tensor w = {.name = "conv1.weight", .dtype = NNB_F32, .ndim = 4, .shape = {64, 3, 7, 7}, .data = data};
    CHECK_MSG(d->load_param(m, &w, err, sizeof err) == 0, "%s: load_param conv1.weight: %s", name, err);
    CHECK(d->params(m, &in, err, sizeof err) == 0);
    CHECK_MSG(memcmp(find(in, "conv1.weight")->data, data, 64 * 3 * 7 * 7 * sizeof *data) == 0,
              "%s: params() does not show the loaded conv1.weight", name);
    float mean[64];
    for (int c = 0; c < 64; c++)
        mean[c] = 0.25f;
    nnb_tensor rm = {.name = "bn1.running_mean", .dtype = NNB_F32, .ndim = 1, .shape = {64}, .data = mean};
    CHECK_MSG(d->load_param(m, &rm, err, sizeof err) == 0, "%s: load_param bn1.running_mean: %s", name, err);
    CHECK_MSG(d->infer(m, 2, err, sizeof err) == 0, "%s: infer(2): %s", name, err);
    CHECK(d->outputs(m, &out, err, sizeof err) == 0);
    const nnb_tensor *t = find(out, "bn1.running_mean");
    CHECK_MSG(t && memcmp(t->data, mean, sizeof mean) == 0, "%s: after infer bn1.running_mean is not the loaded one",
              name);
    CHECK_MSG(d->forward(m, err, sizeof err) == 0, "%s: forward: %s", name, err);
    CHECK(d->outputs(m, &out, err, sizeof err) == 0);
    t = find(out, "bn1.running_mean");
    int moved_from_loaded = 0;
    for (int c = 0; t && c < 64; c++) /* 0.9 * 0.25 + 0.1 * batch mean */
        moved_from_loaded += ((const float *)t->data)[c] != 0.25f && fabsf(((const float *)t->data)[c]) < 1e3f;
    CHECK_MSG(moved_from_loaded == 64, "%s: training forward did not update the loaded running mean (%d of 64)", name,
              moved_from_loaded);
done:
    free(data), free(orig);
    d->destroy(m);
}

/* --onednn (given by tests/resnet_infer.cmake when the oneDNN plugin is built): its runners too. */
int main(int argc, char **argv) {
    int with_onednn = argc > 1 && !strcmp(argv[1], "--onednn");
    nnb_registry reg;
    nnb_test_load_runners(&reg);
    check_runner(&reg, "resnet18_ref");
    check_runner(&reg, "resnet50_ref");
    static const char *const onednn[] = {"resnet18", "resnet18_jit", "resnet50", "resnet50_jit"};
    for (int i = 0; with_onednn && i < 4; i++)
        check_runner(&reg, onednn[i]);
    nnb_registry_free(&reg);
    return nnb_test_finish();
}
