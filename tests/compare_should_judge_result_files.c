/* nnbench-compare on the fixtures of tests/data/compare, whose answers are known by construction:
 *   old.json / new.json (nnbench full JSON, 20 samples per phase, lognormal noise):
 *     rnns/jit, cnns/resnet18   NEW = OLD samples x 1.10 exactly  -> ratio 1.1, slower
 *                               (jit forward has a null sample on both sides: skipped)
 *     rnns/py, vl_rnns/vl_py    NEW = OLD samples                 -> ratio 1, same
 *     rnns/jit_premul           NEW = OLD x 0.90, forward only    -> ratio 0.9, faster, no backward row
 *     rnns/aten                 NEW = OLD permuted, 5% noise      -> ratio 1, undecided at 1%
 *     rnns/cudnn                skipped in OLD; cnns/resnet18_jit failed in NEW
 *     rnns/old_only, rnns/new_only: in one file only
 *   old_oss.json / new_oss.json: every NEW mean is 0.8 x OLD's -> ratio 0.8, "no samples"
 *   mixed_new_oss.json: OSS means 1.25 x old.json's medians for rnns/jit forward and rnns/py;
 *     no jit backward. */
#define _XOPEN_SOURCE 700 /* realpath */
#include "test_support.h"

#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static char tool[PATH_MAX], data[1024];

typedef struct result {
    int rc;
    char out[32768], err[4096];
} result;

static result res;

/* Runs nnbench-compare with args, file names relative to tests/data/compare. */
static int run(const char *args) {
    char cmd[8192];
    snprintf(cmd, sizeof cmd, "cd '%s/compare' && '%s' %s", data, tool, args);
    res.rc = nnb_test_run(cmd, res.out, sizeof res.out, res.err, sizeof res.err);
    return res.rc;
}

/* One table row of the text output, taken apart. */
typedef struct row {
    int found;
    char old_ms[32], new_ms[32], ratio_text[32], verdict[160];
    double ratio, lo, hi;          /* NaN when "-" */
    int verdict_column, ratio_end; /* byte offsets, to check alignment */
} row;

static void copy_line(const char *start, char *line, size_t len) {
    size_t n = strcspn(start, "\n");
    snprintf(line, len, "%.*s", (int)n, start);
}

static row text_row(const char *out, const char *group, const char *runner, const char *phase) {
    row r;
    memset(&r, 0, sizeof r);
    r.ratio = r.lo = r.hi = NAN;
    for (const char *p = out; *p; p += strcspn(p, "\n") + (p[strcspn(p, "\n")] == '\n')) {
        char line[512], g[64], n[64], ph[64];
        copy_line(p, line, sizeof line);
        int ratio_end = 0;
        if (sscanf(line, "%63s %63s %63s %31s %31s %31s%n", g, n, ph, r.old_ms, r.new_ms, r.ratio_text, &ratio_end) <
                6 ||
            strcmp(g, group) || strcmp(n, runner) || strcmp(ph, phase))
            continue;
        r.found = 1;
        r.ratio = strcmp(r.ratio_text, "-") ? atof(r.ratio_text) : NAN;
        r.ratio_end = ratio_end;
        const char *rest = line + ratio_end;
        while (*rest == ' ')
            rest++;
        int ci_len = 0;
        if (sscanf(rest, "[%lf, %lf]%n", &r.lo, &r.hi, &ci_len) == 2)
            rest += ci_len;
        else if (*rest == '-')
            rest++;
        while (*rest == ' ')
            rest++;
        r.verdict_column = (int)(rest - line);
        snprintf(r.verdict, sizeof r.verdict, "%s", rest);
        return r;
    }
    return r;
}

static row expect_row(const char *group, const char *runner, const char *phase, double ratio, const char *verdict) {
    row r = text_row(res.out, group, runner, phase);
    CHECK_MSG(r.found, "no row %s %s %s in:\n%s", group, runner, phase, res.out);
    if (!r.found)
        return r;
    if (isnan(ratio))
        CHECK_MSG(isnan(r.ratio), "%s %s %s: ratio '%s', expected '-'", group, runner, phase, r.ratio_text);
    else
        CHECK_MSG(fabs(r.ratio - ratio) <= 5e-5, "%s %s %s: ratio %s, expected %.4f", group, runner, phase,
                  r.ratio_text, ratio);
    CHECK_MSG(strcmp(r.verdict, verdict) == 0, "%s %s %s: verdict '%s', expected '%s'", group, runner, phase, r.verdict,
              verdict);
    return r;
}

/* "geometric mean of the ratios: forward X (n=A), backward Y (n=B), overall Z (n=C)" */
static void expect_geomeans(double fwd, int n_fwd, double bwd, int n_bwd, double all, int n_all) {
    const char *line = strstr(res.out, "geometric mean of the ratios:");
    CHECK_MSG(line != NULL, "no geometric mean line in:\n%s", res.out);
    if (!line)
        return;
    double f = NAN, b = NAN, a = NAN;
    int nf = -1, nb = -1, na = -1;
    int got = sscanf(line, "geometric mean of the ratios: forward %lf (n=%d), backward %lf (n=%d), overall %lf (n=%d)",
                     &f, &nf, &b, &nb, &a, &na);
    CHECK_MSG(got == 6, "geometric mean line not parsed (%d fields): %.200s", got, line);
    CHECK_NEAR(f, fwd, 5e-5);
    CHECK_NEAR(b, bwd, 5e-5);
    CHECK_NEAR(a, all, 5e-5);
    CHECK(nf == n_fwd && nb == n_bwd && na == n_all);
}

static double geomean(const double *x, int n) {
    double s = 0;
    for (int i = 0; i < n; i++)
        s += log(x[i]);
    return exp(s / n);
}

static void full_pair_in_text(void) {
    CHECK_MSG(run("old.json new.json") == 0, "exit %d, stderr: %s", res.rc, res.err);
    CHECK_MSG(res.err[0] == 0, "stderr not empty: %s", res.err);
    CHECK_STR_CONTAINS(res.out, "bootstrap 95% CI of the ratio of medians, 2000 resamples");
    CHECK_STR_CONTAINS(res.out, "OLD: old.json (nnbench full JSON; time = median of the samples, ms)");
    CHECK_STR_CONTAINS(res.out, "noise threshold 1%");

    row jit = expect_row("rnns", "jit", "forward", 1.1, "slower");
    CHECK_MSG(jit.lo > 1.0 && jit.lo <= 1.1 && jit.hi >= 1.1 && jit.hi < 1.2, "jit forward CI [%g, %g]", jit.lo,
              jit.hi);
    expect_row("rnns", "jit", "backward", 1.1, "slower");
    row py = expect_row("rnns", "py", "forward", 1.0, "same");
    CHECK_MSG(strcmp(py.ratio_text, "1.0000") == 0 && strcmp(py.old_ms, py.new_ms) == 0, "py: %s %s %s", py.old_ms,
              py.new_ms, py.ratio_text);
    CHECK_MSG(py.lo >= 0.99 && py.hi <= 1.01, "py forward CI [%g, %g] not inside the 1%% threshold", py.lo, py.hi);
    expect_row("rnns", "py", "backward", 1.0, "same");
    expect_row("rnns", "jit_premul", "forward", 0.9, "faster");
    CHECK_MSG(!text_row(res.out, "rnns", "jit_premul", "backward").found, "forward-only runner got a backward row");
    row aten = expect_row("rnns", "aten", "forward", 1.0, "undecided");
    CHECK_MSG(aten.lo < 0.99 && aten.hi > 1.01, "aten CI [%g, %g] should straddle the threshold", aten.lo, aten.hi);
    expect_row("rnns", "aten", "backward", 1.0, "undecided");
    expect_row("rnns", "cudnn", "-", NAN, "not ok in OLD: skipped");
    expect_row("rnns", "old_only", "-", NAN, "only in OLD");
    expect_row("rnns", "new_only", "-", NAN, "only in NEW");
    expect_row("cnns", "resnet18", "forward", 1.1, "slower");
    expect_row("cnns", "resnet18", "backward", 1.1, "slower");
    expect_row("cnns", "resnet18_jit", "-", NAN, "not ok in NEW: failed");
    expect_row("vl_rnns", "vl_py", "forward", 1.0, "same");
    expect_row("vl_rnns", "vl_py", "backward", 1.0, "same");

    const double fwd[] = {1.1, 1.0, 0.9, 1.0, 1.1, 1.0}, bwd[] = {1.1, 1.0, 1.0, 1.1, 1.0};
    const double all[] = {1.1, 1.0, 0.9, 1.0, 1.1, 1.0, 1.1, 1.0, 1.0, 1.1, 1.0};
    expect_geomeans(geomean(fwd, 6), 6, geomean(bwd, 5), 5, geomean(all, 11), 11);

    /* Aligned: each row's ratio ends, and its verdict starts, where the heading's do. */
    const char *heading = strstr(res.out, "group ");
    CHECK(heading != NULL);
    if (heading) {
        char line[512];
        copy_line(heading, line, sizeof line);
        int verdict_at = (int)(strstr(line, "verdict") - line);
        int ratio_end = (int)(strstr(line, "ratio") - line) + 5;
        const char *rows[][3] = {
            {"rnns", "jit", "forward"}, {"rnns", "old_only", "-"}, {"vl_rnns", "vl_py", "backward"}};
        for (int i = 0; i < 3; i++) {
            row r = text_row(res.out, rows[i][0], rows[i][1], rows[i][2]);
            CHECK_MSG(r.verdict_column == verdict_at && r.ratio_end == ratio_end,
                      "%s %s: verdict at %d (heading %d), ratio ends at %d (heading %d)", rows[i][0], rows[i][1],
                      r.verdict_column, verdict_at, r.ratio_end, ratio_end);
        }
    }

    /* Fixed seed: the same files give the same output. */
    char first[sizeof res.out];
    memcpy(first, res.out, sizeof first);
    run("old.json new.json");
    CHECK_MSG(strcmp(first, res.out) == 0, "two runs differ");
}

/* Markdown: same columns as a GitHub table; returns the cells of one row. */
static int markdown_cells(const char *line, char cells[8][128]) {
    int n = 0;
    const char *p = line;
    if (*p != '|')
        return 0;
    while (*p == '|' && p[1] && n < 8) {
        p++;
        size_t len = strcspn(p, "|\n");
        const char *s = p, *e = p + len;
        while (s < e && *s == ' ')
            s++;
        while (e > s && e[-1] == ' ')
            e--;
        snprintf(cells[n++], 128, "%.*s", (int)(e - s), s);
        p += len;
    }
    return *p == '|' ? n : -1;
}

static void full_pair_in_markdown(void) {
    CHECK_MSG(run("--format markdown old.json new.json") == 0, "exit %d, stderr: %s", res.rc, res.err);
    CHECK_STR_CONTAINS(res.out, "\n| group | runner | phase | old ms | new ms | ratio | 95% CI | verdict |\n"
                                "| --- | --- | --- | ---: | ---: | ---: | --- | --- |\n");
    CHECK_STR_CONTAINS(res.out, "- OLD: `old.json`");
    CHECK_STR_CONTAINS(res.out, "bootstrap 95% CI of the ratio of medians, 2000 resamples");
    int table_rows = 0, found_jit = 0;
    for (const char *p = strstr(res.out, "| --- "); p && *p; p += strcspn(p, "\n") + (p[strcspn(p, "\n")] != 0)) {
        if (*p != '|')
            break;
        char cells[8][128];
        int n = markdown_cells(p, cells);
        if (strncmp(p, "| --- ", 6) == 0)
            continue;
        table_rows++;
        CHECK_MSG(n == 8, "markdown row with %d cells: %.120s", n, p);
        if (n == 8 && !strcmp(cells[0], "rnns") && !strcmp(cells[1], "jit") && !strcmp(cells[2], "forward")) {
            double lo, hi;
            found_jit = 1;
            CHECK(strcmp(cells[5], "1.1000") == 0);
            CHECK(sscanf(cells[6], "[%lf, %lf]", &lo, &hi) == 2 && lo <= 1.1 && hi >= 1.1);
            CHECK(strcmp(cells[7], "slower") == 0);
        }
    }
    CHECK_MSG(table_rows == 15, "%d markdown rows, expected 15", table_rows);
    CHECK(found_jit);
    char spaced_form[sizeof res.out];
    memcpy(spaced_form, res.out, sizeof spaced_form);
    run("--format=markdown old.json new.json");
    CHECK_MSG(strcmp(spaced_form, res.out) == 0, "--format=markdown differs from --format markdown");
}

static void fail_above(void) {
    CHECK_MSG(run("--fail-above 1.05 old.json new.json") == 4,
              /* NNB_EXIT_REGRESSION, as nnbench --ab */ "--fail-above 1.05: exit %d", res.rc);
    CHECK_STR_CONTAINS(res.out, "--fail-above 1.05: 4 phases regressed beyond 1.05");
    CHECK_STR_CONTAINS(res.out, "rnns jit forward: CI lower bound");
    CHECK_STR_CONTAINS(res.out, "rnns jit backward: CI lower bound");
    CHECK_STR_CONTAINS(res.out, "cnns resnet18 forward: CI lower bound");
    CHECK_STR_CONTAINS(res.out, "cnns resnet18 backward: CI lower bound");
    expect_row("rnns", "jit", "forward", 1.1, "slower *"); /* marked */
    expect_row("rnns", "py", "forward", 1.0, "same");

    /* The CI of 1.1 lies below 1.2: not a regression beyond it. */
    CHECK_MSG(run("--fail-above 1.2 old.json new.json") == 0, "--fail-above 1.2: exit %d", res.rc);
    CHECK_STR_CONTAINS(res.out, "--fail-above 1.2: no phase regressed beyond 1.2");

    /* Without samples the ratio decides: 0.8 > 0.7, 0.8 < 0.9. */
    CHECK_MSG(run("--fail-above 0.7 old_oss.json new_oss.json") == 4, "OSS --fail-above 0.7: exit %d", res.rc);
    CHECK_STR_CONTAINS(res.out, "--fail-above 0.7: 6 phases regressed beyond 0.7");
    CHECK_STR_CONTAINS(res.out, "rnns jit forward: ratio 0.8000 > 0.7 (no samples)");
    CHECK_MSG(run("--fail-above 0.9 old_oss.json new_oss.json") == 0, "OSS --fail-above 0.9: exit %d", res.rc);
}

static void oss_pair(void) {
    CHECK_MSG(run("old_oss.json new_oss.json") == 0, "exit %d, stderr: %s", res.rc, res.err);
    CHECK_STR_CONTAINS(res.out, "OLD: old_oss.json (fastrnns OSS JSON; time = mean, ms)");
    const char *runners[][2] = {{"rnns", "jit"}, {"rnns", "py"}, {"cnns", "resnet18"}};
    for (int i = 0; i < 3; i++) {
        row f = expect_row(runners[i][0], runners[i][1], "forward", 0.8, "no samples");
        expect_row(runners[i][0], runners[i][1], "backward", 0.8, "no samples");
        CHECK(isnan(f.lo));
    }
    expect_geomeans(0.8, 3, 0.8, 3, 0.8, 6);
}

static void mixed_pair(void) {
    CHECK_MSG(run("old.json mixed_new_oss.json") == 0, "exit %d, stderr: %s", res.rc, res.err);
    CHECK_STR_CONTAINS(res.out, "ratio: NEW / OLD (NEW mean / OLD median: the files differ in kind)");
    expect_row("rnns", "jit", "forward", 1.25, "no samples");
    expect_row("rnns", "jit", "backward", NAN, "no backward in NEW");
    expect_row("rnns", "py", "forward", 1.25, "no samples");
    expect_row("rnns", "py", "backward", 1.25, "no samples");
    expect_row("rnns", "aten", "-", NAN, "only in OLD");
    expect_row("cnns", "resnet18", "-", NAN, "only in OLD");
    expect_geomeans(1.25, 2, 1.25, 1, 1.25, 3);
}

static void noise_threshold(void) {
    /* aten's CI (about +-5%) lies inside 10%; jit's (about 1.1 +- 0.3%) reaches across 1.1: not slower by more
     * than the threshold for sure, so undecided; at 5% it lies wholly above 1.05. */
    CHECK_MSG(run("--noise-threshold 10% old.json new.json") == 0, "exit %d, stderr: %s", res.rc, res.err);
    CHECK_STR_CONTAINS(res.out, "noise threshold 10%");
    expect_row("rnns", "aten", "forward", 1.0, "same");
    expect_row("rnns", "jit", "forward", 1.1, "undecided");
    run("--noise-threshold 5 old.json new.json");
    expect_row("rnns", "jit", "forward", 1.1, "slower");
    run("--noise-threshold 10% old.json new.json");
    char with_percent[sizeof res.out];
    memcpy(with_percent, res.out, sizeof with_percent);
    run("--noise-threshold 10 old.json new.json");
    CHECK_MSG(strcmp(with_percent, res.out) == 0, "--noise-threshold 10 differs from 10%%");
    /* No threshold: an interval around 1 can only be undecided. */
    run("--noise-threshold 0 old.json new.json");
    expect_row("rnns", "py", "forward", 1.0, "undecided");
}

static void help(void) {
    CHECK_MSG(run("--help") == 0, "--help: exit %d", res.rc);
    CHECK_STR_CONTAINS(res.out, "usage: nnbench-compare [options] OLD NEW");
    CHECK_STR_CONTAINS(res.out, "--fail-above R");
    CHECK_STR_CONTAINS(res.out, "Exit status: 0 compared; 4 --fail-above triggered; 2 bad command line");
}

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: %s PATH-OF-nnbench-compare\n", argv[0]);
        return 2;
    }
    if (!realpath(argv[1], tool)) { /* run() changes directory first */
        perror(argv[1]);
        return 2;
    }
    snprintf(data, sizeof data, "%s", nnb_test_env("NNBENCH_TEST_DATA"));
    full_pair_in_text();
    full_pair_in_markdown();
    fail_above();
    oss_pair();
    mixed_pair();
    noise_threshold();
    help();
    return nnb_test_finish();
}
