/* The dtype and --check's errors in what a run reports (reporting/json_results.c, reporting/table.c, bench/ab.c):
 * every result carries "precision", the run's config too, and each checked tensor its measured "error", the
 * "metric" judged and the "tolerance"; the robust table shows both; --ab sides of different dtypes say which is
 * which. The runner (tests/plugins/precision_runners.c) rounds y = 1.1 x to bf16, so the error is worked out
 * here from the same x: max |bf16(y) - y| / max |y|, nonzero and below 2^-8. */
#include "nnb_precision.h"
#include "test_support.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char bin[1024], plugins[1024], json[256];
static char out[65536], err[65536];

static int run(const char *args) {
    return nnb_test_runf(out, sizeof out, err, sizeof err, "%s --device cpu --runner-path %s/precision %s", bin,
                         plugins, args);
}

/* max |bf16(1.1 x) - 1.1 x| / max |1.1 x| over x = bf16(0.1 i + 0.01), i < 6. */
static double expected_bf16_error(void) {
    double max_diff = 0, max_ref = 0;
    for (int i = 0; i < 6; i++) {
        float x = nnb_round_bf16(0.1f * (float)i + 0.01f);
        float y = (float)((double)x * 1.1);
        max_diff = fmax(max_diff, fabs((double)nnb_round_bf16(y) - y));
        max_ref = fmax(max_ref, fabs(y));
    }
    return max_diff / max_ref;
}

static const cJSON *first_runner(const cJSON *root) {
    return cJSON_GetArrayItem(cJSON_GetObjectItem(cJSON_GetObjectItem(root, "groups"), "rnns"), 0);
}

static const char *str(const cJSON *o, const char *key) {
    const cJSON *v = cJSON_GetObjectItem(o, key);
    return cJSON_IsString(v) ? v->valuestring : "(missing)";
}

static double num(const cJSON *o, const char *key) {
    const cJSON *v = cJSON_GetObjectItem(o, key);
    return cJSON_IsNumber(v) ? v->valuedouble : NAN;
}

int main(void) {
    snprintf(bin, sizeof bin, "%s", nnb_test_env("NNBENCH_BIN"));
    snprintf(plugins, sizeof plugins, "%s", nnb_test_env("NNBENCH_TEST_PLUGIN_DIR"));
    snprintf(json, sizeof json, "/tmp/nnb-precision-json-%ld.json", (long)getpid());
    char why[300], args[1024];
    if (!nnb_cpu_precision_available(NNB_PRECISION_BF16, why, sizeof why)) {
        printf("SKIP: %s\n", why);
        return 77;
    }

    /* bf16 with --check: the JSON's dtype and errors, the robust table's line. */
    snprintf(args, sizeof args,
             "--dtype bf16 --rnns dtype_scale --check --nloops 3 --warmup 0 --stats robust "
             "--json-out %s",
             json);
    int rc = run(args);
    CHECK_MSG(rc == 0, "exit %d: %s", rc, err);
    cJSON *root = nnb_test_read_json(json);
    CHECK(root != NULL);
    const cJSON *r = first_runner(root);
    CHECK_MSG(!strcmp(str(cJSON_GetObjectItem(root, "config"), "precision"), "bf16"), "config.precision %s",
              str(cJSON_GetObjectItem(root, "config"), "precision"));
    CHECK_MSG(!strcmp(str(r, "precision"), "bf16"), "runner precision %s", str(r, "precision"));
    const cJSON *check = cJSON_GetObjectItem(r, "check");
    CHECK(!strcmp(str(check, "verdict"), "pass") && cJSON_IsTrue(cJSON_GetObjectItem(check, "pass")));
    const cJSON *y = cJSON_GetArrayItem(cJSON_GetObjectItem(check, "tensors"), 0);
    double want = expected_bf16_error();
    CHECK_MSG(want > 0 && want <= 1.0 / 256, "hand-computed error %g", want);
    CHECK(!strcmp(str(y, "name"), "y") && !strcmp(str(y, "metric"), "max_rel"));
    CHECK_NEAR(num(y, "error"), want, 1e-12);
    CHECK(num(y, "error") == num(y, "max_rel_err"));
    CHECK(num(y, "tolerance") == 0.03125); /* 8 u, u = 2^-8, one layer (docs/precision.md) */
    char line[256];
    snprintf(line, sizeof line, "dtype bf16; check vs dtype_scale_ref: y max_rel %.3g <= 0.0312", want);
    CHECK_STR_CONTAINS(err, line);
    cJSON_Delete(root);

    /* fastrnns' table: the same line under the row of a run that is not fp32. */
    rc = run("--dtype bf16 --rnns dtype_scale --check --nloops 3 --warmup 0");
    CHECK_MSG(rc == 0, "exit %d: %s", rc, err);
    CHECK_STR_CONTAINS(err, line);
    CHECK_STR_CONTAINS(err, "check dtype_scale vs dtype_scale_ref (bf16): pass");

    /* fp32: the same problem, no rounding of y: error 0, fp32's tolerance, "precision": "fp32". */
    snprintf(args, sizeof args, "--rnns dtype_scale --check --nloops 3 --warmup 0 --json-out %s", json);
    rc = run(args);
    CHECK_MSG(rc == 0, "exit %d: %s", rc, err);
    root = nnb_test_read_json(json);
    r = first_runner(root);
    y = cJSON_GetArrayItem(cJSON_GetObjectItem(cJSON_GetObjectItem(r, "check"), "tensors"), 0);
    CHECK(!strcmp(str(r, "precision"), "fp32") && num(y, "error") == 0 && num(y, "tolerance") < 1e-3);
    CHECK_MSG(!strstr(err, "dtype fp32"), "the fastrnns table of an fp32 run gained a line: %s", err);
    cJSON_Delete(root);

    /* --ab of two dtypes: each side's precision, and the table says which is which. */
    snprintf(args, sizeof args,
             "--ab dtype_scale@--dtype=fp32 dtype_scale@--dtype=bf16 --min-samples 3 --ab-max-time 0.2 --warmup 0 "
             "--json-out %s",
             json);
    rc = run(args);
    CHECK_MSG(rc == 0, "--ab exit %d: %s", rc, err);
    CHECK_STR_CONTAINS(err, "dtype: A fp32, B bf16");
    root = nnb_test_read_json(json);
    const cJSON *runners = cJSON_GetObjectItem(cJSON_GetObjectItem(root, "groups"), "rnns");
    CHECK(!strcmp(str(cJSON_GetArrayItem(runners, 0), "precision"), "fp32"));
    CHECK(!strcmp(str(cJSON_GetArrayItem(runners, 1), "precision"), "bf16"));
    CHECK(!strcmp(str(cJSON_GetArrayItem(runners, 1), "name"), "dtype_scale@--dtype=bf16"));
    cJSON_Delete(root);
    remove(json);
    return nnb_test_finish();
}
