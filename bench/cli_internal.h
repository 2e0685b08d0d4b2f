/*
 * The parts of nnbench's command line (cli.h) shared by its files: cli.c (the flag table and parsing),
 * cli_help.c (the help text), cli_conv.c (the convs group's flags), cli_variant.c (--ab runner specs), cli_sizes.c (memory checks), cli_sweep.c (sweep hooks).
 */
#ifndef NNB_CLI_INTERNAL_H
#define NNB_CLI_INTERNAL_H

#include "cli.h"

typedef enum { ARG_NONE, ARG_INT, ARG_U64, ARG_STR, ARG_LIST, ARG_OPT_JSON, ARG_NUM } arg_kind;

typedef struct flag_spec {
    const char *name; /* canonical spelling, dashes */
    arg_kind kind;
    const char *help;
} flag_spec;

/* The flag arg names in any spelling ("--max_batch=3", old names included), or NULL; case_blind also
 * matches "--hiddensize". */
const flag_spec *nnb_cli_lookup(const char *arg, int case_blind);

/* The flag table (every flag nnbench takes, in help order) and its length. */
const flag_spec *nnb_cli_flags(size_t *count);

/* Apply flag f with value v (NULL for a switch) to o, as the parser does. 0, or -1 with err. */
int nnb_cli_apply(nnb_options *o, const flag_spec *f, const char *v, char *err, size_t err_len);

#endif
