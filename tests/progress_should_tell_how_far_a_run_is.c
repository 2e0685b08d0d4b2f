#define _GNU_SOURCE
/* --progress through the binary, on the test plugin's runners (stderr is a file here, not a terminal):
 *   - auto: "[i/N] name: warmup W, loops L" before each runner, N counting every group's runners, the time
 *     left from the second runner on, the lines in order with the table rows, isolated or not; adaptive
 *     stopping named instead of the loops; a runner still iterating after 10 s reports its iterations done;
 *     --ab's and serve's start lines;
 *   - always: the live line (\r, erase) with iterations done/total, also drawn from an isolated child,
 *     erased before each table row;
 *   - never: fastrnns' stderr exactly, up to the measured numbers: the whole stderr is compared line by
 *     line with the expected table (numbers replaced by '#'), every row of fastrnns' width; and auto's
 *     stderr minus its progress lines is the same text; stdout (--print-json) is the same JSON document
 *     with or without progress (keys and order; the values are measurements). */
#include "test_support.h"

#include <cjson/cJSON.h>
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

static char bin[1024], good[1024];
static char out[1 << 16], err[1 << 16];

static int nnbench(const char *args) {
    return nnb_test_runf(out, sizeof out, err, sizeof err, "%s --runner-path %s --device cpu %s", bin, good, args);
}

static int count_lines_with(const char *needle) {
    int n = 0;
    for (const char *p = strstr(err, needle); p; p = strstr(p + 1, needle))
        n++;
    return n;
}

/* Position of needle in err, or -1. */
static long at(const char *needle) {
    const char *p = strstr(err, needle);
    return p ? p - err : -1;
}

static void lines_before_each_runner(const char *extra) {
    char args[256];
    snprintf(args, sizeof args, "--rnns empty spin --seqLength 3000 --warmup 2 --nloops 20 %s", extra);
    CHECK_MSG(nnbench(args) == 0, "%s: %s", args, err);
    long first = at("\n[1/2] empty: warmup 2, loops 20\n"), empty_row = at("\n           empty "),
         second = at("\n[2/2] spin: warmup 2, loops 20; about "), spin_row = at("\n            spin ");
    CHECK_MSG(first >= 0 && second >= 0, "%s: per-runner lines missing:\n%s", args, err);
    CHECK_MSG(first < empty_row && empty_row < second && second < spin_row, "%s: lines out of order:\n%s", args, err);
    /* 20 + 2 iterations of 9 ms for spin: the mean of empty's (~0 s) says the time left is under a second */
    const char *left = second >= 0 ? err + second + strlen("\n[2/2] spin: warmup 2, loops 20; about ") : "";
    CHECK_MSG(strtod(left, NULL) >= 0 && strstr(left, " s left\n") == strchr(left, ' '),
              "time left after the first runner: %.40s", left);
    CHECK_MSG(!strchr(err, '\r'), "no live line when stderr is not a terminal");
}

static void every_group_counts(void) {
    CHECK_MSG(nnbench("--rnns empty --cnns empty_cnn --warmup 1 --nloops 3") == 0, "%s", err);
    CHECK_STR_CONTAINS(err, "[1/2] empty: warmup 1, loops 3\n");
    CHECK_STR_CONTAINS(err, "[2/2] empty_cnn: warmup 1, loops 3; about ");
    CHECK(at("[2/2] empty_cnn") > at("Benchmarking ResNets..."));
}

/* 77 iterations of 150 ms (busy-waited, so at least that on any machine): about 11.5 s, one line at 10 s. */
static void a_long_runner_reports_its_iterations(void) {
    CHECK_MSG(nnbench("--rnns spin --seqLength 50000 --hiddenSize 8 --inputSize 8 --warmup 2 --nloops 75") == 0, "%s",
              err);
    long plan = at("[1/1] spin: warmup 2, loops 75\n"), line = at("[1/1] spin: iteration "),
         row = at("\n            spin ");
    CHECK_MSG(plan >= 0 && line > plan && row > line, "a line with the iterations done after 10 s:\n%s", err);
    long done = line >= 0 ? strtol(err + line + strlen("[1/1] spin: iteration "), NULL, 10) : 0;
    CHECK_MSG(done >= 40 && done < 77, "%ld iterations of 150 ms done at 10 s", done);
    CHECK_MSG(count_lines_with("spin: iteration ") == 1, "one such line in 11.5 s");
}

static void adaptive_stopping_is_named(void) {
    CHECK_MSG(nnbench("--rnns empty --min-time 0.01 --warmup 1") == 0, "%s", err);
    CHECK_STR_CONTAINS(err, "[1/1] empty: warmup 1, then adaptive stopping (at least 10 samples and 0.01 s");
}

/* The text after the last erase before needle. */
static const char *after_last_erase_before(const char *needle) {
    const char *p = strstr(err, needle), *e = NULL;
    for (const char *q = strstr(err, "\r\033[K"); q && p && q < p; q = strstr(q + 1, "\r\033[K"))
        e = q + 4;
    return e;
}

static void live_line(void) {
    CHECK_MSG(nnbench("--rnns empty --warmup 2 --nloops 10 --progress always") == 0, "%s", err);
    CHECK_STR_CONTAINS(err, "\r\033[K[1/1] empty: iteration 12/12");
    const char *row = after_last_erase_before("           empty ");
    CHECK_MSG(row && !strncmp(row, "           empty ", 17), "the live line is erased before the row: %s", err);
    /* Isolated (two runners): the child draws its iterations on the same stderr. */
    CHECK_MSG(nnbench("--rnns empty spin --seqLength 2000 --warmup 2 --nloops 30 --progress always --isolate") == 0,
              "%s", err);
    CHECK_STR_CONTAINS(err, "[2/2] spin: iteration 32/32");
    row = after_last_erase_before("            spin ");
    CHECK_MSG(row && !strncmp(row, "            spin ", 17), "erased before spin's row: %s", err);
}

/* s with every number (a digit, then digits, '.', 'e', '+', '-') replaced by '#'. */
static void hide_numbers(const char *s, char *buf, size_t cap) {
    size_t n = 0;
    for (const char *p = s; *p && n + 1 < cap;) {
        if (isdigit((unsigned char)*p)) {
            buf[n++] = '#';
            while (*p && strchr("0123456789.eE+-", *p))
                p++;
        } else {
            buf[n++] = *p++;
        }
    }
    buf[n] = 0;
}

/* Lines of s with every number replaced by '#' and runs of spaces by one; lines starting with skip dropped. */
static void normalise(const char *s, const char *skip, char *buf, size_t cap) {
    size_t n = 0;
    char line[1024];
    for (const char *p = s; *p && n + 2 < cap;) {
        size_t len = strcspn(p, "\n");
        snprintf(line, sizeof line, "%.*s", (int)(len < sizeof line ? len : sizeof line - 1), p);
        p += len + (p[len] == '\n');
        if (skip && !strncmp(line, skip, strlen(skip)))
            continue;
        char *save = NULL;
        int first = 1;
        for (char *tok = strtok_r(line, " ", &save); tok && n + 2 < cap; tok = strtok_r(NULL, " ", &save)) {
            char *end;
            strtod(tok, &end);
            int number = end != tok && !*end && (isdigit((unsigned char)tok[0]) || tok[0] == '-');
            n += (size_t)snprintf(buf + n, cap - n, "%s%s", first ? "" : " ", number ? "#" : tok);
            first = 0;
        }
        if (n + 1 < cap)
            buf[n++] = '\n';
    }
    buf[n < cap ? n : cap - 1] = 0;
}

static void never_is_fastrnns_stderr(void) {
    static char never[1 << 16], autos[1 << 16], a[1 << 16], b[1 << 16];
    const char *args = "--rnns empty empty_fwd --warmup 2 --nloops 5";
    char cmd[256];
    snprintf(cmd, sizeof cmd, "%s --progress never", args);
    CHECK_MSG(nnbench(cmd) == 0, "%s", err);
    snprintf(never, sizeof never, "%s", err);
    CHECK_MSG(nnbench(args) == 0, "%s", err);
    snprintf(autos, sizeof autos, "%s", err);
    normalise(never, NULL, a, sizeof a);
    static const char expected[] = "Benchmarking LSTMs...\n"
                                   "name avg_fwd std_fwd info_fwd avg_bwd std_bwd info_bwd\n"
                                   "empty # # None # # None\n"
                                   "empty_fwd # # None n/a n/a n/a\n"
                                   "\n";
    CHECK_MSG(!strcmp(a, expected), "--progress never: stderr is not fastrnns' table:\n%s\nexpected:\n%s", a, expected);
    int rows = 0, wide = 0; /* fastrnns: 7 columns of %16s joined by the separator */
    for (const char *p = never; *p; p += strcspn(p, "\n") + (p[strcspn(p, "\n")] == '\n'))
        if (strncmp(p, "Benchmarking", 12) && *p != '\n')
            rows++, wide += strcspn(p, "\n") == 7 * 16 + 6;
    CHECK_MSG(rows == 3 && wide == 3, "%d of %d table lines are 118 characters wide", wide, rows);
    normalise(autos, "[", b, sizeof b);
    CHECK_MSG(!strcmp(a, b), "auto's stderr without its progress lines differs from never's:\n%s\nvs\n%s", b, a);
    CHECK_MSG(strstr(autos, "[1/2] empty: ") && !strchr(never, '['), "progress lines in auto only");

    /* stdout: the same document either way (the values are measurements, the keys and their order not) */
    snprintf(cmd, sizeof cmd, "%s --print-json --progress never", args);
    CHECK(nnbench(cmd) == 0);
    hide_numbers(out, a, sizeof a);
    snprintf(cmd, sizeof cmd, "%s --print-json", args);
    CHECK(nnbench(cmd) == 0);
    CHECK_STR_CONTAINS(err, "[2/2] empty_fwd: ");
    hide_numbers(out, b, sizeof b);
    cJSON *doc = cJSON_Parse(out);
    CHECK_MSG(doc && cJSON_GetObjectItem(cJSON_GetObjectItem(doc, "lstm"), "empty_fwd"), "OSS JSON on stdout: %s", out);
    cJSON_Delete(doc);
    CHECK_MSG(!strcmp(a, b), "stdout differs with progress: %s vs %s", a, b);
}

static void ab_and_serve_say_what_comes(void) {
    CHECK_MSG(nnbench("--ab spin spin@--seqLength=105 --seqLength 100 --warmup 1 --max-time 2") == 0, "%s", err);
    CHECK_STR_CONTAINS(err, "nnbench: --ab: warmup 1 per side, then rounds A B B A until the interval settles (at "
                            "least 10 rounds, at most 2 s)\n");
    CHECK(at("nnbench: --ab: warmup") < at("A/B: A = spin"));
    /* Rounds of 4 x 9 ms: the live line (redrawn at most every 100 ms) shows a few of the first 10. */
    CHECK_MSG(nnbench("--ab spin spin@--seqLength=3150 --seqLength 3000 --warmup 1 --max-time 2 --progress always") ==
                  0,
              "%s", err);
    CHECK_STR_CONTAINS(err, " rounds (a verdict from 10 on), at most ");
    CHECK_MSG(nnbench("--ab spin spin --seqLength 100 --warmup 1 --max-time 1 --progress never") == 0, "%s", err);
    CHECK_MSG(!strstr(err, "nnbench: --ab:"), "never: no --ab progress: %s", err);

    CHECK(nnb_test_runf(out, sizeof out, err, sizeof err,
                        "%s serve --runner-path %s --device cpu --runner spin --seqLength 20000 --inputSize 8 "
                        "--hiddenSize 8 "
                        "--requests 30 --progress always",
                        bin, good) == 0);
    CHECK_STR_CONTAINS(err, "nnbench serve: 40 requests to answer (10 warmup), at most 600 s");
    CHECK_STR_CONTAINS(err, "/40 requests answered, about ");
    CHECK(nnb_test_runf(out, sizeof out, err, sizeof err,
                        "%s serve --runner-path %s --device cpu --runner spin --seqLength 200 --requests 30 "
                        "--progress never",
                        bin, good) == 0);
    CHECK_MSG(!strstr(err, "requests to answer") && !strchr(err, '\r'), "serve --progress never: %s", err);
}

int main(void) {
    unsetenv("OPENBLAS_CORETYPE"); /* its note would be one more stderr line */
    snprintf(bin, sizeof bin, "%s", nnb_test_env("NNBENCH_BIN"));
    snprintf(good, sizeof good, "%s/good", nnb_test_env("NNBENCH_TEST_PLUGIN_DIR"));
    lines_before_each_runner("");
    lines_before_each_runner("--no-isolate");
    every_group_counts();
    adaptive_stopping_is_named();
    a_long_runner_reports_its_iterations();
    live_line();
    never_is_fastrnns_stderr();
    ab_and_serve_say_what_comes();
    return nnb_test_finish();
}
