/*
 * The double-precision variant references (LayerNorm LSTM, dropout LSTM) give
 * the gradients that central differences of loss = sum(y * grad_y) give, for
 * every input and parameter, on tiny shapes with several layers.
 *
 * Tolerance: |fd - analytic| <= 1e-6 * (1 + |analytic|). With step 1e-5 in
 * double, truncation error is ~1e-10 and rounding error ~1e-11, so a real
 * error (a wrong sign or factor, a missing term) stands out by orders of magnitude.
 */
#include "nnb_support.h"
#include "test_support.h"
#include "variants_double_problem.h"

#include <stdlib.h>
#include <string.h>

static double loss(variants_problem *pb) {
    char err[256];
    int rc = nnb_varlstm_reference_d(&pb->p, 0, err, sizeof err);
    CHECK_MSG(rc == 0, "forward failed: %s", err);
    double l = 0;
    for (int64_t e = 0; e < pb->p.T * pb->p.B * pb->p.H; e++)
        l += pb->y[e] * pb->grad_y[e];
    return l;
}

/* Compare every gradient with central differences; returns the worst error. */
static void check_gradients(variants_problem *pb, const char *what) {
    char err[256];
    int rc = nnb_varlstm_reference_d(&pb->p, 1, err, sizeof err);
    CHECK_MSG(rc == 0, "%s: forward+backward failed: %s", what, err);
    /* keep the analytic gradients: the sweep's forwards do not touch them */
    const double step = 1e-5;
    double worst = 0;
    for (int i = 0; i < pb->count; i++) {
        double norm = 0, tensor_worst = 0;
        for (int64_t e = 0; e < pb->t[i].n; e++) {
            double *v = &pb->t[i].value[e], saved = *v;
            *v = saved + step;
            double lp = loss(pb);
            *v = saved - step;
            double lm = loss(pb);
            *v = saved;
            double fd = (lp - lm) / (2 * step), an = pb->t[i].grad[e];
            double bad = fabs(fd - an) / (1 + fabs(an));
            if (bad > tensor_worst)
                tensor_worst = bad;
            norm += an * an;
            CHECK_MSG(bad <= 1e-6, "%s: d%s[%lld] analytic %.12g vs finite difference %.12g", what, pb->t[i].name,
                      (long long)e, an, fd);
        }
        CHECK_MSG(norm > 1e-12, "%s: d%s is zero: the loss should depend on %s", what, pb->t[i].name, pb->t[i].name);
        if (tensor_worst > worst)
            worst = tensor_worst;
    }
    printf("%s: %d tensors, worst |fd - analytic| / (1 + |analytic|) = %.3g\n", what, pb->count, worst);
}

int main(void) {
    variants_problem pb;

    variants_problem_build(&pb, 1, 0, 3, 2, 3, 3, 2); /* LayerNorm LSTM, I != H, 2 layers */
    check_gradients(&pb, "layernorm T=3 B=2 I=3 H=3 L=2");
    variants_problem_free(&pb);

    variants_problem_build(&pb, 1, 0, 2, 1, 2, 5, 1); /* LayerNorm LSTM, B = 1, one layer */
    check_gradients(&pb, "layernorm T=2 B=1 I=2 H=5 L=1");
    variants_problem_free(&pb);

    variants_problem_build(&pb, 0, 0.4f, 3, 2, 3, 3, 3); /* dropout between 3 layers */
    int zeros = 0, kept = 0;
    for (int64_t k = 1; k < 3; k++)
        for (int64_t e = 0; e < 3 * 2 * 3; e++)
            *(pb.mask[k][e] == 0 ? &zeros : &kept) += 1;
    CHECK_MSG(zeros > 0 && kept > 0, "dropout mask should drop some and keep some (dropped %d, kept %d)", zeros, kept);
    check_gradients(&pb, "dropout T=3 B=2 I=3 H=3 L=3");
    variants_problem_free(&pb);

    return nnb_test_finish();
}
