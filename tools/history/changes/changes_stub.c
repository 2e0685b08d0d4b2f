/* Placeholder until history changes lands (helper i19-changes replaces this file). */
#include "history.h"

#include "exit_codes.h"

#include <stdio.h>

int nnb_history_changes_main(int argc, char **argv) {
    (void)argc, (void)argv;
    fprintf(stderr, "nnbench history changes: not built yet\n");
    return NNB_EXIT_USAGE;
}
