/*
 * The driver's side of --dtype (docs/precision.md): parsing the value, the one refusal wording every runner
 * gets, the dtypes a runner declares (for --list), and --check's tolerance in each dtype.
 *
 * Errors: functions returning int give 0 on success, -1 with a one-line message in err; strings written are
 * NUL-terminated and truncated to their buffer. Nothing here keeps a pointer to its arguments.
 */
#ifndef NNB_BENCH_PRECISION_H
#define NNB_BENCH_PRECISION_H

#include <nnbench/runner.h>

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* --dtype VALUE: "fp32", "tf32", "bf16" or "fp16" (exactly) into *precision. Other spellings are refused with
 * the one that works: "--dtype: unknown dtype 'bfloat16' (valid: fp32, tf32, bf16, fp16); did you mean
 * 'bf16'?" (friendly names such as float32, half, bfloat16 and upper case included). */
int nnb_precision_parse(const char *value, int *precision, char *err, size_t err_len);

/* Can runner d compute in cfg->precision here? 0: yes. 1: no, with the line the run reports in why:
 *   "RUNNER (DEVICE): DTYPE is not supported by this runner (it computes in fp32[, bf16 ...])" when the
 *   descriptor does not declare it (plugins older than ABI 1.3 declare fp32 only), or
 *   "RUNNER (DEVICE): <available()'s reason>" when it declares it and available() refuses the config.
 * Does not probe CUDA (the driver does that first). */
int nnb_precision_refusal(const nnb_runner_desc *d, const nnb_config *cfg, char *why, size_t why_len);

/* The dtypes d declares, comma-separated in nnb_precision order ("fp32,bf16"). With cfg, a declared dtype that
 * available() refuses here while fp32 runs gets a '*' ("fp32,bf16*"). */
void nnb_precision_list(const nnb_runner_desc *d, const nnb_config *cfg, char *out, size_t cap);

/* --check's tolerances in cfg's precision (docs/precision.md derives them). fp32: the fp32 tolerances
 * unchanged (*fwd_tol, and *l2_grad_tol for NNB_FLAG_CHECK_GRADIENTS_L2 runners, as given). tf32, bf16, fp16:
 * each raised to at least the storage-rounding term
 *     NNB_CHECK_ROUNDINGS * u * sqrt(D)
 * u the data's unit roundoff (nnb_precision_unit_roundoff), D the layers whose rounded outputs feed the next
 * (num_layers for LSTM groups, NNB_CHECK_CNN_DEPTH for CNNs, 1 for single convolutions). */
#define NNB_CHECK_ROUNDINGS 8.0
#define NNB_CHECK_CNN_DEPTH 50.0
double nnb_precision_rounding_term(const nnb_config *cfg, const char *group);
void nnb_precision_tolerances(const nnb_config *cfg, const char *group, double *fwd_tol, double *l2_grad_tol);

#ifdef __cplusplus
}
#endif
#endif
