/*
 * nnbench-compare's core (library nnb_compare_core): read two result files,
 * compare them per (group, runner, phase), and print the comparison.
 *
 * Inputs, detected per file:
 *   - nnbench full JSON (docs/json-schema.md, "schema": "nnbench-results"):
 *     every sample; a phase's time is the median of its finite samples.
 *   - fastrnns OSS JSON (nnbench --print-json, or fastrnns.bench --print-json):
 *     {"lstm": {"jit": 3.1}, "lstm-backward": {...}}: one mean per runner and
 *     phase, no samples; ms unless nnb_cmp_set_unit says seconds.
 *   - nnbench sweep files (docs/sweeps.md, "schema": "nnbench-sweep", compare_sweep.c):
 *     each runner record tagged with its point; repeats of a point pooled.
 *   - nnbench serve files (docs/serving.md, "schema": "nnbench-serve", compare_serve.c):
 *     latency percentiles, throughput and per-request latencies.
 * A sweep is compared only with a sweep, a serve file only with a serve file.
 * Both are keyed by nnbench group names ("rnns", "cnns", "vl_rnns"): OSS keys
 * "lstm", "resnet", "vl_lstm" map to them; other keys are taken as group names.
 *
 * Times must be finite and not negative (else the file is malformed). A zero
 * time or sample is kept as "zero time": that phase is listed, not compared.
 *
 * Errors: every function that can fail returns 0 on success and -1 on failure,
 * with a one-line message (no trailing newline) in err: "<file>: <what>", or
 * "<file>:<line>:<col>: <what>" for JSON syntax errors.
 *
 * Ownership: an nnb_cmp_file owns all its strings and samples (free with
 * nnb_cmp_file_free). An nnb_cmp_report owns its rows, but the rows' group and
 * runner names point into the two files it was made from: free the report
 * (nnb_cmp_report_free) before the files.
 */
#ifndef NNB_COMPARE_H
#define NNB_COMPARE_H

#include "exit_codes.h"

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Largest input file read; bigger ones are refused before reading. */
#define NNB_CMP_MAX_FILE_BYTES (256u << 20)

/* Exit statuses of nnbench-compare: the codes every nnbench command shares (docs/exit-codes.md); a
 * confirmed regression is the same 4 as `nnbench --ab --fail-above`. */
enum { NNB_CMP_EXIT_OK = NNB_EXIT_OK, NNB_CMP_EXIT_ERROR = NNB_EXIT_USAGE, NNB_CMP_EXIT_REGRESSED = NNB_EXIT_REGRESSION };

typedef enum nnb_cmp_kind {
    NNB_CMP_FULL_JSON,  /* nnbench full JSON: samples, time = median */
    NNB_CMP_OSS_JSON,   /* fastrnns OSS JSON: time = mean, no samples */
    NNB_CMP_SWEEP_JSON, /* nnbench sweep file: full JSON (or, sweep --serve, a serve file) per run, by point */
    NNB_CMP_SERVE_JSON, /* nnbench serve file: latency percentiles, throughput, per-request latencies */
} nnb_cmp_kind;

enum { NNB_CMP_FORWARD = 0, NNB_CMP_BACKWARD = 1, NNB_CMP_PHASES = 2 };

/* One phase of one runner in one file. */
typedef struct nnb_cmp_phase {
    int present;      /* the file has this phase (an object, or an OSS value) */
    double time_ms;   /* median of the samples (full JSON; median_ms when no sample is finite) or mean (OSS);
                         NaN when the file gives no time (null) or a zero one */
    int zero_time;    /* a sample or the time is 0 (below the timer's resolution): no time, no samples kept */
    double *samples;  /* finite samples in file order, NULL when none (OSS) */
    int sample_count; /* null samples (NaN) are skipped */
} nnb_cmp_phase;

typedef struct nnb_cmp_runner {
    char *point;  /* sweeps: the point's settings, "key=value ..." sorted by key; NULL in other files */
    char *group;  /* nnbench group name: "rnns", "cnns", "vl_rnns" or the file's own */
    char *name;   /* runner name */
    char *status; /* "ok", or the full JSON status ("failed", "skipped", ...): phases then unused */
    nnb_cmp_phase phase[NNB_CMP_PHASES];
} nnb_cmp_runner;

/* One configuration key of a file and its value as text ("8", "te", "null"). */
typedef struct nnb_cmp_setting {
    char *key, *value;
} nnb_cmp_setting;

/* A serve run's measurements (docs/serving.md); in a sweep of serve runs, a point's repeats pooled. */
typedef struct nnb_cmp_serve {
    char *point;           /* sweeps: the point's settings, as nnb_cmp_runner.point; NULL in a serve file */
    char *runner;          /* config.runner */
    double p50_ms, p99_ms; /* summary.latency_ms; NaN when null */
    double throughput;     /* summary.whole_samples_per_s (samples/s), mean over pooled repeats; NaN when null */
    int repeats;           /* runs pooled (1 in a serve file) */
    double *latency_ms;    /* measured requests' response - arrival, NULL when none */
    int latency_count;
} nnb_cmp_serve;

typedef struct nnb_cmp_file {
    char *path; /* as given, for messages */
    nnb_cmp_kind kind;
    nnb_cmp_runner *runners; /* in file order; (point, group, name) triples are unique */
    int runner_count;
    int seconds;             /* OSS times were given in seconds (nnb_cmp_set_unit) and converted to ms */
    int unit_given;          /* nnb_cmp_set_unit was called: the unit was stated, not assumed */
    int config_known;        /* the file records its configuration (not OSS JSON) */
    nnb_cmp_setting *config; /* the keys compare_config.c compares, in file order */
    int config_count;
    nnb_cmp_serve *serve; /* a serve file: one; a sweep of serve runs: one per point; else NULL */
    int serve_count;
} nnb_cmp_file;

/* Reads and parses the file at path (a regular file up to NNB_CMP_MAX_FILE_BYTES,
 * or a pipe). On failure *out is left empty (safe to free). */
int nnb_cmp_load(const char *path, nnb_cmp_file *out, char *err, size_t err_len);

/* Parses text[0..len) (need not be NUL-terminated); name is used in messages. */
int nnb_cmp_parse(const char *text, size_t len, const char *name, nnb_cmp_file *out, char *err, size_t err_len);

void nnb_cmp_file_free(nnb_cmp_file *f);

typedef enum nnb_cmp_unit { NNB_CMP_UNIT_MS, NNB_CMP_UNIT_S } nnb_cmp_unit;

/* States the unit of f's times (--old-unit / --new-unit; side is "OLD" or "NEW"). OSS times in
 * seconds are converted to ms. Every other kind is always ms: NNB_CMP_UNIT_S is refused for them
 * (-1 with a message), NNB_CMP_UNIT_MS accepted. */
int nnb_cmp_set_unit(nnb_cmp_file *f, nnb_cmp_unit unit, const char *side, char *err, size_t err_len);

/* "ms" or "s"; 0, or -1 for anything else. */
int nnb_cmp_parse_unit(const char *text, nnb_cmp_unit *unit);

/* "nnbench full JSON", "fastrnns OSS JSON", "nnbench sweep file", "nnbench serve file" */
const char *nnb_cmp_kind_name(nnb_cmp_kind kind);
const char *nnb_cmp_phase_name(int phase); /* "forward", "backward" */

/* ---- Comparison --------------------------------------------------------------- */

#define NNB_CMP_RESAMPLES 2000
#define NNB_CMP_CONFIDENCE 0.95
#define NNB_CMP_SEED UINT64_C(0x6e6e6263)

typedef struct nnb_cmp_options {
    double noise_threshold; /* fraction, e.g. 0.01: CI inside [1 - t, 1 + t] is "same" */
    double fail_above;      /* ratio; 0: off. A row regresses when its CI lower bound (with
                               samples) or its ratio (without) is above it */
    int resamples;          /* bootstrap resamples */
    double confidence;      /* interval level */
    uint64_t seed;          /* bootstrap seed: same inputs, same output */
} nnb_cmp_options;

nnb_cmp_options nnb_cmp_default_options(void); /* 1%, off, 2000, 0.95, NNB_CMP_SEED */

typedef enum nnb_cmp_row_kind {
    NNB_CMP_COMPARED, /* both files time this phase: ratio (and CI when both have samples) */
    NNB_CMP_ONLY_OLD, /* runner only in OLD (phase -1) */
    NNB_CMP_ONLY_NEW, /* runner only in NEW (phase -1) */
    NNB_CMP_NOT_OK,   /* status not "ok" in OLD or NEW (phase -1) */
    NNB_CMP_NO_TIME,  /* the phase lacks a time in OLD, NEW or both (phase -1: no phase in either file) */
} nnb_cmp_row_kind;

typedef struct nnb_cmp_row {
    const char *point;          /* sweeps: the point (borrowed), else NULL */
    const char *group, *runner; /* borrowed from the files (serve rows: group is "serve") */
    int phase;                  /* NNB_CMP_FORWARD / NNB_CMP_BACKWARD, or -1 for a whole-runner row */
    const char *metric;         /* serve rows: "p50 latency ms", ... (printed instead of the phase) */
    int higher_is_better;       /* serve throughput: a regression is a ratio below 1 / --fail-above */
    nnb_cmp_row_kind kind;
    double old_ms, new_ms; /* NaN where absent; serve rows: the metric's value (ms, or samples/s) */
    double ratio;          /* new_ms / old_ms (COMPARED), else NaN */
    double lo, hi;         /* bootstrap interval of the ratio of medians; NaN without samples */
    int has_ci;            /* both sides have >= 2 samples */
    const char *verdict;   /* "faster", "slower", "same", "undecided", "no samples" (COMPARED) */
    char note[160];        /* what the row says instead of a verdict, e.g. "only in OLD", "not ok in NEW: failed" */
    int regressed;         /* beyond --fail-above */
} nnb_cmp_row;

typedef struct nnb_cmp_geomean {
    double value; /* geometric mean of the ratios; NaN when count is 0 */
    int count;
} nnb_cmp_geomean;

#define NNB_CMP_MAX_WARNINGS 4 /* units and configuration: at most two today */

typedef struct nnb_cmp_report {
    const nnb_cmp_file *old_file, *new_file;
    nnb_cmp_options options;
    nnb_cmp_row *rows; /* groups in OLD's order then NEW's new ones; runners likewise; forward before backward */
    int row_count;
    nnb_cmp_geomean geomean[NNB_CMP_PHASES + 1]; /* forward, backward, overall */
    int regressions;                             /* rows with regressed set */
    char config_note[512];                       /* one line on the two configurations */
    char warnings[NNB_CMP_MAX_WARNINGS][1024];   /* what may make the ratios meaningless */
    int warning_count;
} nnb_cmp_report;

/* Compares new_file with old_file. Fails when the kinds cannot be compared (a sweep
 * with anything but a sweep, a serve file with anything but a serve file), and on
 * out of memory or a bootstrap error (which validated files cannot cause). */
int nnb_cmp_compare(const nnb_cmp_file *old_file, const nnb_cmp_file *new_file, const nnb_cmp_options *opt,
                    nnb_cmp_report *out, char *err, size_t err_len);

void nnb_cmp_report_free(nnb_cmp_report *r);

/* ---- Output ---------------------------------------------------------------------- */

typedef enum nnb_cmp_format { NNB_CMP_TEXT, NNB_CMP_MARKDOWN } nnb_cmp_format;

/* Header, table, geometric means and, with --fail-above, the rows that
 * triggered it. Returns 0, or -1 when writing failed. */
int nnb_cmp_print(FILE *f, const nnb_cmp_report *r, nnb_cmp_format format);

/* ---- Command line ---------------------------------------------------------------- */

typedef struct nnb_cmp_cli {
    const char *old_path, *new_path;
    nnb_cmp_format format;
    nnb_cmp_options options;
    int old_unit_given, new_unit_given; /* --old-unit / --new-unit */
    nnb_cmp_unit old_unit, new_unit;
    int help; /* --help given: print nnb_cmp_usage and stop */
} nnb_cmp_cli;

/* Parses argv (argv[0] is the program). -1 with a message naming the flag on a bad command line. */
int nnb_cmp_parse_args(int argc, char **argv, nnb_cmp_cli *cli, char *err, size_t err_len);

void nnb_cmp_usage(FILE *f);

/* The whole command (argv[0] is the program or "compare"): parse, load, compare, print; the exit status. */
int nnb_compare_main(int argc, char **argv);

#ifdef __cplusplus
}
#endif
#endif
