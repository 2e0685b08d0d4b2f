/*
 * Every fast LSTM runner, under every fuser, against its reference runner (py,
 * vl_py, py_simple) on the golden shapes and awkward ones: H not a multiple of
 * 16, B = 1, T = 1, I != H, numLayers 2 and 3. Threads 2. Tolerance:
 * bench/check.h's default, max(1e-4, 8 eps sqrt((I + H) T L)), normwise
 * relative per tensor (every output and every gradient). The OpenBLAS and
 * plain-loop GEMM paths (NNB_CPU_GEMM) are checked on one awkward shape.
 */
#define _POSIX_C_SOURCE 200809L /* setenv */
#include "test_support.h"

#include <stdlib.h>
#include <string.h>

typedef struct shape {
    int64_t T, B, I, H, L;
} shape;

static const shape shapes[] = {
    {16, 8, 32, 64, 1}, {1, 1, 3, 1, 1},  {3, 2, 4, 5, 1},   {7, 3, 10, 8, 2}, /* golden shapes */
    {5, 3, 20, 37, 3},  {1, 1, 7, 19, 1}, {9, 1, 33, 40, 2}, {4, 9, 17, 23, 1},
};

static nnb_config config_for(const shape *s, const char *fuser) {
    nnb_config cfg;
    nnb_config_defaults(&cfg);
    cfg.seq_length = s->T, cfg.mini_batch = s->B, cfg.input_size = s->I, cfg.hidden_size = s->H;
    cfg.num_layers = s->L, cfg.threads = 2, cfg.fuser = fuser;
    return cfg;
}

int main(void) {
    nnb_registry reg;
    nnb_registry_init(&reg);
    nnb_test_load_runners(&reg);
    const char *fusers[] = {"te", "old", "none"};
    const char *runners[] = {"aten", "jit", "jit_premul", "jit_premul_bias", "jit_multilayer"};
    for (size_t f = 0; f < 3; f++)
        for (size_t s = 0; s < sizeof shapes / sizeof *shapes; s++) {
            nnb_config cfg = config_for(&shapes[s], fusers[f]);
            for (size_t r = 0; r < sizeof runners / sizeof *runners; r++)
                nnb_test_check_against(&reg, runners[r], "py", &cfg, 0);
            if (shapes[s].L == 1)
                nnb_test_check_against(&reg, "jit_simple", "py_simple", &cfg, 0);
            /* variable length: T comes from the lengths (30..99); keep B, H small */
            if (shapes[s].T <= 9 && shapes[s].H <= 40) {
                cfg.mini_batch = shapes[s].B + 2;
                nnb_test_check_against(&reg, "vl_jit", "vl_py", &cfg, 0);
            }
        }
    /* The portable GEMM paths (OpenBLAS, plain loop) through the same engine, via NNB_CPU_GEMM. */
    const char *impls[] = {"cblas", "plain"};
    for (size_t i = 0; i < 2; i++) {
        setenv("NNB_CPU_GEMM", impls[i], 1);
        nnb_config cfg = config_for(&shapes[4], "te"); /* H 37, 3 layers */
        for (size_t r = 0; r < sizeof runners / sizeof *runners; r++)
            nnb_test_check_against(&reg, runners[r], "py", &cfg, 0);
        cfg.mini_batch = 4;
        nnb_test_check_against(&reg, "vl_jit", "vl_py", &cfg, 0);
    }
    unsetenv("NNB_CPU_GEMM");
    nnb_registry_free(&reg);
    return nnb_test_finish();
}
