/*
 * The oneDNN `conv` runner against kernels/conv_ref (direct loops, double accumulation) on the runner's own
 * inputs, in every direction (y, dx, dw, db), on problems chosen to break layouts and index arithmetic:
 * groups (g = 2 and depthwise), stride 2, padding, dilation, odd sizes (ih 7, iw 9, kh 3, kw 5), 1x1, no bias,
 * and two 3-D problems (NCDHW / OIDHW; grouped, strided and dilated in depth).
 *
 * Tolerances (normwise: max|got - ref| / max|ref| per tensor), K the result's reduction length (y: ic/g*kh*kw,
 * dx: oc/g*kh*kw, dw and db: mb*oh*ow):
 *   fp32  4 eps sqrt(K), eps = 2^-23: fp32 accumulation error grows like sqrt(K) eps for random data; measured
 *         errors stay below 1 eps sqrt(K), while a wrong index, stride or padding gives O(1).
 *   bf16  (inputs already bf16 values, products exact, f32 accumulation): y and dx are stored in bf16, so
 *         u = 2^-8 of max|ref| plus the fp32 bound; dw and db are f32: the fp32 bound. And the bf16 error of y
 *         is at least 10x the fp32 error on the same problem: the run really rounded to bf16.
 */
#include "conv_dnnl_support.h"
#include "nnb_precision.h"

#include <float.h>

static nnb_conv_problem cases[16];
static int ncases;

static void add_cases(void) {
    cases[ncases++] = conv_problem_2d(2, 2, 8, 7, 9, 6, 3, 5, 1, 1, 1, 2, 0, 0, "groups2_odd_k3x5");
    cases[ncases++] = conv_problem_2d(16, 2, 16, 10, 11, 16, 3, 3, 2, 2, 1, 1, 0, 0, "depthwise_stride2");
    cases[ncases++] = conv_problem_2d(1, 3, 5, 13, 12, 7, 3, 3, 2, 2, 1, 1, 0, 0, "stride2_pad1");
    cases[ncases++] = conv_problem_2d(1, 2, 4, 12, 11, 8, 3, 3, 1, 1, 2, 2, 1, 2, "dilated_1x2");
    cases[ncases++] = conv_problem_2d(1, 2, 3, 7, 9, 5, 3, 5, 1, 1, 0, 0, 0, 0, "odd_7x9_k3x5");
    cases[ncases++] = conv_problem_2d(1, 2, 32, 7, 7, 48, 1, 1, 1, 1, 0, 0, 0, 0, "1x1");
    cases[ncases++] = conv_problem_2d(1, 2, 16, 8, 8, 32, 1, 1, 2, 2, 0, 0, 0, 0, "1x1_stride2");
    cases[ncases++] = conv_problem_2d(1, 2, 64, 14, 14, 64, 3, 3, 1, 1, 1, 1, 0, 0, "resnet_like_3x3");
    cases[ncases] = conv_problem_2d(1, 2, 6, 9, 8, 10, 3, 3, 1, 2, 1, 0, 0, 0, "no_bias_stride1x2");
    cases[ncases++].has_bias = 0;
    cases[ncases++] =
        conv_problem_3d(conv_problem_2d(1, 2, 4, 6, 7, 8, 3, 3, 1, 1, 1, 1, 0, 0, "3d_k3_pad1"), 5, 3, 1, 1, 0);
    cases[ncases++] =
        conv_problem_3d(conv_problem_2d(2, 2, 6, 8, 5, 4, 3, 1, 2, 1, 1, 0, 0, 0, "3d_g2_sd2_dd1"), 9, 3, 2, 2, 1);
}

static double fp32_bound(double k) { return 4.0 * FLT_EPSILON * sqrt(k); }

static void check_within(const char *name, const char *prec, const char *t, double got, double tol) {
    CHECK_MSG(got <= tol, "%s %s %s: error %.3g > tolerance %.3g", name, prec, t, got, tol);
}

/* fp32 in every direction; returns the y error (for the bf16 comparison). */
static double check_fp32(const nnb_runner_desc *d, const nnb_conv_problem *p) {
    nnb_config cfg = conv_config(p, NNB_PRECISION_FP32);
    conv_errors e, k = conv_reduction_lengths(p);
    if (conv_run_against_reference(d, &cfg, 0, &e))
        return 0;
    printf("%-20s fp32  y %.2e  dx %.2e  dw %.2e  db %.2e\n", p->name, e.y, e.dx, e.dw, e.db);
    check_within(p->name, "fp32", "y", e.y, fp32_bound(k.y));
    check_within(p->name, "fp32", "dx", e.dx, fp32_bound(k.dx));
    check_within(p->name, "fp32", "dw", e.dw, fp32_bound(k.dw));
    check_within(p->name, "fp32", "db", e.db, fp32_bound(k.db));
    return e.y;
}

static void check_bf16(const nnb_runner_desc *d, const nnb_conv_problem *p, double fp32_y_error) {
    nnb_config cfg = conv_config(p, NNB_PRECISION_BF16);
    conv_errors e, k = conv_reduction_lengths(p);
    if (conv_run_against_reference(d, &cfg, 0, &e))
        return;
    double u = nnb_precision_unit_roundoff(NNB_PRECISION_BF16);
    printf("%-20s bf16  y %.2e  dx %.2e  dw %.2e  db %.2e\n", p->name, e.y, e.dx, e.dw, e.db);
    check_within(p->name, "bf16", "y", e.y, u + fp32_bound(k.y));
    check_within(p->name, "bf16", "dx", e.dx, u + fp32_bound(k.dx));
    check_within(p->name, "bf16", "dw", e.dw, fp32_bound(k.dw));
    check_within(p->name, "bf16", "db", e.db, fp32_bound(k.db));
    CHECK_MSG(e.y >= 10 * fp32_y_error, "%s: bf16 y error %.3g is not 10x the fp32 one %.3g (not rounded to bf16?)",
              p->name, e.y, fp32_y_error);
}

int main(void) {
    const nnb_runner_desc *d = conv_dnnl_runner();
    if (!d)
        return nnb_test_finish();
    add_cases();
    char reason[256];
    int bf16 = nnb_cpu_precision_available(NNB_PRECISION_BF16, reason, sizeof reason);
    if (!bf16)
        printf("bf16 cases skipped: %s\n", reason);
    for (int i = 0; i < ncases; i++) {
        double y_error = check_fp32(d, &cases[i]);
        if (bf16)
            check_bf16(d, &cases[i], y_error);
    }
    return nnb_test_finish();
}
