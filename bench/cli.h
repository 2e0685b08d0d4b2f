/*
 * Command line: fastrnns bench.py's flags (same names, both dash and underscore
 * spellings, same defaults) plus nnbench's own. Parsing validates every value;
 * an error is one line naming the flag and the value.
 */
#ifndef NNB_CLI_H
#define NNB_CLI_H

#include <nnbench/results.h>

#include <nnbench/runner.h>
#include <stddef.h>
#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

#define NNB_MAX_NAMES 64
#define NNB_MAX_RUNNER_PATHS 16

typedef struct nnb_name_list {
    int given; /* the flag appeared */
    int count;
    const char *names[NNB_MAX_NAMES];
} nnb_name_list;

typedef enum nnb_json_mode { NNB_JSON_NONE = 0, NNB_JSON_OSS, NNB_JSON_PEP, NNB_JSON_PYTEST } nnb_json_mode;

typedef struct nnb_options {
    nnb_config config;
    int warmup, nloops;
    const char *device; /* NULL: pick cuda if usable, else cpu */
    int variable_lstms;
    const char *sep;
    nnb_json_mode print_json;
    nnb_name_list rnns, cnns, groups;
    int threads_given;
    const char *json_out;
    const char *dump_dir;
    int check;
    int list;
    int help, version;
    int profile;
    const char *runner_paths[NNB_MAX_RUNNER_PATHS];
    int runner_path_count;
    unsigned char flag_given[96]; /* by position in the flag table: the flag appeared */

    /* Adaptive stopping of ordinary runs: on when any of --min-time, --max-noise,
     * --min-samples, --timeout is given (nvbench's defaults for the others). */
    nnb_adaptive adaptive;

    /* --ab A B: a paired, interleaved comparison of two runner specs. */
    nnb_name_list ab;       /* exactly two specs when given */
    double noise_threshold; /* relative; --noise-threshold is given in percent */
    int min_samples;        /* shared by --ab and adaptive stopping */
    double max_time_s;
    double fail_above; /* 0: not given */
    int ab_phase;      /* NNB_AB_* */

    int isolate;             /* -1: when more than one runner runs (or --runner-timeout); 0 --no-isolate; 1 --isolate */
    double runner_timeout_s; /* 0: none */

    int stats_robust; /* --stats robust: medians and intervals in the table */
    int measure_peak; /* --measure-peak */
    int progress;     /* --progress: NNB_PROGRESS_* (progress.h), auto by default */
    int ab_any_group; /* --ab-any-group: A and B may be of different groups */

    /* Issue 21: the convs group (cli_conv.c, docs/convs.md). config.conv points at conv_problem once --conv is
     * parsed; conv_canonical is its canonical descriptor (tables, JSON, sweeps). */
    nnb_name_list convs;           /* --convs NAME... */
    const char *conv_text;         /* --conv DESC as given, NULL when not given */
    long long conv_batch;          /* --conv-batch N: replaces the descriptor's mb; 0 not given */
    int conv_no_bias;              /* --conv-no-bias */
    nnb_conv_problem conv_problem; /* deduced and checked */
    char conv_name[128];           /* conv_problem.name's storage */
    char conv_canonical[512];      /* e.g. mb32ic64ih56oc64oh56kh3ph1n"resnet_50:res2a_branch2b" */
} nnb_options;

/* A runner spec of --ab: NAME, then any number of @--flag=value (a flag that
 * sets the runner's config: sizes, --fuser, --executor, --threads, --seed,
 * --tf32, CUDA launch geometry) or @VAR=VALUE (an environment variable set
 * while the runner is created), e.g. "jit@--fuser=old", "resnet18@NNB_RESNET_INPUT_GRAD=onednn". */
#define NNB_MAX_VARIANT_ENV 8
typedef struct nnb_variant {
    char text[256];     /* private copy of the spec, cut into the pieces below */
    const char *spec;   /* the spec as given (points into spec_copy) */
    int side;           /* 0: A, 1: B */
    const char *runner; /* runner name */
    nnb_config config;  /* the base config with the flag modifiers applied */
    int env_count;
    const char *env_name[NNB_MAX_VARIANT_ENV], *env_value[NNB_MAX_VARIANT_ENV];
    char spec_copy[256];
} nnb_variant;

/* Parse spec against the run's options. 0, or -1 with a message naming the spec and the bad piece. */
int nnb_cli_parse_variant(const char *spec, const nnb_options *base, nnb_variant *out, char *err, size_t err_len);

/* Was the flag (canonical spelling, e.g. "--nloops") on the command line? */
int nnb_cli_given(const nnb_options *o, const char *flag);

/* Fill defaults, parse argv. 0 on success; -1 with a one-line message in err. */
int nnb_cli_parse(int argc, char **argv, nnb_options *o, char *err, size_t err_len);

/* Check sizes against size_t and this machine's memory; 0 or -1 with err. */
int nnb_cli_check_sizes(const nnb_options *o, char *err, size_t err_len);

/* nnbench sweep: NAME (with or without dashes, either spelling) as the canonical spelling of a flag that
 * takes one value and that a sweep point may set ("hiddenSize" -> "--hiddenSize"). 0, or -1 with err. */
int nnb_cli_axis_flag(const char *name, char *canonical, size_t cap, char *err, size_t err_len);

/* nnbench sweep: may the flag (an argument starting with --) be among the runs' common arguments?
 * Not --json-out, --print-json, --dump, --list, --help, --version, --profile, --ab. 0, or -1 with err. */
int nnb_cli_sweep_base_flag(const char *flag, char *err, size_t err_len);

/* A NULL-terminated copy of argv (malloc'd strings), or NULL when out of memory; nnb_cli_free_argv. */
char **nnb_cli_copy_argv(int argc, char **argv);
void nnb_cli_free_argv(char **argv);

/* nnbench sweep: would a run with this whole argv (argv[0] ignored) start? Parses a copy as nnb_cli_parse
 * does and checks the sizes. 0, or -1 with err. Not reentrant (one static nnb_options). */
int nnb_cli_check_run_argv(int argc, char **argv, char *err, size_t err_len);

void nnb_cli_print_help(FILE *f);

/* The convs group's flags (cli_conv.c): --conv, --conv-dir, --conv-algo given a value. 0, or -1 with err. */
int nnb_cli_conv_flag(nnb_options *o, const char *flag, const char *v, char *err, size_t err_len);
/* After parsing: the problem from --conv (with --conv-batch, --conv-no-bias) into o->config.conv. 0, or -1 with
 * err. */
int nnb_cli_conv_finish(nnb_options *o, char *err, size_t err_len);
/* The error for a convs selection without --conv: names the flag and an example. */
void nnb_cli_conv_missing(char *err, size_t err_len);
/* The problem's tensors against this machine's memory (phys bytes). 0, or -1 with err. */
int nnb_cli_conv_check_memory(const nnb_options *o, unsigned long long phys, char *err, size_t err_len);
/* --conv-dir's spelling of conv_dirs: "fwd", "bwd_d", "bwd_w" or "all". */
const char *nnb_conv_dir_name(uint32_t dirs);

/* Is arg (any spelling, "=value" ignored) one of nnbench's flags? */
int nnb_cli_is_flag(const char *arg);
/* The canonical names of nnbench's flags ("--hiddenSize", ...), at most cap; how many were stored.
 * They are static strings. */
size_t nnb_cli_flag_names(const char **out, size_t cap);

#ifdef __cplusplus
}
#endif
#endif
