/*
 * Every variant runner refuses, at create, a config it cannot honour, with a
 * one-line message that says why: an unknown fuser (listing te, old, none), an
 * executor other than eager, non-positive or overflowing sizes, a config struct from an older
 * driver. The good config next to each bad one creates fine, so a runner that
 * fails everything does not pass.
 */
#include "test_support.h"

#include <string.h>

static const char *const names[] = {"jit_layernorm", "jit_layernorm_decom", "jit_dropout", "py_layernorm",
                                    "py_dropout"};

static nnb_config small_config(void) {
    nnb_config cfg;
    nnb_config_defaults(&cfg);
    cfg.seq_length = 2, cfg.mini_batch = 2, cfg.input_size = 3, cfg.hidden_size = 5, cfg.num_layers = 2;
    return cfg;
}

/* create must fail and its message contain each of the needles (NULL-terminated). */
static void expect_rejected(const nnb_runner_desc *d, const nnb_config *cfg, const char *what, const char *needle1,
                            const char *needle2) {
    char err[512] = "";
    void *m = d->create(cfg, err, sizeof err);
    CHECK_MSG(m == NULL, "%s should reject %s", d->name, what);
    if (m) {
        d->destroy(m);
        return;
    }
    CHECK_MSG(strchr(err, '\n') == NULL && err[0], "%s: error for %s should be one non-empty line: '%s'", d->name, what,
              err);
    CHECK_STR_CONTAINS(err, needle1);
    if (needle2)
        CHECK_STR_CONTAINS(err, needle2);
}

static void expect_accepted(const nnb_runner_desc *d, const nnb_config *cfg, const char *what) {
    char err[512] = "";
    void *m = d->create(cfg, err, sizeof err);
    CHECK_MSG(m != NULL, "%s should accept %s: %s", d->name, what, err);
    if (m)
        d->destroy(m);
}

int main(void) {
    nnb_registry reg;
    nnb_test_load_runners(&reg);
    for (size_t i = 0; i < sizeof names / sizeof *names; i++) {
        const nnb_runner_desc *d = nnb_test_runner(&reg, names[i]);
        if (!d)
            continue;
        nnb_config cfg = small_config();
        static const char *const good_fusers[] = {"te", "old", "none"};
        for (size_t f = 0; f < 3; f++) {
            cfg.fuser = good_fusers[f];
            expect_accepted(d, &cfg, good_fusers[f]);
        }

        cfg = small_config();
        cfg.fuser = "nnc";
        expect_rejected(d, &cfg, "fuser nnc", "--fuser 'nnc' is not supported by this runner",
                        "(supported: te, old, none)");
        cfg.fuser = "";
        expect_rejected(d, &cfg, "an empty fuser", "--fuser '' is not supported by this runner",
                        "(supported: te, old, none)");

        cfg = small_config();
        cfg.executor = "eager"; /* what these runners do */
        expect_accepted(d, &cfg, "executor eager");
        cfg.executor = "graph";
        expect_rejected(d, &cfg, "executor graph", "--executor 'graph' is not supported by this runner",
                        "(supported: eager)");
        cfg.executor = "profiling";
        expect_rejected(d, &cfg, "executor profiling", "--executor 'profiling' is not supported by this runner",
                        "(supported: eager)");

        cfg = small_config();
        cfg.hidden_size = 0;
        expect_rejected(d, &cfg, "hidden size 0", "must be positive", NULL);
        cfg = small_config();
        cfg.num_layers = 0;
        expect_rejected(d, &cfg, "numLayers 0", "must be positive", NULL);

        cfg = small_config();
        cfg.seq_length = cfg.mini_batch = cfg.hidden_size = (int64_t)1 << 40;
        expect_rejected(d, &cfg, "sizes whose buffers overflow size_t", "overflow", NULL);

        cfg = small_config();
        cfg.struct_size = offsetof(nnb_config, seed);
        expect_rejected(d, &cfg, "a config struct without fuser and threads", "config struct too old", NULL);
    }
    nnb_registry_free(&reg);
    return nnb_test_finish();
}
