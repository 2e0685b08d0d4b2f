/*
 * The fast variant runners (jit_layernorm, jit_layernorm_decom, jit_dropout)
 * match their plain references (py_layernorm, py_dropout) under every fuser, on
 * awkward sizes: H not a multiple of 16 (remainders of the 16-lane loops), B = 1,
 * T = 1, I != H, numLayers 1 and 3, 1 and 2 threads. jit_dropout with numLayers 1
 * also matches the plain LSTM reference py (runners/cpu/reference), and with
 * numLayers 2 it must differ from py (the dropout is really applied). The same
 * checks run on a test-only build with OpenMP in the runners' own passes.
 *
 * Tolerance: nnb_default_tolerance (normwise relative, max(1e-4, 8 eps sqrt(K)),
 * K = (I + H) T L): both sides are float with different summation orders.
 */
#define _POSIX_C_SOURCE 200809L /* setenv */
#include "test_support.h"

#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>

typedef struct sizes {
    int64_t T, B, I, H, L;
    int threads;
} sizes;

static const sizes cases[] = {
    {5, 3, 7, 13, 1, 1},  /* I != H, H < 16 */
    {1, 1, 5, 9, 3, 2},   /* T = 1, B = 1, three layers */
    {4, 1, 19, 37, 3, 1}, /* B = 1, 4H = 148 and H = 37: lane remainders */
    {6, 5, 40, 21, 2, 2}, /* I > H, two threads */
    {3, 2, 16, 32, 1, 2}, /* multiples of 16 */
};

static nnb_config make_config(const sizes *s, const char *fuser) {
    nnb_config cfg;
    nnb_config_defaults(&cfg);
    cfg.seq_length = s->T, cfg.mini_batch = s->B, cfg.input_size = s->I, cfg.hidden_size = s->H;
    cfg.num_layers = s->L, cfg.threads = s->threads, cfg.seed = 11;
    cfg.fuser = fuser;
    return cfg;
}

static void check_descriptors(const nnb_registry *reg) {
    static const char *const pairs[][2] = {
        {"jit_layernorm", "py_layernorm"}, {"jit_layernorm_decom", "py_layernorm"}, {"jit_dropout", "py_dropout"}};
    for (size_t i = 0; i < sizeof pairs / sizeof *pairs; i++) {
        const nnb_runner_desc *d = nnb_test_runner(reg, pairs[i][0]), *r = nnb_test_runner(reg, pairs[i][1]);
        if (!d || !r)
            continue;
        CHECK_MSG(d->reference && !strcmp(d->reference, pairs[i][1]), "%s should name %s as its reference", d->name,
                  pairs[i][1]);
        /* fastrnns leaves the LayerNorm and dropout LSTMs out of its default run: they run when named. */
        CHECK_MSG(d->flags & NNB_FLAG_HIDDEN, "%s should run only when named", d->name);
        CHECK_MSG(!strncmp(d->name, "jit_layernorm", 13) == (d->check_tolerance != NULL),
                  "%s: a check tolerance only for the LayerNorm runners", d->name);
        CHECK_MSG((r->flags & (NNB_FLAG_REFERENCE | NNB_FLAG_HIDDEN)) == (NNB_FLAG_REFERENCE | NNB_FLAG_HIDDEN),
                  "%s should be flagged reference and hidden", r->name);
    }
}

/* describe() is JSON and says what ran. */
static void check_describe(const nnb_registry *reg, const char *name, const char *fuser, const char *expect_cell) {
    const nnb_runner_desc *d = nnb_test_runner(reg, name);
    if (!d)
        return;
    nnb_config cfg = make_config(&cases[0], fuser);
    char err[512] = "", buf[4096] = "";
    void *m = d->create(&cfg, err, sizeof err);
    CHECK_MSG(m != NULL, "%s create: %s", name, err);
    if (!m)
        return;
    CHECK_MSG(d->describe(m, buf, sizeof buf) == 0, "%s describe failed", name);
    cJSON *j = cJSON_Parse(buf);
    CHECK_MSG(j != NULL, "%s describe is not JSON: %s", name, buf);
    const cJSON *cell = cJSON_GetObjectItemCaseSensitive(j, "cell");
    const cJSON *core = cJSON_GetObjectItemCaseSensitive(j, "blas_core");
    const cJSON *fz = cJSON_GetObjectItemCaseSensitive(j, "fuser");
    CHECK_MSG(cJSON_IsString(cell) && strstr(cell->valuestring, expect_cell), "%s cell should say '%s': %s", name,
              expect_cell, buf);
    CHECK_MSG(cJSON_IsString(core) && core->valuestring[0], "%s should name the BLAS core: %s", name, buf);
    CHECK_MSG(cJSON_IsString(fz) && !strcmp(fz->valuestring, fuser), "%s should report fuser %s: %s", name, fuser, buf);
    double fwd = d->forward_flops(m), expect = 0;
    for (int64_t k = 0; k < cfg.num_layers; k++)
        expect += 2.0 * cfg.seq_length * cfg.mini_batch * 4.0 * cfg.hidden_size *
                  ((k == 0 ? cfg.input_size : cfg.hidden_size) + cfg.hidden_size);
    CHECK_MSG(fwd == expect && d->backward_flops(m) == 2 * expect, "%s flops %g, expected %g", name, fwd, expect);
    cJSON_Delete(j);
    d->destroy(m);
}

/* Largest |a - b| between a tensor of two models' outputs. */
static double output_difference(const nnb_runner_desc *a, const nnb_runner_desc *b, const nnb_config *cfg,
                                const char *tensor) {
    char err[512] = "";
    void *ma = a->create(cfg, err, sizeof err), *mb = b->create(cfg, err, sizeof err);
    double worst = -1;
    if (ma && mb && !nnb_run_once(a, ma, 0, err, sizeof err) && !nnb_run_once(b, mb, 0, err, sizeof err)) {
        nnb_tensor_list la, lb;
        a->outputs(ma, &la, err, sizeof err);
        b->outputs(mb, &lb, err, sizeof err);
        const nnb_tensor *ta = NULL, *tb = NULL;
        for (int i = 0; i < la.count; i++)
            if (!strcmp(la.items[i].name, tensor))
                ta = &la.items[i];
        for (int i = 0; i < lb.count; i++)
            if (!strcmp(lb.items[i].name, tensor))
                tb = &lb.items[i];
        if (ta && tb) {
            int64_t n = 1;
            for (int d = 0; d < ta->ndim; d++)
                n *= ta->shape[d];
            worst = 0;
            for (int64_t e = 0; e < n; e++) {
                double diff = fabs(((const float *)ta->data)[e] - ((const float *)tb->data)[e]);
                if (diff > worst)
                    worst = diff;
            }
        }
    }
    CHECK_MSG(worst >= 0, "could not compare %s of %s and %s: %s", tensor, a->name, b->name, err);
    if (ma)
        a->destroy(ma);
    if (mb)
        b->destroy(mb);
    return worst;
}

int main(void) {
    /* Before any plugin loads libgomp: spinning OpenMP workers on a loaded machine made this test take up to 40 s
     * (0.2 s passive). The check is about numbers, not speed. */
    setenv("OMP_WAIT_POLICY", "passive", 0);
    nnb_registry reg;
    nnb_test_load_runners(&reg);
    check_descriptors(&reg);
    check_describe(&reg, "jit_layernorm", "te", "fused");
    check_describe(&reg, "jit_layernorm_decom", "old", "fused");
    check_describe(&reg, "jit_dropout", "none", "one pass per op");

    static const char *const fusers[] = {"te", "old", "none"};
    for (size_t c = 0; c < sizeof cases / sizeof *cases; c++)
        for (size_t f = 0; f < sizeof fusers / sizeof *fusers; f++) {
            nnb_config cfg = make_config(&cases[c], fusers[f]);
            nnb_test_check_against(&reg, "jit_layernorm", "py_layernorm", &cfg, 0);
            nnb_test_check_against(&reg, "jit_layernorm_decom", "py_layernorm", &cfg, 0);
            nnb_test_check_against(&reg, "jit_dropout", "py_dropout", &cfg, 0);
        }

    /* numLayers 1: no dropout applies, so jit_dropout (and its reference) is the plain LSTM. */
    if (nnb_registry_find(&reg, "py")) {
        for (size_t c = 0; c < sizeof cases / sizeof *cases; c++) {
            sizes one_layer = cases[c];
            one_layer.L = 1;
            nnb_config cfg = make_config(&one_layer, "te");
            nnb_test_check_against(&reg, "jit_dropout", "py", &cfg, 0);
            nnb_test_check_against(&reg, "py_dropout", "py", &cfg, 0);
        }
        sizes two = {6, 4, 10, 12, 2, 1};
        nnb_config cfg = make_config(&two, "te");
        const nnb_runner_desc *jd = nnb_test_runner(&reg, "jit_dropout"), *py = nnb_test_runner(&reg, "py");
        if (jd && py) {
            double diff = output_difference(jd, py, &cfg, "y");
            CHECK_MSG(diff > 1e-2, "jit_dropout with 2 layers should differ from the plain LSTM (max |dy| %g)", diff);
        }
    } else {
        CHECK_MSG(0, "runner py (nnb_cpu_reference.so) not found in %s: build target nnb_cpu_reference",
                  nnb_test_env("NNBENCH_RUNNER_DIR"));
    }
    nnb_registry_free(&reg);

    /* The same runners with OpenMP in their own passes (a test-only build), at 2 threads. */
    nnb_registry omp;
    nnb_registry_init(&omp);
    char path[1024];
    snprintf(path, sizeof path, "%s/variants_omp/nnb_cpu_variants_omp.so", nnb_test_env("NNBENCH_TEST_PLUGIN_DIR"));
    CHECK_MSG(nnb_registry_load_file(&omp, path) == 0, "cannot load %s: %s", path,
              omp.diag_count ? omp.diags[0].message : "");
    for (size_t c = 1; c < 4; c += 2)                                    /* B = 1, T = 1, L = 3 and B = 5, L = 2 */
        for (size_t f = 0; f < sizeof fusers / sizeof *fusers; f += 2) { /* te and none */
            sizes two_threads = cases[c];
            two_threads.threads = 2;
            nnb_config cfg = make_config(&two_threads, fusers[f]);
            nnb_test_check_against(&omp, "jit_layernorm", "py_layernorm", &cfg, 0);
            nnb_test_check_against(&omp, "jit_layernorm_decom", "py_layernorm", &cfg, 0);
            nnb_test_check_against(&omp, "jit_dropout", "py_dropout", &cfg, 0);
        }
    nnb_registry_free(&omp);
    return nnb_test_finish();
}
