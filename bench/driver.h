/* Driver internals shared by main.c and the tests. */
#ifndef NNB_DRIVER_H
#define NNB_DRIVER_H

#include "cli.h"
#include "device.h"
#include "loader.h"
#include "results.h"

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

/* Resolve --group/--rnns/--cnns/--variable-lstms against the registry for
 * device. Returns the number of groups, or -1 with err (unknown runner or
 * group, runner of another device or group). */
int nnb_select(const nnb_options *o, const nnb_registry *reg, const char *device, nnb_selection *sel, int max_sel,
               char *err, size_t err_len);

/* Time one runner: create, warmup + nloops iterations, describe, dump. */
typedef struct nnb_run_env {
    const nnb_options *opts;
    const nnb_registry *reg;
    nnb_config config; /* with cuda_stream set on cuda */
    nnb_cuda_timer *cuda_timer;
} nnb_run_env;

void nnb_run_runner(nnb_run_env *env, const nnb_loaded_runner *lr, nnb_runner_result *res);

/* Set OPENBLAS_CORETYPE from the CPU's features when the user has not, before
 * any plugin loads OpenBLAS (Debian's 0.3.21 misdetects recent Xeons). Returns
 * the core chosen by us, or NULL if left alone. */
const char *nnb_tune_blas_env(void);
const char *nnb_cpu_best_openblas_core(void);

#ifdef __cplusplus
}
#endif
#endif
