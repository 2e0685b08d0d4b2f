/*
 * Minimal test support: counting checks, data paths, and loading runners from
 * the build tree. Every test executable ends with `return nnb_test_finish();`,
 * which prints "N passed, M failed" and returns non-zero on any failure.
 */
#ifndef NNB_TEST_SUPPORT_H
#define NNB_TEST_SUPPORT_H

#include "check.h"
#include "config.h"
#include "loader.h"
#include "npy.h"

#include <math.h>
#include <stdio.h>

extern int nnb_test_passed, nnb_test_failed;

void nnb_test_record(int ok, const char *file, int line, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 4, 5)))
#endif
    ;

#define CHECK(cond) nnb_test_record(!!(cond), __FILE__, __LINE__, "CHECK(%s)", #cond)
#define CHECK_MSG(cond, ...) nnb_test_record(!!(cond), __FILE__, __LINE__, __VA_ARGS__)
#define CHECK_NEAR(a, b, tol)                                                                                          \
    do {                                                                                                               \
        double a_ = (a), b_ = (b), t_ = (tol);                                                                         \
        nnb_test_record(fabs(a_ - b_) <= t_, __FILE__, __LINE__, "CHECK_NEAR(%s=%.9g, %s=%.9g, %g)", #a, a_, #b, b_,   \
                        t_);                                                                                           \
    } while (0)
#define CHECK_STR_CONTAINS(hay, needle) nnb_test_contains((hay), (needle), __FILE__, __LINE__)
void nnb_test_contains(const char *hay, const char *needle, const char *file, int line);

int nnb_test_finish(void);

/* $NNBENCH_TEST_DATA (tests/data), $NNBENCH_RUNNER_DIR, $NNBENCH_BIN, $NNBENCH_TEST_PLUGIN_DIR. */
const char *nnb_test_env(const char *name);

/* Load every runner plugin of the build tree; prints load diagnostics. */
void nnb_test_load_runners(nnb_registry *reg);

/* Find a runner or record a failure and return NULL. */
const nnb_runner_desc *nnb_test_runner(const nnb_registry *reg, const char *name);

/* Check runner against reference (nnb_check_runner) on cfg; records one test
 * result per tensor and prints the per-tensor errors. tol <= 0: default. */
void nnb_test_check_against(const nnb_registry *reg, const char *runner, const char *reference, const nnb_config *cfg,
                            double tol);

/* The same for descriptors already at hand (e.g. emulated ones); also fails when fewer than
 * min_tensors tensors were compared. Messages name sizes, fuser, executor and CUDA launch geometry. */
void nnb_test_check_descs(const nnb_runner_desc *got, const nnb_runner_desc *ref, const nnb_config *cfg, double tol,
                          int min_tensors);

/* nnb_config_defaults() with the LSTM sizes and seed set. */
nnb_config nnb_test_lstm_config(int64_t T, int64_t B, int64_t I, int64_t H, int64_t L, uint64_t seed);

/* The JSON document in a file (up to 64 MiB), parsed; NULL when it cannot be read or is not valid JSON.
 * Release with cJSON_Delete. */
struct cJSON *nnb_test_read_json(const char *path);

/* Run a shell command, capturing stdout and stderr (each up to cap bytes, NUL
 * terminated; either may be NULL). Returns the exit status, or -1. */
int nnb_test_run(const char *cmd, char *out, size_t out_cap, char *err, size_t err_cap);

/* The same with the command printf-formatted (out and err emptied first); -1 when it does not fit 8 KiB. */
int nnb_test_runf(char *out, size_t out_cap, char *err, size_t err_cap, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 5, 6)))
#endif
    ;

#endif
