/*
 * In-memory results of one nnbench run: what the driver measured, handed to
 * reporting/. The driver owns every pointer; reporting only reads.
 */
#ifndef NNB_RESULTS_H
#define NNB_RESULTS_H

#include <nnbench/runner.h>
#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Statistics of one timed phase, in milliseconds. */
typedef struct nnb_phase_stats {
    int count;          /* measured iterations (--nloops) */
    double *samples_ms; /* (count) in iteration order */
    double mean, std;   /* std with N-1 in the denominator (0 when count < 2) */
    double min, median, max;
} nnb_phase_stats;

typedef enum nnb_run_status {
    NNB_RUN_OK = 0,
    NNB_RUN_FAILED,       /* create, forward or backward returned an error */
    NNB_RUN_SKIPPED,      /* cannot run here (e.g. "cuda: no device") */
    NNB_RUN_CHECK_FAILED, /* --check: outputs differ from the reference */
} nnb_run_status;

const char *nnb_run_status_name(nnb_run_status s); /* "ok", "failed", "skipped", "check_failed" */

/* --check result for one tensor. */
typedef struct nnb_tensor_check {
    char name[48];
    double max_abs_err; /* max |got - ref| */
    double max_rel_err; /* max_abs_err / max(max |ref|, tiny) */
    double l2_rel_err;  /* ||got - ref||_2 / max(||ref||_2, tiny) */
    int l2;             /* 1: l2_rel_err is what must be <= tolerance, else max_rel_err */
    double tolerance;
    int pass;
} nnb_tensor_check;

typedef struct nnb_runner_result {
    const char *name, *group, *device, *description, *plugin_path; /* not owned */
    nnb_run_status status;
    char error[512]; /* one line, when status != ok */

    int has_backward; /* 0: forward-only runner, backward columns "n/a" */
    nnb_phase_stats fwd, bwd;
    double fwd_flops, bwd_flops; /* per pass; 0 unknown */
    double create_ms;            /* time spent in create() */
    char *runner_info_json;      /* describe() output or NULL (owned by the result) */

    int checked;    /* --check ran */
    int check_pass; /* every tensor passed */
    const char *check_reference;
    nnb_tensor_check *checks; /* (check_count) owned by the result */
    int check_count;
} nnb_runner_result;

/* One benchmark group as fastrnns names it. */
typedef struct nnb_group_result {
    const char *group; /* NNB_GROUP_RNNS, NNB_GROUP_CNNS, NNB_GROUP_VL_RNNS */
    nnb_runner_result *runners;
    int count;
} nnb_group_result;

/* Where and with what the run happened (full JSON "context"). Strings may be
 * empty, never NULL. */
typedef struct nnb_run_context {
    char nnbench_version[32];
    char git_sha[48];
    char date[40]; /* ISO 8601 UTC */
    char host[128];
    char cpu_model[128];
    int threads;
    char blas[128];  /* e.g. "OpenBLAS 0.3.21 (core SkylakeX)" */
    char onednn[64]; /* e.g. "2.6.3" */
    char cuda_runtime[32], cuda_driver[32], cudnn[32], cublas[32];
    char gpu_name[128];
    char gpu_sm[16];
    char device[8]; /* device the run used: "cpu" or "cuda" */
} nnb_run_context;

typedef struct nnb_run_results {
    nnb_config config;
    int warmup, nloops;
    const char *fuser, *executor;
    nnb_run_context context;
    nnb_group_result groups[3];
    int group_count;
} nnb_run_results;

/* Group naming as fastrnns prints it. */
const char *nnb_group_title(const char *group);    /* "LSTM", "ResNet", "variable-length sequence LSTM" */
const char *nnb_group_json_key(const char *group); /* "lstm", "resnet", "vl_lstm" */

#ifdef __cplusplus
}
#endif
#endif
