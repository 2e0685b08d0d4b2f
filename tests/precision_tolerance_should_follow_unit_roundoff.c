/* --check's tolerance per dtype (bench/precision.c, docs/precision.md): fp32 unchanged; tf32, bf16 and fp16 at
 * least 8 u sqrt(D), against numbers worked out by hand from u = 2^-11 (tf32, fp16) and 2^-8 (bf16). */
#include "precision.h"
#include "test_support.h"

#include <float.h>
#include <math.h>
#include <stdlib.h>

static double fwd(nnb_config c, int precision, const char *group) {
    double tol = nnb_default_tolerance(&c, group);
    c.precision = precision;
    nnb_precision_tolerances(&c, group, &tol, NULL);
    return tol;
}

int main(void) {
    nnb_config c;
    nnb_config_defaults(&c); /* T 100, L 1, I = H = 512, N 32 */

    /* fp32: today's tolerances, not one bit changed: 8 FLT_EPSILON sqrt((512 + 512) 100) = 2^-20 * 320. */
    CHECK_NEAR(fwd(c, NNB_PRECISION_FP32, NNB_GROUP_RNNS), 320.0 / 1048576.0, 1e-15);
    CHECK(nnb_precision_rounding_term(&c, NNB_GROUP_RNNS) == 0);
    double cnn32 = nnb_default_tolerance(&c, NNB_GROUP_CNNS); /* 8 eps sqrt(9 * 512 * 32) = 2^-20 * 384 */
    CHECK_NEAR(cnn32, 384.0 / 1048576.0, 1e-15);
    CHECK(fwd(c, NNB_PRECISION_FP32, NNB_GROUP_CNNS) == cnn32);

    /* bf16, one layer: 8 * 2^-8 = 1/32; four layers: 8 * 2^-8 * 2 = 1/16. */
    CHECK(fwd(c, NNB_PRECISION_BF16, NNB_GROUP_RNNS) == 0.03125);
    c.num_layers = 4;
    CHECK(fwd(c, NNB_PRECISION_BF16, NNB_GROUP_RNNS) == 0.0625);
    CHECK(fwd(c, NNB_PRECISION_BF16, NNB_GROUP_VL_RNNS) == 0.0625);
    /* fp16 and tf32, four layers: 8 * 2^-11 * 2 = 1/128. */
    CHECK(fwd(c, NNB_PRECISION_FP16, NNB_GROUP_RNNS) == 0.0078125);
    CHECK(fwd(c, NNB_PRECISION_TF32, NNB_GROUP_RNNS) == 0.0078125);
    c.num_layers = 1;
    /* CNNs: D = 50 layers: bf16 8 * 2^-8 * sqrt(50) = 0.2209709, fp16 8 * 2^-11 * sqrt(50) = 0.0276214. */
    CHECK_NEAR(fwd(c, NNB_PRECISION_BF16, NNB_GROUP_CNNS), 0.22097086912079612, 1e-15);
    CHECK_NEAR(fwd(c, NNB_PRECISION_FP16, NNB_GROUP_CNNS), 0.027621358640099515, 1e-15);
    /* A single convolution: D = 1, 8 u. */
    CHECK(fwd(c, NNB_PRECISION_BF16, NNB_GROUP_CONVS) == 0.03125);

    /* The rounding term never lowers a tolerance: a runner's own larger one (e.g. LayerNorm's) stays. */
    c.precision = NNB_PRECISION_FP16;
    double own = 0.5, grad = 0;
    nnb_precision_tolerances(&c, NNB_GROUP_RNNS, &own, &grad);
    CHECK(own == 0.5 && grad == 0); /* grad 0: no L2-judged gradients, none made up */

    /* L2-judged gradients (NNB_FLAG_CHECK_GRADIENTS_L2): ten times fp32's forward, or the rounding term. */
    c.precision = NNB_PRECISION_BF16;
    double f = cnn32, g = 10 * cnn32;
    nnb_precision_tolerances(&c, NNB_GROUP_CNNS, &f, &g);
    CHECK_NEAR(g, 0.22097086912079612, 1e-15);
    c.precision = NNB_PRECISION_TF32;
    f = cnn32, g = 10 * cnn32; /* 10 * 384 / 2^20 = 0.00366 < 8 * 2^-11 * sqrt(50) = 0.0276 */
    nnb_precision_tolerances(&c, NNB_GROUP_CNNS, &f, &g);
    CHECK_NEAR(g, 0.027621358640099515, 1e-15);

    /* nnb_check_runner applies it: the reference checked against itself in bf16 records 1/32 and error 0. */
    nnb_registry reg;
    nnb_test_load_runners(&reg);
    const nnb_runner_desc *py = nnb_test_runner(&reg, "py");
    if (py) {
        nnb_config s = nnb_test_lstm_config(3, 2, 8, 8, 1, 5);
        s.precision = NNB_PRECISION_BF16;
        nnb_runner_result res = {0};
        char err[512] = "";
        CHECK_MSG(nnb_check_runner(py, py, &s, 0, &res, err, sizeof err) == 0, "py vs py in bf16: %s", err);
        CHECK(res.checked && res.check_pass && res.check_count > 0);
        for (int i = 0; i < res.check_count; i++)
            CHECK_MSG(res.checks[i].tolerance == 0.03125 && res.checks[i].max_rel_err == 0, "%s: tolerance %g error %g",
                      res.checks[i].name, res.checks[i].tolerance, res.checks[i].max_rel_err);
        free(res.checks);
    }
    nnb_registry_free(&reg);
    return nnb_test_finish();
}
