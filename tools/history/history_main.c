/* `nnbench history SUBCOMMAND ...`: one word picks the subcommand; each parses its own flags. */
#include "history.h"

#include "cmdline.h"
#include "exit_codes.h"

#include <stdio.h>
#include <string.h>

typedef struct subcommand {
    const char *name;
    int (*main)(int argc, char **argv);
    const char *summary;
} subcommand;

static const subcommand subcommands[] = {
    {"add", nnb_history_add_main,
     "add result files to the store (nnbench, sweep, serve, fastrnns OSS, pytest-benchmark)"},
    {"changes", nnb_history_changes_main, "change points per series (E-Divisive means, Student's t-test)"},
    {"list", nnb_history_list_main, "the series in the store"},
    {"show", nnb_history_show_main, "one series' runs"},
    {"export", nnb_history_export_main, "the store (or some series) back to JSON"},
};
#define SUBCOMMAND_COUNT (sizeof subcommands / sizeof *subcommands)

static void usage(FILE *f) {
    fprintf(f, "usage: nnbench history SUBCOMMAND [flags]   (nnbench history SUBCOMMAND --help)\n\nsubcommands:\n");
    for (size_t i = 0; i < SUBCOMMAND_COUNT; i++)
        fprintf(f, "  %-10s %s\n", subcommands[i].name, subcommands[i].summary);
    fprintf(f,
            "\nThe store: --store FILE (SQLite; default %s in the current folder) or\n"
            "--store postgresql://... (PostgreSQL). docs/history.md\n",
            NNB_HISTORY_DEFAULT_STORE);
}

int nnb_history_main(int argc, char **argv) {
    if (argc < 1) {
        usage(stderr);
        return NNB_EXIT_USAGE;
    }
    if (nnb_cmd_is_help(argv[0]) || !strcmp(argv[0], "help")) {
        usage(stdout);
        return NNB_EXIT_OK;
    }
    const char *names[SUBCOMMAND_COUNT];
    for (size_t i = 0; i < SUBCOMMAND_COUNT; i++) {
        names[i] = subcommands[i].name;
        if (!strcmp(argv[0], subcommands[i].name))
            return subcommands[i].main(argc - 1, argv + 1);
    }
    char msg[256];
    snprintf(msg, sizeof msg, "nnbench history: unknown subcommand '%s'", argv[0]);
    nnb_cmd_append_suggestion(msg, sizeof msg, argv[0], names, SUBCOMMAND_COUNT);
    fprintf(stderr, "%s (subcommands: add, changes, list, show, export)\n", msg);
    return NNB_EXIT_USAGE;
}
