/*
 * The hidden ResNet references resnet18_ref / resnet50_ref through their own plugin (nnb_cpu_resnet_ref),
 * which needs no oneDNN: descriptor flags, seeded inputs bit-identical to runners/common/resnet_init.h's,
 * FLOPs and tensor lists from the arch table, one training step that gives finite, non-zero gradients and
 * updated running statistics, the minimum-size error, and the common --fuser / --executor refusal.
 * Their values against finite differences: cnn_ref_should_match_finite_differences; the runners checked
 * against them: resnet_runners_should_match_reference (oneDNN), cuda_resnet_should_match_reference_on_gpu.
 */
#include "nnb_support.h"
#include "resnet_arch.h"
#include "resnet_init.h"
#include "test_support.h"

#include <stdlib.h>
#include <string.h>

static nnb_config small_config(int64_t n, int64_t s) {
    nnb_config cfg;
    nnb_config_defaults(&cfg);
    cfg.cnn_batch = n;
    cfg.image_size = s;
    cfg.threads = 2;
    cfg.seed = 13;
    return cfg;
}

static const nnb_tensor *find_tensor(nnb_tensor_list l, const char *name) {
    for (int i = 0; i < l.count; i++)
        if (!strcmp(l.items[i].name, name))
            return &l.items[i];
    return NULL;
}

static size_t count_of(const nnb_tensor *t) {
    size_t n = 1;
    for (int d = 0; d < t->ndim; d++)
        n *= (size_t)t->shape[d];
    return n;
}

/* params() hold exactly the seeded tensors of resnet_init.h. */
static void check_seeded_inputs(const char *name, const nnb_resnet_arch *a, nnb_tensor_list in, uint64_t seed) {
    float *params = NULL, *grads = NULL, *x = NULL, *gl = NULL, *logits = NULL, *dx = NULL;
    CHECK(nnb_resnet_alloc_host(a, seed, &params, &grads, &x, &gl, &logits, &dx) == 0);
    int mismatches = 0;
    if (params && x && gl) {
        const nnb_tensor *tx = find_tensor(in, "x"), *tg = find_tensor(in, "grad_logits");
        CHECK_MSG(tx && count_of(tx) == nnb_resnet_shape_count(a->acts[0]), "%s: x", name);
        CHECK_MSG(tg && count_of(tg) == (size_t)a->batch * NNB_RESNET_CLASSES, "%s: grad_logits", name);
        if (tx && count_of(tx) == nnb_resnet_shape_count(a->acts[0]))
            mismatches += memcmp(tx->data, x, count_of(tx) * sizeof(float)) != 0;
        if (tg && count_of(tg) == (size_t)a->batch * NNB_RESNET_CLASSES)
            mismatches += memcmp(tg->data, gl, count_of(tg) * sizeof(float)) != 0;
        for (int i = 0; i < a->num_params; i++) {
            const nnb_resnet_param *p = &a->params[i];
            if (!p->learnable)
                continue;
            const nnb_tensor *t = find_tensor(in, p->name);
            CHECK_MSG(t && count_of(t) == p->count, "%s: parameter %s", name, p->name);
            if (t && count_of(t) == p->count)
                mismatches += memcmp(t->data, params + p->offset, p->count * sizeof(float)) != 0;
        }
    }
    CHECK_MSG(mismatches == 0, "%s: %d input tensors differ from resnet_init.h's seeds", name, mismatches);
    nnb_free(params), nnb_free(grads), nnb_free(x), nnb_free(gl), nnb_free(logits), nnb_free(dx);
}

static void check_step(const nnb_registry *reg, const char *name) {
    const nnb_runner_desc *d = nnb_test_runner(reg, name);
    if (!d)
        return;
    CHECK(!strcmp(d->device, NNB_DEVICE_CPU) && !strcmp(d->group, NNB_GROUP_CNNS));
    CHECK(d->flags & NNB_FLAG_REFERENCE);
    CHECK(d->flags & NNB_FLAG_HIDDEN);
    CHECK(d->reference == NULL && d->backward != NULL);
    nnb_config cfg = small_config(2, 33);
    char err[512] = "";
    void *m = d->create(&cfg, err, sizeof err);
    CHECK_MSG(m != NULL, "%s create: %s", name, err);
    if (!m)
        return;
    nnb_resnet_arch a;
    CHECK(nnb_resnet_arch_build(&a, nnb_resnet_depth_from_name(name), cfg.cnn_batch, cfg.image_size, err, sizeof err) ==
          0);
    CHECK(d->forward_flops(m) == a.forward_flops && d->backward_flops(m) == 2 * a.forward_flops);
    char info[1024];
    CHECK(d->describe(m, info, sizeof info) == 0);
    printf("%s: %s\n", name, info);
    CHECK_STR_CONTAINS(info, "\"library\":\"plain C (kernels/cnn_ref)\"");
    CHECK_STR_CONTAINS(info, "\"precision\":\"double\"");

    int learnable = 0;
    for (int i = 0; i < a.num_params; i++)
        learnable += a.params[i].learnable;
    nnb_tensor_list in, out;
    CHECK(d->params(m, &in, err, sizeof err) == 0);
    CHECK_MSG(in.count == 2 + learnable, "%s: %d params", name, in.count);
    CHECK(in.count >= 3 && !strcmp(in.items[0].name, "x") && !strcmp(in.items[1].name, "grad_logits") &&
          !strcmp(in.items[2].name, "conv1.weight"));
    check_seeded_inputs(name, &a, in, cfg.seed);

    CHECK_MSG(nnb_run_once(d, m, 1, err, sizeof err) == 0, "%s: %s", name, err);
    CHECK(d->outputs(m, &out, err, sizeof err) == 0);
    CHECK_MSG(out.count == 2 + a.num_params, "%s: %d outputs", name, out.count);
    CHECK(out.count >= 2 && !strcmp(out.items[0].name, "logits") && !strcmp(out.items[1].name, "dx"));
    int bad = 0, zero = 0;
    for (int i = 0; i < out.count; i++) {
        const nnb_tensor *t = &out.items[i];
        const float *v = t->data;
        double sum2 = 0;
        for (size_t k = 0; k < count_of(t); k++) {
            bad += !isfinite(v[k]);
            sum2 += (double)v[k] * v[k];
        }
        if (t->name[0] == 'd' || !strcmp(t->name, "logits"))
            zero += sum2 == 0;
    }
    CHECK_MSG(bad == 0, "%s: %d non-finite output values", name, bad);
    CHECK_MSG(zero == 0, "%s: %d gradients or logits all zero", name, zero);
    const nnb_tensor *rv = find_tensor(out, "bn1.running_var");
    CHECK_MSG(rv != NULL, "%s: no bn1.running_var", name);
    if (rv) {
        int unchanged = 0;
        for (size_t k = 0; k < count_of(rv); k++)
            unchanged += ((const float *)rv->data)[k] == 1.0f;
        CHECK_MSG(unchanged < (int)count_of(rv), "%s: running_var not updated by the step", name);
    }
    nnb_resnet_arch_free(&a);
    d->destroy(m);

    cfg = small_config(1, 32);
    m = d->create(&cfg, err, sizeof err);
    CHECK(m == NULL);
    CHECK_STR_CONTAINS(err, "minimum is 33");
    d->destroy(m);

    cfg = small_config(2, 8);
    cfg.executor = "graph";
    m = d->create(&cfg, err, sizeof err);
    CHECK(m == NULL);
    char want[256];
    snprintf(want, sizeof want, "%s: --executor 'graph' is not supported by this runner (supported: eager)", name);
    CHECK_MSG(!strcmp(err, want), "%s: got \"%s\", want \"%s\"", name, err, want);
    d->destroy(m);
    cfg.executor = "eager";
    static const char *const fusers[] = {"te", "old", "none"}; /* fusion does not apply: all accepted */
    for (int f = 0; f < 3; f++) {
        cfg.fuser = fusers[f];
        m = d->create(&cfg, err, sizeof err);
        CHECK_MSG(m != NULL, "%s --fuser %s: %s", name, fusers[f], err);
        d->destroy(m);
    }
}

int main(void) {
    nnb_registry reg;
    nnb_test_load_runners(&reg);
    check_step(&reg, "resnet18_ref");
    check_step(&reg, "resnet50_ref");
    nnb_registry_free(&reg);
    return nnb_test_finish();
}
