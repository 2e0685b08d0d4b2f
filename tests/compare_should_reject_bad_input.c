/* nnbench-compare on bad command lines and bad files: exit 2, one line on
 * stderr naming the flag or the file (and for JSON syntax, the line and
 * column), nothing on stdout, and no crash. */
#define _POSIX_C_SOURCE 200809L /* mkdtemp, ftruncate */
#include "test_support.h"

#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char tool[1024], good[1024], good_oss[1024], dir[64];

enum { LONG = 4096 }; /* room for a command line of three of the paths above */

/* Runs the tool with args and checks the rejection. */
static void expect_rejected(const char *args, const char *expected) {
    char cmd[2 * LONG], out[8192], err[8192];
    snprintf(cmd, sizeof cmd, "'%s' %s", tool, args);
    int rc = nnb_test_run(cmd, out, sizeof out, err, sizeof err);
    CHECK_MSG(rc == 2, "'%s': exit %d, expected 2 (stderr: %s)", args, rc, err);
    CHECK_MSG(strstr(err, expected) != NULL, "'%s': expected \"%s\" in: %s", args, expected, err);
    CHECK_MSG(strncmp(err, "nnbench-compare: ", 17) == 0, "'%s': message not prefixed: %s", args, err);
    CHECK_MSG(strchr(err, '\n') == err + strlen(err) - 1, "'%s': not exactly one line: %s", args, err);
    CHECK_MSG(out[0] == 0, "'%s': wrote to stdout: %s", args, out);
}

/* A file in the test's directory with the given bytes; returns its path. */
static const char *write_file(const char *name, const char *bytes, size_t len) {
    static char path[8][256];
    static int next;
    char *p = path[next++ % 8];
    snprintf(p, 256, "%s/%s", dir, name);
    FILE *f = fopen(p, "wb");
    if (!f || fwrite(bytes, 1, len, f) != len) {
        CHECK_MSG(0, "cannot write %s", p);
    }
    if (f)
        fclose(f);
    return p;
}

/* The file as OLD (good NEW), then as NEW (good OLD): both name it. */
static void expect_file_rejected(const char *name, const char *bytes, size_t len, const char *expected) {
    const char *path = write_file(name, bytes, len);
    char args[LONG], message[LONG];
    snprintf(message, sizeof message, "%s%s", path, expected);
    snprintf(args, sizeof args, "'%s' '%s'", path, good);
    expect_rejected(args, message);
    snprintf(args, sizeof args, "'%s' '%s'", good_oss, path);
    expect_rejected(args, message);
}

#define TEXT(s) s, sizeof s - 1

static void bad_command_lines(void) {
    char args[LONG];
    const struct {
        const char *flags, *expected;
    } cases[] = {
        {"--frobnicate", "unknown flag '--frobnicate'"},
        {"--format xml", "--format: unknown format 'xml' (valid: text, markdown)"},
        {"--fail-above 0", "--fail-above: '0' is out of range"},
        {"--fail-above -1", "--fail-above: '-1' is out of range"},
        {"--fail-above abc", "--fail-above: 'abc' is not a number"},
        {"--fail-above 1.05x", "--fail-above: '1.05x' is not a number"},
        {"--fail-above nan", "--fail-above: 'nan' is not a number"},
        {"--noise-threshold -1", "--noise-threshold: '-1' is out of range"},
        {"--noise-threshold 100", "--noise-threshold: '100' is out of range"},
        {"--noise-threshold abc", "--noise-threshold: 'abc' is not a number"},
        {"--noise-threshold 2%x", "--noise-threshold: '2%x' is not a number"},
        {"--help=yes", "--help takes no value"},
        {"--old-unit m", "--old-unit: unknown unit 'm' (valid: s, ms)"},
        {"--new-unit=seconds", "--new-unit: unknown unit 'seconds' (valid: s, ms)"},
        /* nnbench's own files are always ms: seconds would silently divide every ratio by 1000. */
        {"--old-unit s", "--old-unit s: OLD ("},
        {"--new-unit s", "is an nnbench full JSON, whose times are always ms; --new-unit applies to fastrnns OSS JSON"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        snprintf(args, sizeof args, "%s '%s' '%s'", cases[i].flags, good, good);
        expect_rejected(args, cases[i].expected);
    }
    /* A flag at the end has no value to take. */
    snprintf(args, sizeof args, "'%s' '%s' --fail-above", good, good);
    expect_rejected(args, "--fail-above needs a value");
    snprintf(args, sizeof args, "'%s' '%s' --format", good, good);
    expect_rejected(args, "--format needs a value");
    expect_rejected("", "expected two result files, OLD and NEW; got 0 arguments");
    snprintf(args, sizeof args, "'%s'", good);
    expect_rejected(args, "got 1 argument");
    snprintf(args, sizeof args, "'%s' '%s' '%s'", good, good, good);
    expect_rejected(args, "got 3 arguments");
}

static void unreadable_files(void) {
    char args[LONG];
    snprintf(args, sizeof args, "/nonexistent/old.json '%s'", good);
    expect_rejected(args, "/nonexistent/old.json: cannot open: No such file or directory");
    snprintf(args, sizeof args, "'%s' '%s'", dir, good);
    char message[LONG];
    snprintf(message, sizeof message, "%s: is a directory", dir);
    expect_rejected(args, message);
    expect_file_rejected("empty.json", "", 0, ": empty file");
    expect_file_rejected("blank.json", TEXT(" \n\t\n"), ": only white space");

    /* Over the cap: refused from its size alone (a sparse file: no disk used). */
    char huge[256];
    snprintf(huge, sizeof huge, "%s/huge.json", dir);
    FILE *f = fopen(huge, "w");
    CHECK(f && ftruncate(fileno(f), (off_t)257 << 20) == 0);
    if (f)
        fclose(f);
    snprintf(args, sizeof args, "'%s' '%s'", huge, good);
    snprintf(message, sizeof message, "%s: 269484032 bytes, more than the 256 MiB limit", huge);
    expect_rejected(args, message);
    unlink(huge);
}

static void invalid_json(void) {
    /* Cut off after "[" of line 3: 21 characters, so the input ends at column 22. */
    expect_file_rejected("truncated.json", TEXT("{\n \"schema\": \"nnbench-results\",\n \"groups\": {\"rnns\": ["),
                         ":3:22: invalid JSON (truncated?)");
    expect_file_rejected("cut_string.json", TEXT("{\"lstm\": {\"ji"), ":1:14: invalid JSON (truncated?)");
    /* Missing ':' on line 2: cJSON stops at the value, column 17. */
    expect_file_rejected("no_colon.json", TEXT("{\n \"lstm\": {\"jit\" 1.0}}\n"), ":2:17: invalid JSON near '1.0}}'");
    expect_file_rejected("trailing.json", TEXT("{\"lstm\": {\"jit\": 1.0}}\n{\"lstm\": {}}\n"),
                         ":2:1: unexpected text after the JSON value");
    expect_file_rejected("nul.json", TEXT("{\"lstm\": {\"jit\": 1.0}}\0\n"), ":1:23: NUL byte");
    expect_file_rejected("pep.json", TEXT("Caffe2Observer {\"type\": \"NET\"}\n"), ": AI-PEP lines (--print-json pep)");
    expect_file_rejected("text.json", TEXT("Benchmarking LSTMs...\n"), ":1:1: invalid JSON near 'Benchmarking LST'");

    /* A real results file cut short: the message still names the file and a line:col. */
    char path[1024], text[400];
    snprintf(path, sizeof path, "%s/compare/old.json", nnb_test_env("NNBENCH_TEST_DATA"));
    FILE *f = fopen(path, "rb");
    size_t n = f ? fread(text, 1, 300, f) : 0;
    if (f)
        fclose(f);
    CHECK(n == 300);
    const char *cut = write_file("cut.json", text, n);
    char cmd[LONG], out[LONG], err[LONG], name[LONG];
    snprintf(cmd, sizeof cmd, "'%s' '%s' '%s'", tool, cut, good);
    CHECK(nnb_test_run(cmd, out, sizeof out, err, sizeof err) == 2);
    int line = 0, column = 0;
    snprintf(name, sizeof name, "nnbench-compare: %s:%%d:%%d: invalid JSON (truncated?)", cut);
    CHECK_MSG(sscanf(err, name, &line, &column) == 2 && line > 1 && column > 0, "no file:line:col in: %s", err);
}

static void wrong_shapes(void) {
    expect_file_rejected("array.json", TEXT("[1, 2]"), ": the JSON value is an array: expected nnbench full JSON");
    expect_file_rejected("number.json", TEXT("42"), ": the JSON value is a number");
    expect_file_rejected("empty_object.json", TEXT("{}"), ": an empty JSON object: expected nnbench full JSON");
    expect_file_rejected("not_oss.json", TEXT("{\"foo\": 1}"),
                         ": \"foo\" is a number: expected nnbench full JSON (\"schema\": \"nnbench-results\"), a "
                         "sweep or serve file, or fastrnns OSS JSON");
    expect_file_rejected("other_schema.json", TEXT("{\"schema\": \"other\", \"groups\": {}}"),
                         ": \"schema\" is \"other\", expected \"nnbench-results\"");
    expect_file_rejected("no_schema.json", TEXT("{\"groups\": {\"rnns\": []}}"),
                         ": has \"groups\" but no \"schema\": \"nnbench-results\"");
    expect_file_rejected("no_groups.json", TEXT("{\"schema\": \"nnbench-results\"}"),
                         ": nnbench full JSON needs \"groups\": an object of group name -> array of runners "
                         "(docs/json-schema.md); it is missing");
    expect_file_rejected("group_object.json", TEXT("{\"schema\": \"nnbench-results\", \"groups\": {\"rnns\": {}}}"),
                         ": groups.rnns: expected an array of runner objects, got an object");
    expect_file_rejected("no_name.json",
                         TEXT("{\"schema\": \"nnbench-results\", \"groups\": {\"rnns\": [{\"status\": \"ok\"}]}}"),
                         ": groups.rnns[0]: expected \"name\": a non-empty string");
    expect_file_rejected("no_status.json",
                         TEXT("{\"schema\": \"nnbench-results\", \"groups\": {\"rnns\": [{\"name\": \"jit\"}]}}"),
                         ": groups.rnns[0] (\"jit\"): expected \"status\"");
    expect_file_rejected("phase_number.json",
                         TEXT("{\"schema\": \"nnbench-results\", \"groups\": {\"rnns\": [{\"name\": \"jit\", "
                              "\"status\": \"ok\", \"forward\": 3}]}}"),
                         ": groups.rnns[0] (\"jit\").forward: expected a phase object or null, got a number");
}

/* A one-runner full JSON file with the given forward phase. */
static void expect_phase_rejected(const char *name, const char *forward, const char *expected) {
    char text[1024];
    int n = snprintf(text, sizeof text,
                     "{\"schema\": \"nnbench-results\", \"groups\": {\"rnns\": [{\"name\": \"jit\", \"status\": "
                     "\"ok\", \"forward\": %s}]}}",
                     forward);
    expect_file_rejected(name, text, (size_t)n, expected);
}

static void bad_times(void) {
    const char *at = ": groups.rnns[0] (\"jit\").forward.";
    char expected[256];
    snprintf(expected, sizeof expected, "%ssamples_ms[1]: expected a number of ms or null, got a string", at);
    expect_phase_rejected("sample_string.json", "{\"samples_ms\": [1.0, \"fast\"]}", expected);
    snprintf(expected, sizeof expected, "%ssamples_ms[2]: -2 ms is a negative time", at);
    expect_phase_rejected("sample_negative.json", "{\"samples_ms\": [1.0, 2.0, -2]}", expected);
    snprintf(expected, sizeof expected, "%ssamples_ms[0]: inf is not a finite time", at);
    expect_phase_rejected("sample_huge.json", "{\"samples_ms\": [1e999]}", expected);
    snprintf(expected, sizeof expected, "%ssamples_ms: expected an array of numbers, got a string", at);
    expect_phase_rejected("samples_string.json", "{\"samples_ms\": \"1 2 3\"}", expected);
    snprintf(expected, sizeof expected, "%smedian_ms: expected a number of ms or null, got a boolean", at);
    expect_phase_rejected("median_bool.json", "{\"median_ms\": true}", expected);
    snprintf(expected, sizeof expected, "%smedian_ms: -5 ms is a negative time", at);
    expect_phase_rejected("median_negative.json", "{\"median_ms\": -5}", expected);

    expect_file_rejected("oss_string.json", TEXT("{\"lstm\": {\"jit\": \"fast\"}}"),
                         ": \"lstm\".\"jit\": expected a mean in ms (a number) or null, got a string");
    expect_file_rejected("oss_negative.json", TEXT("{\"lstm\": {\"jit\": -1.5}}"),
                         ": \"lstm\".\"jit\": -1.5 ms is a negative time");
    expect_file_rejected("oss_negative_zero.json", TEXT("{\"lstm-backward\": {\"jit\": -1e-300}}"),
                         ": \"lstm-backward\".\"jit\": -1e-300 ms is a negative time");
    expect_file_rejected("oss_group.json", TEXT("{\"lstm\": [1, 2]}"), ": \"lstm\" is an array: expected");
    expect_file_rejected("oss_no_group.json", TEXT("{\"-backward\": {\"jit\": 1}}"),
                         ": key \"-backward\" names no group");
}

static void duplicates(void) {
    expect_file_rejected("dup_full.json",
                         TEXT("{\"schema\": \"nnbench-results\", \"groups\": {\"rnns\": [{\"name\": \"jit\", "
                              "\"status\": \"ok\"}, {\"name\": \"jit\", \"status\": \"failed\"}]}}"),
                         ": groups.rnns[1] (\"jit\"): duplicate runner \"jit\" in group rnns");
    expect_file_rejected("dup_group.json",
                         TEXT("{\"schema\": \"nnbench-results\", \"groups\": {\"rnns\": [], \"rnns\": []}}"),
                         ": groups: duplicate group \"rnns\"");
    expect_file_rejected("dup_oss.json", TEXT("{\"lstm\": {\"jit\": 1.0, \"jit\": 2.0}}"),
                         ": \"lstm\": duplicate runner \"jit\"");
    expect_file_rejected("dup_key.json", TEXT("{\"lstm\": {\"jit\": 1.0}, \"lstm\": {\"py\": 2.0}}"),
                         ": duplicate key \"lstm\"");
}

/* A sweep compares only with a sweep and a serve file only with a serve file: what is refused names both. */
static void mismatched_kinds(const char *data) {
    char args[LONG];
    snprintf(args, sizeof args, "'%s/compare/sweep_old.json' '%s/compare/serve_new.json'", data, data);
    expect_rejected(args, "is an nnbench sweep file and NEW (");
    expect_rejected(args, "is an nnbench serve file: an nnbench sweep file is compared only with another nnbench "
                          "sweep file");
    snprintf(args, sizeof args, "'%s' '%s/compare/serve_new.json'", good, data);
    expect_rejected(args, "an nnbench serve file is compared only with another nnbench serve file");
    snprintf(args, sizeof args, "'%s/compare/sweep_old.json' '%s'", data, good_oss);
    expect_rejected(args, "is a fastrnns OSS JSON: an nnbench sweep file is compared only with another");
    snprintf(args, sizeof args, "--new-unit s '%s/compare/serve_old.json' '%s/compare/serve_new.json'", data, data);
    expect_rejected(args, "is an nnbench serve file, whose times are always ms");
    expect_file_rejected("sweep_without_points.json", TEXT("{\"schema\": \"nnbench-sweep\", \"sweep\": {}}"),
                         ": a sweep file needs \"points\": an array (docs/sweeps.md); it is missing");
    expect_file_rejected("sweep_bad_run.json",
                         TEXT("{\"schema\": \"nnbench-sweep\", \"points\": [{\"settings\": {\"seqLength\": \"7\"}, "
                              "\"runs\": [{\"results\": {\"schema\": \"nnbench-results\"}}]}]}"),
                         ": points[0].runs[0].results: nnbench full JSON needs \"groups\"");
    expect_file_rejected("serve_without_summary.json",
                         TEXT("{\"schema\": \"nnbench-serve\", \"config\": {\"runner\": \"jit\"}}"),
                         ": a serve file needs \"summary\" with \"latency_ms\"");
    expect_file_rejected("serve_without_runner.json", TEXT("{\"schema\": \"nnbench-serve\", \"config\": {}}"),
                         ": a serve file needs config.runner");
}

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: %s PATH-OF-nnbench-compare\n", argv[0]);
        return 2;
    }
    snprintf(tool, sizeof tool, "%s", argv[1]);
    const char *data = nnb_test_env("NNBENCH_TEST_DATA");
    snprintf(good, sizeof good, "%s/compare/old.json", data);
    snprintf(good_oss, sizeof good_oss, "%s/compare/old_oss.json", data);
    snprintf(dir, sizeof dir, "/tmp/nnb-compare-test-XXXXXX");
    if (!mkdtemp(dir)) {
        perror("mkdtemp");
        return 2;
    }
    bad_command_lines();
    unreadable_files();
    invalid_json();
    wrong_shapes();
    bad_times();
    duplicates();
    mismatched_kinds(data);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir); /* only our own mkdtemp directory */
    CHECK(system(cmd) == 0);
    return nnb_test_finish();
}
