/* Placeholder until ingest and history add/list/show/export land (helper i19-ingest replaces this file). */
#include "history.h"

#include "exit_codes.h"

#include <stdio.h>

static int not_built(const char *what) {
    fprintf(stderr, "nnbench history %s: not built yet\n", what);
    return NNB_EXIT_USAGE;
}
int nnb_history_add_main(int argc, char **argv) { return (void)argc, (void)argv, not_built("add"); }
int nnb_history_list_main(int argc, char **argv) { return (void)argc, (void)argv, not_built("list"); }
int nnb_history_show_main(int argc, char **argv) { return (void)argc, (void)argv, not_built("show"); }
int nnb_history_export_main(int argc, char **argv) { return (void)argc, (void)argv, not_built("export"); }
