/*
 * In-memory results of one nnbench run: what the driver (bench/) measured,
 * handed to reporting/ and read by tools. The driver owns every pointer;
 * readers only read. Public so that reporting and tools need no driver header.
 */
#ifndef NNBENCH_RESULTS_H
#define NNBENCH_RESULTS_H

#include <nnbench/runner.h>
#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Statistics of one timed phase, in milliseconds. */
typedef struct nnb_phase_stats {
    int count;          /* measured iterations (--nloops, or as many as adaptive stopping took) */
    int capacity;       /* allocated length of samples_ms */
    double *samples_ms; /* (count) in iteration order */
    double mean, std;   /* std with N-1 in the denominator (0 when count < 2) */
    double min, median, max;
    double median_lo, median_hi; /* distribution-free 95% interval of the median (+-inf when count < 6) */
} nnb_phase_stats;

/* The most backward parts (nnb_runner_desc.backward_part_count) the driver times. */
#define NNB_MAX_BACKWARD_PARTS 4

/* Confidence level of every interval nnbench reports. */
#define NNB_CONFIDENCE 0.95

/* Verdicts are decisions about the noise threshold t, each at the interval's confidence: */
typedef enum nnb_verdict {
    NNB_VERDICT_UNDECIDED = 0, /* the interval reaches across 1 - t or 1 + t: more samples needed */
    NNB_VERDICT_SAME,          /* interval inside [1 - t, 1 + t]: any difference is within the noise threshold */
    NNB_VERDICT_FASTER,        /* interval wholly below 1 - t: B faster by more than t */
    NNB_VERDICT_SLOWER,        /* interval wholly above 1 + t: B slower by more than t */
} nnb_verdict;

static inline const char *nnb_verdict_name(nnb_verdict v) {
    return v == NNB_VERDICT_SAME     ? "same"
           : v == NNB_VERDICT_FASTER ? "faster"
           : v == NNB_VERDICT_SLOWER ? "slower"
                                     : "undecided";
}

/* A ratio B / A (or NEW / OLD) with its interval and verdict (stats/robust_stats.h computes them). */
typedef struct nnb_ratio_summary {
    int n;              /* pairs */
    const char *method; /* "hodges-lehmann" or "sign-test median" (static) */
    double ratio;       /* typical ratio B / A */
    double lo, hi;      /* confidence interval of the median ratio */
    double half_width;  /* (hi - lo) / 2 / ratio: relative half-width; +inf when unbounded */
    nnb_verdict verdict;
} nnb_ratio_summary;

typedef enum nnb_run_status {
    NNB_RUN_OK = 0,
    NNB_RUN_FAILED,       /* create, forward or backward returned an error */
    NNB_RUN_SKIPPED,      /* cannot run here (e.g. "cuda: no device") */
    NNB_RUN_CHECK_FAILED, /* --check: outputs differ from the reference */
    NNB_RUN_INTERRUPTED,  /* SIGINT/SIGTERM: stopped after an iteration (samples so far kept), or never started */
} nnb_run_status;

const char *nnb_run_status_name(nnb_run_status s); /* "ok", "failed", "skipped", "check_failed", "interrupted" */

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

/* --measure-peak: the peak a run's "% of peak" is of, the one of the run's precision (ABI 1.3): fp32 and tf32 the
 * fp32 FMA peak, bf16 the vdpbf16ps peak (and the AMX peak too when the runner's describe() says it ran on AMX),
 * fp16 the fp16 FMA peak. Strings are static; precision NULL when no peak applies (not measured, or the CPU lacks
 * the precision's instruction). */
typedef struct nnb_result_peak {
    const char *precision, *instruction; /* "bf16", "vdpbf16ps" */
    double gflops;
    const char *amx_instruction; /* "tdpbf16ps" when the runner ran on AMX and the AMX peak was measured; else NULL */
    double amx_gflops;
} nnb_result_peak;

typedef struct nnb_runner_result {
    const char *name, *group, *device, *description, *plugin_path; /* not owned */
    nnb_run_status status;
    char error[512]; /* one line, when status != ok */

    int has_backward; /* 0: forward-only runner, backward columns "n/a" */
    nnb_phase_stats fwd, bwd;
    double fwd_flops, bwd_flops; /* per pass; 0 unknown */
    double create_ms;            /* time spent in create() */
    char *runner_info_json;      /* describe() output or NULL (owned by the result) */

    const char *stop_reason; /* adaptive stopping: why measuring stopped (static string); NULL for fixed --nloops */
    double noise;            /* adaptive stopping: relative half-width of the median's interval, worst phase */

    int checked;    /* --check ran */
    int check_pass; /* every tensor passed */
    const char *check_reference;
    nnb_tensor_check *checks; /* (check_count) owned by the result */
    int check_count;

    int precision; /* nnb_precision the runner was asked to compute in (--dtype; an --ab side's own) */

    /* ABI 1.3 backward parts (a convolution's "bwd_data", "bwd_weights"): each part timed on its own in every
     * iteration, after the whole backward (full JSON: one entry per part name, docs/json-schema.md). */
    int part_count;
    char part_names[NNB_MAX_BACKWARD_PARTS][32];
    nnb_phase_stats parts[NNB_MAX_BACKWARD_PARTS];

    nnb_result_peak peak; /* --measure-peak: the peak of the run's precision (zeroed when none) */
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
    char device[8];         /* device the run used: "cpu" or "cuda" */
    double fma_peak_gflops; /* --measure-peak: measured fp32 FMA peak on `threads` threads; 0 not measured */
    /* --measure-peak, the other precisions on `threads` threads (vdpbf16ps, AMX tdpbf16ps, vfmadd231ph); 0 when
     * not measured or the CPU (or OS, for AMX) lacks the instruction */
    double bf16_dot_peak_gflops, bf16_amx_peak_gflops, fp16_fma_peak_gflops;
} nnb_run_context;

/* Adaptive stopping (nvbench's criteria) instead of a fixed --nloops. */
typedef struct nnb_adaptive {
    int enabled;
    double min_time_s; /* measured time (sum of samples) at least this */
    double max_noise;  /* relative half-width of each phase median's interval at most this (0.005 = 0.5%) */
    int min_samples;   /* at least this many measured iterations */
    double timeout_s;  /* stop anyway after this much wall time measuring */
} nnb_adaptive;

/* --ab A B: phases compared per round (ABBA), in this order. */
enum { NNB_AB_FORWARD = 0, NNB_AB_BACKWARD, NNB_AB_TOTAL, NNB_AB_PHASES };

/* One ABBA round: per phase, the mean of A's two iterations and of B's two. */
typedef struct nnb_ab_round {
    double a_ms[NNB_AB_PHASES], b_ms[NNB_AB_PHASES];
} nnb_ab_round;

typedef struct nnb_ab_result {
    const char *a_spec, *b_spec; /* as given: "jit", "jit@--fuser=old" */
    int phase;                   /* NNB_AB_*: the phase the verdict and the stopping rule follow */
    int has_backward;            /* both sides have a backward: backward and total were compared */
    double noise_threshold;      /* relative, 0.01 = 1% */
    int min_samples;
    double max_time_s;
    double fail_above; /* --fail-above R, 0 when not given */
    int rounds;
    nnb_ab_round *samples;                    /* (rounds), owned by the driver */
    nnb_ratio_summary summary[NNB_AB_PHASES]; /* ratio B / A per phase (n = 0: not compared) */
    double a_median_ms[NNB_AB_PHASES], b_median_ms[NNB_AB_PHASES];
    const char *stop_reason; /* "settled", "max-time", "round cap" */
    double elapsed_s;        /* measuring rounds, warm-up excluded */
    int fail_above_hit;      /* the followed phase's interval lies above fail_above */
} nnb_ab_result;

const char *nnb_ab_phase_name(int phase); /* "forward", "backward", "total" */

typedef struct nnb_run_results {
    nnb_config config;
    int warmup, nloops;
    nnb_adaptive adaptive;
    const nnb_ab_result *ab; /* --ab: the paired comparison, else NULL */
    const char *fuser, *executor;
    nnb_run_context context;
    nnb_group_result groups[4]; /* vl_rnns, rnns, cnns, convs at most */
    int group_count;
    int interrupted;             /* SIGINT/SIGTERM stopped the run early */
    const char *conv_descriptor; /* convs: config.conv's canonical descriptor (--conv), else NULL */
} nnb_run_results;

/* Group naming as fastrnns prints it. */
const char *nnb_group_title(const char *group);    /* "LSTM", "ResNet", "variable-length sequence LSTM" */
const char *nnb_group_json_key(const char *group); /* "lstm", "resnet", "vl_lstm" */

#ifdef __cplusplus
}
#endif
#endif
