#define _GNU_SOURCE
/* --isolate and SIGINT/SIGTERM through the nnbench binary: runners that
 * segfault, abort or hang are reported with their cause while the good runners
 * beside them report normal results (table, OSS JSON, full JSON); a signal
 * during a run leaves a valid JSON file with the runs marked interrupted. */
#include "test_support.h"

#include <cjson/cJSON.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static char bin[1024], good[1024], json_path[256];
static char out[1 << 16], err[1 << 16];

/* In the sanitizer build ASan would catch the segfault itself and exit 1: let it reach the process. */
#define LET_SEGV_KILL "ASAN_OPTIONS=$ASAN_OPTIONS:handle_segv=0 "

static int nnbench(const char *args) {
    char cmd[4096];
    unlink(json_path);
    snprintf(cmd, sizeof cmd, LET_SEGV_KILL "%s --device cpu --runner-path %s --json-out %s %s", bin, good, json_path,
             args);
    return nnb_test_run(cmd, out, sizeof out, err, sizeof err);
}

static cJSON *read_json(void) { return nnb_test_read_json(json_path); }

static const cJSON *runner(const cJSON *root, const char *name) {
    const cJSON *r;
    cJSON_ArrayForEach(r, cJSON_GetObjectItem(cJSON_GetObjectItem(root, "groups"), "rnns")) {
        if (!strcmp(cJSON_GetStringValue(cJSON_GetObjectItem(r, "name")), name))
            return r;
    }
    return NULL;
}

static const char *field(const cJSON *r, const char *key) {
    const char *s = r ? cJSON_GetStringValue(cJSON_GetObjectItem(r, key)) : NULL;
    return s ? s : "(none)";
}

static int samples_of(const cJSON *r) {
    const cJSON *fwd = r ? cJSON_GetObjectItem(r, "forward") : NULL;
    return cJSON_IsObject(fwd) ? cJSON_GetArraySize(cJSON_GetObjectItem(fwd, "samples_ms")) : 0;
}

static void crashes_are_reported_and_the_rest_goes_on(void) {
    double t0 = (double)time(NULL);
    int rc = nnbench("--rnns empty segfaults aborts hangs empty_fwd --runner-timeout 1 --warmup 1 --nloops 4");
    CHECK_MSG(rc == 1, "exit %d, expected 1; stderr: %s", rc, err);
    CHECK_MSG((double)time(NULL) - t0 < 20, "the hanging runner was not stopped in time");
    CHECK_STR_CONTAINS(err, "       segfaults          FAILED: crashed: killed by signal 11 (Segmentation fault)");
    CHECK_STR_CONTAINS(err, "          aborts          FAILED: crashed: killed by signal 6 (Aborted)");
    CHECK_STR_CONTAINS(err, "           hangs          FAILED: timed out: still running after 1 s (--runner-timeout)");
    CHECK_STR_CONTAINS(err, "           empty        ");
    CHECK_STR_CONTAINS(err, "       empty_fwd        ");
    cJSON *root = read_json();
    CHECK_MSG(root != NULL, "no valid JSON at %s", json_path);
    CHECK_STR_CONTAINS(field(runner(root, "empty"), "status"), "ok");
    CHECK(samples_of(runner(root, "empty")) == 4 && samples_of(runner(root, "empty_fwd")) == 4);
    CHECK(cJSON_IsObject(cJSON_GetObjectItem(runner(root, "empty"), "runner_info")));
    CHECK_STR_CONTAINS(field(runner(root, "segfaults"), "status"), "failed");
    CHECK_STR_CONTAINS(field(runner(root, "segfaults"), "error"), "killed by signal 11");
    CHECK_STR_CONTAINS(field(runner(root, "aborts"), "error"), "killed by signal 6");
    CHECK_STR_CONTAINS(field(runner(root, "hangs"), "error"), "timed out");
    cJSON_Delete(root);

    /* OSS JSON: the good runners, nothing of the crashed ones. */
    rc = nnbench("--rnns empty segfaults aborts empty_fwd --warmup 1 --nloops 3 --print-json");
    CHECK_MSG(rc == 1, "exit %d; stderr: %s", rc, err);
    cJSON *oss = cJSON_Parse(out);
    const cJSON *lstm = cJSON_GetObjectItem(oss, "lstm");
    CHECK_MSG(cJSON_IsNumber(cJSON_GetObjectItem(lstm, "empty")) &&
                  cJSON_IsNumber(cJSON_GetObjectItem(lstm, "empty_fwd")),
              "OSS: %s", out);
    CHECK(!cJSON_GetObjectItem(lstm, "segfaults") && !cJSON_GetObjectItem(lstm, "aborts"));
    cJSON_Delete(oss);
    CHECK_STR_CONTAINS(err, "nnbench: segfaults (rnns): failed: crashed: killed by signal 11");
}

static void a_check_result_crosses_the_process_boundary(void) {
    int rc = nnbench("--rnns jit py --check --seqLength 3 --miniBatch 2 --inputSize 4 --hiddenSize 5 --nloops 2");
    CHECK_MSG(rc == 0, "exit %d; stderr: %s", rc, err);
    CHECK_STR_CONTAINS(err, "check jit vs py: pass");
    cJSON *root = read_json();
    const cJSON *check = cJSON_GetObjectItem(runner(root, "jit"), "check");
    CHECK_STR_CONTAINS(field(check, "reference"), "py");
    CHECK(cJSON_GetArraySize(cJSON_GetObjectItem(check, "tensors")) >= 8);
    cJSON_Delete(root);
}

/* nnbench with args in the background; after `after_s` seconds, sig. Returns the exit status. */
static int signalled_run(const char *args, double after_s, int sig) {
    char cmd[4096];
    unlink(json_path);
    snprintf(cmd, sizeof cmd, "exec %s --device cpu --runner-path %s --json-out %s %s 2>/dev/null", bin, good,
             json_path, args);
    pid_t pid = fork();
    if (pid == 0) {
        execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
        _exit(127);
    }
    struct timespec t = {(time_t)after_s, (long)((after_s - (double)(time_t)after_s) * 1e9)};
    nanosleep(&t, NULL);
    kill(pid, sig);
    int status = 0;
    waitpid(pid, &status, 0);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

static void a_signal_leaves_valid_json(const char *args, int sig, const char *runner_name, int later_runner) {
    int rc = signalled_run(args, 0.6, sig);
    CHECK_MSG(rc == 130, "'%s' signal %d: exit %d, expected 130", args, sig, rc);
    cJSON *root = read_json();
    CHECK_MSG(root != NULL, "'%s': the JSON file is not valid after the signal", args);
    CHECK(cJSON_IsTrue(cJSON_GetObjectItem(root, "interrupted")));
    const cJSON *r = runner(root, runner_name);
    CHECK_STR_CONTAINS(field(r, "status"), "interrupted");
    CHECK_STR_CONTAINS(field(r, "error"),
                       sig == SIGTERM ? "interrupted (SIGTERM) after" : "interrupted (SIGINT) after");
    CHECK_MSG(samples_of(r) > 10, "'%s': %d samples kept", args, samples_of(r));
    if (later_runner)
        CHECK_STR_CONTAINS(field(runner(root, "empty"), "error"), "before it started");
    cJSON_Delete(root);
}

static void signals_stop_after_the_current_iteration(void) {
    a_signal_leaves_valid_json("--rnns spin empty --seqLength 2000 --warmup 1 --nloops 100000", SIGINT, "spin", 1);
    a_signal_leaves_valid_json("--rnns spin empty --seqLength 2000 --warmup 1 --nloops 100000", SIGTERM, "spin", 1);
    a_signal_leaves_valid_json("--rnns spin --no-isolate --seqLength 2000 --warmup 1 --nloops 100000", SIGINT, "spin",
                               0);
    /* --min-samples beyond reach: the rounds go on until the signal, whatever the interval does. */
    int rc =
        signalled_run("--ab spin spin --seqLength 2000 --warmup 1 --max-time 60 --min-samples 100000", 0.6, SIGINT);
    CHECK_MSG(rc == 130, "--ab interrupted: exit %d", rc);
    cJSON *root = read_json();
    CHECK_STR_CONTAINS(field(cJSON_GetObjectItem(root, "ab"), "stop_reason"), "interrupted");
    cJSON_Delete(root);
}

int main(void) {
    snprintf(bin, sizeof bin, "%s", nnb_test_env("NNBENCH_BIN"));
    snprintf(good, sizeof good, "%s/good", nnb_test_env("NNBENCH_TEST_PLUGIN_DIR"));
    snprintf(json_path, sizeof json_path, "/tmp/nnb-isolate-test-%ld.json", (long)getpid());
    crashes_are_reported_and_the_rest_goes_on();
    a_check_result_crosses_the_process_boundary();
    signals_stop_after_the_current_iteration();
    unlink(json_path);
    return nnb_test_finish();
}
