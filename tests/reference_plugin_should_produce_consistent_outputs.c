/*
 * The nnb_cpu_reference plugin, loaded through the registry like the driver does:
 * runners py and vl_py must declare themselves as references, take their data
 * from nnb_lstm_data (parameters bit-identical to a freshly built set), and give
 * exactly the outputs of the float core run directly on that set. Exact equality
 * is expected: the core's sums run in a fixed order whatever the thread count
 * (the plugin runs on 2 threads here, the direct core call on the default).
 * Also: running forward+backward twice gives the same results (gradients are
 * overwritten, not accumulated), 1 and 2 threads give bit-identical results on
 * sizes that take the parallel paths, vl_py's lengths are in 30..99 with
 * T = max, and its y is zero past each length.
 */
#include "lstm_data.h"
#include "lstm_ref.h"
#include "test_support.h"

#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>

static const nnb_tensor *find(const nnb_tensor_list *l, const char *name) {
    for (int i = 0; i < l->count; i++)
        if (!strcmp(l->items[i].name, name))
            return &l->items[i];
    return NULL;
}

static size_t bytes_of(const nnb_tensor *t) {
    size_t n = t->dtype == NNB_F32 || t->dtype == NNB_I32 ? 4 : 8;
    for (int i = 0; i < t->ndim; i++)
        n *= (size_t)t->shape[i];
    return n;
}

/* Copies of a model's outputs, to compare two runs. */
typedef struct snapshot {
    int count;
    void *data[64];
} snapshot;

static void take_snapshot(snapshot *s, const nnb_tensor_list *l) {
    s->count = l->count < 64 ? l->count : 64;
    for (int i = 0; i < s->count; i++) {
        s->data[i] = malloc(bytes_of(&l->items[i]));
        memcpy(s->data[i], l->items[i].data, bytes_of(&l->items[i]));
    }
}

static void free_snapshot(snapshot *s) {
    for (int i = 0; i < s->count; i++)
        free(s->data[i]);
}

static int run_forward_backward(const nnb_runner_desc *d, void *model) {
    char err[256] = "";
    int rc = d->forward(model, err, sizeof err);
    CHECK_MSG(rc == 0, "%s forward: %s", d->name, err);
    if (!rc)
        rc = d->backward(model, err, sizeof err);
    CHECK_MSG(rc == 0, "%s backward: %s", d->name, err);
    return rc;
}

/* The float core on a freshly built nnb_lstm_data of the same config. */
static void run_core(nnb_lstm_data *data) {
    nnb_ref_lstm_f m;
    char err[256] = "";
    CHECK_MSG(nnb_ref_lstm_init_f(&m, data->T, data->B, data->I, data->H, data->L, data->lengths, err, sizeof err) == 0,
              "%s", err);
    nnb_ref_lstm_params_f p = {data->w_ih, data->w_hh, data->b_ih, data->b_hh};
    nnb_ref_lstm_grads_f g = {data->dw_ih, data->dw_hh, data->db_ih, data->db_hh};
    nnb_ref_lstm_forward_f(&m, &p, data->x, data->hx, data->cx, data->y, data->hy, data->cy);
    CHECK(nnb_ref_lstm_backward_f(&m, &p, data->x, data->grad_y, data->dx, data->dhx, data->dcx, &g) == 0);
    nnb_ref_lstm_free_f(&m);
}

static void check_variable_length_layout(const nnb_lstm_data *data, const nnb_tensor *y) {
    int64_t max_len = 0;
    int in_range = 1;
    for (int64_t b = 0; b < data->B; b++) {
        in_range &= data->lengths[b] >= 30 && data->lengths[b] <= 99;
        if (data->lengths[b] > max_len)
            max_len = data->lengths[b];
    }
    CHECK_MSG(in_range, "vl_py lengths outside 30..99");
    CHECK_MSG(y->shape[0] == max_len, "vl_py T = %lld, max length %lld", (long long)y->shape[0], (long long)max_len);
    const float *yd = (const float *)y->data;
    const int64_t B = data->B, H = data->H;
    int64_t nonzero_past = 0, zero_rows_within = 0;
    for (int64_t t = 0; t < y->shape[0]; t++)
        for (int64_t b = 0; b < B; b++) {
            int all_zero = 1;
            for (int64_t j = 0; j < H; j++)
                all_zero &= yd[(t * B + b) * H + j] == 0.0f;
            if (t >= data->lengths[b])
                nonzero_past += !all_zero;
            else
                zero_rows_within += all_zero;
        }
    CHECK_MSG(nonzero_past == 0, "vl_py y non-zero at %lld steps past their length", (long long)nonzero_past);
    CHECK_MSG(zero_rows_within == 0, "vl_py y all zero at %lld existing steps", (long long)zero_rows_within);
}

static void check_runner(const nnb_runner_desc *d, const char *group, int variable, const nnb_config *cfg) {
    CHECK_MSG(!strcmp(d->group, group), "%s group %s, want %s", d->name, d->group, group);
    CHECK_MSG(!strcmp(d->device, NNB_DEVICE_CPU), "%s device %s", d->name, d->device);
    CHECK_MSG(d->flags & NNB_FLAG_REFERENCE, "%s lacks NNB_FLAG_REFERENCE", d->name);
    CHECK_MSG(d->backward && d->describe && d->forward_flops && d->backward_flops, "%s lacks an entry", d->name);
    d->destroy(NULL);

    char err[256] = "";
    void *model = d->create(cfg, err, sizeof err);
    CHECK_MSG(model != NULL, "%s create: %s", d->name, err);
    if (!model)
        return;

    nnb_lstm_data data;
    CHECK_MSG(nnb_lstm_data_init(&data, cfg, variable, 0, err, sizeof err) == 0, "%s", err);
    nnb_tensor_list params, outputs, mine_params = nnb_lstm_data_params(&data), mine = nnb_lstm_data_outputs(&data);
    CHECK(d->params(model, &params, err, sizeof err) == 0);
    CHECK_MSG(nnb_compare_params(&mine_params, &params, err, sizeof err) == 0, "%s params: %s", d->name, err);
    CHECK_MSG(params.count == mine_params.count, "%s: %d params, want %d", d->name, params.count, mine_params.count);

    run_core(&data);
    if (run_forward_backward(d, model) == 0) {
        CHECK(d->outputs(model, &outputs, err, sizeof err) == 0);
        CHECK_MSG(outputs.count == mine.count, "%s: %d outputs, want %d", d->name, outputs.count, mine.count);
        snapshot first;
        take_snapshot(&first, &outputs);
        for (int i = 0; i < mine.count; i++) {
            const nnb_tensor *want = &mine.items[i], *got = find(&outputs, want->name);
            CHECK_MSG(got != NULL, "%s: no output %s", d->name, want->name);
            if (!got)
                continue;
            int same_shape = got->ndim == want->ndim && got->dtype == want->dtype &&
                             !memcmp(got->shape, want->shape, sizeof got->shape[0] * (size_t)got->ndim);
            CHECK_MSG(same_shape, "%s %s: shape differs from nnb_lstm_data's", d->name, want->name);
            CHECK_MSG(same_shape && !memcmp(got->data, want->data, bytes_of(want)),
                      "%s %s differs from the core's result", d->name, want->name);
        }
        if (variable)
            check_variable_length_layout(&data, find(&outputs, "y"));

        /* Again: same results, not accumulated gradients. */
        if (run_forward_backward(d, model) == 0) {
            CHECK(d->outputs(model, &outputs, err, sizeof err) == 0);
            for (int i = 0; i < first.count && i < outputs.count; i++)
                CHECK_MSG(!memcmp(first.data[i], outputs.items[i].data, bytes_of(&outputs.items[i])),
                          "%s %s changed on a second forward+backward", d->name, outputs.items[i].name);
        }
        free_snapshot(&first);
    }

    char info[1024] = "";
    CHECK(d->describe(model, info, sizeof info) == 0);
    cJSON *j = cJSON_Parse(info);
    CHECK_MSG(j && cJSON_IsString(cJSON_GetObjectItemCaseSensitive(j, "implementation")),
              "%s describe() is not a JSON object with \"implementation\": %s", d->name, info);
    cJSON_Delete(j);
    CHECK_MSG(d->forward_flops(model) == nnb_lstm_forward_flops(&data) && d->forward_flops(model) > 0,
              "%s forward flops %g", d->name, d->forward_flops(model));
    CHECK_MSG(d->backward_flops(model) == nnb_lstm_backward_flops(&data), "%s backward flops", d->name);

    nnb_lstm_data_free(&data);
    d->destroy(model);

    /* A config it cannot build gives a one-line error, not a model. */
    nnb_config bad = *cfg;
    bad.hidden_size = 0;
    err[0] = 0;
    void *none = d->create(&bad, err, sizeof err);
    CHECK_MSG(none == NULL && err[0] != 0, "%s create with hidden_size 0 should fail with a message", d->name);
    d->destroy(none);
}

/* Outputs of a forward+backward on the given thread count (a snapshot the caller frees). */
static int outputs_on_threads(const nnb_runner_desc *d, nnb_config cfg, int threads, snapshot *s) {
    char err[256] = "";
    cfg.threads = threads;
    void *model = d->create(&cfg, err, sizeof err);
    CHECK_MSG(model != NULL, "%s create: %s", d->name, err);
    nnb_tensor_list outputs;
    int rc = !model || run_forward_backward(d, model) || d->outputs(model, &outputs, err, sizeof err);
    if (!rc)
        take_snapshot(s, &outputs);
    d->destroy(model);
    return rc;
}

/* Sums run in a fixed order, so sizes big enough for the parallel paths give bit-identical results on 1 and 2
 * threads. */
static void check_thread_count_does_not_change_results(const nnb_runner_desc *d, const nnb_config *cfg) {
    snapshot one, two;
    if (outputs_on_threads(d, *cfg, 1, &one))
        return;
    if (outputs_on_threads(d, *cfg, 2, &two) == 0) {
        int differing = 0;
        nnb_lstm_data data;
        char err[256];
        CHECK_MSG(nnb_lstm_data_init(&data, cfg, 0, 0, err, sizeof err) == 0, "%s", err);
        nnb_tensor_list outputs = nnb_lstm_data_outputs(&data);
        for (int i = 0; i < one.count && i < outputs.count; i++)
            differing += memcmp(one.data[i], two.data[i], bytes_of(&outputs.items[i])) != 0;
        CHECK_MSG(one.count == two.count && differing == 0, "%s: %d outputs differ between 1 and 2 threads", d->name,
                  differing);
        nnb_lstm_data_free(&data);
        free_snapshot(&two);
    }
    free_snapshot(&one);
}

int main(void) {
    nnb_registry reg;
    nnb_test_load_runners(&reg);
    const nnb_runner_desc *py = nnb_test_runner(&reg, "py"), *vl_py = nnb_test_runner(&reg, "vl_py");

    nnb_config cfg;
    nnb_config_defaults(&cfg);
    cfg.seq_length = 6, cfg.mini_batch = 5, cfg.input_size = 7, cfg.hidden_size = 9, cfg.num_layers = 2;
    cfg.seed = 11, cfg.threads = 2;
    if (py)
        check_runner(py, NNB_GROUP_RNNS, 0, &cfg);

    nnb_config wide = cfg;
    wide.seq_length = 4, wide.mini_batch = 64, wide.input_size = 64, wide.hidden_size = 64;
    if (py)
        check_thread_count_does_not_change_results(py, &wide);

    cfg.mini_batch = 4, cfg.input_size = 5, cfg.hidden_size = 6, cfg.num_layers = 2, cfg.seed = 12;
    if (vl_py)
        check_runner(vl_py, NNB_GROUP_VL_RNNS, 1, &cfg);

    nnb_registry_free(&reg);
    return nnb_test_finish();
}
