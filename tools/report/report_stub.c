/* Placeholder until nnbench report lands (helper i19-report replaces this file). */
#include "html_report.h"

#include "exit_codes.h"

#include <stdio.h>

int nnb_report_main(int argc, char **argv) {
    (void)argc, (void)argv;
    fprintf(stderr, "nnbench report: not built yet\n");
    return NNB_EXIT_USAGE;
}
