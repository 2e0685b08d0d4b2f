/*
 * The cuDNN `conv` runner (plugin nnb_cuda_conv) against the plain reference kernels/conv_ref, on a real device
 * (label gpu; exits 77, reported skipped, where no CUDA device is usable): y, dx, dw, db in every precision the
 * device offers, on shapes with groups, depthwise, stride 2, padding, dilation, odd and non-square sizes, 1x1 and
 * one 3-D problem, with cuDNN's heuristics and with measured (find) algorithms; the backward parts equal the whole
 * backward; infer(n) equals the forward's first n samples; describe() names each direction's algorithm.
 *
 * Loaded with dlopen through the conv runners' test support (conv_dnnl_support.h), so the test needs neither the
 * driver's --conv parser nor the conv_ref plugin. The reference reads the runner's own params() (the seeded
 * problem rounded to the precision), so only the runner's arithmetic differs. Tolerance, normwise (max |got - ref|
 * / max |ref| per tensor): fp32 1e-3 (FMA math; FFT and Winograd algorithms, which cuDNN's heuristics may pick,
 * lose a few more digits than direct summation); tf32 8e-3 (operands rounded to 10 bits, u = 2^-11, accumulated in
 * fp32 over up to ~600 terms); fp16 4e-3 (results stored in half: 2u = 2^-10 for the rounding of each result plus
 * the accumulation); bf16 1.6e-2 (stored in bfloat16: 4u = 2^-6). Estimates made without a device: every error is
 * printed so they can be tightened from the first real run.
 */
#include "conv_dnnl_support.h"

#include <string.h>

static const double tolerance[NNB_PRECISION_COUNT] = {1e-3, 8e-3, 1.6e-2, 4e-3};
static int ran;

static void check_errors(const char *what, const nnb_conv_problem *q, int p, const conv_errors *e) {
    printf("  %s %s %s: y %.3g dx %.3g dw %.3g db %.3g (tolerance %.3g)\n", q->name, what, nnb_precision_name(p), e->y,
           e->dx, e->dw, e->db, tolerance[p]);
    double worst = fmax(fmax(e->y, e->dx), fmax(e->dw, e->db));
    CHECK_MSG(worst <= tolerance[p], "%s %s %s: error %.3g > %.3g", q->name, what, nnb_precision_name(p), worst,
              tolerance[p]);
}

static void check_one(const nnb_runner_desc *d, const nnb_conv_problem *q, int p, const char *algo) {
    nnb_config cfg = conv_config(q, p);
    cfg.conv_algo = algo, cfg.allow_tf32 = p == NNB_PRECISION_TF32;
    char err[1024] = "";
    if (!d->available(&cfg, err, sizeof err)) {
        printf("  %s: not available here: %s\n", nnb_precision_name(p), err);
        return;
    }
    void *m = d->create(&cfg, err, sizeof err);
    CHECK_MSG(m != NULL, "create (%s, %s, %s): %s", q->name, nnb_precision_name(p), algo, err);
    if (!m)
        return;
    ran++;
    conv_errors whole, parts;
    CHECK(d->forward(m, err, sizeof err) == 0 && d->backward(m, err, sizeof err) == 0);
    if (conv_model_errors(d, m, q, &whole) == 0)
        check_errors(algo, q, p, &whole);
    CHECK(d->backward_part_count(m) == 2);
    CHECK(!strcmp(d->backward_part_name(m, 0), "bwd_data") && !strcmp(d->backward_part_name(m, 1), "bwd_weights"));
    CHECK(d->backward_part(m, 1, err, sizeof err) == 0 && d->backward_part(m, 0, err, sizeof err) == 0);
    if (conv_model_errors(d, m, q, &parts) == 0)
        check_errors("parts", q, p, &parts);
    nnb_tensor_list outs;
    CHECK(d->infer(m, 1, err, sizeof err) == 0 && d->outputs(m, &outs, err, sizeof err) == 0);
    CHECK(outs.count == 1 && outs.items[0].shape[0] == 1);
    static char info[4096];
    CHECK(d->describe(m, info, sizeof info) == 0);
    CHECK_STR_CONTAINS(info, "\"bwd_w\":{\"algo\":\"");
    printf("  %s\n", info);
    d->destroy(m);
}

int main(void) {
    const nnb_runner_desc *d = conv_plugin_runner("nnb_cuda_conv.so");
    if (!d)
        return nnb_test_finish();
    nnb_config probe;
    nnb_config_defaults(&probe);
    char why[512] = "";
    if (!d->available(&probe, why, sizeof why)) {
        printf("skipped: %s\n", why);
        return 77;
    }
    nnb_conv_problem cases[] = {
        conv_problem_2d(1, 2, 3, 9, 7, 5, 3, 5, 2, 2, 1, 1, 1, 1, "odd, stride 2, dilated"),
        conv_problem_2d(2, 2, 4, 8, 8, 6, 3, 3, 1, 1, 1, 1, 0, 0, "groups 2"),
        conv_problem_2d(8, 2, 8, 10, 10, 8, 3, 3, 1, 1, 1, 1, 0, 0, "depthwise"),
        conv_problem_2d(1, 3, 16, 7, 7, 32, 1, 1, 1, 1, 0, 0, 0, 0, "1x1"),
        conv_problem_2d(1, 4, 64, 14, 14, 64, 3, 3, 1, 1, 1, 1, 0, 0, "3x3 64 channels"),
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++)
        for (int p = 0; p < NNB_PRECISION_COUNT; p++) {
            check_one(d, &cases[i], p, "auto");
            check_one(d, &cases[i], p, "find");
        }
    nnb_conv_problem q3 =
        conv_problem_3d(conv_problem_2d(1, 2, 3, 6, 7, 4, 3, 3, 1, 1, 1, 1, 0, 0, "3-D"), 5, 3, 2, 1, 0);
    check_one(d, &q3, NNB_PRECISION_FP32, "auto");
    CHECK_MSG(ran > 0, "no precision ran on this device");
    return nnb_test_finish();
}
