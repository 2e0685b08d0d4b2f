/*
 * The oneDNN runners are timed over many iterations of zero_grad, forward, backward on one
 * model. Every iteration must give the first iteration's results: oneDNN's LSTM backward
 * accumulates into its weight gradients (checked here: without zero_grad they double), so
 * zero_grad must clear them; the variable-length plan's carried state buffers must not leak
 * from one iteration into the next. describe() must be a JSON object naming the library version
 * and the implementations that ran and the data type it computed in; an executor other than eager must be
 * refused at create. All of it in fp32 and, where the CPU has avx512_bf16 or AMX, in bf16.
 */
#include "nnb_precision.h"
#include "test_support.h"

#include <cjson/cJSON.h>
#include <oneapi/dnnl/dnnl.h>
#include <stdlib.h>
#include <string.h>

typedef struct snapshot {
    int count;
    char names[64][32];
    float *data[64];
    int64_t n[64];
} snapshot;

static int64_t numel(const nnb_tensor *t) {
    int64_t n = 1;
    for (int d = 0; d < t->ndim; d++)
        n *= t->shape[d];
    return n;
}

static void take(snapshot *s, const nnb_tensor_list *l) {
    s->count = l->count < 64 ? l->count : 64;
    for (int i = 0; i < s->count; i++) {
        snprintf(s->names[i], sizeof s->names[i], "%s", l->items[i].name);
        s->n[i] = numel(&l->items[i]);
        s->data[i] = (float *)malloc(sizeof(float) * (size_t)s->n[i]);
        memcpy(s->data[i], l->items[i].data, sizeof(float) * (size_t)s->n[i]);
    }
}

static void drop(snapshot *s) {
    for (int i = 0; i < s->count; i++)
        free(s->data[i]);
}

/* max |b - scale * a| relative to max |a| */
static double rel_diff(const float *a, const float *b, int64_t n, double scale) {
    double m = 0, e = 0;
    for (int64_t i = 0; i < n; i++) {
        double d = fabs((double)b[i] - scale * (double)a[i]);
        if (!(d <= e))
            e = d;
        if (fabs(a[i]) > m)
            m = fabs(a[i]);
    }
    return e / (m > 1e-30 ? m : 1e-30);
}

static void check_describe(const nnb_runner_desc *d, void *model, int precision) {
    char buf[8192];
    CHECK_MSG(d->describe(model, buf, sizeof buf) == 0, "%s describe() failed or truncated", d->name);
    printf("%s describe: %s\n", d->name, buf);
    cJSON *j = cJSON_Parse(buf);
    CHECK_MSG(j && cJSON_IsObject(j), "%s describe() is not a JSON object", d->name);
    if (!j)
        return;
    char version[32];
    const dnnl_version_t *v = dnnl_version();
    snprintf(version, sizeof version, "%d.%d.%d", v->major, v->minor, v->patch);
    const cJSON *ver = cJSON_GetObjectItemCaseSensitive(j, "version");
    CHECK_MSG(cJSON_IsString(ver) && !strcmp(ver->valuestring, version), "%s describe() version is not %s", d->name,
              version);
    const cJSON *impl = cJSON_GetObjectItemCaseSensitive(j, "forward_impl");
    CHECK_MSG(cJSON_IsString(impl) && strcmp(impl->valuestring, "?") != 0, "%s describe() lacks forward_impl", d->name);
    if (d->backward) {
        impl = cJSON_GetObjectItemCaseSensitive(j, "backward_impl");
        CHECK_MSG(cJSON_IsString(impl) && strcmp(impl->valuestring, "?") != 0, "%s describe() lacks backward_impl",
                  d->name);
    }
    const char *want_dt = precision == NNB_PRECISION_BF16 ? "bf16" : "f32";
    const cJSON *dt = cJSON_GetObjectItemCaseSensitive(j, "data_type");
    CHECK_MSG(cJSON_IsString(dt) && !strcmp(dt->valuestring, want_dt), "%s describe() data_type is not %s", d->name,
              want_dt);
    const cJSON *prec = cJSON_GetObjectItemCaseSensitive(j, "precision");
    CHECK_MSG(cJSON_IsString(prec) && !strcmp(prec->valuestring, nnb_precision_name(precision)),
              "%s describe() precision is not %s", d->name, nnb_precision_name(precision));
    /* create() is timed once, by the driver (runner.create_ms in the full JSON), not again by each runner. */
    CHECK_MSG(!cJSON_GetObjectItemCaseSensitive(j, "create_ms"), "%s describe() times create() itself", d->name);
    cJSON_Delete(j);
}

static void check_repeats(const nnb_registry *reg, const char *name, const nnb_config *cfg) {
    const nnb_runner_desc *d = nnb_test_runner(reg, name);
    if (!d)
        return;
    char err[512] = "";
    void *model = d->create(cfg, err, sizeof err);
    CHECK_MSG(model != NULL, "%s create: %s", name, err);
    if (!model)
        return;
    nnb_tensor_list outs;
    snapshot first, again;
    CHECK_MSG(nnb_run_once(d, model, 1, err, sizeof err) == 0 && d->outputs(model, &outs, err, sizeof err) == 0,
              "%s: %s", name, err);
    take(&first, &outs);
    for (int it = 0; it < 2; it++) /* later iterations, as the driver times them */
        CHECK_MSG(nnb_run_once(d, model, 1, err, sizeof err) == 0, "%s: %s", name, err);
    CHECK(d->outputs(model, &outs, err, sizeof err) == 0);
    take(&again, &outs);
    for (int i = 0; i < first.count; i++) {
        double e = rel_diff(first.data[i], again.data[i], first.n[i], 1.0);
        CHECK_MSG(e <= 1e-6, "%s: %s changes between iterations (rel %.3g)", name, first.names[i], e);
    }
    drop(&again);

    if (d->backward) { /* the library accumulates weight gradients: a second backward without zero_grad doubles them */
        CHECK(d->backward_setup == NULL || d->backward_setup(model, err, sizeof err) == 0);
        CHECK_MSG(d->backward(model, err, sizeof err) == 0, "%s: %s", name, err);
        CHECK(d->outputs(model, &outs, err, sizeof err) == 0);
        take(&again, &outs);
        for (int i = 0; i < first.count; i++) {
            int is_weight_grad = !strncmp(first.names[i], "dw_", 3) || !strncmp(first.names[i], "db_", 3);
            double e = rel_diff(first.data[i], again.data[i], first.n[i], is_weight_grad ? 2.0 : 1.0);
            CHECK_MSG(e <= 1e-5, "%s: %s after a second backward is not %s the first (rel %.3g)", name, first.names[i],
                      is_weight_grad ? "twice" : "equal to", e);
        }
        drop(&again);
    }
    drop(&first);
    check_describe(d, model, cfg->precision);
    d->destroy(model);
}

int main(void) {
    nnb_registry reg;
    nnb_test_load_runners(&reg);
    nnb_config c;
    nnb_config_defaults(&c);
    c.seq_length = 5, c.mini_batch = 4, c.input_size = 6, c.hidden_size = 10, c.num_layers = 2, c.seed = 3;
    char why[256];
    const int bf16_here = nnb_cpu_precision_available(NNB_PRECISION_BF16, why, sizeof why);
    for (int p = NNB_PRECISION_FP32; p <= NNB_PRECISION_BF16; p += NNB_PRECISION_BF16 - NNB_PRECISION_FP32) {
        if (p == NNB_PRECISION_BF16 && !bf16_here) {
            printf("bf16 not repeated: %s\n", why);
            break;
        }
        c.precision = p;
        check_repeats(&reg, "cudnn", &c);
        check_repeats(&reg, "cudnn_dropout", &c);
        check_repeats(&reg, "cudnn_layernorm", &c);
        check_repeats(&reg, "vl_cudnn", &c);
    }
    c.precision = NNB_PRECISION_FP32;

    /* a setting the library cannot honour is a create error, never silently ignored */
    const nnb_runner_desc *d = nnb_test_runner(&reg, "cudnn");
    if (d) {
        char err[512] = "";
        c.executor = "graph";
        void *model = d->create(&c, err, sizeof err);
        CHECK_MSG(model == NULL, "cudnn accepted executor 'graph'");
        CHECK_STR_CONTAINS(err, "cudnn: --executor 'graph' is not supported by this runner (supported: eager)");
        if (model)
            d->destroy(model);
    }
    nnb_registry_free(&reg);
    return nnb_test_finish();
}
