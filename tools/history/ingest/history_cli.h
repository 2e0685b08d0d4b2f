/* The flag parser history add/list/show/export share (cmdline/ conventions: both spellings, --flag=value,
 * -h/--help, did-you-mean), and the store opening they share. Internal to ingest/. */
#ifndef NNB_HISTORY_CLI_H
#define NNB_HISTORY_CLI_H

#include "store.h"

#include <stdio.h>

typedef struct history_flag {
    const char *name, *metavar, *help; /* metavar NULL: a switch */
    const char **value;                /* where the value goes ("1" for a switch) */
} history_flag;

typedef struct history_command {
    const char *name;     /* "add" */
    const char *synopsis; /* after "usage: nnbench history add " */
    const char *about;    /* paragraphs after the flags */
    const history_flag *flags;
    int flag_count;
} history_command;

/* Parses argv into the flags' values and positionals (at most cap; *npos set). Returns -1 when the help was
 * printed (exit 0), 0 when parsed, or NNB_EXIT_USAGE after printing the error. */
int history_parse(const history_command *c, int argc, char **argv, const char **pos, int cap, int *npos);

/* Opens the store (spec NULL: the default in the current folder); prints the error and returns -1. */
int history_open(const char *prog, const char *spec, nnb_store **out);

/* Prints an error as "nnbench history NAME: message" on stderr. */
void history_error(const char *name, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
