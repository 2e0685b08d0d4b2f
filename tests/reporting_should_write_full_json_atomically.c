/*
 * Full JSON results (docs/json-schema.md): every field read back with cJSON and
 * compared with the fixture's numbers; NaN written as null; the write is atomic
 * (a failed write leaves the old file and no temporary behind); the output path
 * check rejects what the write could not do.
 *
 * A failing write is made real with RLIMIT_FSIZE (root is not exempt from it,
 * unlike from file permissions): the temporary file hits the size limit.
 */
#define _GNU_SOURCE
#include "report.h"
#include "results_fixture.h"
#include "test_support.h"

#include <cjson/cJSON.h>
#include <dirent.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

/* CHECK_STR_CONTAINS for a char array (the shared macro's NULL test warns on arrays). */
#define CHECK_CONTAINS(text, needle)                                                                                   \
    CHECK_MSG(strstr((text), (needle)) != NULL, "expected \"%s\" in: %s", (needle), (text))

static cJSON *item(const cJSON *o, const char *key) { return cJSON_GetObjectItemCaseSensitive(o, key); }

static void check_number(const cJSON *o, const char *key, double want) {
    const cJSON *v = item(o, key);
    CHECK_MSG(cJSON_IsNumber(v) && v->valuedouble == want, "%s: got %s%.17g, want %.17g", key,
              cJSON_IsNumber(v) ? "" : "(not a number) ", v ? v->valuedouble : 0.0, want);
}

static void check_string(const cJSON *o, const char *key, const char *want) {
    const char *got = cJSON_GetStringValue(item(o, key));
    CHECK_MSG(got && strcmp(got, want) == 0, "%s: got %s, want %s", key, got ? got : "(not a string)", want);
}

static void check_null(const cJSON *o, const char *key) {
    CHECK_MSG(cJSON_IsNull(item(o, key)), "%s: expected null", key);
}

static void check_bool(const cJSON *o, const char *key, int want) {
    const cJSON *v = item(o, key);
    CHECK_MSG(cJSON_IsBool(v) && !!cJSON_IsTrue(v) == !!want, "%s: expected %s", key, want ? "true" : "false");
}

static void check_phase(const cJSON *o, const nnb_phase_stats *s) {
    CHECK_MSG(cJSON_IsObject(o), "phase object missing");
    check_number(o, "mean_ms", s->mean);
    check_number(o, "std_ms", s->std);
    check_number(o, "min_ms", s->min);
    check_number(o, "median_ms", s->median);
    check_number(o, "max_ms", s->max);
    const cJSON *ci = item(o, "median_ci_ms"); /* unbounded for so few samples: written as nulls */
    CHECK(cJSON_GetArraySize(ci) == 2 && cJSON_IsNull(cJSON_GetArrayItem(ci, 0)) &&
          cJSON_IsNull(cJSON_GetArrayItem(ci, 1)));
    const cJSON *samples = item(o, "samples_ms");
    CHECK(cJSON_IsArray(samples) && cJSON_GetArraySize(samples) == s->count);
    for (int i = 0; i < s->count && i < cJSON_GetArraySize(samples); i++)
        CHECK_MSG(cJSON_GetArrayItem(samples, i)->valuedouble == s->samples_ms[i], "sample %d", i);
}

/* Number of entries in dir other than . and .. */
static int entries_in(const char *dir) {
    DIR *d = opendir(dir);
    if (!d)
        return -1;
    int n = 0;
    for (struct dirent *e; (e = readdir(d));)
        n += strcmp(e->d_name, ".") && strcmp(e->d_name, "..");
    closedir(d);
    return n;
}

static char *read_file(const char *path) {
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *text = malloc((size_t)n + 1);
    size_t got = fread(text, 1, (size_t)n, f);
    text[got] = '\0';
    fclose(f);
    return text;
}

static void write_text(const char *path, const char *text) {
    FILE *f = fopen(path, "wb");
    if (f) {
        fputs(text, f);
        fclose(f);
    }
}

static void check_context_and_config(const cJSON *root, const nnb_run_results *res) {
    check_string(root, "schema", "nnbench-results");
    check_number(root, "schema_version", 1);
    check_null(root, "ab"); // not an --ab run
    const cJSON *ctx = item(root, "context");
    check_string(ctx, "nnbench_version", "0.1.0");
    check_string(ctx, "git_sha", "abc1234");
    check_string(ctx, "date", "2026-01-02T03:04:05Z");
    check_string(ctx, "host", "bench-host");
    check_string(ctx, "cpu_model", "Test CPU @ 2.00GHz");
    check_number(ctx, "threads", 2);
    check_string(ctx, "blas", "OpenBLAS 0.3.21 (core SkylakeX)");
    check_string(ctx, "onednn", "2.6.3");
    const char *empty[] = {"cuda_runtime", "cuda_driver", "cudnn", "cublas", "gpu_name", "gpu_sm"};
    for (int i = 0; i < 6; i++)
        check_null(ctx, empty[i]); // empty: not applicable on a cpu run
    check_string(ctx, "device", "cpu");
    check_null(ctx, "fma_peak_gflops"); // not measured
    const char *peaks[] = {"fp32_fma", "bf16_dot", "bf16_amx", "fp16_fma"};
    for (int i = 0; i < 4; i++)
        check_null(item(ctx, "peaks_gflops"), peaks[i]); // not measured
    CHECK(cJSON_GetArraySize(ctx) == 17);

    const cJSON *cfg = item(root, "config");
    check_number(cfg, "seq_length", 100);
    check_number(cfg, "num_layers", 2);
    check_number(cfg, "input_size", 512);
    check_number(cfg, "hidden_size", 256);
    check_number(cfg, "mini_batch", 64);
    check_number(cfg, "cnn_batch", 32);
    check_number(cfg, "image_size", 224);
    check_number(cfg, "seed", 42);
    check_number(cfg, "threads", 2);
    check_string(cfg, "fuser", "te");
    check_string(cfg, "executor", res->executor);
    check_number(cfg, "cuda_pointwise_loop_level", 3);
    check_number(cfg, "cuda_pointwise_block_count", 0);
    check_number(cfg, "cuda_pointwise_block_size", 512);
    check_bool(cfg, "allow_tf32", 1);
    check_number(cfg, "cuda_device", 0);
    check_number(cfg, "warmup", 3);
    check_number(cfg, "nloops", FIXTURE_NLOOPS);
    check_number(cfg, "confidence", 0.95);
    check_null(cfg, "adaptive"); // fixed --nloops
    check_string(cfg, "device", "cpu");
    check_string(cfg, "precision", "fp32"); // --dtype's default
    check_null(cfg, "conv"); // not a convs run
    CHECK(cJSON_GetArraySize(cfg) == 23);
}

static void check_common(const cJSON *r, const nnb_runner_result *want) {
    check_string(r, "name", want->name);
    check_string(r, "group", want->group);
    check_string(r, "device", "cpu");
    check_string(r, "plugin", "/opt/nnbench/runners/nnb_test.so");
    check_string(r, "description", "test runner");
    check_string(r, "status", nnb_run_status_name(want->status));
    check_bool(r, "has_backward", want->has_backward);
    check_number(r, "create_ms", want->create_ms);
    check_null(r, "stop_reason"); // fixed --nloops
    check_null(r, "noise");
    check_string(r, "precision", nnb_precision_name(want->precision));
    CHECK(cJSON_GetArraySize(item(r, "backward_parts")) == 0); // no parts: no per-part keys either
    CHECK(cJSON_GetArraySize(r) == 20); // with "peak"
}

static void check_runners(const cJSON *root, const nnb_run_results *res) {
    const cJSON *groups = item(root, "groups");
    const cJSON *rnns = item(groups, "rnns"), *vl = item(groups, "vl_rnns");
    CHECK(cJSON_GetArraySize(groups) == 2 && cJSON_GetArraySize(rnns) == 4 && cJSON_GetArraySize(vl) == 3);
    const nnb_runner_result *want = res->groups[0].runners;

    // py: ok, forward and backward, FLOPs, describe() JSON embedded as an object.
    const cJSON *r = cJSON_GetArrayItem(rnns, 0);
    check_common(r, &want[0]);
    check_null(r, "error");
    check_phase(item(r, "forward"), &want[0].fwd);
    check_phase(item(r, "backward"), &want[0].bwd);
    check_number(item(r, "flops"), "forward", 1e9);
    check_number(item(r, "flops"), "backward", 2e9);
    CHECK_NEAR(item(item(r, "gflops"), "forward")->valuedouble, 1e9 / 11.5e-3 / 1e9, 1e-9); // 86.96 GFLOP/s
    CHECK_NEAR(item(item(r, "gflops"), "backward")->valuedouble, 2e9 / 20.125e-3 / 1e9, 1e-9);
    const cJSON *info = item(r, "runner_info");
    CHECK(cJSON_IsObject(info));
    check_string(info, "library", "naive");
    check_number(info, "threads", 2);
    check_null(r, "check");
    check_null(r, "peak"); // --measure-peak not given

    // Forward-only: backward, its FLOPs and rate null.
    r = cJSON_GetArrayItem(rnns, 1);
    check_common(r, &want[1]);
    check_phase(item(r, "forward"), &want[1].fwd);
    check_null(r, "backward");
    check_null(item(r, "flops"), "backward");
    check_null(item(r, "gflops"), "backward");
    check_null(r, "runner_info");

    // Failed: error text, nothing measured.
    r = cJSON_GetArrayItem(rnns, 2);
    check_common(r, &want[2]);
    check_string(r, "error", FIXTURE_CUDNN_ERROR);
    check_null(r, "forward");
    check_null(r, "backward");
    check_null(item(r, "flops"), "forward");
    check_null(item(r, "gflops"), "forward");

    // Checked and passing.
    r = cJSON_GetArrayItem(rnns, 3);
    check_common(r, &want[3]);
    check_null(item(r, "flops"), "forward"); // unknown FLOPs (0)
    check_null(item(r, "gflops"), "forward");
    const cJSON *check = item(r, "check");
    check_string(check, "reference", "py");
    check_bool(check, "pass", 1);
    check_string(check, "verdict", "pass");
    const cJSON *tensors = item(check, "tensors");
    CHECK(cJSON_GetArraySize(tensors) == 2);
    for (int i = 0; i < 2 && i < cJSON_GetArraySize(tensors); i++) {
        const cJSON *t = cJSON_GetArrayItem(tensors, i);
        const nnb_tensor_check *c = &want[3].checks[i];
        check_string(t, "name", c->name);
        check_number(t, "max_abs_err", c->max_abs_err);
        check_number(t, "max_rel_err", c->max_rel_err);
        check_number(t, "l2_rel_err", c->l2_rel_err);
        check_string(t, "norm", "max");
        check_number(t, "tolerance", c->tolerance);
        check_bool(t, "pass", 1);
        check_string(t, "metric", "max_rel");
        check_number(t, "error", c->max_rel_err); // the judged error: max_rel for norm "max"
        CHECK(cJSON_GetArraySize(t) == 9);
    }

    // Check failed: NaN sample, mean and errors are null; describe() text that is not JSON is a string.
    want = res->groups[1].runners;
    r = cJSON_GetArrayItem(vl, 1);
    check_common(r, &want[1]);
    check_string(r, "error", "vs vl_py: dx max_rel_err nan > 0.0001;"); // from the checks
    const cJSON *fwd = item(r, "forward");
    check_null(fwd, "mean_ms");
    CHECK(cJSON_IsNull(cJSON_GetArrayItem(item(fwd, "samples_ms"), 1)));
    const cJSON *first = cJSON_GetArrayItem(item(fwd, "samples_ms"), 0);
    CHECK(cJSON_IsNumber(first) && first->valuedouble == 1.0);
    check_string(r, "runner_info", FIXTURE_BAD_INFO);
    check = item(r, "check");
    check_bool(check, "pass", 0);
    const cJSON *dx = cJSON_GetArrayItem(item(check, "tensors"), 1);
    check_null(dx, "max_abs_err");
    check_null(dx, "max_rel_err");
    check_bool(dx, "pass", 0);

    r = cJSON_GetArrayItem(vl, 2);
    check_common(r, &want[2]);
    check_string(r, "error", FIXTURE_SKIP_REASON);
}

static void check_failures(const char *dir, const nnb_run_results *res) {
    char path[512], err[512];

    // Missing directory: fails, names the path, creates nothing.
    snprintf(path, sizeof path, "%s/missing/results.json", dir);
    err[0] = '\0';
    CHECK(nnb_report_json_write(path, res, err, sizeof err) == -1);
    CHECK_CONTAINS(err, path);
    char missing[512];
    snprintf(missing, sizeof missing, "%s/missing", dir);
    CHECK(access(missing, F_OK) != 0);

    // Path is a directory: fails, the directory stays empty.
    snprintf(path, sizeof path, "%s/subdir", dir);
    mkdir(path, 0755);
    CHECK(nnb_report_json_write(path, res, err, sizeof err) == -1);
    CHECK_CONTAINS(err, path);
    CHECK(entries_in(path) == 0);
    rmdir(path);

    // The write itself fails (file size limit): the old file is intact, no temporary left.
    snprintf(path, sizeof path, "%s/results.json", dir);
    write_text(path, "previous results\n");
    struct rlimit old;
    getrlimit(RLIMIT_FSIZE, &old);
    struct rlimit small = {64, old.rlim_max};
    void (*old_handler)(int) = signal(SIGXFSZ, SIG_IGN); // else the process is killed instead of EFBIG
    CHECK(setrlimit(RLIMIT_FSIZE, &small) == 0);
    err[0] = '\0';
    int rc = nnb_report_json_write(path, res, err, sizeof err);
    setrlimit(RLIMIT_FSIZE, &old);
    signal(SIGXFSZ, old_handler);
    CHECK(rc == -1);
    CHECK_CONTAINS(err, path);
    CHECK_CONTAINS(err, "write of"); // failed where meant to: writing the temporary file
    char *text = read_file(path);
    CHECK(text && strcmp(text, "previous results\n") == 0);
    free(text);
    CHECK_MSG(entries_in(dir) == 1, "%d entries in %s after a failed write (want only results.json)", entries_in(dir),
              dir);

    // nnb_output_path_check.
    CHECK(nnb_output_path_check(dir, err, sizeof err) == -1);
    CHECK_CONTAINS(err, "is a directory");
    CHECK(nnb_output_path_check(missing, err, sizeof err) == 0); // a new file in an existing directory
    snprintf(path, sizeof path, "%s/missing/out.json", dir);
    CHECK(nnb_output_path_check(path, err, sizeof err) == -1);
    CHECK_CONTAINS(err, path);
    CHECK_CONTAINS(err, "does not exist");
    snprintf(path, sizeof path, "%s/results.json", dir);
    CHECK(nnb_output_path_check(path, err, sizeof err) == 0);         // an existing file is replaced
    CHECK(nnb_output_path_check("/dev/null", err, sizeof err) == -1); // rename would replace the device
    CHECK(nnb_output_path_check("", err, sizeof err) == -1);
    snprintf(path, sizeof path, "%s/results.json/x.json", dir); // parent is a file
    CHECK(nnb_output_path_check(path, err, sizeof err) == -1);
    CHECK_CONTAINS(err, path);
}

int main(void) {
    nnb_run_results res;
    fixture_results(&res);
    char dir[] = "/tmp/nnb_reporting_XXXXXX";
    if (!mkdtemp(dir)) {
        CHECK_MSG(0, "mkdtemp failed");
        return nnb_test_finish();
    }
    char path[512], err[512] = "";
    snprintf(path, sizeof path, "%s/results.json", dir);
    write_text(path, "old");

    // Replaces the existing file, leaves no temporary.
    CHECK_MSG(nnb_report_json_write(path, &res, err, sizeof err) == 0, "write failed: %s", err);
    CHECK(entries_in(dir) == 1);
    char *text = read_file(path);
    cJSON *root = text ? cJSON_Parse(text) : NULL;
    CHECK_MSG(root != NULL, "results do not parse as JSON");
    if (root) {
        check_context_and_config(root, &res);
        check_runners(root, &res);
    }
    // cJSON's parser already rejects NaN/Infinity tokens; also look for them as printed values.
    CHECK(text && !strstr(text, ": nan") && !strstr(text, ": -nan") && !strstr(text, "\tnan") && !strstr(text, "NaN"));
    cJSON_Delete(root);
    free(text);

    // A seed beyond 2^53 stays exact, as a decimal string.
    res.config.seed = 18446744073709551557ull;
    text = nnb_report_json_text(&res);
    root = cJSON_Parse(text);
    check_string(item(root, "config"), "seed", "18446744073709551557");
    cJSON_Delete(root);
    free(text);
    res.config.seed = 42;

    check_failures(dir, &res);

    unlink(path);
    rmdir(dir);
    return nnb_test_finish();
}
