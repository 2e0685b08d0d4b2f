/*
 * nnbench history: a results store of every run over time (docs/history.md).
 *   nnbench history add [--store S] [--commit SHA] [--date ISO-8601] [--label TEXT] [--unit s|ms] FILE...
 *   nnbench history changes [--store S] [--series FILTER] [--since DATE] [--json] [--fail-above R] ...
 *   nnbench history list|show|export ...
 * Each subcommand's entry takes the words after its name (argv[0] is the first of them, as getopt-free
 * parsers in this project do: argc/argv exclude the subcommand word) and returns a code of
 * cmdline/exit_codes.h. The store is --store FILE (SQLite, default nnbench-history.sqlite in the current
 * folder) or --store postgresql://... (libpq).
 */
#ifndef NNB_HISTORY_H
#define NNB_HISTORY_H

#define NNB_HISTORY_DEFAULT_STORE "nnbench-history.sqlite"

/* `nnbench history ...`: routes to the subcommands below (history_main.c). */
int nnb_history_main(int argc, char **argv);

int nnb_history_add_main(int argc, char **argv);     /* ingest/ */
int nnb_history_list_main(int argc, char **argv);    /* ingest/ */
int nnb_history_show_main(int argc, char **argv);    /* ingest/ */
int nnb_history_export_main(int argc, char **argv);  /* ingest/ */
int nnb_history_changes_main(int argc, char **argv); /* changes/ */

#endif
