/*
 * nnb_cpu_fast create errors and describe(): an unknown fuser is refused with
 * the valid names, jit_simple refuses numLayers > 1 (and says it is single
 * layer), CPU runners refuse the CUDA graph executor; describe() is one JSON
 * object naming the runner, fuser, fuser ISA and GEMM that ran.
 */
#include "test_support.h"

#include <cjson/cJSON.h>
#include <string.h>

static void small_config(nnb_config *cfg) {
    nnb_config_defaults(cfg);
    cfg->seq_length = 3, cfg->mini_batch = 2, cfg->input_size = 5, cfg->hidden_size = 7, cfg->threads = 2;
}

static void expect_create_error(const nnb_runner_desc *d, const nnb_config *cfg, const char *needle) {
    char err[512] = "";
    void *m = d->create(cfg, err, sizeof err);
    CHECK_MSG(m == NULL, "%s: create should fail", d->name);
    if (m)
        d->destroy(m);
    CHECK_STR_CONTAINS(err, needle);
}

static void expect_describe(const nnb_runner_desc *d, const nnb_config *cfg, const char *fuser) {
    char err[512] = "", buf[4096] = "";
    void *m = d->create(cfg, err, sizeof err);
    CHECK_MSG(m != NULL, "%s create: %s", d->name, err);
    if (!m)
        return;
    CHECK(d->describe(m, buf, sizeof buf) == 0);
    cJSON *j = cJSON_Parse(buf);
    CHECK_MSG(j != NULL, "%s describe is not JSON: %s", d->name, buf);
    cJSON *f = cJSON_GetObjectItem(j, "fuser"), *r = cJSON_GetObjectItem(j, "runner");
    cJSON *g = cJSON_GetObjectItem(j, "gemm"), *isa = cJSON_GetObjectItem(j, "fuser_isa");
    CHECK_MSG(cJSON_IsString(f) && !strcmp(f->valuestring, fuser), "%s: fuser in %s", d->name, buf);
    CHECK_MSG(cJSON_IsString(r) && !strcmp(r->valuestring, d->name), "%s: runner in %s", d->name, buf);
    CHECK_MSG(cJSON_IsString(g) && cJSON_IsString(isa), "%s: gemm / fuser_isa in %s", d->name, buf);
    cJSON_Delete(j);
    d->destroy(m);
}

int main(void) {
    nnb_registry reg;
    nnb_registry_init(&reg);
    nnb_test_load_runners(&reg);
    nnb_config cfg;
    const char *names[] = {"aten", "jit", "jit_premul", "jit_premul_bias", "jit_simple", "jit_multilayer", "vl_jit"};
    for (size_t i = 0; i < sizeof names / sizeof *names; i++) {
        const nnb_runner_desc *d = nnb_test_runner(&reg, names[i]);
        if (!d)
            continue;
        char want[256];
        small_config(&cfg);
        cfg.fuser = "nvfuser";
        snprintf(want, sizeof want, "%s: --fuser 'nvfuser' is not supported by this runner (supported: te, old, none)",
                 names[i]);
        expect_create_error(d, &cfg, want);
        small_config(&cfg);
        cfg.executor = "graph";
        snprintf(want, sizeof want, "%s: --executor 'graph' is not supported by this runner (supported: eager)",
                 names[i]);
        expect_create_error(d, &cfg, want);
        small_config(&cfg);
        cfg.fuser = "old";
        expect_describe(d, &cfg, !strcmp(names[i], "aten") ? "none" : "old");
    }
    const nnb_runner_desc *simple = nnb_test_runner(&reg, "jit_simple");
    const nnb_runner_desc *py_simple = nnb_test_runner(&reg, "py_simple");
    if (simple && py_simple) {
        CHECK(simple->flags & NNB_FLAG_SINGLE_LAYER);
        CHECK(!strcmp(simple->reference, "py_simple"));
        CHECK((py_simple->flags & (NNB_FLAG_REFERENCE | NNB_FLAG_HIDDEN)) == (NNB_FLAG_REFERENCE | NNB_FLAG_HIDDEN));
        small_config(&cfg);
        cfg.num_layers = 3;
        expect_create_error(simple, &cfg, "single-layer");
        char reason[256] = "";
        CHECK(simple->available && simple->available(&cfg, reason, sizeof reason) == 0); /* the driver skips it */
        CHECK_STR_CONTAINS(reason, "single-layer");
        CHECK(py_simple->available && py_simple->available(&cfg, reason, sizeof reason) == 0);
        cfg.num_layers = 1;
        CHECK(simple->available(&cfg, reason, sizeof reason) == 1);
        cfg.num_layers = 3;
        expect_create_error(py_simple, &cfg, "single-layer");
    }
    nnb_registry_free(&reg);
    return nnb_test_finish();
}
