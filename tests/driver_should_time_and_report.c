#define _GNU_SOURCE
/* End to end through the nnbench binary with the test plugin: table, OSS and
 * PEP JSON, full JSON, skipped CUDA runners, failures and --dump. */
#include "device.h"
#include "test_support.h"

#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char bin[1024], good[1024];
static char out[1 << 16], err[1 << 16];

static int nnbench(const char *args) {
    char cmd[4096];
    snprintf(cmd, sizeof cmd, "%s --runner-path %s %s", bin, good, args);
    return nnb_test_run(cmd, out, sizeof out, err, sizeof err);
}

static cJSON *read_json(const char *path) { return nnb_test_read_json(path); }

static const cJSON *runner_in(const cJSON *root, const char *name) {
    /* "groups": {"rnns": [runner, ...], ...} */
    const cJSON *groups = cJSON_GetObjectItem(root, "groups"), *g, *r;
    cJSON_ArrayForEach(g, groups) {
        cJSON_ArrayForEach(r, g) {
            const cJSON *n = cJSON_GetObjectItem(r, "name");
            if (cJSON_IsString(n) && !strcmp(n->valuestring, name))
                return r;
        }
    }
    return NULL;
}

static void table_and_full_json(void) {
    char path[256], args[512];
    snprintf(path, sizeof path, "/tmp/nnb-driver-test-%ld.json", (long)getpid());
    snprintf(args, sizeof args, "--device cpu --rnns empty empty_fwd --warmup 2 --nloops 5 --sep '|' --json-out %s",
             path);
    CHECK_MSG(nnbench(args) == 0, "exit status, stderr: %s", err);
    CHECK_STR_CONTAINS(err, "Benchmarking LSTMs...");
    CHECK_STR_CONTAINS(err, "            name|         avg_fwd|         std_fwd|        info_fwd|");
    CHECK_STR_CONTAINS(err, "           empty|");
    CHECK_STR_CONTAINS(err, "       empty_fwd|");
    cJSON *root = read_json(path);
    CHECK_MSG(root != NULL, "cannot parse %s", path);
    if (root) {
        const cJSON *e = runner_in(root, "empty"), *f = runner_in(root, "empty_fwd");
        CHECK(e && f);
        if (e && f) {
            const cJSON *fwd = cJSON_GetObjectItem(e, "forward");
            CHECK(cJSON_GetArraySize(cJSON_GetObjectItem(fwd, "samples_ms")) == 5);
            CHECK(cJSON_IsObject(cJSON_GetObjectItem(e, "backward")));
            CHECK(cJSON_IsNull(cJSON_GetObjectItem(f, "backward")));
            const cJSON *status = cJSON_GetObjectItem(e, "status");
            CHECK(cJSON_IsString(status) && !strcmp(status->valuestring, "ok"));
            CHECK(cJSON_GetObjectItem(cJSON_GetObjectItem(e, "flops"), "forward")->valuedouble == 12.0);
        }
        cJSON_Delete(root);
    }
    unlink(path);
}

static void oss_and_pep(void) {
    CHECK_MSG(nnbench("--device cpu --rnns empty empty_fwd --warmup 1 --nloops 4 --print-json") == 0, "%s", err);
    cJSON *oss = cJSON_Parse(out);
    CHECK_MSG(oss != NULL, "OSS output is not JSON: %s", out);
    if (oss) {
        CHECK(cJSON_IsNumber(cJSON_GetObjectItem(cJSON_GetObjectItem(oss, "lstm"), "empty")));
        CHECK(cJSON_IsNumber(cJSON_GetObjectItem(cJSON_GetObjectItem(oss, "lstm"), "empty_fwd")));
        CHECK(cJSON_IsNumber(cJSON_GetObjectItem(cJSON_GetObjectItem(oss, "lstm-backward"), "empty")));
        CHECK(cJSON_GetObjectItem(cJSON_GetObjectItem(oss, "lstm-backward"), "empty_fwd") == NULL);
        cJSON_Delete(oss);
    }
    CHECK_MSG(strstr(err, "Benchmarking") == NULL, "table printed with --print-json: %s", err);

    CHECK_MSG(nnbench("--device cpu --rnns empty empty_fwd --warmup 1 --nloops 4 --print-json pep") == 0, "%s", err);
    int lines = 0, fwd = 0, bwd = 0;
    for (char *save = NULL, *line = strtok_r(out, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        lines++;
        CHECK(strncmp(line, "Caffe2Observer ", 15) == 0);
        cJSON *j = cJSON_Parse(line + 15);
        CHECK(j != NULL);
        if (!j)
            continue;
        const cJSON *metric = cJSON_GetObjectItem(j, "metric"), *value = cJSON_GetObjectItem(j, "value");
        CHECK(cJSON_IsString(value) && atof(value->valuestring) >= 0);
        CHECK(!strcmp(cJSON_GetObjectItem(j, "unit")->valuestring, "ms"));
        fwd += cJSON_IsString(metric) && !strncmp(metric->valuestring, "lstm-empty", 10);
        bwd += cJSON_IsString(metric) && !strcmp(metric->valuestring, "lstm-backward-empty");
        cJSON_Delete(j);
    }
    CHECK_MSG(lines == 12 && fwd == 8 && bwd == 4, "pep lines %d fwd %d bwd %d", lines, fwd, bwd);
}

static void skipped_cuda_runner(void) {
    char reason[256];
    if (nnb_cuda_usable(reason, sizeof reason))
        return; /* a GPU is here: fake_cuda really runs */
    char path[256], args[512];
    snprintf(path, sizeof path, "/tmp/nnb-skip-test-%ld.json", (long)getpid());
    snprintf(args, sizeof args, "--device cuda --rnns fake_cuda --nloops 2 --json-out %s", path);
    CHECK_MSG(nnbench(args) == 3, "all runners skipped must give exit 3: %s", err);
    CHECK_STR_CONTAINS(err, "SKIPPED");
    CHECK_STR_CONTAINS(err, "cuda: ");
    cJSON *root = read_json(path);
    const cJSON *r = root ? runner_in(root, "fake_cuda") : NULL;
    CHECK(r && !strcmp(cJSON_GetObjectItem(r, "status")->valuestring, "skipped"));
    CHECK(r && strstr(cJSON_GetObjectItem(r, "error")->valuestring, "cuda: ") != NULL);
    cJSON_Delete(root);
    unlink(path);
    CHECK(nnbench("--device cuda --rnns fake_cuda --nloops 2 --print-json") == 3);
    CHECK_MSG(strstr(out, "fake_cuda") == NULL, "skipped runner in OSS output: %s", out);
    CHECK_STR_CONTAINS(err, "fake_cuda");
    CHECK(nnbench("--list") == 0);
    CHECK_STR_CONTAINS(out, "fake_cuda");
    CHECK_MSG(strstr(out, "cuda: no device") || strstr(out, "cuda: no NVIDIA driver found") ||
                  strstr(out, "cuda: nnbench was built without CUDA"),
              "--list does not say why fake_cuda cannot run: %s", out);
}

static void failing_runner(void) {
    CHECK(nnbench("--device cpu --rnns forward_fails empty --warmup 1 --nloops 3 --print-json") == 1);
    CHECK_STR_CONTAINS(err, "deliberate forward failure at call 3");
    cJSON *oss = cJSON_Parse(out);
    CHECK(oss && cJSON_GetObjectItem(cJSON_GetObjectItem(oss, "lstm"), "empty") != NULL);
    CHECK(oss && cJSON_GetObjectItem(cJSON_GetObjectItem(oss, "lstm"), "forward_fails") == NULL);
    cJSON_Delete(oss);
}

static void dump(void) {
    char dir[256], args[512], file[512];
    snprintf(dir, sizeof dir, "/tmp/nnb-dump-test-%ld", (long)getpid());
    snprintf(args, sizeof args, "--device cpu --rnns empty --warmup 0 --nloops 1 --dump %s", dir);
    CHECK_MSG(nnbench(args) == 0, "%s", err);
    nnb_npy_array x, y, dx;
    char e[512];
    snprintf(file, sizeof file, "%s/empty/x.npy", dir);
    CHECK_MSG(nnb_npy_read(file, &x, e, sizeof e) == 0, "%s", e);
    snprintf(file, sizeof file, "%s/empty/y.npy", dir);
    CHECK_MSG(nnb_npy_read(file, &y, e, sizeof e) == 0, "%s", e);
    snprintf(file, sizeof file, "%s/empty/dx.npy", dir);
    CHECK_MSG(nnb_npy_read(file, &dx, e, sizeof e) == 0, "%s", e);
    if (x.data && y.data && dx.data) {
        CHECK(x.count == 6 && y.count == 6);
        for (int i = 0; i < 6; i++)
            CHECK(((float *)y.data)[i] == 2 * ((float *)x.data)[i]);
        CHECK(((float *)dx.data)[0] == 2);
    }
    nnb_npy_free(&x);
    nnb_npy_free(&y);
    nnb_npy_free(&dx);
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    CHECK(system(cmd) == 0);
}

static void help_and_version(void) {
    CHECK(nnbench("--help") == 0);
    CHECK_STR_CONTAINS(out, "--seqLength");
    CHECK_STR_CONTAINS(out, "exit status");
    CHECK(nnbench("--version") == 0);
    CHECK_STR_CONTAINS(out, "plugin ABI 1.");
}

int main(void) {
    snprintf(bin, sizeof bin, "%s", nnb_test_env("NNBENCH_BIN"));
    snprintf(good, sizeof good, "%s/good", nnb_test_env("NNBENCH_TEST_PLUGIN_DIR"));
    table_and_full_json();
    oss_and_pep();
    skipped_cuda_runner();
    failing_runner();
    dump();
    help_and_version();
    return nnb_test_finish();
}
