/*
 * Correctness check of a runner against its reference: both are created from
 * the same config (so the same seeded inputs), run forward (and backward when
 * both have one) once, and every output tensor the runner gives is compared
 * with the reference's tensor of the same name.
 *
 * Inputs and parameters (params()) with the same name must be bit-identical:
 * otherwise the comparison would be meaningless and the check fails.
 *
 * Error measure, per tensor: normwise relative error
 *     max_i |got_i - ref_i| / max(max_i |ref_i|, 1e-30)
 * which must not exceed the tolerance (nnb_default_tolerance, or the caller's).
 */
#ifndef NNB_CHECK_H
#define NNB_CHECK_H

#include <nnbench/results.h>

#ifdef __cplusplus
extern "C" {
#endif

/* fp32 tolerance that grows with the longest accumulation chain:
 * max(1e-4, 8 * FLT_EPSILON * sqrt(K)), K = (I + H) * T * L for LSTMs. */
double nnb_default_tolerance(const nnb_config *cfg, const char *group);

/* Compare tensor lists; allocates *checks (free()). Returns number of failing
 * tensors, or -1 with err set when the lists cannot be compared (missing
 * reference tensor, shape mismatch). */
int nnb_compare_tensors(const nnb_tensor_list *ref, const nnb_tensor_list *got, double tol, nnb_tensor_check **checks,
                        int *count, char *err, size_t err_len);

/* The same, with gradients (names starting with 'd') judged by their normwise
 * L2 relative error against grad_tol when grad_tol > 0 (NNB_FLAG_CHECK_GRADIENTS_L2). */
int nnb_compare_tensors_l2_grads(const nnb_tensor_list *ref, const nnb_tensor_list *got, double tol, double grad_tol,
                                 nnb_tensor_check **checks, int *count, char *err, size_t err_len);

/* Inputs/parameters with equal names must be bit-identical; returns 0 or -1 with err. */
int nnb_compare_params(const nnb_tensor_list *ref, const nnb_tensor_list *got, char *err, size_t err_len);

/* Run both once and compare. Returns 0 when everything ran (result->check_pass
 * says whether it passed), -1 with err when something failed to run.
 * tol <= 0 selects nnb_default_tolerance. Fills result->checks/check_count/
 * checked/check_pass/check_reference. */
int nnb_check_runner(const nnb_runner_desc *runner, const nnb_runner_desc *reference, const nnb_config *cfg, double tol,
                     nnb_runner_result *result, char *err, size_t err_len);

/* One forward (+ backward_setup + backward when present and wanted) of a model. */
int nnb_run_once(const nnb_runner_desc *d, void *model, int with_backward, char *err, size_t err_len);

#ifdef __cplusplus
}
#endif
#endif
