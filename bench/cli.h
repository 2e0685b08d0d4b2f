/*
 * Command line: fastrnns bench.py's flags (same names, both dash and underscore
 * spellings, same defaults) plus nnbench's own. Parsing validates every value;
 * an error is one line naming the flag and the value.
 */
#ifndef NNB_CLI_H
#define NNB_CLI_H

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

typedef enum nnb_json_mode { NNB_JSON_NONE = 0, NNB_JSON_OSS, NNB_JSON_PEP } nnb_json_mode;

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
} nnb_options;

/* Fill defaults, parse argv. 0 on success; -1 with a one-line message in err. */
int nnb_cli_parse(int argc, char **argv, nnb_options *o, char *err, size_t err_len);

/* Check sizes against size_t and this machine's memory; 0 or -1 with err. */
int nnb_cli_check_sizes(const nnb_options *o, char *err, size_t err_len);

void nnb_cli_print_help(FILE *f);

#ifdef __cplusplus
}
#endif
#endif
