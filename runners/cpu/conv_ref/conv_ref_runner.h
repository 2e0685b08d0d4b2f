/*
 * The runner conv_ref (group "convs", cpu, NNB_FLAG_REFERENCE): one convolution layer (nnb_config.conv) with
 * kernels/conv_ref's plain direct loops, double accumulation, single-threaded. Forward with bias; backward =
 * backward-data ("bwd_data") then backward-weights with db ("bwd_weights"), the parts cfg->conv_dirs asks for;
 * infer(n) = the forward on the first n samples. Every precision: the data are the seeded tensors rounded to
 * the precision (conv_data.h), the arithmetic is always fp32 products accumulated in double, so conv_ref is the
 * exact answer for the rounded data that every precision's runner is checked against.
 * --conv-algo is accepted whatever it names and ignored: --check creates the reference with the checked runner's
 * settings, and the reference has one algorithm (describe(): "algo":"direct").
 * Errors: create() without a problem names --conv; everything else only on invalid geometry or no memory.
 */
#ifndef NNB_CONV_REF_RUNNER_H
#define NNB_CONV_REF_RUNNER_H

#include <nnbench/runner.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The runner's descriptor (what plugin.c exports). */
extern const nnb_runner_desc nnb_conv_ref_runner_desc;

#ifdef __cplusplus
}
#endif
#endif /* NNB_CONV_REF_RUNNER_H */
