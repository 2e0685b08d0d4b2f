/* nnb_compare_core called directly: the parser on in-memory text (errors
 * located, length honoured, OSS keys mapped to groups, null samples skipped)
 * and the comparison of the fixtures of tests/data/compare, whose ratios are
 * exact by construction (see compare_should_judge_result_files.c). */
#define _POSIX_C_SOURCE 200809L /* ftruncate, getpid */
#include "compare.h"
#include "robust_stats.h"
#include "test_support.h"

#include <math.h>
#include <string.h>
#include <unistd.h>

static char data[1024];

static void parse_error(const char *text, const char *expected) {
    nnb_cmp_file f;
    char err[512] = "";
    int rc = nnb_cmp_parse(text, strlen(text), "mem.json", &f, err, sizeof err);
    CHECK_MSG(rc == -1, "'%s' parsed", text);
    CHECK_MSG(strcmp(err, expected) == 0, "error '%s', expected '%s'", err, expected);
    CHECK_MSG(f.runner_count == 0 && f.runners == NULL && f.path == NULL, "failed parse left data behind");
    nnb_cmp_file_free(&f);
}

static void parser_locates_errors(void) {
    /* Line 2 is ` "lstm": {"jit": 1.5,`: 21 characters, the input ends after them. */
    parse_error("{\n \"lstm\": {\"jit\": 1.5,\n", "mem.json:2:22: invalid JSON (truncated?)");
    parse_error("{\"lstm\": {\"jit\": 1.5}", "mem.json:1:22: invalid JSON (truncated?)");
    parse_error("{\"lstm\": {\"jit\": 1.5}}}", "mem.json:1:23: unexpected text after the JSON value");
    parse_error("{\n\n  \"lstm\": {\"jit\": nul}}", "mem.json:3:19: invalid JSON near 'nul}}'");
    parse_error("{\"lstm\": {\"jit\": -0.5}}", "mem.json: \"lstm\".\"jit\": -0.5 ms is a negative time");
}

static const nnb_cmp_runner *runner_of(const nnb_cmp_file *f, const char *group, const char *name) {
    for (int i = 0; i < f->runner_count; i++)
        if (!strcmp(f->runners[i].group, group) && !strcmp(f->runners[i].name, name))
            return &f->runners[i];
    CHECK_MSG(0, "%s: no runner %s/%s", f->path, group, name);
    return NULL;
}

static void parser_reads_oss(void) {
    /* Only len bytes count: what follows would be a syntax error. */
    const char text[] = "{\"lstm\": {\"jit\": 2.5, \"py\": null}, \"lstm-backward\": {\"jit\": 5}, "
                        "\"resnet\": {\"resnet18\": 7}, \"vl_lstm\": {\"vl_py\": 9}, \"future\": {\"x\": 1}}GARBAGE";
    nnb_cmp_file f;
    char err[512] = "";
    CHECK_MSG(nnb_cmp_parse(text, strlen(text) - 7, "oss", &f, err, sizeof err) == 0, "%s", err);
    CHECK(f.kind == NNB_CMP_OSS_JSON && f.runner_count == 5 && strcmp(f.path, "oss") == 0);
    const nnb_cmp_runner *jit = runner_of(&f, "rnns", "jit"), *py = runner_of(&f, "rnns", "py");
    if (jit && py) {
        CHECK(jit->phase[NNB_CMP_FORWARD].time_ms == 2.5 && jit->phase[NNB_CMP_BACKWARD].time_ms == 5.0);
        CHECK(jit->phase[NNB_CMP_FORWARD].sample_count == 0 && jit->phase[NNB_CMP_FORWARD].samples == NULL);
        CHECK(strcmp(jit->status, "ok") == 0);
        CHECK(py->phase[NNB_CMP_FORWARD].present && isnan(py->phase[NNB_CMP_FORWARD].time_ms)); /* null mean */
        CHECK(!py->phase[NNB_CMP_BACKWARD].present);
    }
    runner_of(&f, "cnns", "resnet18");
    runner_of(&f, "vl_rnns", "vl_py");
    runner_of(&f, "future", "x"); /* an unknown key is its own group */
    nnb_cmp_file_free(&f);
    CHECK(f.runners == NULL && f.runner_count == 0);
}

static void load(const char *name, nnb_cmp_file *f) {
    char path[1200], err[512] = "";
    snprintf(path, sizeof path, "%s/compare/%s", data, name);
    CHECK_MSG(nnb_cmp_load(path, f, err, sizeof err) == 0, "%s", err);
}

static void loader_reads_full_json(void) {
    nnb_cmp_file f;
    load("old.json", &f);
    CHECK(f.kind == NNB_CMP_FULL_JSON && f.runner_count == 9);
    const nnb_cmp_runner *jit = runner_of(&f, "rnns", "jit"), *cudnn = runner_of(&f, "rnns", "cudnn");
    const nnb_cmp_runner *premul = runner_of(&f, "rnns", "jit_premul");
    if (jit && cudnn && premul) {
        const nnb_cmp_phase *fwd = &jit->phase[NNB_CMP_FORWARD];
        CHECK_MSG(fwd->sample_count == 19, "jit forward: %d samples, expected 19 (one null)", fwd->sample_count);
        CHECK(jit->phase[NNB_CMP_BACKWARD].sample_count == 20);
        CHECK(fwd->time_ms == nnb_median_of(fwd->samples, fwd->sample_count));
        CHECK(strcmp(cudnn->status, "skipped") == 0 && !cudnn->phase[0].present);
        CHECK(premul->phase[NNB_CMP_FORWARD].present && !premul->phase[NNB_CMP_BACKWARD].present);
    }
    nnb_cmp_file_free(&f);

    char path[256], err[512] = "";
    snprintf(path, sizeof path, "/tmp/nnb-compare-core-%ld.json", (long)getpid());
    FILE *big = fopen(path, "w");
    CHECK(big && ftruncate(fileno(big), (off_t)NNB_CMP_MAX_FILE_BYTES + 1) == 0);
    if (big)
        fclose(big);
    CHECK(nnb_cmp_load(path, &f, err, sizeof err) == -1);
    CHECK_STR_CONTAINS(err, "more than the 256 MiB limit");
    unlink(path);
}

static const nnb_cmp_row *row_of(const nnb_cmp_report *r, const char *group, const char *runner, int phase) {
    for (int i = 0; i < r->row_count; i++)
        if (!strcmp(r->rows[i].group, group) && !strcmp(r->rows[i].runner, runner) && r->rows[i].phase == phase)
            return &r->rows[i];
    CHECK_MSG(0, "no row %s/%s phase %d", group, runner, phase);
    return NULL;
}

static void expect_ratio(const nnb_cmp_report *r, const char *group, const char *runner, int phase, double ratio,
                         const char *verdict) {
    const nnb_cmp_row *row = row_of(r, group, runner, phase);
    if (!row)
        return;
    CHECK_MSG(row->kind == NNB_CMP_COMPARED, "%s/%s: kind %d", group, runner, (int)row->kind);
    CHECK_MSG(fabs(row->ratio - ratio) <= 1e-9, "%s/%s phase %d: ratio %.12g, expected %.12g", group, runner, phase,
              row->ratio, ratio);
    CHECK_MSG(row->verdict && strcmp(row->verdict, verdict) == 0, "%s/%s phase %d: verdict %s, expected %s", group,
              runner, phase, row->verdict ? row->verdict : "(null)", verdict);
    if (row->has_ci)
        CHECK_MSG(row->lo <= row->ratio && row->ratio <= row->hi, "%s/%s: ratio %g outside [%g, %g]", group, runner,
                  row->ratio, row->lo, row->hi);
}

static void expect_note(const nnb_cmp_report *r, const char *group, const char *runner, int phase,
                        nnb_cmp_row_kind kind, const char *note) {
    const nnb_cmp_row *row = row_of(r, group, runner, phase);
    if (row)
        CHECK_MSG(row->kind == kind && strcmp(row->note, note) == 0, "%s/%s: kind %d note '%s', expected %d '%s'",
                  group, runner, (int)row->kind, row->note, (int)kind, note);
}

static double geomean(const double *x, int n) {
    double s = 0;
    for (int i = 0; i < n; i++)
        s += log(x[i]);
    return exp(s / n);
}

static void compares_full_json(void) {
    nnb_cmp_file old_file, new_file;
    load("old.json", &old_file);
    load("new.json", &new_file);
    nnb_cmp_options opt = nnb_cmp_default_options();
    nnb_cmp_report r;
    char err[512] = "";
    CHECK_MSG(nnb_cmp_compare(&old_file, &new_file, &opt, &r, err, sizeof err) == 0, "%s", err);
    enum { F = NNB_CMP_FORWARD, B = NNB_CMP_BACKWARD };
    expect_ratio(&r, "rnns", "jit", F, 1.1, "slower");
    expect_ratio(&r, "rnns", "jit", B, 1.1, "slower");
    expect_ratio(&r, "rnns", "py", F, 1.0, "same");
    expect_ratio(&r, "rnns", "jit_premul", F, 0.9, "faster");
    expect_ratio(&r, "rnns", "aten", B, 1.0, "undecided");
    expect_ratio(&r, "cnns", "resnet18", B, 1.1, "slower");
    expect_ratio(&r, "vl_rnns", "vl_py", F, 1.0, "same");
    const nnb_cmp_row *py = row_of(&r, "rnns", "py", F);
    CHECK(py && py->ratio == 1.0 && py->has_ci); /* identical samples: exactly 1 */
    expect_note(&r, "rnns", "cudnn", -1, NNB_CMP_NOT_OK, "not ok in OLD: skipped");
    expect_note(&r, "cnns", "resnet18_jit", -1, NNB_CMP_NOT_OK, "not ok in NEW: failed");
    expect_note(&r, "rnns", "old_only", -1, NNB_CMP_ONLY_OLD, "only in OLD");
    expect_note(&r, "rnns", "new_only", -1, NNB_CMP_ONLY_NEW, "only in NEW");
    CHECK(r.row_count == 15 && r.regressions == 0);

    const double fwd[] = {1.1, 1.0, 0.9, 1.0, 1.1, 1.0}, bwd[] = {1.1, 1.0, 1.0, 1.1, 1.0};
    CHECK_NEAR(r.geomean[F].value, geomean(fwd, 6), 1e-9);
    CHECK_NEAR(r.geomean[B].value, geomean(bwd, 5), 1e-9);
    CHECK_NEAR(r.geomean[NNB_CMP_PHASES].value, pow(1.1, 4.0 / 11) * pow(0.9, 1.0 / 11), 1e-9);
    CHECK(r.geomean[F].count == 6 && r.geomean[B].count == 5 && r.geomean[NNB_CMP_PHASES].count == 11);

    /* Same inputs, same interval; --fail-above flags the four 1.1 phases. */
    nnb_cmp_report again;
    opt.fail_above = 1.05;
    CHECK(nnb_cmp_compare(&old_file, &new_file, &opt, &again, err, sizeof err) == 0);
    const nnb_cmp_row *a = row_of(&r, "rnns", "aten", F), *b = row_of(&again, "rnns", "aten", F);
    CHECK(a && b && a->lo == b->lo && a->hi == b->hi);
    CHECK(again.regressions == 4);
    for (int i = 0; i < again.row_count; i++)
        CHECK_MSG(again.rows[i].regressed ==
                      (again.rows[i].kind == NNB_CMP_COMPARED && fabs(again.rows[i].ratio - 1.1) < 1e-9),
                  "%s/%s: regressed %d", again.rows[i].group, again.rows[i].runner, again.rows[i].regressed);
    nnb_cmp_report_free(&again);
    nnb_cmp_report_free(&r);
    nnb_cmp_file_free(&new_file);
    nnb_cmp_file_free(&old_file);
}

static void compares_oss_and_mixed(void) {
    nnb_cmp_file old_oss, new_oss, old_full, mixed;
    load("old_oss.json", &old_oss);
    load("new_oss.json", &new_oss);
    load("old.json", &old_full);
    load("mixed_new_oss.json", &mixed);
    nnb_cmp_options opt = nnb_cmp_default_options();
    nnb_cmp_report r;
    char err[512] = "";
    CHECK(nnb_cmp_compare(&old_oss, &new_oss, &opt, &r, err, sizeof err) == 0);
    for (int i = 0; i < r.row_count; i++) {
        CHECK_NEAR(r.rows[i].ratio, 0.8, 1e-12);
        CHECK(!r.rows[i].has_ci && isnan(r.rows[i].lo) && strcmp(r.rows[i].verdict, "no samples") == 0);
    }
    CHECK(r.row_count == 6);
    CHECK_NEAR(r.geomean[NNB_CMP_PHASES].value, 0.8, 1e-12);
    nnb_cmp_report_free(&r);

    CHECK(nnb_cmp_compare(&old_full, &mixed, &opt, &r, err, sizeof err) == 0);
    expect_ratio(&r, "rnns", "jit", NNB_CMP_FORWARD, 1.25, "no samples");
    expect_ratio(&r, "rnns", "py", NNB_CMP_BACKWARD, 1.25, "no samples");
    expect_note(&r, "rnns", "jit", NNB_CMP_BACKWARD, NNB_CMP_NO_TIME, "no backward in NEW");
    CHECK(r.geomean[NNB_CMP_PHASES].count == 3);
    nnb_cmp_report_free(&r);
    nnb_cmp_file_free(&mixed);
    nnb_cmp_file_free(&old_full);
    nnb_cmp_file_free(&new_oss);
    nnb_cmp_file_free(&old_oss);
}

static void parse(const char *text, nnb_cmp_file *f) {
    char err[512] = "";
    CHECK_MSG(nnb_cmp_parse(text, strlen(text), "mem.json", f, err, sizeof err) == 0, "%s", err);
}

/* A zero time (below a timer's resolution) is listed, not compared, and not an error. */
static void lists_zero_times(void) {
    nnb_cmp_file old_file, new_file;
    parse("{\"schema\": \"nnbench-results\", \"groups\": {\"rnns\": [{\"name\": \"jit\", \"status\": \"ok\", "
          "\"forward\": {\"median_ms\": 1, \"samples_ms\": [1, 0, 2]}, \"backward\": {\"samples_ms\": [2, 3]}}]}}",
          &old_file);
    parse("{\"lstm\": {\"jit\": 1.5}, \"lstm-backward\": {\"jit\": 0}}", &new_file);
    const nnb_cmp_phase *fwd = &old_file.runners[0].phase[NNB_CMP_FORWARD];
    CHECK(fwd->present && fwd->zero_time && isnan(fwd->time_ms) && fwd->sample_count == 0);
    nnb_cmp_options opt = nnb_cmp_default_options();
    nnb_cmp_report r;
    char err[512] = "";
    CHECK(nnb_cmp_compare(&old_file, &new_file, &opt, &r, err, sizeof err) == 0);
    expect_note(&r, "rnns", "jit", NNB_CMP_FORWARD, NNB_CMP_NO_TIME,
                "zero forward time in OLD (below the timer's resolution)");
    expect_note(&r, "rnns", "jit", NNB_CMP_BACKWARD, NNB_CMP_NO_TIME,
                "zero backward time in NEW (below the timer's resolution)");
    CHECK(r.geomean[NNB_CMP_PHASES].count == 0 && isnan(r.geomean[NNB_CMP_PHASES].value));
    nnb_cmp_report_free(&r);
    nnb_cmp_file_free(&new_file);
    nnb_cmp_file_free(&old_file);
}

int main(void) {
    snprintf(data, sizeof data, "%s", nnb_test_env("NNBENCH_TEST_DATA"));
    parser_locates_errors();
    parser_reads_oss();
    loader_reads_full_json();
    compares_full_json();
    compares_oss_and_mixed();
    lists_zero_times();
    return nnb_test_finish();
}
