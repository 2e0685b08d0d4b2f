/* Driver internals shared by main.c and the tests. */
#ifndef NNB_DRIVER_H
#define NNB_DRIVER_H

#include "cli.h"
#include "device.h"
#include "loader.h"
#include "phase_stats.h"
#include <nnbench/results.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Folders searched for runner plugins, in order: the folder next to the
 * executable (../lib/nnbench/runners: build tree and install tree alike), the
 * configured install folder, $NNBENCH_RUNNER_PATH (colon-separated), then each
 * --runner-path. Never the current directory implicitly. */
int nnb_runner_dirs(const nnb_options *o, char dirs[][1024], int max_dirs);

/* Selected runners of one group, in run order. */
typedef struct nnb_selection {
    const char *group;
    const nnb_loaded_runner *runners[256];
    int count;
} nnb_selection;

/* Resolve --group/--rnns/--cnns/--convs/--variable-lstms (and --conv alone: the convs group) against the
 * registry for device. Returns the number of groups, or -1 with err (unknown runner or group, runner of
 * another device or group, the convs group without --conv). */
int nnb_select(const nnb_options *o, const nnb_registry *reg, const char *device, nnb_selection *sel, int max_sel,
               char *err, size_t err_len);

/* Time one runner: create, warmup + nloops iterations, describe, dump. */
typedef struct nnb_run_env {
    const nnb_options *opts;
    const nnb_registry *reg;
    nnb_config config; /* with cuda_stream set on cuda */
    nnb_cuda_timer *cuda_timer;
    double fma_peak_gflops; /* --measure-peak, 0 when not measured */
} nnb_run_env;

void nnb_run_runner(nnb_run_env *env, const nnb_loaded_runner *lr, nnb_runner_result *res);

/* The pieces of nnb_run_runner, for --ab (ab.c). Each failing one records its
 * error in res (status failed/skipped/check_failed) or in err. */
void nnb_result_init(nnb_runner_result *res, const nnb_loaded_runner *lr);
int nnb_prepare_runner(nnb_run_env *env, const nnb_runner_desc *d, nnb_runner_result *res); /* -1: do not run */
void *nnb_create_model(nnb_run_env *env, const nnb_runner_desc *d, nnb_runner_result *res); /* NULL: failed */
/* One timed forward and (when the runner has one) backward_setup + timed backward. 0 or -1 with err. */
int nnb_timed_passes(nnb_run_env *env, const nnb_runner_desc *d, void *model, double *fwd_ms, double *bwd_ms, char *err,
                     size_t err_len);
/* End of an iteration: --dump to DIR/<dump_name>/ when dump_name is not NULL, then zero_grad. */
int nnb_finish_iteration(nnb_run_env *env, const nnb_runner_desc *d, const char *dump_name, void *model, char *err,
                         size_t err_len);
void nnb_describe_runner(const nnb_runner_desc *d, void *model, nnb_runner_result *res);
/* Does the driver call d's backward under cfg? Not for forward-only runners, nor for convs runners under
 * --conv-dir fwd. */
int nnb_runs_backward(const nnb_config *cfg, const nnb_runner_desc *d);
/* ABI 1.3 backward parts: their count and names into res (0 parts when the runner has none or does not run its
 * backward). 0, or -1 with err (too many parts, a part without a name). */
int nnb_parts_init(nnb_run_env *env, const nnb_runner_desc *d, void *model, nnb_runner_result *res, char *err,
                   size_t err_len);
/* After the whole backward: zero_grad and backward_setup (untimed), then each part timed in order; measured
 * iterations keep the samples in res->parts. 0, or -1 with err. */
int nnb_timed_parts(nnb_run_env *env, const nnb_runner_desc *d, void *model, nnb_runner_result *res, int measured,
                    char *err, size_t err_len);
/* --check's verdict and per-tensor errors of a result that was checked (nothing otherwise). */
void nnb_print_check(FILE *f, const nnb_runner_result *r);
int nnb_push_sample(nnb_phase_stats *s, double ms); /* 0, or -1 out of memory */

/* --ab A B: both runner specs created, interleaved ABBA rounds until the
 * verdict settles or --max-time; fills res->ab and two runner results (one
 * group) with every sample. Returns the exit status (0, 1 a side failed, 2 bad
 * spec, 4 --fail-above hit). Prints the table on stderr. */
int nnb_run_ab(nnb_run_env *env, const char *device, nnb_run_results *res, char *err, size_t err_len);
void nnb_ab_free(nnb_run_results *res);

/* SIGINT/SIGTERM: the first one asks every loop to stop after its current
 * iteration (the runner is then "interrupted", with the samples it has); a
 * second one ends the process at once. */
void nnb_install_stop_handlers(void);
int nnb_stop_requested(void);     /* the signal received, or 0 */
void nnb_stop_notice_quiet(void); /* an isolated child: no notice of its own on stderr */
void nnb_mark_interrupted(nnb_runner_result *res, const char *when);

/* nnb_run_runner in a forked child that sends its result back through a pipe:
 * a runner that crashes, aborts or outlives timeout_s (> 0) is reported as
 * failed with the signal or the timeout, and the caller goes on. */
void nnb_run_runner_isolated(nnb_run_env *env, const nnb_loaded_runner *lr, nnb_runner_result *res, double timeout_s);

/* nnb_cuda_usable, asked in a short-lived child so that this process never
 * holds a CUDA context it would hand down to isolated children. Cached. */
int nnb_cuda_usable_probe(char *reason, size_t reason_len);

/* Set OPENBLAS_CORETYPE from the CPU's features when the user has not, before
 * any plugin loads OpenBLAS (Debian's 0.3.21 misdetects recent Xeons). Returns
 * the core chosen by us, or NULL if left alone. */
const char *nnb_tune_blas_env(void);

/* ctx->blas and ctx->onednn from the OpenBLAS and oneDNN already loaded in the
 * process (by the plugins), as they describe themselves; empty when not loaded. */
void nnb_probe_loaded_libraries(nnb_run_context *ctx);
const char *nnb_cpu_best_openblas_core(void);

/* `nnbench [flags]` (argv[0] is the program): the whole driver run (driver_main.c), called by cmd/nnbench.c.
 * Returns the exit status (cmdline/exit_codes.h). */
int nnb_driver_main(int argc, char **argv);

#ifdef __cplusplus
}
#endif
#endif
