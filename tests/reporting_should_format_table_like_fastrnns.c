/*
 * The table must be fastrnns' (bench.py print_header / pretty_print / fit_str):
 * the expected lines below were printed by that Python code for the fixture's
 * numbers, with sep " " and " | ". Failed, skipped and check-failed runners
 * must say so with their full error.
 */
#define _GNU_SOURCE
#include "report.h"
#include "results_fixture.h"
#include "test_support.h"

#include <stdlib.h>
#include <string.h>

static const char *HEADER = "            name          avg_fwd          std_fwd         info_fwd          avg_bwd "
                            "         std_bwd         info_bwd\n";
static const char *HEADER_COMMA =
    "            name,         avg_fwd,         std_fwd,        info_fwd,         avg_bwd,"
    "         std_bwd,        info_bwd\n";
static const char *ROW_PY = "              py             11.5            1.225             None            20.12 "
                            "          0.1021             None\n";
/* Name longer than 16 characters: cut; forward-only: n/a in the backward cells. */
static const char *ROW_FORWARD_ONLY = "jit_forward_only             3.25           0.2041             None          "
                                      "    n/a              n/a              n/a\n";
static const char *ROW_PREMUL_PIPE = "      jit_premul |              3.1 |            5.935 |             None |    "
                                     "            8 |                0 |             None\n";

/* Everything f received, as a malloc'ed string. */
static char *capture(void (*print)(FILE *, const nnb_run_results *, const void *), const nnb_run_results *res,
                     const void *arg) {
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    if (!f)
        return strdup("");
    print(f, res, arg);
    fclose(f);
    return text;
}

static void print_begin(FILE *f, const nnb_run_results *res, const void *sep) {
    (void)res;
    nnb_table_begin(f, NNB_GROUP_RNNS, sep);
}
static void print_vl_begin(FILE *f, const nnb_run_results *res, const void *sep) {
    (void)res;
    nnb_table_begin(f, NNB_GROUP_VL_RNNS, sep);
}
static void print_cnn_begin(FILE *f, const nnb_run_results *res, const void *sep) {
    (void)res;
    nnb_table_begin(f, NNB_GROUP_CNNS, sep);
}
static void print_end(FILE *f, const nnb_run_results *res, const void *sep) {
    (void)res, (void)sep;
    nnb_table_end(f);
}

/* arg: "group index,runner index,sep" packed in a struct. */
typedef struct row_arg {
    int group, runner;
    const char *sep;
} row_arg;
static void print_row(FILE *f, const nnb_run_results *res, const void *arg) {
    const row_arg *a = arg;
    nnb_table_row(f, &res->groups[a->group].runners[a->runner], a->sep);
}

static char *row(const nnb_run_results *res, int group, int runner, const char *sep) {
    row_arg a = {group, runner, sep};
    return capture(print_row, res, &a);
}

static void check_equal(const char *got, const char *want, const char *what) {
    CHECK_MSG(strcmp(got, want) == 0, "%s:\n got: [%s]\nwant: [%s]", what, got, want);
}

static int line_count(const char *text) {
    int n = 0;
    for (const char *p = text; *p; p++)
        n += *p == '\n';
    return n;
}

int main(void) {
    nnb_run_results res;
    fixture_results(&res);

    char *begin = capture(print_begin, &res, " ");
    char want[512];
    snprintf(want, sizeof want, "Benchmarking LSTMs...\n%s", HEADER);
    check_equal(begin, want, "rnns header");
    free(begin);

    begin = capture(print_begin, &res, NULL); // NULL sep: fastrnns' default " "
    check_equal(begin, want, "rnns header, default sep");
    free(begin);

    begin = capture(print_begin, &res, ",");
    snprintf(want, sizeof want, "Benchmarking LSTMs...\n%s", HEADER_COMMA);
    check_equal(begin, want, "rnns header, sep ','");
    free(begin);

    begin = capture(print_vl_begin, &res, " ");
    CHECK(strncmp(begin, "Benchmarking variable-length sequence LSTMs...\n", 47) == 0);
    free(begin);
    begin = capture(print_cnn_begin, &res, " ");
    CHECK(strncmp(begin, "Benchmarking ResNets...\n", 24) == 0);
    free(begin);

    char *end = capture(print_end, &res, NULL);
    check_equal(end, "\n", "table end");
    free(end);

    char *text = row(&res, 0, 0, " ");
    check_equal(text, ROW_PY, "py row");
    free(text);
    text = row(&res, 0, 1, " ");
    check_equal(text, ROW_FORWARD_ONLY, "forward-only row with a long name");
    free(text);
    text = row(&res, 0, 3, " | ");
    check_equal(text, ROW_PREMUL_PIPE, "row with sep ' | '");
    free(text);

    // Failed: name, FAILED:, then the whole error (longer than a cell) on the same line.
    text = row(&res, 0, 2, " ");
    CHECK_STR_CONTAINS(text, "           cudnn          FAILED: " FIXTURE_CUDNN_ERROR "\n");
    CHECK(line_count(text) == 1);
    free(text);

    text = row(&res, 1, 2, " ");
    CHECK_STR_CONTAINS(text, "        vl_cudnn         SKIPPED: " FIXTURE_SKIP_REASON "\n");
    free(text);

    // Check failed with timings: the timing row marked CHECK FAILED, then the failing tensors
    // (named from the checks since the driver left no message).
    text = row(&res, 1, 1, " ");
    CHECK_STR_CONTAINS(text, "          vl_bad              nan              nan     CHECK FAILED ");
    CHECK_STR_CONTAINS(text, "\n                    CHECK FAILED: vs vl_py: dx max_rel_err nan > 0.0001;\n");
    CHECK(line_count(text) == 2);
    free(text);

    // Names as results.h documents them.
    CHECK(strcmp(nnb_group_title(NNB_GROUP_RNNS), "LSTM") == 0);
    CHECK(strcmp(nnb_group_title(NNB_GROUP_CNNS), "ResNet") == 0);
    CHECK(strcmp(nnb_group_title(NNB_GROUP_VL_RNNS), "variable-length sequence LSTM") == 0);
    CHECK(strcmp(nnb_group_json_key(NNB_GROUP_RNNS), "lstm") == 0);
    CHECK(strcmp(nnb_group_json_key(NNB_GROUP_CNNS), "resnet") == 0);
    CHECK(strcmp(nnb_group_json_key(NNB_GROUP_VL_RNNS), "vl_lstm") == 0);
    CHECK(strcmp(nnb_run_status_name(NNB_RUN_OK), "ok") == 0);
    CHECK(strcmp(nnb_run_status_name(NNB_RUN_FAILED), "failed") == 0);
    CHECK(strcmp(nnb_run_status_name(NNB_RUN_SKIPPED), "skipped") == 0);
    CHECK(strcmp(nnb_run_status_name(NNB_RUN_CHECK_FAILED), "check_failed") == 0);

    return nnb_test_finish();
}
