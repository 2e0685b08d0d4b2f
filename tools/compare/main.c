/* `nnbench compare OLD NEW` and nnbench-compare OLD NEW (nnb_compare_main): how NEW's times compare with
 * OLD's (see compare.h, docs/compare.md). */
#include "compare.h"

#include <stdio.h>

static int error_exit(const char *message) {
    fprintf(stderr, "nnbench-compare: %s\n", message);
    return NNB_CMP_EXIT_ERROR;
}

int nnb_compare_main(int argc, char **argv) {
    char err[1024];
    nnb_cmp_cli cli;
    if (nnb_cmp_parse_args(argc, argv, &cli, err, sizeof err))
        return error_exit(err);
    if (cli.help) {
        nnb_cmp_usage(stdout);
        return NNB_CMP_EXIT_OK;
    }
    nnb_cmp_file old_file, new_file;
    if (nnb_cmp_load(cli.old_path, &old_file, err, sizeof err))
        return error_exit(err);
    if (nnb_cmp_load(cli.new_path, &new_file, err, sizeof err) ||
        (cli.old_unit_given && nnb_cmp_set_unit(&old_file, cli.old_unit, "OLD", err, sizeof err)) ||
        (cli.new_unit_given && nnb_cmp_set_unit(&new_file, cli.new_unit, "NEW", err, sizeof err))) {
        nnb_cmp_file_free(&new_file);
        nnb_cmp_file_free(&old_file);
        return error_exit(err);
    }
    nnb_cmp_report report;
    int status = NNB_CMP_EXIT_ERROR;
    if (nnb_cmp_compare(&old_file, &new_file, &cli.options, &report, err, sizeof err)) {
        error_exit(err);
    } else if (nnb_cmp_print(stdout, &report, cli.format)) {
        error_exit("cannot write the comparison to stdout");
    } else {
        /* Also on stderr: stdout is often a file (a PR comment) nobody reads before trusting the exit status. */
        for (int i = 0; i < report.warning_count; i++)
            fprintf(stderr, "nnbench-compare: warning: %s\n", report.warnings[i]);
        status = report.regressions ? NNB_CMP_EXIT_REGRESSED : NNB_CMP_EXIT_OK;
    }
    nnb_cmp_report_free(&report);
    nnb_cmp_file_free(&new_file);
    nnb_cmp_file_free(&old_file);
    return status;
}
