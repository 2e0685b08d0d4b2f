/*
 * The precision check shared by the CUDA LSTM tests (the CPU emulation and the gpu-labelled one): a runner in
 * bf16 / fp16 (and tf32) against its plain reference on the same problem (the seeded data rounded to the
 * precision, bit-identical in params()), within
 *     tol = factor * u * L
 * u the precision's unit roundoff (bf16 2^-8, fp16 and tf32 2^-11), L the layers; and, for bf16 and fp16, with
 * its largest error at least 10x the fp32 run's (proof that the reduced precision really ran).
 *
 * Why u * L and no T (derivation, docs/precision.md has the driver's): what a 16-bit run rounds is GEMM operands
 * (h after each step, the gate gradients) and, in cuDNN, stored states and outputs; each rounding is a relative
 * perturbation of at most u of one value, fp32 accumulation adds nothing comparable, so a GEMM output with both
 * operands rounded moves by at most 2u * sum |a_i b_i|. Along the sequence the cell's gains stay below 1
 * (sigmoid' <= 1/4, tanh' <= 1, forget gate < 1): a step's rounding does not compound with T (the CPU emulation
 * measures T = 99 at 0.44u, T = 5 at about 0.5u); each stacked layer adds its own. factor 4 (2u per GEMM,
 * doubled for the backward's chain through the rounded dgates) for the hand-written engine, 8 where cuDNN also
 * stores y, h, c and every gradient in 16 bits, 16 for the LayerNorm LSTMs, whose LayerNorms amplify a
 * perturbation of their input rows (as their fp32 check_tolerance allows for). Header-only, test-only.
 */
#ifndef NNB_CUDA_PRECISION_CHECK_H
#define NNB_CUDA_PRECISION_CHECK_H

#include "nnb_precision.h"
#include "test_support.h"

#include <stdlib.h>
#include <string.h>

static inline double cuda_precision_tolerance(const nnb_config *cfg, double factor) {
    return factor * nnb_precision_unit_roundoff(cfg->precision) * (double)cfg->num_layers;
}

/* Runs got against ref at cfg (tol, or nnb_check_runner's default with tol 0), records a failure per tensor
 * beyond it, and returns the largest normwise relative error over every compared tensor; -1 when it could not
 * run. */
static inline double cuda_precision_largest_error(const nnb_runner_desc *got, const nnb_runner_desc *ref,
                                                  const nnb_config *cfg, double tol, const char *what) {
    nnb_runner_result res;
    memset(&res, 0, sizeof res);
    char err[512] = "";
    int rc = nnb_check_runner(got, ref, cfg, tol, &res, err, sizeof err);
    CHECK_MSG(rc == 0, "%s: %s", what, err);
    if (rc)
        return -1;
    CHECK_MSG(res.check_count >= 3, "%s compared only %d tensors", what, res.check_count);
    double worst = 0;
    for (int i = 0; i < res.check_count; i++) {
        const nnb_tensor_check *c = &res.checks[i];
        CHECK_MSG(c->pass, "%s: %s max_rel %.3g > tol %.3g", what, c->name, c->max_rel_err, c->tolerance);
        if (c->max_rel_err > worst)
            worst = c->max_rel_err;
    }
    free(res.checks);
    return worst;
}

/* got in each of precisions[0..count) against ref (cfg's sizes), after an fp32 run for the ratio. A precision
 * got's available() refuses here (an older device) is noted and skipped. */
static inline void cuda_precision_check(const nnb_runner_desc *got, const nnb_runner_desc *ref, nnb_config cfg,
                                        double factor, const int *precisions, int count) {
    char what[256], why[256] = "";
    cfg.precision = NNB_PRECISION_FP32;
    snprintf(what, sizeof what, "%s fp32 vs %s (L=%lld)", got->name, ref->name, (long long)cfg.num_layers);
    double e32 = cuda_precision_largest_error(got, ref, &cfg, 0, what);
    for (int i = 0; i < count; i++) {
        cfg.precision = precisions[i];
        if (got->available && !got->available(&cfg, why, sizeof why)) {
            printf("note: %s %s not checked: %s\n", got->name, nnb_precision_name(precisions[i]), why);
            continue;
        }
        double tol = cuda_precision_tolerance(&cfg, factor);
        snprintf(what, sizeof what, "%s %s vs %s (L=%lld, fuser %s, executor %s)", got->name,
                 nnb_precision_name(precisions[i]), ref->name, (long long)cfg.num_layers, cfg.fuser ? cfg.fuser : "te",
                 cfg.executor ? cfg.executor : "eager");
        double e = cuda_precision_largest_error(got, ref, &cfg, tol, what);
        printf("%-64s error %.3g (tol %.3g), fp32 error %.3g\n", what, e, tol, e32);
        if (precisions[i] == NNB_PRECISION_BF16 || precisions[i] == NNB_PRECISION_FP16)
            CHECK_MSG(e >= 10 * e32, "%s: error %.3g is not 10x the fp32 run's %.3g: did 16 bits really run?", what, e,
                      e32);
    }
}

#endif
