/*
 * Reporting of one nnbench run (<nnbench/results.h>): the fastrnns-style table,
 * fastrnns' two JSON outputs (OSS one-liner and AI-PEP "Caffe2Observer" lines),
 * the full JSON results (schema in docs/json-schema.md), and the run context.
 *
 * Everything here only reads the results; nothing prints unless given a FILE.
 */
#ifndef NNB_REPORT_H
#define NNB_REPORT_H

#include <nnbench/results.h>

#include <stddef.h>
#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The one-line error of a runner that is not ok, as the table and the full JSON
 * show it: its error, or for a check failure the driver left undescribed, the
 * failing tensors ("vs py: dx max_rel_err 0.01 > 0.0001;"). */
void nnb_runner_error_text(const nnb_runner_result *r, char *buf, size_t len);

/* ---- Table (fastrnns bench.py) ----------------------------------------------
 * Cells are right-aligned in 16 characters (cut to their first 16 if longer)
 * and joined by sep (" " by default in fastrnns; NULL means " "). */

/* "Benchmarking LSTMs..." (rnns), "Benchmarking ResNets..." (cnns),
 * "Benchmarking variable-length sequence LSTMs..." (vl_rnns), then the header
 * row "name avg_fwd std_fwd info_fwd avg_bwd std_bwd info_bwd". */
void nnb_table_begin(FILE *f, const char *group, const char *sep);

/* One row: name, mean and std of forward (ms, %.4g), None, the same for
 * backward ("n/a" for a forward-only runner). A failed or skipped runner gets
 * name, "FAILED:"/"SKIPPED:" and its error in full; a check-failed runner its
 * timings with info_fwd "CHECK FAILED", then a line with the error. A run that is not fp32 (--dtype) gets a
 * line under its row: "dtype bf16; check vs py: dx max_rel 0.0024 <= 0.0312" (the check part when checked,
 * its worst tensor relative to the tolerance); fp32 rows stay fastrnns'. */
void nnb_table_row(FILE *f, const nnb_runner_result *r, const char *sep);

/* --stats robust: "Benchmarking LSTMs... (medians ...)" and the header
 * "name median_fwd ci_fwd median_bwd ci_bwd gflops_fwd gflops_bwd" (+ "peak_fwd
 * peak_bwd" when with_peak), cells as in fastrnns' table. */
void nnb_table_begin_robust(FILE *f, const char *group, const char *sep, int with_peak);

/* One row: medians (ms, %.4g), their 95% intervals as "lo-hi" ("n/a" below 6
 * samples), GFLOP/s at the median and, when peak > 0, that as a percentage of
 * peak (GFLOP/s). Runners that are not ok get the lines nnb_table_row gives them. The dtype line of
 * nnb_table_row follows every row that is not fp32 or was checked. */
void nnb_table_row_robust(FILE *f, const nnb_runner_result *r, const char *sep, double peak);

/* The blank line fastrnns prints after a group. */
void nnb_table_end(FILE *f);

/* ---- fastrnns JSON outputs ---------------------------------------------------
 * Groups lstm / lstm-backward, resnet / resnet-backward, vl_lstm /
 * vl_lstm-backward; only runners with status ok (and, for -backward, only those
 * with a backward). Return 0, or -1 when writing to f failed. */

/* --print-json oss: one line, json.dumps style: {"lstm": {"py": 12.5}, ...}
 * with each runner's mean in ms. */
int nnb_report_oss(FILE *f, const nnb_run_results *res);

/* --print-json pep: per group, runner and measured iteration one line
 * Caffe2Observer {"type": "NET", "metric": "lstm-py", "unit": "ms", "value": "12.5"} */
int nnb_report_pep(FILE *f, const nnb_run_results *res);

/* --print-json pytest-benchmark: one pytest-benchmark JSON document (machine_info, commit_info, datetime,
 * version, benchmarks[] with group, name, fullname, params and stats in seconds with every sample in
 * stats.data), as PyTorch's benchmarks/upload_scribe.py reads it (docs/history.md). 0, or -1. */
int nnb_report_pytest_benchmark(FILE *f, const nnb_run_results *res);

/* Python repr() of a float: the shortest of %.1g..%.17g that reads back as the
 * same double, laid out as Python does (fixed for 1e-4 <= |x| < 1e16, else
 * exponent; "12.0", "0.1", "1e-07", "1e+16"). nan/inf give "nan"/"inf"/"-inf".
 * Writes at most len bytes (32 always suffice); returns the length it needed. */
int nnb_format_double_repr(char *buf, size_t len, double x);

/* ---- Full JSON results (docs/json-schema.md) ------------------------------- */

/* The full results as JSON text (cJSON_Print), malloc'ed: release with free().
 * NULL when out of memory. */
char *nnb_report_json_text(const nnb_run_results *res);

/* Write the full results to path atomically: a temporary file in the same
 * directory, fsync, rename over path. On failure path is left as it was and the
 * temporary file is removed. 0, or -1 with a one-line message naming path. */
int nnb_report_json_write(const char *path, const nnb_run_results *res, char *err, size_t err_len);

/* Write len bytes of text to path the same way (temporary file beside it, fsync, rename): readers see the
 * old file or the new one, never a part. 0, or -1 with a one-line message naming path. */
int nnb_write_file_atomic(const char *path, const char *text, size_t len, char *err, size_t err_len);

/* Can nnb_report_json_write write path? Its directory exists and is writable,
 * and path is not a directory (nor another non-regular file such as a device,
 * which the rename would replace). Called before anything runs. 0, or -1 with
 * a message naming path. */
int nnb_output_path_check(const char *path, char *err, size_t err_len);

/* ---- Run context --------------------------------------------------------------
 * Fills nnbench version, git SHA (at configure time), UTC date, host, CPU
 * model, threads and device; library and CUDA fields are left empty (the
 * driver fills them: nnb_probe_loaded_libraries, nnb_cuda_fill_context). */
void nnb_context_collect(nnb_run_context *ctx, int threads, const char *device);

#ifdef __cplusplus
}
#endif
#endif
